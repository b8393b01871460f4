//! OpenID Connect against the local provider: discovery, keys, ID-token checks, userinfo,
//! RFC 9207 and RP-initiated logout.

use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, IdTokenError, LogoutCallback, LogoutState,
    MemorySession, Registry, Settings, Token,
};
use oauth_clients_testing::{IdTokenHook, LoginError, TestClient, TestProvider};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

oauth_clients! {
    idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email profile",
    },
    explicit {
        issuer: "https://idp.example",
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
        jwks_uri: "https://idp.example/jwks",
        userinfo_endpoint: "https://idp.example/userinfo",
        scope: "openid email",
    },
    public_idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid",
        client_id: "public-app",
        token_endpoint_auth_method: none,
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
const AFTER_LOGOUT: &str = "http://127.0.0.1:8080/logged-out";

struct Setup {
    provider: TestProvider,
    registry: Registry<Providers>,
}

fn settings(provider: &TestProvider) -> Settings {
    let settings = provider.oidc_settings_for("idp");
    let settings = settings
        .set(
            "public_idp",
            "server_metadata_url",
            provider.discovery_url(),
        )
        .set("explicit", "issuer", provider.issuer())
        .set("explicit", "client_id", oauth_clients_testing::CLIENT_ID)
        .set(
            "explicit",
            "client_secret",
            oauth_clients_testing::CLIENT_SECRET,
        );
    ["authorize", "token", "jwks", "userinfo"]
        .iter()
        .zip([
            "authorize_url",
            "access_token_url",
            "jwks_uri",
            "userinfo_endpoint",
        ])
        .fold(settings, |s, (path, key)| {
            s.set("explicit", key, provider.url(path))
        })
}

async fn setup() -> Setup {
    let provider = TestProvider::builder()
        .client(TestClient {
            client_id: "public-app".into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT_URI.into()],
        })
        .start()
        .await
        .unwrap();
    let registry = Providers::builder()
        .settings(settings(&provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    Setup { provider, registry }
}

/// A whole login of `user` at `idp`, in a fresh session.
async fn login(s: &Setup, user: &str) -> Result<Token, LoginError> {
    let idp = s.registry.client::<Idp>();
    s.provider
        .log_in(&idp, &MemorySession::new(), REDIRECT_URI, user)
        .await
}

#[tokio::test]
async fn an_oidc_login_validates_the_id_token_and_costs_one_round_trip() {
    let s = setup().await;
    let session = MemorySession::new();
    let token = s
        .provider
        .log_in(&s.registry.client::<Idp>(), &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    let info = token.userinfo.as_ref().unwrap();
    assert_eq!(info.sub(), "alice");
    assert_eq!(info.iss(), Some(s.provider.issuer()));
    assert_eq!(info.email(), Some("alice@example.test"));
    assert!(info.email_verified());
    assert_eq!(info.name(), Some("Alice"));
    assert!(token.id_token.is_some());
    // The claims were in the ID token: no userinfo request.
    assert_eq!(s.provider.count("userinfo"), 0);
    assert_eq!(s.provider.count("token"), 1);
    // The ID token is remembered for logout.
    assert_eq!(
        session.value("oauth_clients.idp.id_token"),
        Some(json!(token.id_token.clone().unwrap()))
    );

    // Warm: another login costs the token request only.
    let before = s.provider.counts();
    login(&s, "bob").await.unwrap();
    let after = s.provider.counts();
    assert_eq!(after["token"], before["token"] + 1);
    assert_eq!(after["discovery"], 1);
    assert_eq!(after["jwks"], 1);
    assert_eq!(after.get("userinfo"), None);
}

#[tokio::test]
async fn userinfo_is_fetched_when_the_id_token_lacks_the_scopes_claims() {
    let s = setup().await;
    s.provider.configure(|b| b.claims_in_id_token = false);
    let token = login(&s, "carol").await.unwrap();
    let info = token.userinfo.unwrap();
    assert_eq!(info.email(), Some("carol@example.test"));
    assert_eq!(info.name(), Some("Carol"));
    assert_eq!(
        info.iss(),
        Some(s.provider.issuer()),
        "the ID token's claims stay"
    );
    assert_eq!(s.provider.count("userinfo"), 1);
}

#[tokio::test]
async fn discovery_and_keys_are_fetched_once_under_concurrent_first_logins() {
    let s = std::sync::Arc::new(setup().await);
    let logins: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { login(&s, &format!("user{i}")).await })
        })
        .collect();
    for login in logins {
        login.await.unwrap().unwrap();
    }
    assert_eq!(s.provider.count("discovery"), 1);
    assert_eq!(s.provider.count("jwks"), 1);
    assert_eq!(s.provider.count("token"), 100);
}

#[tokio::test]
async fn a_key_rotation_costs_exactly_one_jwks_refetch() {
    let s = setup().await;
    login(&s, "alice").await.unwrap();
    assert_eq!(s.provider.count("jwks"), 1);
    s.provider.rotate_keys();
    login(&s, "alice").await.unwrap();
    assert_eq!(s.provider.count("jwks"), 2);
    login(&s, "alice").await.unwrap();
    assert_eq!(s.provider.count("jwks"), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_the_keys_at_most_once() {
    let s = setup().await;
    login(&s, "alice").await.unwrap();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    s.provider.configure(move |b| {
        b.id_token_hook = Some(IdTokenHook::new(move |t| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            t.header.insert("kid".into(), json!(format!("random-{n}")));
        }))
    });
    for _ in 0..20 {
        match login(&s, "alice").await {
            Err(LoginError::AuthorizeAccessToken(Error::IdToken {
                reason: IdTokenError::UnknownKey(kid),
                ..
            })) => {
                assert!(kid.starts_with("random-"))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        s.provider.count("jwks"),
        2,
        "the first fetch and one refetch"
    );
}

fn claim(name: &'static str, value: serde_json::Value) -> IdTokenHook {
    IdTokenHook::new(move |t| {
        t.claims.insert(name.into(), value.clone());
    })
}

#[tokio::test]
async fn a_provider_declared_without_discovery_works() {
    let s = setup().await;
    let token = s
        .provider
        .log_in(
            &s.registry.client::<Explicit>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "dave",
        )
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().email(), Some("dave@example.test"));
    assert_eq!(s.provider.count("discovery"), 0);
    assert_eq!(s.provider.count("jwks"), 1);
}

#[tokio::test]
async fn a_public_client_logs_in_with_pkce_only() {
    let s = setup().await;
    let token = s
        .provider
        .log_in(
            &s.registry.client::<PublicIdp>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "erin",
        )
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "erin");
    assert_eq!(s.provider.count("token.auth.none"), 1);
}

#[tokio::test]
async fn rp_initiated_logout_round_trip() {
    let s = setup().await;
    let session = MemorySession::new();
    let token = s
        .provider
        .log_in(&s.registry.client::<Idp>(), &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    let idp = s.registry.client::<Idp>();
    let redirect = idp
        .logout_redirect(&session, Some(AFTER_LOGOUT))
        .await
        .unwrap();
    let query: std::collections::HashMap<String, String> =
        redirect.location().query_pairs().into_owned().collect();
    assert_eq!(redirect.location().path(), "/logout");
    assert_eq!(query["id_token_hint"], token.id_token.clone().unwrap());
    assert_eq!(query["post_logout_redirect_uri"], AFTER_LOGOUT);
    assert_eq!(query["client_id"], "test-client");
    assert!(query["state"].len() >= 22);
    assert_eq!(
        session.value("oauth_clients.idp.id_token"),
        None,
        "forgotten at logout"
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = http.get(redirect.location().as_str()).send().await.unwrap();
    assert_eq!(back.status(), 302, "the provider accepted the hint");
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(AFTER_LOGOUT));
    let callback = LogoutCallback::from_query(back.query().unwrap());
    let state = idp
        .validate_logout_response(&session, &callback)
        .await
        .unwrap();
    assert_eq!(
        state,
        LogoutState {
            post_logout_redirect_uri: Some(AFTER_LOGOUT.into())
        }
    );
    assert!(matches!(
        idp.validate_logout_response(&session, &callback).await,
        Err(Error::ReplayedState { provider: "idp" })
    ));
    assert!(matches!(
        idp.validate_logout_response(&session, &LogoutCallback::from_query("state=forged"))
            .await,
        Err(Error::UnknownState { .. })
    ));
    assert!(matches!(
        idp.validate_logout_response(&session, &LogoutCallback::default())
            .await,
        Err(Error::MissingState { .. })
    ));
}

#[tokio::test]
async fn logout_without_an_end_session_endpoint_names_the_provider() {
    let s = setup().await;
    let outcome = s
        .registry
        .client::<Explicit>()
        .logout_redirect(&MemorySession::new(), None)
        .await;
    match outcome {
        Err(
            error @ Error::MissingEndpoint {
                provider: "explicit",
                endpoint: Endpoint::EndSession,
            },
        ) => {
            assert_eq!(
                error.to_string(),
                "provider `explicit` has no end-session endpoint"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refreshed_id_tokens_must_keep_the_subject() {
    let s = setup().await;
    let mut token = login(&s, "alice").await.unwrap();
    token.expires_at = Some(1);
    let idp = s.registry.client::<Idp>();
    let refreshed = idp.refresh(&token).await.unwrap();
    assert_ne!(refreshed.id_token, token.id_token);
    assert_eq!(refreshed.userinfo.as_ref().unwrap().sub(), "alice");

    s.provider
        .configure(|b| b.id_token_hook = Some(claim("sub", json!("mallory"))));
    match idp.refresh(&refreshed).await {
        Err(Error::IdToken {
            reason: IdTokenError::RefreshChanged("sub"),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stored_tokens_can_be_parsed_and_userinfo_fetched_on_demand() {
    let s = setup().await;
    let session = MemorySession::new();
    let idp = s.registry.client::<Idp>();
    let redirect = idp
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let nonce: String = redirect
        .location()
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let back = s
        .provider
        .approve(redirect.location(), "alice")
        .await
        .unwrap();
    let token = idp
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    let stored: Token = serde_json::from_str(&serde_json::to_string(&token).unwrap()).unwrap();
    assert_eq!(
        idp.parse_id_token(&stored, Some(&nonce))
            .await
            .unwrap()
            .sub(),
        "alice"
    );
    assert!(matches!(
        idp.parse_id_token(&stored, Some("other")).await,
        Err(Error::IdToken {
            reason: IdTokenError::WrongNonce,
            ..
        })
    ));
    let answer = idp.userinfo(&stored).await.unwrap();
    assert!(answer.new_token().is_none(), "a fresh token is used as is");
    let info = answer.into_info();
    assert_eq!(info.email(), Some("alice@example.test"));
    assert_eq!(s.provider.count("userinfo"), 1);
}

#[tokio::test]
async fn discovered_metadata_is_readable_with_declared_values_over_it() {
    let s = setup().await;
    let registry = Providers::builder()
        .settings(settings(&s.provider).set(
            "idp",
            "userinfo_endpoint",
            "https://profile.idp.example/me",
        ))
        .env_source(|_| None)
        .build()
        .unwrap();
    let idp = registry.idp();
    let metadata = idp.metadata().await.unwrap();
    let url = |path: &str| Some(s.provider.url(path));
    let shown = |u: Option<&url::Url>| u.map(|u| u.to_string());
    assert_eq!(metadata.issuer(), Some(s.provider.issuer()));
    assert_eq!(shown(metadata.authorization_endpoint()), url("authorize"));
    assert_eq!(shown(metadata.token_endpoint()), url("token"));
    assert_eq!(shown(metadata.jwks_uri()), url("jwks"));
    assert_eq!(shown(metadata.end_session_endpoint()), url("logout"));
    // Declared (here by settings) over discovered.
    assert_eq!(
        shown(metadata.userinfo_endpoint()).as_deref(),
        Some("https://profile.idp.example/me")
    );
    assert_eq!(metadata.id_token_signing_alg_values_supported(), ["RS256"]);
    assert_eq!(
        metadata.scopes_supported(),
        ["openid", "email", "profile", "offline_access"]
    );
    assert_eq!(metadata.code_challenge_methods_supported(), ["S256"]);
    assert_eq!(
        metadata.token_endpoint_auth_methods_supported(),
        ["client_secret_basic", "client_secret_post", "none"]
    );
    assert!(metadata.claims_supported().is_empty());
    assert!(metadata.authorization_response_iss_parameter_supported());
    assert!(metadata.is_discovered());
    // The cached document serves later reads, and logins.
    assert_eq!(idp.metadata().await.unwrap(), metadata);
    assert_eq!(s.provider.count("discovery"), 1);

    // Without discovery: the declaration alone.
    let explicit = registry.explicit().metadata().await.unwrap();
    assert_eq!(explicit.issuer(), Some(s.provider.issuer()));
    assert_eq!(shown(explicit.userinfo_endpoint()), url("userinfo"));
    assert!(explicit.id_token_signing_alg_values_supported().is_empty());
    assert!(explicit.scopes_supported().is_empty());
    assert!(!explicit.is_discovered());
    assert_eq!(s.provider.count("discovery"), 1);
}

#[tokio::test]
async fn advertised_lists_keep_their_strings_and_never_fail_discovery() {
    let s = setup().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(oauth_clients_testing::JsonHook::new(|document| {
            document.insert(
                "scopes_supported".into(),
                json!(["openid", 7, null, "email"]),
            );
            document.insert("claims_supported".into(), json!("sub email"));
        }))
    });
    let metadata = s.registry.idp().metadata().await.unwrap();
    assert_eq!(metadata.scopes_supported(), ["openid", "email"]);
    assert!(metadata.claims_supported().is_empty());
}

/// The local provider, and a registry for it whose token-update hook counts its calls.
async fn setup_with_counting_hook() -> (Setup, Arc<AtomicUsize>) {
    let Setup { provider, .. } = setup().await;
    let updates = Arc::new(AtomicUsize::new(0));
    let counter = updates.clone();
    let registry = Providers::builder()
        .settings(settings(&provider))
        .env_source(|_| None)
        .on_token_update(move |_| {
            let counter = counter.clone();
            async move {
                // A slow store: callers must still wait for it.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap();
    (Setup { provider, registry }, updates)
}

#[tokio::test]
async fn userinfo_refreshes_an_expired_token_first_once_for_all_callers() {
    let (s, updates) = setup_with_counting_hook().await;
    let mut token = login(&s, "alice").await.unwrap();
    // Expired, and no longer accepted: only a refresh before the request can succeed.
    token.expires_at = Some(1);
    token.access_token = "revoked".into();
    let token = Arc::new(token);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (idp, token) = (s.registry.idp(), token.clone());
            tokio::spawn(async move { idp.userinfo(&token).await })
        })
        .collect();
    let mut new_tokens = Vec::new();
    for call in calls {
        let answer = call.await.unwrap().unwrap();
        assert_eq!(answer.info().sub(), "alice");
        assert_eq!(answer.info().email(), Some("alice@example.test"));
        new_tokens.push(answer.new_token().expect("refreshed").access_token.clone());
    }
    new_tokens.dedup();
    assert_eq!(new_tokens.len(), 1, "every caller got the one new token");
    assert_ne!(new_tokens[0], "revoked");
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    assert_eq!(
        updates.load(Ordering::SeqCst),
        1,
        "the hook ran once, awaited"
    );
    assert_eq!(
        s.provider.count("userinfo"),
        8,
        "no request with the expired token"
    );

    // Without a refresh token, an expired token is a typed error, and nothing is sent.
    let mut stale = (*token).clone();
    stale.refresh_token = None;
    let outcome = s.registry.idp().userinfo(&stale).await;
    assert!(
        matches!(outcome, Err(Error::TokenExpired { provider: "idp" })),
        "{outcome:?}"
    );
    assert_eq!(s.provider.count("userinfo"), 8);
}

#[tokio::test]
async fn userinfo_refreshes_once_on_401_when_the_expiry_is_unknown() {
    let (s, updates) = setup_with_counting_hook().await;
    s.provider.configure(|b| b.access_token_ttl = None);
    let mut token = login(&s, "alice").await.unwrap();
    assert_eq!(token.expires_at, None);
    token.access_token = "revoked".into();
    let mut answer = s.registry.idp().userinfo(&token).await.unwrap();
    assert_eq!(answer.info().sub(), "alice");
    let new = answer.take_new_token().expect("refreshed after the 401");
    assert_eq!(s.provider.count("userinfo"), 2, "one 401, one retry");
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    assert_eq!(updates.load(Ordering::SeqCst), 1);

    // The new token is used as is.
    assert!(s
        .registry
        .idp()
        .userinfo(&new)
        .await
        .unwrap()
        .new_token()
        .is_none());
    // A refresh that the provider refuses ends the call with its error: no loop.
    let mut refused = new.clone();
    refused.access_token = "revoked".into();
    refused.refresh_token = Some("unknown".into());
    let outcome = s.registry.idp().userinfo(&refused).await;
    assert!(
        matches!(outcome, Err(ref e) if e.needs_login()),
        "{outcome:?}"
    );
    assert_eq!(s.provider.count("userinfo"), 4);
    assert_eq!(s.provider.count("token.refresh_token"), 2);
}

#[tokio::test]
async fn fetch_userinfo_never_and_always_are_obeyed() {
    for (mode, calls) in [("never", 0), ("always", 1)] {
        let Setup { provider, .. } = setup().await;
        provider.configure(|b| b.claims_in_id_token = false);
        let registry = Providers::builder()
            .settings(settings(&provider).set("idp", "fetch_userinfo", mode))
            .env_source(|_| None)
            .build()
            .unwrap();
        let s = Setup { provider, registry };
        let token = login(&s, "alice").await.unwrap();
        assert_eq!(
            s.provider.count("userinfo"),
            calls,
            "fetch_userinfo: {mode}"
        );
        assert_eq!(
            token.userinfo.unwrap().email().is_some(),
            calls == 1,
            "fetch_userinfo: {mode}"
        );
    }
}
