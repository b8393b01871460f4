//! Pushed authorization requests (RFC 9126) against a real provider: npm `oidc-provider` with
//! its `pushedAuthorizationRequests` feature (endpoint `/request`), through the public API.
//! `server.mjs` registers `rp-par-required` with `require_pushed_authorization_requests` and
//! `rp-par`, which may push or not.

mod op_support;

use oauth_clients::{oauth_clients, Callback, Error, MemorySession, Registry, Settings};
use op_support::*;
use std::collections::BTreeSet;

oauth_clients! {
    op_par_required {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email",
        authorize_params: { prompt: "consent" },
        pushed_authorization_requests: true,
    },
    op_par {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email",
        authorize_params: { prompt: "consent" },
        token_endpoint_auth_method: client_secret_post,
        pushed_authorization_requests: true,
    },
}

fn registry(op: &OidcProvider, settings: Settings) -> Registry<Providers> {
    let discovery = op.discovery_url();
    let settings = settings
        .set("op_par_required", "server_metadata_url", discovery.clone())
        .set("op_par_required", "client_id", "rp-par-required")
        .set("op_par_required", "client_secret", "rp-par-required-secret")
        .set("op_par", "server_metadata_url", discovery)
        .set("op_par", "client_id", "rp-par")
        .set("op_par", "client_secret", "rp-par-secret");
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap()
}

fn query_names(url: &url::Url) -> BTreeSet<String> {
    url.query_pairs().map(|(k, _)| k.into_owned()).collect()
}

fn only_client_id_and_request_uri() -> BTreeSet<String> {
    ["client_id", "request_uri"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[tokio::test]
async fn a_client_registered_to_require_par_logs_in_with_a_pushed_request() {
    let op = OidcProvider::start().await;
    let registry = registry(&op, Settings::new());
    let client = registry.client::<OpParRequired>();
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(
        query_names(redirect.location()),
        only_client_id_and_request_uri()
    );
    assert_eq!(
        op.requests("POST /request 201").await,
        1,
        "{}",
        op.log.text()
    );
    let back = login(redirect.location(), "alice").await;
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", op.log.text()));
    let info = token.userinfo.unwrap();
    assert_eq!(info.sub(), "alice");
    assert_eq!(info.email(), Some("alice@example.test"));
    assert_eq!(op.requests("POST /token 200").await, 1);

    // The same client with PAR switched off by settings: the provider refuses the plain
    // request, which is why the switch exists.
    let registry = self::registry(
        &op,
        Settings::new().set("op_par_required", "pushed_authorization_requests", false),
    );
    let client = registry.client::<OpParRequired>();
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let url = redirect.location();
    assert!(query_names(url).contains("state"));
    let back = location(url, Browser::new().get(url).await).await;
    let error = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_err();
    match error {
        Error::Authorization { error, .. } => assert_eq!(error, "invalid_request"),
        other => panic!("{other:?}"),
    }
    assert_eq!(op.requests("POST /request").await, 1);
}

#[tokio::test]
async fn the_relying_party_chooses_par_with_client_secret_post() {
    let op = OidcProvider::start().await;
    let registry = registry(&op, Settings::new());
    let client = registry.client::<OpPar>();
    let metadata = client.metadata().await.unwrap();
    assert_eq!(
        metadata
            .pushed_authorization_request_endpoint()
            .map(|u| u.to_string()),
        Some(op.url("/request"))
    );
    assert!(!metadata.require_pushed_authorization_requests());
    let session = MemorySession::new();
    let redirect = client
        .authorize(REDIRECT_URI)
        .param("login_hint", "bob")
        .redirect(&session)
        .await
        .unwrap();
    assert_eq!(
        query_names(redirect.location()),
        only_client_id_and_request_uri()
    );
    let back = login(redirect.location(), "bob").await;
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", op.log.text()));
    assert_eq!(token.userinfo.unwrap().sub(), "bob");
    assert_eq!(op.requests("POST /request 201").await, 1);
    assert_eq!(op.requests("POST /token 200 client_auth=post").await, 1);
}
