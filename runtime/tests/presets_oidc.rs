//! OpenID Connect presets logging in end to end against the local provider, made to answer as
//! each real provider documents: Microsoft's multi-tenant issuer template and tenant
//! allow-list, Google's scheme-less issuer and hosted domain, Sign in with Apple's signed
//! client secret and first-login name, and one login for each other OpenID Connect preset.
//! Every mock quirk names the document it follows.

use oauth_clients::{
    oauth_clients, Callback, ConfigError, Error, IdTokenError, MemorySession, Profile, Provider,
    Registry, Settings, Token,
};
use oauth_clients_testing::{
    IdTokenHook, IdTokenParts, JsonHook, LoginError, ResponseIss, SignedSecretKey, TestClient,
    TestProvider,
};
use serde_json::{json, Value};

oauth_clients! {
    microsoft {
        tenant: "common",
        allowed_tenants: "72f988bf-86f1-41af-91ab-2d7cd011db47 9188040d-6c67-4c5b-b112-36a304b66dad",
    },
    google,
    gitlab,
    linkedin,
    slack,
    okta { domain: "dev-123456.okta.com" },
    auth0 { domain: "example.us.auth0.com" },
    keycloak { base_url: "https://sso.example.com", realm: "demo" },
    cognito { region: "us-east-1", user_pool_id: "us-east-1_AbCdEf123" },
    salesforce,
    yahoo,
}

/// Microsoft declared without an allow-list: users of every tenant may sign in.
mod any_tenant {
    use oauth_clients::oauth_clients;
    oauth_clients! {
        pub AnyTenant;
        microsoft { tenant: "common" },
    }
}

/// Google restricted to one Workspace domain.
mod workspace {
    use oauth_clients::oauth_clients;
    oauth_clients! {
        pub Workspace;
        google { hosted_domain: "example.com" },
    }
}

/// Sign in with Apple, in a registry of its own: its credentials come from the environment.
mod sign_in_with_apple {
    use oauth_clients::oauth_clients;
    oauth_clients! {
        pub AppleOnly;
        apple { team_id: "ABCDE12345", key_id: "XYZ9876543" },
    }
}

use any_tenant::AnyTenant;
use sign_in_with_apple::AppleOnly;
use workspace::Workspace;

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
/// Two tenants on the allow-list: a work tenant, and personal Microsoft accounts' tenant.
const TENANT_A: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const TENANT_B: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// A tenant on no list.
const TENANT_OTHER: &str = "0b0b0b0b-1111-4222-8333-444444444444";

fn hook(change: impl Fn(&mut IdTokenParts) + Send + Sync + 'static) -> Option<IdTokenHook> {
    Some(IdTokenHook::new(change))
}

fn discovery_issuer(issuer: String) -> Option<JsonHook> {
    Some(JsonHook::new(move |document| {
        document.insert("issuer".into(), json!(issuer));
    }))
}

fn profile(token: &Token) -> &Profile {
    token
        .profile()
        .expect("an OpenID Connect login has a profile")
}

/// The ID-token error of a login that must fail at `authorize_access_token`.
fn id_token_refusal(outcome: Result<Token, LoginError>, provider: &str) -> IdTokenError {
    match outcome {
        Err(LoginError::AuthorizeAccessToken(Error::IdToken {
            provider: found,
            reason,
        })) if found == provider => reason,
        other => panic!("expected an ID-token refusal by `{provider}`: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Microsoft Entra ID
// ---------------------------------------------------------------------------------------------

/// The local provider as Microsoft's `common` endpoint: discovery publishes the issuer template
/// `.../{tenantid}/v2.0` ("OpenID Connect on the Microsoft identity platform",
/// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc), and no
/// RFC 9207 `iss` is sent or advertised.
async fn microsoft_provider() -> TestProvider {
    let provider = TestProvider::builder().start().await.unwrap();
    let template = format!("{}/{{tenantid}}/v2.0", provider.issuer());
    provider.configure(|b| {
        b.discovery_hook = discovery_issuer(template);
        b.response_iss = ResponseIss::Omit;
        b.advertise_response_iss = false;
    });
    provider
}

fn microsoft_settings(provider: &TestProvider) -> Settings {
    provider.oidc_settings_for("microsoft").set(
        "microsoft",
        "issuer",
        format!("{}/common/v2.0", provider.issuer()),
    )
}

/// The registry with `microsoft` pointed at `provider` (see [`microsoft_settings`]).
fn microsoft_registry(provider: &TestProvider) -> Registry<Providers> {
    Providers::builder()
        .allow_unconfigured()
        .settings(microsoft_settings(provider))
        .env_source(|_| None)
        .build()
        .unwrap()
}

/// ID tokens as Microsoft issues them for a user of tenant `tid` ("ID token claims reference",
/// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference):
/// `iss` names the tenant `iss_tenant` (normally `tid` itself), `sub` is per application, `oid`
/// is the user's object id; `tid` is left out when `None`. `email_verified` is set to `true`,
/// which Microsoft never vouches for.
fn microsoft_tokens(provider: &TestProvider, iss_tenant: &str, tid: Option<&str>, oid: &str) {
    let iss = format!("{}/{iss_tenant}/v2.0", provider.issuer());
    let (tid, oid) = (tid.map(str::to_string), oid.to_string());
    provider.configure(|b| {
        b.id_token_hook = hook(move |parts| {
            parts.claims.insert("iss".into(), json!(iss));
            parts.claims.insert("sub".into(), json!("pairwise-per-app"));
            parts.claims.insert("oid".into(), json!(oid));
            parts.claims.insert("email_verified".into(), json!(true));
            match &tid {
                Some(tid) => parts.claims.insert("tid".into(), json!(tid)),
                None => parts.claims.remove("tid"),
            };
        })
    });
}

#[tokio::test]
async fn microsoft_common_accepts_allowed_tenants_with_tenant_and_object_id_as_identity() {
    let provider = microsoft_provider().await;
    let registry = microsoft_registry(&provider);
    let microsoft = registry.client::<Microsoft>();

    for (tid, oid) in [(TENANT_A, "oid-of-alice"), (TENANT_B, "oid-of-bob")] {
        microsoft_tokens(&provider, tid, Some(tid), oid);
        let token = provider
            .log_in(&microsoft, &MemorySession::new(), REDIRECT_URI, "alice")
            .await
            .unwrap();
        let profile = profile(&token);
        let issuer = format!("{}/{tid}/v2.0", provider.issuer());
        assert_eq!(profile.identity(), (issuer.as_str(), oid));
        assert_eq!(profile.provider, "microsoft");
        assert_eq!(profile.email.as_deref(), Some("alice@example.test"));
        // The token says `email_verified: true`; Microsoft lets tenants set addresses
        // unverified ("Migrate off email claim for authorization",
        // https://learn.microsoft.com/en-us/entra/identity-platform/migrate-off-email-claim-authorization).
        assert!(!profile.email_verified);
        assert_eq!(profile.raw["tid"], json!(tid));
    }
    assert_eq!(provider.count("token.authorization_code"), 2);
}

#[tokio::test]
async fn microsoft_refuses_other_tenants_mismatched_issuers_and_tokens_without_tid() {
    let provider = microsoft_provider().await;
    let registry = microsoft_registry(&provider);
    let microsoft = registry.client::<Microsoft>();
    let log_in = || async {
        provider
            .log_in(&microsoft, &MemorySession::new(), REDIRECT_URI, "eve")
            .await
    };

    // A well-formed token of a tenant that is not on the allow-list.
    microsoft_tokens(&provider, TENANT_OTHER, Some(TENANT_OTHER), "oid-of-eve");
    assert_eq!(
        id_token_refusal(log_in().await, "microsoft"),
        IdTokenError::TenantNotAllowed(TENANT_OTHER.into())
    );

    // `iss` names an allowed tenant, `tid` another: the issuer must be the token's own
    // tenant's ("Validate the issuer",
    // https://learn.microsoft.com/en-us/entra/identity-platform/claims-validation).
    microsoft_tokens(&provider, TENANT_A, Some(TENANT_B), "oid-of-eve");
    assert_eq!(
        id_token_refusal(log_in().await, "microsoft"),
        IdTokenError::WrongIssuer {
            expected: format!("{}/{TENANT_B}/v2.0", provider.issuer()),
            found: format!("{}/{TENANT_A}/v2.0", provider.issuer()),
        }
    );

    // No `tid` at all: nothing to fill the template with.
    microsoft_tokens(&provider, TENANT_A, None, "oid-of-eve");
    assert_eq!(
        id_token_refusal(log_in().await, "microsoft"),
        IdTokenError::MissingClaim("tid")
    );

    // Each was refused after the code exchange, at the ID-token check.
    assert_eq!(provider.count("token.authorization_code"), 3);
}

/// RFC 9207 at Microsoft's multi-tenant endpoints: the callback's `iss` may name any tenant
/// before the code is redeemed, so it must then be the validated ID token's own issuer; the
/// template itself is never an issuer.
#[tokio::test]
async fn microsoft_callback_issuers_must_be_the_id_tokens() {
    let provider = microsoft_provider().await;
    let registry = microsoft_registry(&provider);
    let microsoft = registry.client::<Microsoft>();
    microsoft_tokens(&provider, TENANT_A, Some(TENANT_A), "oid-of-alice");
    let log_in = |iss: String| {
        provider.configure(|b| b.response_iss = ResponseIss::Value(iss));
        async {
            provider
                .log_in(&microsoft, &MemorySession::new(), REDIRECT_URI, "alice")
                .await
        }
    };
    let tenant_a = format!("{}/{TENANT_A}/v2.0", provider.issuer());
    let tenant_b = format!("{}/{TENANT_B}/v2.0", provider.issuer());

    // Tenant A's login, with tenant A's issuer in the callback: signed in.
    assert!(log_in(tenant_a.clone()).await.is_ok());
    // Another (allowed) tenant's issuer in the callback of tenant A's login: a mix-up.
    match log_in(tenant_b.clone()).await {
        Err(LoginError::AuthorizeAccessToken(Error::IssuerMismatch {
            expected, found, ..
        })) => assert_eq!((expected, found), (tenant_a, tenant_b)),
        other => panic!("expected an issuer mismatch: {other:?}"),
    }
    // The template is refused before the code is redeemed.
    let redeemed = provider.count("token.authorization_code");
    let template = format!("{}/{{tenantid}}/v2.0", provider.issuer());
    assert!(matches!(
        log_in(template).await,
        Err(LoginError::AuthorizeAccessToken(
            Error::IssuerMismatch { .. }
        ))
    ));
    assert_eq!(provider.count("token.authorization_code"), redeemed);
}

#[tokio::test]
async fn microsoft_without_an_allow_list_accepts_any_tenant_but_still_checks_the_issuer() {
    let provider = microsoft_provider().await;
    let registry = AnyTenant::builder()
        .settings(microsoft_settings(&provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    let microsoft = registry.client::<any_tenant::Microsoft>();

    microsoft_tokens(&provider, TENANT_OTHER, Some(TENANT_OTHER), "oid-of-carol");
    let token = provider
        .log_in(&microsoft, &MemorySession::new(), REDIRECT_URI, "carol")
        .await
        .unwrap();
    let issuer = format!("{}/{TENANT_OTHER}/v2.0", provider.issuer());
    assert_eq!(
        profile(&token).identity(),
        (issuer.as_str(), "oid-of-carol")
    );
    assert!(!profile(&token).email_verified);

    microsoft_tokens(&provider, TENANT_A, Some(TENANT_OTHER), "oid-of-carol");
    assert_eq!(
        id_token_refusal(
            provider
                .log_in(&microsoft, &MemorySession::new(), REDIRECT_URI, "carol")
                .await,
            "microsoft",
        ),
        IdTokenError::WrongIssuer {
            expected: issuer.clone(),
            found: format!("{}/{TENANT_A}/v2.0", provider.issuer()),
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Google
// ---------------------------------------------------------------------------------------------

const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The local provider as Google: discovery publishes `https://accounts.google.com`, ID tokens
/// carry `iss` as `iss_claim` and `hd` when given, and no RFC 9207 `iss` is sent. Google
/// documents that an ID token's `iss` is `https://accounts.google.com` or
/// `accounts.google.com` ("OpenID Connect",
/// https://developers.google.com/identity/openid-connect/openid-connect). The issuer is only an
/// identifier: the endpoints still come from the local discovery document.
fn google_tokens(provider: &TestProvider, iss_claim: &str, hd: Option<&str>) {
    let (iss, hd) = (iss_claim.to_string(), hd.map(str::to_string));
    provider.configure(|b| {
        b.discovery_hook = discovery_issuer(GOOGLE_ISSUER.into());
        b.response_iss = ResponseIss::Omit;
        b.advertise_response_iss = false;
        b.id_token_hook = hook(move |parts| {
            parts.claims.insert("iss".into(), json!(iss));
            if let Some(hd) = &hd {
                parts.claims.insert("hd".into(), json!(hd));
            }
        });
    });
}

fn google_settings(provider: &TestProvider) -> Settings {
    provider
        .oidc_settings_for("google")
        .set("google", "issuer", GOOGLE_ISSUER)
}

#[tokio::test]
async fn google_accepts_its_issuer_with_and_without_scheme_as_one_identity() {
    let provider = TestProvider::builder().start().await.unwrap();
    let registry = Providers::builder()
        .allow_unconfigured()
        .settings(google_settings(&provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    let google = registry.client::<Google>();

    let mut identities = Vec::new();
    for iss in ["accounts.google.com", GOOGLE_ISSUER] {
        google_tokens(&provider, iss, None);
        let token = provider
            .log_in(&google, &MemorySession::new(), REDIRECT_URI, "alice")
            .await
            .unwrap();
        let profile = profile(&token);
        identities.push((profile.issuer.clone(), profile.subject.clone()));
        assert!(profile.email_verified);
        assert_eq!(profile.name.as_deref(), Some("Alice"));
    }
    assert_eq!(
        identities,
        vec![(GOOGLE_ISSUER.to_string(), "alice".to_string()); 2]
    );

    // Only the `https://` scheme may be left out: another one, or another host, is refused.
    for wrong in [
        "http://accounts.google.com",
        "accounts.google.com.evil.example",
    ] {
        google_tokens(&provider, wrong, None);
        assert_eq!(
            id_token_refusal(
                provider
                    .log_in(&google, &MemorySession::new(), REDIRECT_URI, "alice")
                    .await,
                "google"
            ),
            IdTokenError::WrongIssuer {
                expected: GOOGLE_ISSUER.into(),
                found: wrong.into(),
            }
        );
    }
}

fn query(url: &url::Url, name: &str) -> Vec<String> {
    url.query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

#[tokio::test]
async fn google_asks_for_offline_access_and_a_hosted_domain_is_sent_and_enforced() {
    let provider = TestProvider::builder().start().await.unwrap();

    // Without `hosted_domain`: `access_type=offline` for a refresh token
    // (https://developers.google.com/identity/protocols/oauth2/web-server#offline), no `hd`.
    google_tokens(&provider, GOOGLE_ISSUER, None);
    let plain = Providers::builder()
        .allow_unconfigured()
        .settings(google_settings(&provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    let redirect = plain
        .client::<Google>()
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(query(redirect.location(), "access_type"), ["offline"]);
    assert!(query(redirect.location(), "hd").is_empty());

    // With it: `hd` in the request ("hd" parameter,
    // https://developers.google.com/identity/openid-connect/openid-connect#hd-param).
    let registry = Workspace::builder()
        .settings(google_settings(&provider))
        .env_source(|_| None)
        .build()
        .unwrap();
    let google = registry.client::<workspace::Google>();
    let session = MemorySession::new();
    let redirect = google
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(query(redirect.location(), "hd"), ["example.com"]);
    assert_eq!(query(redirect.location(), "access_type"), ["offline"]);

    // The `hd` claim is what proves the account is the domain's: accepted when it is...
    google_tokens(&provider, GOOGLE_ISSUER, Some("example.com"));
    let back = provider
        .approve(redirect.location(), "alice")
        .await
        .unwrap();
    let token = google
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(profile(&token).raw["hd"], json!("example.com"));
    assert_eq!(profile(&token).identity(), (GOOGLE_ISSUER, "alice"));

    // ... refused for another domain, and for a consumer account, which has no `hd`.
    for (hd, found) in [
        (Some("other.example"), Some("other.example".to_string())),
        (None, None),
    ] {
        google_tokens(&provider, GOOGLE_ISSUER, hd);
        assert_eq!(
            id_token_refusal(
                provider
                    .log_in(&google, &MemorySession::new(), REDIRECT_URI, "mallory")
                    .await,
                "google"
            ),
            IdTokenError::WrongHostedDomain {
                expected: "example.com".into(),
                found,
            }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Sign in with Apple
// ---------------------------------------------------------------------------------------------

const APPLE_CLIENT: &str = "com.example.web";

/// A new P-256 key: its PKCS#8 PEM (what Apple hands out as a `.p8` file) and its public point.
fn p256_key() -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    (key.serialize_pem(), key.public_key_raw().to_vec())
}

/// The local provider as Apple's token endpoint: the client authenticates with an ES256 JWT
/// made from its `.p8` key ("Creating a client secret",
/// https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret),
/// and ID tokens carry `email_verified` and `is_private_email` as strings ("Authenticating
/// users with Sign in with Apple",
/// https://developer.apple.com/documentation/signinwithapple/authenticating-users-with-sign-in-with-apple).
async fn apple_provider(public_key: Vec<u8>) -> TestProvider {
    TestProvider::builder()
        .signed_secret_client(
            TestClient {
                client_id: APPLE_CLIENT.into(),
                client_secret: None,
                redirect_uris: vec![REDIRECT_URI.into()],
            },
            SignedSecretKey {
                team_id: "ABCDE12345".into(),
                key_id: "XYZ9876543".into(),
                public_key,
            },
        )
        .behaviour(|b| {
            b.id_token_hook = hook(|parts| {
                parts
                    .claims
                    .insert("email".into(), json!("x7k2@privaterelay.appleid.com"));
                parts.claims.insert("email_verified".into(), json!("true"));
                parts
                    .claims
                    .insert("is_private_email".into(), json!("true"));
            })
        })
        .start()
        .await
        .unwrap()
}

fn apple_registry(
    provider: &TestProvider,
    private_key: String,
) -> Result<Registry<AppleOnly>, ConfigError> {
    AppleOnly::builder()
        .settings(Settings::new().set("apple", "server_metadata_url", provider.discovery_url()))
        .env_source(move |var| match var {
            "APPLE_CLIENT_ID" => Some(APPLE_CLIENT.into()),
            "APPLE_PRIVATE_KEY" => Some(private_key.clone()),
            _ => None,
        })
        .build()
}

#[tokio::test]
async fn apple_signs_its_client_secret_and_names_the_user_on_the_first_login_only() {
    let (pem, public_key) = p256_key();
    let provider = apple_provider(public_key).await;
    let registry = apple_registry(&provider, pem).unwrap();
    let apple = registry.client::<sign_in_with_apple::Apple>();

    // The first login: Apple adds the `user` field with the name, once.
    let session = MemorySession::new();
    let back = provider
        .approved_callback(&apple, &session, REDIRECT_URI, "001234.abcdef")
        .await
        .unwrap();
    let user =
        r#"{"name":{"firstName":"Jane","lastName":"Doe"},"email":"x7k2@privaterelay.appleid.com"}"#;
    let query = format!(
        "{}&{}",
        back.query().unwrap_or(""),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user", user)
            .finish()
    );
    let first = apple
        .authorize_access_token(&session, &Callback::from_query(&query))
        .await
        .unwrap();
    let first = profile(&first).clone();
    assert_eq!(first.identity(), (provider.issuer(), "001234.abcdef"));
    assert_eq!(first.name.as_deref(), Some("Jane Doe"));
    assert_eq!(
        first.email.as_deref(),
        Some("x7k2@privaterelay.appleid.com")
    );
    // `"true"` as a string is true.
    assert!(first.email_verified);
    assert_eq!(first.raw["is_private_email"], json!("true"));

    // A later login: no `user` field, so no name, and the same identity.
    let later = provider
        .log_in(&apple, &MemorySession::new(), REDIRECT_URI, "001234.abcdef")
        .await
        .unwrap();
    let later = profile(&later);
    assert_eq!(later.name, None);
    assert_eq!(later.identity(), first.identity());
    assert!(later.email_verified);

    // Both code exchanges authenticated with the signed secret, in the request body.
    assert_eq!(provider.count("token.auth.signed_secret"), 2);
    assert_eq!(provider.count("token.authorization_code"), 2);
}

#[tokio::test]
async fn apple_client_secrets_signed_with_another_key_are_refused() {
    let (_, public_key) = p256_key();
    let (other_pem, _) = p256_key();
    let provider = apple_provider(public_key).await;
    let registry = apple_registry(&provider, other_pem).unwrap();
    let outcome = provider
        .log_in(
            &registry.client::<sign_in_with_apple::Apple>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "001234.abcdef",
        )
        .await;
    match outcome {
        Err(LoginError::AuthorizeAccessToken(Error::TokenEndpoint {
            provider: "apple",
            error,
            status: 401,
            ..
        })) => assert_eq!(error, "invalid_client"),
        other => panic!("expected invalid_client: {other:?}"),
    }
    assert_eq!(provider.count("token.auth.signed_secret"), 0);
    assert_eq!(provider.count("token.authorization_code"), 0);
}

#[tokio::test]
async fn apple_reports_an_unusable_private_key_when_the_registry_is_built() {
    let provider = TestProvider::builder().start().await.unwrap();
    for bad in [
        "not a key".to_string(),
        // A PKCS#8 PEM, but of an Ed25519 key: no ES256 key.
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .unwrap()
            .serialize_pem(),
    ] {
        let Err(ConfigError { problems }) = apple_registry(&provider, bad) else {
            panic!("built with an unusable private key");
        };
        let found: Vec<(&str, Option<&str>)> = problems
            .iter()
            .map(|p| (p.provider.as_str(), p.key.as_deref()))
            .collect();
        assert_eq!(found, [("apple", Some("private_key"))], "{problems:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The other OpenID Connect presets: one login each
// ---------------------------------------------------------------------------------------------

/// One preset's login: the issuer it has at the local provider, the changes its documents
/// describe to the ID token, and what its profile must then be.
struct Case {
    name: &'static str,
    /// Appended to the local provider's base: the issuer's path, as the preset's issuer has.
    issuer_path: &'static str,
    claims: Value,
    subject: &'static str,
    username: Option<&'static str>,
}

#[tokio::test]
async fn each_oidc_preset_logs_in_with_its_identity_and_username() {
    let provider = TestProvider::builder().start().await.unwrap();
    let cases = [
        // The ID token has `nickname`, the username ("OpenID Connect provider",
        // https://docs.gitlab.com/integration/openid_connect_provider/).
        Case {
            name: "gitlab",
            issuer_path: "",
            claims: json!({"nickname": "alice-gl"}),
            subject: "alice",
            username: Some("alice-gl"),
        },
        // The issuer has a path, `https://www.linkedin.com/oauth` ("Sign In with LinkedIn
        // using OpenID Connect",
        // https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2).
        // No username claim of its own: `preferred_username` is taken when present.
        Case {
            name: "linkedin",
            issuer_path: "/oauth",
            claims: json!({}),
            subject: "alice",
            username: Some("alice"),
        },
        // `sub` is a user id within one workspace, the team in its own claim
        // (https://api.slack.com/authentication/sign-in-with-slack): both make the identity.
        Case {
            name: "slack",
            issuer_path: "",
            claims: json!({"sub": "U0123ALICE", "https://slack.com/team_id": "T0123"}),
            subject: "T0123/U0123ALICE",
            username: Some("alice"),
        },
        // `preferred_username` is the Okta login, often an email
        // (https://developer.okta.com/docs/concepts/auth-servers/).
        Case {
            name: "okta",
            issuer_path: "",
            claims: json!({"preferred_username": "alice@example.com"}),
            subject: "alice",
            username: Some("alice@example.com"),
        },
        // The issuer ends with `/`, and `sub` names the connection
        // (https://auth0.com/docs/api/authentication).
        Case {
            name: "auth0",
            issuer_path: "/",
            claims: json!({"sub": "auth0|alice", "nickname": "ali"}),
            subject: "auth0|alice",
            username: Some("ali"),
        },
        // The issuer is `{base_url}/realms/{realm}`
        // (https://www.keycloak.org/securing-apps/oidc-layers).
        Case {
            name: "keycloak",
            issuer_path: "/realms/demo",
            claims: json!({"preferred_username": "alice.k"}),
            subject: "alice",
            username: Some("alice.k"),
        },
        // The issuer ends with the pool id; `email_verified` comes as a string, the username
        // in `cognito:username`
        // (https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html).
        Case {
            name: "cognito",
            issuer_path: "/us-east-1_AbCdEf123",
            claims: json!({"email_verified": "true", "cognito:username": "alice-c"}),
            subject: "alice",
            username: Some("alice-c"),
        },
        // `sub` is the identity URL `.../id/{org}/{user}`
        // (https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_userinfo_endpoint.htm).
        Case {
            name: "salesforce",
            issuer_path: "",
            claims: json!({"sub": "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA",
                           "preferred_username": "alice@example.com"}),
            subject: "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA",
            username: Some("alice@example.com"),
        },
        // The username is `nickname`
        // (https://developer.yahoo.com/oauth2/guide/openid_connect/getting_started.html).
        Case {
            name: "yahoo",
            issuer_path: "",
            claims: json!({"nickname": "alice.y"}),
            subject: "alice",
            username: Some("alice.y"),
        },
    ];

    let mut settings = Settings::new();
    for case in &cases {
        let issuer = format!("{}{}", provider.issuer(), case.issuer_path);
        settings = settings
            .set(case.name, "server_metadata_url", provider.discovery_url())
            .set(case.name, "issuer", issuer)
            .set(case.name, "client_id", oauth_clients_testing::CLIENT_ID)
            .set(
                case.name,
                "client_secret",
                oauth_clients_testing::CLIENT_SECRET,
            );
    }
    let registry = Providers::builder()
        .allow_unconfigured()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap();

    for case in &cases {
        let issuer = format!("{}{}", provider.issuer(), case.issuer_path);
        let claims = case.claims.as_object().cloned().unwrap_or_default();
        let iss = issuer.clone();
        provider.configure(|b| {
            b.discovery_hook = discovery_issuer(issuer.clone());
            b.response_iss = ResponseIss::Value(issuer.clone());
            // Salesforce's token answers have no `expires_in`.
            b.access_token_ttl =
                (case.name != "salesforce").then_some(std::time::Duration::from_secs(3600));
            b.id_token_hook = hook(move |parts| {
                parts.claims.insert("iss".into(), json!(iss));
                for (name, value) in &claims {
                    parts.claims.insert(name.clone(), value.clone());
                }
            });
        });
        let token = match case.name {
            "gitlab" => log_in::<Gitlab>(&provider, &registry).await,
            "linkedin" => log_in::<Linkedin>(&provider, &registry).await,
            "slack" => log_in::<Slack>(&provider, &registry).await,
            "okta" => log_in::<Okta>(&provider, &registry).await,
            "auth0" => log_in::<Auth0>(&provider, &registry).await,
            "keycloak" => log_in::<Keycloak>(&provider, &registry).await,
            "cognito" => log_in::<Cognito>(&provider, &registry).await,
            "salesforce" => log_in::<Salesforce>(&provider, &registry).await,
            "yahoo" => log_in::<Yahoo>(&provider, &registry).await,
            other => unreachable!("no case {other}"),
        };
        let profile = profile(&token);
        assert_eq!(profile.provider, case.name);
        assert_eq!(
            profile.identity(),
            (issuer.as_str(), case.subject),
            "{}",
            case.name
        );
        assert_eq!(profile.username.as_deref(), case.username, "{}", case.name);
        assert_eq!(
            profile.email.as_deref(),
            Some("alice@example.test"),
            "{}",
            case.name
        );
        assert!(profile.email_verified, "{}", case.name);
        assert_eq!(profile.name.as_deref(), Some("Alice"), "{}", case.name);
    }
    assert_eq!(provider.count("token.authorization_code"), cases.len());
}

async fn log_in<P: Provider<Set = Providers>>(
    provider: &TestProvider,
    registry: &Registry<Providers>,
) -> Token {
    provider
        .log_in(
            &registry.client::<P>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "alice",
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e:?}", P::NAME))
}
