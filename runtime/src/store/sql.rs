//! What the SQL backends share: the schema and its migrations, the statements, and the
//! token-store operations over them. `sqlite` and `postgres` add what differs: the pool, how a
//! transaction starts, how values are bound, and two pieces of SQL (the type of timestamps and
//! the clock, see [`Dialect`]).
//!
//! Every operation is one statement, or a few in one transaction, that the database applies
//! atomically: a compare-and-swap is an `UPDATE ... WHERE version = $expected` (or an
//! `INSERT ... ON CONFLICT DO NOTHING` for the first write) whose changed-row count says who
//! won; a lease is taken with one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` that only
//! replaces an expired lease or the holder's own. Nothing is read and then written from here,
//! so two processes can never both win.

use super::{Record, StoreError, StoreFuture, TokenBackend};
use std::time::Duration;

/// The schema version this library writes and reads; stored in `oauth_clients_schema`.
pub(super) const SCHEMA_VERSION: i64 = 1;

/// Created first, by every `connect`: where the schema version is kept.
pub(super) const SCHEMA_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS oauth_clients_schema (version BIGINT NOT NULL)";

/// The version the schema is at (no row: none yet).
pub(super) const SCHEMA_READ: &str = "SELECT MAX(version) FROM oauth_clients_schema";

/// The schema of each version, in order: the statements that take the schema from the version
/// before to this one. `{bytes}` and `{time}` are the dialect's types. The sealed payload is
/// opaque (every token kind, OAuth 1.0a secrets and DPoP keys included, is inside it), so a new
/// kind of token needs no new column.
const MIGRATIONS: &[&[&str]] = &[
    // Version 1.
    &[
        "CREATE TABLE IF NOT EXISTS oauth_clients_tokens (
            provider TEXT NOT NULL,
            user_key TEXT NOT NULL,
            version BIGINT NOT NULL,
            sealed {bytes} NOT NULL,
            expires_at BIGINT,
            created_at {time} NOT NULL,
            updated_at {time} NOT NULL,
            PRIMARY KEY (provider, user_key)
        )",
        // For `purge_expired`: only the records that can expire.
        "CREATE INDEX IF NOT EXISTS oauth_clients_tokens_expires_at
            ON oauth_clients_tokens (expires_at) WHERE expires_at IS NOT NULL",
        // For `delete_user`: the primary key starts with the provider.
        "CREATE INDEX IF NOT EXISTS oauth_clients_tokens_user_key
            ON oauth_clients_tokens (user_key)",
        "CREATE TABLE IF NOT EXISTS oauth_clients_leases (
            provider TEXT NOT NULL,
            user_key TEXT NOT NULL,
            holder TEXT NOT NULL,
            expires_at {time} NOT NULL,
            PRIMARY KEY (provider, user_key)
        )",
        "CREATE INDEX IF NOT EXISTS oauth_clients_leases_user_key
            ON oauth_clients_leases (user_key)",
    ],
];

/// What differs in the SQL of two databases, beyond placeholders (both take `$1`, `$2`, ...).
pub(super) struct Dialect {
    /// The database's name, at the start of every error message.
    pub name: &'static str,
    /// The type of binary columns.
    pub bytes: &'static str,
    /// The type of timestamp columns (`created_at`, `updated_at`, a lease's `expires_at`).
    pub time: &'static str,
    /// The current time, as a value of `time`: the clock every lease is judged by.
    pub now: &'static str,
    /// `now` plus `$4` milliseconds, as a value of `time`.
    pub lease_until: &'static str,
}

impl Dialect {
    /// The statements that bring a schema at version `found` (`None`: no schema yet) to
    /// [`SCHEMA_VERSION`]; none when it is there. A newer schema is refused: an older library
    /// must not write records a newer one laid out differently.
    pub fn migrations(&self, found: Option<i64>) -> Result<Vec<String>, StoreError> {
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::new(format!(
                "{}: the token store's schema is at version {found}, newer than this version of \
                 oauth-clients knows ({SCHEMA_VERSION}): update oauth-clients",
                self.name
            )));
        }
        let done = usize::try_from(found).map_err(|_| {
            StoreError::new(format!(
                "{}: oauth_clients_schema holds the version {found}",
                self.name
            ))
        })?;
        Ok(MIGRATIONS[done..]
            .iter()
            .flat_map(|step| step.iter())
            .map(|statement| {
                statement
                    .replace("{bytes}", self.bytes)
                    .replace("{time}", self.time)
            })
            .collect())
    }
}

/// The statements of the token-store operations, for one dialect.
pub(super) struct Statements {
    load: String,
    insert: String,
    update: String,
    delete_token: String,
    delete_lease: String,
    delete_user_tokens: String,
    delete_user_leases: String,
    purge_tokens: String,
    purge_leases: String,
    acquire_lease: String,
    release_lease: String,
    lease_held: String,
}

impl Statements {
    pub fn new(dialect: &Dialect) -> Statements {
        let now = dialect.now;
        let until = dialect.lease_until;
        Statements {
            load: "SELECT version, sealed, expires_at FROM oauth_clients_tokens \
                   WHERE provider = $1 AND user_key = $2"
                .into(),
            insert: format!(
                "INSERT INTO oauth_clients_tokens \
                 (provider, user_key, version, sealed, expires_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, {now}, {now}) \
                 ON CONFLICT (provider, user_key) DO NOTHING"
            ),
            update: format!(
                "UPDATE oauth_clients_tokens \
                 SET version = $3, sealed = $4, expires_at = $5, updated_at = {now} \
                 WHERE provider = $1 AND user_key = $2 AND version = $6"
            ),
            delete_token: "DELETE FROM oauth_clients_tokens WHERE provider = $1 AND user_key = $2"
                .into(),
            delete_lease: "DELETE FROM oauth_clients_leases WHERE provider = $1 AND user_key = $2"
                .into(),
            delete_user_tokens: "DELETE FROM oauth_clients_tokens WHERE user_key = $1".into(),
            delete_user_leases: "DELETE FROM oauth_clients_leases WHERE user_key = $1".into(),
            purge_tokens: "DELETE FROM oauth_clients_tokens \
                           WHERE expires_at IS NOT NULL AND expires_at < $1"
                .into(),
            // Leases left by dead holders go with the purge too; they are harmless meanwhile.
            purge_leases: format!("DELETE FROM oauth_clients_leases WHERE expires_at <= {now}"),
            // Inserted when there is none; else taken over only when it expired or is the
            // holder's own. The row's lock makes the check and the write one step.
            acquire_lease: format!(
                "INSERT INTO oauth_clients_leases (provider, user_key, holder, expires_at) \
                 VALUES ($1, $2, $3, {until}) \
                 ON CONFLICT (provider, user_key) DO UPDATE \
                 SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE oauth_clients_leases.expires_at <= {now} \
                 OR oauth_clients_leases.holder = excluded.holder"
            ),
            release_lease: "DELETE FROM oauth_clients_leases \
                            WHERE provider = $1 AND user_key = $2 AND holder = $3"
                .into(),
            lease_held: format!(
                "SELECT 1 FROM oauth_clients_leases \
                 WHERE provider = $1 AND user_key = $2 AND expires_at > {now}"
            ),
        }
    }
}

/// A value bound to a statement's placeholder.
pub(super) enum Value<'a> {
    Text(&'a str),
    Int(i64),
    NullableInt(Option<i64>),
    Bytes(&'a [u8]),
}

/// A statement and the values of its placeholders, `$1` first.
pub(super) struct Statement<'a> {
    pub sql: &'a str,
    pub values: Vec<Value<'a>>,
}

fn statement<'a>(sql: &'a str, values: Vec<Value<'a>>) -> Statement<'a> {
    Statement { sql, values }
}

/// A record's columns as the database returns them: version, sealed bytes, expiry.
pub(super) type Row = (i64, Vec<u8>, Option<i64>);

/// A connection pool to one database: what the shared operations need of it.
pub(super) trait Pool: Send + Sync + 'static {
    /// Runs `statements`, a lone one on its own, several in one transaction; how many rows
    /// each changed.
    fn execute<'a>(&'a self, statements: Vec<Statement<'a>>) -> StoreFuture<'a, Vec<u64>>;

    /// The record columns of the first row `statement` returns.
    fn fetch_record<'a>(&'a self, statement: Statement<'a>) -> StoreFuture<'a, Option<Row>>;

    /// Whether `statement` returns a row.
    fn exists<'a>(&'a self, statement: Statement<'a>) -> StoreFuture<'a, bool>;
}

/// A `sqlx` error as a store error: the database's name, then sqlx's message. sqlx never puts
/// bound values (sealed bytes, user keys) or the connection's password in its messages; the
/// password of the URL is removed all the same (`redact`), where the URL is at hand.
pub(super) fn store_error(dialect: &Dialect, error: sqlx::Error, redact: &[String]) -> StoreError {
    let message = match error {
        sqlx::Error::PoolTimedOut => {
            "no connection to the database within the pool's timeout (is it running and \
             reachable?)"
                .to_string()
        }
        error => error.to_string(),
    };
    let message = redact
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(message, |message, secret| {
            message.replace(secret.as_str(), "***")
        });
    StoreError::new(format!("{}: {message}", dialect.name))
}

/// The password of a database URL, as written and percent-decoded: what no error may show.
pub(super) fn url_secrets(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        // Unparsable: whatever sits between `scheme://user:` and the last `@` of the
        // authority may be a password.
        let authority = url.split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
        return match authority.rsplit_once('@') {
            Some((userinfo, _)) => match userinfo.split_once(':') {
                Some((_, password)) if !password.is_empty() => vec![password.to_string()],
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
    };
    let mut secrets = Vec::new();
    if let Some(password) = parsed.password() {
        secrets.push(password.to_string());
        if let Ok(decoded) = percent_decode(password) {
            secrets.push(decoded);
        }
    }
    secrets
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// The token-store operations over a [`Pool`], with a dialect's statements.
pub(super) struct SqlStore<P> {
    pub pool: P,
    dialect: &'static Dialect,
    statements: Statements,
}

impl<P: Pool> SqlStore<P> {
    pub fn new(pool: P, dialect: &'static Dialect) -> Self {
        SqlStore {
            pool,
            dialect,
            statements: Statements::new(dialect),
        }
    }

    /// A number of the record as a column value: the columns are signed 64-bit.
    fn column(&self, what: &str, value: u64) -> Result<i64, StoreError> {
        i64::try_from(value).map_err(|_| {
            StoreError::new(format!(
                "{}: the record's {what} ({value}) is too large for the column",
                self.dialect.name
            ))
        })
    }

    /// A column value as a number of the record: a negative one is not ours.
    fn number(&self, what: &str, value: i64) -> Result<u64, StoreError> {
        u64::try_from(value).map_err(|_| {
            StoreError::new(format!(
                "{}: the stored record has a negative {what} ({value})",
                self.dialect.name
            ))
        })
    }
}

impl<P: Pool> TokenBackend for SqlStore<P> {
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>> {
        Box::pin(async move {
            let row = self
                .pool
                .fetch_record(statement(
                    &self.statements.load,
                    vec![Value::Text(provider), Value::Text(user)],
                ))
                .await?;
            let Some((version, sealed, expires_at)) = row else {
                return Ok(None);
            };
            Ok(Some(Record {
                version: self.number("version", version)?,
                sealed,
                expires_at: expires_at.map(|at| self.number("expiry", at)).transpose()?,
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
            let mut values = vec![
                Value::Text(provider),
                Value::Text(user),
                Value::Int(self.column("version", record.version)?),
                Value::Bytes(&record.sealed),
                Value::NullableInt(
                    record
                        .expires_at
                        .map(|at| self.column("expiry", at))
                        .transpose()?,
                ),
            ];
            let sql = match expected {
                None => &self.statements.insert,
                Some(expected) => {
                    values.push(Value::Int(self.column("version", expected)?));
                    &self.statements.update
                }
            };
            let changed = self.pool.execute(vec![statement(sql, values)]).await?;
            Ok(changed.first() == Some(&1))
        })
    }

    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = || vec![Value::Text(provider), Value::Text(user)];
            self.pool
                .execute(vec![
                    statement(&self.statements.delete_token, key()),
                    statement(&self.statements.delete_lease, key()),
                ])
                .await?;
            Ok(())
        })
    }

    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let changed = self
                .pool
                .execute(vec![
                    statement(&self.statements.delete_user_tokens, vec![Value::Text(user)]),
                    statement(&self.statements.delete_user_leases, vec![Value::Text(user)]),
                ])
                .await?;
            Ok(changed.first().copied().unwrap_or(0))
        })
    }

    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            // A `now` past the column's range is later than every stored expiry.
            let now = i64::try_from(now).unwrap_or(i64::MAX);
            let changed = self
                .pool
                .execute(vec![
                    statement(&self.statements.purge_tokens, vec![Value::Int(now)]),
                    statement(&self.statements.purge_leases, Vec::new()),
                ])
                .await?;
            Ok(changed.first().copied().unwrap_or(0))
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
            let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
            let changed = self
                .pool
                .execute(vec![statement(
                    &self.statements.acquire_lease,
                    vec![
                        Value::Text(provider),
                        Value::Text(user),
                        Value::Text(holder),
                        Value::Int(ttl),
                    ],
                )])
                .await?;
            Ok(changed.first() == Some(&1))
        })
    }

    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.pool
                .execute(vec![statement(
                    &self.statements.release_lease,
                    vec![
                        Value::Text(provider),
                        Value::Text(user),
                        Value::Text(holder),
                    ],
                )])
                .await?;
            Ok(())
        })
    }

    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool> {
        self.pool.exists(statement(
            &self.statements.lease_held,
            vec![Value::Text(provider), Value::Text(user)],
        ))
    }
}

/// Implements [`TokenBackend`] for a public store type by handing every call to its `inner`
/// [`SqlStore`].
macro_rules! delegate_token_backend {
    ($store:ty) => {
        impl $crate::store::TokenBackend for $store {
            fn load<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
            ) -> $crate::store::StoreFuture<'a, Option<$crate::store::Record>> {
                $crate::store::TokenBackend::load(&self.inner, provider, user)
            }
            fn swap<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
                expected: Option<u64>,
                record: &'a $crate::store::Record,
            ) -> $crate::store::StoreFuture<'a, bool> {
                $crate::store::TokenBackend::swap(&self.inner, provider, user, expected, record)
            }
            fn delete<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
            ) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::TokenBackend::delete(&self.inner, provider, user)
            }
            fn delete_user<'a>(&'a self, user: &'a str) -> $crate::store::StoreFuture<'a, u64> {
                $crate::store::TokenBackend::delete_user(&self.inner, user)
            }
            fn purge_expired(&self, now: u64) -> $crate::store::StoreFuture<'_, u64> {
                $crate::store::TokenBackend::purge_expired(&self.inner, now)
            }
            fn acquire_lease<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
                holder: &'a str,
                ttl: std::time::Duration,
            ) -> $crate::store::StoreFuture<'a, bool> {
                $crate::store::TokenBackend::acquire_lease(&self.inner, provider, user, holder, ttl)
            }
            fn release_lease<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
                holder: &'a str,
            ) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::TokenBackend::release_lease(&self.inner, provider, user, holder)
            }
            fn lease_held<'a>(
                &'a self,
                provider: &'a str,
                user: &'a str,
            ) -> $crate::store::StoreFuture<'a, bool> {
                $crate::store::TokenBackend::lease_held(&self.inner, provider, user)
            }
        }
    };
}
pub(super) use delegate_token_backend;

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Dialect = Dialect {
        name: "Test",
        bytes: "BLOB",
        time: "BIGINT",
        now: "NOW",
        lease_until: "NOW + $4",
    };

    #[test]
    fn a_fresh_database_gets_every_migration_and_a_current_one_none() {
        let all = TEST.migrations(None).unwrap();
        assert_eq!(all.len(), MIGRATIONS.iter().map(|m| m.len()).sum::<usize>());
        assert!(all[0].contains("sealed BLOB NOT NULL"), "{}", all[0]);
        assert!(all.iter().all(|s| !s.contains('{')), "{all:?}");
        assert_eq!(TEST.migrations(Some(0)).unwrap(), all);
        assert!(TEST.migrations(Some(SCHEMA_VERSION)).unwrap().is_empty());
    }

    #[test]
    fn a_newer_or_negative_schema_is_refused() {
        let error = TEST.migrations(Some(SCHEMA_VERSION + 1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "Test: the token store's schema is at version {}, newer than this version of \
                 oauth-clients knows ({SCHEMA_VERSION}): update oauth-clients",
                SCHEMA_VERSION + 1
            )
        );
        let error = TEST.migrations(Some(-1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Test: oauth_clients_schema holds the version -1"
        );
    }

    #[test]
    fn the_password_of_a_url_is_found_as_written_and_decoded() {
        assert_eq!(
            url_secrets("postgres://app:p%40ss%2Fword@db.example:5432/tokens"),
            vec!["p%40ss%2Fword".to_string(), "p@ss/word".to_string()]
        );
        assert!(url_secrets("postgres://app@db.example/tokens").is_empty());
        assert!(url_secrets("sqlite://tokens.db").is_empty());
        // Not a URL the parser takes (a bad port): the password is still found.
        assert_eq!(
            url_secrets("postgres://app:hunter2@db.example:port/tokens"),
            vec!["hunter2".to_string()]
        );
    }

    #[test]
    fn errors_name_the_database_and_never_show_the_password() {
        let error = store_error(
            &TEST,
            sqlx::Error::Configuration("cannot use hunter2 here".into()),
            &["hunter2".to_string()],
        );
        assert_eq!(
            error.to_string(),
            "Test: error with configuration: cannot use *** here"
        );
        let error = store_error(&TEST, sqlx::Error::PoolTimedOut, &[]);
        assert_eq!(
            error.to_string(),
            "Test: no connection to the database within the pool's timeout (is it running and \
             reachable?)"
        );
    }
}
