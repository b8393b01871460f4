//! Where tokens are kept between requests, and by more than one process: the token store's
//! backend interface, and the in-memory backend.
//!
//! A backend keeps sealed records (see `seal`): it never sees a token in clear, so a leaked
//! database or Redis dump holds no usable token. Each record has a version; a write names the
//! version it replaces (compare-and-swap), so a process holding a stale token cannot overwrite a
//! newer one. The refresh lease lives in the backend too: for one user and provider, the process
//! holding it is the only one that may spend the refresh token, whichever host it runs on.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// The backend a URL names, connected (and its schema created when it has one): `memory:`,
/// `sqlite://PATH` (feature `sqlite`), `postgres://...` or `postgresql://...` (feature
/// `postgres`), `redis://...`, `rediss://...` or `redis+unix://...` (feature `redis`). For a
/// deployment that takes its store from configuration; each backend's own `connect` takes
/// more options.
///
/// ```no_run
/// # async fn demo() -> Result<(), oauth_clients::store::StoreError> {
/// let url = std::env::var("TOKEN_STORE_URL").unwrap_or_else(|_| "memory:".into());
/// let store = oauth_clients::store::connect(&url).await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn TokenBackend>, StoreError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    #[cfg_attr(
        all(feature = "sqlite", feature = "postgres", feature = "redis"),
        allow(unused_variables)
    )]
    let missing = |feature: &str| {
        StoreError::new(format!(
            "a `{scheme}:` token store needs the cargo feature `{feature}` of oauth-clients"
        ))
    };
    match scheme {
        "memory" => Ok(std::sync::Arc::new(MemoryStore::new())),
        "sqlite" => {
            #[cfg(feature = "sqlite")]
            return Ok(std::sync::Arc::new(SqliteStore::connect(url).await?));
            #[cfg(not(feature = "sqlite"))]
            return Err(missing("sqlite"));
        }
        "postgres" | "postgresql" => {
            #[cfg(feature = "postgres")]
            return Ok(std::sync::Arc::new(PostgresStore::connect(url).await?));
            #[cfg(not(feature = "postgres"))]
            return Err(missing("postgres"));
        }
        "redis" | "rediss" | "redis+unix" => {
            #[cfg(feature = "redis")]
            return Ok(std::sync::Arc::new(RedisStore::connect(url).await?));
            #[cfg(not(feature = "redis"))]
            return Err(missing("redis"));
        }
        // Never the URL itself: it may hold a password.
        _ => Err(StoreError::new(format!(
            "unknown token store `{scheme}:`; expected `memory:`, `sqlite://`, `postgres://` or `redis://`"
        ))),
    }
}

/// A stored token, sealed: what a backend keeps for one user and provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// 1 for the first write, one more for each write after it; part of the sealed data's
    /// associated data, so a record put back under another version fails to open.
    pub version: u64,
    /// The sealed token: key id, nonce and AES-256-GCM ciphertext.
    pub sealed: Vec<u8>,
    /// When the record is of no more use (seconds since the Unix epoch): its access token has
    /// expired and it has no refresh token. `None` for records that stay usable.
    /// [`TokenBackend::purge_expired`] removes records past it.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("version", &self.version)
            .field("sealed_bytes", &self.sealed.len())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A token store backend failed: unreachable, refused the query, or answered nonsense.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// A store error with `message` (never a token or a secret).
    pub fn new(message: impl fmt::Display) -> Self {
        StoreError {
            message: message.to_string(),
        }
    }
}

/// The future a [`TokenBackend`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Storage for sealed token records and refresh leases, shared by every process of an app.
///
/// The library ships an in-memory backend ([`MemoryStore`], one process), and, behind cargo
/// features, SQLite, PostgreSQL and Redis. Keys are `(provider, user)`: the provider's declared
/// name and the application's key for the user.
pub trait TokenBackend: Send + Sync + 'static {
    /// The record of `user` at `provider`, if any.
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>>;

    /// Writes `record` if the stored version is `expected` (`None`: no record yet), atomically.
    /// `Ok(false)` when another write came first; the caller reloads and decides again.
    fn swap<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        expected: Option<u64>,
        record: &'a Record,
    ) -> StoreFuture<'a, bool>;

    /// Removes the record of `user` at `provider` (a logout), and its lease.
    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()>;

    /// Removes every record of `user` (account removal); how many there were.
    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64>;

    /// Removes the records whose `expires_at` is before `now` (seconds since the Unix epoch);
    /// how many there were.
    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64>;

    /// Takes the refresh lease of `user` at `provider` for `holder`, for `ttl`, unless another
    /// holder has it and it has not expired. `Ok(true)` when `holder` now has it.
    fn acquire_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Gives the lease back, if `holder` still has it.
    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()>;

    /// Whether a lease is held on `user` at `provider` and has not expired.
    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool>;

    /// For a store that lives and dies with the process: a random key of its own that
    /// records are sealed with when no keys are configured. Stores shared between processes
    /// return `None` (the default), and then need configured keys.
    #[doc(hidden)]
    fn process_key(&self) -> Option<&[u8; 32]> {
        None
    }
}

/// A shared backend: one store for several registries (as several processes share one
/// database).
impl<T: TokenBackend + ?Sized> TokenBackend for std::sync::Arc<T> {
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>> {
        (**self).load(provider, user)
    }
    fn swap<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        expected: Option<u64>,
        record: &'a Record,
    ) -> StoreFuture<'a, bool> {
        (**self).swap(provider, user, expected, record)
    }
    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()> {
        (**self).delete(provider, user)
    }
    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        (**self).delete_user(user)
    }
    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64> {
        (**self).purge_expired(now)
    }
    fn acquire_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        (**self).acquire_lease(provider, user, holder, ttl)
    }
    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()> {
        (**self).release_lease(provider, user, holder)
    }
    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool> {
        (**self).lease_held(provider, user)
    }
    fn process_key(&self) -> Option<&[u8; 32]> {
        (**self).process_key()
    }
}

/// Milliseconds since the Unix epoch, by this host's clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Default)]
struct Memory {
    records: HashMap<(String, String), Record>,
    /// Holder and expiry (ms since the epoch) of each lease.
    leases: HashMap<(String, String), (String, u64)>,
}

/// The in-memory backend: the default, for one process (tests, a single instance). Records
/// are sealed with a key the store makes when created, so no key needs configuring (registries
/// sharing one store share it); they are gone when the process ends.
pub struct MemoryStore {
    inner: Mutex<Memory>,
    key: [u8; 32],
}

impl Default for MemoryStore {
    fn default() -> Self {
        use ring::rand::SecureRandom;
        let mut key = [0u8; 32];
        // A failed random source leaves the key zero: records then still open and seal, only
        // without secrecy against someone reading this process's memory, who could read the
        // tokens in clear anyway.
        let _ = ring::rand::SystemRandom::new().fill(&mut key);
        MemoryStore {
            inner: Mutex::default(),
            key,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // Every operation is a few map updates that cannot panic half-way.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.lock().records.len())
            .finish()
    }
}

fn key(provider: &str, user: &str) -> (String, String) {
    (provider.to_string(), user.to_string())
}

impl TokenBackend for MemoryStore {
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>> {
        let found = self.lock().records.get(&key(provider, user)).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn swap<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        expected: Option<u64>,
        record: &'a Record,
    ) -> StoreFuture<'a, bool> {
        let mut memory = self.lock();
        let current = memory.records.get(&key(provider, user)).map(|r| r.version);
        let written = current == expected;
        if written {
            memory.records.insert(key(provider, user), record.clone());
        }
        Box::pin(async move { Ok(written) })
    }

    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()> {
        let mut memory = self.lock();
        memory.records.remove(&key(provider, user));
        memory.leases.remove(&key(provider, user));
        Box::pin(async { Ok(()) })
    }

    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        let mut memory = self.lock();
        let before = memory.records.len();
        memory.records.retain(|(_, u), _| u != user);
        memory.leases.retain(|(_, u), _| u != user);
        let removed = (before - memory.records.len()) as u64;
        Box::pin(async move { Ok(removed) })
    }

    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64> {
        let mut memory = self.lock();
        let before = memory.records.len();
        memory
            .records
            .retain(|_, record| record.expires_at.is_none_or(|at| at >= now));
        let removed = (before - memory.records.len()) as u64;
        Box::pin(async move { Ok(removed) })
    }

    fn acquire_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let now = now_ms();
        let mut memory = self.lock();
        let free = memory
            .leases
            .get(&key(provider, user))
            .is_none_or(|(current, until)| *until <= now || current == holder);
        if free {
            memory.leases.insert(
                key(provider, user),
                (holder.to_string(), now + ttl.as_millis() as u64),
            );
        }
        Box::pin(async move { Ok(free) })
    }

    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()> {
        let mut memory = self.lock();
        if memory
            .leases
            .get(&key(provider, user))
            .is_some_and(|(current, _)| current == holder)
        {
            memory.leases.remove(&key(provider, user));
        }
        Box::pin(async { Ok(()) })
    }

    fn process_key(&self) -> Option<&[u8; 32]> {
        Some(&self.key)
    }

    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool> {
        let now = now_ms();
        let held = self
            .lock()
            .leases
            .get(&key(provider, user))
            .is_some_and(|(_, until)| *until > now);
        Box::pin(async move { Ok(held) })
    }
}
