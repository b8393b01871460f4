//! `TlsRoots::Native` trusts what the operating system trusts; on Linux `SSL_CERT_FILE`
//! names that store, so a company CA placed there is trusted. A test binary of its own, with
//! one test, because it sets the process's environment.

#[path = "support/tls.rs"]
mod support;

use oauth_clients::{
    oauth_clients, Endpoint, Error, HttpErrorKind, MemorySession, Settings, TlsRoots,
};
use oauth_clients_testing::{LoginError, TestProvider};
use support::{ClientAuth, Pki, TlsFront};

oauth_clients! {
    corp {
        authorize_url: "https://sso.corp.example/authorize",
        access_token_url: "https://sso.corp.example/token",
    },
}

#[tokio::test]
async fn native_roots_follow_ssl_cert_file() {
    let pki = Pki::new();
    let provider = TestProvider::builder().start().await.unwrap();
    let front = TlsFront::start(
        provider.base_url().authority().to_string(),
        &pki,
        ClientAuth::Off,
    )
    .await;
    let store =
        std::env::temp_dir().join(format!("oauth-clients-roots-{}.pem", std::process::id()));
    std::fs::write(&store, &pki.ca_pem).unwrap();
    // Before any registry is built: the store is read when one is. Nothing else in this
    // process reads the environment concurrently: this binary has only this test.
    std::env::remove_var("SSL_CERT_DIR");
    std::env::set_var("SSL_CERT_FILE", &store);

    let settings = provider.settings_for("corp").set(
        "corp",
        "access_token_url",
        format!("{}/token", front.base),
    );
    let login = |roots: TlsRoots| {
        let settings: Settings = settings.clone();
        let provider = &provider;
        async move {
            let registry = Providers::builder()
                .settings(settings)
                .env_source(|_| None)
                .no_proxy()
                .tls_roots(roots)
                .build()
                .unwrap();
            provider
                .log_in(
                    &registry.client::<Corp>(),
                    &MemorySession::new(),
                    "http://127.0.0.1:8080/callback",
                    "alice",
                )
                .await
        }
    };

    // The compiled-in roots do not know the CA in the file.
    match login(TlsRoots::WebPki).await {
        Err(LoginError::AuthorizeAccessToken(Error::Http {
            endpoint: Endpoint::Token,
            kind: HttpErrorKind::Connect(message),
            ..
        })) => assert!(message.contains("UnknownIssuer"), "{message}"),
        other => panic!("{other:?}"),
    }
    // The operating system's roots, as `SSL_CERT_FILE` names them, do.
    let token = login(TlsRoots::Native).await.unwrap();
    assert!(!token.access_token.is_empty());
    assert_eq!(provider.count("token.authorization_code"), 1);
    std::fs::remove_file(&store).unwrap();
}
