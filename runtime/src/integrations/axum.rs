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

use crate::error::{Error, SessionError};
use crate::flow::Redirect;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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
