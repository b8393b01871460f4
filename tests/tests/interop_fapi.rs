//! The FAPI 2.0 Security Profile against the real provider: `oidc-provider` with its own FAPI
//! 2.0 profile on (`server.mjs --fapi`), and a client declared with `security_profile: fapi2`,
//! `private_key_jwt` (ES256) and DPoP. Everything the profile asks for has to work together:
//! the pushed authorization request, PKCE, the callback's `iss`, the JWT client assertion
//! addressed to the issuer, DPoP proofs with the provider's nonces, and an ES256 ID token.

mod op_support;

use oauth_clients::{oauth_clients, Callback, MemorySession, Registry, Settings};
use op_support::*;
use serde_json::json;

oauth_clients! {
    op_fapi {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email",
        client_id: "rp-fapi",
        security_profile: fapi2,
        token_endpoint_auth_method: private_key_jwt,
        client_assertion_alg: ES256,
        client_key_id: "fapi-1",
        dpop: true,
    },
}

#[tokio::test]
async fn a_fapi2_client_logs_in_refreshes_and_reads_userinfo_under_the_providers_fapi2_profile() {
    // The client's key, made for this run; the provider gets its public half.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "oauth-clients-fapi-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client-auth.json");
    let document = json!({
        "jwks": { "rp-fapi": { "pem": key.public_key_pem(), "kid": "fapi-1" } },
    });
    std::fs::write(&file, document.to_string()).unwrap();
    let op =
        OidcProvider::start_with_options(&["--client-auth", &file.display().to_string(), "--fapi"])
            .await;

    let private_pem = key.serialize_pem();
    let registry: Registry<Providers> = Providers::builder()
        .settings(Settings::new().set("op_fapi", "server_metadata_url", op.discovery_url()))
        // The default variable of `client_key`: `<NAME>_CLIENT_KEY`.
        .env_source(move |name| (name == "OP_FAPI_CLIENT_KEY").then(|| private_pem.clone()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = registry.client::<OpFapi>();

    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    // Pushed: the browser carries only the client and the request's handle.
    let sent = query(redirect.location());
    let mut names: Vec<&str> = sent.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["client_id", "request_uri"]);
    assert_eq!(
        op.requests("POST /request 201").await,
        1,
        "{}",
        op.log.text()
    );

    let back = login(redirect.location(), "alice").await;
    assert_eq!(query(&back)["iss"], op.issuer(), "RFC 9207 `iss`");
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    assert_eq!(token.token_type, "DPoP");
    assert!(token.is_dpop_bound());
    let claims = client.user(&token).unwrap();
    assert_eq!(claims.sub(), "alice");
    // The provider saw a private_key_jwt assertion addressed to its issuer.
    let assertion = format!(
        "POST /token 200 client_auth=private_key_jwt alg=ES256 aud=\"{}\"",
        op.issuer()
    );
    assert_eq!(op.requests(&assertion).await, 1, "{}", op.log.text());

    let info = client
        .userinfo(&token)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    assert_eq!(info.info().sub(), "alice");
    let refreshed = client
        .refresh(&token)
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    assert_eq!(refreshed.token_type, "DPoP");
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(op.requests(&assertion).await, 2);
    // Nothing authenticated with a shared secret.
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 0);
    assert_eq!(op.requests("POST /token 200 client_auth=post").await, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
