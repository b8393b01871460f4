//! Client authentication against the real provider (npm `oidc-provider`, started by the
//! harness in `op_support`): `client_secret_jwt`, `private_key_jwt` with RSA (PS256), P-256
//! (ES256) and Ed25519 (EdDSA) keys the test makes, and mutual TLS (RFC 8705:
//! `tls_client_auth`, `self_signed_tls_client_auth`, certificate-bound access tokens and
//! `mtls_endpoint_aliases`) with the provider served over https by Node's https server,
//! which hands the connection's client certificate to its mTLS feature. The provider logs
//! how each token request authenticated (`server.mjs`), and the tests assert it.

mod op_support;

use oauth_clients::{
    oauth_clients, Callback, Client, Error, MemorySession, Provider, Registry, Settings, Token,
};
use op_support::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::json;
use std::path::PathBuf;

oauth_clients! {
    op_secret_jwt {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-secret-jwt",
        token_endpoint_auth_method: client_secret_jwt,
    },
    op_rsa {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-pkjwt-rsa",
        token_endpoint_auth_method: private_key_jwt,
        client_assertion_alg: PS256,
        client_key_id: "rsa-1",
    },
    op_es {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-pkjwt-es",
        token_endpoint_auth_method: private_key_jwt,
        client_key_id: "es-1",
    },
    op_ed {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-pkjwt-ed",
        token_endpoint_auth_method: private_key_jwt,
        client_key_id: "ed-1",
    },
    op_tls {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-tls",
        token_endpoint_auth_method: tls_client_auth,
        client_certificate: env("OP_TLS_CERTIFICATE"),
        client_certificate_key: env("OP_TLS_CERTIFICATE_KEY"),
    },
    op_self_signed {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "rp-self-signed",
        token_endpoint_auth_method: self_signed_tls_client_auth,
    },
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates, made per run
// ---------------------------------------------------------------------------------------------

/// A private key in PKCS#8 PEM and its public half in SPKI PEM.
struct Key {
    private_pem: String,
    public_pem: String,
}

fn key(alg: &'static rcgen::SignatureAlgorithm) -> Key {
    let pair = KeyPair::generate_for(alg).expect("key pair");
    Key {
        private_pem: pair.serialize_pem(),
        public_pem: pair.public_key_pem(),
    }
}

fn rsa_key() -> Key {
    // ring (and so rcgen) cannot make RSA keys.
    use rsa::pkcs8::EncodePrivateKey;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
    let private_pem = private
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .expect("PKCS#8")
        .to_string();
    let public_pem = KeyPair::from_pem(&private_pem)
        .expect("rcgen reads the RSA key")
        .public_key_pem();
    Key {
        private_pem,
        public_pem,
    }
}

/// The client keys of one run, and the file `server.mjs --client-auth` reads.
struct ClientKeys {
    rsa: Key,
    es: Key,
    ed: Key,
    dir: PathBuf,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oauth-clients-client-auth-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `--client-auth`'s file: the public keys by client id (with their `kid`), and the
/// certificate `rp-self-signed` registers.
fn client_auth_file(keys: &ClientKeys, self_signed: Option<&str>) -> PathBuf {
    let path = keys.dir.join("client-auth.json");
    let document = json!({
        "jwks": {
            "rp-pkjwt-rsa": { "pem": keys.rsa.public_pem, "kid": "rsa-1" },
            "rp-pkjwt-es": { "pem": keys.es.public_pem, "kid": "es-1" },
            "rp-pkjwt-ed": { "pem": keys.ed.public_pem, "kid": "ed-1" },
        },
        "self_signed_certificate": self_signed,
    });
    std::fs::write(&path, document.to_string()).unwrap();
    path
}

fn client_keys(name: &str) -> ClientKeys {
    ClientKeys {
        rsa: rsa_key(),
        es: key(&rcgen::PKCS_ECDSA_P256_SHA256),
        ed: key(&rcgen::PKCS_ED25519),
        dir: temp_dir(name),
    }
}

/// A CA made for this run, the provider's https certificate for 127.0.0.1, a client
/// certificate it issued for `CN=rp-tls`, and a self-signed client certificate.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
    client_pem: String,
    client_key_pem: String,
    self_signed_pem: String,
    self_signed_key_pem: String,
}

fn self_signed(common_name: &str) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let certificate = params.self_signed(&key).expect("self-signed certificate");
    (certificate.pem(), key.serialize_pem())
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "oauth-clients mTLS interop CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");
    let server_key = KeyPair::generate().expect("server key");
    let mut server = CertificateParams::new(vec!["127.0.0.1".into()]).expect("server parameters");
    server
        .distinguished_name
        .push(DnType::CommonName, "oidc-provider");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server
        .signed_by(&server_key, &ca)
        .expect("server certificate");
    let client_key = KeyPair::generate().expect("client key");
    let mut client = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
    // Only the common name: server.mjs compares the subject DN with `CN=rp-tls`.
    client.distinguished_name = rcgen::DistinguishedName::new();
    client.distinguished_name.push(DnType::CommonName, "rp-tls");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client
        .signed_by(&client_key, &ca)
        .expect("client certificate");
    let (self_signed_pem, self_signed_key_pem) = self_signed("rp-self-signed");
    Pki {
        ca_pem: ca.pem(),
        server_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
        self_signed_pem,
        self_signed_key_pem,
    }
}

// ---------------------------------------------------------------------------------------------
// The flows
// ---------------------------------------------------------------------------------------------

/// A whole login of `user` with `client` in a fresh session, the browser trusting `ca_pem`.
async fn sign_in_with<P: Provider>(
    client: &Client<P>,
    user: &str,
    ca_pem: Option<&str>,
) -> Result<Token, Error> {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = Browser::with_roots(ca_pem)
        .login(redirect.location(), user)
        .await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
}

/// The log line suffix of a token request the provider authenticated with a JWT.
fn jwt_line(status: u16, method: &str, alg: &str, op: &OidcProvider) -> String {
    format!(
        "POST /token {status} client_auth={method} alg={alg} aud=\"{}\"",
        op.issuer()
    )
}

fn jwt_settings(op: &OidcProvider, keys: &ClientKeys) -> Settings {
    let discovery = op.discovery_url();
    let es_file = keys.dir.join("es.pem");
    std::fs::write(&es_file, &keys.es.private_pem).unwrap();
    let mut settings = Settings::new();
    for name in ["op_secret_jwt", "op_rsa", "op_es", "op_ed"] {
        settings = settings.set(name, "server_metadata_url", discovery.clone());
    }
    settings
        .set(
            "op_secret_jwt",
            "client_secret",
            "rp-secret-jwt-secret-of-at-least-32-bytes",
        )
        // From settings (one line, `\n` escaped, as settings take no line breaks), from a
        // file, and (op_ed) from the default variable.
        .set(
            "op_rsa",
            "client_key",
            keys.rsa.private_pem.trim().replace('\n', "\\n"),
        )
        .set("op_es", "client_key_file", es_file.display().to_string())
}

/// Each JWT method logs in, refreshes and reads userinfo; the provider saw an assertion of
/// the expected algorithm addressed to its issuer as one string, and accepted it.
#[tokio::test]
async fn jwt_client_authentication_logs_in_refreshes_and_reads_userinfo() {
    let keys = client_keys("jwt");
    let file = client_auth_file(&keys, None);
    let op = OidcProvider::start_with(
        None,
        StartOptions {
            args: vec!["--client-auth".into(), file.display().to_string()],
            ca_pem: None,
        },
    )
    .await;
    let ed_pem = keys.ed.private_pem.clone();
    let (cert, cert_key) = self_signed("unused");
    let registry: Registry<Providers> = Providers::builder()
        .settings(jwt_settings(&op, &keys))
        .env_source(move |name| (name == "OP_ED_CLIENT_KEY").then(|| ed_pem.clone()))
        .allow_unconfigured()
        // The TLS providers of the declaration are not used here, but need a certificate.
        .client_certificate_pem("op_self_signed", cert, cert_key)
        .build()
        .unwrap();

    async fn round<P: oauth_clients::OpenIdProvider<Set = Providers>>(
        registry: &Registry<Providers>,
        op: &OidcProvider,
        method: &str,
        alg: &str,
    ) {
        let client = registry.client::<P>();
        let line = jwt_line(200, method, alg, op);
        let token = sign_in_with(&client, "alice", None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}\n{}", P::NAME, op.log.text()));
        assert_eq!(
            op.requests(&line).await,
            1,
            "{}\n{}",
            P::NAME,
            op.log.text()
        );
        let refreshed = client
            .refresh(&token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}\n{}", P::NAME, op.log.text()));
        assert_ne!(refreshed.access_token, token.access_token);
        assert_eq!(op.requests(&line).await, 2, "{}", P::NAME);
        let info = client.userinfo(&refreshed).await.unwrap();
        assert_eq!(info.info().sub(), "alice");
    }
    round::<OpSecretJwt>(&registry, &op, "client_secret_jwt", "HS256").await;
    round::<OpRsa>(&registry, &op, "private_key_jwt", "PS256").await;
    round::<OpEs>(&registry, &op, "private_key_jwt", "ES256").await;
    round::<OpEd>(&registry, &op, "private_key_jwt", "EdDSA").await;
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 0);
    assert_eq!(op.requests("POST /token 200 client_auth=post").await, 0);
}

/// A key the provider does not know: the provider refuses the assertion with `invalid_client`,
/// a typed token-endpoint error.
#[tokio::test]
async fn an_assertion_signed_with_an_unknown_key_is_refused_as_invalid_client() {
    let keys = client_keys("wrong-key");
    let file = client_auth_file(&keys, None);
    let op = OidcProvider::start_with(
        None,
        StartOptions {
            args: vec!["--client-auth".into(), file.display().to_string()],
            ca_pem: None,
        },
    )
    .await;
    let other = key(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cert, cert_key) = self_signed("unused");
    let registry: Registry<Providers> = Providers::builder()
        .settings(Settings::new().set("op_es", "server_metadata_url", op.discovery_url()))
        .env_source(move |name| (name == "OP_ES_CLIENT_KEY").then(|| other.private_pem.clone()))
        .allow_unconfigured()
        .client_certificate_pem("op_self_signed", cert, cert_key)
        .build()
        .unwrap();
    let outcome = sign_in_with(&registry.client::<OpEs>(), "alice", None).await;
    match outcome {
        Err(Error::TokenEndpoint {
            provider: "op_es",
            error,
            status: 401,
            ..
        }) if error == "invalid_client" => {}
        other => panic!("expected invalid_client, got {other:?}\n{}", op.log.text()),
    }
    assert_eq!(
        op.requests(&jwt_line(401, "private_key_jwt", "ES256", &op))
            .await,
        1
    );
}

/// Mutual TLS against the provider served over https: `tls_client_auth` with a CA-issued
/// certificate declared from the environment, `self_signed_tls_client_auth` with one set on
/// the builder. Token and revocation requests go to the `mtls_endpoint_aliases`, the provider
/// binds the access token to the certificate, and userinfo and API calls present it; without
/// the certificate the same token is refused. An unregistered certificate is refused as
/// `invalid_client`.
#[tokio::test]
async fn mtls_client_authentication_with_certificate_bound_tokens() {
    let pki = pki();
    let keys = client_keys("mtls");
    let dir = &keys.dir;
    let (cert, key_file, ca) = (
        dir.join("server.pem"),
        dir.join("server-key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &pki.server_pem).unwrap();
    std::fs::write(&key_file, &pki.server_key_pem).unwrap();
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let file = client_auth_file(&keys, Some(&pki.self_signed_pem));
    let op = OidcProvider::start_with(
        None,
        StartOptions {
            args: vec![
                "--tls".into(),
                format!("{},{},{}", cert.display(), key_file.display(), ca.display()),
                "--client-auth".into(),
                file.display().to_string(),
            ],
            ca_pem: Some(pki.ca_pem.clone()),
        },
    )
    .await;
    assert!(op.issuer().starts_with("https://"));
    let (client_pem, client_key_pem) = (pki.client_pem.clone(), pki.client_key_pem.clone());
    let build = |self_signed: (&str, &str)| -> Registry<Providers> {
        let (client_pem, client_key_pem) = (client_pem.clone(), client_key_pem.clone());
        Providers::builder()
            .settings(
                Settings::new()
                    .set("op_tls", "server_metadata_url", op.discovery_url())
                    .set("op_self_signed", "server_metadata_url", op.discovery_url()),
            )
            .env_source(move |name| match name {
                "OP_TLS_CERTIFICATE" => Some(client_pem.clone()),
                "OP_TLS_CERTIFICATE_KEY" => Some(client_key_pem.clone()),
                _ => None,
            })
            .allow_unconfigured()
            .add_root_certificates_pem(&pki.ca_pem)
            .client_certificate_pem("op_self_signed", self_signed.0, self_signed.1)
            .build()
            .unwrap()
    };
    let registry = build((&pki.self_signed_pem, &pki.self_signed_key_pem));
    let metadata = registry.client::<OpTls>().metadata().await.unwrap();
    let alias = metadata.mtls_endpoint_alias("token_endpoint").unwrap();
    assert_eq!(alias.as_str(), op.url("/mtls/token"));
    assert_ne!(metadata.token_endpoint(), Some(alias));

    async fn round<P: oauth_clients::OpenIdProvider<Set = Providers>>(
        registry: &Registry<Providers>,
        op: &OidcProvider,
        method: &str,
    ) {
        let client = registry.client::<P>();
        let line = format!("POST /token 200 client_auth={method} mtls_alias cert=yes");
        let token = sign_in_with(&client, "alice", op.options.ca_pem.as_deref())
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}\n{}", P::NAME, op.log.text()));
        assert_eq!(
            op.requests(&line).await,
            1,
            "{}\n{}",
            P::NAME,
            op.log.text()
        );
        let refreshed = client
            .refresh(&token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}\n{}", P::NAME, op.log.text()));
        assert_eq!(op.requests(&line).await, 2, "{}", P::NAME);
        let userinfo_line = "GET /me 200 mtls_alias cert=yes";
        let before = op.requests(userinfo_line).await;
        let info = client.userinfo(&refreshed).await.unwrap();
        assert_eq!(info.info().sub(), "alice");
        assert_eq!(op.requests(userinfo_line).await, before + 1);
        // An API call with the bound token presents the certificate too.
        let api_line = "GET /me 200 cert=yes";
        let before = op.requests(api_line).await;
        let response = client.get(&op.url("/me"), &refreshed).await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text());
        assert_eq!(op.requests(api_line).await, before + 1);
        // Without the certificate, the provider refuses the bound token.
        let before = op.requests("GET /me 401").await;
        let stolen = op
            .http_client()
            .get(op.url("/me"))
            .bearer_auth(&refreshed.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(stolen.status(), 401);
        assert_eq!(op.requests("GET /me 401").await, before + 1);
        // Revocation authenticates the client the same way, at its alias.
        let revocation_line = "POST /token/revocation 200 mtls_alias cert=yes";
        let before = op.requests(revocation_line).await;
        // Both of the token's: the refresh token and the access token.
        client.revoke_token(&refreshed).await.unwrap();
        assert_eq!(op.requests(revocation_line).await, before + 2);
    }
    round::<OpTls>(&registry, &op, "tls_client_auth").await;
    round::<OpSelfSigned>(&registry, &op, "self_signed_tls_client_auth").await;

    // A self-signed certificate the client did not register.
    let (other_pem, other_key) = self_signed("rp-self-signed");
    let registry = build((&other_pem, &other_key));
    match sign_in_with(
        &registry.client::<OpSelfSigned>(),
        "alice",
        Some(&pki.ca_pem),
    )
    .await
    {
        Err(Error::TokenEndpoint {
            provider: "op_self_signed",
            error,
            status: 401,
            ..
        }) if error == "invalid_client" => {}
        other => panic!("expected invalid_client, got {other:?}\n{}", op.log.text()),
    }
}
