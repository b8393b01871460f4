//! The test provider's pushed authorization request endpoint (RFC 9126), `POST /par`, and
//! what the authorization endpoint does with the `request_uri` it hands out.
//!
//! A pushed request is checked as an authorization request would be, after client
//! authentication as at the token endpoint (§2.1), and answered `201 Created` with a
//! `request_uri` and `expires_in` (§2.2). The authorization endpoint then takes the pushed
//! parameters only (§4), for the client that pushed them, once, and within their lifetime:
//! an expired one sends the user back with `error=invalid_request_uri`.

// Handlers return early with a ready response; its size does not matter on this test server.
#![allow(clippy::result_large_err)]

use super::server::{authenticate, check_authorization, oauth_error, random};
use super::{lock, Shared};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Params = HashMap<String, String>;

/// How the pushed authorization request endpoint behaves (default: well).
#[derive(Clone, Debug)]
pub struct ParBehaviour {
    /// Advertise `require_pushed_authorization_requests: true` and refuse authorization
    /// requests without a `request_uri` (RFC 9126 §5; default `false`).
    pub required: bool,
    /// Publish `pushed_authorization_request_endpoint` in discovery (default `true`).
    pub advertise: bool,
    /// The `expires_in` of answers, in seconds (default 60); a pushed request is refused
    /// at the authorization endpoint once that long has passed.
    pub expires_in: i64,
    /// Treat every `request_uri` as expired when the user arrives with it: the authorization
    /// endpoint sends them back with `error=invalid_request_uri`.
    pub expire_at_authorize: bool,
    /// Answer `POST /par` with this `(status, JSON body)` instead.
    pub answer: Option<(u16, String)>,
    /// Delay every answer of `POST /par`.
    pub delay: Option<Duration>,
}

impl Default for ParBehaviour {
    fn default() -> Self {
        ParBehaviour {
            required: false,
            advertise: true,
            expires_in: 60,
            expire_at_authorize: false,
            answer: None,
            delay: None,
        }
    }
}

/// What the endpoint received and handed out.
#[derive(Default)]
pub(crate) struct Pushed {
    /// By `request_uri`: the parameters, when they were pushed, and for how long.
    requests: HashMap<String, (Params, Instant, i64)>,
    /// Every pushed request's parameters, in order (no client secret: authentication fields
    /// are left out).
    pub(crate) received: Vec<BTreeMap<String, String>>,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/par", post(push))
}

async fn push(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<Params>,
) -> Response {
    shared.count("par");
    let behaviour = shared.behaviour().par;
    if let Some(delay) = behaviour.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, body)) = behaviour.answer {
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    let (client_id, method) = match authenticate(&shared, &headers, &form) {
        Ok(found) => found,
        Err(response) => return response,
    };
    shared.count(&format!("par.auth.{method}"));
    let mut params = form;
    params.remove("client_secret");
    lock(&shared.par)
        .received
        .push(params.clone().into_iter().collect());
    // §2.1: a pushed request cannot itself refer to one.
    if params.contains_key("request_uri") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request_uri cannot be pushed",
        );
    }
    params.insert("client_id".into(), client_id);
    if check_authorization(&shared, &params).is_err() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the authorization request is invalid",
        );
    }
    let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", random());
    lock(&shared.par).requests.insert(
        request_uri.clone(),
        (params, Instant::now(), behaviour.expires_in),
    );
    (
        StatusCode::CREATED,
        axum::Json(json!({ "request_uri": request_uri, "expires_in": behaviour.expires_in })),
    )
        .into_response()
}

/// The discovery document's PAR entries.
pub(crate) fn metadata(shared: &Shared, document: &mut serde_json::Value) {
    let behaviour = shared.behaviour().par;
    if behaviour.advertise {
        document["pushed_authorization_request_endpoint"] = json!(format!("{}/par", shared.issuer));
    }
    document["require_pushed_authorization_requests"] = json!(behaviour.required);
}

/// The parameters an authorization request stands for: with a `request_uri`, the pushed ones
/// (taken, so used once, when `take`); without, its own, unless pushing is required. `Err` is
/// the answer to send instead: a refusal, or for an expired request the redirect back with
/// `error=invalid_request_uri`.
pub(crate) fn resolve(shared: &Shared, params: Params, take: bool) -> Result<Params, Response> {
    let refuse =
        |message: &str| Err((StatusCode::BAD_REQUEST, message.to_string()).into_response());
    let behaviour = shared.behaviour().par;
    let Some(request_uri) = params.get("request_uri") else {
        if behaviour.required {
            return refuse("this provider accepts only pushed authorization requests");
        }
        return Ok(params);
    };
    shared.count("authorize.request_uri");
    let mut pushed = lock(&shared.par);
    let Some((stored, at, expires_in)) = pushed.requests.get(request_uri).cloned() else {
        return refuse("unknown or used request_uri");
    };
    // §4: the request_uri belongs to the client that pushed it.
    if params.get("client_id") != stored.get("client_id") {
        return refuse("the request_uri was pushed by another client");
    }
    let lifetime = Duration::from_secs(u64::try_from(expires_in).unwrap_or(0));
    if behaviour.expire_at_authorize || at.elapsed() >= lifetime {
        pushed.requests.remove(request_uri);
        drop(pushed);
        shared.count("authorize.expired_request_uri");
        let redirect_uri = stored.get("redirect_uri").cloned().unwrap_or_default();
        let state = stored.get("state").cloned().unwrap_or_default();
        return Err(super::server::back_with(
            shared,
            &redirect_uri,
            &[
                ("error", "invalid_request_uri"),
                ("error_description", "the request_uri expired"),
                ("state", &state),
            ],
        ));
    }
    if take {
        pushed.requests.remove(request_uri);
    }
    Ok(stored)
}
