//! The test provider's OAuth 1.0a endpoints (RFC 5849), under `/oauth1/`: request token,
//! the user's authorization (a login page, or at once with
//! [`auto_approve`](crate::TestProviderBuilder::auto_approve)), access token, and a protected
//! API.
//!
//! Every signed request goes through one check, [`verify`]: the protocol parameters are read
//! from wherever the client put them (the `Authorization` header, a form body or the query,
//! but from one place only, §3.5), the signature base string is rebuilt from the request as
//! it arrived (§3.4.1), and the HMAC compared in constant time. This is written here, apart
//! from the runtime's signing code, so that each checks the other: a base string that both
//! got wrong in the same way would have to be wrong twice. Refusals use the OAuth Problem
//! Reporting extension's `oauth_problem` names, as most OAuth 1.0a servers do.

use super::{lock, LoginMode, Shared, TestProvider, OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET};
use crate::server::{escape, now, random, stable_id};
use axum::body::Bytes;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use oauth_clients::Settings;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// How far a request's `oauth_timestamp` may be from the provider's clock, either way.
const TIMESTAMP_WINDOW: u64 = 600;

/// How long a request token may wait for its access-token request.
const REQUEST_TOKEN_TTL: Duration = Duration::from_secs(600);

/// What the request-token answer says in `oauth_callback_confirmed` (RFC 5849 §2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallbackConfirmation {
    /// `oauth_callback_confirmed=true`, as RFC 5849 requires (the default).
    #[default]
    Confirmed,
    /// `oauth_callback_confirmed=false`.
    False,
    /// No `oauth_callback_confirmed` at all, as an OAuth 1.0 (not 1.0a) server answers.
    Omitted,
}

/// How one of the two credential endpoints (`/oauth1/request_token`,
/// `/oauth1/access_token`) answers. The defaults are a well-behaved endpoint.
#[derive(Clone, Debug, Default)]
pub struct OAuth1EndpointBehaviour {
    /// Wait this long before answering (a stalled provider; make it longer than the client's
    /// `timeout`).
    pub delay: Option<Duration>,
    /// Answer with this HTTP status and `oauth_problem` (a form body
    /// `oauth_problem=<problem>`), before looking at the request; e.g.
    /// `Some((401, "signature_invalid".into()))`.
    pub error: Option<(u16, String)>,
    /// Leave `oauth_token` out of the answer.
    pub omit_token: bool,
    /// Send `oauth_token` twice, the second time with another value.
    pub duplicate_token: bool,
    /// Add a `padding` field of this many bytes to the answer; more than 1 MiB
    /// (`1 << 20`) is over what the client reads.
    pub padding: usize,
}

/// Switchable behaviour of the OAuth 1.0a endpoints ([`Behaviour::oauth1`](crate::Behaviour::oauth1)).
/// The defaults are a well-behaved provider.
#[derive(Clone, Debug, Default)]
pub struct OAuth1Behaviour {
    /// What the request-token answer says in `oauth_callback_confirmed` (default
    /// [`CallbackConfirmation::Confirmed`]).
    pub callback_confirmed: CallbackConfirmation,
    /// How `/oauth1/request_token` answers.
    pub request_token: OAuth1EndpointBehaviour,
    /// How `/oauth1/access_token` answers.
    pub access_token: OAuth1EndpointBehaviour,
}

/// A request as `/oauth1/api/user` received it, so that a test can send it again, unchanged
/// (a replay): see [`TestProvider::last_oauth1_api_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The absolute URL, with the query as it arrived.
    pub url: Url,
    /// The `Authorization` header, if there was one.
    pub authorization: Option<String>,
    /// The `Content-Type` header, if there was one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The OAuth 1.0a credentials the provider has issued, and the nonces it has seen.
#[derive(Default)]
pub(crate) struct Grants {
    request_tokens: HashMap<String, RequestGrant>,
    access_tokens: HashMap<String, AccessGrant>,
    /// `(timestamp, nonce, consumer key, token)` of every request within the timestamp window
    /// (RFC 5849 §3.3: a nonce is unique per timestamp, client and token).
    nonces: HashSet<(u64, String, String, String)>,
    last_api_request: Option<ReceivedRequest>,
}

struct RequestGrant {
    secret: String,
    /// An absolute URL, or `oob`.
    callback: String,
    issued: Instant,
    decision: Decision,
    /// Whether an access-token request has spent it.
    used: bool,
}

enum Decision {
    Pending,
    Approved { user: String, verifier: String },
    Denied,
}

struct AccessGrant {
    secret: String,
    user: String,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth1/request_token", post(request_token))
        .route(
            "/oauth1/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route("/oauth1/access_token", post(access_token))
        .route(
            "/oauth1/api/user",
            get(api_user).post(api_user).put(api_user).delete(api_user),
        )
}

/// A refused request: its status and `oauth_problem`, and one more field of the Problem
/// Reporting extension when it helps (`oauth_parameters_absent`, ...).
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    status: StatusCode,
    problem: String,
    detail: Option<(&'static str, String)>,
}

impl Refusal {
    fn new(status: StatusCode, problem: &str) -> Refusal {
        Refusal {
            status,
            problem: problem.to_string(),
            detail: None,
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.detail = Some((name, value.into()));
        self
    }

    /// RFC 5849 §3.2: 400 for a malformed request, 401 for a bad client, token, signature or
    /// nonce; a 401 says which scheme and realm it wants.
    fn into_response(self, shared: &Shared) -> Response {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("oauth_problem", &self.problem);
        if let Some((name, value)) = &self.detail {
            body.append_pair(name, value);
        }
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            body.finish(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            if let Ok(value) = HeaderValue::from_str(&format!("OAuth realm=\"{}\"", shared.issuer))
            {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

fn bad_request(problem: &str) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, problem)
}

fn unauthorized(problem: &str) -> Refusal {
    Refusal::new(StatusCode::UNAUTHORIZED, problem)
}

/// A request as it arrived, for [`verify`].
struct Incoming<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

/// The parameters of a request, sorted out.
#[derive(Debug, PartialEq, Eq)]
struct Collected {
    /// Every parameter the signature covers (RFC 5849 §3.4.1.3.1): the query's, the form
    /// body's and the `Authorization` header's (without `realm`), less `oauth_signature`.
    signed: Vec<(String, String)>,
    /// The protocol parameters (`oauth_*`), from the one place that has them.
    protocol: HashMap<String, String>,
    /// The other parameters: the query's and the form body's.
    other: Vec<(String, String)>,
    /// Where the protocol parameters were: `header`, `body` or `query`.
    place: &'static str,
}

/// Percent-encoding of RFC 5849 §3.6: everything but `A-Z a-z 0-9 - . _ ~`, as UTF-8, with
/// upper-case hex digits.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Reverses [`encode`] (any `%XX`, either case); `None` for a broken escape or bytes that are
/// not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The parameters of an `Authorization` header (RFC 5849 §3.5.1): `None` when its scheme is
/// not `OAuth`, `Some(Err(()))` when it is but the rest is not comma-separated
/// `name="value"` pairs with percent-encoded names and values. `realm` is left out.
fn header_params(value: &str) -> Option<Result<Vec<(String, String)>, ()>> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return None;
    }
    let mut params = Vec::new();
    for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, quoted)) = item.split_once('=') else {
            return Some(Err(()));
        };
        let name = name.trim();
        if name == "realm" {
            continue;
        }
        let value = quoted
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'));
        match (decode(name), value.and_then(decode)) {
            (Some(name), Some(value)) => params.push((name, value)),
            _ => return Some(Err(())),
        }
    }
    Some(Ok(params))
}

/// Reads a request's parameters, and which of them are the protocol's.
fn collect(request: &Incoming<'_>) -> Result<Collected, Refusal> {
    let pairs = |bytes: &[u8]| -> Vec<(String, String)> {
        url::form_urlencoded::parse(bytes)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    };
    let query = pairs(request.uri.query().unwrap_or("").as_bytes());
    // §3.4.1.3.1: a body counts only when it is a form.
    let is_form = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let body = if is_form {
        pairs(request.body)
    } else {
        Vec::new()
    };
    let header = match request
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| ()))
    {
        None => Vec::new(),
        Some(Err(())) => return Err(bad_request("parameter_rejected")),
        Some(Ok(text)) => match header_params(text) {
            None => Vec::new(),
            Some(Ok(params)) => params,
            Some(Err(())) => return Err(bad_request("parameter_rejected")),
        },
    };
    let is_protocol = |(name, _): &&(String, String)| name.starts_with("oauth_");
    // §3.5: the protocol parameters travel in one of the three places, never spread over two.
    let mut found = None;
    for (place, list) in [("header", &header), ("body", &body), ("query", &query)] {
        if list.iter().any(|pair| is_protocol(&pair)) {
            if found.is_some() {
                return Err(bad_request("parameter_rejected"));
            }
            found = Some((place, list));
        }
    }
    let Some((place, source)) = found else {
        return Err(
            bad_request("parameter_absent").with("oauth_parameters_absent", "oauth_consumer_key")
        );
    };
    let mut protocol = HashMap::new();
    for (name, value) in source.iter().filter(is_protocol) {
        if protocol.insert(name.clone(), value.clone()).is_some() {
            return Err(bad_request("parameter_rejected").with("oauth_parameters_rejected", name));
        }
    }
    let other = query
        .iter()
        .chain(&body)
        .filter(|pair| !is_protocol(pair))
        .cloned()
        .collect();
    let signed = query
        .into_iter()
        .chain(body)
        .chain(header)
        .filter(|(name, _)| name != "oauth_signature")
        .collect();
    Ok(Collected {
        signed,
        protocol,
        other,
        place,
    })
}

/// The signature base string (RFC 5849 §3.4.1.1) of a request to `base_uri` (§3.4.1.2).
fn base_string(method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    // §3.4.1.3.2: encoded, sorted by name then value, joined with `=` and `&`.
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    encoded.sort();
    let normalized: Vec<String> = encoded
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!(
        "{}&{}&{}",
        encode(&method.to_ascii_uppercase()),
        encode(base_uri),
        encode(&normalized.join("&"))
    )
}

/// The base string URI (RFC 5849 §3.4.1.2) of a request to this plain-http server: the
/// `Host` it was sent to (in lower case, without the default port 80) and the path.
fn base_uri(shared: &Shared, request: &Incoming<'_>) -> String {
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| host.to_ascii_lowercase());
    let authority = match &host {
        Some(host) => host.strip_suffix(":80").unwrap_or(host).to_string(),
        None => shared.issuer.trim_start_matches("http://").to_string(),
    };
    format!("http://{authority}{}", request.uri.path())
}

/// Whether an HMAC signature (base64, as sent) is `base` signed with the client's and the
/// token's secrets (RFC 5849 §3.4.2); compared in constant time.
fn signature_matches(
    method: &str,
    base: &str,
    token_secret: &str,
    signature: &str,
) -> Result<(), Refusal> {
    let algorithm = match method {
        "HMAC-SHA1" => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        "HMAC-SHA256" => ring::hmac::HMAC_SHA256,
        _ => return Err(bad_request("signature_method_rejected")),
    };
    let invalid = || unauthorized("signature_invalid");
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| invalid())?;
    let key = format!(
        "{}&{}",
        encode(OAUTH1_CONSUMER_SECRET),
        encode(token_secret)
    );
    let key = ring::hmac::Key::new(algorithm, key.as_bytes());
    ring::hmac::verify(&key, base.as_bytes(), &signature).map_err(|_| invalid())
}

/// Which token a signed request must carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// None: the request-token request.
    None,
    /// A request token: the access-token request.
    Request,
    /// An access token: API calls.
    Access,
}

/// Checks a signed request (RFC 5849 §3.2): its protocol parameters, client, token,
/// timestamp, signature and nonce, in that order; a nonce is recorded only once the
/// signature has verified, so forged requests cannot use up anyone's nonces.
fn verify(shared: &Shared, request: &Incoming<'_>, kind: TokenKind) -> Result<Collected, Refusal> {
    let collected = collect(request)?;
    let param = |name: &str| collected.protocol.get(name).map(String::as_str);
    for name in [
        "oauth_consumer_key",
        "oauth_signature_method",
        "oauth_signature",
        "oauth_timestamp",
        "oauth_nonce",
    ] {
        if param(name).is_none() {
            return Err(bad_request("parameter_absent").with("oauth_parameters_absent", name));
        }
    }
    if param("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(bad_request("version_rejected").with("oauth_acceptable_versions", "1.0-1.0"));
    }
    let method = param("oauth_signature_method").unwrap_or_default();
    if !matches!(method, "HMAC-SHA1" | "HMAC-SHA256") {
        return Err(bad_request("signature_method_rejected"));
    }
    if param("oauth_consumer_key") != Some(OAUTH1_CONSUMER_KEY) {
        return Err(unauthorized("consumer_key_unknown"));
    }
    let token = param("oauth_token");
    let token_secret = match (kind, token) {
        (TokenKind::None, None) => String::new(),
        (TokenKind::None, Some(_)) => {
            return Err(
                bad_request("parameter_rejected").with("oauth_parameters_rejected", "oauth_token")
            )
        }
        (_, None) => {
            return Err(
                bad_request("parameter_absent").with("oauth_parameters_absent", "oauth_token")
            )
        }
        (TokenKind::Request, Some(token)) => lock(&shared.oauth1)
            .request_tokens
            .get(token)
            .map(|grant| grant.secret.clone())
            .ok_or_else(|| unauthorized("token_rejected"))?,
        (TokenKind::Access, Some(token)) => lock(&shared.oauth1)
            .access_tokens
            .get(token)
            .map(|grant| grant.secret.clone())
            .ok_or_else(|| unauthorized("token_rejected"))?,
    };
    let now = now();
    let timestamp = param("oauth_timestamp")
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| {
            bad_request("parameter_rejected").with("oauth_parameters_rejected", "oauth_timestamp")
        })?;
    if timestamp.abs_diff(now) > TIMESTAMP_WINDOW {
        return Err(unauthorized("timestamp_refused").with(
            "oauth_acceptable_timestamps",
            format!(
                "{}-{}",
                now.saturating_sub(TIMESTAMP_WINDOW),
                now + TIMESTAMP_WINDOW
            ),
        ));
    }
    let base = base_string(
        request.method.as_str(),
        &base_uri(shared, request),
        &collected.signed,
    );
    signature_matches(
        method,
        &base,
        &token_secret,
        param("oauth_signature").unwrap_or_default(),
    )?;
    {
        let mut grants = lock(&shared.oauth1);
        // Older nonces can go: their timestamps are refused anyway.
        grants
            .nonces
            .retain(|(seen, ..)| seen.abs_diff(now) <= TIMESTAMP_WINDOW);
        let nonce = (
            timestamp,
            param("oauth_nonce").unwrap_or_default().to_string(),
            OAUTH1_CONSUMER_KEY.to_string(),
            token.unwrap_or_default().to_string(),
        );
        if !grants.nonces.insert(nonce) {
            return Err(unauthorized("nonce_used"));
        }
    }
    shared.count(&format!("oauth1.signature_method.{method}"));
    shared.count(&format!("oauth1.parameters_in.{}", collected.place));
    Ok(collected)
}

/// A credentials answer (RFC 5849 §2.1, §2.3), as the endpoint's behaviour shapes it.
fn credentials(
    behaviour: &OAuth1EndpointBehaviour,
    token: &str,
    secret: &str,
    more: &[(&str, &str)],
) -> Response {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if !behaviour.omit_token {
        form.append_pair("oauth_token", token);
    }
    if behaviour.duplicate_token {
        form.append_pair("oauth_token", &random());
    }
    form.append_pair("oauth_token_secret", secret);
    for (name, value) in more {
        form.append_pair(name, value);
    }
    if behaviour.padding > 0 {
        form.append_pair("padding", &"x".repeat(behaviour.padding));
    }
    (
        [
            (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        form.finish(),
    )
        .into_response()
}

/// What an endpoint's behaviour does before it looks at the request: wait, or refuse.
async fn misbehave(shared: &Shared, behaviour: &OAuth1EndpointBehaviour) -> Option<Response> {
    if let Some(delay) = behaviour.delay {
        tokio::time::sleep(delay).await;
    }
    let (status, problem) = behaviour.error.as_ref()?;
    let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST);
    Some(Refusal::new(status, problem).into_response(shared))
}

/// `POST /oauth1/request_token` (RFC 5849 §2.1).
async fn request_token(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("oauth1.request_token");
    let behaviour = shared.behaviour().oauth1;
    if let Some(response) = misbehave(&shared, &behaviour.request_token).await {
        return response;
    }
    let request = Incoming {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let collected = match verify(&shared, &request, TokenKind::None) {
        Ok(collected) => collected,
        Err(refusal) => return refusal.into_response(&shared),
    };
    // §2.1: required; an absolute URI, or `oob` for the out-of-band flow.
    let callback = match collected.protocol.get("oauth_callback") {
        None => {
            return bad_request("parameter_absent")
                .with("oauth_parameters_absent", "oauth_callback")
                .into_response(&shared)
        }
        Some(callback) if callback == "oob" || Url::parse(callback).is_ok() => callback.clone(),
        Some(_) => {
            return bad_request("parameter_rejected")
                .with("oauth_parameters_rejected", "oauth_callback")
                .into_response(&shared)
        }
    };
    let (token, secret) = (random(), random());
    lock(&shared.oauth1).request_tokens.insert(
        token.clone(),
        RequestGrant {
            secret: secret.clone(),
            callback,
            issued: Instant::now(),
            decision: Decision::Pending,
            used: false,
        },
    );
    let confirmed: &[(&str, &str)] = match behaviour.callback_confirmed {
        CallbackConfirmation::Confirmed => &[("oauth_callback_confirmed", "true")],
        CallbackConfirmation::False => &[("oauth_callback_confirmed", "false")],
        CallbackConfirmation::Omitted => &[],
    };
    credentials(&behaviour.request_token, &token, &secret, confirmed)
}

type Params = HashMap<String, String>;

/// `GET /oauth1/authorize?oauth_token=..` (RFC 5849 §2.2): the login page, or the decision
/// at once for an auto-approving provider.
async fn authorize_page(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Params>,
) -> Response {
    shared.count("oauth1.authorize");
    let token = params.get("oauth_token").cloned().unwrap_or_default();
    if let Err(reason) = pending_request(&shared, &token) {
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    match shared.behaviour().login {
        LoginMode::AutoApprove(user) => decide(&shared, &token, Some(&user)),
        LoginMode::Form => login_page(&token),
    }
}

/// `POST /oauth1/authorize`: the login page's "Allow" or "Deny".
async fn authorize_decision(
    State(shared): State<Arc<Shared>>,
    Form(params): Form<Params>,
) -> Response {
    shared.count("oauth1.authorize");
    let token = params.get("oauth_token").cloned().unwrap_or_default();
    if let Err(reason) = pending_request(&shared, &token) {
        return (StatusCode::BAD_REQUEST, reason).into_response();
    }
    if params.get("decision").map(String::as_str) != Some("allow") {
        return decide(&shared, &token, None);
    }
    match params.get("username").map(|u| u.trim()) {
        Some(user) if !user.is_empty() => decide(&shared, &token, Some(user)),
        _ => login_page(&token),
    }
}

/// Checks that `token` is a request token still waiting for the user's decision; otherwise
/// why not.
fn pending_request(shared: &Shared, token: &str) -> Result<(), &'static str> {
    match lock(&shared.oauth1).request_tokens.get(token) {
        None => Err("unknown oauth_token"),
        Some(grant) if grant.issued.elapsed() > REQUEST_TOKEN_TTL => {
            Err("the request token expired")
        }
        Some(grant) if !matches!(grant.decision, Decision::Pending) || grant.used => {
            Err("the request token was already authorized or denied")
        }
        Some(_) => Ok(()),
    }
}

fn login_page(token: &str) -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local provider: sign in (OAuth 1.0a)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}
input[type=text]{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{padding:.5rem 1rem;font-size:1rem;margin:.5rem .5rem 0 0}}</style></head>
<body><h1>Local provider</h1>
<p><strong>{client}</strong> wants to sign you in (OAuth 1.0a). This provider runs on your machine: type any user name.</p>
<form method="post" action="/oauth1/authorize"><input type="hidden" name="oauth_token" value="{token}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autofocus autocomplete="off">
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>"#,
        client = escape(OAUTH1_CONSUMER_KEY),
        token = escape(token),
    ))
    .into_response()
}

/// Records the user's decision on a pending request token (`user` when approved), and sends
/// the browser back: to the callback with `oauth_token` and `oauth_verifier` (§2.2), or with
/// `denied=<request token>` as X does; for `oob`, a page that shows the verifier (the PIN).
fn decide(shared: &Shared, token: &str, user: Option<&str>) -> Response {
    let mut grants = lock(&shared.oauth1);
    // Checked again under the same lock as the decision: two at once decide once.
    let Some(grant) = grants
        .request_tokens
        .get_mut(token)
        .filter(|grant| matches!(grant.decision, Decision::Pending) && !grant.used)
    else {
        return (
            StatusCode::BAD_REQUEST,
            "the request token is not waiting for a decision",
        )
            .into_response();
    };
    let verifier = user.map(|user| {
        let verifier = random();
        grant.decision = Decision::Approved {
            user: user.to_string(),
            verifier: verifier.clone(),
        };
        verifier
    });
    if verifier.is_none() {
        grant.decision = Decision::Denied;
    }
    let callback = grant.callback.clone();
    drop(grants);
    if callback == "oob" {
        return Html(match verifier {
            Some(pin) => format!(
                r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local provider: your PIN</title></head>
<body><h1>Local provider</h1><p>Type this PIN into the application:</p>
<p><code id="pin">{}</code></p></body></html>"#,
                escape(&pin)
            ),
            None => r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local provider: refused</title></head>
<body><h1>Local provider</h1><p id="denied">You refused: the application gets nothing.</p></body></html>"#
                .to_string(),
        })
        .into_response();
    }
    let Ok(mut url) = Url::parse(&callback) else {
        return (StatusCode::BAD_REQUEST, "bad oauth_callback").into_response();
    };
    match &verifier {
        Some(verifier) => url
            .query_pairs_mut()
            .append_pair("oauth_token", token)
            .append_pair("oauth_verifier", verifier),
        None => url.query_pairs_mut().append_pair("denied", token),
    };
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// `POST /oauth1/access_token` (RFC 5849 §2.3): signed with the request token's secret,
/// with the verifier the user's approval gave; each request token is spent by its first
/// access-token request that verifies.
async fn access_token(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("oauth1.access_token");
    let behaviour = shared.behaviour().oauth1;
    if let Some(response) = misbehave(&shared, &behaviour.access_token).await {
        return response;
    }
    let request = Incoming {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let collected = match verify(&shared, &request, TokenKind::Request) {
        Ok(collected) => collected,
        Err(refusal) => return refusal.into_response(&shared),
    };
    let token = collected
        .protocol
        .get("oauth_token")
        .cloned()
        .unwrap_or_default();
    let Some(verifier) = collected.protocol.get("oauth_verifier") else {
        return bad_request("parameter_absent")
            .with("oauth_parameters_absent", "oauth_verifier")
            .into_response(&shared);
    };
    let user = {
        let mut grants = lock(&shared.oauth1);
        let Some(grant) = grants.request_tokens.get_mut(&token) else {
            return unauthorized("token_rejected").into_response(&shared);
        };
        if grant.used {
            return unauthorized("token_used").into_response(&shared);
        }
        grant.used = true;
        if grant.issued.elapsed() > REQUEST_TOKEN_TTL {
            return unauthorized("token_expired").into_response(&shared);
        }
        match &grant.decision {
            Decision::Pending => return unauthorized("permission_unknown").into_response(&shared),
            Decision::Denied => return unauthorized("permission_denied").into_response(&shared),
            Decision::Approved {
                user,
                verifier: expected,
            } => {
                if !constant_time_eq(verifier.as_bytes(), expected.as_bytes()) {
                    return unauthorized("verifier_invalid").into_response(&shared);
                }
                user.clone()
            }
        }
    };
    let (access, secret) = (random(), random());
    lock(&shared.oauth1).access_tokens.insert(
        access.clone(),
        AccessGrant {
            secret: secret.clone(),
            user: user.clone(),
        },
    );
    credentials(
        &behaviour.access_token,
        &access,
        &secret,
        &[
            ("user_id", &stable_id(&user).to_string()),
            ("screen_name", &user),
        ],
    )
}

/// Whether two byte strings are equal, compared without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    a.len() == b.len() && difference == 0
}

/// `GET|POST|PUT|DELETE /oauth1/api/user`: a protected resource, signed with an access
/// token. Answers who the token is for, the method, and every parameter that is not a
/// protocol one (a name that comes more than once gets a list).
async fn api_user(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count("oauth1.api");
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let received = ReceivedRequest {
        method: method.to_string(),
        url: Url::parse(&format!(
            "{}{}",
            shared.issuer,
            uri.path_and_query().map_or("/", |p| p.as_str())
        ))
        .unwrap_or_else(|_| Url::parse("http://invalid.invalid/").expect("a valid URL")),
        authorization: header_text(header::AUTHORIZATION),
        content_type: header_text(header::CONTENT_TYPE),
        body: body.to_vec(),
    };
    lock(&shared.oauth1).last_api_request = Some(received);
    let request = Incoming {
        method: &method,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let collected = match verify(&shared, &request, TokenKind::Access) {
        Ok(collected) => collected,
        Err(refusal) => return refusal.into_response(&shared),
    };
    let token = collected
        .protocol
        .get("oauth_token")
        .cloned()
        .unwrap_or_default();
    let Some(user) = lock(&shared.oauth1)
        .access_tokens
        .get(&token)
        .map(|grant| grant.user.clone())
    else {
        return unauthorized("token_rejected").into_response(&shared);
    };
    let mut params = Map::new();
    for (name, value) in collected.other {
        match params.get_mut(&name) {
            None => {
                params.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => *first = json!([first.clone(), value]),
        }
    }
    axum::Json(json!({ "user": user, "method": method.as_str(), "params": params })).into_response()
}

impl TestProvider {
    /// Settings that point the declared OAuth 1.0a provider `name` at this provider's
    /// `/oauth1/` endpoints (`request_token_url`, `authorize_url`, `access_token_url`, and
    /// `api_base_url` `<base>/oauth1/api/`), with the consumer's credentials
    /// ([`OAUTH1_CONSUMER_KEY`], [`OAUTH1_CONSUMER_SECRET`]).
    pub fn oauth1_settings_for(&self, name: &str) -> Settings {
        self.add_oauth1_settings(Settings::new(), name)
    }

    /// Adds to `settings` what [`oauth1_settings_for`](Self::oauth1_settings_for) sets.
    pub fn add_oauth1_settings(&self, settings: Settings, name: &str) -> Settings {
        settings
            .set(name, "request_token_url", self.url("oauth1/request_token"))
            .set(name, "authorize_url", self.url("oauth1/authorize"))
            .set(name, "access_token_url", self.url("oauth1/access_token"))
            .set(name, "api_base_url", self.url("oauth1/api/"))
            .set(name, "client_id", OAUTH1_CONSUMER_KEY)
            .set(name, "client_secret", OAUTH1_CONSUMER_SECRET)
    }

    /// Logs `user` in for the OAuth 1.0a authorization at `authorize_url` (the redirect
    /// `authorize_redirect` returned), as a browser would after the user approved, and
    /// returns the URL the provider sends the browser back to: the callback with
    /// `oauth_token` and `oauth_verifier`. For an `oob` login there is none: read the PIN
    /// with [`oauth1_pin`](Self::oauth1_pin).
    pub async fn approve_oauth1(&self, authorize_url: &Url, user: &str) -> Result<Url, String> {
        let response = self.decide_oauth1(authorize_url, user, true).await?;
        redirect_of(response, "an `oob` login? read its PIN with `oauth1_pin`")
    }

    /// Refuses the OAuth 1.0a authorization at `authorize_url`, as a user pressing "Deny"
    /// would; returns the callback URL with `denied=<request token>`.
    pub async fn deny_oauth1(&self, authorize_url: &Url) -> Result<Url, String> {
        let response = self.decide_oauth1(authorize_url, "", false).await?;
        redirect_of(
            response,
            "an `oob` login has no callback to send the refusal to",
        )
    }

    /// Approves the `oob` (out-of-band) authorization at `authorize_url` as `user` and
    /// returns the PIN the provider's page shows (its `<code id="pin">`), which the user
    /// would type into the application as the `oauth_verifier`.
    pub async fn oauth1_pin(&self, authorize_url: &Url, user: &str) -> Result<String, String> {
        let response = self.decide_oauth1(authorize_url, user, true).await?;
        let status = response.status();
        if response.headers().contains_key(reqwest::header::LOCATION) {
            return Err("the provider redirected to the callback: not an `oob` login".into());
        }
        let page = response.text().await.map_err(|e| e.to_string())?;
        let start = page
            .find(r#"<code id="pin">"#)
            .map(|at| at + r#"<code id="pin">"#.len());
        match start.and_then(|start| Some((start, start + page[start..].find("</code>")?))) {
            Some((start, end)) => Ok(super::unescape(&page[start..end])),
            None => Err(format!("the provider answered {status} without a PIN")),
        }
    }

    /// The last request `/oauth1/api/user` received, as it arrived (verified or not).
    pub fn last_oauth1_api_request(&self) -> Option<ReceivedRequest> {
        lock(&self.shared.oauth1).last_api_request.clone()
    }

    /// Posts the login page's form for the request token in `authorize_url`.
    async fn decide_oauth1(
        &self,
        authorize_url: &Url,
        user: &str,
        allow: bool,
    ) -> Result<reqwest::Response, String> {
        let token = authorize_url
            .query_pairs()
            .find(|(name, _)| name == "oauth_token")
            .map(|(_, value)| value.into_owned())
            .ok_or("the authorization URL has no `oauth_token`")?;
        let form = [
            ("oauth_token", token.as_str()),
            ("username", user),
            ("decision", if allow { "allow" } else { "deny" }),
        ];
        self.http
            .post(self.url("oauth1/authorize"))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())
    }
}

/// The `Location` of a redirect; otherwise what happened, with `hint` for a page.
fn redirect_of(response: reqwest::Response, hint: &str) -> Result<Url, String> {
    let status = response.status();
    match response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(location) => Url::parse(location).map_err(|e| e.to_string()),
        None if status.is_success() => Err(format!(
            "the provider answered {status} with a page, not a redirect ({hint})"
        )),
        None => Err(format!("the provider answered {status} without a redirect")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn incoming<'a>(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Incoming<'a> {
        Incoming {
            method,
            uri,
            headers,
            body,
        }
    }

    #[test]
    fn encoding_follows_section_3_6() {
        assert_eq!(encode("abcABC123-._~"), "abcABC123-._~");
        assert_eq!(encode("a b+c/d=e&f%*"), "a%20b%2Bc%2Fd%3De%26f%25%2A");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(decode("a%20b%2bc%C3%A9").as_deref(), Some("a b+cé"));
        assert_eq!(decode("%2"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode("%FF"), None, "not UTF-8");
    }

    /// RFC 5849 §3.4.1.1's example request, read from its query, form body and
    /// `Authorization` header, gives the RFC's base string byte for byte.
    #[test]
    fn the_base_string_of_section_3_4_1_1() {
        let method = Method::POST;
        let uri: Uri = "/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("example.com"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
                 oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", \
                 oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", \
                 oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"",
            ),
        );
        let request = incoming(&method, &uri, &headers, b"c2&a3=2+q");
        let collected = collect(&request).unwrap();
        assert_eq!(collected.place, "header");
        assert_eq!(
            collected
                .protocol
                .get("oauth_signature")
                .map(String::as_str),
            Some("bYT5CMsGcbgUdFHObYMEfcx6bsw=")
        );
        assert_eq!(
            collected.other,
            pairs(&[
                ("b5", "=%3D"),
                ("a3", "a"),
                ("c@", ""),
                ("a2", "r b"),
                ("c2", ""),
                ("a3", "2 q")
            ])
        );
        let shared_base = format!("http://example.com{}", uri.path());
        assert_eq!(
            base_string("POST", &shared_base, &collected.signed),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    /// The three requests of RFC 5849 §1.2 verify with the RFC's secrets (HMAC-SHA1 keyed
    /// with the client's and the token's secrets), and one changed byte does not.
    #[test]
    fn the_signatures_of_section_1_2_verify() {
        let check = |method: &str,
                     base_uri: &str,
                     params: &[(&str, &str)],
                     secrets: (&str, &str),
                     signature: &str| {
            let base = base_string(method, base_uri, &pairs(params));
            let key = format!("{}&{}", encode(secrets.0), encode(secrets.1));
            let key =
                ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
            let raw = base64::engine::general_purpose::STANDARD
                .decode(signature)
                .unwrap();
            ring::hmac::verify(&key, base.as_bytes(), &raw).is_ok()
        };
        let common = [
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_signature_method", "HMAC-SHA1"),
        ];
        let with = |more: &[(&'static str, &'static str)]| {
            let mut all = common.to_vec();
            all.extend_from_slice(more);
            all
        };
        let initiate = with(&[
            ("oauth_timestamp", "137131200"),
            ("oauth_nonce", "wIjqoS"),
            ("oauth_callback", "http://printer.example.com/ready"),
        ]);
        assert!(check(
            "POST",
            "https://photos.example.net/initiate",
            &initiate,
            ("kd94hf93k423kf44", ""),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        ));
        assert!(!check(
            "POST",
            "https://photos.example.net/initiate",
            &initiate,
            ("kd94hf93k423kf44", ""),
            "75KNZJeDHnMBp0EMJ9ZHt/XKycU="
        ));
        let token = with(&[
            ("oauth_token", "hh5s93j4hdidpola"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "walatlh"),
            ("oauth_verifier", "hfdp7dh39dks9884"),
        ]);
        assert!(check(
            "POST",
            "https://photos.example.net/token",
            &token,
            ("kd94hf93k423kf44", "hdhd0244k9j7ao03"),
            "gKgrFCywp7rO0OXSjdot/IHF7IU="
        ));
        let photos = with(&[
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_timestamp", "137131202"),
            ("oauth_nonce", "chapoH"),
            ("file", "vacation.jpg"),
            ("size", "original"),
        ]);
        assert!(check(
            "GET",
            "http://photos.example.net/photos",
            &photos,
            ("kd94hf93k423kf44", "pfkkdhi9sl3r4s00"),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        ));
        // The same request signed with another token secret does not verify.
        assert!(!check(
            "GET",
            "http://photos.example.net/photos",
            &photos,
            ("kd94hf93k423kf44", "other"),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        ));
    }

    #[test]
    fn authorization_headers_are_read_strictly() {
        assert_eq!(header_params("Bearer abc"), None);
        assert_eq!(
            header_params("OAuth realm=\"x\", oauth_nonce=\"a%20b\",oauth_token=\"t\""),
            Some(Ok(pairs(&[("oauth_nonce", "a b"), ("oauth_token", "t")])))
        );
        assert_eq!(
            header_params("oauth oauth_nonce=\"n\""),
            Some(Ok(pairs(&[("oauth_nonce", "n")])))
        );
        assert_eq!(
            header_params("OAuth oauth_nonce=n"),
            Some(Err(())),
            "unquoted"
        );
        assert_eq!(
            header_params("OAuth oauth_nonce"),
            Some(Err(())),
            "no value"
        );
        assert_eq!(
            header_params("OAuth oauth_nonce=\"%zz\""),
            Some(Err(())),
            "a broken escape"
        );
    }

    /// §3.5: protocol parameters come from one place; a request that spreads them over two,
    /// or repeats one, is refused, and so is one without any.
    #[test]
    fn protocol_parameters_come_from_one_place_once() {
        let method = Method::POST;
        let form = HeaderValue::from_static("application/x-www-form-urlencoded");
        let uri: Uri = "/oauth1/api/user?oauth_nonce=n".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, form.clone());
        let refused = collect(&incoming(&method, &uri, &headers, b"oauth_token=t")).unwrap_err();
        assert_eq!(refused, bad_request("parameter_rejected"));

        let uri: Uri = "/oauth1/api/user?oauth_nonce=n&oauth_nonce=m"
            .parse()
            .unwrap();
        let refused = collect(&incoming(&method, &uri, &HeaderMap::new(), b"")).unwrap_err();
        assert_eq!(
            refused,
            bad_request("parameter_rejected").with("oauth_parameters_rejected", "oauth_nonce")
        );

        let uri: Uri = "/oauth1/api/user?a=1".parse().unwrap();
        let refused = collect(&incoming(&method, &uri, &headers, b"b=2")).unwrap_err();
        assert_eq!(refused.problem, "parameter_absent");

        // A body that is not a form is not read, so its `oauth_` text is no parameter.
        let uri: Uri = "/oauth1/api/user?oauth_nonce=n".parse().unwrap();
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let collected = collect(&incoming(&method, &uri, &json, b"oauth_token=t")).unwrap();
        assert_eq!(collected.place, "query");
        assert_eq!(collected.protocol.len(), 1);
    }
}
