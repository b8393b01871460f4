//! The test provider's HTTP endpoints.

// Handlers return early with a ready response; its size does not matter on this test server.
#![allow(clippy::result_large_err)]

use super::{
    lock, AccessGrant, CodeGrant, IdTokenParts, LoginMode, RefreshGrant, ResponseIss, Shared,
    Signing, TokenFormat,
};
use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use base64::Engine;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{PrivateSigningKey, SigningError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

type Params = HashMap<String, String>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/authorize", get(authorize_page).post(authorize_decision))
        .route("/token", any(token))
        .route("/refresh", any(refresh_alias))
        .route("/api/user", any(api_user))
        .route("/trap", any(trap))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/userinfo", any(userinfo))
        .route("/logout", get(end_session))
        .route("/revoke", any(revoke))
        .merge(super::oauth1::routes())
        .merge(super::par::routes())
        .with_state(shared)
}

pub(crate) fn random() -> String {
    oauth2::CsrfToken::new_random_len(24).secret().clone()
}

pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Checks an authorization request; on success, the client's redirect URI.
pub(crate) fn check_authorization(shared: &Shared, params: &Params) -> Result<String, Response> {
    let bad = |message: &str| Err((StatusCode::BAD_REQUEST, message.to_string()).into_response());
    let Some(client_id) = params.get("client_id") else {
        return bad("missing client_id");
    };
    let Some(client) = lock(&shared.clients).get(client_id).cloned() else {
        return bad("unknown client_id");
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return bad("missing redirect_uri");
    };
    if !client.redirect_uris.is_empty() && !client.redirect_uris.contains(redirect_uri) {
        return bad("redirect_uri is not registered for this client");
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return bad("only response_type=code is supported");
    }
    let pkce = params.get("code_challenge_method").map(String::as_str);
    if pkce.is_some() && pkce != Some("S256") {
        return bad("only the S256 code_challenge_method is supported");
    }
    if shared.behaviour().require_pkce && params.get("code_challenge").is_none() {
        return bad("PKCE is required: send code_challenge");
    }
    Ok(redirect_uri.clone())
}

async fn authorize_page(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Params>,
) -> Response {
    shared.count("authorize");
    let login = shared.behaviour().login;
    // A pushed request (RFC 9126 §4) is used up when the user decides, not when the page shows.
    let take = matches!(login, LoginMode::AutoApprove(_));
    let original = params.clone();
    let params = match super::par::resolve(&shared, params, take) {
        Ok(params) => params,
        Err(response) => return response,
    };
    let redirect_uri = match check_authorization(&shared, &params) {
        Ok(uri) => uri,
        Err(response) => return response,
    };
    match login {
        LoginMode::AutoApprove(user) => issue_code(&shared, &params, &redirect_uri, &user),
        LoginMode::Form => login_page(&original),
    }
}

async fn authorize_decision(
    State(shared): State<Arc<Shared>>,
    Form(params): Form<Params>,
) -> Response {
    shared.count("authorize");
    let decision = params.get("decision").cloned();
    let username = params.get("username").cloned();
    let mut params = match super::par::resolve(&shared, params, true) {
        Ok(params) => params,
        Err(response) => return response,
    };
    for (name, value) in [("decision", decision), ("username", username)] {
        if let Some(value) = value {
            params.insert(name.into(), value);
        }
    }
    let redirect_uri = match check_authorization(&shared, &params) {
        Ok(uri) => uri,
        Err(response) => return response,
    };
    if params.get("decision").map(String::as_str) != Some("allow") {
        return answer(
            &params,
            &redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user refused"),
                (
                    "state",
                    params.get("state").map(String::as_str).unwrap_or(""),
                ),
                ("iss", &response_iss(&shared)),
            ],
        );
    }
    let user = params.get("username").map(|u| u.trim()).unwrap_or("");
    if user.is_empty() {
        return login_page(&params);
    }
    issue_code(&shared, &params, &redirect_uri, user)
}

fn login_page(params: &Params) -> Response {
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k.as_str() != "username" && k.as_str() != "decision")
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let client = escape(params.get("client_id").map(String::as_str).unwrap_or(""));
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local provider: sign in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}}
input[type=text]{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{padding:.5rem 1rem;font-size:1rem;margin:.5rem .5rem 0 0}}</style></head>
<body><h1>Local provider</h1>
<p><strong>{client}</strong> wants to sign you in. This provider runs on your machine: type any user name.</p>
<form method="post" action="/authorize">{hidden}
<label for="username">User name</label>
<input type="text" id="username" name="username" autofocus autocomplete="off">
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>"#
    ))
    .into_response()
}

fn issue_code(shared: &Shared, params: &Params, redirect_uri: &str, user: &str) -> Response {
    let code = random();
    lock(&shared.grants).codes.insert(
        code.clone(),
        CodeGrant {
            client_id: params.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: redirect_uri.to_string(),
            code_challenge: params.get("code_challenge").cloned(),
            user: user.to_string(),
            scope: params.get("scope").cloned().unwrap_or_default(),
            nonce: params.get("nonce").cloned(),
            issued: Instant::now(),
        },
    );
    let state = params.get("state").map(String::as_str).unwrap_or("");
    let user_field = shared.behaviour().form_post_user.unwrap_or_default();
    answer(
        params,
        redirect_uri,
        &[
            ("code", &code),
            ("state", state),
            ("iss", &response_iss(shared)),
            ("user", &user_field),
        ],
    )
}

/// Whether the authorization request asked for `response_mode=form_post`.
fn wants_form_post(params: &Params) -> bool {
    params.get("response_mode").map(String::as_str) == Some("form_post")
}

/// The authorization response: a redirect with the fields in the query, or, for
/// `response_mode=form_post`, a page that POSTs them to the redirect URI. `user` (Sign in
/// with Apple's first-login name) goes only into a form post, as Apple sends it.
fn answer(params: &Params, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    if wants_form_post(params) {
        return form_post(redirect_uri, pairs);
    }
    let query: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(name, _)| *name != "user")
        .collect();
    back(redirect_uri, &query)
}

/// OAuth 2.0 Form Post Response Mode, as Sign in with Apple answers when asked for
/// `response_mode=form_post`
/// (developer.apple.com/documentation/sign_in_with_apple/request_an_authorization_to_the_sign_in_with_apple_server):
/// an HTML page whose form POSTs the fields (empty values left out) to the redirect URI and
/// submits itself on load. The browser's POST is cross-site, so only cookies with
/// `SameSite=None` come with it.
fn form_post(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    if url::Url::parse(redirect_uri).is_err() {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    }
    let fields: String = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(name),
                escape(value)
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local provider: signing you in</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{action}">{fields}
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>"#,
        action = escape(redirect_uri)
    ))
    .into_response()
}

/// Escapes text for an HTML attribute or text.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `iss` of authorization responses (RFC 9207), success or error alike.
fn response_iss(shared: &Shared) -> String {
    match shared.behaviour().response_iss {
        ResponseIss::Correct => shared.issuer.clone(),
        ResponseIss::Omit => String::new(),
        ResponseIss::Value(iss) => iss,
    }
}

/// An authorization response with the provider's `iss` (RFC 9207) added.
pub(crate) fn back_with(shared: &Shared, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let iss = response_iss(shared);
    let mut pairs = pairs.to_vec();
    pairs.push(("iss", &iss));
    back(redirect_uri, &pairs)
}

/// A redirect to the client with query parameters added (empty values left out).
fn back(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response(),
    };
    for (name, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        url.query_pairs_mut().append_pair(name, value);
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// Client authentication: HTTP Basic or form fields. Returns the client id and the method.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Params,
) -> Result<(String, &'static str), Response> {
    let unauthorized = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let (client_id, secret, method) = match basic {
        Some((id, secret)) => (id, Some(secret), "client_secret_basic"),
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), Some(secret.clone()), "client_secret_post"),
            (Some(id), None) => (id.clone(), None, "none"),
            _ => return Err(unauthorized()),
        },
    };
    let client = lock(&shared.clients)
        .get(&client_id)
        .cloned()
        .ok_or_else(unauthorized)?;
    if let Some(key) = shared.signed_secret_keys.get(&client_id) {
        // Apple takes the client secret in the body only.
        let (Some(secret), "client_secret_post") = (&secret, method) else {
            return Err(unauthorized());
        };
        return match check_signed_secret(secret, key, &client_id, &shared.issuer, now()) {
            Ok(()) => Ok((client_id, "signed_secret")),
            Err(reason) => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                &format!("client authentication failed: {reason}"),
            )),
        };
    }
    match (&client.client_secret, &secret) {
        (Some(expected), Some(given)) if expected == given => {}
        (None, None) => {}
        _ => return Err(unauthorized()),
    }
    Ok((client_id, method))
}

/// The longest a signed client secret may be valid: six months, as Apple allows
/// ("Creating a client secret",
/// developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret).
const SIGNED_SECRET_MAX_LIFETIME: u64 = 15_777_000;

/// Checks a client secret that is a JWT the client signed, as Sign in with Apple's token
/// endpoint does ("Creating a client secret", see [`SIGNED_SECRET_MAX_LIFETIME`]): header
/// `alg` ES256 and the key's `kid`, the signature, then `iss` (team id), `sub` (client id),
/// `aud` (the issuer), `iat`, `exp` and the lifetime. What failed, never the secret.
fn check_signed_secret(
    secret: &str,
    key: &super::SignedSecretKey,
    client_id: &str,
    audience: &str,
    now: u64,
) -> Result<(), &'static str> {
    let parts: Vec<&str> = secret.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the client secret is not a JWT");
    };
    let json = |part: &str| -> Option<serde_json::Map<String, Value>> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = json(header).ok_or("the client secret's header is not JSON")?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err("the client secret is not signed with ES256");
    }
    if header.get("kid").and_then(Value::as_str) != Some(key.key_id.as_str()) {
        return Err("the client secret's kid is not the client's key");
    }
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the client secret's signature is not base64url")?;
    let signed = &secret[..secret.rfind('.').unwrap_or(0)];
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        &key.public_key,
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| "the client secret's signature does not verify with the client's key")?;
    let claims = json(claims).ok_or("the client secret's claims are not JSON")?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    if text("iss") != Some(key.team_id.as_str()) {
        return Err("the client secret's iss is not the team id");
    }
    if text("sub") != Some(client_id) {
        return Err("the client secret's sub is not the client id");
    }
    if text("aud") != Some(audience) {
        return Err("the client secret's aud is not the provider's issuer");
    }
    let (Some(iat), Some(exp)) = (number("iat"), number("exp")) else {
        return Err("the client secret has no numeric iat and exp");
    };
    if iat > now {
        return Err("the client secret's iat is in the future");
    }
    if exp <= now {
        return Err("the client secret has expired");
    }
    if exp - iat > SIGNED_SECRET_MAX_LIFETIME {
        return Err("the client secret is valid for more than six months");
    }
    Ok(())
}

fn s256(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

async fn token(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<Params>,
) -> Response {
    shared.count("token");
    let behaviour = shared.behaviour();
    if let Some(delay) = behaviour.token_delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(target) = &behaviour.token_redirect_to {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, target.clone())],
        )
            .into_response();
    }
    if behaviour.token_endless {
        let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
        let endless =
            futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(endless))
            .unwrap_or_default();
    }
    if let Some((status, content_type, body)) = &behaviour.token_override {
        return Response::builder()
            .status(*status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.clone()))
            .unwrap_or_default();
    }
    // DPoP (RFC 9449 §5): a proof, when sent, is checked before anything is spent.
    let dpop = match super::dpop::token_proof(&shared, &headers, uri.path()) {
        Ok(jkt) => jkt,
        Err(response) => return response,
    };
    let (client_id, method) = match authenticate(&shared, &headers, &form) {
        Ok(found) => found,
        Err(response) => return response,
    };
    shared.count(&format!("token.auth.{method}"));
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    shared.count(&format!("token.{grant_type}"));
    let (user, scope, nonce) = match grant_type {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = lock(&shared.grants).codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            if grant.client_id != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the code was issued to another client",
                );
            }
            if grant.issued.elapsed() > Duration::from_secs(600) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code expired");
            }
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match",
                );
            }
            if let Some(challenge) = &grant.code_challenge {
                match form.get("code_verifier") {
                    Some(verifier) if s256(verifier) == *challenge => {}
                    _ => {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "PKCE verification failed",
                        )
                    }
                }
            }
            (grant.user, grant.scope, grant.nonce)
        }
        "refresh_token" => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if !super::dpop::check_refresh(&shared, &presented, dpop.as_deref()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is bound to another DPoP key",
                );
            }
            let mut grants = lock(&shared.grants);
            let grant = if behaviour.rotate_refresh_tokens {
                grants.refresh_tokens.remove(&presented)
            } else {
                grants.refresh_tokens.get(&presented).cloned()
            };
            let Some(grant) = grant else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or spent refresh token",
                );
            };
            if grant.client_id != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token was issued to another client",
                );
            }
            (grant.user, grant.scope, grant.nonce)
        }
        // RFC 6749 §4.4: the client on its own behalf, with the scope it asks for.
        "client_credentials" => (
            format!("client:{client_id}"),
            form.get("scope").cloned().unwrap_or_default(),
            None,
        ),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "use authorization_code, refresh_token or client_credentials",
            )
        }
    };

    let access_token = random();
    let openid = scope.split(' ').any(|s| s == "openid");
    let id_token = openid.then(|| {
        id_token(
            &shared,
            &behaviour,
            &client_id,
            &user,
            &scope,
            nonce.as_deref(),
            &access_token,
        )
    });
    let token_type = super::dpop::issue(
        &shared,
        dpop.as_deref(),
        &[&access_token],
        &behaviour.token_type,
    );
    let mut fields: Vec<(String, Value)> = Vec::new();
    if !behaviour.omit_access_token {
        fields.push(("access_token".into(), json!(access_token)));
    }
    if !behaviour.omit_token_type {
        fields.push(("token_type".into(), json!(token_type)));
    }
    if let Some(ttl) = behaviour.access_token_ttl {
        fields.push(("expires_in".into(), json!(ttl.as_secs())));
    }
    {
        let mut grants = lock(&shared.grants);
        if let Some(id_token) = &id_token {
            grants.id_tokens.insert(id_token.clone());
        }
        grants.access_tokens.insert(
            access_token,
            AccessGrant {
                user: user.clone(),
                scope: scope.clone(),
                expires: behaviour
                    .access_token_ttl
                    .map(|ttl| SystemTime::now() + ttl),
            },
        );
        let new_refresh = match grant_type {
            "refresh_token" if !behaviour.rotate_refresh_tokens => None,
            // RFC 6749 §4.4.3: no refresh token for this grant.
            "client_credentials" => None,
            _ if behaviour.issue_refresh_tokens => Some(random()),
            _ => None,
        };
        if let Some(refresh) = new_refresh {
            if let Some(jkt) = &dpop {
                shared.dpop.bind(&refresh, jkt);
            }
            grants.refresh_tokens.insert(
                refresh.clone(),
                RefreshGrant {
                    client_id,
                    user,
                    scope: scope.clone(),
                    nonce,
                },
            );
            fields.push(("refresh_token".into(), json!(refresh)));
        }
    }
    if !scope.is_empty() {
        fields.push(("scope".into(), json!(scope)));
    }
    if let Some(id_token) = id_token {
        fields.push(("id_token".into(), json!(id_token)));
    }
    if behaviour.token_padding > 0 {
        fields.push(("padding".into(), json!("x".repeat(behaviour.token_padding))));
    }
    let (content_type, body) = match behaviour.token_format {
        TokenFormat::Json => (
            "application/json",
            Value::Object(fields.into_iter().collect()).to_string(),
        ),
        TokenFormat::Form => {
            let mut encoder = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                encoder.append_pair(&name, &text);
            }
            ("application/x-www-form-urlencoded", encoder.finish())
        }
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// The token endpoint under another path, for clients that declare a `refresh_token_url`.
async fn refresh_alias(
    state: State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    form: Form<Params>,
) -> Response {
    state.0.count("refresh_url");
    token(state, uri, headers, form).await
}

/// The access token of a request: `Authorization: Bearer` or an `access_token` form field.
fn bearer(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(token.to_string());
    }
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
}

async fn api_user(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    shared.count("api");
    let token = super::dpop::access_token(
        &shared,
        &headers,
        &method,
        uri.path(),
        bearer(&headers, &body),
    );
    let token = match token {
        Ok(token) => token,
        Err(response) => return response,
    };
    let grant = token.and_then(|t| lock(&shared.grants).access_tokens.get(&t).cloned());
    match grant {
        Some(grant) if grant.expires.is_none_or(|at| SystemTime::now() < at) => {
            axum::Json(json!({ "id": stable_id(&grant.user), "login": grant.user, "name": grant.user, "scope": grant.scope })).into_response()
        }
        _ => {
            let mut response = (StatusCode::UNAUTHORIZED, axum::Json(json!({ "message": "Bad credentials" }))).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
    }
}

/// The revocation endpoint (RFC 7009 §2): the client authenticates as at the token endpoint;
/// a token it may not revoke, or one nobody knows, is answered 200 all the same (§2.2). A
/// refresh token's access tokens are left to expire.
async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<Params>,
) -> Response {
    shared.count("revoke");
    let behaviour = shared.behaviour();
    let client_id = match authenticate(&shared, &headers, &form) {
        Ok((client_id, _)) => client_id,
        Err(response) => return response,
    };
    let Some(token) = form.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "missing token");
    };
    let hint = form
        .get("token_type_hint")
        .map(String::as_str)
        .unwrap_or("");
    shared.count(&format!(
        "revoke.{}",
        if hint.is_empty() { "no_hint" } else { hint }
    ));
    let mut grants = lock(&shared.grants);
    let refresh_owner = grants
        .refresh_tokens
        .get(token)
        .map(|g| g.client_id.clone());
    if refresh_owner.as_deref() == Some(client_id.as_str()) {
        grants.refresh_tokens.remove(token);
    } else if grants.access_tokens.contains_key(token) {
        if behaviour.revoke_refresh_tokens_only {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "only refresh tokens can be revoked here",
            );
        }
        grants.access_tokens.remove(token);
    }
    StatusCode::OK.into_response()
}

/// The claims that `scope` grants about `user`.
fn scope_claims(user: &str, scope: &str) -> Vec<(&'static str, Value)> {
    let mut claims = Vec::new();
    for token in scope.split(' ') {
        match token {
            "email" => {
                claims.push(("email", json!(format!("{user}@example.test"))));
                claims.push(("email_verified", json!(true)));
            }
            "profile" => {
                let mut name = user.to_string();
                if let Some(first) = name.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                claims.push(("name", json!(name)));
                claims.push(("preferred_username", json!(user)));
            }
            _ => {}
        }
    }
    claims
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn at_hash(access_token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    b64(&digest[..16])
}

/// Builds and signs an ID token, through the behaviour's hook.
fn id_token(
    shared: &Shared,
    behaviour: &super::Behaviour,
    client_id: &str,
    user: &str,
    scope: &str,
    nonce: Option<&str>,
    access_token: &str,
) -> String {
    let active = *lock(&shared.active_key);
    let now = now();
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(shared.issuer));
    claims.insert("sub".into(), json!(user));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("exp".into(), json!(now + behaviour.id_token_ttl.as_secs()));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(now));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("at_hash".into(), json!(at_hash(access_token)));
    if behaviour.claims_in_id_token {
        for (name, value) in scope_claims(user, scope) {
            claims.insert(name.into(), value);
        }
    }
    let mut header = serde_json::Map::new();
    let (alg, kid, signing) = if behaviour.sign_es256 {
        ("ES256", super::EcKey::KID, Signing::Es256)
    } else {
        ("RS256", shared.keys[active].0.as_str(), Signing::ActiveKey)
    };
    header.insert("alg".into(), json!(alg));
    header.insert("typ".into(), json!("JWT"));
    header.insert("kid".into(), json!(kid));
    let mut parts = IdTokenParts {
        header,
        claims,
        signing,
    };
    if let Some(hook) = &behaviour.id_token_hook {
        (hook.0)(&mut parts);
    }
    sign(shared, active, behaviour.sign_es256, parts)
}

pub(crate) fn sign(shared: &Shared, active: usize, es256: bool, parts: IdTokenParts) -> String {
    let input = format!(
        "{}.{}",
        b64(Value::Object(parts.header).to_string().as_bytes()),
        b64(Value::Object(parts.claims).to_string().as_bytes())
    );
    let rsa = |index: usize| -> Result<Vec<u8>, SigningError> {
        shared.keys[index % shared.keys.len()]
            .2
            .sign(input.as_bytes())
            .ok_or(SigningError::CryptoError)
    };
    let ec = || {
        shared
            .ec_key
            .sign(input.as_bytes())
            .ok_or(SigningError::CryptoError)
    };
    let signature = match parts.signing {
        Signing::ActiveKey => rsa(active),
        Signing::Key(index) => rsa(index),
        Signing::Es256 => ec(),
        Signing::Hmac(key) => openidconnect::core::CoreHmacKey::new(key)
            .sign(&CoreJwsSigningAlgorithm::HmacSha256, input.as_bytes()),
        Signing::Unsigned => Ok(Vec::new()),
        Signing::Corrupt => if es256 { ec() } else { rsa(active) }.map(|mut signature| {
            signature[10] ^= 0x01;
            signature
        }),
        Signing::Raw(text) => return text,
    };
    match signature {
        Ok(signature) => format!("{input}.{}", b64(&signature)),
        // Unreachable with these keys and algorithms; a broken token makes the test fail loudly.
        Err(_) => format!("{input}.signing-failed"),
    }
}

/// A redirect to `/trap`, for an endpoint switched to redirecting.
fn redirecting(shared: &Shared, behaviour: &super::Behaviour, endpoint: &str) -> Option<Response> {
    behaviour.redirecting.contains(&endpoint).then(|| {
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{}/trap", shared.issuer))],
        )
            .into_response()
    })
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.count("discovery");
    let behaviour = shared.behaviour();
    if let Some(response) = redirecting(&shared, &behaviour, "discovery") {
        return response;
    }
    if let Some(status) = behaviour.discovery_status {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    let base = &shared.issuer;
    let mut document = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "end_session_endpoint": format!("{base}/logout"),
        "revocation_endpoint": format!("{base}/revoke"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "authorization_response_iss_parameter_supported": behaviour.advertise_response_iss,
    });
    if behaviour.sign_es256 {
        document["id_token_signing_alg_values_supported"] = json!(["RS256", "ES256"]);
    }
    super::par::metadata(&shared, &mut document);
    if let (Some(hook), Some(map)) = (&behaviour.discovery_hook, document.as_object_mut()) {
        (hook.0)(map);
    }
    (
        [(header::CACHE_CONTROL, "max-age=3600")],
        axum::Json(document),
    )
        .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    use openidconnect::PrivateSigningKey;
    shared.count("jwks");
    let behaviour = shared.behaviour();
    if let Some(response) = redirecting(&shared, &behaviour, "jwks") {
        return response;
    }
    if let Some(status) = behaviour.jwks_status {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    let active = *lock(&shared.active_key);
    let mut keys: Vec<Value> = shared
        .keys
        .iter()
        .enumerate()
        .filter(|(i, _)| behaviour.publish_all_keys || *i == active)
        .filter_map(|(_, (_, key, _))| serde_json::to_value(key.as_verification_key()).ok())
        .collect();
    if behaviour.sign_es256 {
        keys.push(shared.ec_key.jwk());
    }
    keys.extend(behaviour.jwks_extra.iter().cloned());
    let mut document = serde_json::Map::new();
    document.insert("keys".into(), Value::Array(keys));
    if let Some(hook) = &behaviour.jwks_hook {
        (hook.0)(&mut document);
    }
    axum::Json(Value::Object(document)).into_response()
}

async fn userinfo(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    shared.count("userinfo");
    if let Some(response) = redirecting(&shared, &shared.behaviour(), "userinfo") {
        return response;
    }
    let token = super::dpop::access_token(
        &shared,
        &headers,
        &method,
        uri.path(),
        bearer(&headers, &body),
    );
    let token = match token {
        Ok(token) => token,
        Err(response) => return response,
    };
    let grant = token.and_then(|t| lock(&shared.grants).access_tokens.get(&t).cloned());
    match grant {
        Some(grant) if grant.expires.is_none_or(|at| SystemTime::now() < at) => {
            let sub = shared
                .behaviour()
                .userinfo_sub
                .unwrap_or(grant.user.clone());
            let mut claims = serde_json::Map::new();
            claims.insert("sub".into(), json!(sub));
            for (name, value) in scope_claims(&grant.user, &grant.scope) {
                claims.insert(name.into(), value);
            }
            axum::Json(Value::Object(claims)).into_response()
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response(),
    }
}

/// RP-initiated logout: checks the hint, then sends the user back with the state.
async fn end_session(State(shared): State<Arc<Shared>>, Query(params): Query<Params>) -> Response {
    shared.count("end_session");
    if let Some(hint) = params.get("id_token_hint") {
        if !lock(&shared.grants).id_tokens.contains(hint) {
            return (StatusCode::BAD_REQUEST, "id_token_hint was not issued here").into_response();
        }
    }
    let Some(target) = params.get("post_logout_redirect_uri") else {
        return Html("<!doctype html><p>You are logged out of the local provider.</p>")
            .into_response();
    };
    let state = match shared.behaviour().logout_state {
        Some(state) => state.unwrap_or_default(),
        None => params.get("state").cloned().unwrap_or_default(),
    };
    back(target, &[("state", &state)])
}

/// A stable numeric id for a user name, like the numeric ids real providers give.
pub(crate) fn stable_id(user: &str) -> u64 {
    user.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    }) % 1_000_000_000
}

/// Where hostile redirects point: a request arriving here means a redirect was followed.
async fn trap(State(shared): State<Arc<Shared>>) -> Response {
    shared.count("trap");
    (StatusCode::OK, "followed a redirect").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};

    const NOW: u64 = 1_700_000_000;
    const ISSUER: &str = "https://appleid.apple.com";

    fn key_pair() -> EcdsaKeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ALG, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ALG, pkcs8.as_ref(), &rng).unwrap()
    }

    fn jwt(pair: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = pair
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(signature.as_ref()))
    }

    /// Each claim of Apple's client secret ("Creating a client secret",
    /// developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret)
    /// is checked, and a valid secret passes.
    #[test]
    fn signed_client_secrets_are_checked_as_apple_documents() {
        let pair = key_pair();
        let key = crate::SignedSecretKey {
            team_id: "TEAM".into(),
            key_id: "KID".into(),
            public_key: pair.public_key().as_ref().to_vec(),
        };
        let header = json!({"alg": "ES256", "kid": "KID"});
        let claims = json!({"iss": "TEAM", "sub": "app", "aud": ISSUER,
                            "iat": NOW - 10, "exp": NOW + 3600});
        let check = |secret: &str| check_signed_secret(secret, &key, "app", ISSUER, NOW);
        assert_eq!(check(&jwt(&pair, header.clone(), claims.clone())), Ok(()));

        let with = |name: &str, value: Value| {
            let mut claims = claims.clone();
            claims[name] = value;
            check(&jwt(&pair, header.clone(), claims))
        };
        assert!(with("iss", json!("OTHER")).unwrap_err().contains("iss"));
        assert!(with("sub", json!("other-app")).unwrap_err().contains("sub"));
        assert!(with("aud", json!("https://idp.example"))
            .unwrap_err()
            .contains("aud"));
        assert!(with("iat", json!(NOW + 60)).unwrap_err().contains("future"));
        assert!(with("exp", json!(NOW)).unwrap_err().contains("expired"));
        // Six months at most: 15,777,000 seconds passes, one more does not.
        let mut longest = claims.clone();
        longest["iat"] = json!(NOW - 10);
        longest["exp"] = json!(NOW - 10 + SIGNED_SECRET_MAX_LIFETIME);
        assert_eq!(check(&jwt(&pair, header.clone(), longest.clone())), Ok(()));
        longest["exp"] = json!(NOW - 10 + SIGNED_SECRET_MAX_LIFETIME + 1);
        assert!(check(&jwt(&pair, header.clone(), longest))
            .unwrap_err()
            .contains("six months"));

        let header_with = |header: Value| check(&jwt(&pair, header, claims.clone()));
        assert!(header_with(json!({"alg": "ES384", "kid": "KID"}))
            .unwrap_err()
            .contains("ES256"));
        assert!(header_with(json!({"alg": "ES256", "kid": "OTHER"}))
            .unwrap_err()
            .contains("kid"));
        assert!(check(&jwt(&key_pair(), header.clone(), claims.clone()))
            .unwrap_err()
            .contains("signature"));
        assert_eq!(
            check("shared-secret"),
            Err("the client secret is not a JWT")
        );
    }
}
