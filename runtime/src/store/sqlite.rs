//! The SQLite backend: one database file shared by the app's processes on one machine.
//!
//! The file is in WAL mode, so readers never wait for the writer, and each connection waits
//! up to five seconds for another process's write to finish instead of failing (switching the
//! file to WAL is the one step the busy timeout does not cover: `use_wal` retries it). Writes
//! that change two tables, and the schema's creation, are `BEGIN IMMEDIATE` transactions: they
//! take the write lock first, so a transaction never has to upgrade a read lock (which SQLite
//! refuses at once, busy timeout or not).
//!
//! The clock: SQLite runs inside each process, so "the server's clock" is the machine's; every
//! lease is written and judged in SQL (`julianday('now')`), by the one clock all the processes
//! sharing the file read.

use super::sql::{self, Dialect, Pool, Row, SqlStore, Statement, Value};
use super::{StoreError, StoreFuture};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Row as _, Sqlite};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How long a statement waits for another connection's write before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static SQLITE: Dialect = Dialect {
    name: "SQLite",
    bytes: "BLOB",
    // Milliseconds since the Unix epoch.
    time: "BIGINT",
    now: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    lease_until: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) + $4",
};

/// A token store in an SQLite database file, for the processes of an app on one machine.
///
/// [`connect`](Self::connect) opens the file (creating it when missing), puts it in WAL mode
/// and creates the tables the store needs, or brings them up to date; every process can do so
/// at start-up at the same time. The records are sealed (see
/// [`token_keys`](crate::RegistryBuilder::token_keys)): the file holds no token in clear.
///
/// The tables, `oauth_clients_` then:
///
/// - `tokens`: `provider`, `user_key` (the primary key), `version`, `sealed` (BLOB),
///   `expires_at` (seconds since the Unix epoch, `NULL` for records that stay usable),
///   `created_at`, `updated_at` (milliseconds since the Unix epoch);
/// - `leases`: `provider`, `user_key` (the primary key), `holder`, `expires_at` (milliseconds
///   since the Unix epoch, by this machine's clock);
/// - `schema`: `version`, the schema's version.
///
/// For several machines, use a server every machine reaches (PostgreSQL, Redis).
///
/// ```
/// # oauth_clients::oauth_clients! {
/// #     github {
/// #         authorize_url: "https://github.com/login/oauth/authorize",
/// #         access_token_url: "https://github.com/login/oauth/access_token",
/// #     },
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("oauth-clients-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let url = format!("sqlite://{}/tokens.db", dir.display());
/// # let url = url.as_str();
/// use oauth_clients::store::SqliteStore;
///
/// // e.g. "sqlite:///var/lib/app/tokens.db"
/// let store = SqliteStore::connect(url).await?;
/// let registry = Providers::builder()
///     .allow_unconfigured()
///     .token_store(store)
///     // 32 random bytes in base64, e.g. from `openssl rand -base64 32`.
///     .token_keys("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
///     .build()?;
/// # drop(registry);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct SqliteStore {
    inner: SqlStore<SqlitePool>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `url` and creates or updates the store's tables.
    ///
    /// `url` is `sqlite://PATH` (a relative path, or `sqlite:///absolute/path`), with any of
    /// sqlx's parameters; the file is created when missing. `sqlite::memory:` makes a
    /// database in memory with one connection, gone when the store is dropped: for tests.
    ///
    /// Fails when the file cannot be opened or created, or when its schema is newer than this
    /// version of the library knows.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(error)?
            .create_if_missing(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            // An in-memory database lives as long as a connection to it: exactly one, kept.
            SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new()
        }
        .connect_with(options)
        .await
        .map_err(error)?;
        if !in_memory {
            use_wal(&pool).await?;
        }
        migrate(&pool).await?;
        Ok(SqliteStore {
            inner: SqlStore::new(pool, &SQLITE),
        })
    }

    /// Closes every connection, waiting for the statements under way.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

sql::delegate_token_backend!(SqliteStore);

/// Puts the file in WAL mode, which it then keeps. Switching takes a lock that SQLite does not
/// wait for with the busy timeout: while another process opens the file or switches it too,
/// the switch fails at once with `SQLITE_BUSY`, and is tried again here until the busy timeout
/// has passed.
async fn use_wal(pool: &SqlitePool) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        let mode = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(pool)
            .await;
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(StoreError::new(format!(
                    "SQLite: the database stays in journal mode `{mode}` instead of WAL"
                )))
            }
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(error(e)),
        }
    }
}

/// `SQLITE_BUSY` or `SQLITE_LOCKED`, with any extended code.
fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Creates the tables, or brings them to the current version, in one transaction that holds
/// the write lock from its start: processes starting together take turns.
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(error)?;
    sqlx::query(sql::SCHEMA_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(error)?;
    let found: Option<i64> = sqlx::query_scalar(sql::SCHEMA_READ)
        .fetch_one(&mut *tx)
        .await
        .map_err(error)?;
    let pending = SQLITE.migrations(found)?;
    if pending.is_empty() {
        return tx.commit().await.map_err(error);
    }
    for statement in &pending {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
    }
    sqlx::query("DELETE FROM oauth_clients_schema")
        .execute(&mut *tx)
        .await
        .map_err(error)?;
    sqlx::query("INSERT INTO oauth_clients_schema (version) VALUES ($1)")
        .bind(sql::SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .map_err(error)?;
    tx.commit().await.map_err(error)
}

fn error(e: sqlx::Error) -> StoreError {
    sql::store_error(&SQLITE, e, &[])
}

fn query<'a>(statement: Statement<'a>) -> sqlx::query::Query<'a, Sqlite, SqliteArguments<'a>> {
    let mut query = sqlx::query(statement.sql);
    for value in statement.values {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
            Value::NullableInt(int) => query.bind(int),
            Value::Bytes(bytes) => query.bind(bytes),
        };
    }
    query
}

impl Pool for SqlitePool {
    fn execute<'a>(&'a self, statements: Vec<Statement<'a>>) -> StoreFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let statements = match <[Statement<'a>; 1]>::try_from(statements) {
                Ok([statement]) => {
                    let done = query(statement).execute(self).await.map_err(error)?;
                    return Ok(vec![done.rows_affected()]);
                }
                Err(statements) => statements,
            };
            let mut tx = self.begin_with("BEGIN IMMEDIATE").await.map_err(error)?;
            let mut changed = Vec::with_capacity(statements.len());
            for statement in statements {
                let done = query(statement).execute(&mut *tx).await.map_err(error)?;
                changed.push(done.rows_affected());
            }
            tx.commit().await.map_err(error)?;
            Ok(changed)
        })
    }

    fn fetch_record<'a>(&'a self, statement: Statement<'a>) -> StoreFuture<'a, Option<Row>> {
        Box::pin(async move {
            let Some(row) = query(statement).fetch_optional(self).await.map_err(error)? else {
                return Ok(None);
            };
            Ok(Some((
                row.try_get(0).map_err(error)?,
                row.try_get(1).map_err(error)?,
                row.try_get(2).map_err(error)?,
            )))
        })
    }

    fn exists<'a>(&'a self, statement: Statement<'a>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let row = query(statement).fetch_optional(self).await.map_err(error)?;
            Ok(row.is_some())
        })
    }
}
