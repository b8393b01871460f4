//! OpenID Connect RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! `logout_redirect` sends the user to the provider's `end_session_endpoint` with the ID token
//! of their login as `id_token_hint` (remembered at login, which Authlib leaves to every app),
//! the `post_logout_redirect_uri`, `client_id`, and a one-time `state` kept in the session.
//! `validate_logout_response` checks that state when the provider sends the user back; a state
//! that is missing, unknown or used is refused, so a forged "logged out" redirect cannot be
//! used to act on attacker-chosen data (conformance tests `rp-init-logout-other-state`, `-no-state`).

use crate::context::Context;
use crate::error::{Endpoint, Error, SessionError};
use crate::flow::Redirect;
use crate::params::Reader;
use crate::session::Session;
use crate::state::{self, Purpose};
use crate::token::Token;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What was stored with a logout's state, returned by `validate_logout_response`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutState {
    /// The `post_logout_redirect_uri` the logout was started with, if any.
    pub post_logout_redirect_uri: Option<String>,
}

/// The query of the provider's redirect back after logout.
///
/// Read by the same rule as [`Callback`](crate::Callback): a `state` that comes more than once
/// is recorded, and [`Client::validate_logout_response`](crate::Client::validate_logout_response) refuses it with
/// [`Error::RepeatedParameter`] without consuming the logout's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutCallback {
    /// The `state` sent back by the provider.
    pub state: Option<String>,
    /// `state` when it came more than once; only reading sets it.
    repeated: Option<&'static str>,
}

/// The parameters a [`LogoutCallback`] reads.
const LOGOUT_PARAMS: [&str; 1] = ["state"];

impl<'de> Deserialize<'de> for LogoutCallback {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Reader::deserialize(&LOGOUT_PARAMS, deserializer).map(LogoutCallback::read)
    }
}

impl LogoutCallback {
    fn read(reader: Reader<1>) -> LogoutCallback {
        let [state] = reader.values;
        LogoutCallback {
            state,
            repeated: reader.repeated,
        }
    }

    /// Reads the callback from a query string.
    pub fn from_query(query: &str) -> LogoutCallback {
        LogoutCallback::read(Reader::query(&LOGOUT_PARAMS, query))
    }

    /// `Some("state")` when the callback carried `state` more than once: it is then refused
    /// with [`Error::RepeatedParameter`] (RFC 6749 §3.1). Always `None` for a callback built
    /// from its fields.
    pub fn repeated_parameter(&self) -> Option<&'static str> {
        self.repeated
    }
}

/// A logout request being prepared; [`redirect`](Self::redirect) makes it.
#[must_use = "a logout request does nothing until `redirect` is awaited"]
pub struct LogoutRequest<'a> {
    context: &'a Context,
    post_logout_redirect_uri: Option<String>,
    id_token_hint: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
    state: Option<String>,
    revoke: Option<Token>,
}

impl LogoutRequest<'_> {
    /// Where the provider sends the user afterwards; it must be registered with the provider.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// The ID token to send as `id_token_hint` (default: the one of this session's login).
    pub fn id_token_hint(mut self, id_token: impl Into<String>) -> Self {
        self.id_token_hint = Some(id_token.into());
        self
    }

    /// Sends `logout_hint`: which user to log out, e.g. an email address.
    pub fn logout_hint(mut self, hint: impl Into<String>) -> Self {
        self.logout_hint = Some(hint.into());
        self
    }

    /// Sends `ui_locales`: the languages for the provider's pages, space-separated, e.g.
    /// `"fr-CA fr en"`.
    pub fn ui_locales(mut self, locales: impl Into<String>) -> Self {
        self.ui_locales = Some(locales.into());
        self
    }

    /// The `state` to send (default: a random one, when there is a post-logout redirect).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Revokes `token` at the provider (RFC 7009) before the redirect is made: see
    /// [`Client::revoke_token`](crate::Client::revoke_token). When the revocation fails,
    /// [`redirect`](Self::redirect) fails with its error and the session is left as it was.
    pub fn revoke(mut self, token: &Token) -> Self {
        self.revoke = Some(token.clone());
        self
    }

    /// Revokes the token if asked to, forgets the session's ID token, stores the state, and
    /// returns the redirect.
    pub async fn redirect<S: Session>(self, session: &S) -> Result<Redirect, Error> {
        let context = self.context;
        let provider = context.name();
        let config = context.config()?;
        let mut url = context.endpoint(Endpoint::EndSession).await?;
        if let Some(token) = &self.revoke {
            context.revoke_token(token).await?;
        }
        let key = state::id_token_key(provider);
        let remembered = match session.get(&key).await? {
            Some(Value::String(id_token)) => Some(id_token),
            _ => None,
        };
        session.remove(&key).await?;
        let id_token_hint = self.id_token_hint.or(remembered);
        let state = match (self.state, &self.post_logout_redirect_uri) {
            (Some(state), _) => Some(state),
            (None, Some(_)) => Some(oauth2::CsrfToken::new_random().secret().clone()),
            (None, None) => None,
        };
        if let Some(state) = &state {
            let data = serde_json::to_value(LogoutState {
                post_logout_redirect_uri: self.post_logout_redirect_uri.clone(),
            })
            .map_err(SessionError::new)?;
            state::store_value(
                session,
                provider,
                Purpose::Logout,
                state,
                data,
                context.now_ms(),
                context.state_policy(),
            )
            .await?;
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(hint) = &id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
            if let Some(uri) = &self.post_logout_redirect_uri {
                query.append_pair("post_logout_redirect_uri", uri);
            }
            if let Some(state) = &state {
                query.append_pair("state", state);
            }
            // RP-Initiated Logout §2: client_id lets the provider check the redirect URI even
            // without a hint.
            query.append_pair("client_id", &config.client_id);
            if let Some(hint) = &self.logout_hint {
                query.append_pair("logout_hint", hint);
            }
            if let Some(locales) = &self.ui_locales {
                query.append_pair("ui_locales", locales);
            }
        }
        Ok(Redirect::new(url))
    }
}

impl Context {
    /// The work of [`Client::logout`](crate::Client::logout).
    pub(crate) fn logout(&self) -> LogoutRequest<'_> {
        LogoutRequest {
            context: self,
            post_logout_redirect_uri: None,
            id_token_hint: None,
            logout_hint: None,
            ui_locales: None,
            state: None,
            revoke: None,
        }
    }

    /// The work of [`Client::logout_redirect`](crate::Client::logout_redirect).
    pub(crate) async fn logout_redirect<S: Session>(
        &self,
        session: &S,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<Redirect, Error> {
        let request = self.logout();
        let request = match post_logout_redirect_uri {
            Some(uri) => request.post_logout_redirect_uri(uri),
            None => request,
        };
        request.redirect(session).await
    }

    /// The work of [`Client::validate_logout_response`](crate::Client::validate_logout_response)(crate::Client::validate_logout_response).
    pub(crate) async fn validate_logout_response<S: Session>(
        &self,
        session: &S,
        callback: &LogoutCallback,
    ) -> Result<LogoutState, Error> {
        let provider = self.name();
        if let Some(parameter) = callback.repeated {
            return Err(Error::RepeatedParameter {
                provider,
                parameter,
            });
        }
        let state = callback
            .state
            .as_deref()
            .ok_or(Error::MissingState { provider })?;
        let (data, _) = state::consume_value(
            session,
            provider,
            Purpose::Logout,
            state,
            self.now_ms(),
            self.state_policy(),
        )
        .await?;
        serde_json::from_value(data).map_err(|_| Error::UnknownState { provider })
    }
}
