//! Where the example app keeps sessions: in memory (one instance), or in Redis, shared by every
//! instance, so a login started on one finishes on another (its pending state is in the
//! session).
//!
//! The ecosystem's stores (`tower-sessions-redis-store`, `tower-sessions-sqlx-store`) are built
//! for tower-sessions 0.14; this app uses 0.15, whose `SessionStore` takes a few lines to
//! implement on Redis: each session is one key, its JSON record, expiring with the session.

use async_trait::async_trait;
use redis::AsyncCommands;
use std::fmt;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};
use tower_sessions::MemoryStore;

/// Sessions in Redis.
#[derive(Clone)]
pub struct RedisSessions {
    connection: redis::aio::ConnectionManager,
}

impl fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessions").finish_non_exhaustive()
    }
}

impl RedisSessions {
    /// Connects to `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> std::io::Result<RedisSessions> {
        let client = redis::Client::open(url).map_err(std::io::Error::other)?;
        let connection = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(std::io::Error::other)?;
        Ok(RedisSessions { connection })
    }
}

fn key(id: &Id) -> String {
    format!("oauth_clients_demo:session:{id}")
}

/// Milliseconds until the record expires (at least one: Redis refuses zero).
fn ttl_ms(record: &Record) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i128);
    let until = record.expiry_date.unix_timestamp_nanos() / 1_000_000;
    (until - now).clamp(1, i128::from(u32::MAX)) as u64
}

fn backend(error: redis::RedisError) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let mut connection = self.connection.clone();
        // A new id until one is free: SET NX never overwrites another session.
        loop {
            let body = serde_json::to_vec(&*record).map_err(|e| Error::Encode(e.to_string()))?;
            let created: bool = redis::cmd("SET")
                .arg(key(&record.id))
                .arg(body)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms(record))
                .query_async::<Option<String>>(&mut connection)
                .await
                .map_err(backend)?
                .is_some();
            if created {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let body = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let mut connection = self.connection.clone();
        connection
            .pset_ex::<_, _, ()>(key(&record.id), body, ttl_ms(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let mut connection = self.connection.clone();
        let body: Option<Vec<u8>> = connection.get(key(id)).await.map_err(backend)?;
        body.map(|body| serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let mut connection = self.connection.clone();
        connection.del::<_, ()>(key(id)).await.map_err(backend)
    }
}

/// The app's session store: chosen at start-up.
#[derive(Clone, Debug)]
pub enum Sessions {
    /// In this process's memory (the default).
    Memory(MemoryStore),
    /// In Redis, shared by every instance.
    Redis(RedisSessions),
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::Memory(MemoryStore::default())
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        match self {
            Sessions::Memory(store) => store.create(record).await,
            Sessions::Redis(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        match self {
            Sessions::Memory(store) => store.save(record).await,
            Sessions::Redis(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        match self {
            Sessions::Memory(store) => store.load(id).await,
            Sessions::Redis(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        match self {
            Sessions::Memory(store) => store.delete(id).await,
            Sessions::Redis(store) => store.delete(id).await,
        }
    }
}
