//! Token revocation (RFC 7009) and the client credentials grant (RFC 6749 §4.4), end to end
//! against the local provider.

use oauth_clients::{
    oauth_clients, Endpoint, Error, MemorySession, Registry, Settings, Token, TokenTypeHint,
};
use oauth_clients_testing::{TestProvider, CLIENT_ID};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

oauth_clients! {
    forge {
        authorize_url: "https://forge.example/authorize",
        access_token_url: "https://forge.example/token",
        api_base_url: "https://api.forge.example/",
        scope: "read",
    },
    sso {
        server_metadata_url: "https://sso.example/.well-known/openid-configuration",
        scope: "openid email",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

struct Setup {
    provider: TestProvider,
    registry: Registry<Providers>,
    /// Calls of the token-update hook.
    updates: Arc<AtomicUsize>,
}

async fn setup(change: impl FnOnce(Settings, &TestProvider) -> Settings) -> Setup {
    let provider = TestProvider::builder().start().await.unwrap();
    let settings = provider.settings_for("forge");
    let settings = settings
        .set("sso", "server_metadata_url", provider.discovery_url())
        .set("sso", "client_id", CLIENT_ID)
        .set("sso", "client_secret", oauth_clients_testing::CLIENT_SECRET);
    let settings = change(settings, &provider);
    let updates = Arc::new(AtomicUsize::new(0));
    let counted = updates.clone();
    let registry = Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap();
    Setup {
        provider,
        registry,
        updates,
    }
}

/// `forge` with its revocation endpoint declared (it has no discovery).
fn with_revocation(settings: Settings, provider: &TestProvider) -> Settings {
    settings.set("forge", "revocation_endpoint", provider.url("revoke"))
}

async fn login<P: oauth_clients::Provider<Set = Providers>>(s: &Setup, user: &str) -> Token {
    s.provider
        .log_in(
            &s.registry.client::<P>(),
            &MemorySession::new(),
            REDIRECT_URI,
            user,
        )
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Revocation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_token_revokes_its_refresh_token_then_its_access_token() {
    let s = setup(with_revocation).await;
    let forge = s.registry.client::<Forge>();
    let token = login::<Forge>(&s, "ada").await;
    assert!(token.refresh_token.is_some());
    assert_eq!(forge.get("user", &token).await.unwrap().status(), 200);

    forge.revoke_token(&token).await.unwrap();
    assert_eq!(s.provider.count("revoke"), 2);
    assert_eq!(s.provider.count("revoke.refresh_token"), 1);
    assert_eq!(s.provider.count("revoke.access_token"), 1);

    // Neither works any more.
    assert_eq!(forge.get("user", &token).await.unwrap().status(), 401);
    match forge.refresh(&token).await {
        Err(Error::TokenEndpoint { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn the_revocation_endpoint_is_discovered_and_shown_in_the_metadata() {
    let s = setup(|settings, _| settings).await;
    let sso = s.registry.client::<Sso>();
    let metadata = sso.metadata().await.unwrap();
    assert_eq!(
        metadata.revocation_endpoint().map(|u| u.as_str()),
        Some(s.provider.url("revoke").as_str())
    );
    let token = login::<Sso>(&s, "grace").await;
    sso.revoke(&token.access_token, None).await.unwrap();
    assert_eq!(s.provider.count("revoke.no_hint"), 1);
    assert!(matches!(
        sso.userinfo(&token).await,
        Err(Error::Http {
            endpoint: Endpoint::Userinfo,
            ..
        })
    ));
}

#[tokio::test]
async fn without_a_revocation_endpoint_nothing_is_sent() {
    let s = setup(|settings, _| settings).await;
    let forge = s.registry.client::<Forge>();
    let token = login::<Forge>(&s, "ada").await;
    match forge.revoke_token(&token).await {
        Err(Error::MissingEndpoint { provider, endpoint }) => {
            assert_eq!(provider, "forge");
            assert_eq!(endpoint, Endpoint::Revocation);
        }
        other => panic!("expected MissingEndpoint, got {other:?}"),
    }
    assert_eq!(s.provider.count("revoke"), 0);
}

#[tokio::test]
async fn an_access_token_the_provider_cannot_revoke_is_fine_once_the_grant_is_revoked() {
    let s = setup(with_revocation).await;
    s.provider
        .configure(|b| b.revoke_refresh_tokens_only = true);
    let forge = s.registry.client::<Forge>();
    let token = login::<Forge>(&s, "ada").await;
    forge.revoke_token(&token).await.unwrap();
    assert_eq!(s.provider.count("revoke.access_token"), 1);

    // Alone, the same answer is the provider's error, as it sent it.
    let token = login::<Forge>(&s, "ada").await;
    match forge
        .revoke(&token.access_token, Some(TokenTypeHint::AccessToken))
        .await
    {
        Err(Error::EndpointError {
            provider,
            endpoint,
            error,
            status,
            ..
        }) => {
            assert_eq!(provider, "forge");
            assert_eq!(endpoint, Endpoint::Revocation);
            assert_eq!(error, "unsupported_token_type");
            assert_eq!(status, 400);
        }
        other => panic!("expected EndpointError, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_the_revocation_endpoint_does_not_know_gets_the_providers_error() {
    let s = setup(|settings, provider| {
        with_revocation(settings, provider).set("forge", "client_secret", "wrong")
    })
    .await;
    let forge = s.registry.client::<Forge>();
    match forge.revoke("some-token", None).await {
        Err(Error::EndpointError { error, status, .. }) => {
            assert_eq!(error, "invalid_client");
            assert_eq!(status, 401);
        }
        other => panic!("expected EndpointError, got {other:?}"),
    }
}

#[tokio::test]
async fn logout_revokes_the_token_before_the_redirect() {
    let s = setup(|settings, _| settings).await;
    let sso = s.registry.client::<Sso>();
    let session = MemorySession::new();
    let token = s
        .provider
        .log_in(&sso, &session, REDIRECT_URI, "grace")
        .await
        .unwrap();
    let redirect = sso
        .logout()
        .revoke(&token)
        .redirect(&session)
        .await
        .unwrap();
    assert!(redirect
        .location()
        .as_str()
        .starts_with(&s.provider.url("logout")));
    assert_eq!(s.provider.count("revoke.refresh_token"), 1);
    assert_eq!(s.provider.count("revoke.access_token"), 1);
    assert!(sso.refresh(&token).await.is_err());
}

#[tokio::test]
async fn a_failed_revocation_on_logout_fails_the_logout_and_keeps_the_session() {
    let s = setup(|settings, _| settings.set("sso", "client_secret", "wrong")).await;
    let sso = s.registry.client::<Sso>();
    let session = MemorySession::new();
    // Any token: the provider refuses the client before looking at it.
    let token: Token = serde_json::from_value(serde_json::json!({
        "access_token": "access",
        "token_type": "Bearer",
    }))
    .unwrap();
    match sso.logout().revoke(&token).redirect(&session).await {
        Err(Error::EndpointError { error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("expected EndpointError, got {other:?}"),
    }
}

#[tokio::test]
async fn revoking_a_stored_token_ends_it_at_the_provider_and_in_the_store() {
    let s = setup(with_revocation).await;
    let forge = s.registry.client::<Forge>();
    let token = login::<Forge>(&s, "ada").await;
    forge.save_token("account-1", &token).await.unwrap();
    forge.revoke_stored_token("account-1").await.unwrap();
    assert_eq!(s.provider.count("revoke"), 2);
    assert!(forge.load_token("account-1").await.unwrap().is_none());
    // Nothing stored: nothing to do, and no request.
    forge.revoke_stored_token("account-1").await.unwrap();
    assert_eq!(s.provider.count("revoke"), 2);
}

#[tokio::test]
async fn a_stored_token_whose_revocation_fails_stays_stored() {
    let s = setup(with_revocation).await;
    let forge = s.registry.client::<Forge>();
    let token = login::<Forge>(&s, "ada").await;
    forge.save_token("account-1", &token).await.unwrap();
    s.provider.configure(|b| {
        b.revoke_refresh_tokens_only = true;
        b.issue_refresh_tokens = false;
    });
    let bare = Token {
        refresh_token: None,
        ..token.clone()
    };
    forge.save_token("account-2", &bare).await.unwrap();
    assert!(matches!(
        forge.revoke_stored_token("account-2").await,
        Err(Error::EndpointError { .. })
    ));
    assert_eq!(
        forge
            .load_token("account-2")
            .await
            .unwrap()
            .map(|t| t.access_token),
        Some(token.access_token)
    );
}

// ---------------------------------------------------------------------------------------------
// Client credentials
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn service_calls_fetch_one_client_credentials_token_and_reuse_it() {
    let s = setup(|settings, _| settings).await;
    let forge = s.registry.client::<Forge>();
    let service = forge.service();
    for _ in 0..3 {
        let response = service.get("user").await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(body["login"], format!("client:{CLIENT_ID}"));
        assert!(response.new_token().is_none());
    }
    assert_eq!(s.provider.count("token.client_credentials"), 1);
    assert_eq!(s.provider.count("token.auth.client_secret_basic"), 1);
    assert_eq!(
        s.updates.load(Ordering::SeqCst),
        1,
        "the hook saw the new token"
    );
    let token = service.token().await.unwrap();
    assert!(token.refresh_token.is_none());
    assert_eq!(s.provider.count("token.client_credentials"), 1);
}

#[tokio::test]
async fn each_scope_has_its_own_client_credentials_token() {
    let s = setup(|settings, _| settings).await;
    let forge = s.registry.client::<Forge>();
    let read = forge.service_with_scope("invoices:read");
    let write = forge.service_with_scope("invoices:read invoices:write");
    let body = |r: oauth_clients::ApiResponse| r.json::<serde_json::Value>().unwrap();
    assert_eq!(
        body(read.get("user").await.unwrap())["scope"],
        "invoices:read"
    );
    assert_eq!(
        body(write.get("user").await.unwrap())["scope"],
        "invoices:read invoices:write"
    );
    assert_eq!(
        body(read.get("user").await.unwrap())["scope"],
        "invoices:read"
    );
    assert_eq!(s.provider.count("token.client_credentials"), 2);
    assert_ne!(
        read.token().await.unwrap().access_token,
        write.token().await.unwrap().access_token
    );
}

#[tokio::test]
async fn concurrent_service_calls_share_one_token_request() {
    let s = setup(|settings, _| settings).await;
    s.provider
        .configure(|b| b.token_delay = Some(std::time::Duration::from_millis(300)));
    let forge = s.registry.client::<Forge>();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..25 {
        let forge = forge.clone();
        calls.spawn(async move { forge.service().get("user").await.unwrap().status() });
    }
    let statuses = calls.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(s.provider.count("token.client_credentials"), 1);
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_client_credentials_token_is_replaced_once() {
    let s = setup(with_revocation).await;
    let forge = s.registry.client::<Forge>();
    let service = forge.service();
    let first = service.token().await.unwrap();
    // The provider ends the token before it expires.
    forge.revoke(&first.access_token, None).await.unwrap();
    let response = service.get("user").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.provider.count("token.client_credentials"), 2);
    assert_eq!(
        s.provider.count("api"),
        2,
        "the refused call, then the retry"
    );
    let second = service.token().await.unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(s.updates.load(Ordering::SeqCst), 2);

    // An endpoint that refuses every token: replaced once, then the 401 is the caller's.
    let tokens = s.provider.count("token.client_credentials");
    let response = service.get(&s.provider.url("token")).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(s.provider.count("token.client_credentials"), tokens + 1);
}

#[tokio::test]
async fn a_client_credentials_token_about_to_expire_is_replaced_before_use() {
    let provider = TestProvider::builder().start().await.unwrap();
    provider.configure(|b| b.access_token_ttl = Some(std::time::Duration::from_secs(600)));
    // The registry's clock, moved forward by the test.
    let offset = Arc::new(AtomicUsize::new(0));
    let clock = offset.clone();
    let registry = Providers::builder()
        .settings(provider.settings_for("forge"))
        .env_source(|_| None)
        .allow_unconfigured()
        .clock(move || {
            std::time::SystemTime::now()
                + std::time::Duration::from_secs(clock.load(Ordering::SeqCst) as u64)
        })
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    assert_eq!(forge.service().get("user").await.unwrap().status(), 200);
    // Still 9 minutes left: kept.
    offset.store(60, Ordering::SeqCst);
    assert_eq!(forge.service().get("user").await.unwrap().status(), 200);
    assert_eq!(provider.count("token.client_credentials"), 1);
    // Within the leeway (60 s) of its expiry: replaced before the call.
    offset.store(550, Ordering::SeqCst);
    assert_eq!(forge.service().get("user").await.unwrap().status(), 200);
    assert_eq!(provider.count("token.client_credentials"), 2);
    assert_eq!(provider.count("api"), 3);
}

#[tokio::test]
async fn a_client_credentials_grant_the_provider_refuses_is_a_typed_error() {
    let s = setup(|settings, _| settings.set("forge", "client_secret", "wrong")).await;
    let forge = s.registry.client::<Forge>();
    match forge.service().get("user").await {
        Err(Error::TokenEndpoint { error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("expected TokenEndpoint, got {other:?}"),
    }
    assert_eq!(s.provider.count("api"), 0);
}

#[tokio::test]
async fn a_malformed_scope_is_refused_before_any_request() {
    let s = setup(|settings, _| settings).await;
    let forge = s.registry.client::<Forge>();
    assert!(matches!(
        forge.service_with_scope("bad\"scope").token().await,
        Err(Error::InvalidRequest { .. })
    ));
    assert_eq!(s.provider.count("token"), 0);
}
