//! Three instances of the example app (`src/bin/app.rs`, separate processes) sharing one token
//! store and one session store, against one local provider that rotates refresh tokens: what
//! an app running as several workers or replicas meets.
//!
//! The token store is Redis in one test and PostgreSQL in the other; sessions are in Redis in
//! both. The servers are the ones the `tests` crate's store tests start (Debian's `redis-server`
//! and `postgresql`, installed with apt-get when missing and running as root), with the same
//! harnesses.

#[path = "../../tests/tests/postgres_support/mod.rs"]
#[allow(dead_code)]
mod postgres_support;
#[path = "../../tests/tests/redis_support/mod.rs"]
#[allow(dead_code)]
mod redis_support;

use examples::providers::{self, Local, Providers};
use oauth_clients::store::TokenBackend;
use oauth_clients::Registry;
use oauth_clients_testing::TestProvider;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// How long an instance may hold a refresh lease: what a killed holder costs the others.
const LEASE: Duration = Duration::from_secs(3);
/// The provider's access tokens live this long, so they expire during the test.
const TOKEN_LIFETIME: Duration = Duration::from_secs(2);

/// One instance of the app, killed when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts the app binary on a free port, configured by its environment, and waits until it
/// answers.
async fn start_instance(provider: &TestProvider, token_store: &str, sessions: &str) -> Instance {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_app"))
        .env("PORT", port.to_string())
        .env("LOCAL_PROVIDER_PORT", "0")
        .env("LOCAL_PROVIDER_URL", provider.base_url().as_str())
        .env("TOKEN_STORE_URL", token_store)
        .env("SESSION_STORE_URL", sessions)
        .env("OAUTH_CLIENTS_TOKEN_KEYS", KEYS)
        .env("REFRESH_LEASE_SECS", LEASE.as_secs().to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the example app starts");
    let mut instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = instance.child.try_wait() {
            panic!("the app instance exited: {status}");
        }
        if reqwest::get(format!("{}/", instance.base)).await.is_ok() {
            return instance;
        }
        assert!(
            Instant::now() < deadline,
            "the app instance did not answer in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A browser's session cookie, kept by hand: the instances share it, as one site.
struct Visitor {
    http: reqwest::Client,
    cookie: String,
}

impl Visitor {
    fn new() -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: String::new(),
        }
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            self.cookie = pair;
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .http
            .get(url)
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }
}

/// `POST /api` at `base` with the visitor's session: the status the provider's API answered.
async fn call_api(http: reqwest::Client, cookie: String, base: String) -> Result<u16, String> {
    let response = http
        .post(format!("{base}/api"))
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let page = response.text().await.map_err(|e| e.to_string())?;
    let Some(at) = page.find(r#"<span id="api-status">"#) else {
        return Err(format!("{status}: {page}"));
    };
    let rest = &page[at + r#"<span id="api-status">"#.len()..];
    rest[..3].parse().map_err(|_| page.clone())
}

/// The same store and provider as the instances, read from the test.
fn inspector(provider: &TestProvider, store: Arc<dyn TokenBackend>) -> Registry<Providers> {
    providers::registry(provider)
        .token_store(store)
        .token_keys(KEYS)
        .build()
        .unwrap()
}

/// Every task's output, in order.
async fn futures_all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

/// Makes alice's stored token expire now, as time would.
async fn expire(inspect: &Registry<Providers>) {
    let local = inspect.client::<Local>();
    let mut token = local.load_token("alice").await.unwrap().unwrap();
    token.expires_at = Some(1);
    local.save_token("alice", &token).await.unwrap();
}

async fn cluster(token_store: &str) {
    let redis = redis_support::shared();
    let provider = TestProvider::builder()
        .behaviour(|b| b.access_token_ttl = Some(TOKEN_LIFETIME))
        .start()
        .await
        .unwrap();
    let instances = [
        start_instance(&provider, token_store, &redis.url()).await,
        start_instance(&provider, token_store, &redis.url()).await,
        start_instance(&provider, token_store, &redis.url()).await,
    ];
    let store = oauth_clients::store::connect(token_store).await.unwrap();
    let inspect = inspector(&provider, store.clone());

    // A login started on instance 1 finishes on instance 3: the pending login is in the
    // shared session.
    let mut visitor = Visitor::new();
    let login = visitor
        .get(&format!("{}/login/local", instances[0].base))
        .await;
    assert!(login.status().is_redirection(), "{login:?}");
    let authorize = Url::parse(login.headers()["location"].to_str().unwrap()).unwrap();
    let back = provider.approve(&authorize, "alice").await.unwrap();
    assert!(back
        .as_str()
        .starts_with(&format!("{}/auth/local?", instances[0].base)));
    let on_third = back
        .as_str()
        .replace(&instances[0].base, &instances[2].base);
    let done = visitor.get(&on_third).await;
    assert!(
        done.status().is_redirection(),
        "{}",
        done.text().await.unwrap()
    );
    let profile = visitor.get(&format!("{}/profile", instances[1].base)).await;
    assert_eq!(profile.status(), 200);
    assert!(profile.text().await.unwrap().contains("alice"));
    let first = inspect
        .client::<Local>()
        .load_token("alice")
        .await
        .unwrap()
        .unwrap();

    // 300 calls at once, spread over the three instances, with an expired token: one refresh
    // at the provider, every call answered 200. (The new token lives long enough for the
    // burst, so it is not refreshed again during it.)
    provider.configure(|b| b.access_token_ttl = Some(Duration::from_secs(300)));
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_millis(200)).await;
    let calls: Vec<_> = (0..300)
        .map(|i| {
            tokio::spawn(call_api(
                visitor.http.clone(),
                visitor.cookie.clone(),
                instances[i % 3].base.clone(),
            ))
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), Ok(200));
    }
    assert_eq!(provider.count("token.refresh_token"), 1);
    // The stored token is the newest, and works.
    let stored = inspect
        .client::<Local>()
        .load_token("alice")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.refresh_token, first.refresh_token);
    let answer = inspect
        .client::<Local>()
        .get("user", &stored)
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // While the provider stalls the refresh, the lease is in the shared store.
    provider.configure(|b| b.token_delay = Some(Duration::from_secs(2)));
    expire(&inspect).await;
    let stalled = tokio::spawn(call_api(
        visitor.http.clone(),
        visitor.cookie.clone(),
        instances[1].base.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(2);
    while !store.lease_held("local", "alice").await.unwrap() {
        assert!(Instant::now() < deadline, "no lease appeared in the store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stalled.await.unwrap(), Ok(200));
    assert!(!store.lease_held("local", "alice").await.unwrap());
    assert_eq!(provider.count("token.refresh_token"), 2);
    provider.configure(|b| b.token_delay = None);

    // A process that took the lease and died before the provider answered: a fourth instance,
    // killed (SIGKILL) while its refresh request waits at the stalled provider. Its lease stays
    // in the store; the others wait for it to expire, then go on from what the provider did.
    let mut killed = start_instance(&provider, token_store, &redis.url()).await;
    provider.configure(|b| b.token_delay = Some(Duration::from_secs(1)));
    expire(&inspect).await;
    let before = provider.count("token.refresh_token");
    let _lost = tokio::spawn(call_api(
        visitor.http.clone(),
        visitor.cookie.clone(),
        killed.base.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.lease_held("local", "alice").await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the fourth instance took no lease"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leased = Instant::now();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    // Long enough for the stalled request to be answered into the closed connection, or
    // dropped with it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    provider.configure(|b| b.token_delay = None);
    assert!(
        store.lease_held("local", "alice").await.unwrap(),
        "the dead holder's lease is gone early"
    );
    // The local provider drops a request whose connection closed: for it, the killed process
    // never asked (the case of a process that dies after the provider rotated the token is
    // `a_refused_refresh_token_is_reported_once_and_not_retried` in runtime/tests/store.rs).
    assert_eq!(provider.count("token.refresh_token"), before);
    let calls: Vec<_> = (0..30)
        .map(|i| {
            tokio::spawn(call_api(
                visitor.http.clone(),
                visitor.cookie.clone(),
                instances[i % 3].base.clone(),
            ))
        })
        .collect();
    let outcomes: Vec<_> = futures_all(calls).await;
    let waited = leased.elapsed();
    assert!(waited >= LEASE - Duration::from_millis(200), "{waited:?}");
    assert!(waited < LEASE * 3, "{waited:?}");
    // One survivor refreshed once, after the lease; every call answered.
    assert_eq!(provider.count("token.refresh_token"), before + 1);
    assert!(outcomes.iter().all(|o| o == &Ok(200)), "{outcomes:?}");

    // A corrupted record: reported as such by every instance, never used or replaced.
    let record = store.load("local", "alice").await.unwrap().unwrap();
    let mut corrupted = record.clone();
    corrupted.sealed[10] ^= 0x40;
    assert!(store
        .swap("local", "alice", Some(record.version), &corrupted)
        .await
        .unwrap());
    for instance in &instances {
        let answer = visitor
            .http
            .post(format!("{}/api", instance.base))
            .header("cookie", &visitor.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500);
        assert!(answer
            .text()
            .await
            .unwrap()
            .contains("failed authentication"));
    }
    assert_eq!(
        store.load("local", "alice").await.unwrap().unwrap(),
        corrupted
    );
    assert_eq!(provider.count("token.refresh_token"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_tokens_in_redis() {
    let redis = redis_support::shared();
    // Keys of this test's own, apart from the other test's.
    let url = redis.url().replace("/0", "/1");
    cluster(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_tokens_in_postgres() {
    use sqlx::Connection;
    let server = postgres_support::server();
    let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
        .await
        .unwrap();
    for statement in ["DROP DATABASE IF EXISTS cluster", "CREATE DATABASE cluster"] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
    cluster(&server.url("cluster")).await;
}
