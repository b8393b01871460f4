//! axum + tower-sessions (feature `axum`).
//!
//! `tower_sessions::Session` is a [`Session`](crate::Session); [`Redirect`] and [`Error`] are
//! responses; [`Callback`](crate::Callback) deserializes with `Query` (and `Form`, for
//! `response_mode=form_post`).
//!
//! ```no_run
//! use axum::{extract::Query, response::IntoResponse, routing::get, Router};
//! use oauth_clients::{oauth_clients, Callback};
//! use tower_sessions::Session;
//!
//! oauth_clients! {
//!     github {
//!         authorize_url: "https://github.com/login/oauth/authorize",
//!         access_token_url: "https://github.com/login/oauth/access_token",
//!         api_base_url: "https://api.github.com/",
//!         scope: "user:email",
//!     },
//! }
//!
//! async fn login(session: Session) -> Result<impl IntoResponse, oauth_clients::Error> {
//!     Providers::github().authorize_redirect(&session, "https://app.example/auth").await
//! }
//!
//! async fn auth(session: Session, Query(callback): Query<Callback>) -> Result<String, oauth_clients::Error> {
//!     let token = Providers::github().authorize_access_token(&session, &callback).await?;
//!     let user = Providers::github().get("user", &token).await?;
//!     Ok(user.text())
//! }
//!
//! let app: Router = Router::new().route("/login", get(login)).route("/auth", get(auth));
//! # let _ = app;
//! ```

use crate::backchannel::{receive_logout, BackchannelLogout};
use crate::error::{Error, SessionError};
use crate::flow::Redirect;
use crate::refresh::HookError;
use crate::registry::{Client, OpenIdProvider};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

impl crate::Session for tower_sessions::Session {
    async fn get(&self, key: &str) -> Result<Option<Value>, SessionError> {
        self.get_value(key).await.map_err(SessionError::new)
    }

    async fn insert(&self, key: &str, value: Value) -> Result<(), SessionError> {
        self.insert_value(key, value)
            .await
            .map(drop)
            .map_err(SessionError::new)
    }

    async fn remove(&self, key: &str) -> Result<(), SessionError> {
        self.remove_value(key)
            .await
            .map(drop)
            .map_err(SessionError::new)
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let location = match HeaderValue::from_str(self.location().as_str()) {
            Ok(location) => location,
            // A parsed URL is always a valid header value; this is only a safe fallback.
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response()
    }
}

/// A plain-text error page with [`Error::status`]; render your own for a nicer one.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        (status, self.to_string()).into_response()
    }
}

/// A route receiving the back-channel logouts (OpenID Connect Back-Channel Logout 1.0) of
/// `client`'s provider: register its URL as the client's `backchannel_logout_uri`.
///
/// It takes the provider's POST (`application/x-www-form-urlencoded`, `logout_token=...`),
/// validates the token with [`Client::backchannel_logout`], awaits `on_logout` with the
/// [`BackchannelLogout`], and answers `200`; a refused token gets `400` and
/// `{"error":"invalid_request",..}`, a failure of the store or of `on_logout` `400` and
/// `server_error` (§2.8 wants `400` for any failure). Every answer has
/// `Cache-Control: no-store`. With tower-sessions, end the sessions in `on_logout` with
/// [`end_sessions`], or use [`backchannel_logout_ending_sessions`].
pub fn backchannel_logout<P, S, F, Fut>(
    client: Client<P>,
    on_logout: F,
) -> axum::routing::MethodRouter<S>
where
    P: OpenIdProvider,
    S: Clone + Send + Sync + 'static,
    F: Fn(BackchannelLogout) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'static,
{
    axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
        let client = client.clone();
        let on_logout = on_logout.clone();
        async move {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok());
            let (status, body) = receive_logout(&client, content_type, &body, on_logout).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            match body {
                Some(json) => (
                    status,
                    [
                        no_store,
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        ),
                    ],
                    json,
                )
                    .into_response(),
                None => (status, [no_store]).into_response(),
            }
        }
    })
}

/// [`backchannel_logout`] that deletes the logged-out sessions from the tower-sessions
/// `store` (the sessions recorded with [`remember_session`]).
///
/// ```no_run
/// use axum::{extract::Query, routing::get, Router};
/// use oauth_clients::integrations::axum::{backchannel_logout_ending_sessions, remember_session};
/// use oauth_clients::{oauth_clients, Callback, Error};
/// use std::time::Duration;
/// use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
///
/// oauth_clients! {
///     corp_sso {
///         server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
///         scope: "openid email",
///     },
/// }
///
/// async fn auth(session: Session, Query(callback): Query<Callback>) -> Result<String, Error> {
///     let sso = Providers::corp_sso();
///     let token = sso.authorize_access_token(&session, &callback).await?;
///     // After any `cycle_id`: the id recorded is the one the logout deletes.
///     remember_session(&sso, &token, &session, Duration::from_secs(7 * 86_400)).await?;
///     Ok(format!("hello {}", sso.user(&token)?.sub()))
/// }
///
/// let sessions = MemoryStore::default();
/// let app: Router = Router::new()
///     .route("/auth", get(auth))
///     // Registered at the provider as the client's `backchannel_logout_uri`.
///     .route(
///         "/backchannel-logout",
///         backchannel_logout_ending_sessions(Providers::corp_sso(), sessions.clone()),
///     )
///     .layer(SessionManagerLayer::new(sessions));
/// # let _ = app;
/// ```
pub fn backchannel_logout_ending_sessions<P, S, St>(
    client: Client<P>,
    store: St,
) -> axum::routing::MethodRouter<S>
where
    P: OpenIdProvider,
    S: Clone + Send + Sync + 'static,
    St: tower_sessions::SessionStore + Clone,
{
    backchannel_logout(client, move |event| {
        let store = store.clone();
        async move { end_sessions(&store, &event).await }
    })
}

/// Deletes the sessions of `event` from the tower-sessions `store`: those recorded with
/// [`remember_session`] (keys that are not tower-sessions ids are skipped).
pub async fn end_sessions<St>(store: &St, event: &BackchannelLogout) -> Result<(), HookError>
where
    St: tower_sessions::SessionStore + ?Sized,
{
    for key in &event.sessions {
        if let Ok(id) = key.parse::<tower_sessions::session::Id>() {
            store.delete(&id).await?;
        }
    }
    Ok(())
}

/// [`Client::remember_session`] with the tower-sessions session's id as the key (the session
/// is saved first if it has none yet), so that [`end_sessions`] can delete it. Call it after
/// the login, and after `cycle_id` if the application cycles the id on login.
pub async fn remember_session<P: OpenIdProvider>(
    client: &Client<P>,
    token: &crate::Token,
    session: &tower_sessions::Session,
    ttl: Duration,
) -> Result<(), Error> {
    if session.id().is_none() {
        session
            .save()
            .await
            .map_err(|e| Error::Session(SessionError::new(e)))?;
    }
    let id = session.id().ok_or_else(|| {
        Error::Session(SessionError::new(
            "the session has no id after it was saved",
        ))
    })?;
    client.remember_session(token, &id.to_string(), ttl).await
}
