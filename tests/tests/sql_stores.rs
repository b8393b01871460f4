//! The SQL token stores against real databases: SQLite files under cargo's `target/tmp`, and a
//! PostgreSQL server this binary starts itself (`postgres_support`; without PostgreSQL the
//! tests fail saying what to install, they never skip). Each test has a database of its own.
//!
//! For each backend: the conformance check every backend must pass; the schema `connect`
//! creates, also when several processes start at once, and a newer one refused; and the
//! runtime's refresh coordination through the real database: three "processes" (a registry
//! each, over a store connected on its own, with its own connections) making 300 calls with an
//! expired token refresh it once; a lease left by a dead process delays them only until it
//! expires; while the provider stalls a refresh, the lease is there in the database, read with
//! a plain sqlx connection, and gone once the refresh is done; and the stored bytes hold no
//! token. The tables are read directly wherever a test says what the database holds.

mod postgres_support;

use oauth_clients::store::{PostgresStore, SqliteStore, TokenBackend};
use oauth_clients::{oauth_clients, MemorySession, Registry, Token};
use oauth_clients_testing::{check_token_backend, TestProvider};
use sqlx::{Connection, Row};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

oauth_clients! {
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// ---------------------------------------------------------------------------------------------
// The databases, and a plain client to read them
// ---------------------------------------------------------------------------------------------

/// A database of one test.
enum Db {
    Sqlite(String),
    Postgres(String),
}

impl Db {
    /// A fresh SQLite file `target/tmp/sqlite-stores/NAME.db` (none there yet).
    fn sqlite(name: &str) -> Db {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-stores");
        std::fs::create_dir_all(&dir).unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}.db{suffix}")));
        }
        Db::Sqlite(format!("sqlite://{}/{name}.db", dir.display()))
    }

    /// A fresh database `NAME` on the test server.
    async fn postgres(name: &str) -> Db {
        let server = postgres_support::server();
        let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Db::Postgres(server.url(name))
    }

    fn url(&self) -> &str {
        match self {
            Db::Sqlite(url) | Db::Postgres(url) => url,
        }
    }

    /// The store, connected on its own: another "process".
    async fn connect(&self) -> Arc<dyn TokenBackend> {
        match self {
            Db::Sqlite(url) => Arc::new(SqliteStore::connect(url).await.unwrap()),
            Db::Postgres(url) => Arc::new(PostgresStore::connect(url).await.unwrap()),
        }
    }

    /// Runs `sql`, which returns no rows, with a plain connection.
    async fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(url) => {
                let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut db).await.unwrap();
            }
            Db::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut db).await.unwrap();
            }
        }
    }

    /// Runs `sql` with a plain connection; the rows as text.
    async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Sqlite(url) => {
                let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
                let rows = sqlx::query(sql).fetch_all(&mut db).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| {
                                row.try_get::<Option<String>, _>(i)
                                    .or_else(|_| {
                                        row.try_get::<Option<i64>, _>(i)
                                            .map(|v| v.map(|v| v.to_string()))
                                    })
                                    .unwrap()
                            })
                            .collect()
                    })
                    .collect()
            }
            Db::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let rows = sqlx::query(sql).fetch_all(&mut db).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// The lease row of `user` at `forge`: its holder and how many milliseconds it has left,
    /// by the clock leases are judged by (PostgreSQL's; for SQLite, this machine's).
    async fn lease(&self, user: &str) -> Option<(String, i64)> {
        match self {
            Db::Sqlite(url) => {
                let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
                let row = sqlx::query(
                    "SELECT holder, expires_at FROM oauth_clients_leases \
                     WHERE provider = 'forge' AND user_key = $1",
                )
                .bind(user)
                .fetch_optional(&mut db)
                .await
                .unwrap()?;
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                Some((row.get(0), row.get::<i64, _>(1) - now_ms))
            }
            Db::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let row = sqlx::query(
                    "SELECT holder, (EXTRACT(EPOCH FROM expires_at - now()) * 1000)::BIGINT \
                     FROM oauth_clients_leases WHERE provider = 'forge' AND user_key = $1",
                )
                .bind(user)
                .fetch_optional(&mut db)
                .await
                .unwrap()?;
                Some((row.get(0), row.get(1)))
            }
        }
    }

    /// The stored record's columns for `user` at `forge`: version, sealed bytes, expiry.
    async fn record(&self, user: &str) -> (i64, Vec<u8>, Option<i64>) {
        let sql = "SELECT version, sealed, expires_at FROM oauth_clients_tokens \
                   WHERE provider = 'forge' AND user_key = $1";
        match self {
            Db::Sqlite(url) => {
                let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
                let row = sqlx::query(sql)
                    .bind(user)
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
                (row.get(0), row.get(1), row.get(2))
            }
            Db::Postgres(url) => {
                let mut db = sqlx::PgConnection::connect(url).await.unwrap();
                let row = sqlx::query(sql)
                    .bind(user)
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
                (row.get(0), row.get(1), row.get(2))
            }
        }
    }

    /// The store's tables and indexes, sorted.
    async fn schema_objects(&self) -> Vec<String> {
        let sql = match self {
            Db::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE name LIKE 'oauth_clients%' ORDER BY name"
            }
            Db::Postgres(_) => {
                "SELECT relname::TEXT FROM pg_class \
                 WHERE relname LIKE 'oauth_clients%' AND relkind IN ('r', 'i') ORDER BY relname"
            }
        };
        self.rows(sql)
            .await
            .into_iter()
            .map(|row| row[0].clone().unwrap())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The provider and the "processes"
// ---------------------------------------------------------------------------------------------

async fn start() -> TestProvider {
    TestProvider::builder()
        .auto_approve("alice")
        .start()
        .await
        .unwrap()
}

/// One "process": a registry of its own on `store`.
fn process(provider: &TestProvider, store: Arc<dyn TokenBackend>) -> Registry<Providers> {
    Providers::builder()
        .settings(provider.settings_for("forge"))
        .env_source(|_| None)
        .token_store(store)
        .token_keys(KEYS)
        .refresh_lease(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// Logs alice in with `registry` and keeps her token under `alice`.
async fn log_in_and_save(provider: &TestProvider, registry: &Registry<Providers>) -> Token {
    let forge = registry.forge();
    let token = provider
        .log_in(&forge, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    forge.save_token("alice", &token).await.unwrap();
    token
}

/// Alice's token saved, then stored again as expired: the next call refreshes it.
async fn save_expired(provider: &TestProvider, registry: &Registry<Providers>) -> Token {
    let mut token = log_in_and_save(provider, registry).await;
    token.expires_at = Some(1);
    registry.forge().save_token("alice", &token).await.unwrap();
    token
}

/// Runs every future as its own task; their outputs, in any order.
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for future in futures {
        tasks.spawn(future);
    }
    let mut outputs = Vec::new();
    while let Some(output) = tasks.join_next().await {
        outputs.push(output.expect("a task panicked"));
    }
    outputs
}

// ---------------------------------------------------------------------------------------------
// The scenarios, for any of the databases
// ---------------------------------------------------------------------------------------------

/// Eight processes connecting to a fresh database at once: every one succeeds, the schema
/// is there once, at version 1; connecting again changes nothing.
async fn schema_is_created_once(db: &Db) {
    let connects = (0..8).map(|_| {
        let url = db.url().to_string();
        let sqlite = matches!(db, Db::Sqlite(_));
        async move {
            if sqlite {
                SqliteStore::connect(&url).await.map(|_| ())
            } else {
                PostgresStore::connect(&url).await.map(|_| ())
            }
        }
    });
    for outcome in join_all(connects).await {
        outcome.unwrap();
    }
    let expected = [
        "oauth_clients_leases",
        "oauth_clients_leases_user_key",
        "oauth_clients_schema",
        "oauth_clients_tokens",
        "oauth_clients_tokens_expires_at",
        "oauth_clients_tokens_user_key",
    ];
    let mut objects = db.schema_objects().await;
    // The primary keys' own indexes, named by each database its way.
    objects.retain(|name| !name.contains("autoindex") && !name.ends_with("_pkey"));
    assert_eq!(objects, expected);
    let version = "SELECT CAST(version AS TEXT) FROM oauth_clients_schema";
    assert_eq!(db.rows(version).await, vec![vec![Some("1".to_string())]]);
    db.connect().await;
    assert_eq!(db.rows(version).await, vec![vec![Some("1".to_string())]]);
}

/// A schema at a version this library does not know yet is refused, not written to.
async fn a_newer_schema_is_refused(db: &Db, name: &str) {
    db.connect().await;
    db.execute("UPDATE oauth_clients_schema SET version = 2")
        .await;
    let error = match db {
        Db::Sqlite(url) => SqliteStore::connect(url).await.unwrap_err(),
        Db::Postgres(url) => PostgresStore::connect(url).await.unwrap_err(),
    };
    assert_eq!(
        error.to_string(),
        format!(
            "{name}: the token store's schema is at version 2, newer than this version of \
             oauth-clients knows (1): update oauth-clients"
        )
    );
}

/// Three processes sharing the database, 300 calls at once with an expired token: one
/// refresh at the provider, every call succeeds, and the stored token is the new one.
async fn concurrent_calls_in_several_processes_refresh_once(db: &Db) {
    let provider = start().await;
    let mut processes = Vec::new();
    for _ in 0..3 {
        processes.push(process(&provider, db.connect().await));
    }
    let token = save_expired(&provider, &processes[0]).await;

    let calls = (0..300).map(|i| {
        let registry = processes[i % 3].clone();
        async move {
            registry
                .forge()
                .for_user("alice")
                .get("user")
                .await
                .map(|r| r.status())
        }
    });
    let statuses = join_all(calls).await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, Ok(s) if s.as_u16() == 200)),
        "{statuses:?}"
    );
    assert_eq!(provider.count("token.refresh_token"), 1);
    let stored = processes[2]
        .forge()
        .for_user("alice")
        .token()
        .await
        .unwrap();
    assert_ne!(stored.refresh_token, token.refresh_token);
    assert!(stored.expires_at.unwrap() > 1);
    // The login's write, the expired copy, the refresh: version 3.
    assert_eq!(db.record("alice").await.0, 3);
}

/// A process that took the lease and died before refreshing holds the others up for the
/// lease at most; then one of them refreshes, and the lease is gone.
async fn a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires(db: &Db) {
    let provider = start().await;
    let store = db.connect().await;
    let registry = process(&provider, store.clone());
    save_expired(&provider, &registry).await;
    // The dead process's lease, as it left it.
    assert!(store
        .acquire_lease("forge", "alice", "dead-process", Duration::from_secs(1))
        .await
        .unwrap());
    assert_eq!(db.lease("alice").await.unwrap().0, "dead-process");
    let started = Instant::now();
    let answer = registry
        .forge()
        .for_user("alice")
        .get("user")
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(provider.count("token.refresh_token"), 1);
    assert!(!store.lease_held("forge", "alice").await.unwrap());
    assert_eq!(db.lease("alice").await, None);
}

/// While the provider stalls the refresh, the lease is in the database: a row with the
/// refreshing process's holder name, expiring within the configured lease (2 s). Once the
/// refresh is done, the row is gone.
async fn the_lease_is_in_the_database_while_the_provider_stalls_the_refresh(db: &Db) {
    let provider = start().await;
    let store = db.connect().await;
    let registry = process(&provider, store.clone());
    save_expired(&provider, &registry).await;
    assert_eq!(db.lease("alice").await, None);

    provider.configure(|b| b.token_delay = Some(Duration::from_millis(1500)));
    let call = tokio::spawn({
        let registry = registry.clone();
        async move {
            registry
                .forge()
                .for_user("alice")
                .get("user")
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let (holder, left_ms) = loop {
        if let Some(lease) = db.lease("alice").await {
            break lease;
        }
        assert!(
            Instant::now() < deadline,
            "no lease row while the refresh was under way"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The runtime's holder names start with the process id.
    assert!(
        holder.starts_with(&format!("{}-", std::process::id())),
        "{holder}"
    );
    assert!(left_ms > 0 && left_ms <= 2000, "{left_ms} ms left");
    assert!(store.lease_held("forge", "alice").await.unwrap());
    assert!(!call.is_finished());

    assert_eq!(call.await.unwrap().unwrap(), 200);
    assert_eq!(provider.count("token.refresh_token"), 1);
    assert_eq!(db.lease("alice").await, None);
    assert!(!store.lease_held("forge", "alice").await.unwrap());
}

/// What the database holds is sealed: neither token appears in the stored bytes, which the
/// store gives back as they are.
async fn stored_bytes_hold_no_token(db: &Db) {
    let provider = start().await;
    let store = db.connect().await;
    let registry = process(&provider, store.clone());
    let token = log_in_and_save(&provider, &registry).await;
    let (version, sealed, expires_at) = db.record("alice").await;
    assert_eq!(version, 1);
    // A refresh token keeps the record useful: no expiry.
    assert_eq!(expires_at, None);
    let refresh_token = token.refresh_token.as_deref().unwrap();
    assert!(token.access_token.len() >= 16 && refresh_token.len() >= 16);
    let contains = |needle: &[u8]| sealed.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(token.access_token.as_bytes()));
    assert!(!contains(refresh_token.as_bytes()));
    assert!(!contains(b"refresh_token") && !contains(b"access_token"));
    let loaded = store.load("forge", "alice").await.unwrap().unwrap();
    assert_eq!(loaded.sealed, sealed);
    assert_eq!(loaded.version, 1);
    // And the registry opens them.
    assert_eq!(
        registry.forge().for_user("alice").token().await.unwrap(),
        token
    );
}

// ---------------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sqlite_behaves_as_a_backend_must() {
    let db = Db::sqlite("conformance");
    check_token_backend(&*db.connect().await, "forge").await;
}

#[tokio::test]
async fn sqlite_in_memory_behaves_as_a_backend_must() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    check_token_backend(&store, "forge").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_schema_is_created_once_in_wal_mode() {
    let db = Db::sqlite("schema");
    schema_is_created_once(&db).await;
    assert_eq!(
        db.rows("PRAGMA journal_mode").await,
        vec![vec![Some("wal".to_string())]]
    );
}

#[tokio::test]
async fn sqlite_refuses_a_newer_schema() {
    a_newer_schema_is_refused(&Db::sqlite("newer_schema"), "SQLite").await;
}

#[tokio::test]
async fn sqlite_reports_a_file_it_cannot_create() {
    let error = SqliteStore::connect("sqlite:///nonexistent-dir/for/sure/tokens.db")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("SQLite: "), "{message}");
    assert!(
        message.contains("unable to open database file"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_calls_in_several_processes_refresh_once() {
    concurrent_calls_in_several_processes_refresh_once(&Db::sqlite("concurrent")).await;
}

#[tokio::test]
async fn sqlite_a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires() {
    a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires(&Db::sqlite(
        "dead_lease",
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_lease_is_in_the_database_while_the_provider_stalls_the_refresh() {
    the_lease_is_in_the_database_while_the_provider_stalls_the_refresh(&Db::sqlite("lease_row"))
        .await;
}

#[tokio::test]
async fn sqlite_stored_bytes_hold_no_token() {
    stored_bytes_hold_no_token(&Db::sqlite("sealed")).await;
}

/// How many writes each writer of the compare-and-swap tests makes.
const WRITES: u64 = 60;

/// The environment variable that makes
/// [`sqlite_compare_and_swap_loses_no_write_between_connections`] one of several processes
/// writing to the file it names.
const SHARED_FILE: &str = "SQL_STORES_SHARED_SQLITE_URL";

/// Writes `WRITES` new versions of one record, each a compare-and-swap on the version it read,
/// reading again whenever another writer came first.
async fn write_versions(store: &dyn TokenBackend) {
    let mut written = 0;
    while written < WRITES {
        let current = store.load("forge", "counter").await.unwrap();
        let expected = current.as_ref().map(|record| record.version);
        let record = oauth_clients::store::Record {
            version: expected.map_or(1, |v| v + 1),
            sealed: vec![7; 40],
            expires_at: None,
        };
        if store
            .swap("forge", "counter", expected, &record)
            .await
            .unwrap()
        {
            written += 1;
        }
    }
}

/// Three writers, each a store with connections of its own, writing versions of one record at
/// once: no write is lost (the last version is the number of writes), and none fails for a
/// database busy with the others.
async fn no_write_is_lost_between_connections(db: &Db) {
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(db.connect().await);
    }
    join_all(stores.into_iter().map(|store| async move {
        write_versions(&*store).await;
    }))
    .await;
    assert_eq!(db.record("counter").await.0 as u64, 3 * WRITES);
}

/// [`no_write_is_lost_between_connections`] on SQLite. Run with `SQL_STORES_SHARED_SQLITE_URL`,
/// this is one writer of [`sqlite_compare_and_swap_loses_no_write_between_processes`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_compare_and_swap_loses_no_write_between_connections() {
    if let Ok(url) = std::env::var(SHARED_FILE) {
        let store = SqliteStore::connect(&url).await.unwrap();
        write_versions(&store).await;
        return;
    }
    no_write_is_lost_between_connections(&Db::sqlite("writers")).await;
}

/// Three processes (this test binary again, running the test above) writing versions of one
/// record in one file at once: no write is lost, none fails.
#[tokio::test]
async fn sqlite_compare_and_swap_loses_no_write_between_processes() {
    let db = Db::sqlite("processes");
    // The schema first, so the writers only write.
    db.connect().await;
    let exe = std::env::current_exe().unwrap();
    let writers: Vec<_> = (0..3)
        .map(|_| {
            tokio::process::Command::new(&exe)
                .args([
                    "--exact",
                    "sqlite_compare_and_swap_loses_no_write_between_connections",
                    "--test-threads",
                    "1",
                ])
                .env(SHARED_FILE, db.url())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        })
        .collect();
    for writer in writers {
        let output = tokio::time::timeout(Duration::from_secs(120), writer.wait_with_output())
            .await
            .expect("a writer process still running after 120 s")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(db.record("counter").await.0 as u64, 3 * WRITES);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn postgres_behaves_as_a_backend_must() {
    let db = Db::postgres("conformance").await;
    check_token_backend(&*db.connect().await, "forge").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_compare_and_swap_loses_no_write_between_connections() {
    no_write_is_lost_between_connections(&Db::postgres("writers").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schema_is_created_once() {
    schema_is_created_once(&Db::postgres("schema").await).await;
}

#[tokio::test]
async fn postgres_refuses_a_newer_schema() {
    a_newer_schema_is_refused(&Db::postgres("newer_schema").await, "PostgreSQL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_calls_in_several_processes_refresh_once() {
    concurrent_calls_in_several_processes_refresh_once(&Db::postgres("concurrent").await).await;
}

#[tokio::test]
async fn postgres_a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires() {
    a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires(
        &Db::postgres("dead_lease").await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_lease_is_in_the_database_while_the_provider_stalls_the_refresh() {
    the_lease_is_in_the_database_while_the_provider_stalls_the_refresh(
        &Db::postgres("lease_row").await,
    )
    .await;
}

#[tokio::test]
async fn postgres_stored_bytes_hold_no_token() {
    stored_bytes_hold_no_token(&Db::postgres("sealed").await).await;
}

/// A password in the URL, percent-encoded, logs in; a wrong one is refused, and neither
/// appears in the error or in the store's `Debug`.
#[tokio::test]
async fn postgres_passwords_log_in_and_never_show() {
    let server = postgres_support::server();
    let role = postgres_support::PASSWORD_ROLE;
    let password = "s3cret p@ss/w:rd%";
    Db::postgres("passwords").await;
    let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE passwords OWNER TO {role}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let encoded = "s3cret%20p%40ss%2Fw%3Ard%25";
    let url = |password: &str| {
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/passwords",
            server.port
        )
    };

    let store = PostgresStore::connect(&url(encoded)).await.unwrap();
    check_token_backend(&store, "forge").await;
    let debug = format!("{store:?}");
    assert!(!debug.contains("s3cret"), "{debug}");

    let wrong = "wr0ng-s3cret";
    let error = PostgresStore::connect(&url(wrong)).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("PostgreSQL: ") && message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("wr0ng"), "{message}");

    // A URL that does not parse (a port that is not a number), with a password in it.
    let error = PostgresStore::connect(&format!(
        "postgres://{role}:{wrong}@127.0.0.1:port/passwords"
    ))
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("PostgreSQL: "), "{message}");
    assert!(!message.contains("wr0ng"), "{message}");
}
