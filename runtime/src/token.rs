//! Tokens, as plain data (RFC 6749 §5.1); `token_response` reads them from the provider's
//! answers.

use crate::profile::Profile;
use crate::userinfo::UserInfo;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// An OAuth 2.0 token, as the token endpoint issued it.
///
/// Serializable, so applications can store it (the Authlib token dict, typed). Every field the
/// provider sent beyond the standard ones is kept in `extra`. `Debug` never shows token values.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    /// The access token, sent with API calls.
    pub access_token: String,
    /// `"Bearer"`, or `"DPoP"` for a token bound to a DPoP key (RFC 9449, a provider declared
    /// with `dpop: true`), whatever case the provider used.
    pub token_type: String,
    /// When the access token expires, in seconds since the Unix epoch; `None` if the provider
    /// did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The refresh token, if the provider issued one: what
    /// [`Client::refresh`](crate::Client::refresh) spends. A refresh that brings no new one
    /// keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, when the provider said (it may differ from the requested one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OpenID Connect ID token (a JWT), for OpenID Connect providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The user's claims, for OpenID Connect providers: the ID token's claims, merged with the
    /// userinfo endpoint's answer when it was called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<UserInfo>,
    /// Who signed in, normalized across providers: set by a login, for OpenID Connect
    /// providers and OAuth 2.0 presets; see [`profile`](Self::profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// For a DPoP-bound token: the JWK SHA-256 thumbprint (RFC 7638) of the key it is bound
    /// to, which every request with it must prove possession of (RFC 9449 §6). The key stays
    /// with the registry (and the token store); a token whose key is not at hand is refused
    /// with [`Error::DpopKeyMismatch`](crate::Error::DpopKeyMismatch) before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// Every other field of the token response.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |present: bool| if present { "[redacted]" } else { "None" };
        f.debug_struct("Token")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &redacted(self.refresh_token.is_some()))
            .field("scope", &self.scope)
            .field("id_token", &redacted(self.id_token.is_some()))
            .field(
                "userinfo",
                &self
                    .userinfo
                    .as_ref()
                    .map(|u| u.claims().keys().collect::<Vec<_>>()),
            )
            .field(
                "profile",
                &self.profile.as_ref().map(|p| (&p.provider, &p.subject)),
            )
            .field("dpop_jkt", &self.dpop_jkt)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Token {
    /// Whether the token is DPoP-bound (RFC 9449): sent only as `Authorization: DPoP`, with a
    /// proof of its key, never as a bearer token.
    pub fn is_dpop_bound(&self) -> bool {
        self.dpop_jkt.is_some() || self.token_type.eq_ignore_ascii_case("dpop")
    }

    /// Whether the access token expires within `leeway` of `now` (seconds since the epoch).
    /// A token without `expires_at` is never considered expired here.
    pub fn expires_within(&self, now: u64, leeway: u64) -> bool {
        self.expires_at
            .is_some_and(|at| at <= now.saturating_add(leeway))
    }

    /// Whether the token should be refreshed before use: it expires within `leeway` of `now`,
    /// where the leeway is at most half the lifetime the token was issued with. Without that
    /// cap a token issued for 60 s or less would count as expiring on arrival, and every call
    /// would spend a refresh token.
    pub fn needs_refresh(&self, now: u64, leeway: u64) -> bool {
        let lifetime = self.extra.get("expires_in").and_then(Value::as_u64);
        let leeway = lifetime.map_or(leeway, |lifetime| leeway.min(lifetime / 2));
        self.expires_within(now, leeway)
    }

    /// Who signed in, normalized across providers (identity, email and whether it is
    /// verified, name, username, picture): set by a login with an OpenID Connect provider or
    /// an OAuth 2.0 preset; `None` for other OAuth 2.0 providers.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// The granted scope tokens, if the provider said.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .map(|s| s.split(' ').filter(|t| !t.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// The userinfo endpoint's answer, from [`Client::userinfo`](crate::Client::userinfo), and the token refreshed on the
/// way, if it was.
#[derive(Clone, Debug)]
pub struct UserInfoResponse {
    pub(crate) info: UserInfo,
    pub(crate) new_token: Option<Token>,
}

impl UserInfoResponse {
    /// The user's claims.
    pub fn info(&self) -> &UserInfo {
        &self.info
    }

    /// The user's claims, by value.
    pub fn into_info(self) -> UserInfo {
        self.info
    }

    /// The refreshed token, when this call refreshed it: store it in place of the old one
    /// (the token-update hooks have already seen it).
    pub fn new_token(&self) -> Option<&Token> {
        self.new_token.as_ref()
    }

    /// Takes the refreshed token out of the answer; see [`new_token`](Self::new_token).
    pub fn take_new_token(&mut self) -> Option<Token> {
        self.new_token.take()
    }
}

/// An OAuth 1.0a token (RFC 5849 §2.3): the token credentials an OAuth 1.0a login ends with,
/// which sign every API call.
///
/// Serializable, so applications can store it (Authlib's OAuth 1 token dict, typed): keep it
/// as a secret, since the pair signs requests on the user's behalf. `Debug` never shows the
/// token or its secret. OAuth 1.0a tokens do not expire on their own; the provider revokes
/// them.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuth1Token {
    /// The token identifier (`oauth_token`).
    pub oauth_token: String,
    /// The token's shared secret (`oauth_token_secret`).
    pub oauth_token_secret: String,
    /// Every other field of the provider's answer, e.g. X's `user_id` and `screen_name`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for OAuth1Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Token")
            .field("oauth_token", &"[redacted]")
            .field("oauth_token_secret", &"[redacted]")
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl OAuth1Token {
    /// A field of the provider's answer beyond the token and its secret, as text (OAuth 1.0a
    /// answers are forms, so every value is a string): `token.extra_str("user_id")`.
    pub fn extra_str(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(Value::as_str)
    }
}
