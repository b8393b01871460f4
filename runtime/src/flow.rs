//! The authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636): the redirect to the
//! provider, and the callback that turns a code into a [`Token`].
//!
//! Compared with Authlib: PKCE S256 is on by default; the pending login's expiry is enforced;
//! a missing, unknown, expired or replayed `state` is each its own error; the state is consumed
//! before the code is redeemed, so a replayed callback never reaches the provider; a callback
//! with a repeated parameter is refused before either (see [`crate::params`]).

use crate::config::PkceMethod;
use crate::context::Context;
use crate::error::{Endpoint, Error};
use crate::params::Reader;
use crate::session::Session;
use crate::state::{self, PendingLogin};
use crate::token::Token;
use oauth_clients_spec::{self as spec, Key};
use serde::Deserialize;
use std::fmt;
use url::Url;

/// The query (or `form_post` body) of the provider's redirect back to the application.
///
/// Deserialize it with the framework's extractor (`axum::extract::Query<Callback>`,
/// `actix_web::web::Form<Callback>`, ...) or parse it with [`Callback::from_query`]. Every
/// way reads by the same rule: a known parameter that comes more than once (RFC 6749 §3.1
/// forbids it) is not an error when reading, but is recorded
/// ([`repeated_parameter`](Self::repeated_parameter)), and
/// [`Client::authorize_access_token`](crate::Client::authorize_access_token) refuses the callback with
/// [`Error::RepeatedParameter`] before using anything in it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// The authorization code, to exchange for a token.
    pub code: Option<String>,
    /// The `state` of the authorization request this callback answers.
    pub state: Option<String>,
    /// The issuer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
    /// The OAuth error code when the provider did not grant access, e.g. `access_denied`.
    pub error: Option<String>,
    /// A human-readable explanation of `error`, if the provider sent one.
    pub error_description: Option<String>,
    /// A page about `error`, if the provider sent one.
    pub error_uri: Option<String>,
    /// Sign in with Apple's `user` form field: the user's name and email as JSON, sent only
    /// on the first login; the [`Profile`](crate::Profile) takes the name from it.
    pub user: Option<String>,
    /// OAuth 1.0a: the request token the user authorized (RFC 5849 §2.2).
    pub oauth_token: Option<String>,
    /// OAuth 1.0a: the verification code that the access-token request sends (RFC 5849
    /// §2.2); the PIN the user types in the out-of-band flow.
    pub oauth_verifier: Option<String>,
    /// OAuth 1.0a: X (Twitter) sends `denied=<request token>` instead of a verifier when the
    /// user cancels ("Log in with X", developer.x.com/en/docs/authentication/guides/log-in-with-twitter).
    pub denied: Option<String>,
    /// The first parameter above that came more than once; only reading sets it.
    repeated: Option<&'static str>,
}

/// The parameters a [`Callback`] reads, in the order of its fields.
const CALLBACK_PARAMS: [&str; 10] = [
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    "user",
    "oauth_token",
    "oauth_verifier",
    "denied",
];

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The code is a credential until redeemed.
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("user", &self.user.as_ref().map(|_| "[redacted]"))
            .field(
                "oauth_token",
                &self.oauth_token.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "oauth_verifier",
                &self.oauth_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("denied", &self.denied.is_some())
            .field("repeated", &self.repeated)
            .finish_non_exhaustive()
    }
}

impl<'de> Deserialize<'de> for Callback {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Reader::deserialize(&CALLBACK_PARAMS, deserializer).map(Callback::read)
    }
}

impl Callback {
    fn read(reader: Reader<10>) -> Callback {
        let [code, state, iss, error, error_description, error_uri, user, oauth_token, oauth_verifier, denied] =
            reader.values;
        Callback {
            code,
            state,
            iss,
            error,
            error_description,
            error_uri,
            user,
            oauth_token,
            oauth_verifier,
            denied,
            repeated: reader.repeated,
        }
    }

    /// Reads a callback from a URL query string (`code=...&state=...`).
    pub fn from_query(query: &str) -> Callback {
        Callback::read(Reader::query(&CALLBACK_PARAMS, query))
    }

    /// Reads a callback from the full callback URL.
    pub fn from_url(url: &Url) -> Callback {
        Callback::from_query(url.query().unwrap_or(""))
    }

    /// The first of `code`, `state`, `iss`, `error`, `error_description`, `error_uri`, `user`,
    /// `oauth_token`, `oauth_verifier` and `denied` that
    /// the callback carried more than once, if any: such a callback is refused with
    /// [`Error::RepeatedParameter`] (RFC 6749 §3.1). Always `None` for a callback built from
    /// its fields.
    pub fn repeated_parameter(&self) -> Option<&'static str> {
        self.repeated
    }

    /// RFC 6749 §3.1: a callback with a repeated parameter is refused before anything in it
    /// is used.
    pub(crate) fn check_repeats(&self, provider: &'static str) -> Result<(), Error> {
        match self.repeated {
            Some(parameter) => Err(Error::RepeatedParameter {
                provider,
                parameter,
            }),
            None => Ok(()),
        }
    }
}

/// A redirect to send the browser to. With the `axum` or `actix` feature it is a response:
/// `302 Found` with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    location: Url,
}

impl Redirect {
    pub(crate) fn new(location: Url) -> Self {
        Redirect { location }
    }

    /// Where the browser goes.
    pub fn location(&self) -> &Url {
        &self.location
    }

    /// Where the browser goes, by value.
    pub fn into_location(self) -> Url {
        self.location
    }
}

/// An authorization request being prepared: add per-call parameters, then
/// [`redirect`](Self::redirect) (stores the pending login in the session) or
/// [`url`](Self::url) (hands it to you).
#[must_use = "an authorization request does nothing until `redirect` or `url` is awaited"]
pub struct AuthorizeRequest<'a> {
    context: &'a Context,
    redirect_uri: String,
    params: Vec<(String, String)>,
}

impl AuthorizeRequest<'_> {
    /// Adds a parameter to this request only, e.g. `prompt`, `login_hint`, `ui_locales`.
    /// Parameters the flow sets itself (`state`, `redirect_uri`, `code_challenge`, ...) are
    /// refused when the request is made.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// The authorization URL and what the callback will need. For applications that keep the
    /// pending login themselves; finish with [`Client::exchange_code`](crate::Client::exchange_code).
    pub async fn url(self) -> Result<(Url, PendingLogin), Error> {
        let provider = self.context.name();
        let config = self.context.config()?;
        for (name, _) in &self.params {
            spec::check_param(Key::AuthorizeParams, name).map_err(|message| {
                Error::InvalidRequest {
                    provider,
                    message: message.replace("`authorize_params`", "an authorization request"),
                }
            })?;
        }
        let redirect = Url::parse(&self.redirect_uri).map_err(|e| Error::InvalidRequest {
            provider,
            message: format!("the redirect URI is not an absolute URL: {e}"),
        })?;
        let mut url = self.context.endpoint(Endpoint::Authorization).await?;
        let pending = PendingLogin {
            state: oauth2::CsrfToken::new_random().secret().clone(),
            redirect_uri: redirect.to_string(),
            code_verifier: None,
            nonce: config
                .is_openid()
                .then(|| oauth2::CsrfToken::new_random().secret().clone()),
            created_ms: self.context.now_ms(),
        };
        let mut pending = pending;
        let mut params: Vec<(String, String)> = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), config.client_id.clone()),
            ("redirect_uri".into(), pending.redirect_uri.clone()),
        ];
        if !config.scope.is_empty() {
            params.push(("scope".into(), config.scope.join(" ")));
        }
        params.push(("state".into(), pending.state.clone()));
        if config.code_challenge_method == PkceMethod::S256 {
            let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
            params.push(("code_challenge".into(), challenge.as_str().to_string()));
            params.push(("code_challenge_method".into(), "S256".into()));
            pending.code_verifier = Some(verifier.secret().clone());
        }
        if let Some(nonce) = &pending.nonce {
            params.push(("nonce".into(), nonce.clone()));
        }
        for (name, value) in Context::preset_authorize_params(config) {
            params.push((name.to_string(), value.to_string()));
        }
        for (name, value) in config.authorize_params.iter().chain(&self.params) {
            params.push((name.clone(), value.clone()));
        }
        let metadata = self.context.cached_metadata().await?;
        self.context.check_profile_metadata(config, &metadata)?;
        if self.context.pushes(config, &metadata) {
            // RFC 9126 §4: the redirect carries only the client and the pushed request.
            let request_uri = self
                .context
                .push_authorization_request(config, &params)
                .await?;
            params = vec![
                ("client_id".into(), config.client_id.clone()),
                ("request_uri".into(), request_uri),
            ];
        }
        url.query_pairs_mut().extend_pairs(&params);
        Ok((url, pending))
    }

    /// Stores the pending login in the session and returns the redirect to the provider.
    pub async fn redirect<S: Session>(self, session: &S) -> Result<Redirect, Error> {
        let context = self.context;
        let (url, pending) = self.url().await?;
        state::store(session, context.name(), &pending, context.state_policy()).await?;
        Ok(Redirect::new(url))
    }
}

impl Context {
    /// The work of [`Client::authorize`](crate::Client::authorize).
    pub(crate) fn authorize(&self, redirect_uri: impl Into<String>) -> AuthorizeRequest<'_> {
        AuthorizeRequest {
            context: self,
            redirect_uri: redirect_uri.into(),
            params: Vec::new(),
        }
    }

    /// The work of [`Client::authorize_redirect`](crate::Client::authorize_redirect).
    pub(crate) async fn authorize_redirect<S: Session>(
        &self,
        session: &S,
        redirect_uri: &str,
    ) -> Result<Redirect, Error> {
        self.authorize(redirect_uri).redirect(session).await
    }

    /// The work of [`Client::authorize_url`](crate::Client::authorize_url).
    pub(crate) async fn authorize_url(
        &self,
        redirect_uri: &str,
    ) -> Result<(Url, PendingLogin), Error> {
        self.authorize(redirect_uri).url().await
    }

    /// The work of [`Client::authorize_access_token`](crate::Client::authorize_access_token)(crate::Client::authorize_access_token).
    pub(crate) async fn authorize_access_token<S: Session>(
        &self,
        session: &S,
        callback: &Callback,
    ) -> Result<Token, Error> {
        let outcome = self.handle_callback(session, callback).await;
        match &outcome {
            Ok(_) => tracing::info!(provider = self.name(), "login completed"),
            Err(error) => tracing::info!(provider = self.name(), %error, "login refused"),
        }
        outcome
    }

    async fn handle_callback<S: Session>(
        &self,
        session: &S,
        callback: &Callback,
    ) -> Result<Token, Error> {
        let provider = self.name();
        self.config()?;
        // Which of two values is meant cannot be told: nothing in the callback is used, the
        // state included (it stays pending).
        callback.check_repeats(provider)?;
        let outcome = match &callback.state {
            None => Err(Error::MissingState { provider }),
            Some(state) => {
                state::consume(session, provider, state, self.now_ms(), self.state_policy()).await
            }
        };
        // RFC 9207 before anything else in the callback is believed, the error included.
        self.check_callback_issuer(callback).await?;
        // An error redirect ends the login too, but the provider's answer is what the user
        // needs to see, whatever the state.
        if let Some(error) = authorization_error(provider, callback) {
            return Err(error);
        }
        let pending = outcome?;
        let token = self.redeem(&pending, callback).await?;
        if let Some(id_token) = &token.id_token {
            // Kept for RP-initiated logout's `id_token_hint` (Authlib leaves this to the app).
            session
                .insert(&state::id_token_key(provider), id_token.clone().into())
                .await?;
        }
        Ok(token)
    }

    /// The work of [`Client::exchange_code`](crate::Client::exchange_code)(crate::Client::exchange_code).
    pub(crate) async fn exchange_code(
        &self,
        pending: &PendingLogin,
        callback: &Callback,
    ) -> Result<Token, Error> {
        let provider = self.name();
        callback.check_repeats(provider)?;
        self.check_callback_issuer(callback).await?;
        if let Some(error) = authorization_error(provider, callback) {
            return Err(error);
        }
        match &callback.state {
            None => return Err(Error::MissingState { provider }),
            Some(state) if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) => {
                return Err(Error::UnknownState { provider })
            }
            Some(_) => {}
        }
        let age = self.now_ms().saturating_sub(pending.created_ms);
        if age > self.state_policy().ttl.as_millis() as u64 {
            return Err(Error::ExpiredState { provider });
        }
        self.redeem(pending, callback).await
    }

    /// RFC 9207: the callback's `iss` must be the expected issuer; it must be there when the
    /// provider says it always sends it. Either failure means the response may come from
    /// another provider (a mix-up attack), so nothing in it is used.
    async fn check_callback_issuer(&self, callback: &Callback) -> Result<(), Error> {
        let provider = self.name();
        let metadata = self.cached_metadata().await?;
        let expected = self.expected_issuer();
        match (&callback.iss, expected) {
            (Some(found), Some(expected)) if !self.callback_issuer_accepted(found, expected) => {
                Err(Error::IssuerMismatch {
                    provider,
                    expected: expected.to_string(),
                    found: found.clone(),
                    source_of: "callback",
                })
            }
            // FAPI 2.0 requires RFC 9207 of the provider, so always.
            (None, _)
                if metadata.authorization_response_iss_parameter_supported
                    || self.config()?.is_fapi2() =>
            {
                Err(Error::MissingIssuer { provider })
            }
            _ => Ok(()),
        }
    }

    /// The code exchange proper, once the state checked out; for OpenID Connect providers,
    /// with the ID token validated and the user's claims in `token.userinfo`.
    async fn redeem(&self, pending: &PendingLogin, callback: &Callback) -> Result<Token, Error> {
        let provider = self.name();
        let config = self.config()?;
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(Error::MissingCode { provider })?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", pending.redirect_uri.clone()),
        ];
        if let Some(verifier) = &pending.code_verifier {
            form.push(("code_verifier", verifier.clone()));
        }
        let extra: Vec<(&str, String)> = config
            .access_token_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        form.extend(extra);
        let mut token = self.token_request(config, false, form).await?;
        if config.is_openid() {
            // The nonce was made with the pending login; a pending login without one (from an
            // older declaration, or tampered) must not skip the check: "missing" is not "skip".
            let nonce = pending.nonce.as_deref().ok_or(Error::IdToken {
                provider,
                reason: crate::error::IdTokenError::MissingNonce,
            })?;
            self.complete_oidc_login(&mut token, nonce).await?;
            self.check_callback_issuer_is_the_tokens(callback.iss.as_deref(), &token)?;
            self.check_hosted_domain(&token)?;
        }
        token.profile = self.load_profile(&token, callback.user.as_deref()).await?;
        Ok(token)
    }
}

/// `?error=` in the callback, as a typed error.
fn authorization_error(provider: &'static str, callback: &Callback) -> Option<Error> {
    if let Some(expired) = crate::par::callback_error(
        provider,
        callback.error.as_deref(),
        callback.error_description.as_ref(),
    ) {
        return Some(expired);
    }
    callback.error.as_ref().map(|error| Error::Authorization {
        provider,
        error: error.clone(),
        description: callback.error_description.clone(),
        uri: callback.error_uri.clone(),
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
