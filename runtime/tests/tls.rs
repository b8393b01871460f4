//! TLS as real deployments meet it: a provider whose certificate comes from a company's
//! private CA, and a provider that requires a client certificate (mutual TLS, RFC 8705). The
//! local provider stands behind an https front with certificates made for each run.

#[path = "support/tls.rs"]
mod support;

use oauth_clients::{
    oauth_clients, ConfigError, Endpoint, Error, HttpErrorKind, MemorySession, Origin, Registry,
    RegistryBuilder, Settings, TlsRoots, Token,
};
use oauth_clients_testing::{LoginError, TestProvider};
use support::{ClientAuth, Pki, TlsFront};

oauth_clients! {
    corp {
        authorize_url: "https://sso.corp.example/authorize",
        access_token_url: "https://sso.corp.example/token",
        api_base_url: "https://sso.corp.example/api/",
    },
    partner {
        authorize_url: "https://idp.partner.example/authorize",
        access_token_url: "https://idp.partner.example/token",
        api_base_url: "https://idp.partner.example/api/",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

/// The local provider, and `corp` and `partner` pointed at it: the authorization page over
/// plain http (the browser's side), the token endpoint and the API through `front`.
fn settings(provider: &TestProvider, front: &TlsFront) -> Settings {
    let mut settings = Settings::new();
    for name in ["corp", "partner"] {
        settings = provider
            .add_settings(settings, name)
            .set(name, "access_token_url", format!("{}/token", front.base))
            .set(name, "api_base_url", format!("{}/api/", front.base));
    }
    settings
}

async fn start(client_auth: ClientAuth) -> (Pki, TestProvider, TlsFront) {
    let pki = Pki::new();
    let provider = TestProvider::builder().start().await.unwrap();
    let target = provider.base_url().authority().to_string();
    let front = TlsFront::start(target, &pki, client_auth).await;
    (pki, provider, front)
}

fn builder(provider: &TestProvider, front: &TlsFront) -> RegistryBuilder<Providers> {
    Providers::builder()
        .settings(settings(provider, front))
        .env_source(|_| None)
        .no_proxy()
}

/// The message of a failed token request, which must be a TLS failure.
fn token_tls_failure(outcome: Result<Token, LoginError>) -> String {
    match outcome {
        Err(LoginError::AuthorizeAccessToken(Error::Http {
            provider: "corp",
            endpoint: Endpoint::Token,
            kind: HttpErrorKind::Connect(message) | HttpErrorKind::Other(message),
        })) => message,
        other => panic!("expected a TLS failure of the token request: {other:?}"),
    }
}

/// Logs alice in with `corp` and calls its API, over the front's TLS: both must succeed.
async fn log_in_and_call_the_api(registry: &Registry<Providers>, provider: &TestProvider) {
    let corp = registry.client::<Corp>();
    let token = provider
        .log_in(&corp, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    let user = corp.get("user", &token).await.unwrap();
    assert_eq!(user.status(), 200);
    assert_eq!(user.json::<serde_json::Value>().unwrap()["login"], "alice");
}

#[tokio::test]
async fn a_private_ca_is_refused_by_default_and_trusted_once_added() {
    let (pki, provider, front) = start(ClientAuth::Off).await;

    // The webpki roots do not know the company's CA: the handshake fails, and the code never
    // reaches the provider.
    let default = builder(&provider, &front).build().unwrap();
    let message = token_tls_failure(
        provider
            .log_in(
                &default.client::<Corp>(),
                &MemorySession::new(),
                REDIRECT_URI,
                "alice",
            )
            .await,
    );
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert_eq!(provider.count("token.authorization_code"), 0);

    // With the CA added, on top of the webpki roots or alone, the login and an API call go
    // through over TLS.
    for roots in [TlsRoots::WebPki, TlsRoots::OnlyAdded] {
        let registry = builder(&provider, &front)
            .tls_roots(roots)
            .add_root_certificates_pem(&pki.ca_pem)
            .build()
            .unwrap();
        log_in_and_call_the_api(&registry, &provider).await;
    }
    assert_eq!(provider.count("token.authorization_code"), 2);
    assert_eq!(front.presented(), vec![false, false]);
}

#[tokio::test]
async fn a_provider_requiring_a_client_certificate_gets_the_configured_one() {
    let (pki, provider, front) = start(ClientAuth::Required).await;
    let trusting = || builder(&provider, &front).add_root_certificates_pem(&pki.ca_pem);

    // Without a certificate the provider ends the handshake.
    let without = trusting().build().unwrap();
    let message = token_tls_failure(
        provider
            .log_in(
                &without.client::<Corp>(),
                &MemorySession::new(),
                REDIRECT_URI,
                "alice",
            )
            .await,
    );
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert_eq!(provider.count("token.authorization_code"), 0);

    // With it, the login goes through.
    let with = trusting()
        .client_certificate_pem("corp", &pki.client_pem, &pki.client_key_pem)
        .build()
        .unwrap();
    log_in_and_call_the_api(&with, &provider).await;
    assert_eq!(provider.count("token.authorization_code"), 1);
}

/// An RFC 8705 certificate belongs to one client registration: another provider of the
/// same registry never presents it.
#[tokio::test]
async fn a_client_certificate_is_presented_to_its_provider_only() {
    let (pki, provider, front) = start(ClientAuth::Optional).await;
    let registry = builder(&provider, &front)
        .add_root_certificates_pem(&pki.ca_pem)
        .client_certificate_pem("corp", &pki.client_pem, &pki.client_key_pem)
        .build()
        .unwrap();
    provider
        .log_in(
            &registry.client::<Partner>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(front.presented(), vec![false]);
    provider
        .log_in(
            &registry.client::<Corp>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(front.presented(), vec![false, true]);
}

#[tokio::test]
async fn unusable_http_options_are_reported_when_the_registry_is_built() {
    let pki = Pki::new();
    let other_key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let outcome = Providers::builder()
        .settings(
            Settings::new()
                .set("corp", "client_id", "c")
                .set("corp", "client_secret", "s")
                .set("partner", "client_id", "p")
                .set("partner", "client_secret", "s"),
        )
        .env_source(|_| None)
        .add_root_certificates_pem("not a certificate")
        .proxy("::not a url::")
        .client_certificate_pem("crop", &pki.client_pem, &pki.client_key_pem)
        .client_certificate_pem("partner", &pki.client_pem, other_key)
        .build();
    let Err(ConfigError { problems }) = outcome else {
        panic!("built with unusable HTTP options");
    };
    let found: Vec<(&str, Origin, &str)> = problems
        .iter()
        .map(|p| (p.provider.as_str(), p.origin, p.message.as_str()))
        .collect();
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(
        found[0],
        (
            "corp, partner",
            Origin::Registry,
            "the root certificate PEM has no `CERTIFICATE` block"
        )
    );
    assert_eq!(found[1].0, "corp, partner");
    assert!(
        found[1].2.starts_with("the proxy URL is not valid"),
        "{found:#?}"
    );
    assert_eq!(
        found[2],
        (
            "crop",
            Origin::Registry,
            "a client certificate is set for `crop`, which is not declared; did you mean `corp`?"
        )
    );
    assert_eq!(found[3].0, "partner");
    assert!(
        found[3]
            .2
            .starts_with("the client certificate cannot be used"),
        "{found:#?}"
    );
}
