//! The Redis token store backend (cargo feature `redis`).
//!
//! Every operation that must be atomic runs on the server: a compare-and-swap and a lease
//! release are Lua scripts (sent by hash, `EVALSHA`, and loaded again when the server lost
//! them), a lease is taken with `SET NX PX`, so its expiry is judged by the Redis server's clock
//! alone. Nothing is read and then written from here.

use super::{Record, StoreError, StoreFuture, TokenBackend};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, RedisError, Script};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The key prefix when none is set with [`RedisStore::with_prefix`].
const DEFAULT_PREFIX: &str = "oauth_clients";

/// How many keys one `SCAN` step asks for while purging.
const SCAN_BATCH: usize = 500;

/// How long a command may wait for its answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection attempt may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// After the connection is lost: how many more attempts are made (the first at once, then
/// after growing pauses of at most a second) before the calls waiting for it fail. The next
/// call starts over.
const RECONNECT_RETRIES: usize = 3;
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// The longest lease, and the latest expiry time, asked of Redis (in milliseconds; about 4,000
/// years): it refuses times that overflow its clock.
const MAX_MS: u64 = 1 << 47;

/// Writes a record if the stored version is the expected one.
///
/// KEYS: the record's hash, the user's index set. ARGV: the expected version (empty: no
/// record yet), the new version, the sealed bytes, `expires_at` (empty: none), the index
/// member (the encoded provider), the Unix time in milliseconds at which Redis drops the record
/// (empty: never).
const SWAP: &str = r#"
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'sealed', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[4])
end
if ARGV[6] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[6])
end
redis.call('SADD', KEYS[2], ARGV[5])
return 1
"#;

/// Removes a record, its lease and its index entry; 1 when there was a record.
///
/// KEYS: the record's hash, its lease, the user's index set. ARGV: the index member.
const DELETE: &str = r#"
local removed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return removed
"#;

/// Removes a record if it expired before a time; 1 when it did.
///
/// KEYS: the record's hash, the user's index set. ARGV: the time (seconds since the Unix
/// epoch), the index member. Both times are decimal numbers without leading zeros, as this
/// library writes them, compared exactly (Lua's numbers are doubles).
const PURGE: &str = r#"
local expires_at = redis.call('HGET', KEYS[1], 'expires_at')
local now = ARGV[1]
if expires_at and (#expires_at < #now or (#expires_at == #now and expires_at < now)) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
  return 1
end
return 0
"#;

/// Takes a lease that is free or already held by the same holder (which extends it); 1 when
/// the holder has it now.
///
/// KEYS: the lease. ARGV: the holder, the lease's length in milliseconds.
const ACQUIRE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Removes a lease if the holder still has it.
///
/// KEYS: the lease. ARGV: the holder.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

struct Scripts {
    swap: Script,
    delete: Script,
    purge: Script,
    acquire: Script,
    release: Script,
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            swap: Script::new(SWAP),
            delete: Script::new(DELETE),
            purge: Script::new(PURGE),
            acquire: Script::new(ACQUIRE),
            release: Script::new(RELEASE),
        }
    }

    fn all(&self) -> [&Script; 5] {
        [
            &self.swap,
            &self.delete,
            &self.purge,
            &self.acquire,
            &self.release,
        ]
    }
}

/// A token store on Redis, shared by every process of an app, on one host or many.
///
/// Records and refresh leases live in Redis under these keys, `PREFIX` being
/// `oauth_clients` unless [`with_prefix`](RedisStore::with_prefix) sets another:
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `PREFIX:token:PROVIDER:USER` | hash | `version`, `sealed` (the sealed token, bytes), `expires_at` (seconds since the Unix epoch, absent when the record stays usable) |
/// | `PREFIX:lease:PROVIDER:USER` | string, with an expiry (`PX`) | the process refreshing the token |
/// | `PREFIX:user:USER` | set | the providers `USER` has a record at, so that [`delete_user`](TokenBackend::delete_user) finds them without a scan |
///
/// In `PROVIDER` and `USER`, `%` is written `%25` and `:` is written `%3A`, so no two
/// (provider, user) pairs share a key. Redis needs no schema: [`connect`](RedisStore::connect)
/// checks that the server answers and loads the Lua scripts; keys appear as records are written.
///
/// Compare-and-swap writes and lease releases are Lua scripts run by the server; a lease is
/// taken with `SET NX PX`, so Redis's clock alone decides when it expires. Records are sealed
/// before they get here (no token is ever stored in clear), so the registry needs configured
/// token keys (`OAUTH_CLIENTS_TOKEN_KEYS`), the same in every process.
///
/// The connection is a multiplexed one that reconnects by itself after the server went away:
/// the calls made while it is away fail with a [`StoreError`], and later ones succeed again.
/// A command waits at most 5 seconds for its answer.
///
/// URLs: `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]`, `rediss://…` for TLS (rustls; the
/// server's certificate is checked against the system's roots, or against a CA given to
/// [`connect_with_ca`](RedisStore::connect_with_ca)),
/// `redis+unix:///path/to/socket[?db=N][&user=USER][&pass=PASSWORD]` for a Unix socket. It
/// needs Redis 6.0 or newer (`SCAN … TYPE`), a standalone server or a primary: Redis Cluster
/// is not supported (one script touches a record and its user's index, which may live on
/// different nodes).
///
/// ```no_run
/// # mod demo {
/// oauth_clients::oauth_clients! {
///     github,
/// }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = oauth_clients::store::RedisStore::connect("redis://127.0.0.1:6379/0")
///     .await?
///     .with_prefix("my_app");
/// let registry = Providers::builder()
///     .token_store(store)
///     // Or from OAUTH_CLIENTS_TOKEN_KEYS; the same keys in every process.
///     .token_keys("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
///     .build()?;
/// # let _ = registry;
/// # Ok(())
/// # }
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    scripts: Arc<Scripts>,
    prefix: String,
    record_ttl: Option<Duration>,
    /// What an error message must never show: the URL's password, as written and decoded.
    secrets: Arc<Vec<String>>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("record_ttl", &self.record_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (see [`RedisStore`] for the URL forms), checks
    /// that it answers and loads the store's scripts into it.
    ///
    /// The error names what failed, never the URL's password.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        let secrets = url_secrets(url);
        let client = Client::open(url).map_err(|e| redis_error("the URL", &e, &secrets))?;
        RedisStore::start(client, secrets).await
    }

    /// Connects as [`connect`](RedisStore::connect) does, over TLS (`rediss://` URLs),
    /// trusting the CA certificate(s) of `ca_pem` (PEM) instead of the system's roots: for
    /// a server whose certificate a private CA issued.
    pub async fn connect_with_ca(url: &str, ca_pem: &[u8]) -> Result<RedisStore, StoreError> {
        let secrets = url_secrets(url);
        let client = Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca_pem.to_vec()),
            },
        )
        .map_err(|e| redis_error("the URL or the CA certificate", &e, &secrets))?;
        RedisStore::start(client, secrets).await
    }

    async fn start(client: Client, secrets: Vec<String>) -> Result<RedisStore, StoreError> {
        // One attempt first, so that a wrong address, password or certificate fails at once
        // and says why, where the manager would retry.
        let probe_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let mut probe = client
            .get_multiplexed_async_connection_with_config(&probe_config)
            .await
            .map_err(|e| redis_error("connecting", &e, &secrets))?;
        // Scripts are kept by the server, for every connection (until it restarts or they
        // are flushed: then `EVALSHA` fails and the script is loaded again).
        let scripts = Scripts::new();
        for script in scripts.all() {
            script
                .prepare_invoke()
                .load_async(&mut probe)
                .await
                .map_err(|e| redis_error("loading the store's Lua scripts", &e, &secrets))?;
        }
        drop(probe);
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| redis_error("connecting", &e, &secrets))?;
        Ok(RedisStore {
            connection,
            scripts: Arc::new(scripts),
            prefix: DEFAULT_PREFIX.to_string(),
            record_ttl: None,
            secrets: Arc::new(secrets),
        })
    }

    /// Puts every key under `prefix` instead of `oauth_clients`, so that several apps (or
    /// test runs) can share one Redis database without seeing each other's records.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// Lets Redis itself drop a record `grace` after its `expires_at` (an access token that
    /// expired and has no refresh token), with `PEXPIREAT`, besides
    /// [`purge_expired`](TokenBackend::purge_expired). Off by default: a record then stays
    /// until it is purged or deleted. The expiry is set when the record is written and
    /// judged by Redis's clock; a record whose time is already past is dropped at once.
    pub fn with_record_ttl(mut self, grace: Duration) -> RedisStore {
        self.record_ttl = Some(grace);
        self
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of the record of `user` at `provider`: `PREFIX:token:PROVIDER:USER`.
    pub fn record_key(&self, provider: &str, user: &str) -> String {
        format!(
            "{}:token:{}:{}",
            self.prefix,
            encode_part(provider),
            encode_part(user)
        )
    }

    /// The key of the refresh lease of `user` at `provider`: `PREFIX:lease:PROVIDER:USER`.
    /// It holds the holder's name while the lease is held.
    pub fn lease_key(&self, provider: &str, user: &str) -> String {
        format!(
            "{}:lease:{}:{}",
            self.prefix,
            encode_part(provider),
            encode_part(user)
        )
    }

    /// The key of the set of providers `user` has a record at: `PREFIX:user:USER`.
    pub fn user_index_key(&self, user: &str) -> String {
        format!("{}:user:{}", self.prefix, encode_part(user))
    }

    fn index_key_encoded(&self, user: &str) -> String {
        format!("{}:user:{user}", self.prefix)
    }

    fn error(&self, what: &str, error: &RedisError) -> StoreError {
        redis_error(what, error, &self.secrets)
    }

    /// The milliseconds timestamp at which Redis should drop a record expiring at `expires_at`.
    fn drop_at_ms(&self, expires_at: Option<u64>) -> Option<u64> {
        let grace = self.record_ttl?;
        let at = expires_at?
            .saturating_add(grace.as_secs())
            .saturating_mul(1000)
            .saturating_add(u64::from(grace.subsec_millis()));
        // Redis refuses times that overflow its clock; so far ahead, never is the same.
        (at < MAX_MS).then_some(at)
    }

    /// The (encoded provider, encoded user) of a record key found by a scan, if it is one.
    fn parse_record_key<'k>(&self, key: &'k str) -> Option<(&'k str, &'k str)> {
        let rest = key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":token:")?;
        let (provider, user) = rest.split_once(':')?;
        (!user.contains(':')).then_some((provider, user))
    }
}

/// Writes `%` as `%25` and `:` as `%3A`, so that a part never contains the separator.
fn encode_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with the glob characters of `SCAN MATCH` escaped, to match as written.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The password of a Redis URL (`redis://:PASSWORD@…`, or `redis+unix://…?pass=PASSWORD`), as
/// written and percent-decoded, for error messages to leave out.
fn url_secrets(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let written = parsed.password().into_iter().chain(
        parsed
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.strip_prefix("pass=")),
    );
    let mut secrets = Vec::new();
    for password in written.filter(|p| !p.is_empty()) {
        secrets.push(password.to_string());
        if let Ok(decoded) = percent_decode(&password.replace('+', " ")) {
            secrets.push(decoded);
        }
        if let Ok(decoded) = percent_decode(password) {
            secrets.push(decoded);
        }
    }
    secrets.sort_unstable();
    secrets.dedup();
    // Longest first, so that a shorter form inside a longer one leaves no part of it.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// A Redis error as a store error: what failed and why, with any secret of the URL removed.
fn redis_error(what: &str, error: &RedisError, secrets: &[String]) -> StoreError {
    let mut message = format!("Redis: {what}: {error}");
    for secret in secrets {
        if !secret.is_empty() {
            message = message.replace(secret.as_str(), "[redacted]");
        }
    }
    StoreError::new(message)
}

/// One field of a hash, as Redis answers it: absent, or bytes.
type Field = Option<Vec<u8>>;

fn malformed(field: &str) -> StoreError {
    StoreError::new(format!(
        "Redis: a stored record is malformed: its `{field}` field is missing or not what this library writes"
    ))
}

fn parse_u64(bytes: &[u8], field: &str) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| malformed(field))
}

fn lease_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MS)
}

impl TokenBackend for RedisStore {
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let (version, sealed, expires_at): (Field, Field, Field) = redis::cmd("HMGET")
                .arg(self.record_key(provider, user))
                .arg("version")
                .arg("sealed")
                .arg("expires_at")
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error("reading a record", &e))?;
            let Some(version) = version else {
                return Ok(None);
            };
            Ok(Some(Record {
                version: parse_u64(&version, "version")?,
                sealed: sealed.ok_or_else(|| malformed("sealed"))?,
                expires_at: expires_at
                    .map(|at| parse_u64(&at, "expires_at"))
                    .transpose()?,
            }))
        })
    }

    fn swap<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        expected: Option<u64>,
        record: &'a Record,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let written: i64 = self
                .scripts
                .swap
                .key(self.record_key(provider, user))
                .key(self.user_index_key(user))
                .arg(expected.map(|v| v.to_string()).unwrap_or_default())
                .arg(record.version.to_string())
                .arg(record.sealed.as_slice())
                .arg(
                    record
                        .expires_at
                        .map(|at| at.to_string())
                        .unwrap_or_default(),
                )
                .arg(encode_part(provider))
                .arg(
                    self.drop_at_ms(record.expires_at)
                        .map(|at| at.to_string())
                        .unwrap_or_default(),
                )
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error("writing a record", &e))?;
            Ok(written == 1)
        })
    }

    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let _: i64 = self
                .scripts
                .delete
                .key(self.record_key(provider, user))
                .key(self.lease_key(provider, user))
                .key(self.user_index_key(user))
                .arg(encode_part(provider))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error("deleting a record", &e))?;
            Ok(())
        })
    }

    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let index = self.user_index_key(user);
            let encoded_user = encode_part(user);
            // The index lists the user's providers; a record written after this read is a
            // new login, and stays.
            let providers: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&index)
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error("reading a user's index", &e))?;
            let mut removed = 0;
            for provider in providers {
                let gone: i64 = self
                    .scripts
                    .delete
                    .key(format!("{}:token:{provider}:{encoded_user}", self.prefix))
                    .key(format!("{}:lease:{provider}:{encoded_user}", self.prefix))
                    .key(self.index_key_encoded(&encoded_user))
                    .arg(&provider)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|e| self.error("deleting a record", &e))?;
                removed += u64::from(gone == 1);
            }
            Ok(removed)
        })
    }

    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let pattern = format!("{}:token:*", escape_glob(&self.prefix));
            let mut cursor: u64 = 0;
            let mut removed = 0;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_BATCH)
                    .arg("TYPE")
                    .arg("hash")
                    .query_async(&mut connection)
                    .await
                    .map_err(|e| self.error("scanning the records", &e))?;
                let keys: Vec<String> = keys
                    .into_iter()
                    .filter_map(|key| String::from_utf8(key).ok())
                    .filter(|key| self.parse_record_key(key).is_some())
                    .collect();
                if !keys.is_empty() {
                    // One round trip for the batch's expiry times; only the records past
                    // theirs are then checked again and removed, atomically, one by one.
                    let mut pipe = redis::pipe();
                    for key in &keys {
                        pipe.cmd("HGET").arg(key).arg("expires_at");
                    }
                    let expiries: Vec<Option<Vec<u8>>> = pipe
                        .query_async(&mut connection)
                        .await
                        .map_err(|e| self.error("reading expiry times", &e))?;
                    for (key, expires_at) in keys.iter().zip(expiries) {
                        let past = expires_at
                            .and_then(|at| parse_u64(&at, "expires_at").ok())
                            .is_some_and(|at| at < now);
                        let Some((provider, user)) = self.parse_record_key(key) else {
                            continue;
                        };
                        if !past {
                            continue;
                        }
                        let gone: i64 = self
                            .scripts
                            .purge
                            .key(key)
                            .key(self.index_key_encoded(user))
                            .arg(now)
                            .arg(provider)
                            .invoke_async(&mut connection)
                            .await
                            .map_err(|e| self.error("purging a record", &e))?;
                        removed += u64::from(gone == 1);
                    }
                }
                cursor = next;
                if cursor == 0 {
                    return Ok(removed);
                }
            }
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let key = self.lease_key(provider, user);
            let ms = lease_ms(ttl);
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(holder)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error("taking a lease", &e))?;
            if taken.is_some() {
                return Ok(true);
            }
            // Held: by this holder (which extends it), or free again by now; else another's.
            let taken: i64 = self
                .scripts
                .acquire
                .key(&key)
                .arg(holder)
                .arg(ms)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error("taking a lease", &e))?;
            Ok(taken == 1)
        })
    }

    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let _: i64 = self
                .scripts
                .release
                .key(self.lease_key(provider, user))
                .arg(holder)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error("releasing a lease", &e))?;
            Ok(())
        })
    }

    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            // Redis never shows a key past its expiry.
            let held: i64 = redis::cmd("EXISTS")
                .arg(self.lease_key(provider, user))
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error("reading a lease", &e))?;
            Ok(held == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_never_contain_the_separator_and_stay_distinct() {
        assert_eq!(encode_part("a:b%c"), "a%3Ab%25c");
        assert_eq!(encode_part("plain"), "plain");
        // Without `%` encoded, these two would both become `a%3Ab`.
        assert_ne!(encode_part("a:b"), encode_part("a%3Ab"));
        let pairs = [("p:q", "u"), ("p", "q:u"), ("p%3Aq", "u"), ("p", "q%3Au")];
        let keys: std::collections::HashSet<String> = pairs
            .iter()
            .map(|(p, u)| format!("{}:{}", encode_part(p), encode_part(u)))
            .collect();
        assert_eq!(keys.len(), pairs.len());
    }

    #[test]
    fn glob_characters_of_a_prefix_are_escaped() {
        assert_eq!(escape_glob(r"app*[1]?\x"), r"app\*\[1\]\?\\x");
        assert_eq!(escape_glob("app"), "app");
    }

    #[test]
    fn the_password_of_a_url_is_known_as_written_and_decoded() {
        assert_eq!(
            url_secrets("redis://me:p%40ss%3Aw@127.0.0.1:6379/0"),
            vec!["p%40ss%3Aw".to_string(), "p@ss:w".to_string()]
        );
        assert_eq!(
            url_secrets("redis+unix:///run/redis.sock?db=1&pass=a+b%21&user=me"),
            vec!["a+b%21".to_string(), "a b!".to_string(), "a+b!".to_string()]
        );
        assert!(url_secrets("redis://127.0.0.1/").is_empty());
        assert!(url_secrets("redis+unix:///run/redis.sock?pass=").is_empty());
        assert!(url_secrets("not a url").is_empty());
        assert_eq!(percent_decode("%zz"), Err(()));
        assert_eq!(percent_decode("%4"), Err(()));
    }

    #[test]
    fn errors_leave_the_password_out_in_every_form() {
        let secrets = url_secrets("redis://:p%40ss-word@127.0.0.1/");
        let error = RedisError::from((
            redis::ErrorKind::Io,
            "refused",
            "for p%40ss-word, that is p@ss-word".to_string(),
        ));
        let message = redis_error("connecting", &error, &secrets).to_string();
        assert_eq!(
            message,
            "Redis: connecting: refused - Io: for [redacted], that is [redacted]"
        );
    }

    #[test]
    fn lease_times_stay_within_what_redis_takes() {
        assert_eq!(lease_ms(Duration::ZERO), 1);
        assert_eq!(lease_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(lease_ms(Duration::MAX), MAX_MS);
    }
}
