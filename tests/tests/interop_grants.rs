//! Token revocation (RFC 7009) and the client credentials grant (RFC 6749 §4.4) against the
//! real `oidc-provider` (its `revocation` and `clientCredentials` features; `server.mjs`
//! registers the service client `rp-service` and serves `/api/whoami`, which looks tokens up in
//! the provider's own storage).

mod op_support;

use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, HttpErrorKind, MemorySession, Registry, Settings,
    Token, TokenTypeHint,
};
use op_support::*;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

oauth_clients! {
    op_user {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
    },
    // The service: OAuth 2.0 with the provider's metadata, no user.
    op_service {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
    },
}

fn registry(op: &OidcProvider, updates: Arc<AtomicUsize>) -> Registry<Providers> {
    let settings = Settings::new()
        .set("op_user", "server_metadata_url", op.discovery_url())
        .set("op_user", "client_id", "rp-basic")
        .set("op_user", "client_secret", "rp-basic-secret")
        .set("op_service", "server_metadata_url", op.discovery_url())
        .set("op_service", "api_base_url", op.url("/api/"))
        .set("op_service", "client_id", "rp-service")
        .set("op_service", "client_secret", "rp-service-secret");
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .on_token_update(move |_| {
            let updates = updates.clone();
            async move {
                updates.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap()
}

async fn sign_in(registry: &Registry<Providers>, user: &str) -> Token {
    let client = registry.client::<OpUser>();
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = login(redirect.location(), user).await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap()
}

/// What `/api/whoami` says about `token`: its status and body.
async fn whoami(op: &OidcProvider, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(op.url("/api/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn revocation_and_client_credentials_against_oidc_provider() {
    let op = OidcProvider::start().await;
    let updates = Arc::new(AtomicUsize::new(0));
    let registry = registry(&op, updates.clone());

    // --- Revocation of a user's token: the refresh token, then the access token.
    let user = registry.client::<OpUser>();
    let metadata = user.metadata().await.unwrap();
    assert_eq!(
        metadata.revocation_endpoint().map(|u| u.as_str()),
        Some(op.url("/token/revocation").as_str())
    );
    let token = sign_in(&registry, "ada").await;
    assert!(token.refresh_token.is_some());
    assert_eq!(whoami(&op, &token.access_token).await.0, 200);
    user.revoke_token(&token)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    assert_eq!(op.requests("POST /token/revocation 200").await, 2);
    assert_eq!(whoami(&op, &token.access_token).await.0, 401);
    match user.refresh(&token).await {
        Err(Error::TokenEndpoint { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("a revoked refresh token still works: {other:?}"),
    }
    match user.userinfo(&token).await {
        Err(Error::Http {
            endpoint: Endpoint::Userinfo,
            kind: HttpErrorKind::Status { status: 401 },
            ..
        }) => {}
        other => panic!("a revoked access token still works: {other:?}"),
    }
    // A token the provider does not know: still 200 (RFC 7009 §2.2).
    user.revoke("not-a-token", Some(TokenTypeHint::AccessToken))
        .await
        .unwrap();

    // --- RP-initiated logout that revokes first.
    let session = MemorySession::new();
    let redirect = user
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = login(redirect.location(), "grace").await;
    let token = user
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    let logout = user
        .logout()
        .revoke(&token)
        .redirect(&session)
        .await
        .unwrap();
    assert!(logout
        .location()
        .as_str()
        .starts_with(&op.url("/session/end")));
    assert_eq!(op.requests("POST /token/revocation 200").await, 5);
    assert_eq!(whoami(&op, &token.access_token).await.0, 401);

    // --- Client credentials: one token per scope, reused, and the hook told.
    let service = registry.client::<OpService>();
    let hooks_before = updates.load(Ordering::SeqCst);
    let reader = service.service_with_scope("api:read");
    for _ in 0..3 {
        let response = reader
            .get("whoami")
            .await
            .unwrap()
            .error_for_status("op_service")
            .unwrap();
        let body: Value = response.json().unwrap();
        assert_eq!(body["client_id"], "rp-service");
        assert_eq!(body["scope"], "api:read");
        assert_eq!(body["kind"], "ClientCredentials");
    }
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 3);
    assert_eq!(updates.load(Ordering::SeqCst), hooks_before + 1);
    let writer = service.service_with_scope("api:read api:write");
    let body: Value = writer.get("whoami").await.unwrap().json().unwrap();
    assert_eq!(body["scope"], "api:read api:write");

    // The provider revokes the token: the next call is refused once, then works with a new
    // token.
    let first = reader.token().await.unwrap();
    service.revoke(&first.access_token, None).await.unwrap();
    let body: Value = reader.get("whoami").await.unwrap().json().unwrap();
    assert_eq!(body["scope"], "api:read");
    assert_ne!(
        reader.token().await.unwrap().access_token,
        first.access_token
    );
    assert_eq!(
        op.requests("GET /api/whoami 401").await,
        3,
        "{}",
        op.log.text()
    );

    // A scope the client is not registered for: the provider's error, typed.
    match service.service_with_scope("openid").token().await {
        Err(Error::TokenEndpoint { error, .. }) => assert_eq!(error, "invalid_scope"),
        other => panic!("expected invalid_scope, got {other:?}"),
    }
}
