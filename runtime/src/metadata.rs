//! Provider metadata, without I/O: the discovery document (OpenID Connect Discovery, RFC 8414)
//! as read, what a declaration gives by itself, and the read-only view the application gets.
//! The service that fetches it is `discovery`.
//!
//! The document is fetched on first use, one request however many callers wait for it, and
//! cached for its `Cache-Control: max-age` (else 24 hours). A stale document keeps being served
//! while a background refresh runs, and stays in service if that refresh fails
//! (stale-if-error): a provider's brief outage must not break logins that could still work.
//! Its `issuer` must be exactly the expected one (Discovery §4.3), and every endpoint in it must
//! pass the same URL rules as declared ones. Declared keys override discovered values.

use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// How long a document without `Cache-Control: max-age` is fresh.
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Bounds on `max-age`: a provider must not make us fetch on every login, nor keep a
/// document (or keys) for weeks.
const MIN_TTL: Duration = Duration::from_secs(60);
const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the flows use from a provider's metadata, and what [`ProviderMetadata`] shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    /// `id_token_signing_alg_values_supported`.
    pub id_token_signing_algs: Vec<String>,
    /// RFC 9207: the provider sends `iss` in authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9126 §5: where authorization requests are pushed, and whether the provider
    /// accepts only pushed ones.
    pub pushed_authorization_request_endpoint: Option<Url>,
    pub require_pushed_authorization_requests: bool,
    /// Advertised only, for the application to read; the flows do not depend on them.
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8705 §5 `mtls_endpoint_aliases`: the endpoints a client presenting a certificate
    /// uses instead, by metadata name (`token_endpoint`, ...).
    pub mtls_endpoint_aliases: Vec<(String, Url)>,
    /// Whether a discovery document was fetched (else the declaration is all there is).
    pub discovered: bool,
}

#[derive(Deserialize)]
pub(crate) struct Document {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    #[serde(default, deserialize_with = "advertised")]
    pub scopes_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    pub claims_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8705 §5; its string members are checked as endpoints when the document is read.
    #[serde(default)]
    pub mtls_endpoint_aliases: serde_json::Value,
}

/// A list the provider advertises for information only: its strings, whatever else it holds.
/// A provider's odd entry there must not make the whole document, and every login, fail.
fn advertised<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A provider's metadata, read-only: the declared values over the discovery document's, as
/// every flow sees them. From [`Client::metadata`](crate::Client::metadata).
///
/// Without `server_metadata_url`, this is the declaration alone: its endpoints and issuer,
/// and empty "supported" lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata(Arc<Metadata>);

impl ProviderMetadata {
    pub(crate) fn new(metadata: Arc<Metadata>) -> Self {
        ProviderMetadata(metadata)
    }

    /// The issuer (`issuer`): declared, or the discovery document's, which was checked to be
    /// the expected one.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The authorization endpoint (`authorization_endpoint`, or the declared `authorize_url`).
    pub fn authorization_endpoint(&self) -> Option<&Url> {
        self.0.authorization_endpoint.as_ref()
    }

    /// The token endpoint (`token_endpoint`, or the declared `access_token_url`).
    pub fn token_endpoint(&self) -> Option<&Url> {
        self.0.token_endpoint.as_ref()
    }

    /// The userinfo endpoint (`userinfo_endpoint`).
    pub fn userinfo_endpoint(&self) -> Option<&Url> {
        self.0.userinfo_endpoint.as_ref()
    }

    /// Where the ID-token signing keys are published (`jwks_uri`).
    pub fn jwks_uri(&self) -> Option<&Url> {
        self.0.jwks_uri.as_ref()
    }

    /// The RP-initiated logout endpoint (`end_session_endpoint`).
    pub fn end_session_endpoint(&self) -> Option<&Url> {
        self.0.end_session_endpoint.as_ref()
    }

    /// The token revocation endpoint (RFC 7009, `revocation_endpoint`).
    pub fn revocation_endpoint(&self) -> Option<&Url> {
        self.0.revocation_endpoint.as_ref()
    }

    /// The algorithms the provider signs ID tokens with
    /// (`id_token_signing_alg_values_supported`); ID tokens signed otherwise are refused.
    /// Empty when it does not say, and then only `RS256` is accepted.
    pub fn id_token_signing_alg_values_supported(&self) -> &[String] {
        &self.0.id_token_signing_algs
    }

    /// Whether the provider sends `iss` in authorization responses (RFC 9207); callbacks
    /// without it are then refused.
    pub fn authorization_response_iss_parameter_supported(&self) -> bool {
        self.0.authorization_response_iss_parameter_supported
    }

    /// The pushed authorization request endpoint (`pushed_authorization_request_endpoint`,
    /// RFC 9126 §5, or the declared one).
    pub fn pushed_authorization_request_endpoint(&self) -> Option<&Url> {
        self.0.pushed_authorization_request_endpoint.as_ref()
    }

    /// Whether the provider accepts only pushed authorization requests
    /// (`require_pushed_authorization_requests`, RFC 9126 §5); they are then always pushed.
    pub fn require_pushed_authorization_requests(&self) -> bool {
        self.0.require_pushed_authorization_requests
    }

    /// The scopes the provider advertises (`scopes_supported`); empty when it does not say.
    pub fn scopes_supported(&self) -> &[String] {
        &self.0.scopes_supported
    }

    /// The claims the provider advertises (`claims_supported`); empty when it does not say.
    pub fn claims_supported(&self) -> &[String] {
        &self.0.claims_supported
    }

    /// The PKCE methods the provider advertises (`code_challenge_methods_supported`); empty
    /// when it does not say.
    pub fn code_challenge_methods_supported(&self) -> &[String] {
        &self.0.code_challenge_methods_supported
    }

    /// The client authentication methods the provider advertises at its token endpoint
    /// (`token_endpoint_auth_methods_supported`); empty when it does not say.
    pub fn token_endpoint_auth_methods_supported(&self) -> &[String] {
        &self.0.token_endpoint_auth_methods_supported
    }

    /// The endpoint a client that presents a TLS certificate uses instead of the one named
    /// `name` (e.g. `"token_endpoint"`), from `mtls_endpoint_aliases` (RFC 8705 §5). The
    /// flows of a provider with a client certificate use it by themselves.
    pub fn mtls_endpoint_alias(&self, name: &str) -> Option<&Url> {
        self.0
            .mtls_endpoint_aliases
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, url)| url)
    }

    /// Whether these values come (in part) from a discovery document, rather than from the
    /// declaration alone.
    pub fn is_discovered(&self) -> bool {
        self.0.discovered
    }
}

/// The freshness lifetime that `Cache-Control` gives, bounded.
pub(crate) fn ttl(headers: &HeaderMap) -> Duration {
    let max_age = headers
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            name.eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        });
    max_age.map_or(DEFAULT_TTL, |s| {
        Duration::from_secs(s).clamp(MIN_TTL, MAX_TTL)
    })
}

/// The metadata a declaration gives by itself.
pub(crate) fn declared(config: &crate::ClientConfig) -> Metadata {
    Metadata {
        issuer: config.issuer.clone(),
        authorization_endpoint: config.authorize_url.clone(),
        token_endpoint: config.access_token_url.clone(),
        userinfo_endpoint: config.userinfo_endpoint.clone(),
        jwks_uri: config.jwks_uri.clone(),
        end_session_endpoint: config.end_session_endpoint.clone(),
        revocation_endpoint: config.revocation_endpoint.clone(),
        pushed_authorization_request_endpoint: config.pushed_authorization_request_endpoint.clone(),
        ..Metadata::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, CACHE_CONTROL};

    #[test]
    fn cache_lifetime_comes_from_max_age_within_bounds() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
            ttl(&headers)
        };
        assert_eq!(ttl(&HeaderMap::new()), DEFAULT_TTL);
        assert_eq!(with("public, max-age=3600"), Duration::from_secs(3600));
        assert_eq!(with("max-age=0"), MIN_TTL);
        assert_eq!(with("max-age=99999999"), MAX_TTL);
        assert_eq!(with("no-cache"), DEFAULT_TTL);
    }
}
