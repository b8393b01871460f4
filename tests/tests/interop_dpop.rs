//! DPoP (RFC 9449) with a real, OpenID Certified provider: npm `oidc-provider` with
//! `features.dPoP` on and nonces required, and the client `rp-dpop`, which gets only
//! DPoP-bound access tokens (`tests/oidc-provider/server.mjs`, block "issue 17: dpop"). One
//! provider for the whole test, started by the harness in `op_support`.

mod op_support;

use oauth_clients::{oauth_clients, Callback, Client, MemorySession, Provider, Registry, Settings};
use op_support::*;

oauth_clients! {
    op_dpop {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        dpop: true,
    },
    op_dpop_ps256 {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        dpop: true,
        dpop_signing_alg: PS256,
    },
    op_dpop_eddsa {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        dpop: true,
        dpop_signing_alg: EdDSA,
    },
}

fn registry(op: &OidcProvider) -> Registry<Providers> {
    let mut settings = Settings::new();
    for name in ["op_dpop", "op_dpop_ps256", "op_dpop_eddsa"] {
        settings = settings
            .set(name, "server_metadata_url", op.discovery_url())
            .set(name, "client_id", "rp-dpop")
            .set(name, "client_secret", "rp-dpop-secret");
    }
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap()
}

/// A whole login of `user` with `client`, in a fresh session and browser.
async fn sign_in<P: Provider>(
    op: &OidcProvider,
    client: &Client<P>,
    user: &str,
) -> oauth_clients::Token {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = login(redirect.location(), user).await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("login of {user} failed: {e:?}\n{}", op.log.text()))
}

#[tokio::test]
async fn login_userinfo_and_refresh_are_dpop_bound_with_the_nonce_round_trip() {
    let op = OidcProvider::start().await;
    let registry = registry(&op);
    let client = registry.op_dpop();

    let token = sign_in(&op, &client, "alice").await;
    assert_eq!(token.token_type, "DPoP", "{}", op.log.text());
    let jkt = token.dpop_jkt.clone().expect("bound to the registry's key");
    assert!(token.refresh_token.is_some());
    // The nonce round trip: the first proof had no nonce and was answered `use_dpop_nonce`
    // (400); the retry with the provider's nonce redeemed the code. The login then asked
    // userinfo (oidc-provider keeps scope claims out of the code flow's ID tokens), with the
    // remembered nonce: no second demand.
    assert_eq!(op.requests("POST /token 400").await, 1, "{}", op.log.text());
    assert_eq!(op.requests("POST /token 200").await, 1);
    assert_eq!(op.requests("GET /me 200").await, 1);
    assert_eq!(op.requests("GET /me 401").await, 0);
    let info = token.userinfo.as_ref().unwrap();
    assert_eq!(info.email(), Some("alice@example.test"));

    // Userinfo on demand, with `Authorization: DPoP` and a proof with `ath`: oidc-provider
    // refuses a bound token sent any other way.
    let again = client.userinfo(&token).await.unwrap().into_info();
    assert_eq!(again.sub(), "alice");
    assert_eq!(op.requests("GET /me 200").await, 2);

    // The refresh proves the same key: the provider binds the refresh token of a DPoP client
    // to it, and the new access token is bound to it too.
    let refreshed = client.refresh(&token).await.unwrap();
    assert_eq!(refreshed.token_type, "DPoP");
    assert_eq!(refreshed.dpop_jkt.as_deref(), Some(jkt.as_str()));
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(
        client.userinfo(&refreshed).await.unwrap().info().sub(),
        "alice"
    );
    assert_eq!(op.requests("GET /me 200").await, 3);

    // The other proof algorithms, with the same provider.
    for (user, token) in [
        ("bob", sign_in(&op, &registry.op_dpop_ps256(), "bob").await),
        (
            "carol",
            sign_in(&op, &registry.op_dpop_eddsa(), "carol").await,
        ),
    ] {
        assert_eq!(token.token_type, "DPoP", "{user}");
        assert_eq!(token.userinfo.as_ref().unwrap().sub(), user);
    }
    assert_eq!(
        registry
            .op_dpop_eddsa()
            .userinfo(&sign_in(&op, &registry.op_dpop_eddsa(), "dave").await)
            .await
            .unwrap()
            .info()
            .sub(),
        "dave"
    );
    assert!(
        !op.log.text().contains("invalid_dpop_proof"),
        "{}",
        op.log.text()
    );
}
