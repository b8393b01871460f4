//! Client authentication with JWT assertions and TLS certificates: what a token request
//! carries (checked on the wire by a bare local token endpoint), how a provider's refusal is
//! reported, and the problems the registry reports at start-up.

use oauth_clients::{oauth_clients, ConfigError, Error, Origin, Settings, Token};
use ring::signature::{self as sig, KeyPair};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://issuer.example/tenant";

oauth_clients! {
    signed {
        authorize_url: "https://issuer.example/authorize",
        access_token_url: "https://issuer.example/token",
        issuer: "https://issuer.example/tenant",
        client_id: "app",
        token_endpoint_auth_method: private_key_jwt,
        client_key_id: "key-1",
    },
    hashed {
        authorize_url: "https://issuer.example/authorize",
        access_token_url: "https://issuer.example/token",
        issuer: "https://issuer.example/tenant",
        client_id: "app",
        token_endpoint_auth_method: client_secret_jwt,
    },
    mutual {
        authorize_url: "https://issuer.example/authorize",
        access_token_url: "https://issuer.example/token",
        client_id: "app",
        token_endpoint_auth_method: tls_client_auth,
    },
}

/// A token endpoint that records each request's form and answers with `status` and `body`.
struct TokenEndpoint {
    url: String,
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn token_endpoint(status: u16, answer: Value) -> TokenEndpoint {
    let answer = answer.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
    let forms = Arc::new(Mutex::new(Vec::new()));
    let seen = forms.clone();
    tokio::spawn(async move {
        let answer = answer;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break Some(body.to_string());
                    }
                }
            };
            if let Some(body) = body {
                seen.lock().unwrap().push(
                    url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect(),
                );
            }
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    TokenEndpoint { url, forms }
}

fn token() -> Token {
    token_with("r-1")
}

fn token_with(refresh_token: &str) -> Token {
    serde_json::from_value(json!({
        "access_token": "old",
        "token_type": "Bearer",
        "refresh_token": refresh_token,
    }))
    .unwrap()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

fn b64(part: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

fn p256() -> ring::pkcs8::Document {
    sig::EcdsaKeyPair::generate_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap()
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// The assertion's `aud` is the issuer identifier as one string, even though the token
/// endpoint is elsewhere; the form carries `client_id`, the assertion and its type, and no
/// secret; the signature verifies with the public key, and every assertion has a new `jti`.
#[tokio::test]
async fn private_key_jwt_assertions_are_addressed_to_the_issuer_not_the_token_endpoint() {
    let endpoint =
        token_endpoint(200, json!({"access_token": "new", "token_type": "Bearer"})).await;
    let der = p256();
    let public = sig::EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        der.as_ref(),
        &ring::rand::SystemRandom::new(),
    )
    .unwrap()
    .public_key()
    .as_ref()
    .to_vec();
    let registry = Providers::builder()
        .settings(Settings::new().set("signed", "access_token_url", endpoint.url.clone()))
        .env_source(env_of(&[("SIGNED_CLIENT_KEY", &pem(der.as_ref()))]))
        .allow_unconfigured()
        .build()
        .unwrap();
    let client = registry.client::<Signed>();
    assert_eq!(
        client.config().unwrap().client_assertion_alg(),
        Some("ES256")
    );
    let fresh = client.refresh(&token()).await.unwrap();
    assert_eq!(fresh.access_token, "new");
    client.refresh(&token_with("r-2")).await.unwrap();
    let forms = endpoint.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2);
    let form = &forms[0];
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["client_id"], "app");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let parts: Vec<&str> = form["client_assertion"].split('.').collect();
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "JWT", "kid": "key-1"})
    );
    assert_eq!(claims["aud"], json!(ISSUER));
    assert_ne!(claims["aud"], json!(endpoint.url));
    assert_eq!(claims["iss"], "app");
    assert_eq!(claims["sub"], "app");
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 60);
    sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, &public)
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64(parts[2]),
        )
        .unwrap();
    let second: Value = serde_json::from_slice(&b64(forms[1]["client_assertion"]
        .split('.')
        .nth(1)
        .unwrap()))
    .unwrap();
    assert_ne!(second["jti"], claims["jti"]);
}

/// `client_secret_jwt`: an HS256 assertion keyed by the client secret, which is not sent.
#[tokio::test]
async fn client_secret_jwt_signs_with_the_secret_and_never_sends_it() {
    let endpoint =
        token_endpoint(200, json!({"access_token": "new", "token_type": "Bearer"})).await;
    let secret = "0123456789abcdef0123456789abcdef";
    let registry = Providers::builder()
        .settings(
            Settings::new()
                .set("hashed", "access_token_url", endpoint.url.clone())
                .set("hashed", "client_secret", secret),
        )
        .env_source(env_of(&[]))
        .allow_unconfigured()
        .build()
        .unwrap();
    registry.client::<Hashed>().refresh(&token()).await.unwrap();
    let form = endpoint.forms.lock().unwrap()[0].clone();
    assert!(!form.values().any(|v| v.contains(secret)));
    let parts: Vec<&str> = form["client_assertion"].split('.').collect();
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    assert_eq!(claims["aud"], json!(ISSUER));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(
        &key,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &b64(parts[2]),
    )
    .unwrap();
}

/// The provider refusing the assertion: a typed token-endpoint error naming the provider,
/// with nothing of the assertion in it.
#[tokio::test]
async fn a_refused_assertion_is_a_typed_invalid_client_error() {
    let endpoint = token_endpoint(
        401,
        json!({"error": "invalid_client", "error_description": "invalid signature"}),
    )
    .await;
    let registry = Providers::builder()
        .settings(Settings::new().set("signed", "access_token_url", endpoint.url.clone()))
        .env_source(env_of(&[("SIGNED_CLIENT_KEY", &pem(p256().as_ref()))]))
        .allow_unconfigured()
        .build()
        .unwrap();
    let error = registry
        .client::<Signed>()
        .refresh(&token())
        .await
        .unwrap_err();
    match &error {
        Error::TokenEndpoint {
            provider: "signed",
            error,
            status: 401,
            ..
        } => assert_eq!(error, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    let assertion = &endpoint.forms.lock().unwrap()[0]["client_assertion"];
    assert!(!error.to_string().contains(assertion.as_str()));
}

/// Every problem with the client authentication material, reported by `build` on the
/// provider and key concerned.
#[test]
fn client_authentication_problems_are_reported_at_start_up() {
    let problems = |settings: Settings,
                    env: &[(&str, &str)]|
     -> Vec<(String, Option<String>, Origin, String)> {
        match Providers::builder()
            .settings(settings)
            .env_source(env_of(env))
            .build()
        {
            Ok(_) => Vec::new(),
            Err(ConfigError { problems }) => problems
                .into_iter()
                .map(|p| (p.provider, p.key, p.origin, p.message))
                .collect(),
        }
    };
    let base = || {
        Settings::new().set(
            "hashed",
            "client_secret",
            "0123456789abcdef0123456789abcdef",
        )
    };
    let mut cert = rcgen::CertificateParams::new(vec!["app".to_string()]).unwrap();
    cert.distinguished_name
        .push(rcgen::DnType::CommonName, "app");
    let cert_key = rcgen::KeyPair::generate().unwrap();
    let cert = cert.self_signed(&cert_key).unwrap().pem();
    let with_cert = |settings: Settings| {
        settings
            .set("mutual", "client_certificate", cert.replace('\n', "\\n"))
            .set(
                "mutual",
                "client_certificate_key",
                cert_key.serialize_pem().replace('\n', "\\n"),
            )
    };
    let key = pem(p256().as_ref());

    // Everything in place: no problem.
    assert_eq!(
        problems(with_cert(base()), &[("SIGNED_CLIENT_KEY", &key)]),
        []
    );

    // The default variable of `client_key` unset; no certificate for the TLS method.
    let found = problems(base(), &[]);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        found[0],
        (
            "signed".into(),
            Some("client_key".into()),
            Origin::Environment,
            "`client_key` is not set: set the environment variable `SIGNED_CLIENT_KEY`".into()
        )
    );
    assert_eq!(found[1].0, "mutual");
    assert_eq!(found[1].1.as_deref(), Some("token_endpoint_auth_method"));
    assert!(
        found[1].3.contains("`token_endpoint_auth_method: tls_client_auth` authenticates with a client certificate, and `mutual` has none"),
        "{found:#?}"
    );

    // Not a PEM key; an algorithm that does not fit the key; a file that cannot be read.
    let found = problems(with_cert(base()), &[("SIGNED_CLIENT_KEY", "not a key")]);
    assert_eq!(
        found,
        [(
            "signed".into(),
            Some("client_key".into()),
            Origin::Environment,
            "`client_key` is not a PEM private key: expected PKCS#8 (`-----BEGIN PRIVATE KEY-----`)".into()
        )]
    );
    let found = problems(
        with_cert(base()).set("signed", "client_assertion_alg", "PS256"),
        &[("SIGNED_CLIENT_KEY", &key)],
    );
    assert_eq!(
        found,
        [(
            "signed".into(),
            Some("client_assertion_alg".into()),
            Origin::Settings,
            "`client_assertion_alg: PS256` does not fit `client_key`, which is a P-256 key; use `ES256`".into()
        )]
    );
    let missing = std::env::temp_dir().join("oauth-clients-no-such-key.pem");
    let found = problems(
        with_cert(base()).set("signed", "client_key_file", missing.display().to_string()),
        &[],
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1.as_deref(), Some("client_key_file"));
    assert!(found[0].3.starts_with(&format!(
        "`client_key_file` `{}` cannot be read",
        missing.display()
    )));

    // A key file that can be read, and the environment left alone.
    let file = std::env::temp_dir().join(format!("oauth-clients-key-{}.pem", std::process::id()));
    std::fs::write(&file, &key).unwrap();
    assert_eq!(
        problems(
            with_cert(base()).set("signed", "client_key_file", file.display().to_string()),
            &[]
        ),
        []
    );
    std::fs::remove_file(&file).unwrap();

    // An HS256 key shorter than the hash (RFC 7518 §3.2).
    let found = problems(
        with_cert(Settings::new().set("hashed", "client_secret", "short")),
        &[("SIGNED_CLIENT_KEY", &key)],
    );
    assert_eq!(
        found,
        [(
            "hashed".into(),
            Some("client_secret".into()),
            Origin::Settings,
            "`client_secret_jwt` signs with the client secret as an HS256 key, which must be at least 32 bytes (RFC 7518 §3.2); this one has 5".into()
        )]
    );

    // A certificate that is not one; settings that give both key sources.
    let found = problems(
        base()
            .set("mutual", "client_certificate", "not a certificate")
            .set("mutual", "client_certificate_key", "not a key")
            .set("signed", "client_key", key.replace('\n', "\\n"))
            .set("signed", "client_key_file", "/k.pem"),
        &[("SIGNED_CLIENT_KEY", &key)],
    );
    let keys: Vec<_> = found
        .iter()
        .map(|p| (p.0.as_str(), p.1.as_deref()))
        .collect();
    assert!(
        keys.contains(&("mutual", Some("client_certificate"))),
        "{found:#?}"
    );
    assert!(
        keys.contains(&("signed", Some("client_key_file"))),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .any(|p| p.3
            == "`client_key` and `client_key_file` are two sources of the same key; keep one"));
}

/// A client certificate set on the builder satisfies a TLS method; the form then names the
/// client and carries no secret.
#[tokio::test]
async fn tls_client_auth_sends_client_id_and_no_secret() {
    let endpoint =
        token_endpoint(200, json!({"access_token": "new", "token_type": "Bearer"})).await;
    let mut params = rcgen::CertificateParams::new(vec!["app".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "app");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap().pem();
    let registry = Providers::builder()
        .settings(Settings::new().set("mutual", "access_token_url", endpoint.url.clone()))
        .env_source(env_of(&[]))
        .allow_unconfigured()
        .client_certificate_pem("mutual", &cert, key.serialize_pem())
        .build()
        .unwrap();
    registry.client::<Mutual>().refresh(&token()).await.unwrap();
    let form = endpoint.forms.lock().unwrap()[0].clone();
    assert_eq!(form["client_id"], "app");
    assert!(!form.contains_key("client_secret"));
    assert!(!form.contains_key("client_assertion"));
}
