//! Faults and load: providers that are down, stall, fail, or come under many concurrent users.
//! Every test runs with a capturing log subscriber; the last checks that nothing logged during
//! the run carries a secret, a code or a token.

use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, HttpErrorKind, MemorySession, Registry, Settings,
    Token,
};
use oauth_clients_testing::{TestProvider, CLIENT_SECRET};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

oauth_clients! {
    idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email",
    },
    // A generic OAuth 2.0 provider (not a preset, so a login makes no profile calls).
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

/// Everything logged by the library during this test binary, and every secret it handled.
struct Captured {
    log: Mutex<Vec<u8>>,
    secrets: Mutex<HashSet<String>>,
}

fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<&'static Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured: &'static Captured = Box::leak(Box::new(Captured {
            log: Mutex::new(Vec::new()),
            secrets: Mutex::new(HashSet::from([CLIENT_SECRET.to_string()])),
        }));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(captured))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        captured
    })
}

struct Writer(&'static Captured);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.log.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Remembers the secrets of a token and a callback, to look for them in the log.
fn remember(token: Option<&Token>, callback: Option<&Callback>) {
    let mut secrets = captured().secrets.lock().unwrap();
    if let Some(token) = token {
        secrets.insert(token.access_token.clone());
        secrets.extend(token.refresh_token.clone());
        secrets.extend(token.id_token.clone());
    }
    if let Some(callback) = callback {
        secrets.extend(callback.code.clone());
        secrets.extend(callback.state.clone());
    }
}

struct Setup {
    provider: TestProvider,
    registry: Registry<Providers>,
}

async fn setup(change: impl FnOnce(Settings) -> Settings) -> Setup {
    captured();
    let provider = TestProvider::builder().start().await.unwrap();
    let settings = provider.add_settings(provider.oidc_settings_for("idp"), "forge");
    let registry = Providers::builder()
        .settings(change(settings))
        .env_source(|_| None)
        .build()
        .unwrap();
    Setup { provider, registry }
}

/// Starts a login at `P` through `registry` and lets `user` approve it (the shared fixture):
/// the callback, whose code and state are remembered.
async fn callback<P: oauth_clients::Provider<Set = Providers>>(
    s: &Setup,
    registry: &Registry<Providers>,
    session: &MemorySession,
    user: &str,
) -> Callback {
    let client = registry.client::<P>();
    let back = s
        .provider
        .approved_callback(&client, session, REDIRECT_URI, user)
        .await
        .unwrap();
    let callback = Callback::from_url(&back);
    remember(None, Some(&callback));
    callback
}

/// A whole login, remembering its code, state and tokens: [`callback`], then the library
/// redeems it.
async fn login<P: oauth_clients::Provider<Set = Providers>>(
    s: &Setup,
    registry: &Registry<Providers>,
    user: &str,
) -> Result<Token, Error> {
    let session = MemorySession::new();
    let callback = callback::<P>(s, registry, &session, user).await;
    let outcome = registry
        .client::<P>()
        .authorize_access_token(&session, &callback)
        .await;
    remember(outcome.as_ref().ok(), None);
    outcome
}

#[tokio::test]
async fn a_provider_that_is_down_is_a_connect_error() {
    // Port 9 (discard) on loopback: nothing listens there.
    let s = setup(|s| s.set("forge", "access_token_url", "http://127.0.0.1:9/token")).await;
    let session = MemorySession::new();
    let callback = callback::<Forge>(&s, &s.registry, &session, "alice").await;
    let outcome = s
        .registry
        .client::<Forge>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Token,
                kind: HttpErrorKind::Connect(_),
                ..
            })
        ),
        "{outcome:?}"
    );

    let down = setup(|s| {
        s.set(
            "idp",
            "server_metadata_url",
            "http://127.0.0.1:9/.well-known/openid-configuration",
        )
    })
    .await;
    let outcome = down
        .registry
        .client::<Idp>()
        .authorize_url(REDIRECT_URI)
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Discovery,
                kind: HttpErrorKind::Connect(_),
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_stalled_provider_times_out_within_twice_the_declared_timeout() {
    let s = setup(|s| s.set("forge", "timeout", 1)).await;
    let session = MemorySession::new();
    let callback = callback::<Forge>(&s, &s.registry, &session, "alice").await;
    s.provider
        .configure(|b| b.token_delay = Some(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let outcome = s
        .registry
        .client::<Forge>()
        .authorize_access_token(&session, &callback)
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(Error::Http { kind: HttpErrorKind::Timeout(t), .. }) if t == Duration::from_secs(1)),
        "{outcome:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn server_errors_from_token_jwks_and_discovery_are_typed() {
    let s = setup(|s| s).await;
    s.provider
        .configure(|b| b.token_override = Some((503, "text/plain".into(), "try later".into())));
    let outcome = login::<Forge>(&s, &s.registry, "alice").await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Token,
                kind: HttpErrorKind::Status { status: 503 },
                ..
            })
        ),
        "{outcome:?}"
    );

    let s = setup(|s| s).await;
    s.provider.configure(|b| b.jwks_status = Some(500));
    let outcome = login::<Idp>(&s, &s.registry, "alice").await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Jwks,
                kind: HttpErrorKind::Status { status: 500 },
                ..
            })
        ),
        "{outcome:?}"
    );

    let s = setup(|s| s).await;
    s.provider.configure(|b| b.discovery_status = Some(502));
    let outcome = s.registry.client::<Idp>().authorize_url(REDIRECT_URI).await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Discovery,
                kind: HttpErrorKind::Status { status: 502 },
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn cached_metadata_outlives_a_provider_outage() {
    let s = setup(|s| s).await;
    let offset = Arc::new(AtomicU64::new(0));
    let clock = offset.clone();
    let registry = Providers::builder()
        .settings(s.provider.oidc_settings_for("idp"))
        .env_source(|_| None)
        .allow_unconfigured()
        .clock(move || SystemTime::now() + Duration::from_secs(clock.load(Ordering::SeqCst)))
        .build()
        .unwrap();
    // The clock moves hours ahead: ID tokens must outlive that.
    s.provider
        .configure(|b| b.id_token_ttl = Duration::from_secs(86_400));
    let wait_for = |name: &'static str, n: usize| {
        let provider = &s.provider;
        async move {
            for _ in 0..200 {
                if provider.count(name) >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{name} never reached {n} requests");
        }
    };
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    assert_eq!(s.provider.count("discovery"), 1);

    // The keys endpoint down while the cached keys are valid: logins continue.
    s.provider.configure(|b| b.jwks_status = Some(503));
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    s.provider.configure(|b| b.jwks_status = None);

    // Past the document's max-age (3600 s): served stale and refreshed in the background.
    offset.store(7_200, Ordering::SeqCst);
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    wait_for("discovery", 2).await;

    // The refresh fails: logins go on with the document held, and the provider is not asked
    // again on every login.
    s.provider.configure(|b| b.discovery_status = Some(500));
    offset.store(14_400, Ordering::SeqCst);
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    wait_for("discovery", 3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    login::<Idp>(&s, &registry, "alice").await.unwrap();
    assert_eq!(s.provider.count("discovery"), 3);
}

#[tokio::test]
async fn a_thousand_concurrent_calls_with_one_expired_rotating_token_refresh_once() {
    let s = setup(|s| s).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counter = hooks.clone();
    let registry = Providers::builder()
        .settings(s.provider.settings_for("forge"))
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |update| {
            counter.fetch_add(1, Ordering::SeqCst);
            remember(Some(&update.token), None);
            async { Ok(()) }
        })
        .build()
        .unwrap();
    let mut token = login::<Forge>(&s, &registry, "alice").await.unwrap();
    token.expires_at = Some(1);
    let token = Arc::new(token);
    let forge = registry.client::<Forge>();
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let forge = forge.clone();
            let token = token.clone();
            tokio::spawn(async move { forge.get("user", &token).await })
        })
        .collect();
    let mut new_tokens = HashSet::new();
    for call in calls {
        let response = call.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        new_tokens.insert(response.new_token().unwrap().access_token.clone());
    }
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    assert_eq!(hooks.load(Ordering::SeqCst), 1);
    assert_eq!(new_tokens.len(), 1, "every caller got the same new token");
    assert_eq!(s.provider.count("api"), 1000);
    // Shortly afterwards, a caller still holding the spent token gets the new one too.
    let late = forge.get("user", &token).await.unwrap();
    assert!(new_tokens.contains(&late.new_token().unwrap().access_token));
    assert_eq!(s.provider.count("token.refresh_token"), 1);
}

#[tokio::test]
async fn a_thousand_concurrent_logins_in_separate_sessions() {
    let s = Arc::new(setup(|s| s).await);
    let logins: Vec<_> = (0..1000)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let user = format!("user{i}");
                let token = login::<Idp>(&s, &s.registry, &user).await.unwrap();
                (user, token)
            })
        })
        .collect();
    for login in logins {
        let (user, token) = login.await.unwrap();
        // No state, code or token crossed sessions: each session got its own user.
        let info = token.userinfo.unwrap();
        assert_eq!(info.sub(), user);
        assert_eq!(info.email(), Some(format!("{user}@example.test").as_str()));
    }
    assert_eq!(s.provider.count("token.authorization_code"), 1000);
    assert_eq!(s.provider.count("discovery"), 1);
    assert_eq!(s.provider.count("jwks"), 1);
}

#[tokio::test]
async fn zz_the_log_never_shows_a_secret_code_or_token() {
    // Named to sort last; it also produces its own traffic, so it does not depend on order.
    let s = setup(|s| s).await;
    let token = login::<Idp>(&s, &s.registry, "zed").await.unwrap();
    s.provider
        .configure(|b| b.token_delay = Some(Duration::from_secs(5)));
    let quick = Providers::builder()
        .settings(s.provider.oidc_settings_for("idp").set("idp", "timeout", 1))
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    let _ = quick.client::<Idp>().refresh(&token).await;
    let log = String::from_utf8(captured().log.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("login completed") && log.contains("provider answered"),
        "nothing was logged:\n{log}"
    );
    assert!(log.contains("request to provider failed"), "{log}");
    for secret in captured().secrets.lock().unwrap().iter() {
        assert!(
            !log.contains(secret.as_str()),
            "a secret was logged:\n{log}"
        );
    }
}
