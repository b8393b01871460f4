//! Pushed authorization requests (RFC 9126) and the FAPI 2.0 profile switch against the local
//! provider, its PAR endpoint well-behaved and misbehaving: what reaches the provider, what the
//! redirect carries, and a typed error for each way a push or its `request_uri` fails.

use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, ErrorKind, IdTokenError, MemorySession, Registry,
    Settings,
};
use oauth_clients_testing::{IdTokenHook, Signing, TestProvider};
use std::collections::BTreeSet;
use std::time::Duration;

oauth_clients! {
    /// Pushes because the declaration says so.
    pushing {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email",
        pushed_authorization_requests: true,
    },
    /// Pushes only when the provider's metadata requires it.
    idp {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email",
    },
    /// FAPI 2.0 with mutual TLS (which also binds the tokens, so no DPoP).
    fapi {
        server_metadata_url: "https://idp.example/.well-known/openid-configuration",
        scope: "openid email",
        security_profile: fapi2,
        token_endpoint_auth_method: tls_client_auth,
    },
    /// Endpoints declared, no discovery: settings may switch PAR on.
    plain {
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

/// The `fapi` provider's client: it authenticates with its TLS certificate (`tls_client_auth`),
/// so it sends only its `client_id`. The local provider speaks plain HTTP and cannot see a
/// certificate, so it knows the client as one without a secret; `interop_client_auth.rs`
/// checks mTLS itself against oidc-provider.
const FAPI_CLIENT: &str = "fapi-app";

async fn provider(change: impl FnOnce(&mut oauth_clients_testing::Behaviour)) -> TestProvider {
    TestProvider::builder()
        .client(oauth_clients_testing::TestClient {
            client_id: FAPI_CLIENT.into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT_URI.into()],
        })
        .behaviour(change)
        .start()
        .await
        .unwrap()
}

fn settings(provider: &TestProvider) -> Settings {
    let settings = ["pushing", "idp"]
        .into_iter()
        .fold(Settings::new(), |settings, name| {
            let url = provider.discovery_url();
            settings
                .set(name, "server_metadata_url", url)
                .set(name, "client_id", oauth_clients_testing::CLIENT_ID)
                .set(name, "client_secret", oauth_clients_testing::CLIENT_SECRET)
        })
        .set("fapi", "server_metadata_url", provider.discovery_url())
        .set("fapi", "client_id", FAPI_CLIENT);
    provider.add_settings(settings, "plain")
}

/// A builder with the `fapi` client's certificate (self-signed, made here).
fn builder() -> oauth_clients::RegistryBuilder<Providers> {
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec![FAPI_CLIENT.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Providers::builder().client_certificate_pem("fapi", certificate.pem(), key.serialize_pem())
}

fn registry(settings: Settings) -> Registry<Providers> {
    builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap()
}

fn query_names(url: &url::Url) -> BTreeSet<String> {
    url.query_pairs().map(|(k, _)| k.into_owned()).collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_pushed_request_leaves_only_client_id_and_request_uri_in_the_redirect() {
    let provider = provider(|_| {}).await;
    let registry = registry(settings(&provider));
    let client = registry.client::<Pushing>();
    let session = MemorySession::new();
    let redirect = client
        .authorize(REDIRECT_URI)
        .param("login_hint", "alice")
        .redirect(&session)
        .await
        .unwrap();
    let url = redirect.location();
    assert_eq!(query_names(url), names(&["client_id", "request_uri"]));
    let request_uri = url
        .query_pairs()
        .find(|(k, _)| k == "request_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    // Everything else went to the provider directly, with client authentication.
    let pushed = provider.pushed_requests();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        pushed[0].keys().cloned().collect::<BTreeSet<_>>(),
        names(&[
            "client_id",
            "code_challenge",
            "code_challenge_method",
            "login_hint",
            "nonce",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
        ])
    );
    assert_eq!(pushed[0]["redirect_uri"], REDIRECT_URI);
    assert_eq!(pushed[0]["login_hint"], "alice");
    assert_eq!(pushed[0]["code_challenge_method"], "S256");
    assert_eq!(provider.count("par.auth.client_secret_basic"), 1);

    let back = provider.approve(url, "alice").await.unwrap();
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
    assert_eq!(provider.count("authorize.request_uri"), 1);
    assert_eq!(provider.count("token"), 1);
}

#[tokio::test]
async fn metadata_that_requires_par_makes_every_request_pushed() {
    let provider = provider(|b| b.par.required = true).await;
    let registry = registry(settings(&provider));
    let client = registry.client::<Idp>();
    let metadata = client.metadata().await.unwrap();
    assert!(metadata.require_pushed_authorization_requests());
    assert_eq!(
        metadata
            .pushed_authorization_request_endpoint()
            .map(|u| u.as_str().to_string()),
        Some(provider.url("par"))
    );
    let session = MemorySession::new();
    let token = provider
        .log_in(&client, &session, REDIRECT_URI, "bob")
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "bob");
    assert_eq!(provider.count("par"), 1);
    assert_eq!(provider.count("authorize.request_uri"), 1);
}

#[tokio::test]
async fn without_the_switch_or_the_requirement_nothing_is_pushed() {
    let provider = provider(|_| {}).await;
    let registry = registry(settings(&provider));
    let (url, _) = registry
        .client::<Idp>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap();
    assert!(query_names(&url).contains("state"));
    assert!(!query_names(&url).contains("request_uri"));
    assert_eq!(provider.count("par"), 0);
}

#[tokio::test]
async fn a_refused_push_is_the_providers_error_and_stores_no_pending_login() {
    let provider = provider(|b| {
        b.par.answer = Some((
            400,
            r#"{"error":"invalid_request","error_description":"scope not allowed"}"#.into(),
        ))
    })
    .await;
    let registry = registry(settings(&provider));
    let session = MemorySession::new();
    let error = registry
        .client::<Pushing>()
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap_err();
    match &error {
        Error::PushedAuthorization {
            provider,
            error,
            description,
            status,
        } => {
            assert_eq!(*provider, "pushing");
            assert_eq!(error, "invalid_request");
            assert_eq!(description.as_deref(), Some("scope not allowed"));
            assert_eq!(*status, 400);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.endpoint(), Some(Endpoint::PushedAuthorization));
    assert_eq!(error.provider_status(), Some(400));
    assert!(session.keys().is_empty(), "{:?}", session.keys());
}

#[tokio::test]
async fn a_push_answer_without_what_rfc_9126_requires_is_refused() {
    let cases = [
        (201, r#"{"expires_in":60}"#, "no `request_uri`"),
        (201, r#"{"request_uri":"urn:x"}"#, "no `expires_in`"),
        (201, r#"{"request_uri":"","expires_in":60}"#, "empty"),
        (
            201,
            r#"{"request_uri":"urn:x","expires_in":"soon"}"#,
            "whole number",
        ),
        (200, r#"{"request_uri":"urn:x","expires_in":60}"#, "not 201"),
    ];
    for (status, body, reason) in cases {
        let provider = provider(|b| b.par.answer = Some((status, body.into()))).await;
        let registry = registry(settings(&provider));
        match registry
            .client::<Pushing>()
            .authorize_url(REDIRECT_URI)
            .await
        {
            Err(Error::InvalidPushedAuthorizationResponse {
                provider,
                reason: found,
            }) => {
                assert_eq!(provider, "pushing");
                assert!(found.contains(reason), "{body}: {found}");
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_request_uri_dead_on_arrival_never_reaches_the_browser() {
    // No lifetime at all.
    for expires_in in [0, -30] {
        let provider = provider(|b| b.par.expires_in = expires_in).await;
        let registry = registry(settings(&provider));
        let session = MemorySession::new();
        let error = registry
            .client::<Pushing>()
            .authorize_redirect(&session, REDIRECT_URI)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RequestUriExpired, "{expires_in}");
        assert!(session.keys().is_empty());
    }
    // A second of lifetime, spent before the answer arrived.
    let provider = provider(|b| {
        b.par.expires_in = 1;
        b.par.delay = Some(Duration::from_millis(1100));
    })
    .await;
    let registry = registry(settings(&provider));
    let error = registry
        .client::<Pushing>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::RequestUriExpired {
                provider: "pushing",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_request_uri_that_expired_at_the_provider_ends_the_login_with_a_typed_error() {
    let provider = provider(|b| b.par.expire_at_authorize = true).await;
    let registry = registry(settings(&provider));
    let client = registry.client::<Pushing>();
    let session = MemorySession::new();
    let back = provider
        .approved_callback(&client, &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    assert_eq!(provider.count("authorize.expired_request_uri"), 1);
    let callback = Callback::from_url(&back);
    assert_eq!(callback.error.as_deref(), Some("invalid_request_uri"));
    let error = client
        .authorize_access_token(&session, &callback)
        .await
        .unwrap_err();
    match &error {
        Error::RequestUriExpired {
            provider,
            description,
        } => {
            assert_eq!(*provider, "pushing");
            assert_eq!(description.as_deref(), Some("the request_uri expired"));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_callback());
    assert_eq!(error.status(), 400);
    // The pending login was used up: a code for the same state is now a replay.
    let with_a_code = Callback::from_query(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", "a-code")
            .append_pair("state", callback.state.as_deref().unwrap())
            .append_pair("iss", callback.iss.as_deref().unwrap())
            .finish(),
    );
    let again = client
        .authorize_access_token(&session, &with_a_code)
        .await
        .unwrap_err();
    assert!(matches!(again, Error::ReplayedState { .. }), "{again:?}");
    assert_eq!(provider.count("token"), 0);
}

#[tokio::test]
async fn par_switched_on_without_an_endpoint_is_a_typed_error() {
    // At start-up: settings switch PAR on for a provider with no discovery and no endpoint.
    let provider = provider(|b| b.par.advertise = false).await;
    let settings = settings(&provider).set("plain", "pushed_authorization_requests", true);
    let problems = builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap_err()
        .problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].key.as_deref(),
        Some("pushed_authorization_requests")
    );
    assert_eq!(problems[0].origin, oauth_clients::Origin::Settings);
    assert!(problems[0]
        .message
        .contains("declare `pushed_authorization_request_endpoint`"));

    // At first use: discovery names no PAR endpoint.
    let registry = registry(self::settings(&provider));
    let error = registry
        .client::<Pushing>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingEndpoint {
                provider: "pushing",
                endpoint: Endpoint::PushedAuthorization
            }
        ),
        "{error:?}"
    );
    assert_eq!(provider.count("authorize"), 0);

    // A declared endpoint is enough without discovery.
    let settings = self::settings(&provider)
        .set("plain", "pushed_authorization_requests", true)
        .set(
            "plain",
            "pushed_authorization_request_endpoint",
            provider.url("par"),
        );
    let registry = self::registry(settings);
    let (url, _) = registry
        .client::<Plain>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap();
    assert_eq!(query_names(&url), names(&["client_id", "request_uri"]));
}

#[tokio::test]
async fn fapi2_from_settings_refuses_weaker_values_at_start_up() {
    let provider = provider(|_| {}).await;
    let settings = settings(&provider)
        .set("fapi", "token_endpoint_auth_method", "client_secret_post")
        .set("fapi", "client_secret", "a-secret")
        .set("fapi", "code_challenge_method", "none")
        .set("fapi", "pushed_authorization_requests", false);
    let problems = builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap_err()
        .problems;
    let keys: BTreeSet<String> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        names(&[
            "code_challenge_method",
            "pushed_authorization_requests",
            "token_endpoint_auth_method",
            // client_secret_post binds no token, and there is no DPoP.
            "security_profile",
        ]),
        "{problems:?}"
    );
    assert!(problems.iter().all(|p| p.provider == "fapi"));

    // The profile switched on by settings for a provider declared without it.
    let settings = self::settings(&provider).set("idp", "security_profile", "fapi2");
    let problems = builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap_err()
        .problems;
    assert!(
        problems.iter().all(|p| p.provider == "idp"
            && p.key.as_deref() == Some("security_profile")
            && (p.message.contains("strong client authentication")
                || p.message.contains("sender-constrained"))),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[tokio::test]
async fn fapi2_refuses_a_provider_whose_metadata_lacks_a_par_endpoint() {
    let provider = provider(|b| b.par.advertise = false).await;
    let registry = registry(settings(&provider));
    let error = registry
        .client::<Fapi>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap_err();
    match &error {
        Error::SecurityProfile {
            provider,
            profile,
            reason,
        } => {
            assert_eq!(*provider, "fapi");
            assert_eq!(*profile, "fapi2");
            assert!(reason.contains("pushed_authorization_request_endpoint"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.count("par"), 0);
}

#[tokio::test]
async fn fapi2_refuses_a_provider_that_signs_id_tokens_only_with_rs256() {
    // The local provider's default metadata lists RS256 only.
    let provider = provider(|_| {}).await;
    let registry = registry(settings(&provider));
    let error = registry
        .client::<Fapi>()
        .authorize_url(REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::SecurityProfile { reason, .. } if reason.contains("RS256")),
        "{error:?}"
    );
}

#[tokio::test]
async fn fapi2_pushes_logs_in_with_es256_and_refuses_an_rs256_id_token() {
    let provider = provider(|b| b.sign_es256 = true).await;
    let registry = registry(settings(&provider));
    let client = registry.client::<Fapi>();
    let token = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
    // Pushed without `pushed_authorization_requests`: the profile turns it on.
    assert_eq!(provider.count("par"), 1);

    // The metadata allows RS256 too, the profile does not.
    provider.configure(|b| {
        b.id_token_hook = Some(IdTokenHook::new(|parts| {
            parts.header.insert("alg".into(), "RS256".into());
            parts.header.remove("kid");
            parts.signing = Signing::ActiveKey;
        }))
    });
    let error = provider
        .log_in(&client, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap_err();
    match error {
        oauth_clients_testing::LoginError::AuthorizeAccessToken(Error::IdToken {
            reason, ..
        }) => assert_eq!(reason, IdTokenError::DisallowedAlg("RS256".into())),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fapi2_requires_the_callback_iss_even_when_the_provider_does_not_advertise_it() {
    let provider = provider(|b| {
        b.sign_es256 = true;
        b.advertise_response_iss = false;
        b.response_iss = oauth_clients_testing::ResponseIss::Omit;
    })
    .await;
    let registry = registry(settings(&provider));
    let client = registry.client::<Fapi>();
    let session = MemorySession::new();
    let back = provider
        .approved_callback(&client, &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    let error = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::MissingIssuer { provider: "fapi" }),
        "{error:?}"
    );
    assert_eq!(provider.count("token"), 0);

    // Without the profile the same provider's callback is accepted.
    let idp = registry.client::<Idp>();
    assert!(provider
        .log_in(&idp, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .is_ok());
}
