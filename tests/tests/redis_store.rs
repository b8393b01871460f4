//! The Redis token store against a real `redis-server` (started by `redis_support`): the
//! backend conformance check, refreshes coordinated across "processes" through Redis, the
//! lease as Redis holds it, the keys as documented, and the connection itself (TLS, a
//! restarted server, errors without the password).
//!
//! Each test keeps its keys under a prefix of its own on the shared server, or runs a server
//! of its own.

mod redis_support;

use oauth_clients::store::RedisStore;
use oauth_clients::store::{Record, TokenBackend};
use oauth_clients::{oauth_clients, MemorySession, Registry, Token};
use oauth_clients_testing::{check_token_backend, TestProvider};
use redis::AsyncCommands;
use redis_support::RedisServer;
use std::collections::HashMap;
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

/// A store on the shared server, its keys under `prefix` (one per test).
async fn connect(prefix: &str) -> RedisStore {
    RedisStore::connect(&redis_support::shared().url())
        .await
        .unwrap()
        .with_prefix(prefix)
}

/// One "process": a registry of its own, with a Redis connection of its own.
async fn process(provider: &TestProvider, prefix: &str) -> Registry<Providers> {
    Providers::builder()
        .settings(provider.settings_for("forge"))
        .env_source(|_| None)
        .token_store(connect(prefix).await)
        .token_keys(KEYS)
        .refresh_lease(Duration::from_secs(2))
        .build()
        .unwrap()
}

async fn start() -> TestProvider {
    TestProvider::builder()
        .auto_approve("alice")
        .start()
        .await
        .unwrap()
}

/// Logs alice in with `registry` and keeps her token under `alice`, expired, so that the
/// next call refreshes it.
async fn log_in_and_save_expired(provider: &TestProvider, registry: &Registry<Providers>) -> Token {
    let forge = registry.forge();
    let mut token = provider
        .log_in(&forge, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    token.expires_at = Some(1);
    forge.save_token("alice", &token).await.unwrap();
    token
}

fn record(version: u64, sealed: &[u8], expires_at: Option<u64>) -> Record {
    Record {
        version,
        sealed: sealed.to_vec(),
        expires_at,
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn the_redis_store_behaves_as_a_backend_must() {
    check_token_backend(&connect("conformance").await, "forge").await;
}

/// Three "processes" sharing one Redis, 300 calls at once with an expired token: one refresh
/// at the provider, every call succeeds, and the stored token is the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_in_several_processes_refresh_once() {
    let provider = start().await;
    let prefix = "concurrent";
    let mut processes = Vec::new();
    for _ in 0..3 {
        processes.push(process(&provider, prefix).await);
    }
    let token = log_in_and_save_expired(&provider, &processes[0]).await;

    let mut calls = tokio::task::JoinSet::new();
    for i in 0..300 {
        let registry = processes[i % 3].clone();
        calls.spawn(async move {
            registry
                .forge()
                .for_user("alice")
                .get("user")
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = calls.join_next().await {
        statuses.push(status.expect("a call panicked"));
    }
    assert_eq!(statuses.len(), 300);
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(200))),
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
    // Written twice: the login, then the one refresh.
    let record = connect(prefix)
        .await
        .load("forge", "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.version, 2);
}

/// A process that took the lease in Redis and died before refreshing holds the others up for
/// the lease at most; then one of them refreshes.
#[tokio::test]
async fn a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires() {
    let provider = start().await;
    let prefix = "dead-lease";
    let registry = process(&provider, prefix).await;
    log_in_and_save_expired(&provider, &registry).await;
    // The dead process's lease, as it left it: in Redis, with Redis's expiry.
    let store = connect(prefix).await;
    assert!(store
        .acquire_lease("forge", "alice", "dead-process", Duration::from_secs(1))
        .await
        .unwrap());
    let mut client = redis_support::shared().client().await;
    let key = store.lease_key("forge", "alice");
    let holder: Option<String> = client.get(&key).await.unwrap();
    assert_eq!(holder.as_deref(), Some("dead-process"));
    let ttl: i64 = client.pttl(&key).await.unwrap();
    assert!(ttl > 0 && ttl <= 1000, "{ttl}");

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
    let exists: bool = client.exists(&key).await.unwrap();
    assert!(!exists);
}

/// While the provider stalls the refresh, the lease is in Redis, under its documented key,
/// held by the refreshing process and expiring by Redis's clock; once the refresh is done, it
/// is gone.
#[tokio::test]
async fn while_the_provider_stalls_the_refresh_the_lease_is_visible_in_redis() {
    let provider = start().await;
    let prefix = "stalled";
    let registry = process(&provider, prefix).await;
    log_in_and_save_expired(&provider, &registry).await;
    provider.configure(|b| b.token_delay = Some(Duration::from_millis(1500)));

    let call = tokio::spawn(async move {
        registry
            .forge()
            .for_user("alice")
            .get("user")
            .await
            .map(|r| r.status().as_u16())
    });
    let mut client = redis_support::shared().client().await;
    let key = format!("{prefix}:lease:forge:alice");
    let started = Instant::now();
    let holder = loop {
        let holder: Option<String> = client.get(&key).await.unwrap();
        if let Some(holder) = holder {
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no lease in Redis under {key}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // The holder names this process.
    assert!(
        holder.starts_with(&format!("{}-", std::process::id())),
        "{holder}"
    );
    // The lease is the registry's (2 s), counted down by Redis.
    let ttl: i64 = client.pttl(&key).await.unwrap();
    assert!(ttl > 0 && ttl <= 2000, "{ttl}");
    assert!(!call.is_finished());

    assert_eq!(call.await.unwrap().unwrap(), 200);
    assert_eq!(provider.count("token.refresh_token"), 1);
    let exists: bool = client.exists(&key).await.unwrap();
    assert!(!exists, "the lease outlived its refresh");
}

/// What Redis holds for a stored token: a hash under the documented key, with the version and
/// sealed bytes that are not the token; and the user's index.
#[tokio::test]
async fn a_record_in_redis_is_sealed_and_where_the_docs_say() {
    let provider = start().await;
    let prefix = "layout";
    let registry = process(&provider, prefix).await;
    let forge = registry.forge();
    let token = provider
        .log_in(&forge, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    // A user key with the separator and the escape character.
    let user = "alice:1%2";
    forge.save_token(user, &token).await.unwrap();

    let mut client = redis_support::shared().client().await;
    let key = format!("{prefix}:token:forge:alice%3A1%252");
    let fields: HashMap<String, Vec<u8>> = client.hgetall(&key).await.unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    // No `expires_at`: the token has a refresh token, so the record stays usable.
    assert_eq!(names, ["sealed", "version"]);
    assert_eq!(fields["version"], b"1");
    let ttl: i64 = client.pttl(&key).await.unwrap();
    assert_eq!(ttl, -1);
    // No token in clear, in any field.
    let access = token.access_token.as_bytes();
    let refresh = token.refresh_token.as_deref().unwrap().as_bytes();
    for (name, value) in &fields {
        assert!(
            !value.windows(access.len()).any(|w| w == access),
            "the access token is in `{name}`"
        );
        assert!(
            !value.windows(refresh.len()).any(|w| w == refresh),
            "the refresh token is in `{name}`"
        );
    }
    let members: Vec<String> = client
        .smembers(format!("{prefix}:user:alice%3A1%252"))
        .await
        .unwrap();
    assert_eq!(members, ["forge"]);
    // It opens back into the token.
    assert_eq!(forge.for_user(user).token().await.unwrap(), token);

    // A logout removes the record and the index entry.
    forge.delete_token(user).await.unwrap();
    let exists: u64 = client
        .exists(&[key.clone(), format!("{prefix}:user:alice%3A1%252")])
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

/// Provider names and user keys with `:` and `%` never share a key.
#[tokio::test]
async fn separators_in_provider_and_user_keys_do_not_collide() {
    let store = connect("collide").await;
    let pairs = [
        ("p:q", "u"),
        ("p", "q:u"),
        ("p%3Aq", "u"),
        ("p", "q%3Au"),
        ("p", "q"),
    ];
    for (_, user) in pairs {
        store.delete_user(user).await.unwrap();
    }
    for (i, (provider, user)) in pairs.iter().enumerate() {
        assert!(store
            .swap(provider, user, None, &record(1, &[i as u8; 8], None))
            .await
            .unwrap());
    }
    for (i, (provider, user)) in pairs.iter().enumerate() {
        assert_eq!(
            store.load(provider, user).await.unwrap(),
            Some(record(1, &[i as u8; 8], None)),
            "{provider} {user}"
        );
    }
    // A lease on one pair is not a lease on another.
    assert!(store
        .acquire_lease("p:q", "u", "h", Duration::from_secs(5))
        .await
        .unwrap());
    assert!(!store.lease_held("p", "q:u").await.unwrap());
    // Removing a user takes their records (and leases) only.
    assert_eq!(store.delete_user("u").await.unwrap(), 2);
    assert!(!store.lease_held("p:q", "u").await.unwrap());
    assert_eq!(store.load("p:q", "u").await.unwrap(), None);
    assert_eq!(store.load("p%3Aq", "u").await.unwrap(), None);
    assert!(store.load("p", "q:u").await.unwrap().is_some());
    assert!(store.load("p", "q%3Au").await.unwrap().is_some());
    assert!(store.load("p", "q").await.unwrap().is_some());
}

/// Two apps on one Redis, each under its prefix: neither sees, purges nor deletes the
/// other's records; a prefix with glob characters matches only itself when purging.
#[tokio::test]
async fn prefixes_keep_apps_apart() {
    let one = connect("app-one").await;
    let two = connect("app-two").await;
    let glob = connect("app-*").await;
    for store in [&one, &two, &glob] {
        store.delete_user("alice").await.unwrap();
    }
    assert!(one
        .swap("forge", "alice", None, &record(1, b"one", Some(5)))
        .await
        .unwrap());
    assert_eq!(two.load("forge", "alice").await.unwrap(), None);
    assert!(two
        .swap("forge", "alice", None, &record(1, b"two", Some(5)))
        .await
        .unwrap());
    assert_eq!(two.delete_user("alice").await.unwrap(), 1);
    assert_eq!(
        one.load("forge", "alice").await.unwrap(),
        Some(record(1, b"one", Some(5)))
    );
    assert!(two
        .swap("forge", "alice", None, &record(1, b"two", Some(5)))
        .await
        .unwrap());
    // `app-*:token:*` unescaped would match both.
    assert_eq!(glob.purge_expired(now_secs()).await.unwrap(), 0);
    assert_eq!(one.purge_expired(now_secs()).await.unwrap(), 1);
    assert_eq!(one.load("forge", "alice").await.unwrap(), None);
    assert_eq!(
        two.load("forge", "alice").await.unwrap(),
        Some(record(1, b"two", Some(5)))
    );
}

/// Purging walks every record in bounded `SCAN` steps, compares times exactly (beyond what
/// a double holds), and passes over keys under the prefix that are not records.
#[tokio::test]
async fn purging_scans_in_batches_and_compares_times_exactly() {
    let prefix = "purge";
    let store = connect(prefix).await;
    let mut client = redis_support::shared().client().await;
    // More records than one `SCAN` step asks for.
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..1100u32 {
        let store = store.clone();
        writes.spawn(async move {
            let user = format!("user-{i}");
            store.delete_user(&user).await.unwrap();
            let expires_at = if i % 2 == 0 { Some(100) } else { None };
            assert!(store
                .swap("forge", &user, None, &record(1, b"x", expires_at))
                .await
                .unwrap());
        });
    }
    while let Some(done) = writes.join_next().await {
        done.unwrap();
    }
    // Not records: another type, and a hash whose key has no user part.
    let () = client
        .set(format!("{prefix}:token:forge:stray"), "x")
        .await
        .unwrap();
    let () = client
        .hset(format!("{prefix}:token:forge"), "expires_at", "1")
        .await
        .unwrap();
    // 2^64 - 2 and 2^64 - 1 are the same double.
    store.delete_user("edge").await.unwrap();
    assert!(store
        .swap("edge-a", "edge", None, &record(1, b"x", Some(u64::MAX - 1)))
        .await
        .unwrap());
    assert!(store
        .swap("edge-b", "edge", None, &record(1, b"x", Some(u64::MAX)))
        .await
        .unwrap());

    assert_eq!(store.purge_expired(101).await.unwrap(), 550);
    assert_eq!(store.load("forge", "user-0").await.unwrap(), None);
    assert!(store.load("forge", "user-1").await.unwrap().is_some());
    let members: Vec<String> = client
        .smembers(store.user_index_key("user-0"))
        .await
        .unwrap();
    assert!(members.is_empty(), "{members:?}");
    assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 1);
    assert_eq!(store.load("edge-a", "edge").await.unwrap(), None);
    assert!(store.load("edge-b", "edge").await.unwrap().is_some());
    let stray: Option<String> = client
        .get(format!("{prefix}:token:forge:stray"))
        .await
        .unwrap();
    assert_eq!(stray.as_deref(), Some("x"));
}

/// Many writers on connections of their own, all replacing version 1 at once: Redis lets
/// exactly one of them win.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_is_atomic_in_redis() {
    let prefix = "cas";
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(connect(prefix).await);
    }
    stores[0].delete_user("alice").await.unwrap();
    assert!(stores[0]
        .swap("forge", "alice", None, &record(1, b"first", None))
        .await
        .unwrap());
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..64u8 {
        let store = stores[usize::from(i) % 4].clone();
        writers.spawn(async move {
            let won = store
                .swap("forge", "alice", Some(1), &record(2, &[i; 16], None))
                .await
                .unwrap();
            (i, won)
        });
    }
    let mut winners = Vec::new();
    while let Some(outcome) = writers.join_next().await {
        let (i, won) = outcome.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        stores[3].load("forge", "alice").await.unwrap(),
        Some(record(2, &[winners[0]; 16], None))
    );
}

/// The scripts are sent by hash; when Redis has lost them (a restart, `SCRIPT FLUSH`), they are
/// loaded again and the operation goes through.
#[tokio::test]
async fn scripts_flushed_from_redis_are_loaded_again() {
    let store = connect("flushed").await;
    store.delete_user("alice").await.unwrap();
    let mut client = redis_support::shared().client().await;
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut client)
        .await
        .unwrap();
    assert!(store
        .swap("forge", "alice", None, &record(1, b"x", None))
        .await
        .unwrap());
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut client)
        .await
        .unwrap();
    assert!(store
        .acquire_lease("forge", "alice", "a", Duration::from_secs(5))
        .await
        .unwrap());
    assert!(store
        .acquire_lease("forge", "alice", "a", Duration::from_secs(5))
        .await
        .unwrap());
    store.release_lease("forge", "alice", "a").await.unwrap();
    assert!(!store.lease_held("forge", "alice").await.unwrap());
    assert_eq!(
        store.load("forge", "alice").await.unwrap(),
        Some(record(1, b"x", None))
    );
}

/// With `with_record_ttl`, Redis drops a record its grace after `expires_at`; records that
/// stay usable get no expiry, nor does any record without the option.
#[tokio::test]
async fn records_can_get_a_redis_expiry() {
    let mut client = redis_support::shared().client().await;
    let plain = connect("no-ttl").await;
    plain.delete_user("alice").await.unwrap();
    let soon = now_secs() + 1;
    assert!(plain
        .swap("forge", "alice", None, &record(1, b"x", Some(soon)))
        .await
        .unwrap());
    let ttl: i64 = client
        .pttl(plain.record_key("forge", "alice"))
        .await
        .unwrap();
    assert_eq!(ttl, -1);

    let store = connect("ttl")
        .await
        .with_record_ttl(Duration::from_millis(500));
    store.delete_user("alice").await.unwrap();
    store.delete_user("bob").await.unwrap();
    assert!(store
        .swap("forge", "bob", None, &record(1, b"x", None))
        .await
        .unwrap());
    let ttl: i64 = client.pttl(store.record_key("forge", "bob")).await.unwrap();
    assert_eq!(ttl, -1);

    assert!(store
        .swap("forge", "alice", None, &record(1, b"x", Some(soon)))
        .await
        .unwrap());
    let ttl: i64 = client
        .pttl(store.record_key("forge", "alice"))
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 1500, "{ttl}");
    // A new version without an expiry keeps the record.
    assert!(store
        .swap("forge", "alice", Some(1), &record(2, b"y", None))
        .await
        .unwrap());
    let ttl: i64 = client
        .pttl(store.record_key("forge", "alice"))
        .await
        .unwrap();
    assert_eq!(ttl, -1);
    assert!(store
        .swap("forge", "alice", Some(2), &record(3, b"z", Some(soon)))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(store.load("forge", "alice").await.unwrap(), None);
    assert!(store.load("forge", "bob").await.unwrap().is_some());
}

/// The server goes away: calls fail with a store error (without the password); it comes
/// back (empty, as it keeps nothing on disk): the same store works again without a new
/// `connect`.
#[tokio::test]
async fn the_store_reconnects_after_the_server_restarts() {
    let server = RedisServer::start_own();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    assert!(store
        .swap("forge", "alice", None, &record(1, b"x", None))
        .await
        .unwrap());
    server.stop();
    let error = store.load("forge", "alice").await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("Redis: reading a record: "),
        "{message}"
    );
    assert!(!message.contains(&server.password), "{message}");
    // Away for longer than the reconnection attempts last: calls keep failing, quickly.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let error = store.lease_held("forge", "alice").await.unwrap_err();
    assert!(
        error.to_string().starts_with("Redis: reading a lease: "),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    server.restart();
    let started = Instant::now();
    loop {
        match store.load("forge", "alice").await {
            Ok(found) => {
                assert_eq!(found, None);
                break;
            }
            Err(error) => assert!(
                started.elapsed() < Duration::from_secs(20),
                "still failing: {error}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store
        .swap("forge", "alice", None, &record(1, b"y", None))
        .await
        .unwrap());
    assert_eq!(
        store.load("forge", "alice").await.unwrap(),
        Some(record(1, b"y", None))
    );
}

/// A wrong password, an unreachable server or a bad URL: a store error that says what failed
/// and never holds the password, as written or decoded.
#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let server = redis_support::shared();
    let wrong = format!("redis://:wrong%40secret-71@127.0.0.1:{}/0", server.port);
    let message = RedisStore::connect(&wrong).await.unwrap_err().to_string();
    assert!(message.starts_with("Redis: connecting: "), "{message}");
    assert!(
        !message.contains("wrong%40secret-71") && !message.contains("wrong@secret-71"),
        "{message}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("redis://:unreachable-secret-72@127.0.0.1:{closed}/0");
    let message = RedisStore::connect(&unreachable)
        .await
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("Redis: connecting: "), "{message}");
    assert!(!message.contains("unreachable-secret-72"), "{message}");

    let message = RedisStore::connect("mysql://root:bad-url-secret-73@127.0.0.1/")
        .await
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("Redis: the URL: "), "{message}");
    assert!(!message.contains("bad-url-secret-73"), "{message}");
}

/// Over the server's Unix socket, with the password in the query: the store works, and a
/// wrong password is refused without being shown.
#[tokio::test]
async fn the_store_works_over_a_unix_socket() {
    let server = redis_support::shared();
    let store = RedisStore::connect(&server.unix_url())
        .await
        .unwrap()
        .with_prefix("unix");
    check_token_backend(&store, "forge").await;

    let wrong = format!(
        "redis+unix://{}?db=0&pass=unix%2Bsecret-74",
        server.socket().display()
    );
    let message = RedisStore::connect(&wrong).await.unwrap_err().to_string();
    assert!(message.starts_with("Redis: connecting: "), "{message}");
    assert!(
        !message.contains("unix%2Bsecret-74") && !message.contains("unix+secret-74"),
        "{message}"
    );
}

/// Over TLS (`rediss://`, rustls): with the server's CA given, the store works; against the
/// system's roots, which do not hold this CA, the connection is refused.
#[tokio::test]
async fn the_store_works_over_tls() {
    let server = RedisServer::start_tls(redis_support::tls_files());
    let store = RedisStore::connect_with_ca(&server.tls_url(), server.ca_pem().as_bytes())
        .await
        .unwrap();
    check_token_backend(&store, "forge").await;

    let message = RedisStore::connect(&server.tls_url())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("Redis: connecting: "), "{message}");
    assert!(!message.contains(&server.password), "{message}");
}
