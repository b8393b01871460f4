//! OAuth 1.0a providers (RFC 5849) end to end against the local provider's `/oauth1/`
//! endpoints, which check every signature, timestamp and nonce themselves: a login and signed
//! API calls with each signature method and placement, the out-of-band (PIN) flow, and every
//! bad answer or callback refused with its own typed error before any token is handed out.
//!
//! Each test starts its own provider (they are cheap), so counters are exact.

use oauth_clients::{
    oauth_clients, Callback, Endpoint, Error, HttpErrorKind, MemorySession, OAuth1Client,
    OAuth1Provider, OAuth1Token, Registry, RegistryBuilder, Settings,
};
use oauth_clients_testing::{CallbackConfirmation, TestProvider};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

oauth_clients! {
    // The URLs are placeholders: settings point each provider at the local provider.
    hmac {
        request_token_url: "http://127.0.0.1/x",
        authorize_url: "http://127.0.0.1/x",
        access_token_url: "http://127.0.0.1/x",
    },
    hmac256 {
        request_token_url: "http://127.0.0.1/x",
        authorize_url: "http://127.0.0.1/x",
        access_token_url: "http://127.0.0.1/x",
        signature_method: "HMAC-SHA256",
    },
    in_body {
        request_token_url: "http://127.0.0.1/x",
        authorize_url: "http://127.0.0.1/x",
        access_token_url: "http://127.0.0.1/x",
        signature_type: body,
    },
    in_query {
        request_token_url: "http://127.0.0.1/x",
        authorize_url: "http://127.0.0.1/x",
        access_token_url: "http://127.0.0.1/x",
        signature_type: query,
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

async fn start() -> TestProvider {
    TestProvider::builder().start().await.unwrap()
}

/// Every declared provider pointed at `provider`.
fn settings(provider: &TestProvider) -> Settings {
    ["hmac", "hmac256", "in_body", "in_query"]
        .into_iter()
        .fold(Settings::new(), |settings, name| {
            provider.add_oauth1_settings(settings, name)
        })
}

fn builder(settings: Settings) -> RegistryBuilder<Providers> {
    Providers::builder().settings(settings).env_source(|_| None)
}

fn registry(provider: &TestProvider) -> Registry<Providers> {
    builder(settings(provider)).build().unwrap()
}

fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

/// The request token in an authorization redirect.
fn request_token(location: &Url) -> String {
    let pairs = query(location);
    assert_eq!(pairs.len(), 1, "{location}");
    assert_eq!(pairs[0].0, "oauth_token");
    pairs[0].1.clone()
}

/// The pending logins of provider `hmac` in `session`.
fn pending(session: &MemorySession) -> Option<Value> {
    session.value("oauth_clients.hmac.requests")
}

/// Starts a login and lets `user` approve it: the session and the callback URL.
async fn approved<P: OAuth1Provider<Set = Providers>>(
    provider: &TestProvider,
    client: &OAuth1Client<P>,
    user: &str,
) -> (MemorySession, Url) {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = provider
        .approve_oauth1(redirect.location(), user)
        .await
        .unwrap();
    (session, back)
}

/// A whole login of `user`.
async fn log_in<P: OAuth1Provider<Set = Providers>>(
    provider: &TestProvider,
    client: &OAuth1Client<P>,
    user: &str,
) -> OAuth1Token {
    let (session, back) = approved(provider, client, user).await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap()
}

/// A login, then a GET with query parameters and a POST with form parameters, each checked
/// by the provider; `signature_method` and `place` are what the provider must have seen on
/// every request.
async fn login_and_api_calls<P: OAuth1Provider<Set = Providers>>(
    signature_method: &str,
    place: &str,
) {
    let provider = start().await;
    let registry = registry(&provider);
    let client = registry.oauth1_client::<P>();
    let session = MemorySession::new();

    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let location = redirect.location();
    assert_eq!(location.path(), "/oauth1/authorize");
    let request_token = request_token(location);
    assert_eq!(
        session.keys(),
        [format!("oauth_clients.{}.requests", P::NAME)]
    );
    assert_eq!(provider.count("oauth1.request_token"), 1);

    let back = provider.approve_oauth1(location, "alice").await.unwrap();
    assert_eq!(&back[..url::Position::AfterPath], REDIRECT_URI);
    let back_query = query(&back);
    let names: Vec<&str> = back_query.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["oauth_token", "oauth_verifier"]);
    assert_eq!(back_query[0].1, request_token);

    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(token.extra_str("screen_name"), Some("alice"));
    assert_ne!(token.oauth_token, request_token);
    assert_eq!(provider.count("oauth1.access_token"), 1);

    let get = client
        .get("user", &token)
        .query(&json!({ "q": "rust & c++ = fun", "page": 2 }));
    let mut verified = 2;
    if place == "body" {
        // RFC 5849 §3.5.2: a GET has no body to carry the protocol parameters.
        match get.await {
            Err(Error::InvalidRequest { provider: name, .. }) => assert_eq!(name, P::NAME),
            other => panic!("{other:?}"),
        }
        assert_eq!(provider.count("oauth1.api"), 0, "nothing was sent");
    } else {
        let response = get.await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text());
        assert_eq!(
            response.json::<Value>().unwrap(),
            json!({
                "user": "alice",
                "method": "GET",
                "params": { "q": "rust & c++ = fun", "page": "2" },
            })
        );
        verified += 1;
    }

    let response = client
        .post("user", &token)
        .form(&[("status", "hello, world: 100% ✓"), ("tag", "a+b=c")])
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text());
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({
            "user": "alice",
            "method": "POST",
            "params": { "status": "hello, world: 100% ✓", "tag": "a+b=c" },
        })
    );
    verified += 1;

    let counts = provider.counts();
    let count = |name: String| counts.get(&name).copied().unwrap_or(0);
    assert_eq!(
        count(format!("oauth1.signature_method.{signature_method}")),
        verified,
        "{counts:?}"
    );
    assert_eq!(
        count(format!("oauth1.parameters_in.{place}")),
        verified,
        "{counts:?}"
    );
}

#[tokio::test]
async fn hmac_sha1_in_the_header_logs_in_and_signs_api_calls() {
    login_and_api_calls::<Hmac>("HMAC-SHA1", "header").await;
}

#[tokio::test]
async fn hmac_sha256_logs_in_and_signs_api_calls() {
    login_and_api_calls::<Hmac256>("HMAC-SHA256", "header").await;
}

#[tokio::test]
async fn parameters_in_the_body_log_in_and_sign_form_requests_only() {
    login_and_api_calls::<InBody>("HMAC-SHA1", "body").await;
}

#[tokio::test]
async fn parameters_in_the_query_log_in_and_sign_api_calls() {
    login_and_api_calls::<InQuery>("HMAC-SHA1", "query").await;
}

/// PUT and DELETE are signed like GET and POST; a form with a repeated name is signed with
/// its values sorted (RFC 5849 §3.4.1.3.2) and sent in its own order.
#[tokio::test]
async fn put_and_delete_are_signed_too() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let token = log_in(&provider, &hmac, "alice").await;
    let response = hmac
        .put("user", &token)
        .form(&[
            ("tag", "b"),
            ("name", "Alice A."),
            ("tag", "a b"),
            ("tag", "a"),
        ])
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({
            "user": "alice",
            "method": "PUT",
            "params": { "name": "Alice A.", "tag": ["b", "a b", "a"] },
        })
    );
    let response = hmac
        .delete("user?id=7", &token)
        .query(&json!({ "reason": "" }))
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({ "user": "alice", "method": "DELETE", "params": { "id": "7", "reason": "" } })
    );
    assert_eq!(provider.count("oauth1.signature_method.HMAC-SHA1"), 4);
}

#[tokio::test]
async fn the_token_keeps_the_providers_extra_fields_and_debug_shows_no_secret() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let alice = log_in(&provider, &hmac, "alice").await;
    let bob = log_in(&provider, &hmac, "bob").await;

    let mut names: Vec<&String> = alice.extra.keys().collect();
    names.sort();
    assert_eq!(names, ["screen_name", "user_id"]);
    assert_eq!(alice.extra_str("screen_name"), Some("alice"));
    let id = |token: &OAuth1Token| token.extra_str("user_id").unwrap().parse::<u64>().unwrap();
    assert_ne!(id(&alice), id(&bob));

    let debug = format!("{alice:?}");
    assert!(!alice.oauth_token.is_empty() && !alice.oauth_token_secret.is_empty());
    assert!(!debug.contains(&alice.oauth_token), "{debug}");
    assert!(!debug.contains(&alice.oauth_token_secret), "{debug}");
    assert!(debug.contains("user_id"), "{debug}");

    // The token survives a round trip through storage, and still signs.
    let stored = serde_json::to_string(&alice).unwrap();
    let restored: OAuth1Token = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, alice);
    assert_eq!(hmac.get("user", &restored).await.unwrap().status(), 200);
}

/// The `oauth_nonce` of an `Authorization` header.
fn nonce_of(authorization: &str) -> String {
    let start = authorization.find("oauth_nonce=\"").unwrap() + "oauth_nonce=\"".len();
    let end = start + authorization[start..].find('"').unwrap();
    authorization[start..end].to_string()
}

#[tokio::test]
async fn every_call_has_a_fresh_nonce_and_a_replayed_request_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let token = log_in(&provider, &hmac, "alice").await;

    assert_eq!(hmac.get("user", &token).await.unwrap().status(), 200);
    let first = provider.last_oauth1_api_request().unwrap();
    assert_eq!(hmac.get("user", &token).await.unwrap().status(), 200);
    let second = provider.last_oauth1_api_request().unwrap();
    assert_ne!(
        nonce_of(first.authorization.as_deref().unwrap()),
        nonce_of(second.authorization.as_deref().unwrap())
    );
    assert_eq!(provider.count("oauth1.api"), 2);

    // The second request, captured, sent again by someone else: byte for byte, then with a
    // parameter added.
    let http = oauth_clients::reqwest::Client::new();
    let send = |url: Url| {
        let authorization = second.authorization.clone().unwrap();
        let http = http.clone();
        async move {
            let response = http
                .get(url)
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            (status, challenge, response.text().await.unwrap())
        }
    };
    let realm = Some(format!("OAuth realm=\"{}\"", provider.issuer()));
    let mut tampered = second.url.clone();
    tampered.query_pairs_mut().append_pair("admin", "true");
    assert_eq!(
        send(tampered).await,
        (401, realm.clone(), "oauth_problem=signature_invalid".into())
    );
    assert_eq!(
        send(second.url.clone()).await,
        (401, realm, "oauth_problem=nonce_used".into())
    );
    assert_eq!(provider.count("oauth1.api"), 4);
}

// Bad answers from the request-token endpoint: the login does not start, and nothing is kept
// in the session.

/// Starts a login with provider `hmac` that must fail; checks that the session stayed empty.
async fn refused_start(provider: &TestProvider, registry: &Registry<Providers>) -> Error {
    let session = MemorySession::new();
    let error = registry
        .oauth1_client::<Hmac>()
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(session.keys().is_empty(), "{:?}", session.keys());
    assert_eq!(provider.count("oauth1.authorize"), 0);
    error
}

#[tokio::test]
async fn a_request_token_without_callback_confirmation_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    for confirmation in [CallbackConfirmation::Omitted, CallbackConfirmation::False] {
        provider.configure(|b| b.oauth1.callback_confirmed = confirmation);
        match refused_start(&provider, &registry).await {
            Error::CallbackNotConfirmed { provider } => assert_eq!(provider, "hmac"),
            other => panic!("{confirmation:?}: {other:?}"),
        }
    }
    assert_eq!(provider.count("oauth1.request_token"), 2);
}

/// `error` is `OAuth1Endpoint` at `endpoint` with this status and problem.
fn assert_endpoint_refused(error: Error, endpoint: Endpoint, status: u16, problem: &str) {
    match error {
        Error::OAuth1Endpoint {
            provider,
            endpoint: at,
            status: answered,
            problem: reported,
        } => assert_eq!(
            (provider, at, answered, reported.as_deref()),
            ("hmac", endpoint, status, Some(problem))
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_request_signed_with_the_wrong_consumer_secret_is_refused_as_signature_invalid() {
    let provider = start().await;
    let registry = builder(settings(&provider).set("hmac", "client_secret", "not-the-secret"))
        .build()
        .unwrap();
    let error = refused_start(&provider, &registry).await;
    assert_endpoint_refused(error, Endpoint::RequestToken, 401, "signature_invalid");
}

#[tokio::test]
async fn an_unknown_consumer_key_is_refused() {
    let provider = start().await;
    let registry = builder(settings(&provider).set("hmac", "client_id", "someone-else"))
        .build()
        .unwrap();
    let error = refused_start(&provider, &registry).await;
    assert_endpoint_refused(error, Endpoint::RequestToken, 401, "consumer_key_unknown");
}

#[tokio::test]
async fn a_client_clock_off_by_more_than_ten_minutes_is_refused() {
    let provider = start().await;
    let registry = builder(settings(&provider))
        .clock(|| SystemTime::now() + Duration::from_secs(11 * 60))
        .build()
        .unwrap();
    let error = refused_start(&provider, &registry).await;
    assert_endpoint_refused(error, Endpoint::RequestToken, 401, "timestamp_refused");
}

#[tokio::test]
async fn a_request_token_answer_without_oauth_token_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    provider.configure(|b| b.oauth1.request_token.omit_token = true);
    match refused_start(&provider, &registry).await {
        Error::InvalidTokenResponse { provider, reason } => assert_eq!(
            (provider, reason.as_str()),
            (
                "hmac",
                "the request-token endpoint's answer has no `oauth_token`"
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_request_token_answer_with_oauth_token_twice_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    provider.configure(|b| b.oauth1.request_token.duplicate_token = true);
    match refused_start(&provider, &registry).await {
        Error::InvalidTokenResponse { provider, reason } => assert_eq!(
            (provider, reason.as_str()),
            (
                "hmac",
                "the request-token endpoint's answer has `oauth_token` more than once"
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_request_token_answer_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    provider.configure(|b| b.oauth1.request_token.padding = 2 << 20);
    match refused_start(&provider, &registry).await {
        Error::Http {
            provider,
            endpoint,
            kind,
        } => assert_eq!(
            (provider, endpoint, kind),
            (
                "hmac",
                Endpoint::RequestToken,
                HttpErrorKind::TooLarge { limit: 1 << 20 }
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_stalled_request_token_endpoint_times_out() {
    let provider = start().await;
    let registry = builder(settings(&provider).set("hmac", "timeout", 1u64))
        .build()
        .unwrap();
    provider.configure(|b| b.oauth1.request_token.delay = Some(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    match refused_start(&provider, &registry).await {
        Error::Http {
            provider,
            endpoint,
            kind,
        } => assert_eq!(
            (provider, endpoint, kind),
            (
                "hmac",
                Endpoint::RequestToken,
                HttpErrorKind::Timeout(Duration::from_secs(1))
            )
        ),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_request_token_endpoint_error_is_reported_with_its_problem() {
    let provider = start().await;
    let registry = registry(&provider);
    provider.configure(|b| b.oauth1.request_token.error = Some((400, "parameter_rejected".into())));
    let error = refused_start(&provider, &registry).await;
    assert_endpoint_refused(error, Endpoint::RequestToken, 400, "parameter_rejected");
}

// Bad callbacks: refused before the access-token endpoint is asked, with the session's
// pending login untouched where the callback could not have been the provider's.

/// Hands `callback` to provider `hmac` in `session`; it must fail, with no access-token
/// request sent and, when `untouched`, the session's pending logins as they were.
async fn refused_callback(
    provider: &TestProvider,
    client: &OAuth1Client<Hmac>,
    session: &MemorySession,
    callback: &Callback,
    untouched: bool,
) -> Error {
    let before = pending(session);
    let error = client
        .authorize_access_token(session, callback)
        .await
        .unwrap_err();
    assert_eq!(provider.count("oauth1.access_token"), 0, "{error:?}");
    if untouched {
        assert_eq!(pending(session), before, "{error:?}");
    }
    error
}

#[tokio::test]
async fn a_callback_with_an_unknown_oauth_token_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    let forged = Callback::from_query("oauth_token=forged&oauth_verifier=guess");
    match refused_callback(&provider, &hmac, &session, &forged, true).await {
        Error::UnknownRequestToken { provider } => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
    // The real callback still works.
    let token = hmac
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(token.extra_str("screen_name"), Some("alice"));
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    let callback = Callback::from_url(&back);
    hmac.authorize_access_token(&session, &callback)
        .await
        .unwrap();
    match hmac.authorize_access_token(&session, &callback).await {
        Err(Error::ReplayedRequestToken { provider }) => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.count("oauth1.access_token"), 1);
}

#[tokio::test]
async fn a_callback_for_another_sessions_request_token_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (victim, back) = approved(&provider, &hmac, "alice").await;
    let victim_pending = pending(&victim);
    let attacker = MemorySession::new();
    match refused_callback(
        &provider,
        &hmac,
        &attacker,
        &Callback::from_url(&back),
        true,
    )
    .await
    {
        Error::UnknownRequestToken { provider } => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
    assert!(attacker.keys().is_empty());
    assert_eq!(pending(&victim), victim_pending);
    // The session that started it still can finish it.
    hmac.authorize_access_token(&victim, &Callback::from_url(&back))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_callback_without_oauth_token_is_refused() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    let verifier = query(&back)
        .into_iter()
        .find(|(n, _)| n == "oauth_verifier")
        .unwrap()
        .1;
    let callback = Callback::from_query(&format!("oauth_verifier={verifier}"));
    match refused_callback(&provider, &hmac, &session, &callback, true).await {
        Error::MissingRequestToken { provider } => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_callback_without_a_verifier_is_refused_and_spends_the_login() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    let token = &query(&back)[0].1;
    let callback = Callback::from_query(&format!("oauth_token={token}"));
    match refused_callback(&provider, &hmac, &session, &callback, false).await {
        Error::MissingVerifier { provider } => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
    // The request token is used once, whatever the callback said: as the OAuth 2.0 flow's
    // state is consumed before a missing code is noticed.
    match hmac
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
    {
        Err(Error::ReplayedRequestToken { provider }) => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.count("oauth1.access_token"), 0);
}

#[tokio::test]
async fn a_callback_with_a_repeated_verifier_is_refused_before_anything_is_used() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    let repeated = Callback::from_query(&format!(
        "{}&oauth_verifier=attackers",
        back.query().unwrap()
    ));
    match refused_callback(&provider, &hmac, &session, &repeated, true).await {
        Error::RepeatedParameter {
            provider,
            parameter,
        } => assert_eq!((provider, parameter), ("hmac", "oauth_verifier")),
        other => panic!("{other:?}"),
    }
    hmac.authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_denied_login_is_an_authorization_error() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let session = MemorySession::new();
    let redirect = hmac
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = provider.deny_oauth1(redirect.location()).await.unwrap();
    assert_eq!(
        query(&back),
        [("denied".to_string(), request_token(redirect.location()))]
    );
    match refused_callback(
        &provider,
        &hmac,
        &session,
        &Callback::from_url(&back),
        false,
    )
    .await
    {
        Error::Authorization {
            provider,
            error,
            description,
            uri,
        } => assert_eq!(
            (provider, error.as_str(), description, uri),
            ("hmac", "access_denied", None, None)
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_login_older_than_the_login_timeout_is_refused() {
    let provider = start().await;
    let skew = Arc::new(AtomicU64::new(0));
    let clock = skew.clone();
    let registry = builder(settings(&provider))
        .login_timeout(Duration::from_secs(60))
        .clock(move || SystemTime::now() + Duration::from_secs(clock.load(Ordering::SeqCst)))
        .build()
        .unwrap();
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(&provider, &hmac, "alice").await;
    skew.store(61, Ordering::SeqCst);
    match refused_callback(
        &provider,
        &hmac,
        &session,
        &Callback::from_url(&back),
        false,
    )
    .await
    {
        Error::ExpiredRequestToken { provider } => assert_eq!(provider, "hmac"),
        other => panic!("{other:?}"),
    }
}

// Bad answers from the access-token endpoint: the callback was the provider's, so its login
// is spent, and no token comes out.

/// Runs a login whose access-token request must fail.
async fn refused_exchange(provider: &TestProvider) -> Error {
    let registry = registry(provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let (session, back) = approved(provider, &hmac, "alice").await;
    let error = hmac
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_err();
    assert_eq!(provider.count("oauth1.access_token"), 1);
    error
}

#[tokio::test]
async fn an_access_token_endpoint_refusing_the_signature_is_reported() {
    let provider = start().await;
    provider.configure(|b| b.oauth1.access_token.error = Some((401, "signature_invalid".into())));
    let error = refused_exchange(&provider).await;
    assert_endpoint_refused(error, Endpoint::AccessToken, 401, "signature_invalid");
}

#[tokio::test]
async fn an_access_token_answer_without_oauth_token_is_refused() {
    let provider = start().await;
    provider.configure(|b| b.oauth1.access_token.omit_token = true);
    match refused_exchange(&provider).await {
        Error::InvalidTokenResponse { provider, reason } => assert_eq!(
            (provider, reason.as_str()),
            (
                "hmac",
                "the access-token endpoint's answer has no `oauth_token`"
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_access_token_answer_with_oauth_token_twice_is_refused() {
    let provider = start().await;
    provider.configure(|b| b.oauth1.access_token.duplicate_token = true);
    match refused_exchange(&provider).await {
        Error::InvalidTokenResponse { provider, reason } => assert_eq!(
            (provider, reason.as_str()),
            (
                "hmac",
                "the access-token endpoint's answer has `oauth_token` more than once"
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_access_token_answer_is_refused() {
    let provider = start().await;
    provider.configure(|b| b.oauth1.access_token.padding = 2 << 20);
    match refused_exchange(&provider).await {
        Error::Http {
            provider,
            endpoint,
            kind,
        } => assert_eq!(
            (provider, endpoint, kind),
            (
                "hmac",
                Endpoint::AccessToken,
                HttpErrorKind::TooLarge { limit: 1 << 20 }
            )
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_out_of_band_flow_finishes_with_the_pin() {
    let provider = start().await;
    let registry = registry(&provider);
    let hmac = registry.oauth1_client::<Hmac>();
    let session = MemorySession::new();
    let redirect = hmac.authorize_redirect(&session, "oob").await.unwrap();
    let token = request_token(redirect.location());
    // There is no callback to redirect to: the provider shows the PIN instead.
    assert!(provider
        .approve_oauth1(redirect.location(), "carol")
        .await
        .unwrap_err()
        .contains("oauth1_pin"));
    let redirect = hmac.authorize_redirect(&session, "oob").await.unwrap();
    let token_again = request_token(redirect.location());
    assert_ne!(token, token_again);
    let pin = provider
        .oauth1_pin(redirect.location(), "carol")
        .await
        .unwrap();
    assert!(!pin.is_empty());
    let callback = Callback::from_query(&format!("oauth_token={token_again}&oauth_verifier={pin}"));
    let credentials = hmac
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();
    assert_eq!(credentials.extra_str("screen_name"), Some("carol"));
    let response = hmac.get("user", &credentials).await.unwrap();
    assert_eq!(response.json::<Value>().unwrap()["user"], "carol");
}

/// What a browser sees at the authorization URL: the login page, or, with `auto_approve`, a
/// redirect to the callback at once.
#[tokio::test]
async fn the_authorization_page_asks_for_a_user_unless_auto_approving() {
    let browser = oauth_clients::reqwest::Client::builder()
        .redirect(oauth_clients::reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let provider = start().await;
    let redirect = registry(&provider)
        .oauth1_client::<Hmac>()
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    let page = browser
        .get(redirect.location().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let token = request_token(redirect.location());
    for part in [
        r#"<form method="post" action="/oauth1/authorize">"#,
        &format!(r#"<input type="hidden" name="oauth_token" value="{token}">"#),
        r#"id="username""#,
        r#"id="allow""#,
        r#"id="deny""#,
    ] {
        assert!(page.contains(part), "{part} not in {page}");
    }

    let provider = TestProvider::builder()
        .auto_approve("dave")
        .start()
        .await
        .unwrap();
    let auto = registry(&provider);
    let hmac = auto.oauth1_client::<Hmac>();
    let session = MemorySession::new();
    let redirect = hmac
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let answer = browser
        .get(redirect.location().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let back = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(&back[..url::Position::AfterPath], REDIRECT_URI);
    let token = hmac
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(token.extra_str("screen_name"), Some("dave"));
    assert_eq!(provider.count("oauth1.authorize"), 1);
}

/// Several tabs of one session log in at once: each request token has its own pending login,
/// finished in any order; at most five wait (the default), the oldest dropped first, as OAuth
/// 2.0 states are.
#[tokio::test]
async fn several_logins_wait_in_one_session_bounded_oldest_first() {
    let provider = start().await;
    // A clock a second further on for each login, so "oldest" is never a tie.
    let skew = Arc::new(AtomicU64::new(0));
    let clock = skew.clone();
    let registry = builder(settings(&provider))
        .clock(move || SystemTime::now() + Duration::from_secs(clock.load(Ordering::SeqCst)))
        .build()
        .unwrap();
    let client = registry.hmac();
    let session = MemorySession::new();
    let mut callbacks = Vec::new();
    for user in ["u1", "u2", "u3", "u4", "u5", "u6", "u7"] {
        skew.fetch_add(1, Ordering::SeqCst);
        let redirect = client
            .authorize_redirect(&session, REDIRECT_URI)
            .await
            .unwrap();
        let back = provider
            .approve_oauth1(redirect.location(), user)
            .await
            .unwrap();
        callbacks.push((user, back));
    }
    let waiting = pending(&session).unwrap();
    assert_eq!(waiting.as_array().unwrap().len(), 5, "{waiting}");
    // The two oldest were dropped: unknown, and never sent to the provider.
    for (_, back) in &callbacks[..2] {
        let error = client
            .authorize_access_token(&session, &Callback::from_url(back))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::UnknownRequestToken { provider: "hmac" }),
            "{error:?}"
        );
    }
    assert_eq!(provider.count("oauth1.access_token"), 0);
    // The others finish newest first, each as its own user.
    for (user, back) in callbacks[2..].iter().rev() {
        let token = client
            .authorize_access_token(&session, &Callback::from_url(back))
            .await
            .unwrap();
        assert_eq!(token.extra_str("screen_name"), Some(*user));
    }
    assert_eq!(provider.count("oauth1.access_token"), 5);
}
