//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) against the local provider:
//! logout tokens signed with its keys, good and hostile; the session index; the token store
//! shared by two registries (two processes); the axum and actix handlers.

use oauth_clients::store::{Record, StoreFuture};
use oauth_clients::{
    oauth_clients, BackchannelLogout, Error, LogoutTokenError, MemorySession, MemoryStore,
    Registry, Token, TokenBackend, BACKCHANNEL_LOGOUT_EVENT,
};
use oauth_clients_testing::{IdTokenHook, IdTokenParts, Signing, TestProvider, CLIENT_ID};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

oauth_clients! {
    idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
const DAY: Duration = Duration::from_secs(86_400);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A provider whose ID tokens carry a `sid`: `sid-1`, `sid-2`, ... one per login.
async fn provider() -> TestProvider {
    let logins = Arc::new(AtomicUsize::new(0));
    TestProvider::builder()
        .behaviour(|b| {
            b.id_token_hook = Some(IdTokenHook::new(move |parts| {
                let n = logins.fetch_add(1, Ordering::SeqCst) + 1;
                parts.claims.insert("sid".into(), json!(format!("sid-{n}")));
            }))
        })
        .start()
        .await
        .unwrap()
}

fn registry(provider: &TestProvider) -> Registry<Providers> {
    Providers::builder()
        .settings(provider.oidc_settings_for("idp"))
        .env_source(|_| None)
        .build()
        .unwrap()
}

async fn log_in(provider: &TestProvider, registry: &Registry<Providers>, user: &str) -> Token {
    provider
        .log_in(
            &registry.client::<Idp>(),
            &MemorySession::new(),
            REDIRECT_URI,
            user,
        )
        .await
        .unwrap()
}

fn sid(token: &Token) -> String {
    token
        .userinfo
        .as_ref()
        .unwrap()
        .get("sid")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

static JTI: AtomicUsize = AtomicUsize::new(0);

/// A valid logout token for `sub` and `sid` (either may be left out), signed with the
/// provider's active key, after `change`.
fn logout_token(
    provider: &TestProvider,
    sub: Option<&str>,
    sid: Option<&str>,
    change: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>, &mut Signing),
) -> String {
    let now = now();
    let mut header = Map::new();
    header.insert("alg".into(), json!("RS256"));
    header.insert("typ".into(), json!("logout+jwt"));
    header.insert("kid".into(), json!(provider.active_key_id()));
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(provider.issuer()));
    claims.insert("aud".into(), json!(CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 120));
    let jti = JTI.fetch_add(1, Ordering::SeqCst);
    claims.insert("jti".into(), json!(format!("jti-{jti}")));
    claims.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    if let Some(sub) = sub {
        claims.insert("sub".into(), json!(sub));
    }
    if let Some(sid) = sid {
        claims.insert("sid".into(), json!(sid));
    }
    let mut signing = Signing::ActiveKey;
    change(&mut header, &mut claims, &mut signing);
    provider.sign_jwt(IdTokenParts {
        header,
        claims,
        signing,
    })
}

fn refusal(outcome: Result<BackchannelLogout, Error>) -> LogoutTokenError {
    match outcome {
        Err(Error::LogoutToken { provider, reason }) => {
            assert_eq!(provider, "idp");
            reason
        }
        other => panic!("expected a refused logout token, got {other:?}"),
    }
}

#[tokio::test]
async fn a_logout_ends_the_sessions_of_its_sid_or_of_its_sub() {
    let provider = provider().await;
    let registry = registry(&provider);
    let idp = registry.client::<Idp>();
    let alice_1 = log_in(&provider, &registry, "alice").await;
    let alice_2 = log_in(&provider, &registry, "alice").await;
    let bob = log_in(&provider, &registry, "bob").await;
    idp.remember_session(&alice_1, "app-session-a1", DAY)
        .await
        .unwrap();
    idp.remember_session(&alice_2, "app-session-a2", DAY)
        .await
        .unwrap();
    idp.remember_session(&bob, "app-session-b", DAY)
        .await
        .unwrap();

    // `sub` and `sid`: only that provider session's.
    let token = logout_token(&provider, Some("alice"), Some(&sid(&alice_1)), |_, _, _| {});
    let event = idp.backchannel_logout(&token).await.unwrap();
    assert_eq!(event.provider, "idp");
    assert_eq!(event.iss, provider.issuer());
    assert_eq!(event.sub.as_deref(), Some("alice"));
    assert_eq!(event.sid, Some(sid(&alice_1)));
    assert_eq!(event.sessions, ["app-session-a1"]);
    // Its Debug output counts the sessions without showing them.
    assert!(!format!("{event:?}").contains("app-session"));

    // Only `sub`: every remaining session of that user, and the index forgets them.
    let token = logout_token(&provider, Some("alice"), None, |_, _, _| {});
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["app-session-a2"]
    );
    let token = logout_token(&provider, Some("alice"), None, |_, _, _| {});
    assert!(idp
        .backchannel_logout(&token)
        .await
        .unwrap()
        .sessions
        .is_empty());

    // A forgotten session is not reported; bob's, by `sid` only, is.
    let token = logout_token(&provider, None, Some(&sid(&bob)), |_, _, _| {});
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["app-session-b"]
    );
    let carol = log_in(&provider, &registry, "carol").await;
    idp.remember_session(&carol, "app-session-c", DAY)
        .await
        .unwrap();
    idp.forget_session(&carol, "app-session-c").await.unwrap();
    let token = logout_token(&provider, Some("carol"), None, |_, _, _| {});
    assert!(idp
        .backchannel_logout(&token)
        .await
        .unwrap()
        .sessions
        .is_empty());
}

#[tokio::test]
async fn a_login_without_sid_ends_with_any_session_of_its_user() {
    // A provider whose ID tokens have no `sid`.
    let provider = TestProvider::builder().start().await.unwrap();
    let registry = registry(&provider);
    let idp = registry.client::<Idp>();
    let alice = log_in(&provider, &registry, "alice").await;
    assert!(alice.userinfo.as_ref().unwrap().get("sid").is_none());
    idp.remember_session(&alice, "no-sid", DAY).await.unwrap();
    let bob = log_in(&provider, &registry, "bob").await;
    idp.remember_session(&bob, "bob-no-sid", DAY).await.unwrap();
    // A logout naming one of alice's provider sessions: no `sid` names hers, so it ends.
    let token = logout_token(&provider, Some("alice"), Some("op-sid-9"), |_, _, _| {});
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["no-sid"]
    );
    // With a `sid` and no `sub`, nothing says whose it was: bob's session stays.
    let token = logout_token(&provider, None, Some("op-sid-10"), |_, _, _| {});
    assert!(idp
        .backchannel_logout(&token)
        .await
        .unwrap()
        .sessions
        .is_empty());
    let token = logout_token(&provider, Some("bob"), None, |_, _, _| {});
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["bob-no-sid"]
    );
}

#[tokio::test]
async fn remembered_sessions_expire() {
    let provider = provider().await;
    let clock = Arc::new(Mutex::new(SystemTime::now()));
    let at = clock.clone();
    let registry = Providers::builder()
        .settings(provider.oidc_settings_for("idp"))
        .env_source(|_| None)
        .clock(move || *at.lock().unwrap())
        .build()
        .unwrap();
    let idp = registry.client::<Idp>();
    let alice = log_in(&provider, &registry, "alice").await;
    idp.remember_session(&alice, "short", Duration::from_secs(60))
        .await
        .unwrap();
    idp.remember_session(&alice, "long", DAY).await.unwrap();
    *clock.lock().unwrap() += Duration::from_secs(120);
    let token = logout_token(&provider, Some("alice"), None, |_, c, _| {
        // Valid at the registry's clock.
        let later = now() + 120;
        c.insert("iat".into(), json!(later));
        c.insert("exp".into(), json!(later + 120));
    });
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["long"]
    );
}

#[tokio::test]
async fn at_most_64_sessions_are_kept_per_user_the_longest_lived_ones() {
    let provider = provider().await;
    let registry = registry(&provider);
    let idp = registry.client::<Idp>();
    let alice = log_in(&provider, &registry, "alice").await;
    // Session i lives i + 1 days; the first one recorded lives longest.
    for i in (0..70u64).rev() {
        idp.remember_session(&alice, &format!("s{i}"), DAY * (i as u32 + 1))
            .await
            .unwrap();
    }
    let token = logout_token(&provider, Some("alice"), None, |_, _, _| {});
    let mut ended = idp.backchannel_logout(&token).await.unwrap().sessions;
    ended.sort_by_key(|key| key[1..].parse::<u32>().unwrap());
    let kept: Vec<String> = (6..70).map(|i| format!("s{i}")).collect();
    assert_eq!(ended, kept);
}

#[tokio::test]
async fn a_session_needs_a_validated_id_token_and_a_sane_key() {
    let provider = provider().await;
    let registry = registry(&provider);
    let idp = registry.client::<Idp>();
    let mut token = log_in(&provider, &registry, "alice").await;
    for key in ["", &"k".repeat(513)] {
        assert!(matches!(
            idp.remember_session(&token, key, DAY).await,
            Err(Error::InvalidRequest {
                provider: "idp",
                ..
            })
        ));
    }
    token.userinfo = None;
    assert!(matches!(
        idp.remember_session(&token, "s", DAY).await,
        Err(Error::IdToken {
            provider: "idp",
            reason: oauth_clients::IdTokenError::Missing
        })
    ));
}

#[tokio::test]
async fn hostile_logout_tokens_are_refused_with_typed_errors() {
    use LogoutTokenError as E;
    let provider = provider().await;
    let registry = registry(&provider);
    let idp = registry.client::<Idp>();
    let alice = log_in(&provider, &registry, "alice").await;
    idp.remember_session(&alice, "app-session", DAY)
        .await
        .unwrap();
    let sid = sid(&alice);
    type Change = fn(&mut Map<String, Value>, &mut Map<String, Value>, &mut Signing);
    let now = now() as i64;
    let expired = move |c: &mut Map<String, Value>| {
        c.insert("iat".into(), json!(now - 600));
        c.insert("exp".into(), json!(now - 300));
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Change, E)> = vec![
        ("a nonce", |_, c, _| { c.insert("nonce".into(), json!("n-1")); }, E::HasNonce),
        ("no events", |_, c, _| { c.remove("events"); }, E::MissingEvent),
        ("another event", |_, c, _| { c.insert("events".into(), json!({"http://schemas.openid.net/event/other": {}})); }, E::MissingEvent),
        ("the event not an object", |_, c, _| { c.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: true })); }, E::MalformedEvent("the back-channel logout event is not a JSON object".into())),
        ("events a list", |_, c, _| { c.insert("events".into(), json!([BACKCHANNEL_LOGOUT_EVENT])); }, E::MalformedEvent("`events` is not a JSON object".into())),
        ("neither sub nor sid", |_, c, _| { c.remove("sub"); c.remove("sid"); }, E::MissingSubject),
        ("no jti", |_, c, _| { c.remove("jti"); }, E::MissingClaim("jti")),
        ("no iat", |_, c, _| { c.remove("iat"); }, E::MissingClaim("iat")),
        ("no exp", |_, c, _| { c.remove("exp"); }, E::MissingClaim("exp")),
        ("wrong audience", |_, c, _| { c.insert("aud".into(), json!("another-client")); }, E::WrongAudience),
        ("wrong issuer", |_, c, _| { c.insert("iss".into(), json!("https://evil.example")); }, E::WrongIssuer { expected: String::new(), found: "https://evil.example".into() }),
        ("bad signature", |_, _, s| *s = Signing::Corrupt, E::BadSignature),
        ("signed by another of its keys", |_, _, s| *s = Signing::Key(1), E::BadSignature),
        ("unsigned", |h, _, s| { h.insert("alg".into(), json!("none")); *s = Signing::Unsigned; }, E::Unsigned("none".into())),
        ("HMAC with the client secret, not allowed by the metadata", |h, _, s| { h.insert("alg".into(), json!("HS256")); *s = Signing::Hmac(oauth_clients_testing::CLIENT_SECRET.as_bytes().to_vec()); }, E::DisallowedAlg("HS256".into())),
        ("typ of an access token", |h, _, _| { h.insert("typ".into(), json!("at+jwt")); }, E::UnexpectedType("typ: \"at+jwt\"".into())),
    ];
    for (name, change, expected) in cases {
        let token = logout_token(&provider, Some("alice"), Some(&sid), change);
        let found = refusal(idp.backchannel_logout(&token).await);
        match (&found, &expected) {
            (E::WrongIssuer { found, .. }, E::WrongIssuer { found: evil, .. }) => {
                assert_eq!(found, evil, "{name}")
            }
            _ => assert_eq!(found, expected, "{name}"),
        }
    }
    let token = logout_token(&provider, Some("alice"), Some(&sid), |_, c, _| expired(c));
    assert_eq!(refusal(idp.backchannel_logout(&token).await), E::Expired);

    // None of them ended the session; a valid token (typ `logout+jwt`) does, once.
    let token = logout_token(&provider, Some("alice"), Some(&sid), |_, _, _| {});
    assert_eq!(
        idp.backchannel_logout(&token).await.unwrap().sessions,
        ["app-session"]
    );
    assert_eq!(
        refusal(idp.backchannel_logout(&token).await),
        E::Replayed,
        "the same jti again"
    );
    // A plain `JWT` typ is accepted too (providers that do not type their logout tokens).
    let token = logout_token(&provider, Some("alice"), None, |h, _, _| {
        h.insert("typ".into(), json!("JWT"));
    });
    assert!(idp.backchannel_logout(&token).await.is_ok());
    // And an ID token of the provider's is never a logout token.
    let id_token = alice.id_token.clone().unwrap();
    assert!(matches!(
        refusal(idp.backchannel_logout(&id_token).await),
        E::MissingEvent | E::HasNonce
    ));
}

/// A token store shared between processes: a memory store that says it is not
/// process-local, so that registries need configured keys and share what they keep in it.
/// It also keeps a copy of everything written, as a database dump would show it.
#[derive(Clone)]
/// Its switch makes every read and write fail (a store that is down).
struct Shared(
    Arc<MemoryStore>,
    Arc<Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicBool>,
);

impl Shared {
    fn down(&self) -> bool {
        self.2.load(Ordering::SeqCst)
    }
}

fn unavailable<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(async { Err(oauth_clients::store::StoreError::new("the store is down")) })
}

impl TokenBackend for Shared {
    fn load<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, Option<Record>> {
        if self.down() {
            return unavailable();
        }
        self.0.load(provider, user)
    }
    fn swap<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        expected: Option<u64>,
        record: &'a Record,
    ) -> StoreFuture<'a, bool> {
        if self.down() {
            return unavailable();
        }
        self.1.lock().unwrap().push(format!(
            "{provider} {user} {}",
            String::from_utf8_lossy(&record.sealed)
        ));
        self.0.swap(provider, user, expected, record)
    }
    fn delete<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, ()> {
        self.0.delete(provider, user)
    }
    fn delete_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        self.0.delete_user(user)
    }
    fn purge_expired(&self, now: u64) -> StoreFuture<'_, u64> {
        self.0.purge_expired(now)
    }
    fn acquire_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        self.0.acquire_lease(provider, user, holder, ttl)
    }
    fn release_lease<'a>(
        &'a self,
        provider: &'a str,
        user: &'a str,
        holder: &'a str,
    ) -> StoreFuture<'a, ()> {
        self.0.release_lease(provider, user, holder)
    }
    fn lease_held<'a>(&'a self, provider: &'a str, user: &'a str) -> StoreFuture<'a, bool> {
        self.0.lease_held(provider, user)
    }
}

#[tokio::test]
async fn a_shared_store_shares_the_index_and_refuses_a_replay_in_another_process() {
    let provider = provider().await;
    let store = Shared(Arc::new(MemoryStore::new()), Arc::default(), Arc::default());
    let process = || {
        Providers::builder()
            .settings(provider.oidc_settings_for("idp"))
            .env_source(|_| None)
            .token_store(store.clone())
            .token_keys("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
            .build()
            .unwrap()
    };
    let (first, second) = (process(), process());
    let alice = log_in(&provider, &first, "alice").await;
    first
        .client::<Idp>()
        .remember_session(&alice, "app-session", DAY)
        .await
        .unwrap();
    let token = logout_token(&provider, Some("alice"), Some(&sid(&alice)), |_, _, _| {});
    // The other process finds the session the first one recorded...
    assert_eq!(
        second
            .client::<Idp>()
            .backchannel_logout(&token)
            .await
            .unwrap()
            .sessions,
        ["app-session"]
    );
    // ...and the first one refuses the token the second one accepted.
    assert_eq!(
        refusal(first.client::<Idp>().backchannel_logout(&token).await),
        LogoutTokenError::Replayed
    );
    // A token that arrives while the store is down is refused without being remembered:
    // the provider's retry passes.
    let retried = logout_token(&provider, Some("bob"), None, |_, _, _| {});
    store.2.store(true, Ordering::SeqCst);
    assert!(matches!(
        first.client::<Idp>().backchannel_logout(&retried).await,
        Err(Error::TokenStore {
            provider: "idp",
            ..
        })
    ));
    store.2.store(false, Ordering::SeqCst);
    assert!(first
        .client::<Idp>()
        .backchannel_logout(&retried)
        .await
        .is_ok());
    // The index and the replay records were written to the store, and nothing there shows
    // a session key, a `sub`, a `sid` or a `jti` in clear.
    let written = store.1.lock().unwrap().clone();
    assert!(written.iter().any(|w| w.starts_with("idp#logout-sid ")));
    assert!(written.iter().any(|w| w.starts_with("idp#logout-sub ")));
    assert!(written.iter().any(|w| w.starts_with("idp#logout-jti ")));
    let jti = unchecked_claims(&token)["jti"]
        .as_str()
        .unwrap()
        .to_string();
    for secret in ["alice", "app-session", &sid(&alice), &jti] {
        assert!(!written.iter().any(|w| w.contains(secret)), "{secret}");
    }
}

/// The claims of a JWT, unchecked.
fn unchecked_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

mod axum_app {
    use super::*;
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::Router;
    use oauth_clients::integrations::axum::{backchannel_logout_ending_sessions, remember_session};
    use oauth_clients::{Callback, Redirect};
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    #[derive(Clone)]
    struct App {
        registry: Registry<Providers>,
        callback: String,
    }

    async fn login(
        State(app): State<App>,
        session: Session,
    ) -> Result<Redirect, oauth_clients::Error> {
        app.registry
            .client::<Idp>()
            .authorize_redirect(&session, &app.callback)
            .await
    }

    async fn callback(
        State(app): State<App>,
        session: Session,
        Query(callback): Query<Callback>,
    ) -> Result<String, oauth_clients::Error> {
        let idp = app.registry.client::<Idp>();
        let token = idp.authorize_access_token(&session, &callback).await?;
        let sub = token.userinfo.as_ref().unwrap().sub().to_string();
        session.insert("user", &sub).await.unwrap();
        remember_session(&idp, &token, &session, DAY).await?;
        Ok(sub)
    }

    async fn me(session: Session) -> Result<String, StatusCode> {
        session
            .get::<String>("user")
            .await
            .ok()
            .flatten()
            .ok_or(StatusCode::UNAUTHORIZED)
    }

    #[tokio::test]
    async fn the_axum_handler_ends_the_tower_session() {
        let provider = TestProvider::builder()
            .auto_approve("alice")
            .behaviour(|b| {
                b.id_token_hook = Some(IdTokenHook::new(|parts| {
                    parts.claims.insert("sid".into(), json!("op-session-1"));
                }))
            })
            .start()
            .await
            .unwrap();
        let registry = registry(&provider);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let store = MemoryStore::default();
        let router = Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/me", get(me))
            .route(
                "/backchannel-logout",
                backchannel_logout_ending_sessions(registry.client::<Idp>(), store.clone()),
            )
            .layer(SessionManagerLayer::new(store).with_secure(false))
            .with_state(App {
                registry: registry.clone(),
                callback: format!("{base}/callback"),
            });
        let server = tokio::spawn(async move { axum::serve(listener, router).await });

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = http.get(format!("{base}/login")).send().await.unwrap();
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let authorize = login.headers()["location"].to_str().unwrap().to_string();
        let back = http.get(authorize).send().await.unwrap();
        let back = back.headers()["location"].to_str().unwrap().to_string();
        let logged_in = http
            .get(&back)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(logged_in.status(), 200);
        let me = || async {
            http.get(format!("{base}/me"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(me().await, 200);

        let post = |body: String, content_type: &'static str| {
            http.post(format!("{base}/backchannel-logout"))
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let form = "application/x-www-form-urlencoded";
        // A refused token: 400, invalid_request, no-store; the session lives on.
        let forged = logout_token(&provider, Some("alice"), Some("op-session-1"), |_, c, _| {
            c.insert("nonce".into(), json!("n"));
        });
        let refused = post(format!("logout_token={forged}"), form).await.unwrap();
        assert_eq!(refused.status(), 400);
        assert_eq!(refused.headers().get("cache-control").unwrap(), "no-store");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request");
        assert!(error["error_description"]
            .as_str()
            .unwrap()
            .contains("nonce"));
        assert_eq!(me().await, 200);
        // Not a form, or no token: 400 too.
        let token = logout_token(&provider, Some("alice"), Some("op-session-1"), |_, _, _| {});
        for (body, content_type) in [
            (
                format!("{{\"logout_token\":\"{token}\"}}"),
                "application/json",
            ),
            ("token=x".to_string(), form),
            (format!("logout_token={token}&logout_token={token}"), form),
        ] {
            let answer = post(body, content_type).await.unwrap();
            assert_eq!(answer.status(), 400);
            let error: Value = answer.json().await.unwrap();
            assert_eq!(error["error"], "invalid_request");
        }
        assert_eq!(me().await, 200);

        // The provider's logout: 200, no-store, and the session is gone from the store.
        let ended = post(format!("logout_token={token}"), form).await.unwrap();
        assert_eq!(ended.status(), 200);
        assert_eq!(ended.headers()["cache-control"], "no-store");
        assert_eq!(me().await, 401);
        // The same token again is a replay.
        let again = post(format!("logout_token={token}"), form).await.unwrap();
        assert_eq!(again.status(), 400);
        server.abort();
    }
}

mod actix_app {
    use super::*;
    use actix_web::{test, App};
    use oauth_clients::integrations::actix::backchannel_logout;

    #[actix_web::test]
    async fn the_actix_handler_hands_the_sessions_to_the_app() {
        let provider = provider().await;
        let registry = registry(&provider);
        let idp = registry.client::<Idp>();
        let alice = log_in(&provider, &registry, "alice").await;
        idp.remember_session(&alice, "actix-session-1", DAY)
            .await
            .unwrap();
        let ended: Arc<Mutex<Vec<BackchannelLogout>>> = Arc::default();
        let seen = ended.clone();
        let app = test::init_service(App::new().route(
            "/backchannel-logout",
            backchannel_logout(idp.clone(), move |event| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(event);
                    Ok(())
                }
            }),
        ))
        .await;
        let post = |token: &str| {
            test::TestRequest::post()
                .uri("/backchannel-logout")
                .set_form([("logout_token", token)])
                .to_request()
        };

        let wrong_events = logout_token(&provider, Some("alice"), Some(&sid(&alice)), |_, c, _| {
            c.insert("events".into(), json!({}));
        });
        let refused = test::call_service(&app, post(&wrong_events)).await;
        assert_eq!(refused.status(), 400);
        assert_eq!(refused.headers().get("cache-control").unwrap(), "no-store");
        let error: Value = test::read_body_json(refused).await;
        assert_eq!(error["error"], "invalid_request");
        assert!(ended.lock().unwrap().is_empty());

        let token = logout_token(&provider, Some("alice"), Some(&sid(&alice)), |_, _, _| {});
        let answer = test::call_service(&app, post(&token)).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers().get("cache-control").unwrap(), "no-store");
        let events = ended.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].sessions, ["actix-session-1"]);
        assert_eq!(events[0].sub.as_deref(), Some("alice"));

        // A hook that fails: 400 server_error (§2.8: the logout failed).
        let failing = test::init_service(App::new().route(
            "/backchannel-logout",
            backchannel_logout(idp, |_| async {
                Err(oauth_clients::HookError::msg("the session store is down"))
            }),
        ))
        .await;
        let token = logout_token(&provider, Some("alice"), None, |_, _, _| {});
        let answer = test::call_service(&failing, post(&token)).await;
        assert_eq!(answer.status(), 400);
        let error: Value = test::read_body_json(answer).await;
        assert_eq!(error["error"], "server_error");
    }
}
