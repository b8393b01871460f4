//! Errors. Each names the provider it concerns; none ever contains a secret or a token.
//!
//! [`Error`] is one enum with a variant per failure. Applications match on its stable
//! [`ErrorKind`] (a `Copy` name with a fixed snake_case spelling, for logs and metrics) or ask
//! the predicates (`is_timeout()`, `needs_login()`, ...), never on the text, which may change.

use std::fmt;

/// Where a configuration problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The `oauth_clients!` declaration (combined with settings, for checks across keys).
    Declaration,
    /// Runtime [`Settings`](crate::Settings).
    Settings,
    /// The environment (credentials).
    Environment,
    /// The registry itself (e.g. installed twice).
    Registry,
}

/// One configuration problem.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The provider concerned, as named in the declaration or the settings.
    pub provider: String,
    /// The key concerned, if one.
    pub key: Option<String>,
    /// Where the problem was found.
    pub origin: Origin,
    /// What is wrong, and what would be valid.
    pub message: String,
    /// Whether the problem is a value to read from the environment that is not set (see
    /// [`is_unset`](Self::is_unset)).
    pub unset: bool,
}

impl Problem {
    pub(crate) fn new(
        provider: impl Into<String>,
        key: Option<String>,
        origin: Origin,
        message: String,
    ) -> Self {
        Problem {
            provider: provider.into(),
            key,
            origin,
            message,
            unset: false,
        }
    }

    /// A value to be read from the environment is not set: a credential, or a URL declared
    /// `env("VAR")`. This is what [`allow_unconfigured`](crate::RegistryBuilder::allow_unconfigured)
    /// tolerates, by marking the provider unavailable; a value that is set but invalid is
    /// never tolerated.
    pub fn is_unset(&self) -> bool {
        self.unset
    }

    /// A credential (`client_id` or `client_secret`) that is not set.
    pub fn is_missing_credential(&self) -> bool {
        self.unset && matches!(self.key.as_deref(), Some("client_id" | "client_secret"))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::Declaration => "declaration",
            Origin::Settings => "settings",
            Origin::Environment => "environment",
            Origin::Registry => "registry",
        };
        match &self.key {
            Some(key) => write!(f, "{}.{key} ({origin}): {}", self.provider, self.message),
            None => write!(f, "{} ({origin}): {}", self.provider, self.message),
        }
    }
}

/// Every problem found while building a registry, reported at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem found, never empty.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid OAuth client configuration: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// An error from a client operation. Every variant names the provider; none carries a secret,
/// a code or a token value. Cheap to clone, so one failed refresh can be handed to every caller
/// that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider cannot be used: its configuration has problems (e.g. no client id set).
    #[error("provider `{provider}` is not configured: {}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    NotConfigured {
        /// The provider's name.
        provider: &'static str,
        /// Why it cannot be used.
        problems: Vec<Problem>,
    },
    /// The provider has no such endpoint, declared or discovered.
    #[error("provider `{provider}` has no {endpoint}")]
    MissingEndpoint {
        /// The provider's name.
        provider: &'static str,
        /// The endpoint that is missing.
        endpoint: Endpoint,
    },
    /// A per-call parameter that the flow owns, or that is malformed.
    #[error("provider `{provider}`: {message}")]
    InvalidRequest {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong with the request.
        message: String,
    },
    /// The session store failed.
    #[error("session error: {0}")]
    Session(#[from] SessionError),
    /// The provider redirected back with `?error=` (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    #[error("provider `{provider}` refused the authorization: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Authorization {
        /// The provider's name.
        provider: &'static str,
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// The provider's `error_description`, if it sent one.
        description: Option<String>,
        /// The provider's `error_uri`, if it sent one.
        uri: Option<String>,
    },
    /// The callback has no `state`: it was not started by this application.
    #[error("the callback from provider `{provider}` has no `state` parameter")]
    MissingState {
        /// The provider's name.
        provider: &'static str,
    },
    /// The callback's `state` was never issued to this session (login CSRF, or a lost session).
    #[error("the callback's `state` is unknown to this session for provider `{provider}`; start the login again")]
    UnknownState {
        /// The provider's name.
        provider: &'static str,
    },
    /// The login took longer than the pending-login lifetime (see
    /// [`RegistryBuilder::login_timeout`](crate::RegistryBuilder::login_timeout)).
    #[error("the login with provider `{provider}` expired; start it again")]
    ExpiredState {
        /// The provider's name.
        provider: &'static str,
    },
    /// The callback was already handled once (a replay, or a double submit).
    #[error("the callback's `state` for provider `{provider}` was already used")]
    ReplayedState {
        /// The provider's name.
        provider: &'static str,
    },
    /// A parameter of the callback (`code`, `state`, `iss`, `error`, ...) came more than once,
    /// which RFC 6749 §3.1 forbids: which value is meant cannot be told, so nothing in the
    /// callback is used (its state stays pending, its code is not redeemed); the parameter.
    #[error(
        "the callback from provider `{provider}` has the `{parameter}` parameter more than once"
    )]
    RepeatedParameter {
        /// The provider's name.
        provider: &'static str,
        /// The parameter that came more than once.
        parameter: &'static str,
    },
    /// The callback has neither `code` nor `error`.
    #[error("the callback from provider `{provider}` has no `code` parameter")]
    MissingCode {
        /// The provider's name.
        provider: &'static str,
    },
    /// The token endpoint answered with an OAuth error (RFC 6749 §5.2), e.g. `invalid_grant`.
    #[error("the token endpoint of provider `{provider}` answered `{error}`{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenEndpoint {
        /// The provider's name.
        provider: &'static str,
        /// The OAuth error code, e.g. `invalid_grant`.
        error: String,
        /// The provider's `error_description`, if it sent one.
        description: Option<String>,
        /// The HTTP status of the answer.
        status: u16,
    },
    /// An endpoint other than the token endpoint that authenticates the client (revocation,
    /// RFC 7009 §2.2.1) answered with an OAuth error object, e.g. `unsupported_token_type`.
    #[error("the {endpoint} of provider `{provider}` answered `{error}`{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    EndpointError {
        /// The provider's name.
        provider: &'static str,
        /// The endpoint that answered.
        endpoint: Endpoint,
        /// The OAuth error code.
        error: String,
        /// The provider's `error_description`, if it sent one.
        description: Option<String>,
        /// The HTTP status of the answer.
        status: u16,
    },
    /// The token endpoint's answer is not a usable token response.
    #[error("provider `{provider}` sent an invalid token response: {reason}")]
    InvalidTokenResponse {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong with the answer.
        reason: String,
    },
    /// The token is not a bearer token (RFC 6750), the only type this library can use.
    #[error("provider `{provider}` issued a token of unsupported type `{token_type}`")]
    UnsupportedTokenType {
        /// The provider's name.
        provider: &'static str,
        /// The `token_type` the provider sent.
        token_type: String,
    },
    /// A request to the provider failed: connection, timeout, redirect, size or status.
    #[error("request to the {endpoint} of provider `{provider}` failed: {kind}")]
    Http {
        /// The provider's name.
        provider: &'static str,
        /// The endpoint the request went to.
        endpoint: Endpoint,
        /// What went wrong.
        kind: HttpErrorKind,
    },
    /// The access token expired and there is no refresh token: the user must log in again.
    #[error(
        "the access token for provider `{provider}` expired and cannot be refreshed; log in again"
    )]
    TokenExpired {
        /// The provider's name.
        provider: &'static str,
    },
    /// The provider's metadata (discovery document or JWKS) is unusable.
    #[error("provider `{provider}` published invalid metadata: {reason}")]
    InvalidMetadata {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An issuer is not the expected one: in the discovery document (OpenID Connect Discovery
    /// §4.3), or in the callback's `iss` (RFC 9207, a mix-up attack). The code is not redeemed.
    #[error(
        "the issuer in the {source_of} of provider `{provider}` is `{found}`, not `{expected}`"
    )]
    IssuerMismatch {
        /// The provider's name.
        provider: &'static str,
        /// The issuer declared, or derived from `server_metadata_url`.
        expected: String,
        /// The issuer found.
        found: String,
        /// Where the wrong issuer was found: `"discovery document"` or `"callback"`.
        source_of: &'static str,
    },
    /// The provider says it sends `iss` in authorization responses (RFC 9207), but this one has
    /// none. The code is not redeemed.
    #[error(
        "the callback from provider `{provider}` has no `iss`, which the provider always sends"
    )]
    MissingIssuer {
        /// The provider's name.
        provider: &'static str,
    },
    /// The ID token failed validation.
    #[error("provider `{provider}`: {reason}")]
    IdToken {
        /// The provider's name.
        provider: &'static str,
        /// Why the ID token was refused.
        reason: IdTokenError,
    },
    /// The userinfo endpoint answered for another user than the ID token's.
    #[error("the userinfo of provider `{provider}` is for another subject than the ID token")]
    UserinfoSubjectMismatch {
        /// The provider's name.
        provider: &'static str,
    },
    /// The userinfo endpoint's answer is unusable.
    #[error("provider `{provider}` sent invalid userinfo: {reason}")]
    InvalidUserinfo {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A token-update hook failed. The new token is here, so it is not lost: the old refresh
    /// token may already be spent.
    #[error("a token-update hook for provider `{provider}` failed: {message}")]
    TokenUpdateHook {
        /// The provider's name.
        provider: &'static str,
        /// The hook's error, as text.
        message: String,
        /// The new token: store it, as the refresh token it replaced may be spent.
        token: Box<crate::Token>,
    },
    /// An OAuth 1.0a callback has no `oauth_token`: it was not started by this application.
    #[error("the callback from provider `{provider}` has no `oauth_token` parameter")]
    MissingRequestToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// An OAuth 1.0a callback's `oauth_token` was never issued to this session (a forged callback, another user's, or a lost session).
    #[error("the callback's `oauth_token` is unknown to this session for provider `{provider}`; start the login again")]
    UnknownRequestToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// An OAuth 1.0a login took longer than the pending-login lifetime.
    #[error("the login with provider `{provider}` expired; start it again")]
    ExpiredRequestToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// An OAuth 1.0a callback was already handled once (a replay, or a double submit).
    #[error("the callback's `oauth_token` for provider `{provider}` was already used")]
    ReplayedRequestToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// An OAuth 1.0a callback has no `oauth_verifier` (RFC 5849 §2.2), which the access-token request must send.
    #[error("the callback from provider `{provider}` has no `oauth_verifier` parameter")]
    MissingVerifier {
        /// The provider's name.
        provider: &'static str,
    },
    /// An OAuth 1.0a provider's request-token answer lacks `oauth_callback_confirmed=true` (RFC 5849 §2.1): it is not an OAuth 1.0a provider, or an old one open to session fixation, so the login is not started.
    #[error("provider `{provider}` did not confirm the callback (`oauth_callback_confirmed=true` is missing)")]
    CallbackNotConfirmed {
        /// The provider's name.
        provider: &'static str,
    },
    /// The token store has no token of this user at this provider: they must log in (again).
    #[error("the token store has no token for this user at provider `{provider}`; log in first")]
    NoStoredToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// The provider refused this user's refresh token (`invalid_grant`), seen by this or another process: the stored token is marked, no process spends it again, and the user must log in again.
    #[error("provider `{provider}` refused the stored refresh token; the user must log in again")]
    LoginRequired {
        /// The provider's name.
        provider: &'static str,
    },
    /// A stored token failed authentication: changed in the store, copied from another user's or provider's record, or not written by this library. It is never used, and never silently replaced.
    #[error("the stored token for provider `{provider}` failed authentication (changed, or copied from another record); it is not used")]
    TamperedToken {
        /// The provider's name.
        provider: &'static str,
    },
    /// The token store failed: unreachable, refused the query, a record sealed with a key that
    /// is not configured, or another process's refresh not finished within the wait.
    #[error("the token store failed for provider `{provider}`: {reason}")]
    TokenStore {
        /// The provider's name.
        provider: &'static str,
        /// What went wrong (never a token or a key).
        reason: String,
    },
    /// An OAuth 1.0a endpoint (request token, access token) refused the request: its HTTP
    /// status and, when the provider reports it (the OAuth Problem Reporting extension), its
    /// `oauth_problem`, e.g. `signature_invalid` or `token_rejected`.
    #[error("the {endpoint} of provider `{provider}` refused the request with HTTP status {status}{}", problem.as_deref().map(|p| format!(" (`{p}`)")).unwrap_or_default())]
    OAuth1Endpoint {
        /// The provider's name.
        provider: &'static str,
        /// The endpoint that refused.
        endpoint: Endpoint,
        /// The HTTP status of the answer.
        status: u16,
        /// The `oauth_problem` the provider reported, if any.
        problem: Option<String>,
    },
}

impl Error {
    /// The HTTP status that fits an error page for this error: 400 for a bad or stale
    /// callback, 401 when the user refused or must log in again, 502 when the provider failed,
    /// 500 for configuration and session problems.
    pub fn status(&self) -> u16 {
        match self {
            Error::MissingState { .. }
            | Error::UnknownState { .. }
            | Error::ExpiredState { .. }
            | Error::ReplayedState { .. }
            | Error::MissingCode { .. }
            | Error::RepeatedParameter { .. }
            | Error::InvalidRequest { .. }
            | Error::IssuerMismatch { .. }
            | Error::MissingIssuer { .. }
            | Error::MissingRequestToken { .. }
            | Error::UnknownRequestToken { .. }
            | Error::ExpiredRequestToken { .. }
            | Error::ReplayedRequestToken { .. }
            | Error::MissingVerifier { .. } => 400,
            Error::Authorization { .. }
            | Error::TokenExpired { .. }
            | Error::NoStoredToken { .. }
            | Error::LoginRequired { .. } => 401,
            Error::TokenEndpoint { .. }
            | Error::EndpointError { .. }
            | Error::InvalidTokenResponse { .. }
            | Error::UnsupportedTokenType { .. }
            | Error::Http { .. }
            | Error::InvalidMetadata { .. }
            | Error::IdToken { .. }
            | Error::UserinfoSubjectMismatch { .. }
            | Error::InvalidUserinfo { .. }
            | Error::CallbackNotConfirmed { .. }
            | Error::OAuth1Endpoint { .. } => 502,
            Error::NotConfigured { .. }
            | Error::MissingEndpoint { .. }
            | Error::Session(_)
            | Error::TokenUpdateHook { .. }
            | Error::TamperedToken { .. }
            | Error::TokenStore { .. } => 500,
        }
    }
}

impl Error {
    /// What kind of error this is: stable, `Copy`, and cheap to match, count or log (its
    /// [`as_str`](ErrorKind::as_str) name never changes).
    ///
    /// ```
    /// use oauth_clients::{Error, ErrorKind};
    ///
    /// fn log_failure(error: &Error) {
    ///     // e.g. `login failed kind=unknown_state provider=github`
    ///     eprintln!(
    ///         "login failed kind={} provider={}",
    ///         error.kind(),
    ///         error.provider().unwrap_or("-"),
    ///     );
    ///     if error.kind() == ErrorKind::UnknownState {
    ///         // A stale or forged callback: offer to start the login again.
    ///     }
    /// }
    /// # log_failure(&Error::UnknownState { provider: "github" });
    /// ```
    pub fn kind(&self) -> ErrorKind {
        // Exhaustive on purpose: a new variant must be given its kind here.
        match self {
            Error::NotConfigured { .. } => ErrorKind::NotConfigured,
            Error::MissingEndpoint { .. } => ErrorKind::MissingEndpoint,
            Error::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            Error::Session(_) => ErrorKind::Session,
            Error::Authorization { .. } => ErrorKind::Authorization,
            Error::MissingState { .. } => ErrorKind::MissingState,
            Error::UnknownState { .. } => ErrorKind::UnknownState,
            Error::ExpiredState { .. } => ErrorKind::ExpiredState,
            Error::ReplayedState { .. } => ErrorKind::ReplayedState,
            Error::MissingCode { .. } => ErrorKind::MissingCode,
            Error::RepeatedParameter { .. } => ErrorKind::RepeatedParameter,
            Error::TokenEndpoint { .. } => ErrorKind::TokenEndpoint,
            Error::EndpointError { .. } => ErrorKind::EndpointError,
            Error::InvalidTokenResponse { .. } => ErrorKind::InvalidTokenResponse,
            Error::UnsupportedTokenType { .. } => ErrorKind::UnsupportedTokenType,
            Error::Http { .. } => ErrorKind::Http,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::InvalidMetadata { .. } => ErrorKind::InvalidMetadata,
            Error::IssuerMismatch { .. } => ErrorKind::IssuerMismatch,
            Error::MissingIssuer { .. } => ErrorKind::MissingIssuer,
            Error::IdToken { .. } => ErrorKind::IdToken,
            Error::UserinfoSubjectMismatch { .. } => ErrorKind::UserinfoSubjectMismatch,
            Error::InvalidUserinfo { .. } => ErrorKind::InvalidUserinfo,
            Error::TokenUpdateHook { .. } => ErrorKind::TokenUpdateHook,
            Error::MissingRequestToken { .. } => ErrorKind::MissingRequestToken,
            Error::UnknownRequestToken { .. } => ErrorKind::UnknownRequestToken,
            Error::ExpiredRequestToken { .. } => ErrorKind::ExpiredRequestToken,
            Error::ReplayedRequestToken { .. } => ErrorKind::ReplayedRequestToken,
            Error::MissingVerifier { .. } => ErrorKind::MissingVerifier,
            Error::CallbackNotConfirmed { .. } => ErrorKind::CallbackNotConfirmed,
            Error::OAuth1Endpoint { .. } => ErrorKind::OAuth1Endpoint,
            Error::NoStoredToken { .. } => ErrorKind::NoStoredToken,
            Error::LoginRequired { .. } => ErrorKind::LoginRequired,
            Error::TamperedToken { .. } => ErrorKind::TamperedToken,
            Error::TokenStore { .. } => ErrorKind::TokenStore,
        }
    }

    /// The provider the error concerns; `None` only for a failure of the session store,
    /// which belongs to no provider.
    pub fn provider(&self) -> Option<&'static str> {
        match self {
            Error::Session(_) => None,
            Error::NotConfigured { provider, .. }
            | Error::MissingEndpoint { provider, .. }
            | Error::InvalidRequest { provider, .. }
            | Error::Authorization { provider, .. }
            | Error::MissingState { provider }
            | Error::UnknownState { provider }
            | Error::ExpiredState { provider }
            | Error::ReplayedState { provider }
            | Error::MissingCode { provider }
            | Error::RepeatedParameter { provider, .. }
            | Error::TokenEndpoint { provider, .. }
            | Error::EndpointError { provider, .. }
            | Error::InvalidTokenResponse { provider, .. }
            | Error::UnsupportedTokenType { provider, .. }
            | Error::Http { provider, .. }
            | Error::TokenExpired { provider }
            | Error::InvalidMetadata { provider, .. }
            | Error::IssuerMismatch { provider, .. }
            | Error::MissingIssuer { provider }
            | Error::IdToken { provider, .. }
            | Error::UserinfoSubjectMismatch { provider }
            | Error::InvalidUserinfo { provider, .. }
            | Error::TokenUpdateHook { provider, .. }
            | Error::MissingRequestToken { provider }
            | Error::UnknownRequestToken { provider }
            | Error::ExpiredRequestToken { provider }
            | Error::ReplayedRequestToken { provider }
            | Error::MissingVerifier { provider }
            | Error::CallbackNotConfirmed { provider }
            | Error::OAuth1Endpoint { provider, .. }
            | Error::NoStoredToken { provider }
            | Error::LoginRequired { provider }
            | Error::TamperedToken { provider }
            | Error::TokenStore { provider, .. } => Some(provider),
        }
    }

    /// The endpoint a failed request went to, for [`Error::Http`] and [`Error::MissingEndpoint`]
    /// ([`Endpoint::Token`] for [`Error::TokenEndpoint`]).
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Error::Http { endpoint, .. }
            | Error::MissingEndpoint { endpoint, .. }
            | Error::EndpointError { endpoint, .. }
            | Error::OAuth1Endpoint { endpoint, .. } => Some(*endpoint),
            Error::TokenEndpoint { .. } => Some(Endpoint::Token),
            _ => None,
        }
    }

    /// The HTTP status the provider answered with, when that is the failure: an unsuccessful
    /// status ([`HttpErrorKind::Status`]), a redirect that was not followed, or a token
    /// endpoint error. Not to be confused with [`status`](Self::status), the status for this
    /// application's own error page.
    pub fn provider_status(&self) -> Option<u16> {
        match self {
            Error::Http {
                kind: HttpErrorKind::Status { status } | HttpErrorKind::Redirect { status },
                ..
            }
            | Error::TokenEndpoint { status, .. }
            | Error::EndpointError { status, .. }
            | Error::OAuth1Endpoint { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a request to the provider took longer than its `timeout`.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Http {
                kind: HttpErrorKind::Timeout(_),
                ..
            }
        )
    }

    /// Whether no connection to the provider could be made.
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Error::Http {
                kind: HttpErrorKind::Connect(_),
                ..
            }
        )
    }

    /// Whether the provider answered a request with a redirect, which is never followed.
    pub fn is_redirect(&self) -> bool {
        matches!(
            self,
            Error::Http {
                kind: HttpErrorKind::Redirect { .. },
                ..
            }
        )
    }

    /// Whether the callback itself was refused before any code was redeemed: missing,
    /// unknown, expired or replayed `state`, no `code`, or a wrong or missing `iss`. The usual
    /// answer is to start the login again.
    pub fn is_callback(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::MissingState
                | ErrorKind::UnknownState
                | ErrorKind::ExpiredState
                | ErrorKind::ReplayedState
                | ErrorKind::MissingCode
                | ErrorKind::RepeatedParameter
                | ErrorKind::MissingIssuer
                | ErrorKind::MissingRequestToken
                | ErrorKind::UnknownRequestToken
                | ErrorKind::ExpiredRequestToken
                | ErrorKind::ReplayedRequestToken
                | ErrorKind::MissingVerifier
        ) || matches!(self, Error::IssuerMismatch { source_of, .. } if *source_of == "callback")
    }

    /// Whether the user must log in again to get a usable token: the access token expired
    /// with no refresh token, or the provider refused the grant (`invalid_grant`: a spent,
    /// revoked or expired refresh token or code).
    pub fn needs_login(&self) -> bool {
        match self {
            Error::TokenExpired { .. }
            | Error::NoStoredToken { .. }
            | Error::LoginRequired { .. } => true,
            Error::TokenEndpoint { error, .. } => error == "invalid_grant",
            _ => false,
        }
    }
}

/// The kind of an [`Error`], from [`Error::kind`]: one per variant, `Copy`, with a stable
/// snake_case name ([`as_str`](Self::as_str), also its `Display`) for logs and metrics. Kinds
/// are added as the library grows, never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::NotConfigured`]: `not_configured`.
    NotConfigured,
    /// [`Error::MissingEndpoint`]: `missing_endpoint`.
    MissingEndpoint,
    /// [`Error::InvalidRequest`]: `invalid_request`.
    InvalidRequest,
    /// [`Error::Session`]: `session`.
    Session,
    /// [`Error::Authorization`]: `authorization`.
    Authorization,
    /// [`Error::MissingState`]: `missing_state`.
    MissingState,
    /// [`Error::UnknownState`]: `unknown_state`.
    UnknownState,
    /// [`Error::ExpiredState`]: `expired_state`.
    ExpiredState,
    /// [`Error::ReplayedState`]: `replayed_state`.
    ReplayedState,
    /// [`Error::MissingCode`]: `missing_code`.
    MissingCode,
    /// [`Error::RepeatedParameter`]: `repeated_parameter`.
    RepeatedParameter,
    /// [`Error::TokenEndpoint`]: `token_endpoint`.
    TokenEndpoint,
    /// [`Error::EndpointError`]: `endpoint_error`.
    EndpointError,
    /// [`Error::InvalidTokenResponse`]: `invalid_token_response`.
    InvalidTokenResponse,
    /// [`Error::UnsupportedTokenType`]: `unsupported_token_type`.
    UnsupportedTokenType,
    /// [`Error::Http`]: `http`.
    Http,
    /// [`Error::TokenExpired`]: `token_expired`.
    TokenExpired,
    /// [`Error::InvalidMetadata`]: `invalid_metadata`.
    InvalidMetadata,
    /// [`Error::IssuerMismatch`]: `issuer_mismatch`.
    IssuerMismatch,
    /// [`Error::MissingIssuer`]: `missing_issuer`.
    MissingIssuer,
    /// [`Error::IdToken`]: `id_token`.
    IdToken,
    /// [`Error::UserinfoSubjectMismatch`]: `userinfo_subject_mismatch`.
    UserinfoSubjectMismatch,
    /// [`Error::InvalidUserinfo`]: `invalid_userinfo`.
    InvalidUserinfo,
    /// [`Error::TokenUpdateHook`]: `token_update_hook`.
    TokenUpdateHook,
    /// [`Error::MissingRequestToken`]: `missing_request_token`.
    MissingRequestToken,
    /// [`Error::UnknownRequestToken`]: `unknown_request_token`.
    UnknownRequestToken,
    /// [`Error::ExpiredRequestToken`]: `expired_request_token`.
    ExpiredRequestToken,
    /// [`Error::ReplayedRequestToken`]: `replayed_request_token`.
    ReplayedRequestToken,
    /// [`Error::MissingVerifier`]: `missing_verifier`.
    MissingVerifier,
    /// [`Error::CallbackNotConfirmed`]: `callback_not_confirmed`.
    CallbackNotConfirmed,
    /// [`Error::OAuth1Endpoint`]: `oauth1_endpoint`.
    OAuth1Endpoint,
    /// [`Error::NoStoredToken`]: `no_stored_token`.
    NoStoredToken,
    /// [`Error::LoginRequired`]: `login_required`.
    LoginRequired,
    /// [`Error::TamperedToken`]: `tampered_token`.
    TamperedToken,
    /// [`Error::TokenStore`]: `token_store`.
    TokenStore,
}

impl ErrorKind {
    /// The kind's stable snake_case name, e.g. `"unknown_state"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotConfigured => "not_configured",
            ErrorKind::MissingEndpoint => "missing_endpoint",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Session => "session",
            ErrorKind::Authorization => "authorization",
            ErrorKind::MissingState => "missing_state",
            ErrorKind::UnknownState => "unknown_state",
            ErrorKind::ExpiredState => "expired_state",
            ErrorKind::ReplayedState => "replayed_state",
            ErrorKind::MissingCode => "missing_code",
            ErrorKind::RepeatedParameter => "repeated_parameter",
            ErrorKind::TokenEndpoint => "token_endpoint",
            ErrorKind::EndpointError => "endpoint_error",
            ErrorKind::InvalidTokenResponse => "invalid_token_response",
            ErrorKind::UnsupportedTokenType => "unsupported_token_type",
            ErrorKind::Http => "http",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::InvalidMetadata => "invalid_metadata",
            ErrorKind::IssuerMismatch => "issuer_mismatch",
            ErrorKind::MissingIssuer => "missing_issuer",
            ErrorKind::IdToken => "id_token",
            ErrorKind::UserinfoSubjectMismatch => "userinfo_subject_mismatch",
            ErrorKind::InvalidUserinfo => "invalid_userinfo",
            ErrorKind::TokenUpdateHook => "token_update_hook",
            ErrorKind::MissingRequestToken => "missing_request_token",
            ErrorKind::UnknownRequestToken => "unknown_request_token",
            ErrorKind::ExpiredRequestToken => "expired_request_token",
            ErrorKind::ReplayedRequestToken => "replayed_request_token",
            ErrorKind::MissingVerifier => "missing_verifier",
            ErrorKind::CallbackNotConfirmed => "callback_not_confirmed",
            ErrorKind::OAuth1Endpoint => "oauth1_endpoint",
            ErrorKind::NoStoredToken => "no_stored_token",
            ErrorKind::LoginRequired => "login_required",
            ErrorKind::TamperedToken => "tampered_token",
            ErrorKind::TokenStore => "token_store",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider endpoint, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// The authorization endpoint (`authorize_url`).
    Authorization,
    /// The token endpoint (`access_token_url`), or `refresh_token_url` for a refresh.
    Token,
    /// The provider's API (`api_base_url`, or an absolute URL).
    Api,
    /// The userinfo endpoint (`userinfo_endpoint`).
    Userinfo,
    /// The discovery document (`server_metadata_url`).
    Discovery,
    /// Where the ID-token signing keys are published (`jwks_uri`).
    Jwks,
    /// The RP-initiated logout endpoint (`end_session_endpoint`).
    EndSession,
    /// The token revocation endpoint (RFC 7009, `revocation_endpoint`).
    Revocation,
    /// OAuth 1.0a's temporary-credential endpoint (`request_token_url`).
    RequestToken,
    /// OAuth 1.0a's token-credential endpoint (`access_token_url`).
    AccessToken,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Authorization => "authorization endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Api => "API",
            Endpoint::Userinfo => "userinfo endpoint",
            Endpoint::Discovery => "discovery document",
            Endpoint::Jwks => "JWKS endpoint",
            Endpoint::EndSession => "end-session endpoint",
            Endpoint::Revocation => "revocation endpoint",
            Endpoint::RequestToken => "request-token endpoint",
            Endpoint::AccessToken => "access-token endpoint",
        })
    }
}

/// What went wrong with an HTTP request to a provider.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// No connection could be made; the text says why.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The whole exchange took longer than the provider's `timeout`, given here.
    #[error("no complete answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Redirects are never followed: they could send credentials elsewhere (SSRF).
    #[error("answered with a redirect ({status}), which is not followed")]
    Redirect {
        /// The 3xx status of the answer.
        status: u16,
    },
    /// The answer's body is over the size cap.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer's status is not a success.
    #[error("answered with HTTP status {status}")]
    Status {
        /// The HTTP status of the answer.
        status: u16,
    },
    /// Any other failure, described.
    #[error("{0}")]
    Other(String),
}

/// A failure of the session store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SessionError {
    /// What the session store reported.
    pub message: String,
}

impl SessionError {
    /// An error whose message is `message`'s text.
    pub fn new(message: impl fmt::Display) -> Self {
        SessionError {
            message: message.to_string(),
        }
    }
}

/// The largest ID token accepted, in bytes: real ones are a few KiB (CVE-2025-61920 was a
/// denial of service through oversized JOSE segments).
pub(crate) const MAX_ID_TOKEN: usize = 64 * 1024;

/// Why an ID token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Larger than 64 KiB.
    #[error("the ID token is larger than {} bytes", MAX_ID_TOKEN)]
    TooLarge,
    /// Not a compact JWS of JSON objects, or a claim has the wrong type; the text says what.
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    /// `alg` is `none` or missing, or the signature is empty; the `alg` found.
    #[error("the ID token is not signed (`alg: {0}`)")]
    Unsigned(String),
    /// Signed with an algorithm the provider's metadata does not allow (RS256 when it says
    /// nothing; HMAC only for a confidential client); the algorithm found.
    #[error("the ID token's algorithm `{0}` is not allowed")]
    DisallowedAlg(String),
    /// The header's `typ` is neither `JWT` nor `JOSE` (e.g. `at+jwt`, an access token), or it
    /// has `cty` (a nested token); the header parameter and its value.
    #[error("the ID token is not a plain JWT (`{0}`)")]
    UnexpectedType(String),
    /// The header has `crit`: extensions this library does not understand; its value.
    #[error("the ID token has critical header parameters that are not understood: {0}")]
    UnsupportedCritical(String),
    /// Signed with a key the provider does not publish (an unknown key triggers one refetch
    /// of its keys, at most once a minute); the key id (`kid`), or `(none)`.
    #[error("the ID token's signing key `{0}` is not among the provider's keys")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("the ID token's signature is invalid")]
    BadSignature,
    /// A required claim (`iss`, `sub`, `aud`, `exp` or `iat`) is missing; its name.
    #[error("the ID token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("the ID token's issuer `{found}` is not `{expected}`")]
    WrongIssuer {
        /// The issuer declared, or derived from `server_metadata_url`.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not include this client's id.
    #[error("the ID token's audience does not include this client")]
    WrongAudience,
    /// Several audiences, and no `azp` claim to say which one the token is for.
    #[error("the ID token has several audiences but no `azp` claim")]
    MissingAuthorizedParty,
    /// `azp` is not this client's id.
    #[error("the ID token's `azp` is not this client")]
    WrongAuthorizedParty,
    /// `exp` is past by more than the provider's `leeway`.
    #[error("the ID token expired")]
    Expired,
    /// `iat` is ahead of now by more than the provider's `leeway`.
    #[error("the ID token was issued in the future (`iat` beyond the leeway)")]
    IssuedInFuture,
    /// `nbf` (RFC 7519 §4.1.5) is ahead of now by more than the provider's `leeway`: the
    /// token must not be accepted yet.
    #[error("the ID token is not valid yet (`nbf` beyond the leeway)")]
    NotYetValid,
    /// The token has no `nonce`, but the login sent one.
    #[error("the ID token has no `nonce`, but one was sent")]
    MissingNonce,
    /// The `nonce` is not the one of this login (after a refresh: not the original one).
    #[error("the ID token's `nonce` is not the one sent for this login")]
    WrongNonce,
    /// `at_hash` does not match the access token issued with the ID token.
    #[error("the ID token's `at_hash` does not match the access token")]
    AtHashMismatch,
    /// There is no ID token: the token response had none, or the stored token lacks it.
    #[error("the token response has no `id_token`")]
    Missing,
    /// A refreshed ID token's `iss`, `sub` or `aud` differs from the original's; the claim.
    #[error("the refreshed ID token's `{0}` differs from the original's")]
    RefreshChanged(&'static str),
    /// The user's tenant (`tid`) is not on the provider's `allowed_tenants`; the tenant.
    #[error("the ID token's tenant `{0}` is not allowed to sign in")]
    TenantNotAllowed(String),
    /// The `hd` claim is not the `hosted_domain` the provider is restricted to.
    #[error("the ID token's hosted domain (`hd`) is {} instead of `{expected}`", found.as_deref().map_or("missing".to_string(), |d| format!("`{d}`")))]
    WrongHostedDomain {
        /// The domain the provider is restricted to.
        expected: String,
        /// The token's `hd`, if it has one.
        found: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_have_stable_snake_case_names() {
        let cases = [
            (
                Error::NotConfigured {
                    provider: "p",
                    problems: Vec::new(),
                },
                "not_configured",
            ),
            (
                Error::MissingEndpoint {
                    provider: "p",
                    endpoint: Endpoint::Userinfo,
                },
                "missing_endpoint",
            ),
            (
                Error::InvalidRequest {
                    provider: "p",
                    message: String::new(),
                },
                "invalid_request",
            ),
            (Error::Session(SessionError::new("down")), "session"),
            (
                Error::Authorization {
                    provider: "p",
                    error: "access_denied".into(),
                    description: None,
                    uri: None,
                },
                "authorization",
            ),
            (Error::MissingState { provider: "p" }, "missing_state"),
            (Error::UnknownState { provider: "p" }, "unknown_state"),
            (Error::ExpiredState { provider: "p" }, "expired_state"),
            (Error::ReplayedState { provider: "p" }, "replayed_state"),
            (Error::MissingCode { provider: "p" }, "missing_code"),
            (
                Error::MissingRequestToken { provider: "p" },
                "missing_request_token",
            ),
            (
                Error::UnknownRequestToken { provider: "p" },
                "unknown_request_token",
            ),
            (
                Error::ExpiredRequestToken { provider: "p" },
                "expired_request_token",
            ),
            (
                Error::ReplayedRequestToken { provider: "p" },
                "replayed_request_token",
            ),
            (Error::MissingVerifier { provider: "p" }, "missing_verifier"),
            (Error::NoStoredToken { provider: "p" }, "no_stored_token"),
            (Error::LoginRequired { provider: "p" }, "login_required"),
            (Error::TamperedToken { provider: "p" }, "tampered_token"),
            (
                Error::TokenStore {
                    provider: "p",
                    reason: "down".into(),
                },
                "token_store",
            ),
            (
                Error::CallbackNotConfirmed { provider: "p" },
                "callback_not_confirmed",
            ),
            (
                Error::OAuth1Endpoint {
                    provider: "p",
                    endpoint: Endpoint::AccessToken,
                    status: 401,
                    problem: Some("token_rejected".into()),
                },
                "oauth1_endpoint",
            ),
            (
                Error::RepeatedParameter {
                    provider: "p",
                    parameter: "state",
                },
                "repeated_parameter",
            ),
            (
                Error::TokenEndpoint {
                    provider: "p",
                    error: "invalid_grant".into(),
                    description: None,
                    status: 400,
                },
                "token_endpoint",
            ),
            (
                Error::InvalidTokenResponse {
                    provider: "p",
                    reason: String::new(),
                },
                "invalid_token_response",
            ),
            (
                Error::UnsupportedTokenType {
                    provider: "p",
                    token_type: "mac".into(),
                },
                "unsupported_token_type",
            ),
            (
                Error::Http {
                    provider: "p",
                    endpoint: Endpoint::Token,
                    kind: HttpErrorKind::Timeout(std::time::Duration::from_secs(30)),
                },
                "http",
            ),
            (Error::TokenExpired { provider: "p" }, "token_expired"),
            (
                Error::InvalidMetadata {
                    provider: "p",
                    reason: String::new(),
                },
                "invalid_metadata",
            ),
            (
                Error::IssuerMismatch {
                    provider: "p",
                    expected: "a".into(),
                    found: "b".into(),
                    source_of: "callback",
                },
                "issuer_mismatch",
            ),
            (Error::MissingIssuer { provider: "p" }, "missing_issuer"),
            (
                Error::IdToken {
                    provider: "p",
                    reason: crate::IdTokenError::Expired,
                },
                "id_token",
            ),
            (
                Error::UserinfoSubjectMismatch { provider: "p" },
                "userinfo_subject_mismatch",
            ),
            (
                Error::InvalidUserinfo {
                    provider: "p",
                    reason: String::new(),
                },
                "invalid_userinfo",
            ),
            (
                Error::TokenUpdateHook {
                    provider: "p",
                    message: String::new(),
                    token: Box::new(
                        serde_json::from_str(r#"{"access_token":"a","token_type":"Bearer"}"#)
                            .unwrap(),
                    ),
                },
                "token_update_hook",
            ),
        ];
        let mut names = std::collections::BTreeSet::new();
        for (error, name) in &cases {
            assert_eq!(error.kind().as_str(), *name, "{error:?}");
            assert_eq!(error.kind().to_string(), *name);
            assert!(names.insert(*name), "`{name}` names two kinds");
            let expected_provider = (!matches!(error, Error::Session(_))).then_some("p");
            assert_eq!(error.provider(), expected_provider, "{error:?}");
        }
    }

    #[test]
    fn predicates_answer_from_the_variant() {
        let http = |kind| Error::Http {
            provider: "github",
            endpoint: Endpoint::Token,
            kind,
        };
        let timeout = http(HttpErrorKind::Timeout(std::time::Duration::from_secs(30)));
        assert!(timeout.is_timeout() && !timeout.is_connect() && !timeout.is_redirect());
        assert_eq!(timeout.endpoint(), Some(Endpoint::Token));
        assert_eq!(timeout.provider_status(), None);
        let connect = http(HttpErrorKind::Connect("refused".into()));
        assert!(connect.is_connect() && !connect.is_timeout());
        let redirect = http(HttpErrorKind::Redirect { status: 302 });
        assert!(redirect.is_redirect());
        assert_eq!(redirect.provider_status(), Some(302));
        assert_eq!(
            http(HttpErrorKind::Status { status: 503 }).provider_status(),
            Some(503)
        );

        let refused = |error: &str| Error::TokenEndpoint {
            provider: "github",
            error: error.into(),
            description: None,
            status: 400,
        };
        assert!(refused("invalid_grant").needs_login());
        assert!(!refused("invalid_client").needs_login());
        assert_eq!(refused("invalid_client").provider_status(), Some(400));
        assert!(Error::TokenExpired { provider: "github" }.needs_login());
        assert!(!timeout.needs_login());

        assert!(Error::ReplayedState { provider: "github" }.is_callback());
        let mix_up = |source_of| Error::IssuerMismatch {
            provider: "github",
            expected: "https://a.example".into(),
            found: "https://b.example".into(),
            source_of,
        };
        assert!(mix_up("callback").is_callback());
        assert!(!mix_up("discovery document").is_callback());
        assert!(!timeout.is_callback());
    }
}
