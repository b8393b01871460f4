//! actix-web + actix-session (feature `actix`).
//!
//! `actix_session::Session` is a [`Session`](crate::Session); [`Redirect`] is a `Responder`
//! and [`Error`] a `ResponseError`; [`Callback`](crate::Callback) deserializes with
//! `web::Query` (and `web::Form`, for `response_mode=form_post`).
//!
//! ```no_run
//! use actix_session::Session;
//! use actix_web::{web, Responder};
//! use oauth_clients::{oauth_clients, Callback};
//!
//! oauth_clients! {
//!     github {
//!         authorize_url: "https://github.com/login/oauth/authorize",
//!         access_token_url: "https://github.com/login/oauth/access_token",
//!         api_base_url: "https://api.github.com/",
//!     },
//! }
//!
//! async fn login(session: Session) -> Result<impl Responder, oauth_clients::Error> {
//!     Providers::github().authorize_redirect(&session, "https://app.example/auth").await
//! }
//!
//! async fn auth(session: Session, callback: web::Query<Callback>) -> Result<String, oauth_clients::Error> {
//!     let token = Providers::github().authorize_access_token(&session, &callback).await?;
//!     Ok(Providers::github().get("user", &token).await?.text())
//! }
//! ```

use crate::error::{Error, SessionError};
use crate::flow::Redirect;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};
use serde_json::Value;

impl crate::Session for actix_session::Session {
    async fn get(&self, key: &str) -> Result<Option<Value>, SessionError> {
        actix_session::Session::get::<Value>(self, key).map_err(SessionError::new)
    }

    async fn insert(&self, key: &str, value: Value) -> Result<(), SessionError> {
        actix_session::Session::insert(self, key, value).map_err(SessionError::new)
    }

    async fn remove(&self, key: &str) -> Result<(), SessionError> {
        actix_session::Session::remove(self, key);
        Ok(())
    }
}

impl Responder for Redirect {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Found()
            .insert_header((header::LOCATION, self.location().as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .finish()
    }
}

/// A plain-text error page with [`Error::status`]; render your own for a nicer one.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_GATEWAY)
    }
}
