//! Errors. Each names the provider it concerns; none ever contains a secret or a token.

use std::fmt;

/// Where a configuration problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
pub struct Problem {
    /// The provider concerned, as named in the declaration or the settings.
    pub provider: String,
    /// The key concerned, if one.
    pub key: Option<String>,
    /// Where the problem was found.
    pub origin: Origin,
    /// What is wrong, and what would be valid.
    pub message: String,
}

impl Problem {
    /// A missing credential: what lenient registries tolerate by marking the provider unavailable.
    pub fn is_missing_credential(&self) -> bool {
        self.origin == Origin::Environment
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
        reason: crate::oidc::IdTokenError,
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
            | Error::MissingIssuer { .. } => 400,
            Error::Authorization { .. } | Error::TokenExpired { .. } => 401,
            Error::TokenEndpoint { .. }
            | Error::InvalidTokenResponse { .. }
            | Error::UnsupportedTokenType { .. }
            | Error::Http { .. }
            | Error::InvalidMetadata { .. }
            | Error::IdToken { .. }
            | Error::UserinfoSubjectMismatch { .. }
            | Error::InvalidUserinfo { .. } => 502,
            Error::NotConfigured { .. }
            | Error::MissingEndpoint { .. }
            | Error::Session(_)
            | Error::TokenUpdateHook { .. } => 500,
        }
    }
}

/// A provider endpoint, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
