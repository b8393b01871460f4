//! Interop with a real, OpenID Certified provider: npm `oidc-provider`, one per test, run by
//! the harness in `op_support` (which installs it, and fails saying what to install when
//! Node.js is missing: the tests never skip silently).

mod op_support;

use oauth_clients::{
    oauth_clients, Callback, Client, Error, LogoutCallback, LogoutState, MemorySession,
    OpenIdProvider, Provider, Registry, Settings, Token,
};
use op_support::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use url::Url;

oauth_clients! {
    op_basic {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
    },
    op_post {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        token_endpoint_auth_method: client_secret_post,
    },
    op_public {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "public-app",
        token_endpoint_auth_method: none,
    },
    op_es256 {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
    },
}

// Presets run against oidc-provider shaped like their provider: `microsoft` like one Entra
// tenant behind the multi-tenant `common` endpoint (`server.mjs --tenant`), `keycloak` like a
// realm (`server.mjs --issuer-path /realms/staff`).
oauth_clients! {
    pub Entra;
    microsoft { tenant: "common" },
    keycloak { base_url: "https://sso.example.com", realm: "staff" },
}

/// The tenant the provider is shaped like (an id of Microsoft's form).
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

struct Interop {
    op: OidcProvider,
    registry: Registry<Providers>,
    /// Calls of the token-update hook.
    updates: Arc<AtomicUsize>,
}

fn registry(op: &OidcProvider, updates: Arc<AtomicUsize>) -> Registry<Providers> {
    let discovery = op.discovery_url();
    let settings = Settings::new()
        .set("op_basic", "server_metadata_url", discovery.clone())
        .set("op_basic", "client_id", "rp-basic")
        .set("op_basic", "client_secret", "rp-basic-secret")
        .set("op_post", "server_metadata_url", discovery.clone())
        .set("op_post", "client_id", "rp-post")
        .set("op_post", "client_secret", "rp-post-secret")
        .set("op_public", "server_metadata_url", discovery.clone())
        .set("op_es256", "server_metadata_url", discovery)
        .set("op_es256", "client_id", "rp-es256")
        .set("op_es256", "client_secret", "rp-es256-secret");
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |_update| {
            let updates = updates.clone();
            async move {
                updates.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap()
}

async fn setup() -> Interop {
    let op = OidcProvider::start().await;
    let updates = Arc::new(AtomicUsize::new(0));
    let registry = registry(&op, updates.clone());
    Interop {
        op,
        registry,
        updates,
    }
}

/// A whole login of `user` with provider `P`, in a fresh session and browser.
async fn sign_in<P: Provider<Set = Providers>>(s: &Interop, user: &str) -> Token {
    sign_in_with(&s.registry.client::<P>(), user)
        .await
        .unwrap_or_else(|e| panic!("login of {user} failed: {e:?}\n{}", s.op.log.text()))
}

/// A whole login of `user` with `client`, in a fresh session and browser: the callback's
/// outcome.
async fn sign_in_with<P: Provider>(client: &Client<P>, user: &str) -> Result<Token, Error> {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = login(redirect.location(), user).await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn scopes(scope: Option<&str>) -> Vec<&str> {
    let mut scopes: Vec<&str> = scope.unwrap_or_default().split(' ').collect();
    scopes.sort_unstable();
    scopes
}

/// The full login of `user` with `P`, checking everything the provider and the library are
/// supposed to agree on; returns the token.
async fn full_login<P: Provider<Set = Providers> + OpenIdProvider>(
    s: &Interop,
    client_id: &str,
    client_auth: &str,
    user: &str,
) -> Token {
    let session = MemorySession::new();
    let client = s.registry.client::<P>();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let sent = query(redirect.location());
    assert_eq!(
        redirect.location().as_str().split('?').next(),
        Some(s.op.url("/auth").as_str())
    );
    assert_eq!(sent["client_id"], client_id);
    assert_eq!(sent["response_type"], "code");
    assert_eq!(sent["redirect_uri"], REDIRECT_URI);
    assert_eq!(sent["prompt"], "consent");
    assert_eq!(
        scopes(Some(&sent["scope"])),
        ["email", "offline_access", "openid", "profile"]
    );
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["code_challenge"].len(), 43);
    assert!(sent["state"].len() >= 22, "state {:?}", sent["state"]);
    assert!(sent["nonce"].len() >= 22, "nonce {:?}", sent["nonce"]);

    let (back, steps) = Browser::new()
        .authorize(redirect.location(), user, true)
        .await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
    let returned = query(&back);
    assert_eq!(returned["state"], sent["state"]);
    assert_eq!(returned["iss"], s.op.issuer(), "RFC 9207 `iss`");
    assert!(!returned["code"].is_empty());

    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", s.op.log.text()));
    assert_eq!(token.token_type, "Bearer");
    assert!(token.id_token.is_some());
    assert!(token.refresh_token.is_some(), "a refresh token was issued");
    let expires_at = token.expires_at.expect("expires_in was sent");
    assert!(
        (now() + 250..=now() + 300).contains(&expires_at),
        "AccessToken TTL is 300 s: {expires_at}"
    );
    assert_eq!(
        scopes(token.scope.as_deref()),
        ["email", "offline_access", "openid", "profile"]
    );

    let info = token.userinfo.as_ref().expect("OpenID Connect userinfo");
    assert_eq!(info.sub(), user);
    assert_eq!(info.iss(), Some(s.op.issuer().as_str()));
    assert_eq!(info.get("aud"), Some(&Value::from(client_id)));
    assert_eq!(
        info.get("nonce"),
        Some(&Value::from(sent["nonce"].as_str()))
    );
    assert_eq!(info.email(), Some(format!("{user}@example.test").as_str()));
    assert!(info.email_verified());
    let name = format!("{}{}", user[..1].to_uppercase(), &user[1..]);
    assert_eq!(info.name(), Some(name.as_str()));
    // oidc-provider keeps scope claims out of ID tokens of the code flow: the library had to ask
    // the userinfo endpoint.
    assert_eq!(s.op.requests("GET /me 200").await, 1);
    let redeemed = format!("POST /token 200 client_auth={client_auth}");
    assert_eq!(s.op.requests(&redeemed).await, 1);
    assert_eq!(s.op.requests("POST /token").await, 1);

    // The callback is single-use.
    assert!(matches!(
        client
            .authorize_access_token(&session, &Callback::from_url(&back))
            .await,
        Err(Error::ReplayedState { .. })
    ));
    assert_eq!(
        s.op.requests("POST /token").await,
        1,
        "no second redemption"
    );

    // Userinfo on demand: the same user.
    let again = client.userinfo(&token).await.unwrap().into_info();
    assert_eq!(again.sub(), user);
    assert_eq!(again.email(), info.email());
    assert_eq!(again.name(), info.name());
    assert_eq!(s.op.requests("GET /me 200").await, 2);
    assert_eq!(s.updates.load(Ordering::SeqCst), 0, "nothing was refreshed");
    token
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_client_secret_basic_pkce_nonce_and_iss() {
    let s = setup().await;
    full_login::<OpBasic>(&s, "rp-basic", "basic", "alice").await;
}

#[tokio::test]
async fn login_with_client_secret_post() {
    let s = setup().await;
    let token = full_login::<OpPost>(&s, "rp-post", "post", "bob").await;
    refresh_authenticates_and_rotates::<OpPost>(&s, &token, "post").await;
}

#[tokio::test]
async fn login_as_a_public_client_with_pkce_only() {
    let s = setup().await;
    let token = full_login::<OpPublic>(&s, "public-app", "none", "carol").await;
    refresh_authenticates_and_rotates::<OpPublic>(&s, &token, "none").await;
}

#[tokio::test]
async fn login_with_an_es256_signed_id_token() {
    let s = setup().await;
    let token = full_login::<OpEs256>(&s, "rp-es256", "basic", "dave").await;
    let header = token
        .id_token
        .as_deref()
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], format!("{}-ec", s.op.kid));
    // The refreshed ID token is ES256 too, and checked the same way.
    refresh_authenticates_and_rotates::<OpEs256>(&s, &token, "basic").await;
}

/// A refresh authenticates the same way as the code redemption, and gets a new refresh token.
async fn refresh_authenticates_and_rotates<P: Provider<Set = Providers> + OpenIdProvider>(
    s: &Interop,
    token: &Token,
    client_auth: &str,
) {
    let refreshed = s.registry.client::<P>().refresh(token).await.unwrap();
    assert_ne!(refreshed.refresh_token, token.refresh_token);
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(
        refreshed.userinfo.as_ref().map(|u| u.sub()),
        token.userinfo.as_ref().map(|u| u.sub())
    );
    let used = format!("POST /token 200 client_auth={client_auth}");
    assert_eq!(s.op.requests(&used).await, 2);
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_api_call_with_an_expired_token_refreshes_it_and_the_refresh_token_rotates() {
    let s = setup().await;
    let mut token = sign_in::<OpBasic>(&s, "alice").await;
    let client = s.registry.client::<OpBasic>();
    token.expires_at = Some(1);
    let old_refresh = token.refresh_token.clone().unwrap();
    let userinfo_url = s.op.url("/me");

    let response = client.get(&userinfo_url, &token).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text());
    let me: Value = response.json().unwrap();
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    let new = response
        .new_token()
        .expect("the call refreshed the token")
        .clone();
    let new_refresh = new.refresh_token.clone().unwrap();
    assert_ne!(new_refresh, old_refresh, "oidc-provider rotated it");
    assert_ne!(new.access_token, token.access_token);
    assert!(new.expires_at.unwrap() > now() + 200);
    assert_eq!(new.userinfo.as_ref().unwrap().sub(), "alice");
    assert_eq!(s.updates.load(Ordering::SeqCst), 1, "one token-update");
    // One code redemption, one refresh.
    assert_eq!(s.op.requests("POST /token 200 client_auth=basic").await, 2);
    assert_eq!(s.op.requests("POST /token").await, 2);

    // Another tab still holding the spent token: it gets the new token, and the spent refresh
    // token is not presented again (oidc-provider would revoke the whole grant).
    let other_tab = client.get(&userinfo_url, &token).await.unwrap();
    assert_eq!(other_tab.status(), 200);
    assert_eq!(other_tab.new_token(), Some(&new));
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
    assert_eq!(s.op.requests("POST /token").await, 2);

    // The new refresh token works, and rotates again.
    let newer = client.refresh(&new).await.unwrap();
    assert_ne!(newer.refresh_token.as_deref(), Some(new_refresh.as_str()));
    assert_ne!(newer.refresh_token.as_deref(), Some(old_refresh.as_str()));
    assert_eq!(s.updates.load(Ordering::SeqCst), 2);
    let response = client.get(&userinfo_url, &newer).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.new_token().is_none(),
        "a fresh token is used as is"
    );
}

#[tokio::test]
async fn a_new_signing_key_after_a_restart_is_fetched_on_the_unknown_kid() {
    let mut s = setup().await;
    sign_in::<OpBasic>(&s, "alice").await;
    assert_eq!(s.op.requests("GET /jwks").await, 1);
    let old_kid = s.op.kid.clone();
    assert_eq!(s.op.published_kids().await, std::slice::from_ref(&old_kid));

    let port = s.op.port;
    s.op.restart().await;
    assert_eq!(s.op.port, port);
    assert_ne!(s.op.kid, old_kid);
    // A fresh login (the provider forgot everything) with the same registry: its ID token is
    // signed with a key the cached JWKS lacks.
    let token = sign_in::<OpBasic>(&s, "alice").await;
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
    assert_eq!(
        s.op.requests("GET /jwks").await,
        1,
        "the keys were fetched again, once"
    );
    assert_eq!(
        s.op.requests("GET /.well-known/openid-configuration").await,
        1,
        "only the harness's readiness probe: the discovery document stayed cached"
    );
    sign_in::<OpBasic>(&s, "bob").await;
    assert_eq!(s.op.requests("GET /jwks").await, 1, "the new key is cached");
    assert_eq!(s.op.published_kids().await, [s.op.kid.clone()]);
}

#[tokio::test]
async fn rp_initiated_logout_round_trip() {
    let s = setup().await;
    let client = s.registry.client::<OpBasic>();
    let session = MemorySession::new();
    let browser = Browser::new();

    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let (back, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();

    // Signed in at the provider: a second login asks for consent only.
    let redirect = client
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    let (_, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Consent]);

    let logout = client
        .logout_redirect(&session, Some(AFTER_LOGOUT))
        .await
        .unwrap();
    let sent = query(logout.location());
    assert_eq!(
        logout.location().as_str().split('?').next(),
        Some(s.op.url("/session/end").as_str())
    );
    assert_eq!(Some(&sent["id_token_hint"]), token.id_token.as_ref());
    assert_eq!(sent["post_logout_redirect_uri"], AFTER_LOGOUT);
    assert!(sent["state"].len() >= 22);

    let page = browser.get(logout.location()).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let xsrf = hidden_field(&page, "xsrf")
        .unwrap_or_else(|| panic!("no xsrf field in the logout page:\n{page}"));
    let confirm = Url::parse(&s.op.url("/session/end/confirm")).unwrap();
    let response = browser
        .post(&confirm, &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    let returned = location(&confirm, response).await;
    assert_eq!(
        returned.as_str().split('?').next(),
        Some(AFTER_LOGOUT),
        "{returned}"
    );
    assert_eq!(
        query(&returned),
        HashMap::from([("state".into(), sent["state"].clone())])
    );

    let callback = LogoutCallback::from_query(returned.query().unwrap());
    assert_eq!(
        client
            .validate_logout_response(&session, &callback)
            .await
            .unwrap(),
        LogoutState {
            post_logout_redirect_uri: Some(AFTER_LOGOUT.into())
        }
    );
    assert!(matches!(
        client.validate_logout_response(&session, &callback).await,
        Err(Error::ReplayedState {
            provider: "op_basic"
        })
    ));

    // Signed out at the provider: the next login asks for the password again.
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let (_, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
}

/// The value of `<input type="hidden" name="{name}" value="...">` in `html`.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(r#"name="{name}" value=""#))? + name.len() + 15;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

#[tokio::test]
async fn refused_consent_is_an_authorization_error() {
    let s = setup().await;
    let client = s.registry.client::<OpBasic>();
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = deny(redirect.location(), "alice").await;
    let returned = query(&back);
    assert_eq!(returned["error"], "access_denied");
    assert_eq!(returned["state"], query(redirect.location())["state"]);
    assert_eq!(returned["iss"], s.op.issuer());
    assert!(!returned.contains_key("code"));

    match client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
    {
        Err(Error::Authorization {
            provider,
            error,
            description,
            ..
        }) => {
            assert_eq!(provider, "op_basic");
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("End-User aborted interaction"));
        }
        other => panic!("expected Error::Authorization, got {other:?}"),
    }
    assert_eq!(s.op.requests("POST /token").await, 0, "no code to redeem");
}

/// The `microsoft` preset (`tenant: "common"`) with the provider's `common` discovery URL;
/// `allowed_tenants` from settings when given.
fn entra(op: &OidcProvider, allowed_tenants: Option<&str>) -> Registry<Entra> {
    let common = format!(
        "http://127.0.0.1:{}/common/v2.0/.well-known/openid-configuration",
        op.port
    );
    let mut settings = Settings::new()
        .set("microsoft", "server_metadata_url", common)
        .set("microsoft", "client_id", "rp-basic")
        .set("microsoft", "client_secret", "rp-basic-secret");
    if let Some(allowed) = allowed_tenants {
        settings = settings.set("microsoft", "allowed_tenants", allowed);
    }
    Entra::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap()
}

#[tokio::test]
async fn microsoft_multi_tenant_login_against_a_tenant_shaped_oidc_provider() {
    let op = OidcProvider::start_tenant(TENANT).await;
    let base = format!("http://127.0.0.1:{}", op.port);
    let registry = entra(&op, None);
    // Discovery at `common` names the issuer template, as Microsoft's does: accepted.
    let metadata = registry.microsoft().metadata().await.unwrap();
    assert_eq!(
        metadata.issuer(),
        Some(format!("{base}/{{tenantid}}/v2.0").as_str())
    );

    let token = sign_in_with(&registry.microsoft(), "alice")
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    // The ID token names the tenant's own issuer and `tid`: checked against each other.
    let info = token.userinfo.as_ref().unwrap();
    assert_eq!(info.iss(), Some(op.issuer().as_str()));
    assert_eq!(info.get("tid"), Some(&Value::from(TENANT)));
    let profile = token.profile().expect("a profile");
    assert_eq!(profile.identity(), (op.issuer().as_str(), "oid-alice"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.test"));
    // The provider says verified; Microsoft's email claim is never taken as verified.
    assert!(info.email_verified());
    assert!(!profile.email_verified);
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 1);

    // On the allow-list: signed in. Off it: refused after the provider's answer was checked,
    // with the tenant named.
    let listed = entra(
        &op,
        Some(&format!("9188040d-6c67-4c5b-b112-36a304b66dad {TENANT}")),
    );
    assert!(sign_in_with(&listed.microsoft(), "bob").await.is_ok());
    let other = entra(&op, Some("9188040d-6c67-4c5b-b112-36a304b66dad"));
    match sign_in_with(&other.microsoft(), "carol").await {
        Err(Error::IdToken {
            reason: oauth_clients::IdTokenError::TenantNotAllowed(tenant),
            ..
        }) => assert_eq!(tenant, TENANT),
        other => panic!("expected TenantNotAllowed, got {other:?}"),
    }
}

#[tokio::test]
async fn keycloak_preset_against_a_realm_shaped_oidc_provider() {
    let op = OidcProvider::start_at("/realms/staff").await;
    // Only the server's base URL is set: the realm's discovery URL and issuer come from the
    // preset's template.
    let registry = Entra::builder()
        .settings(
            Settings::new()
                .set(
                    "keycloak",
                    "base_url",
                    format!("http://127.0.0.1:{}", op.port),
                )
                .set("keycloak", "client_id", "rp-basic")
                .set("keycloak", "client_secret", "rp-basic-secret"),
        )
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    let keycloak = registry.keycloak();
    assert_eq!(
        keycloak
            .config()
            .unwrap()
            .server_metadata_url
            .as_ref()
            .map(|u| u.as_str()),
        Some(format!("{}/.well-known/openid-configuration", op.issuer()).as_str())
    );
    let token = sign_in_with(&keycloak, "alice")
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    let profile = token.profile().expect("a profile");
    assert_eq!(profile.identity(), (op.issuer().as_str(), "alice"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.test"));
    assert!(profile.email_verified);
    assert_eq!(profile.name.as_deref(), Some("Alice"));
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 1);
}
