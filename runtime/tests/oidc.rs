//! OpenID Connect against the local provider: discovery, keys, ID-token checks, userinfo,
//! RFC 9207 and RP-initiated logout.

use oauth_clients::testing::{
    IdTokenHook, JsonHook, ResponseIss, Signing, TestClient, TestProvider,
};
use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, IdTokenError, LogoutCallback, LogoutState,
    MemorySession, Registry, Settings, Token,
};
use serde_json::json;
use std::time::SystemTime;

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
        .set("explicit", "client_id", oauth_clients::testing::CLIENT_ID)
        .set(
            "explicit",
            "client_secret",
            oauth_clients::testing::CLIENT_SECRET,
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

async fn try_login<P: oauth_clients::Provider<Set = Providers>>(
    s: &Setup,
    session: &MemorySession,
    user: &str,
) -> Result<Token, Error> {
    let client = s.registry.client::<P>();
    let redirect = client.authorize_redirect(session, REDIRECT_URI).await?;
    let back = s.provider.approve(redirect.location(), user).await.unwrap();
    client
        .authorize_access_token(session, &Callback::from_url(&back))
        .await
}

async fn login(s: &Setup, user: &str) -> Result<Token, Error> {
    try_login::<Idp>(s, &MemorySession::new(), user).await
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn an_oidc_login_validates_the_id_token_and_costs_one_round_trip() {
    let s = setup().await;
    let session = MemorySession::new();
    let token = try_login::<Idp>(&s, &session, "alice").await.unwrap();
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
async fn a_userinfo_answer_for_another_subject_is_rejected() {
    let s = setup().await;
    s.provider.configure(|b| {
        b.claims_in_id_token = false;
        b.userinfo_sub = Some("mallory".into());
    });
    assert!(matches!(
        login(&s, "carol").await,
        Err(Error::UserinfoSubjectMismatch { provider: "idp" })
    ));
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
            Err(Error::IdToken {
                reason: IdTokenError::UnknownKey(kid),
                ..
            }) => {
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

type Case = (&'static str, IdTokenHook, IdTokenError);

fn claim(name: &'static str, value: serde_json::Value) -> IdTokenHook {
    IdTokenHook::new(move |t| {
        t.claims.insert(name.into(), value.clone());
    })
}

fn without(name: &'static str) -> IdTokenHook {
    IdTokenHook::new(move |t| {
        t.claims.remove(name);
    })
}

#[tokio::test]
async fn each_id_token_check_refuses_with_its_own_error() {
    let s = setup().await;
    let issuer = s.provider.issuer().to_string();
    let cases: Vec<Case> = vec![
        (
            "bad signature",
            IdTokenHook::new(|t| t.signing = Signing::Corrupt),
            IdTokenError::BadSignature,
        ),
        (
            "alg none",
            IdTokenHook::new(|t| {
                t.header.insert("alg".into(), json!("none"));
                t.signing = Signing::Unsigned;
            }),
            IdTokenError::Unsigned("none".into()),
        ),
        (
            "HS256 keyed with the public key",
            IdTokenHook::new(|t| {
                t.header.insert("alg".into(), json!("HS256"));
                t.signing = Signing::Hmac(b"-----BEGIN PUBLIC KEY-----".to_vec());
            }),
            IdTokenError::DisallowedAlg("HS256".into()),
        ),
        (
            "wrong iss",
            claim("iss", json!("https://evil.example")),
            IdTokenError::WrongIssuer {
                expected: issuer.clone(),
                found: "https://evil.example".into(),
            },
        ),
        (
            "missing iss",
            without("iss"),
            IdTokenError::MissingClaim("iss"),
        ),
        (
            "wrong aud",
            claim("aud", json!("someone-else")),
            IdTokenError::WrongAudience,
        ),
        (
            "missing aud",
            without("aud"),
            IdTokenError::MissingClaim("aud"),
        ),
        (
            "extra aud without azp",
            claim("aud", json!(["test-client", "other"])),
            IdTokenError::MissingAuthorizedParty,
        ),
        (
            "wrong azp",
            claim("azp", json!("other")),
            IdTokenError::WrongAuthorizedParty,
        ),
        (
            "expired",
            claim("exp", json!(now() - 120)),
            IdTokenError::Expired,
        ),
        (
            "missing exp",
            without("exp"),
            IdTokenError::MissingClaim("exp"),
        ),
        (
            "iat in the future",
            claim("iat", json!(now() + 120)),
            IdTokenError::IssuedInFuture,
        ),
        (
            "missing nonce",
            without("nonce"),
            IdTokenError::MissingNonce,
        ),
        (
            "wrong nonce",
            claim("nonce", json!("another-login")),
            IdTokenError::WrongNonce,
        ),
        (
            "missing sub",
            without("sub"),
            IdTokenError::MissingClaim("sub"),
        ),
        (
            "wrong at_hash",
            claim("at_hash", json!("AAAAAAAAAAAAAAAAAAAAAA")),
            IdTokenError::AtHashMismatch,
        ),
        (
            "unknown crit",
            IdTokenHook::new(|t| {
                t.header.insert("crit".into(), json!(["exp-new"]));
            }),
            IdTokenError::UnsupportedCritical("[\"exp-new\"]".into()),
        ),
        (
            "JSON serialization",
            IdTokenHook::new(|t| {
                t.signing = Signing::Raw(json!({"payload": "e30", "signatures": []}).to_string());
            }),
            IdTokenError::Malformed("not a compact JWS (three dot-separated parts)".into()),
        ),
        (
            "oversized",
            claim("padding", json!("x".repeat(70_000))),
            IdTokenError::TooLarge,
        ),
        (
            "no kid, several keys, none matching",
            IdTokenHook::new(|t| {
                t.header.remove("kid");
                t.signing = Signing::Key(2);
            }),
            IdTokenError::BadSignature,
        ),
    ];
    s.provider.configure(|b| b.publish_all_keys = false);
    for (name, hook, expected) in cases {
        s.provider.configure(|b| {
            b.id_token_hook = Some(hook);
            // The last case needs several published keys (none of which signed it).
            b.publish_all_keys = name.starts_with("no kid");
        });
        let tokens_before = s.provider.count("token");
        let outcome = login(&s, "alice").await;
        match outcome {
            Err(Error::IdToken {
                provider: "idp",
                reason,
            }) => {
                assert_eq!(reason, expected, "case `{name}`")
            }
            other => panic!("case `{name}`: expected {expected:?}, got {other:?}"),
        }
        assert_eq!(
            s.provider.count("token"),
            tokens_before + 1,
            "case `{name}`"
        );
    }
}

#[tokio::test]
async fn tolerable_id_tokens_are_accepted() {
    let s = setup().await;
    let cases: Vec<(&str, IdTokenHook, bool)> = vec![
        (
            "aud as an array",
            claim("aud", json!(["test-client"])),
            false,
        ),
        (
            "extra aud with azp",
            IdTokenHook::new(|t| {
                t.claims.insert("aud".into(), json!(["test-client", "api"]));
                t.claims.insert("azp".into(), json!("test-client"));
            }),
            false,
        ),
        (
            "expired within the leeway",
            claim("exp", json!(now() - 30)),
            false,
        ),
        (
            "no kid, one key",
            IdTokenHook::new(|t| {
                t.header.remove("kid");
            }),
            false,
        ),
        (
            "no kid, several keys, one matching",
            IdTokenHook::new(|t| {
                t.header.remove("kid");
            }),
            true,
        ),
        ("no at_hash", without("at_hash"), false),
    ];
    for (name, hook, all_keys) in cases {
        s.provider.configure(|b| {
            b.id_token_hook = Some(hook);
            b.publish_all_keys = all_keys;
            b.jwks_extra = vec![
                json!({"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "abc"}),
                json!({"kty": "RSA", "kid": "broken"}),
            ];
        });
        login(&s, "alice")
            .await
            .unwrap_or_else(|e| panic!("case `{name}`: {e:?}"));
    }
}

#[tokio::test]
async fn rfc9207_issuer_in_the_callback_is_checked_before_the_code_is_redeemed() {
    let s = setup().await;
    s.provider.configure(|b| b.response_iss = ResponseIss::Omit);
    assert!(matches!(
        login(&s, "alice").await,
        Err(Error::MissingIssuer { provider: "idp" })
    ));
    s.provider
        .configure(|b| b.response_iss = ResponseIss::Value("https://evil.example".into()));
    match login(&s, "alice").await {
        Err(Error::IssuerMismatch {
            expected,
            found,
            source_of,
            ..
        }) => {
            assert_eq!(expected, s.provider.issuer());
            assert_eq!(found, "https://evil.example");
            assert_eq!(source_of, "callback");
        }
        other => panic!("{other:?}"),
    }
    // An error callback from the wrong issuer is not believed either.
    let session = MemorySession::new();
    let idp = s.registry.client::<Idp>();
    let redirect = idp
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = s.provider.deny(redirect.location()).await.unwrap();
    assert!(matches!(
        idp.authorize_access_token(&session, &Callback::from_url(&back))
            .await,
        Err(Error::IssuerMismatch { .. })
    ));
    assert_eq!(s.provider.count("token"), 0, "no code was redeemed");

    // Without the advertisement, a missing `iss` is accepted.
    s.provider.configure(|b| {
        b.response_iss = ResponseIss::Omit;
        b.advertise_response_iss = false;
    });
    let fresh = Providers::builder()
        .settings(settings(&s.provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    let s = Setup {
        provider: s.provider,
        registry: fresh,
    };
    login(&s, "alice").await.unwrap();
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let s = setup().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(JsonHook::new(|doc| {
            doc.insert("issuer".into(), json!("https://evil.example"));
        }))
    });
    match s.registry.client::<Idp>().authorize_url(REDIRECT_URI).await {
        Err(Error::IssuerMismatch {
            source_of: "discovery document",
            found,
            ..
        }) => {
            assert_eq!(found, "https://evil.example")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_provider_declared_without_discovery_works() {
    let s = setup().await;
    let token = try_login::<Explicit>(&s, &MemorySession::new(), "dave")
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().email(), Some("dave@example.test"));
    assert_eq!(s.provider.count("discovery"), 0);
    assert_eq!(s.provider.count("jwks"), 1);
}

#[tokio::test]
async fn a_public_client_logs_in_with_pkce_only() {
    let s = setup().await;
    let token = try_login::<PublicIdp>(&s, &MemorySession::new(), "erin")
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "erin");
    assert_eq!(s.provider.count("token.auth.none"), 1);
}

#[tokio::test]
async fn rp_initiated_logout_round_trip() {
    let s = setup().await;
    let session = MemorySession::new();
    let token = try_login::<Idp>(&s, &session, "alice").await.unwrap();
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
        idp.validate_logout_response(
            &session,
            &LogoutCallback {
                state: Some("forged".into())
            }
        )
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
    let info = idp.userinfo(&stored).await.unwrap();
    assert_eq!(info.email(), Some("alice@example.test"));
    assert_eq!(s.provider.count("userinfo"), 1);
}

#[tokio::test]
async fn a_stale_discovery_document_is_refreshed_in_the_background_and_kept_if_that_fails() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let s = setup().await;
    let offset = std::sync::Arc::new(AtomicU64::new(0));
    let clock = offset.clone();
    let registry = Providers::builder()
        .settings(settings(&s.provider))
        .env_source(|_| None)
        .clock(move || {
            SystemTime::now() + std::time::Duration::from_secs(clock.load(Ordering::SeqCst))
        })
        .build()
        .unwrap();
    let s = Setup {
        provider: s.provider,
        registry,
    };
    // The clock moves hours ahead: ID tokens must outlive that.
    s.provider
        .configure(|b| b.id_token_ttl = std::time::Duration::from_secs(86_400));
    let wait_for = |name: &'static str, n: usize| {
        let provider = &s.provider;
        async move {
            for _ in 0..200 {
                if provider.count(name) >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("{name} never reached {n} requests");
        }
    };
    login(&s, "alice").await.unwrap();
    assert_eq!(s.provider.count("discovery"), 1);

    // Past its max-age (3600 s): served stale, refreshed in the background.
    offset.store(7_200, Ordering::SeqCst);
    login(&s, "alice").await.unwrap();
    wait_for("discovery", 2).await;

    // The refresh fails: logins go on with the document already held, and the provider is not
    // asked again on every login.
    s.provider.configure(|b| b.discovery_status = Some(500));
    offset.store(14_400, Ordering::SeqCst);
    login(&s, "alice").await.unwrap();
    wait_for("discovery", 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    login(&s, "alice").await.unwrap();
    login(&s, "alice").await.unwrap();
    assert_eq!(s.provider.count("discovery"), 3);

    // The keys endpoint down while the cached keys are valid: logins continue.
    s.provider.configure(|b| b.jwks_status = Some(503));
    login(&s, "alice").await.unwrap();
}

#[tokio::test]
async fn hmac_id_tokens_need_the_client_secret_of_a_confidential_client() {
    let s = setup().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(JsonHook::new(|doc| {
            doc.insert(
                "id_token_signing_alg_values_supported".into(),
                json!(["RS256", "HS256"]),
            );
        }))
    });
    let hs256 = |key: &'static [u8]| {
        IdTokenHook::new(move |t| {
            t.header.insert("alg".into(), json!("HS256"));
            t.header.remove("kid");
            t.signing = Signing::Hmac(key.to_vec());
        })
    };
    s.provider.configure(|b| {
        b.id_token_hook = Some(hs256(oauth_clients::testing::CLIENT_SECRET.as_bytes()))
    });
    login(&s, "alice").await.unwrap();

    s.provider
        .configure(|b| b.id_token_hook = Some(hs256(b"the provider's public key bytes")));
    assert!(matches!(
        login(&s, "alice").await,
        Err(Error::IdToken {
            reason: IdTokenError::BadSignature,
            ..
        })
    ));

    // A public client has no secret: anyone could make such a signature.
    s.provider.configure(|b| b.id_token_hook = Some(hs256(b"")));
    match try_login::<PublicIdp>(&s, &MemorySession::new(), "alice").await {
        Err(Error::IdToken {
            reason: IdTokenError::DisallowedAlg(alg),
            ..
        }) => assert_eq!(alg, "HS256"),
        other => panic!("{other:?}"),
    }
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
