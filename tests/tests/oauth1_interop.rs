//! Interop with a real OAuth 1.0a provider (RFC 5849): oauthlib's endpoints behind
//! `tests/oauth1-server/server.py`, with oauthlib pinned in `requirements.txt`. The harness
//! (`oauth1_support`) installs it into a virtual environment and starts it once for this binary;
//! see there for what it needs. Without Python the tests fail, they never skip.
//!
//! The server checks what a real provider checks: every signature (oauthlib's own verification),
//! nonce and timestamp replay, the verifier, that a request token belongs to the client and is
//! redeemed once, the registered callback, the client's registered signature method, and
//! PLAINTEXT over TLS only. Its `/api/user` answers with what it received, so the tests see that
//! the query and form parameters of an API call arrived and were covered by the signature.

mod oauth1_support;

use oauth1_support::{registration, server, Approval, RegisteredClient};
use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, MemorySession, OAuth1Client, OAuth1Provider,
    OAuth1Token, Registry, RegistryBuilder, Settings,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use url::Url;

// One provider per signature method and placement, pointed at the server by `settings` (the
// declared URLs are stand-ins). PLAINTEXT is declared, and served, over https only.
oauth_clients! {
    hmac_sha1_header {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA1",
        signature_type: header,
    },
    hmac_sha1_body {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA1",
        signature_type: body,
    },
    hmac_sha1_query {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA1",
        signature_type: query,
    },
    hmac_sha256_header {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA256",
        signature_type: header,
    },
    hmac_sha256_body {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA256",
        signature_type: body,
    },
    hmac_sha256_query {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "HMAC-SHA256",
        signature_type: query,
    },
    rsa_sha1_header {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "RSA-SHA1",
        signature_type: header,
    },
    rsa_sha1_body {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "RSA-SHA1",
        signature_type: body,
    },
    rsa_sha1_query {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "RSA-SHA1",
        signature_type: query,
    },
    plaintext_header {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "PLAINTEXT",
        signature_type: header,
    },
    plaintext_body {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "PLAINTEXT",
        signature_type: body,
    },
    plaintext_query {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "PLAINTEXT",
        signature_type: query,
    },
    // A PLAINTEXT client whose secret has reserved characters, in the header only (oauthlib
    // decodes the query's and body's `oauth_` parameters twice: see clients.json).
    plaintext_reserved {
        request_token_url: "https://oauth1.invalid/request_token",
        authorize_url: "https://oauth1.invalid/authorize",
        access_token_url: "https://oauth1.invalid/access_token",
        api_base_url: "https://oauth1.invalid/api/",
        signature_method: "PLAINTEXT",
    },
}

/// A provider of the declaration: its name, the client registered for it, and whether the
/// server's https listener serves it.
struct Case {
    provider: &'static str,
    client: &'static str,
    method: &'static str,
    placement: &'static str,
    tls: bool,
}

const fn case(
    provider: &'static str,
    client: &'static str,
    method: &'static str,
    placement: &'static str,
    tls: bool,
) -> Case {
    Case {
        provider,
        client,
        method,
        placement,
        tls,
    }
}

const CASES: &[Case] = &[
    case(
        "hmac_sha1_header",
        "interopHmacSha1Client",
        "HMAC-SHA1",
        "header",
        false,
    ),
    case(
        "hmac_sha1_body",
        "interopHmacSha1Client",
        "HMAC-SHA1",
        "body",
        false,
    ),
    case(
        "hmac_sha1_query",
        "interopHmacSha1Client",
        "HMAC-SHA1",
        "query",
        false,
    ),
    case(
        "hmac_sha256_header",
        "interopHmacSha256Client",
        "HMAC-SHA256",
        "header",
        false,
    ),
    case(
        "hmac_sha256_body",
        "interopHmacSha256Client",
        "HMAC-SHA256",
        "body",
        false,
    ),
    case(
        "hmac_sha256_query",
        "interopHmacSha256Client",
        "HMAC-SHA256",
        "query",
        false,
    ),
    case(
        "rsa_sha1_header",
        "interopRsaSha1Client",
        "RSA-SHA1",
        "header",
        false,
    ),
    case(
        "rsa_sha1_body",
        "interopRsaSha1Client",
        "RSA-SHA1",
        "body",
        false,
    ),
    case(
        "rsa_sha1_query",
        "interopRsaSha1Client",
        "RSA-SHA1",
        "query",
        false,
    ),
    case(
        "plaintext_header",
        "interopPlaintextClient",
        "PLAINTEXT",
        "header",
        true,
    ),
    case(
        "plaintext_body",
        "interopPlaintextClient",
        "PLAINTEXT",
        "body",
        true,
    ),
    case(
        "plaintext_query",
        "interopPlaintextClient",
        "PLAINTEXT",
        "query",
        true,
    ),
    case(
        "plaintext_reserved",
        "interopPlaintextReserved",
        "PLAINTEXT",
        "header",
        true,
    ),
];

fn case_of(provider: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.provider == provider)
        .unwrap_or_else(|| panic!("no case for `{provider}`"))
}

/// The environment variable the RSA-SHA1 providers read their key from (the default
/// `<NAME>_RSA_KEY`): a PEM has line breaks, which settings do not take.
fn rsa_key_variable(provider: &str) -> String {
    format!("{}_RSA_KEY", provider.to_ascii_uppercase())
}

/// Every provider pointed at the server, with its registered client.
fn settings() -> Settings {
    let server = server();
    let mut settings = Settings::new();
    for case in CASES {
        let base = if case.tls {
            server.https_base()
        } else {
            server.http_base()
        };
        let client = registration().client(case.client);
        settings = settings
            .set(
                case.provider,
                "request_token_url",
                format!("{base}/request_token"),
            )
            .set(case.provider, "authorize_url", format!("{base}/authorize"))
            .set(
                case.provider,
                "access_token_url",
                format!("{base}/access_token"),
            )
            .set(case.provider, "api_base_url", format!("{base}/api/"))
            .set(case.provider, "client_id", client.key.clone());
        if let Some(secret) = &client.secret {
            settings = settings.set(case.provider, "client_secret", secret.clone());
        }
    }
    settings
}

/// A registry builder with `settings`, the RSA key in the environment it reads, and the
/// run's CA trusted.
fn builder(settings: Settings) -> RegistryBuilder<Providers> {
    let rsa_key = registration()
        .client("interopRsaSha1Client")
        .rsa_private_key_pem
        .clone()
        .expect("the RSA-SHA1 client's key");
    let variables: HashMap<String, String> = CASES
        .iter()
        .filter(|case| case.method == "RSA-SHA1")
        .map(|case| (rsa_key_variable(case.provider), rsa_key.clone()))
        .collect();
    Providers::builder()
        .settings(settings)
        .env_source(move |name| variables.get(name).cloned())
        .add_root_certificates_pem(&server().ca_pem)
        .no_proxy()
}

fn registry() -> Registry<Providers> {
    builder(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `Err(message)` unless `left == right`.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($what:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{}: {left:?} != {right:?}", format!($($what)+)));
        }
    }};
}

/// The query parameters of `url`, in order.
fn pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

/// The value of the only parameter `name` of `url`'s query.
fn only(url: &Url, name: &str) -> Result<String, String> {
    let values: Vec<String> = url
        .query_pairs()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .collect();
    match values.as_slice() {
        [value] => Ok(value.clone()),
        _ => Err(format!("`{name}` in {url}: {values:?}")),
    }
}

/// `url` without its query: where it points.
fn base_of(url: &Url) -> String {
    let mut base = url.clone();
    base.set_query(None);
    base.to_string()
}

/// The user the tests log in as (not the server's default user, so the name goes through).
const USER: &str = "bob";

/// What the access-token answer carries beside the token: oauthlib's (empty) realms and the
/// user fields of `server.py`, as X/Twitter adds them.
fn expected_extra(user: &str) -> Value {
    let (user_id, screen_name) = &registration().users[user];
    json!({
        "oauth_authorized_realms": "",
        "user_id": user_id,
        "screen_name": screen_name,
    })
}

/// The three legs, as an application runs them, for `user`: the request token and the
/// redirect, the user's approval at the server, the callback. Returns the token credentials and
/// the request token.
async fn log_in<P: OAuth1Provider<Set = Providers>>(
    client: &OAuth1Client<P>,
    session: &MemorySession,
    user: &str,
) -> Result<(OAuth1Token, String), String> {
    let server = server();
    let callback = registration().callback();
    let redirect = client
        .authorize_redirect(session, callback)
        .await
        .map_err(|e| format!("authorize_redirect: {e}"))?;
    let location = redirect.location().clone();
    let request_token = only(&location, "oauth_token")?;
    let authorize_url = client.config().unwrap().authorize_url.clone().unwrap();
    ensure_eq!(
        (base_of(&location), pairs(&location).len()),
        (base_of(&authorize_url), 1),
        "the redirect goes to the authorization page with the request token alone"
    );
    let back = match server.approve(&location, user).await {
        Approval::Redirect(back) => back,
        other => return Err(format!("the authorization page answered {other:?}")),
    };
    ensure_eq!(
        base_of(&back),
        callback,
        "the server redirects to the callback"
    );
    ensure_eq!(
        only(&back, "oauth_token")?,
        request_token,
        "the callback's request token"
    );
    only(&back, "oauth_verifier")?;
    let token = client
        .authorize_access_token(session, &Callback::from_url(&back))
        .await
        .map_err(|e| format!("authorize_access_token: {e}"))?;
    ensure_eq!(
        Value::Object(token.extra.clone()),
        expected_extra(user),
        "the token's extra fields"
    );
    ensure_eq!(
        server.token_counts(&request_token).await,
        HashMap::from([
            ("GET /authorize 302".to_string(), 1),
            ("POST /access_token 200".to_string(), 1),
        ]),
        "what the server saw of the request token"
    );
    Ok((token, request_token))
}

/// A login with `P`, then a GET with query parameters and a form POST signed with its token:
/// every outcome checked against what the server received.
async fn login_and_api_calls<P: OAuth1Provider<Set = Providers>>(
    registry: &Registry<Providers>,
) -> Result<(), String> {
    let client = registry.oauth1_client::<P>();
    let case = case_of(P::NAME);
    let registered: &RegisteredClient = registration().client(case.client);
    ensure_eq!(
        registered.signature_method,
        case.method,
        "the method {} is registered for",
        case.client
    );
    let (token, _) = log_in(&client, &MemorySession::new(), USER).await?;
    let (user_id, screen_name) = &registration().users[USER];
    let answer = |method: &str, query: Value, form: Value, params: Value| {
        json!({
            "user": screen_name,
            "user_id": user_id,
            "client": registered.key,
            "method": method,
            "signature_method": case.method,
            "signature_type": case.placement,
            "query": query,
            "form": form,
            "params": params,
        })
    };

    let get = client
        .get("user", &token)
        .query(&json!({"a": "1", "b": "2 3/€"}))
        .await;
    if case.placement == "body" {
        // RFC 5849 §3.5.2: a GET has no form body to carry the protocol parameters; the
        // client refuses before sending anything.
        match get {
            Err(Error::InvalidRequest { provider, message }) => {
                ensure_eq!(provider, P::NAME, "the refusal's provider");
                if !message.contains("`signature_type: body` needs a request with a form body") {
                    return Err(format!("the refusal's message: {message}"));
                }
            }
            other => return Err(format!("GET with signature_type body: {other:?}")),
        }
    } else {
        let get = get.map_err(|e| format!("GET: {e}"))?;
        ensure_eq!(get.status().as_u16(), 200, "GET status ({})", get.text());
        let expected = answer(
            "GET",
            json!({"a": "1", "b": "2 3/€"}),
            json!({}),
            json!({"a": "1", "b": "2 3/€"}),
        );
        ensure_eq!(get.json::<Value>().unwrap(), expected, "GET answer");
    }

    let post = client
        .post("user", &token)
        .form(&[("b", "2 3"), ("b", "x&y=z"), ("c", "é+~*")])
        .await
        .map_err(|e| format!("POST: {e}"))?;
    ensure_eq!(post.status().as_u16(), 200, "POST status ({})", post.text());
    let form = json!({"b": ["2 3", "x&y=z"], "c": "é+~*"});
    ensure_eq!(
        post.json::<Value>().unwrap(),
        answer("POST", json!({}), form.clone(), form),
        "POST answer"
    );

    let mut expected = HashMap::from([("POST /api/user 200".to_string(), 1)]);
    if case.placement != "body" {
        expected.insert("GET /api/user 200".to_string(), 1);
    }
    ensure_eq!(
        server().token_counts(&token.oauth_token).await,
        expected,
        "what the server saw of the token"
    );
    Ok(())
}

#[tokio::test]
async fn login_and_signed_api_calls_with_every_method_in_every_placement() {
    let registry = registry();
    let outcomes = [
        (
            "hmac_sha1_header",
            login_and_api_calls::<HmacSha1Header>(&registry).await,
        ),
        (
            "hmac_sha1_body",
            login_and_api_calls::<HmacSha1Body>(&registry).await,
        ),
        (
            "hmac_sha1_query",
            login_and_api_calls::<HmacSha1Query>(&registry).await,
        ),
        (
            "hmac_sha256_header",
            login_and_api_calls::<HmacSha256Header>(&registry).await,
        ),
        (
            "hmac_sha256_body",
            login_and_api_calls::<HmacSha256Body>(&registry).await,
        ),
        (
            "hmac_sha256_query",
            login_and_api_calls::<HmacSha256Query>(&registry).await,
        ),
        (
            "rsa_sha1_header",
            login_and_api_calls::<RsaSha1Header>(&registry).await,
        ),
        (
            "rsa_sha1_body",
            login_and_api_calls::<RsaSha1Body>(&registry).await,
        ),
        (
            "rsa_sha1_query",
            login_and_api_calls::<RsaSha1Query>(&registry).await,
        ),
        (
            "plaintext_header",
            login_and_api_calls::<PlaintextHeader>(&registry).await,
        ),
        (
            "plaintext_body",
            login_and_api_calls::<PlaintextBody>(&registry).await,
        ),
        (
            "plaintext_query",
            login_and_api_calls::<PlaintextQuery>(&registry).await,
        ),
    ];
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|(name, outcome)| {
            let case = case_of(name);
            outcome
                .as_ref()
                .err()
                .map(|e| format!("{} in the {}: {e}", case.method, case.placement))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} combinations failed:\n{}\n--- server log ---\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n"),
        server().log()
    );
}

#[tokio::test]
async fn plaintext_encodes_secrets_with_reserved_characters() {
    let outcome = login_and_api_calls::<PlaintextReserved>(&registry()).await;
    assert_eq!(outcome, Ok(()), "{}", server().log());
}

#[tokio::test]
async fn out_of_band_login_with_the_verifier_from_the_authorization_page() {
    let registry = registry();
    let client = registry.hmac_sha1_header();
    let session = MemorySession::new();
    let redirect = client.authorize_redirect(&session, "oob").await.unwrap();
    let request_token = only(redirect.location(), "oauth_token").unwrap();
    let Approval::Verifier(pin) = server().approve(redirect.location(), "alice").await else {
        panic!("the authorization page of an oob login shows no verifier");
    };
    // What the user types into the application, with the request token of the redirect.
    let callback =
        Callback::from_query(&format!("oauth_token={request_token}&oauth_verifier={pin}"));
    let token = client
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();
    assert_eq!(Value::Object(token.extra.clone()), expected_extra("alice"));
    let me = client.get("user", &token).await.unwrap();
    assert_eq!(me.status(), 200, "{}", me.text());
    assert_eq!(me.json::<Value>().unwrap()["user"], "alice");
    assert_eq!(
        server().token_counts(&request_token).await,
        HashMap::from([
            ("GET /authorize 200".to_string(), 1),
            ("POST /access_token 200".to_string(), 1),
        ])
    );
}

/// The approved callback of a login with `hmac_sha1_header` started in `session`, and its
/// request token.
async fn approved_callback(
    client: &OAuth1Client<HmacSha1Header>,
    session: &MemorySession,
) -> (Url, String) {
    let redirect = client
        .authorize_redirect(session, registration().callback())
        .await
        .unwrap();
    let request_token = only(redirect.location(), "oauth_token").unwrap();
    match server().approve(redirect.location(), USER).await {
        Approval::Redirect(back) => (back, request_token),
        other => panic!("the authorization page answered {other:?}"),
    }
}

#[tokio::test]
async fn a_replayed_callback_is_refused_without_asking_the_server() {
    let registry = registry();
    let client = registry.hmac_sha1_header();
    let session = MemorySession::new();
    let (back, request_token) = approved_callback(&client, &session).await;
    let callback = Callback::from_url(&back);
    client
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();

    let replay = client.authorize_access_token(&session, &callback).await;
    assert!(
        matches!(
            replay,
            Err(Error::ReplayedRequestToken {
                provider: "hmac_sha1_header"
            })
        ),
        "{replay:?}"
    );
    // The server redeemed the request token once, and was not asked again.
    assert_eq!(
        server().token_counts(&request_token).await,
        HashMap::from([
            ("GET /authorize 302".to_string(), 1),
            ("POST /access_token 200".to_string(), 1),
        ])
    );
}

#[tokio::test]
async fn a_callback_in_another_session_is_refused_and_the_login_goes_on_in_its_own() {
    let registry = registry();
    let client = registry.hmac_sha1_header();
    let session = MemorySession::new();
    let (back, request_token) = approved_callback(&client, &session).await;
    let callback = Callback::from_url(&back);

    let elsewhere = client
        .authorize_access_token(&MemorySession::new(), &callback)
        .await;
    assert!(
        matches!(
            elsewhere,
            Err(Error::UnknownRequestToken {
                provider: "hmac_sha1_header"
            })
        ),
        "{elsewhere:?}"
    );
    assert_eq!(
        server().token_counts(&request_token).await,
        HashMap::from([("GET /authorize 302".to_string(), 1)])
    );

    let token = client
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();
    assert_eq!(Value::Object(token.extra.clone()), expected_extra(USER));
}

/// Logs in with `P` and calls the API with `change` applied to the token; returns the status
/// and (JSON) body the client handed back, and what the server saw of the changed token.
async fn call_with_changed_token<P: OAuth1Provider<Set = Providers>>(
    registry: &Registry<Providers>,
    change: impl FnOnce(&mut OAuth1Token),
) -> (u16, Value, HashMap<String, u64>) {
    let client = registry.oauth1_client::<P>();
    let (mut token, _) = log_in(&client, &MemorySession::new(), USER)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", P::NAME, server().log()));
    change(&mut token);
    let response = client
        .get("user", &token)
        .query(&json!({"a": "1"}))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", P::NAME));
    let counts = server().token_counts(&token.oauth_token).await;
    let body = response
        .json()
        .unwrap_or_else(|_| Value::String(response.text()));
    (response.status().as_u16(), body, counts)
}

#[tokio::test]
async fn a_tampered_token_secret_is_refused_by_the_server_and_its_status_returned() {
    let registry = registry();
    let tamper = |token: &mut OAuth1Token| token.oauth_token_secret.push('x');
    let refused = HashMap::from([("GET /api/user 401".to_string(), 1)]);
    let unauthorized = json!({"error": "unauthorized"});
    for (name, outcome) in [
        (
            "hmac_sha1_header",
            call_with_changed_token::<HmacSha1Header>(&registry, tamper).await,
        ),
        (
            "hmac_sha256_query",
            call_with_changed_token::<HmacSha256Query>(&registry, tamper).await,
        ),
        (
            "plaintext_header",
            call_with_changed_token::<PlaintextHeader>(&registry, tamper).await,
        ),
    ] {
        assert_eq!(
            outcome,
            (401, unauthorized.clone(), refused.clone()),
            "{name}"
        );
    }
    // RSA-SHA1 signs with the client's private key alone (RFC 5849 §3.4.3): the token secret
    // is not part of it, so the same change goes through.
    let (status, _, counts) = call_with_changed_token::<RsaSha1Header>(&registry, tamper).await;
    assert_eq!(
        (status, counts),
        (200, HashMap::from([("GET /api/user 200".to_string(), 1)]))
    );
    // Another token, whatever the method, is refused.
    let (status, body, _) = call_with_changed_token::<RsaSha1Header>(&registry, |token| {
        token.oauth_token = "someoneElsesAccessToken00001".into();
    })
    .await;
    assert_eq!((status, body), (401, unauthorized));
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_at_the_request_token() {
    let registry = builder(settings().set("hmac_sha1_header", "client_secret", "not the secret"))
        .build()
        .unwrap();
    let outcome = registry
        .hmac_sha1_header()
        .authorize_redirect(&MemorySession::new(), registration().callback())
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::OAuth1Endpoint {
                provider: "hmac_sha1_header",
                endpoint: Endpoint::RequestToken,
                status: 401,
                problem: None,
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_unregistered_callback_is_refused_at_the_request_token() {
    let outcome = registry()
        .hmac_sha256_header()
        .authorize_redirect(&MemorySession::new(), "http://127.0.0.1:8080/elsewhere")
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::OAuth1Endpoint {
                provider: "hmac_sha256_header",
                endpoint: Endpoint::RequestToken,
                status: 401,
                problem: None,
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn plaintext_pointed_at_plain_http_is_a_configuration_error() {
    let server = server();
    let http = server.http_base();
    let settings = settings()
        .set(
            "plaintext_header",
            "request_token_url",
            format!("{http}/request_token"),
        )
        .set("plaintext_header", "api_base_url", format!("{http}/api/"));
    let error = builder(settings).build().unwrap_err();
    let problems: Vec<(&str, Option<&str>)> = error
        .problems
        .iter()
        .map(|p| (p.provider.as_str(), p.key.as_deref()))
        .collect();
    assert_eq!(
        problems,
        [
            ("plaintext_header", Some("request_token_url")),
            ("plaintext_header", Some("api_base_url")),
        ],
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// The server itself, without the client: what the tests above rely on
// ---------------------------------------------------------------------------------------------

/// `name=value` pairs of a form-encoded answer.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// A PLAINTEXT Authorization header for a temporary-credentials request, written out by hand
/// (RFC 5849 3.4.4 and 3.5.1).
fn plaintext_request_token_header(nonce: &str) -> String {
    let client = registration().client("interopPlaintextClient");
    let encode = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
            .replace('*', "%2A")
            .replace("%7E", "~")
    };
    let signature = format!("{}&", encode(client.secret.as_deref().unwrap()));
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "OAuth oauth_consumer_key=\"{}\", oauth_signature_method=\"PLAINTEXT\", \
         oauth_timestamp=\"{timestamp}\", oauth_nonce=\"{nonce}\", oauth_callback=\"{}\", \
         oauth_signature=\"{}\"",
        client.key,
        encode(registration().callback()),
        encode(&signature)
    )
}

#[tokio::test]
async fn the_server_takes_plaintext_over_https_only() {
    let server = server();
    let browser = server.browser();

    let over_http = browser
        .post(format!("{}/request_token", server.http_base()))
        .header(
            "Authorization",
            plaintext_request_token_header("harnessnonce0000000001"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), 400, "{}", server.log());
    let body = over_http.text().await.unwrap();
    assert_eq!(
        form_pairs(&body)[0],
        ("error".to_string(), "invalid_signature_method".to_string()),
        "{body}"
    );

    let over_https = browser
        .post(format!("{}/request_token", server.https_base()))
        .header(
            "Authorization",
            plaintext_request_token_header("harnessnonce0000000002"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over_https.status(), 200, "{}", server.log());
    let answer = form_pairs(&over_https.text().await.unwrap());
    let names: Vec<&str> = answer.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "oauth_token",
            "oauth_token_secret",
            "oauth_callback_confirmed"
        ]
    );
    assert_eq!(answer[2].1, "true");
}

#[tokio::test]
async fn the_server_refuses_a_request_without_oauth_parameters() {
    let server = server();
    let response = server
        .browser()
        .post(format!("{}/request_token", server.http_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        form_pairs(&response.text().await.unwrap()),
        [
            ("error".to_string(), "invalid_request".to_string()),
            (
                "error_description".to_string(),
                "Missing mandatory OAuth parameters.".to_string()
            )
        ]
    );
}
