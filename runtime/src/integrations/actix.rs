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

use crate::backchannel::{receive_logout, BackchannelLogout};
use crate::error::{Error, SessionError};
use crate::flow::Redirect;
use crate::refresh::HookError;
use crate::registry::{Client, OpenIdProvider};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};
use serde_json::Value;
use std::future::Future;

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

/// A route receiving the back-channel logouts (OpenID Connect Back-Channel Logout 1.0) of
/// `client`'s provider: `App::new().route("/backchannel-logout", backchannel_logout(..))`,
/// its URL registered as the client's `backchannel_logout_uri`.
///
/// It takes the provider's POST (`application/x-www-form-urlencoded`, `logout_token=...`),
/// validates the token with [`Client::backchannel_logout`], awaits `on_logout` with the
/// [`BackchannelLogout`], and answers `200`; a refused token gets `400` and
/// `{"error":"invalid_request",..}`, a failure of the store or of `on_logout` `400` and
/// `server_error`. Every answer has `Cache-Control: no-store`.
///
/// actix-session does not show a session's key to handlers, so the library cannot delete the
/// sessions itself: `on_logout` gets the keys the application gave
/// [`Client::remember_session`] (e.g. a random value it also keeps in the session), and ends
/// them, e.g. by remembering them as ended and clearing such a session on its next request.
pub fn backchannel_logout<P, F, Fut>(client: Client<P>, on_logout: F) -> actix_web::Route
where
    P: OpenIdProvider + 'static,
    F: Fn(BackchannelLogout) -> Fut + Clone + 'static,
    Fut: Future<Output = Result<(), HookError>> + 'static,
{
    actix_web::web::post().to(move |request: HttpRequest, body: actix_web::web::Bytes| {
        let client = client.clone();
        let on_logout = on_logout.clone();
        async move {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok());
            let (status, body) = receive_logout(&client, content_type, &body, on_logout).await;
            let mut response = HttpResponse::build(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            );
            response.insert_header((header::CACHE_CONTROL, "no-store"));
            match body {
                Some(json) => response.content_type("application/json").body(json),
                None => response.finish(),
            }
        }
    })
}
