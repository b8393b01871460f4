//! DPoP (RFC 9449) against the local provider, which checks every proof as a strict server
//! would: bound tokens on login, refresh, userinfo and API calls for each signing algorithm,
//! nonces retried once, and the hostile cases (a nonce-error loop, a bearer token where DPoP
//! was asked, a token bound to another key) refused with typed errors before harm is done.

use oauth_clients::{oauth_clients, Error, MemorySession, MemoryStore, Registry, Token};
use oauth_clients_testing::{LoginError, TestProvider};
use std::sync::Arc;

oauth_clients! {
    es256 {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile",
        dpop: true,
    },
    ps256 {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile",
        dpop: true,
        dpop_signing_alg: PS256,
    },
    eddsa {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile",
        dpop: true,
        dpop_signing_alg: EdDSA,
    },
    plain {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn start() -> TestProvider {
    TestProvider::builder()
        .auto_approve("alice")
        .start()
        .await
        .unwrap()
}

fn settings(provider: &TestProvider) -> oauth_clients::Settings {
    let mut settings = oauth_clients::Settings::new();
    for name in ["es256", "ps256", "eddsa", "plain"] {
        settings = settings
            .set(name, "server_metadata_url", provider.discovery_url())
            .set(name, "client_id", oauth_clients_testing::CLIENT_ID)
            .set(name, "client_secret", oauth_clients_testing::CLIENT_SECRET)
            .set(name, "api_base_url", provider.url("api/"));
    }
    settings
}

/// A registry ("a process") pointed at `provider`; with `store`, a token store shared with
/// other registries.
fn registry(provider: &TestProvider, store: Option<&Arc<MemoryStore>>) -> Registry<Providers> {
    let mut builder = Providers::builder()
        .settings(settings(provider))
        .env_source(|_| None);
    if let Some(store) = store {
        builder = builder.token_store(store.clone()).token_keys(KEYS);
    }
    builder.build().unwrap()
}

fn login_error(outcome: Result<Token, LoginError>) -> Error {
    match outcome {
        Err(LoginError::AuthorizeAccessToken(error)) => error,
        other => panic!("expected a refused redemption, got {other:?}"),
    }
}

#[tokio::test]
async fn login_userinfo_api_and_refresh_are_dpop_bound_for_each_algorithm() {
    let provider = start().await;
    let registry = registry(&provider, None);
    let clients = [
        (
            "ES256",
            registry.es256().config().unwrap().dpop_signing_alg(),
        ),
        (
            "PS256",
            registry.ps256().config().unwrap().dpop_signing_alg(),
        ),
        (
            "EdDSA",
            registry.eddsa().config().unwrap().dpop_signing_alg(),
        ),
    ];
    for (alg, configured) in clients {
        assert_eq!(configured, Some(alg));
    }
    assert_eq!(registry.plain().config().unwrap().dpop_signing_alg(), None);
    macro_rules! round_trip {
        ($client:expr) => {{
            let client = $client;
            let proofs = provider.count("dpop.proof");
            let token = provider
                .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
                .await
                .unwrap();
            assert_eq!(token.token_type, "DPoP");
            assert!(token.is_dpop_bound());
            let jkt = token.dpop_jkt.clone().expect("bound to a key");
            // The code exchange carried a proof the provider accepted.
            assert_eq!(provider.count("dpop.proof"), proofs + 1);
            let info = client.userinfo(&token).await.unwrap();
            assert_eq!(info.info().sub(), "alice");
            assert_eq!(provider.count("dpop.proof"), proofs + 2);
            let answer = client.get("user", &token).await.unwrap();
            assert_eq!(answer.status(), 200, "{}", answer.text());
            assert_eq!(
                answer.json::<serde_json::Value>().unwrap()["login"],
                "alice"
            );
            assert_eq!(provider.count("dpop.proof"), proofs + 3);
            // A refresh proves the same key, and the new token is bound to it too.
            let refreshed = client.refresh(&token).await.unwrap();
            assert_eq!(refreshed.token_type, "DPoP");
            assert_eq!(refreshed.dpop_jkt.as_deref(), Some(jkt.as_str()));
            assert_ne!(refreshed.access_token, token.access_token);
            assert_eq!(provider.count("dpop.proof"), proofs + 4);
            let answer = client.post("user", &refreshed).await.unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(provider.count("dpop.proof"), proofs + 5);
            assert_eq!(provider.count("dpop.refused"), 0);
        }};
    }
    round_trip!(registry.es256());
    round_trip!(registry.ps256());
    round_trip!(registry.eddsa());
    // A bound token is never sent as a bearer token: the provider refuses those (counted as
    // `dpop.refused`), and none came.
    assert_eq!(provider.count("dpop.refused"), 0);
}

#[tokio::test]
async fn nonces_demanded_by_the_token_endpoint_and_resource_servers_are_retried_once() {
    let provider = start().await;
    provider.configure(|b| b.dpop.require_nonce = true);
    let registry = registry(&provider, None);
    let client = registry.es256();
    let token = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    assert_eq!(token.token_type, "DPoP");
    // One `use_dpop_nonce` answer, then the retry with the nonce went through.
    assert_eq!(provider.count("dpop.nonce_demanded"), 1);
    assert_eq!(provider.count("token"), 2);
    // The nonce is remembered for the server: the API takes it without another demand.
    assert_eq!(client.get("user", &token).await.unwrap().status(), 200);
    assert_eq!(provider.count("dpop.nonce_demanded"), 1);
    assert_eq!(provider.count("api"), 1);
    // A new nonce at the server: the resource server's 401 `use_dpop_nonce`, retried once.
    provider.rotate_dpop_nonce();
    assert_eq!(client.get("user", &token).await.unwrap().status(), 200);
    assert_eq!(provider.count("dpop.nonce_demanded"), 2);
    assert_eq!(provider.count("api"), 3);
    provider.rotate_dpop_nonce();
    assert_eq!(client.userinfo(&token).await.unwrap().info().sub(), "alice");
    assert_eq!(provider.count("dpop.nonce_demanded"), 3);
    assert_eq!(provider.count("userinfo"), 2);
}

#[tokio::test]
async fn a_nonce_error_loop_is_a_typed_error_after_one_retry() {
    let provider = start().await;
    let registry = registry(&provider, None);
    let client = registry.es256();
    let token = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    provider.configure(|b| b.dpop.nonce_loop = true);
    let error = client.get("user", &token).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::DpopNonce {
                provider: "es256",
                endpoint: oauth_clients::Endpoint::Api
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind().as_str(), "dpop_nonce");
    assert_eq!(provider.count("api"), 2, "one retry, no loop");
    let error = client.userinfo(&token).await.unwrap_err();
    assert!(matches!(error, Error::DpopNonce { .. }), "{error:?}");
    assert_eq!(provider.count("userinfo"), 2);
    // At the token endpoint: the login fails, with exactly one retry.
    let before = provider.count("token");
    let error = login_error(
        provider
            .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
            .await,
    );
    assert!(
        matches!(
            error,
            Error::DpopNonce {
                endpoint: oauth_clients::Endpoint::Token,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(provider.count("token"), before + 2);
}

#[tokio::test]
async fn a_bearer_token_where_dpop_was_asked_is_refused_and_not_stored() {
    let provider = start().await;
    provider.configure(|b| b.dpop.issue_bearer = true);
    let store = Arc::new(MemoryStore::new());
    let registry = registry(&provider, Some(&store));
    let client = registry.es256();
    let error = login_error(
        provider
            .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
            .await,
    );
    assert!(
        matches!(&error, Error::DpopTokenType { provider: "es256", token_type } if token_type == "Bearer"),
        "{error:?}"
    );
    assert_eq!(error.kind().as_str(), "dpop_token_type");
    assert!(!error.to_string().contains("eyJ"));
    assert_eq!(client.load_token("alice").await.unwrap(), None);
    // A bearer token handed to a DPoP provider is not sent either.
    let bearer: Token =
        serde_json::from_str(r#"{"access_token":"abc","token_type":"Bearer"}"#).unwrap();
    let api = provider.count("api");
    let error = client.get("user", &bearer).await.unwrap_err();
    assert!(matches!(error, Error::DpopKeyMismatch { .. }), "{error:?}");
    assert_eq!(provider.count("api"), api);
    // And a provider without DPoP refuses a `DPoP` token (it cannot prove any key).
    provider.configure(|b| {
        b.dpop.issue_bearer = false;
        b.token_type = "DPoP".into();
    });
    let error = login_error(
        provider
            .log_in(
                &registry.plain(),
                &MemorySession::new(),
                REDIRECT_URI,
                "alice",
            )
            .await,
    );
    assert!(
        matches!(&error, Error::UnsupportedTokenType { token_type, .. } if token_type == "DPoP"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_token_bound_to_another_key_is_refused_before_anything_is_sent() {
    let provider = start().await;
    let first = registry(&provider, None);
    let token = provider
        .log_in(&first.es256(), &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    // Another process (its own registry key): the token's key is not at hand.
    let second = registry(&provider, None);
    let client = second.es256();
    let (api, userinfo, tokens) = (
        provider.count("api"),
        provider.count("userinfo"),
        provider.count("token"),
    );
    let error = client.get("user", &token).await.unwrap_err();
    assert!(
        matches!(error, Error::DpopKeyMismatch { provider: "es256" }),
        "{error:?}"
    );
    assert!(error.needs_login());
    assert_eq!(error.kind().as_str(), "dpop_key_mismatch");
    let error = client.userinfo(&token).await.unwrap_err();
    assert!(matches!(error, Error::DpopKeyMismatch { .. }), "{error:?}");
    let error = client.refresh(&token).await.unwrap_err();
    assert!(matches!(error, Error::DpopKeyMismatch { .. }), "{error:?}");
    let error = client.save_token("alice", &token).await.unwrap_err();
    assert!(matches!(error, Error::DpopKeyMismatch { .. }), "{error:?}");
    assert_eq!(
        (
            provider.count("api"),
            provider.count("userinfo"),
            provider.count("token")
        ),
        (api, userinfo, tokens),
        "nothing was sent"
    );
    // The token, changed to name another key, is refused by its own registry too.
    let mut other = token.clone();
    other.dpop_jkt = Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into());
    let error = first.es256().get("user", &other).await.unwrap_err();
    assert!(matches!(error, Error::DpopKeyMismatch { .. }), "{error:?}");
    assert_eq!(provider.count("api"), api);
}

#[tokio::test]
async fn a_resource_server_refusing_the_bound_token_is_a_typed_error() {
    let provider = start().await;
    // The provider binds its tokens to a key the client does not have.
    provider.configure(|b| b.dpop.bind_to_other_key = true);
    let registry = registry(&provider, None);
    let client = registry.es256();
    let token = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    let error = client.get("user", &token).await.unwrap_err();
    assert!(
        matches!(&error, Error::DpopRefused { endpoint: oauth_clients::Endpoint::Api, error, .. } if error == "invalid_token"),
        "{error:?}"
    );
    assert_eq!(error.kind().as_str(), "dpop_refused");
    let error = client.userinfo(&token).await.unwrap_err();
    assert!(
        matches!(&error, Error::DpopRefused { endpoint: oauth_clients::Endpoint::Userinfo, error, .. } if error == "invalid_token"),
        "{error:?}"
    );
    assert!(!error.to_string().contains(&token.access_token));
}

#[tokio::test]
async fn stored_tokens_carry_their_own_key_to_every_process() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let first = registry(&provider, Some(&store));
    let second = registry(&provider, Some(&store));
    let token = provider
        .log_in(&first.es256(), &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    let other_login = provider
        .log_in(&first.es256(), &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    // With a token store, each login has its own key.
    assert_ne!(token.dpop_jkt, other_login.dpop_jkt);
    first.es256().save_token("alice", &token).await.unwrap();
    // The record is sealed: neither the token nor the key is readable in the backend.
    let record = oauth_clients::store::TokenBackend::load(&*store, "es256", "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(!record
        .sealed
        .windows(token.access_token.len())
        .any(|w| w == token.access_token.as_bytes()));
    // The second process uses the stored token with the stored key: API calls, userinfo
    // through the loaded token, and a refresh across processes.
    let client = second.es256();
    let answer = client.for_user("alice").get("user").await.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let loaded = client.load_token("alice").await.unwrap().unwrap();
    assert_eq!(loaded.dpop_jkt, token.dpop_jkt);
    assert_eq!(
        client.userinfo(&loaded).await.unwrap().info().sub(),
        "alice"
    );
    let refreshed = client.refresh(&loaded).await.unwrap();
    assert_eq!(refreshed.dpop_jkt, token.dpop_jkt);
    // Every proof the second process sent was of the token's key.
    assert_eq!(provider.count("dpop.refused"), 0);
}

#[tokio::test]
async fn settings_switch_dpop_on_and_refuse_an_algorithm_without_it() {
    let provider = start().await;
    // `dpop` from settings, as the string a configuration file gives.
    let registry = Providers::builder()
        .settings(settings(&provider).set("plain", "dpop", "true"))
        .env_source(|_| None)
        .build()
        .unwrap();
    let client = registry.plain();
    assert_eq!(client.config().unwrap().dpop_signing_alg(), Some("ES256"));
    let token = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    assert_eq!(token.token_type, "DPoP");
    // Turned off where an algorithm is declared: the algorithm would do nothing.
    let error = Providers::builder()
        .settings(settings(&provider).set("ps256", "dpop", false))
        .env_source(|_| None)
        .build()
        .unwrap_err();
    let problem = error
        .problems
        .iter()
        .find(|p| p.provider == "ps256")
        .expect("a problem for ps256");
    assert_eq!(problem.key.as_deref(), Some("dpop_signing_alg"));
    assert_eq!(
        problem.message,
        "`dpop_signing_alg` does nothing without `dpop: true`; add `dpop: true` or remove it"
    );
}
