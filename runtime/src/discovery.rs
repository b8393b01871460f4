//! Provider metadata: discovered (OpenID Connect Discovery, RFC 8414) or declared.
//!
//! The document is fetched on first use, one request however many callers wait for it, and
//! cached for its `Cache-Control: max-age` (else 24 hours). A stale document keeps being served
//! while a background refresh runs, and stays in service if that refresh fails
//! (stale-if-error): a provider's brief outage must not break logins that could still work.
//! Its `issuer` must be exactly the expected one (Discovery §4.3), and every endpoint in it must
//! pass the same URL rules as declared ones. Declared keys override discovered values.

use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::registry::{Client, Provider};
use oauth_clients_spec::{self as spec, Key};
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

/// What the flows use from a provider's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    /// `id_token_signing_alg_values_supported`.
    pub id_token_signing_algs: Vec<String>,
    /// RFC 9207: the provider sends `iss` in authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
}

#[derive(Deserialize)]
struct Document {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    end_session_endpoint: Option<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
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

impl<P: Provider> Client<P> {
    /// The provider's metadata: the declaration, over the discovery document when there is one.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, Error> {
        let config = self.config()?;
        if config.server_metadata_url.is_none() {
            return Ok(self.runtime().declared_metadata.clone());
        }
        let client = self.clone();
        let discovered = self
            .runtime()
            .discovery
            .get(self.registry().now(), move || async move {
                client.discover().await
            })
            .await?;
        Ok(discovered)
    }

    /// Declared values over discovered ones (applied once, when a document is fetched).
    fn overlay(&self, discovered: &Metadata) -> Metadata {
        let declared = &self.runtime().declared_metadata;
        Metadata {
            issuer: declared
                .issuer
                .clone()
                .or_else(|| discovered.issuer.clone()),
            authorization_endpoint: declared
                .authorization_endpoint
                .clone()
                .or_else(|| discovered.authorization_endpoint.clone()),
            token_endpoint: declared
                .token_endpoint
                .clone()
                .or_else(|| discovered.token_endpoint.clone()),
            userinfo_endpoint: declared
                .userinfo_endpoint
                .clone()
                .or_else(|| discovered.userinfo_endpoint.clone()),
            jwks_uri: declared
                .jwks_uri
                .clone()
                .or_else(|| discovered.jwks_uri.clone()),
            end_session_endpoint: declared
                .end_session_endpoint
                .clone()
                .or_else(|| discovered.end_session_endpoint.clone()),
            id_token_signing_algs: discovered.id_token_signing_algs.clone(),
            authorization_response_iss_parameter_supported: discovered
                .authorization_response_iss_parameter_supported,
        }
    }

    /// Fetches and checks the discovery document.
    async fn discover(&self) -> Result<(Metadata, Duration), Error> {
        let provider = self.name();
        let config = self.config()?;
        let Some(url) = config.server_metadata_url.clone() else {
            return Err(Error::MissingEndpoint {
                provider,
                endpoint: Endpoint::Discovery,
            });
        };
        let response = self.fetch(Endpoint::Discovery, url, None).await?;
        let invalid = |reason: String| Error::InvalidMetadata { provider, reason };
        let document: Document = serde_json::from_slice(&response.body).map_err(|e| {
            invalid(format!(
                "the discovery document is not valid JSON metadata: {e}"
            ))
        })?;
        let expected = self.expected_issuer();
        match (&document.issuer, expected) {
            (None, _) => return Err(invalid("the discovery document has no `issuer`".into())),
            (Some(found), Some(expected)) if found != expected => {
                return Err(Error::IssuerMismatch {
                    provider,
                    expected: expected.to_string(),
                    found: found.clone(),
                    source_of: "discovery document",
                })
            }
            _ => {}
        }
        let endpoint = |key: Key, value: &Option<String>| -> Result<Option<Url>, Error> {
            match value {
                None => Ok(None),
                Some(s) => spec::check_url(key, s)
                    .map_err(|m| invalid(format!("discovered {m}")))
                    .and_then(|s| Url::parse(&s).map_err(|e| invalid(e.to_string())))
                    .map(Some),
            }
        };
        let metadata = Metadata {
            issuer: document.issuer.clone(),
            authorization_endpoint: endpoint(Key::AuthorizeUrl, &document.authorization_endpoint)?,
            token_endpoint: endpoint(Key::AccessTokenUrl, &document.token_endpoint)?,
            userinfo_endpoint: endpoint(Key::UserinfoEndpoint, &document.userinfo_endpoint)?,
            jwks_uri: endpoint(Key::JwksUri, &document.jwks_uri)?,
            end_session_endpoint: endpoint(
                Key::EndSessionEndpoint,
                &document.end_session_endpoint,
            )?,
            id_token_signing_algs: document.id_token_signing_alg_values_supported,
            authorization_response_iss_parameter_supported: document
                .authorization_response_iss_parameter_supported,
        };
        let ttl = ttl(&response.headers);
        tracing::info!(
            provider,
            ttl_s = ttl.as_secs(),
            "discovery document fetched"
        );
        // Cached with the declared values already over it: flows read it several times a login.
        Ok((self.overlay(&metadata), ttl))
    }

    /// The issuer that discovery, ID tokens and RFC 9207 `iss` must name: declared, or derived
    /// from `server_metadata_url`.
    pub(crate) fn expected_issuer(&self) -> Option<&str> {
        self.config().ok()?.expected_issuer.as_deref()
    }

    /// GETs one of the provider's protocol documents (discovery, JWKS, userinfo), as JSON, with
    /// the provider's timeout and the protocol body cap; anything but 2xx is an error.
    pub(crate) async fn fetch(
        &self,
        endpoint: Endpoint,
        url: Url,
        bearer: Option<&str>,
    ) -> Result<crate::http::Response, Error> {
        let provider = self.name();
        let config = self.config()?;
        let http = self.http(endpoint)?;
        let mut request = crate::http::Request::get(url).header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(token) = bearer {
            request = request.bearer(token);
        }
        let response = http
            .send(
                provider,
                endpoint,
                self.with_user_agent(request),
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        if !response.status.is_success() {
            return Err(Error::Http {
                provider,
                endpoint,
                kind: HttpErrorKind::Status {
                    status: response.status.as_u16(),
                },
            });
        }
        Ok(response)
    }

    /// A request with the provider's user agent, if it declares one.
    pub(crate) fn with_user_agent(&self, request: crate::http::Request) -> crate::http::Request {
        match self.config().ok().and_then(|c| c.user_agent.as_deref()) {
            Some(agent) => request.header_text(http::header::USER_AGENT, agent, false),
            None => request,
        }
    }
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
        id_token_signing_algs: Vec::new(),
        authorization_response_iss_parameter_supported: false,
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
