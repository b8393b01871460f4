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

/// What the flows use from a provider's metadata, and what [`ProviderMetadata`] shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
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
    /// Advertised only, for the application to read; the flows do not depend on them.
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Whether a discovery document was fetched (else the declaration is all there is).
    pub discovered: bool,
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
    #[serde(default, deserialize_with = "advertised")]
    scopes_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    claims_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default, deserialize_with = "advertised")]
    token_endpoint_auth_methods_supported: Vec<String>,
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
/// every flow sees them. From [`Client::metadata`].
///
/// Without `server_metadata_url`, this is the declaration alone: its endpoints and issuer,
/// and empty "supported" lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata(Arc<Metadata>);

impl ProviderMetadata {
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

impl<P: Provider> Client<P> {
    /// The provider's metadata, read-only: its endpoints, issuer and supported algorithms,
    /// as the flows use them (declared values over the discovery document's).
    ///
    /// With `server_metadata_url`, the discovery document is fetched on first use, checked
    /// (its `issuer`, every endpoint's URL) and cached, as for a login: this call costs a
    /// request only when nothing is cached yet. Fails as discovery does, e.g. with
    /// [`Error::IssuerMismatch`] or [`Error::Http`], and with [`Error::NotConfigured`] for a
    /// provider that cannot be used.
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo() -> Result<(), oauth_clients::Error> {
    /// let metadata = Providers::google().metadata().await?;
    /// println!("issuer: {:?}", metadata.issuer());
    /// if !metadata.scopes_supported().iter().any(|s| s == "email") {
    ///     println!("this provider may not share email addresses");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn metadata(&self) -> Result<ProviderMetadata, Error> {
        self.cached_metadata().await.map(ProviderMetadata)
    }

    /// The provider's metadata: the declaration, over the discovery document when there is one.
    pub(crate) async fn cached_metadata(&self) -> Result<Arc<Metadata>, Error> {
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
            scopes_supported: discovered.scopes_supported.clone(),
            claims_supported: discovered.claims_supported.clone(),
            code_challenge_methods_supported: discovered.code_challenge_methods_supported.clone(),
            token_endpoint_auth_methods_supported: discovered
                .token_endpoint_auth_methods_supported
                .clone(),
            discovered: true,
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
            scopes_supported: document.scopes_supported,
            claims_supported: document.claims_supported,
            code_challenge_methods_supported: document.code_challenge_methods_supported,
            token_endpoint_auth_methods_supported: document.token_endpoint_auth_methods_supported,
            discovered: true,
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
