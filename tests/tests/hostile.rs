//! A provider that lies: every bad input from the security checklist, each refused with its own
//! typed error, no token handed to the application, and (where it matters) the code never
//! redeemed. `TESTING.md` maps each test to the checklist row it covers.

use oauth_clients::{
    oauth_clients, Callback, ConfigError, Endpoint, Error, HttpErrorKind, IdTokenError,
    LogoutCallback, MemorySession, Origin, Problem, Registry, Settings, Token,
};
use oauth_clients_testing::{
    IdTokenHook, IdTokenParts, JsonHook, LoginError, ResponseIss, Signing, TestClient, TestProvider,
};
use serde_json::json;
use std::time::{Duration, SystemTime};
use url::Url;

oauth_clients! {
    idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email profile",
    },
    other_idp {
        server_metadata_url: "https://other.example/.well-known/openid-configuration",
        scope: "openid",
    },
    public_idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid",
        client_id: "public-app",
        token_endpoint_auth_method: none,
    },
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        api_base_url: "https://api.github.com/",
        scope: "user:email",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

struct Setup {
    provider: TestProvider,
    registry: Registry<Providers>,
}

impl Setup {
    async fn new() -> Setup {
        Self::with(|s| s).await
    }

    async fn with(change: impl FnOnce(Settings) -> Settings) -> Setup {
        let provider = TestProvider::builder()
            .client(TestClient {
                client_id: "public-app".into(),
                client_secret: None,
                redirect_uris: vec![REDIRECT_URI.into()],
            })
            .start()
            .await
            .unwrap();
        let settings = provider.oidc_settings_for("idp").set(
            "public_idp",
            "server_metadata_url",
            provider.discovery_url(),
        );
        let settings = provider.add_settings(settings, "github");
        let settings = settings
            .set("other_idp", "server_metadata_url", provider.discovery_url())
            .set("other_idp", "client_id", oauth_clients_testing::CLIENT_ID)
            .set(
                "other_idp",
                "client_secret",
                oauth_clients_testing::CLIENT_SECRET,
            );
        let registry = Providers::builder()
            .settings(change(settings))
            .env_source(|_| None)
            .build()
            .unwrap();
        Setup { provider, registry }
    }

    fn id_token(&self, change: impl Fn(&mut IdTokenParts) + Send + Sync + 'static) {
        self.provider
            .configure(|b| b.id_token_hook = Some(IdTokenHook::new(change)));
    }

    fn allow_hs256(&self) {
        self.provider.configure(|b| {
            b.discovery_hook = Some(JsonHook::new(|doc| {
                doc.insert(
                    "id_token_signing_alg_values_supported".into(),
                    json!(["RS256", "HS256"]),
                );
            }))
        });
    }

    /// Starts a login at `P`, lets the user approve, and returns the session and callback.
    async fn approved<P: oauth_clients::Provider<Set = Providers>>(
        &self,
    ) -> (MemorySession, Callback) {
        let (session, back) = self.approved_url::<P>().await;
        (session, Callback::from_url(&back))
    }

    /// Like [`approved`](Self::approved), with the callback as the URL the provider sent back.
    async fn approved_url<P: oauth_clients::Provider<Set = Providers>>(
        &self,
    ) -> (MemorySession, Url) {
        let session = MemorySession::new();
        let client = self.registry.client::<P>();
        let back = self
            .provider
            .approved_callback(&client, &session, REDIRECT_URI, "alice")
            .await
            .unwrap();
        (session, back)
    }

    /// A whole login of `alice` at `P`.
    async fn login<P: oauth_clients::Provider<Set = Providers>>(
        &self,
    ) -> Result<Token, LoginError> {
        let client = self.registry.client::<P>();
        self.provider
            .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
            .await
    }

    /// A login at `idp` that must fail with this ID-token error, after redeeming the code.
    async fn id_token_refused(&self, expected: IdTokenError) {
        match self.login::<Idp>().await {
            Err(LoginError::AuthorizeAccessToken(Error::IdToken {
                provider: "idp",
                reason,
            })) => assert_eq!(reason, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
        assert_eq!(self.provider.count("token"), 1);
    }

    /// The number of codes redeemed.
    fn redeemed(&self) -> usize {
        self.provider.count("token.authorization_code")
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn set(claim: &'static str, value: serde_json::Value) -> impl Fn(&mut IdTokenParts) + Send + Sync {
    move |t| {
        t.claims.insert(claim.into(), value.clone());
    }
}

fn set_header(
    name: &'static str,
    value: serde_json::Value,
) -> impl Fn(&mut IdTokenParts) + Send + Sync {
    move |t| {
        t.header.insert(name.into(), value.clone());
    }
}

fn remove(claim: &'static str) -> impl Fn(&mut IdTokenParts) + Send + Sync {
    move |t| {
        t.claims.remove(claim);
    }
}

// ---- ID token ----

#[tokio::test]
async fn id_token_bad_rs256_signature() {
    let s = Setup::new().await;
    s.id_token(|t| t.signing = Signing::Corrupt);
    s.id_token_refused(IdTokenError::BadSignature).await;
}

#[tokio::test]
async fn id_token_alg_none_in_every_spelling() {
    for spelling in ["none", "None", "NONE", "nOnE"] {
        let s = Setup::new().await;
        s.id_token(move |t| {
            t.header.insert("alg".into(), json!(spelling));
            t.signing = Signing::Unsigned;
        });
        s.id_token_refused(IdTokenError::Unsigned(spelling.into()))
            .await;
    }
}

#[tokio::test]
async fn id_token_alg_none_with_a_signature_still_present() {
    let s = Setup::new().await;
    s.id_token(set_header("alg", json!("none")));
    s.id_token_refused(IdTokenError::Unsigned("none".into()))
        .await;
}

#[tokio::test]
async fn id_token_hs256_keyed_with_the_public_key_when_only_rs256_is_allowed() {
    let s = Setup::new().await;
    s.id_token(|t| {
        t.header.insert("alg".into(), json!("HS256"));
        t.signing = Signing::Hmac(br#"{"kty":"RSA","n":"...","e":"AQAB"}"#.to_vec());
    });
    s.id_token_refused(IdTokenError::DisallowedAlg("HS256".into()))
        .await;
}

#[tokio::test]
async fn id_token_hs256_keyed_with_the_public_key_when_hs256_is_allowed() {
    let s = Setup::new().await;
    s.allow_hs256();
    s.id_token(|t| {
        t.header.insert("alg".into(), json!("HS256"));
        t.header.remove("kid");
        t.signing = Signing::Hmac(
            b"-----BEGIN PUBLIC KEY-----MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".to_vec(),
        );
    });
    s.id_token_refused(IdTokenError::BadSignature).await;
}

#[tokio::test]
async fn id_token_hs256_with_an_empty_key() {
    let s = Setup::new().await;
    s.allow_hs256();
    s.id_token(|t| {
        t.header.insert("alg".into(), json!("HS256"));
        t.header.remove("kid");
        t.signing = Signing::Hmac(Vec::new());
    });
    s.id_token_refused(IdTokenError::BadSignature).await;
}

#[tokio::test]
async fn id_token_hs256_for_a_public_client() {
    let s = Setup::new().await;
    s.allow_hs256();
    s.id_token(|t| {
        t.header.insert("alg".into(), json!("HS256"));
        t.signing = Signing::Hmac(Vec::new());
    });
    match s.login::<PublicIdp>().await {
        Err(LoginError::AuthorizeAccessToken(Error::IdToken { reason, .. })) => {
            assert_eq!(reason, IdTokenError::DisallowedAlg("HS256".into()))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn id_token_alternate_alg_not_in_the_metadata() {
    let s = Setup::new().await;
    s.id_token(set_header("alg", json!("ES256")));
    s.id_token_refused(IdTokenError::DisallowedAlg("ES256".into()))
        .await;
}

#[tokio::test]
async fn id_token_bad_es256_signature() {
    let s = Setup::new().await;
    s.provider.configure(|b| b.sign_es256 = true);
    s.id_token(|t| t.signing = Signing::Corrupt);
    s.id_token_refused(IdTokenError::BadSignature).await;
}

#[tokio::test]
async fn id_token_es256_naming_an_rsa_key() {
    // The key with that id is the provider's, but an RSA key cannot check an ES256 signature:
    // it is not eligible, whatever the header says.
    let s = Setup::new().await;
    s.provider.configure(|b| b.sign_es256 = true);
    s.id_token(set_header("kid", json!("key-1")));
    s.id_token_refused(IdTokenError::UnknownKey("key-1".into()))
        .await;
}

#[tokio::test]
async fn id_token_typed_as_an_access_token() {
    // A JWT access token (RFC 9068) signed by the same provider is not an ID token.
    let s = Setup::new().await;
    s.id_token(set_header("typ", json!("at+jwt")));
    s.id_token_refused(IdTokenError::UnexpectedType("typ: \"at+jwt\"".into()))
        .await;
}

#[tokio::test]
async fn id_token_announcing_a_nested_jwt() {
    let s = Setup::new().await;
    s.id_token(set_header("cty", json!("JWT")));
    s.id_token_refused(IdTokenError::UnexpectedType("cty: \"JWT\"".into()))
        .await;
}

#[tokio::test]
async fn id_token_forged_with_a_wrong_issuer_says_only_that_the_signature_is_bad() {
    // The signature is checked before the claims: a forgery learns nothing about which of its
    // claims would have passed.
    let s = Setup::new().await;
    s.id_token(|t| {
        t.claims.insert("iss".into(), json!("https://evil.example"));
        t.signing = Signing::Corrupt;
    });
    s.id_token_refused(IdTokenError::BadSignature).await;
}

#[tokio::test]
async fn id_token_audience_list_with_a_non_string() {
    // Not read as one audience (which would need no `azp`): the claim is malformed.
    let s = Setup::new().await;
    s.id_token(set("aud", json!(["test-client", 5])));
    s.id_token_refused(IdTokenError::Malformed(
        "`aud` is not a string or a list of strings".into(),
    ))
    .await;
}

#[tokio::test]
async fn id_token_azp_that_is_not_a_string() {
    let s = Setup::new().await;
    s.id_token(set("azp", json!(["test-client"])));
    s.id_token_refused(IdTokenError::Malformed("`azp` is not a string".into()))
        .await;
}

#[tokio::test]
async fn id_token_wrong_issuer() {
    let s = Setup::new().await;
    s.id_token(set("iss", json!("https://evil.example")));
    let expected = s.provider.issuer().to_string();
    s.id_token_refused(IdTokenError::WrongIssuer {
        expected,
        found: "https://evil.example".into(),
    })
    .await;
}

#[tokio::test]
async fn id_token_issuer_with_a_trailing_slash() {
    let s = Setup::new().await;
    let issuer = format!("{}/", s.provider.issuer());
    let found = issuer.clone();
    s.id_token(set("iss", json!(issuer)));
    let expected = s.provider.issuer().to_string();
    s.id_token_refused(IdTokenError::WrongIssuer { expected, found })
        .await;
}

#[tokio::test]
async fn id_token_missing_issuer() {
    let s = Setup::new().await;
    s.id_token(remove("iss"));
    s.id_token_refused(IdTokenError::MissingClaim("iss")).await;
}

#[tokio::test]
async fn id_token_wrong_audience() {
    let s = Setup::new().await;
    s.id_token(set("aud", json!("another-client")));
    s.id_token_refused(IdTokenError::WrongAudience).await;
}

#[tokio::test]
async fn id_token_missing_audience() {
    let s = Setup::new().await;
    s.id_token(remove("aud"));
    s.id_token_refused(IdTokenError::MissingClaim("aud")).await;
}

#[tokio::test]
async fn id_token_untrusted_extra_audience_without_azp() {
    let s = Setup::new().await;
    s.id_token(set("aud", json!(["test-client", "attacker"])));
    s.id_token_refused(IdTokenError::MissingAuthorizedParty)
        .await;
}

#[tokio::test]
async fn id_token_wrong_azp() {
    let s = Setup::new().await;
    s.id_token(set("azp", json!("attacker")));
    s.id_token_refused(IdTokenError::WrongAuthorizedParty).await;
}

#[tokio::test]
async fn id_token_expired_beyond_the_leeway() {
    let s = Setup::new().await;
    s.id_token(set("exp", json!(now() - 301)));
    s.id_token_refused(IdTokenError::Expired).await;
}

#[tokio::test]
async fn id_token_missing_exp() {
    let s = Setup::new().await;
    s.id_token(remove("exp"));
    s.id_token_refused(IdTokenError::MissingClaim("exp")).await;
}

#[tokio::test]
async fn id_token_issued_in_the_future() {
    let s = Setup::new().await;
    s.id_token(set("iat", json!(now() + 3600)));
    s.id_token_refused(IdTokenError::IssuedInFuture).await;
}

#[tokio::test]
async fn id_token_not_yet_valid_beyond_the_leeway() {
    // `nbf` (RFC 7519 §4.1.5) five minutes ahead, with the default 60 s leeway.
    let s = Setup::new().await;
    s.id_token(set("nbf", json!(now() + 300)));
    s.id_token_refused(IdTokenError::NotYetValid).await;
}

#[tokio::test]
async fn id_token_with_a_non_numeric_nbf() {
    let s = Setup::new().await;
    s.id_token(set("nbf", json!("now")));
    s.id_token_refused(IdTokenError::Malformed("`nbf` is not a number".into()))
        .await;
}

#[tokio::test]
async fn id_token_missing_iat() {
    let s = Setup::new().await;
    s.id_token(remove("iat"));
    s.id_token_refused(IdTokenError::MissingClaim("iat")).await;
}

#[tokio::test]
async fn id_token_missing_nonce() {
    let s = Setup::new().await;
    s.id_token(remove("nonce"));
    s.id_token_refused(IdTokenError::MissingNonce).await;
}

#[tokio::test]
async fn id_token_wrong_nonce() {
    let s = Setup::new().await;
    s.id_token(set("nonce", json!("nonce-of-another-login")));
    s.id_token_refused(IdTokenError::WrongNonce).await;
}

#[tokio::test]
async fn id_token_missing_sub() {
    let s = Setup::new().await;
    s.id_token(remove("sub"));
    s.id_token_refused(IdTokenError::MissingClaim("sub")).await;
}

#[tokio::test]
async fn id_token_with_an_empty_sub() {
    // Refused, and the message says what is wrong: the claim is a string, an empty one.
    let s = Setup::new().await;
    s.id_token(set("sub", json!("")));
    let Err(LoginError::AuthorizeAccessToken(error)) = s.login::<Idp>().await else {
        panic!("the callback was not refused");
    };
    assert_eq!(
        error.to_string(),
        "provider `idp`: the ID token is malformed: `sub` is empty"
    );
    assert!(
        matches!(&error, Error::IdToken { reason: IdTokenError::Malformed(m), .. } if m == "`sub` is empty"),
        "{error:?}"
    );
}

#[tokio::test]
async fn id_token_signed_with_a_key_whose_key_ops_lack_verify() {
    // The provider publishes its signing key for other operations only (RFC 7517 §4.3): it
    // must not verify anything, as a key with `use: enc` must not.
    let s = Setup::new().await;
    s.provider.configure(|b| {
        b.jwks_hook = Some(JsonHook::new(|jwks| {
            for key in jwks["keys"].as_array_mut().unwrap() {
                key["key_ops"] = json!(["encrypt", "wrapKey"]);
            }
        }))
    });
    s.id_token_refused(IdTokenError::UnknownKey("key-1".into()))
        .await;
}

#[tokio::test]
async fn id_token_without_kid_and_several_keys_none_of_which_signed_it() {
    let s = Setup::new().await;
    s.provider.configure(|b| b.publish_all_keys = true);
    s.id_token(|t| {
        t.header.remove("kid");
        // Sign with a key the provider does not publish alongside: forge with the right shape.
        t.signing = Signing::Raw(format!("{}.{}.AAAA", b64(&t.header), b64(&t.claims)));
    });
    s.id_token_refused(IdTokenError::BadSignature).await;
}

fn b64(map: &serde_json::Map<String, serde_json::Value>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::Value::Object(map.clone()).to_string())
}

#[tokio::test]
async fn id_token_signed_with_a_key_the_provider_does_not_publish() {
    let s = Setup::new().await;
    s.id_token(|t| {
        t.header.insert("kid".into(), json!("attacker-key"));
        t.signing = Signing::Key(2);
    });
    s.id_token_refused(IdTokenError::UnknownKey("attacker-key".into()))
        .await;
}

#[tokio::test]
async fn id_token_with_an_embedded_jwk_header_is_not_trusted() {
    // The key in the header is the attacker's own: it must never be used (CVE-2026-27962).
    let s = Setup::new().await;
    s.id_token(|t| {
        t.header.insert(
            "jwk".into(),
            json!({"kty": "RSA", "kid": "attacker", "n": "AQAB", "e": "AQAB"}),
        );
        t.header.insert("kid".into(), json!("attacker"));
        t.signing = Signing::Key(1);
    });
    s.id_token_refused(IdTokenError::UnknownKey("attacker".into()))
        .await;
}

#[tokio::test]
async fn id_token_with_an_unknown_crit_header() {
    let s = Setup::new().await;
    s.id_token(|t| {
        t.header.insert("crit".into(), json!(["x"]));
        t.header.insert("x".into(), json!(true));
    });
    s.id_token_refused(IdTokenError::UnsupportedCritical("[\"x\"]".into()))
        .await;
}

#[tokio::test]
async fn id_token_in_json_serialization() {
    let s = Setup::new().await;
    s.id_token(|t| {
        let payload = b64(&t.claims);
        t.signing = Signing::Raw(json!({"payload": payload, "signatures": [{"protected": "eyJhbGciOiJSUzI1NiJ9", "signature": "AAAA"}]}).to_string());
    });
    s.id_token_refused(IdTokenError::Malformed(
        "not a compact JWS (three dot-separated parts)".into(),
    ))
    .await;
}

#[tokio::test]
async fn id_token_oversized() {
    let s = Setup::new().await;
    s.id_token(set("padding", json!("x".repeat(100_000))));
    s.id_token_refused(IdTokenError::TooLarge).await;
}

#[tokio::test]
async fn id_token_at_hash_of_another_access_token() {
    let s = Setup::new().await;
    s.id_token(set("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")));
    s.id_token_refused(IdTokenError::AtHashMismatch).await;
}

#[tokio::test]
async fn id_token_payload_that_is_not_json() {
    let s = Setup::new().await;
    s.id_token(|t| t.signing = Signing::Raw("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AAAA".into()));
    s.id_token_refused(IdTokenError::Malformed(
        "a part is not a JSON object".into(),
    ))
    .await;
}

#[tokio::test]
async fn token_response_without_an_id_token_for_openid() {
    let s = Setup::new().await;
    s.id_token(|t| t.signing = Signing::Raw(String::new()));
    // An empty id_token is no ID token at all.
    match s.login::<Idp>().await {
        Err(LoginError::AuthorizeAccessToken(Error::IdToken { reason, .. })) => assert!(
            matches!(reason, IdTokenError::Malformed(_) | IdTokenError::Missing),
            "{reason:?}"
        ),
        other => panic!("{other:?}"),
    }
}

// ---- Callback ----

#[tokio::test]
async fn callback_without_state() {
    let s = Setup::new().await;
    let (session, mut callback) = s.approved::<Idp>().await;
    callback.state = None;
    let outcome = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(outcome, Err(Error::MissingState { provider: "idp" })),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_with_a_foreign_state() {
    let s = Setup::new().await;
    let (session, mut callback) = s.approved::<Idp>().await;
    callback.state = Some("attacker-chosen".into());
    let outcome = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(outcome, Err(Error::UnknownState { provider: "idp" })),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_replayed() {
    let s = Setup::new().await;
    let (session, callback) = s.approved::<Idp>().await;
    let idp = s.registry.client::<Idp>();
    idp.authorize_access_token(&session, &callback)
        .await
        .unwrap();
    let outcome = idp.authorize_access_token(&session, &callback).await;
    assert!(
        matches!(outcome, Err(Error::ReplayedState { provider: "idp" })),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 1);
}

#[tokio::test]
async fn callback_after_the_login_expired() {
    let s = Setup::new().await;
    let registry = Providers::builder()
        .settings(s.provider.oidc_settings_for("idp"))
        .env_source(|_| None)
        .allow_unconfigured()
        .login_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let idp = registry.client::<Idp>();
    let session = MemorySession::new();
    let back = s
        .provider
        .approved_callback(&idp, &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcome = idp
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await;
    assert!(
        matches!(outcome, Err(Error::ExpiredState { provider: "idp" })),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_for_a_login_started_at_another_provider() {
    let s = Setup::new().await;
    let (session, callback) = s.approved::<Idp>().await;
    let outcome = s
        .registry
        .client::<OtherIdp>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::UnknownState {
                provider: "other_idp"
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_with_the_attackers_valid_state_in_the_victims_browser() {
    // Login CSRF (CVE-2025-68158): the attacker's own, valid callback, opened by the victim.
    let s = Setup::new().await;
    let (_attacker_session, attacker_callback) = s.approved::<Idp>().await;
    let victim = MemorySession::new();
    let outcome = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&victim, &attacker_callback)
        .await;
    assert!(
        matches!(outcome, Err(Error::UnknownState { .. })),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_whose_pending_login_lost_its_nonce() {
    // "Missing" is not "skip" (next-auth CVE-2023-27490): a pending login stripped of its nonce
    // must fail, not skip the nonce check.
    let s = Setup::new().await;
    let (session, callback) = s.approved::<Idp>().await;
    let key = "oauth_clients.idp.logins";
    let mut stored = session.value(key).unwrap();
    // Each entry is `[state, created_ms, [redirect_uri, code_verifier, nonce]]`.
    for entry in stored.as_array_mut().unwrap() {
        entry[2][2] = serde_json::Value::Null;
    }
    session.set_value(key, stored);
    let outcome = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::IdToken {
                reason: IdTokenError::MissingNonce,
                ..
            })
        ),
        "{outcome:?}"
    );
}

/// The ways an application reads a callback: the library's parsers and the framework
/// extractors (serde).
#[derive(Clone, Copy, Debug)]
enum Parser {
    FromQuery,
    FromUrl,
    AxumQuery,
    AxumForm,
    ActixQuery,
    ActixForm,
}

/// The callback at `url` as `parser` reads it: for a form, its query as a `form_post` body.
/// No parser refuses a repeated parameter: the flow does.
async fn parse(parser: Parser, url: &Url) -> Callback {
    let query = url.query().unwrap_or("").to_string();
    let form = "application/x-www-form-urlencoded";
    match parser {
        Parser::FromQuery => Callback::from_query(&query),
        Parser::FromUrl => Callback::from_url(url),
        Parser::AxumQuery => {
            let uri: axum::http::Uri = url.as_str().parse().unwrap();
            axum::extract::Query::<Callback>::try_from_uri(&uri)
                .unwrap()
                .0
        }
        Parser::AxumForm => {
            use axum::extract::FromRequest;
            let request = axum::http::Request::post("/callback")
                .header("content-type", form)
                .body(axum::body::Body::from(query))
                .unwrap();
            axum::extract::Form::<Callback>::from_request(request, &())
                .await
                .unwrap()
                .0
        }
        Parser::ActixQuery => actix_web::web::Query::<Callback>::from_query(&query)
            .unwrap()
            .into_inner(),
        Parser::ActixForm => {
            use actix_web::FromRequest;
            let (request, mut payload) = actix_web::test::TestRequest::post()
                .insert_header(("content-type", form))
                .set_payload(query)
                .to_http_parts();
            actix_web::web::Form::<Callback>::from_request(&request, &mut payload)
                .await
                .unwrap()
                .into_inner()
        }
    }
}

const CALLBACK_PARAMETERS: [&str; 7] = [
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    // Sign in with Apple's first-login name: read by the callback, so refused repeated too.
    "user",
];

/// Each callback parameter, repeated (RFC 6749 §3.1) in an approved login's callback and
/// read by `parser`, is refused with `RepeatedParameter`: the code is not redeemed, and the
/// state is not consumed, as the clean callback then completes the login.
async fn repeated_parameters_are_refused(parser: Parser) {
    let s = Setup::new().await;
    let idp = s.registry.client::<Idp>();
    for parameter in CALLBACK_PARAMETERS {
        let (session, back) = s.approved_url::<Idp>().await;
        // Once more if the provider sent it, twice if not.
        let sent = back.query_pairs().any(|(name, _)| name == parameter);
        let mut polluted = back.clone();
        for _ in 0..if sent { 1 } else { 2 } {
            polluted
                .query_pairs_mut()
                .append_pair(parameter, "injected");
        }
        let callback = parse(parser, &polluted).await;
        assert_eq!(callback.repeated_parameter(), Some(parameter), "{parser:?}");
        let tokens = s.provider.count("token");
        let outcome = idp.authorize_access_token(&session, &callback).await;
        assert!(
            matches!(outcome, Err(Error::RepeatedParameter { provider: "idp", parameter: p }) if p == parameter),
            "{parser:?}, {parameter}: {outcome:?}"
        );
        assert_eq!(
            s.provider.count("token"),
            tokens,
            "{parser:?}, {parameter}: the code was sent to the token endpoint"
        );
        let clean = parse(parser, &back).await;
        assert_eq!(clean.repeated_parameter(), None);
        let token = idp.authorize_access_token(&session, &clean).await;
        assert_eq!(
            token
                .map(|t| t.userinfo.unwrap().sub().to_string())
                .ok()
                .as_deref(),
            Some("alice"),
            "{parser:?}, {parameter}: the pending login was consumed"
        );
    }
    assert_eq!(s.redeemed(), CALLBACK_PARAMETERS.len());
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_from_query() {
    repeated_parameters_are_refused(Parser::FromQuery).await;
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_from_url() {
    repeated_parameters_are_refused(Parser::FromUrl).await;
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_axum_query() {
    repeated_parameters_are_refused(Parser::AxumQuery).await;
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_axum_form() {
    repeated_parameters_are_refused(Parser::AxumForm).await;
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_actix_query() {
    repeated_parameters_are_refused(Parser::ActixQuery).await;
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_read_by_actix_form() {
    repeated_parameters_are_refused(Parser::ActixForm).await;
}

#[tokio::test]
async fn callback_with_a_repeated_state_says_so() {
    // The attacker's state after the victim's: whichever a parser kept, one login would be
    // completed with a callback it did not send.
    let s = Setup::new().await;
    let (session, mut back) = s.approved_url::<Idp>().await;
    back.query_pairs_mut()
        .append_pair("state", "attacker-chosen");
    let error = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the callback from provider `idp` has the `state` parameter more than once"
    );
    assert_eq!(error.status(), 400);
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_with_a_repeated_parameter_to_exchange_code() {
    // The session-free pair refuses it the same way.
    let s = Setup::new().await;
    let idp = s.registry.client::<Idp>();
    let (url, pending) = idp.authorize_url(REDIRECT_URI).await.unwrap();
    let back = s.provider.approve(&url, "alice").await.unwrap();
    let mut polluted = back.clone();
    polluted.query_pairs_mut().append_pair("code", "injected");
    let outcome = idp
        .exchange_code(&pending, &Callback::from_url(&polluted))
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::RepeatedParameter {
                provider: "idp",
                parameter: "code"
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(s.provider.count("token"), 0);
    idp.exchange_code(&pending, &Callback::from_url(&back))
        .await
        .unwrap();
}

#[tokio::test]
async fn callback_with_the_wrong_iss() {
    let s = Setup::new().await;
    s.provider
        .configure(|b| b.response_iss = ResponseIss::Value("https://evil.example".into()));
    let outcome = s.login::<Idp>().await;
    assert!(
        matches!(
            outcome,
            Err(LoginError::AuthorizeAccessToken(Error::IssuerMismatch {
                source_of: "callback",
                ..
            }))
        ),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_without_iss_when_the_provider_always_sends_it() {
    let s = Setup::new().await;
    s.provider.configure(|b| b.response_iss = ResponseIss::Omit);
    let outcome = s.login::<Idp>().await;
    assert!(
        matches!(
            outcome,
            Err(LoginError::AuthorizeAccessToken(Error::MissingIssuer {
                provider: "idp"
            }))
        ),
        "{outcome:?}"
    );
    assert_eq!(s.redeemed(), 0);
}

#[tokio::test]
async fn callback_error_from_the_wrong_issuer_is_not_believed() {
    let s = Setup::new().await;
    s.provider
        .configure(|b| b.response_iss = ResponseIss::Value("https://evil.example".into()));
    let session = MemorySession::new();
    let idp = s.registry.client::<Idp>();
    let redirect = idp
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = s.provider.deny(redirect.location()).await.unwrap();
    let outcome = idp
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await;
    assert!(
        matches!(outcome, Err(Error::IssuerMismatch { .. })),
        "{outcome:?}"
    );
}

// ---- Discovery ----

#[tokio::test]
async fn discovery_for_another_issuer() {
    let s = Setup::new().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(JsonHook::new(|doc| {
            doc.insert("issuer".into(), json!("https://evil.example"));
        }))
    });
    let outcome = s.registry.client::<Idp>().authorize_url(REDIRECT_URI).await;
    assert!(
        matches!(
            outcome,
            Err(Error::IssuerMismatch {
                source_of: "discovery document",
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn discovery_with_http_endpoints_on_a_remote_host() {
    let s = Setup::new().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(JsonHook::new(|doc| {
            doc.insert("token_endpoint".into(), json!("http://idp.example/token"));
        }))
    });
    match s.registry.client::<Idp>().authorize_url(REDIRECT_URI).await {
        Err(Error::InvalidMetadata { reason, .. }) => assert!(
            reason.contains("`access_token_url` must use `https://`"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn discovery_without_an_issuer() {
    let s = Setup::new().await;
    s.provider.configure(|b| {
        b.discovery_hook = Some(JsonHook::new(|doc| {
            doc.remove("issuer");
        }))
    });
    match s.registry.client::<Idp>().authorize_url(REDIRECT_URI).await {
        Err(Error::InvalidMetadata { reason, .. }) => {
            assert_eq!(reason, "the discovery document has no `issuer`")
        }
        other => panic!("{other:?}"),
    }
}

async fn redirect_not_followed(endpoint: &'static str, expected: Endpoint) {
    let s = Setup::new().await;
    let outcome = if endpoint == "discovery" {
        s.provider.configure(|b| b.redirecting = vec![endpoint]);
        s.registry
            .client::<Idp>()
            .authorize_url(REDIRECT_URI)
            .await
            .map(drop)
    } else {
        // Claims only from userinfo, so a login meets every endpoint under test.
        s.provider.configure(|b| {
            b.claims_in_id_token = false;
            b.redirecting = vec![endpoint];
        });
        match s.login::<Idp>().await {
            Ok(_) => Ok(()),
            Err(LoginError::AuthorizeAccessToken(error)) => Err(error),
            Err(other) => panic!("{endpoint}: the login did not reach the callback: {other:?}"),
        }
    };
    assert!(
        matches!(outcome, Err(Error::Http { endpoint: e, kind: HttpErrorKind::Redirect { status: 302 }, .. }) if e == expected),
        "{endpoint}: {outcome:?}"
    );
    assert_eq!(
        s.provider.count("trap"),
        0,
        "{endpoint}: the redirect was followed"
    );
}

#[tokio::test]
async fn discovery_redirect_to_another_host_is_not_followed() {
    redirect_not_followed("discovery", Endpoint::Discovery).await;
}

#[tokio::test]
async fn jwks_redirect_is_not_followed() {
    redirect_not_followed("jwks", Endpoint::Jwks).await;
}

#[tokio::test]
async fn userinfo_redirect_is_not_followed() {
    redirect_not_followed("userinfo", Endpoint::Userinfo).await;
}

#[tokio::test]
async fn token_endpoint_redirect_is_not_followed() {
    let s = Setup::new().await;
    let (session, callback) = s.approved::<Idp>().await;
    let trap = s.provider.url("trap");
    s.provider.configure(|b| b.token_redirect_to = Some(trap));
    let outcome = s
        .registry
        .client::<Idp>()
        .authorize_access_token(&session, &callback)
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::Http {
                endpoint: Endpoint::Token,
                kind: HttpErrorKind::Redirect { status: 307 },
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(s.provider.count("trap"), 0);
}

// ---- Userinfo ----

#[tokio::test]
async fn userinfo_for_another_subject() {
    let s = Setup::new().await;
    s.provider.configure(|b| {
        b.claims_in_id_token = false;
        b.userinfo_sub = Some("mallory".into());
    });
    let outcome = s.login::<Idp>().await;
    assert!(
        matches!(
            outcome,
            Err(LoginError::AuthorizeAccessToken(
                Error::UserinfoSubjectMismatch { provider: "idp" }
            ))
        ),
        "{outcome:?}"
    );
}

// ---- Token response ----

async fn token_response_refused(
    change: impl FnOnce(&mut oauth_clients_testing::Behaviour),
) -> Error {
    let s = Setup::new().await;
    let (session, callback) = s.approved::<Github>().await;
    s.provider.configure(change);
    s.registry
        .client::<Github>()
        .authorize_access_token(&session, &callback)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn token_response_without_access_token() {
    let error = token_response_refused(|b| b.omit_access_token = true).await;
    assert!(
        matches!(&error, Error::InvalidTokenResponse { reason, .. } if reason == "no `access_token`"),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_with_an_unknown_token_type() {
    let error = token_response_refused(|b| b.token_type = "mac".into()).await;
    assert!(
        matches!(&error, Error::UnsupportedTokenType { token_type, .. } if token_type == "mac"),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_without_a_token_type() {
    // RFC 6749 §5.1: REQUIRED; how to use the token is unknown without it.
    let error = token_response_refused(|b| b.omit_token_type = true).await;
    assert!(
        matches!(&error, Error::InvalidTokenResponse { provider: "github", reason } if reason == "no `token_type`"),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_with_an_error_object() {
    let error = token_response_refused(|b| {
        b.token_override = Some((
            400,
            "application/json".into(),
            r#"{"error":"invalid_grant","error_description":"code expired"}"#.into(),
        ))
    })
    .await;
    assert!(
        matches!(&error, Error::TokenEndpoint { error, status: 400, .. } if error == "invalid_grant"),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_that_is_an_html_error_page() {
    let error = token_response_refused(|b| {
        b.token_override = Some((
            500,
            "text/html".into(),
            "<html><h1>Internal Server Error</h1></html>".into(),
        ))
    })
    .await;
    assert!(
        matches!(
            error,
            Error::Http {
                endpoint: Endpoint::Token,
                kind: HttpErrorKind::Status { status: 500 },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_that_is_html_with_status_200() {
    let error = token_response_refused(|b| {
        b.token_override = Some((200, "text/html".into(), "<html>Sign in again</html>".into()))
    })
    .await;
    assert!(
        matches!(&error, Error::InvalidTokenResponse { reason, .. } if reason.contains("neither a JSON object")),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_with_an_endless_body() {
    let error = token_response_refused(|b| b.token_endless = true).await;
    assert!(
        matches!(
            error,
            Error::Http {
                kind: HttpErrorKind::TooLarge { limit: 1_048_576 },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_response_with_a_negative_expires_in() {
    let error = token_response_refused(|b| {
        b.token_override = Some((
            200,
            "application/json".into(),
            r#"{"access_token":"a","token_type":"Bearer","expires_in":-5}"#.into(),
        ))
    })
    .await;
    assert!(
        matches!(&error, Error::InvalidTokenResponse { reason, .. } if reason == "`expires_in` is negative"),
        "{error:?}"
    );
}

// ---- Refresh ----

async fn refresh_refused(change: impl Fn(&mut IdTokenParts) + Send + Sync + 'static) -> Error {
    let s = Setup::new().await;
    let token = s.login::<Idp>().await.unwrap();
    s.id_token(change);
    s.registry
        .client::<Idp>()
        .refresh(&token)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn refresh_id_token_for_another_subject() {
    let error = refresh_refused(set("sub", json!("mallory"))).await;
    assert!(
        matches!(
            error,
            Error::IdToken {
                reason: IdTokenError::RefreshChanged("sub"),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_id_token_from_another_issuer() {
    let error = refresh_refused(set("iss", json!("https://evil.example"))).await;
    assert!(
        matches!(
            error,
            Error::IdToken {
                reason: IdTokenError::WrongIssuer { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_id_token_with_another_nonce() {
    let error = refresh_refused(set("nonce", json!("another"))).await;
    assert!(
        matches!(
            error,
            Error::IdToken {
                reason: IdTokenError::WrongNonce,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_response_without_a_token_type() {
    let s = Setup::new().await;
    let token = s.login::<Github>().await.unwrap();
    s.provider.configure(|b| b.omit_token_type = true);
    let error = s
        .registry
        .client::<Github>()
        .refresh(&token)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidTokenResponse { provider: "github", reason } if reason == "no `token_type`"),
        "{error:?}"
    );
    assert_eq!(s.provider.count("token.refresh_token"), 1);
}

#[tokio::test]
async fn refresh_id_token_not_yet_valid_beyond_the_leeway() {
    let error = refresh_refused(set("nbf", json!(now() + 300))).await;
    assert!(
        matches!(
            error,
            Error::IdToken {
                reason: IdTokenError::NotYetValid,
                ..
            }
        ),
        "{error:?}"
    );
}

// ---- Settings ----

/// Builds a registry for the suite's providers with `settings` (credentials for every
/// provider but the ones the test changes are not needed: missing ones are tolerated).
fn build_with(settings: Settings) -> Result<Registry<Providers>, ConfigError> {
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
}

/// A problem as its parts, to compare whole: `Problem` is non-exhaustive.
type Described = (String, Option<String>, Origin, String, bool);

fn problem(provider: String, key: Option<String>, origin: Origin, message: String) -> Described {
    // None of these is a value left unset in the environment.
    (provider, key, origin, message, false)
}

fn described(problems: &[Problem]) -> Vec<Described> {
    problems
        .iter()
        .map(|p| {
            (
                p.provider.clone(),
                p.key.clone(),
                p.origin,
                p.message.clone(),
                p.is_unset(),
            )
        })
        .collect()
}

#[test]
fn settings_turning_openid_off_are_refused_at_build() {
    // `idp` is declared OpenID Connect: without `openid` its ID tokens would go unchecked
    // while its type still offers `userinfo` and `logout_redirect`.
    for scope in [
        oauth_clients::SettingValue::from("email profile"),
        oauth_clients::SettingValue::List(vec!["email".into(), "profile".into()]),
    ] {
        let settings = Settings::new()
            .set("idp", "client_id", "id")
            .set("idp", "client_secret", "secret")
            .set("idp", "scope", scope);
        let error = build_with(settings).unwrap_err();
        assert_eq!(
            described(&error.problems),
            [problem("idp".into(), Some("scope".into()), Origin::Settings, "settings cannot change what kind of provider `idp` is: it is declared as an OpenID Connect provider, and a `scope` without `openid` would make it an OAuth 2.0 provider; keep `openid` in `scope`".into())]
        );
    }
}

#[test]
fn settings_turning_openid_on_are_refused_at_build() {
    let settings = Settings::new().set("github", "scope", "openid user:email");
    let kind = problem("github".into(), Some("scope".into()), Origin::Settings, "settings cannot change what kind of provider `github` is: it is declared as an OAuth 2.0 provider, and `openid` in `scope` would make it an OpenID Connect provider; to make it one, add `openid` to its `scope` in `oauth_clients!`".into());
    assert_eq!(
        described(&build_with(settings.clone()).unwrap_err().problems),
        [
            kind.clone(),
            // Reported with it, as every problem is: the provider has no keys to check ID
            // tokens with either.
            problem("github".into(), Some("scope".into()), Origin::Settings, "`openid` in `scope` needs a way to verify ID tokens: declare `server_metadata_url`, or both `issuer` and `jwks_uri`".into()),
        ]
    );
    // With every key an OpenID Connect provider needs, the kind is still the declaration's.
    let complete = settings.set("github", "issuer", "https://github.com").set(
        "github",
        "jwks_uri",
        "https://github.com/jwks",
    );
    assert_eq!(
        described(&build_with(complete.clone()).unwrap_err().problems),
        std::slice::from_ref(&kind)
    );
    // `install` builds the same way, and fails before setting the global registry.
    assert_eq!(
        described(
            &Providers::builder()
                .settings(complete)
                .env_source(|_| None)
                .allow_unconfigured()
                .install()
                .unwrap_err()
                .problems
        ),
        [kind]
    );
}

// ---- Logout ----

/// Starts a logout, then hands `callback` to `validate_logout_response`.
async fn logout_response(callback: LogoutCallback) -> Result<oauth_clients::LogoutState, Error> {
    let s = Setup::new().await;
    let session = MemorySession::new();
    let idp = s.registry.client::<Idp>();
    idp.logout_redirect(&session, Some("http://127.0.0.1:8080/"))
        .await
        .unwrap();
    idp.validate_logout_response(&session, &callback).await
}

#[tokio::test]
async fn logout_response_with_a_foreign_state() {
    let outcome = logout_response(LogoutCallback::from_query("state=random")).await;
    assert!(
        matches!(outcome, Err(Error::UnknownState { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn logout_response_without_state() {
    let outcome = logout_response(LogoutCallback::default()).await;
    assert!(
        matches!(outcome, Err(Error::MissingState { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn logout_response_with_a_repeated_state() {
    // Read by each parser, refused the same way, and the logout's state stays pending.
    let s = Setup::new().await;
    let idp = s.registry.client::<Idp>();
    for parser in ["from_query", "axum Query", "actix Query"] {
        let session = MemorySession::new();
        let redirect = idp
            .logout_redirect(&session, Some("http://127.0.0.1:8080/"))
            .await
            .unwrap();
        let state = redirect
            .location()
            .query_pairs()
            .find(|(name, _)| name == "state")
            .unwrap()
            .1
            .into_owned();
        let read = |query: String| match parser {
            "from_query" => LogoutCallback::from_query(&query),
            "axum Query" => {
                let uri: axum::http::Uri = format!("/logged-out?{query}").parse().unwrap();
                axum::extract::Query::<LogoutCallback>::try_from_uri(&uri)
                    .unwrap()
                    .0
            }
            _ => actix_web::web::Query::<LogoutCallback>::from_query(&query)
                .unwrap()
                .into_inner(),
        };
        let polluted = read(format!("state={state}&state=attacker-chosen"));
        assert_eq!(polluted.repeated_parameter(), Some("state"), "{parser}");
        let outcome = idp.validate_logout_response(&session, &polluted).await;
        assert!(
            matches!(
                outcome,
                Err(Error::RepeatedParameter {
                    provider: "idp",
                    parameter: "state"
                })
            ),
            "{parser}: {outcome:?}"
        );
        let clean = read(format!("state={state}"));
        assert_eq!(
            idp.validate_logout_response(&session, &clean)
                .await
                .unwrap()
                .post_logout_redirect_uri
                .as_deref(),
            Some("http://127.0.0.1:8080/"),
            "{parser}"
        );
    }
}

// ---- What must pass ----

async fn accepted(change: impl FnOnce(&mut oauth_clients_testing::Behaviour)) -> Token {
    let s = Setup::new().await;
    s.provider.configure(change);
    s.login::<Idp>()
        .await
        .expect("a tolerable answer was refused")
}

#[tokio::test]
async fn accepts_aud_as_an_array() {
    let token =
        accepted(|b| b.id_token_hook = Some(IdTokenHook::new(set("aud", json!(["test-client"])))))
            .await;
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
}

#[tokio::test]
async fn accepts_an_extra_audience_with_azp() {
    accepted(|b| {
        b.id_token_hook = Some(IdTokenHook::new(|t| {
            t.claims.insert("aud".into(), json!(["test-client", "api"]));
            t.claims.insert("azp".into(), json!("test-client"));
        }))
    })
    .await;
}

#[tokio::test]
async fn accepts_bearer_in_any_case() {
    let token = accepted(|b| b.token_type = "bEARER".into()).await;
    assert_eq!(token.token_type, "Bearer");
}

#[tokio::test]
async fn accepts_a_token_response_without_expires_in() {
    let token = accepted(|b| b.access_token_ttl = None).await;
    assert_eq!(token.expires_at, None);
}

#[tokio::test]
async fn accepts_no_kid_with_one_key() {
    accepted(|b| {
        b.id_token_hook = Some(IdTokenHook::new(|t| {
            t.header.remove("kid");
        }))
    })
    .await;
}

#[tokio::test]
async fn accepts_no_kid_with_several_keys_one_of_which_signed_it() {
    accepted(|b| {
        b.publish_all_keys = true;
        b.id_token_hook = Some(IdTokenHook::new(|t| {
            t.header.remove("kid");
        }));
    })
    .await;
}

#[tokio::test]
async fn accepts_a_jwks_with_unparsable_and_unknown_keys() {
    accepted(|b| {
        b.jwks_extra = vec![
            json!({"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "abc"}),
            json!({"kty": "RSA", "kid": "broken"}),
            json!("not even an object"),
        ]
    })
    .await;
}

#[tokio::test]
async fn accepts_es256_when_the_provider_allows_it() {
    let token = accepted(|b| b.sign_es256 = true).await;
    let id_token = token.id_token.as_deref().unwrap();
    let header = id_token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
}

#[tokio::test]
async fn accepts_typ_in_its_media_type_spelling() {
    accepted(|b| {
        b.id_token_hook = Some(IdTokenHook::new(set_header(
            "typ",
            json!("application/JWT"),
        )))
    })
    .await;
}

#[tokio::test]
async fn accepts_an_id_token_expired_within_the_leeway() {
    accepted(|b| b.id_token_hook = Some(IdTokenHook::new(set("exp", json!(now() - 30))))).await;
}

#[tokio::test]
async fn accepts_an_id_token_valid_from_within_the_leeway() {
    let token =
        accepted(|b| b.id_token_hook = Some(IdTokenHook::new(set("nbf", json!(now() + 30))))).await;
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
}

#[tokio::test]
async fn accepts_a_refreshed_id_token_valid_from_within_the_leeway() {
    let s = Setup::new().await;
    let token = s.login::<Idp>().await.unwrap();
    let nbf = now() + 30;
    s.id_token(set("nbf", json!(nbf)));
    let refreshed = s.registry.client::<Idp>().refresh(&token).await.unwrap();
    // The new ID token, with its `nbf`, was checked and kept.
    let claims = claims_of(refreshed.id_token.as_deref().unwrap());
    assert_eq!(claims["nbf"], nbf);
    assert_eq!(refreshed.userinfo.unwrap().get("nbf"), Some(&json!(nbf)));
}

#[tokio::test]
async fn accepts_a_key_whose_key_ops_allow_verify() {
    let token = accepted(|b| {
        b.jwks_hook = Some(JsonHook::new(|jwks| {
            for key in jwks["keys"].as_array_mut().unwrap() {
                key["key_ops"] = json!(["verify"]);
            }
        }))
    })
    .await;
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
}

/// The claims of a JWT, unchecked (for tests that look at what was issued).
fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn accepts_hs256_signed_with_the_client_secret_of_a_confidential_client() {
    let s = Setup::new().await;
    s.allow_hs256();
    s.id_token(|t| {
        t.header.insert("alg".into(), json!("HS256"));
        t.header.remove("kid");
        t.signing = Signing::Hmac(oauth_clients_testing::CLIENT_SECRET.as_bytes().to_vec());
    });
    s.login::<Idp>().await.unwrap();
}

#[tokio::test]
async fn accepts_a_callback_without_iss_from_a_provider_that_does_not_advertise_it() {
    accepted(|b| {
        b.response_iss = ResponseIss::Omit;
        b.advertise_response_iss = false;
    })
    .await;
}
