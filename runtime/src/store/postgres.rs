//! The PostgreSQL backend: one database shared by every process of an app, on any number of
//! machines.
//!
//! Leases are written and judged by the server's clock (`now()`), never a host's: machines
//! whose clocks disagree still agree on when a lease expired. The schema is created or updated
//! in one transaction that first takes a transaction-level advisory lock, so processes that
//! start together take turns (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on
//! PostgreSQL's catalog).

use super::sql::{self, Dialect, Pool, Row, SqlStore, Statement, Value};
use super::{StoreError, StoreFuture};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row as _};
use std::fmt;
use std::str::FromStr;

/// The advisory lock the schema's creation holds: "oauth_cl" in ASCII, a number other code
/// is unlikely to lock.
const SCHEMA_LOCK: i64 = 0x6f61_7574_685f_636c;

static POSTGRES: Dialect = Dialect {
    name: "PostgreSQL",
    bytes: "BYTEA",
    time: "TIMESTAMPTZ",
    now: "now()",
    lease_until: "now() + $4 * INTERVAL '1 millisecond'",
};

/// A token store in a PostgreSQL database, shared by every process of an app, on every
/// machine.
///
/// [`connect`](Self::connect) opens a pool of connections (sqlx's defaults: up to 10) and
/// creates the tables the store needs, or brings them up to date; every process can do so at
/// start-up at the same time. The records are sealed (see
/// [`token_keys`](crate::RegistryBuilder::token_keys)): the database holds no token in clear.
///
/// The tables, `oauth_clients_` then:
///
/// - `tokens`: `provider`, `user_key` (the primary key), `version` (BIGINT), `sealed`
///   (BYTEA), `expires_at` (BIGINT, seconds since the Unix epoch, `NULL` for records that stay
///   usable), `created_at`, `updated_at` (TIMESTAMPTZ);
/// - `leases`: `provider`, `user_key` (the primary key), `holder`, `expires_at`
///   (TIMESTAMPTZ, by the server's clock);
/// - `schema`: `version`, the schema's version.
///
/// The user `connect` logs in as needs to create tables and indexes the first time, then to
/// read and write those three.
///
/// ```no_run
/// # oauth_clients::oauth_clients! {
/// #     github {
/// #         authorize_url: "https://github.com/login/oauth/authorize",
/// #         access_token_url: "https://github.com/login/oauth/access_token",
/// #     },
/// # }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oauth_clients::store::PostgresStore;
///
/// let url = std::env::var("DATABASE_URL")?; // postgres://app:PASSWORD@db.internal/app
/// let store = PostgresStore::connect(&url).await?;
/// let registry = Providers::builder()
///     .token_store(store)
///     // Read from OAUTH_CLIENTS_TOKEN_KEYS when not given here.
///     .token_keys(std::env::var("TOKEN_KEYS")?)
///     .build()?;
/// # drop(registry);
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    inner: SqlStore<PgPool>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the password.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and creates or updates the store's tables.
    ///
    /// `url` is `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, with any of libpq's parameters
    /// that sqlx reads (`sslmode=verify-full` to require TLS with a verified certificate,
    /// through rustls with the Web PKI roots; `sslrootcert=PATH` for a private CA). A password
    /// with reserved characters is percent-encoded. No error message shows the password.
    ///
    /// Waits for the server to accept connections up to sqlx's pool timeout (30 seconds) while
    /// it refuses them (as one starting up does); fails at once on other errors (a wrong
    /// password, an unknown database), and when the schema is newer than this version of the
    /// library knows.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let secrets = sql::url_secrets(url);
        let error = |e| sql::store_error(&POSTGRES, e, &secrets);
        let options = PgConnectOptions::from_str(url).map_err(error)?;
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .map_err(error)?;
        migrate(&pool, &secrets).await?;
        Ok(PostgresStore {
            inner: SqlStore::new(pool, &POSTGRES),
        })
    }

    /// Closes every connection, waiting for the statements under way.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

sql::delegate_token_backend!(PostgresStore);

/// Creates the tables, or brings them to the current version, in one transaction under the
/// schema's advisory lock.
async fn migrate(pool: &PgPool, secrets: &[String]) -> Result<(), StoreError> {
    let error = |e| sql::store_error(&POSTGRES, e, secrets);
    let mut tx = pool.begin().await.map_err(error)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(error)?;
    sqlx::query(sql::SCHEMA_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(error)?;
    let found: Option<i64> = sqlx::query_scalar(sql::SCHEMA_READ)
        .fetch_one(&mut *tx)
        .await
        .map_err(error)?;
    let pending = POSTGRES.migrations(found)?;
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

fn query<'a>(statement: Statement<'a>) -> sqlx::query::Query<'a, Postgres, PgArguments> {
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

fn error(e: sqlx::Error) -> StoreError {
    sql::store_error(&POSTGRES, e, &[])
}

impl Pool for PgPool {
    fn execute<'a>(&'a self, statements: Vec<Statement<'a>>) -> StoreFuture<'a, Vec<u64>> {
        Box::pin(async move {
            let statements = match <[Statement<'a>; 1]>::try_from(statements) {
                Ok([statement]) => {
                    let done = query(statement).execute(self).await.map_err(error)?;
                    return Ok(vec![done.rows_affected()]);
                }
                Err(statements) => statements,
            };
            let mut tx = self.begin().await.map_err(error)?;
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
