//! Provider metadata, discovered (OpenID Connect Discovery, RFC 8414) or declared: the fetch,
//! its cache, and the checks on what was fetched (the types are in `metadata`).

use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::metadata::{ttl, Document, Metadata, ProviderMetadata};
use oauth_clients_spec::{self as spec, Key};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

impl Context {
    /// The URL of one of the provider's endpoints: declared, or else discovered.
    pub(crate) async fn endpoint(&self, endpoint: Endpoint) -> Result<url::Url, Error> {
        let config = self.config()?;
        let found = match endpoint {
            Endpoint::Discovery => config.server_metadata_url.clone(),
            Endpoint::Api => config.api_base_url.clone(),
            _ => {
                let metadata = self.cached_metadata().await?;
                if let Some(alias) = self.mtls_alias(&metadata, endpoint) {
                    return Ok(alias);
                }
                match endpoint {
                    Endpoint::Authorization => metadata.authorization_endpoint.clone(),
                    Endpoint::Token => metadata.token_endpoint.clone(),
                    Endpoint::Userinfo => metadata.userinfo_endpoint.clone(),
                    Endpoint::Jwks => metadata.jwks_uri.clone(),
                    Endpoint::Revocation => metadata.revocation_endpoint.clone(),
                    Endpoint::PushedAuthorization => {
                        metadata.pushed_authorization_request_endpoint.clone()
                    }
                    _ => metadata.end_session_endpoint.clone(),
                }
            }
        };
        found.ok_or(Error::MissingEndpoint {
            provider: self.name(),
            endpoint,
        })
    }

    /// RFC 8705 §5: a client that presents a TLS certificate (for client authentication or
    /// certificate-bound tokens) sends its requests to `mtls_endpoint_aliases` where the
    /// provider lists one. A declared endpoint is the application's choice and stays.
    fn mtls_alias(&self, metadata: &Metadata, endpoint: Endpoint) -> Option<Url> {
        if !self.presents_certificate() {
            return None;
        }
        let declared = &self.runtime().declared_metadata;
        let (name, declared) = match endpoint {
            Endpoint::Token => ("token_endpoint", declared.token_endpoint.is_some()),
            Endpoint::Userinfo => ("userinfo_endpoint", declared.userinfo_endpoint.is_some()),
            Endpoint::Revocation => (
                "revocation_endpoint",
                declared.revocation_endpoint.is_some(),
            ),
            Endpoint::PushedAuthorization => (
                "pushed_authorization_request_endpoint",
                declared.pushed_authorization_request_endpoint.is_some(),
            ),
            _ => return None,
        };
        if declared {
            return None;
        }
        metadata
            .mtls_endpoint_aliases
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, url)| url.clone())
    }

    /// The work of [`Client::metadata`](crate::Client::metadata).
    pub(crate) async fn metadata(&self) -> Result<ProviderMetadata, Error> {
        self.cached_metadata().await.map(ProviderMetadata::new)
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
            .get(self.now(), move || async move { client.discover().await })
            .await?;
        Ok(discovered)
    }

    /// Declared values over discovered ones (applied once, when a document is fetched).
    fn overlay(&self, discovered: &Metadata) -> Metadata {
        let declared = &self.runtime().declared_metadata;
        Metadata {
            // Microsoft's discovered issuer is the `{tenantid}` template ID tokens are checked
            // against; it was accepted against the declared one already.
            issuer: if self.keeps_discovered_issuer() {
                discovered
                    .issuer
                    .clone()
                    .or_else(|| declared.issuer.clone())
            } else {
                declared
                    .issuer
                    .clone()
                    .or_else(|| discovered.issuer.clone())
            },
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
            revocation_endpoint: declared
                .revocation_endpoint
                .clone()
                .or_else(|| discovered.revocation_endpoint.clone()),
            id_token_signing_algs: discovered.id_token_signing_algs.clone(),
            authorization_response_iss_parameter_supported: discovered
                .authorization_response_iss_parameter_supported,
            pushed_authorization_request_endpoint: declared
                .pushed_authorization_request_endpoint
                .clone()
                .or_else(|| discovered.pushed_authorization_request_endpoint.clone()),
            require_pushed_authorization_requests: discovered.require_pushed_authorization_requests,
            scopes_supported: discovered.scopes_supported.clone(),
            claims_supported: discovered.claims_supported.clone(),
            code_challenge_methods_supported: discovered.code_challenge_methods_supported.clone(),
            token_endpoint_auth_methods_supported: discovered
                .token_endpoint_auth_methods_supported
                .clone(),
            mtls_endpoint_aliases: discovered.mtls_endpoint_aliases.clone(),
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
            (Some(found), Some(expected)) if !self.discovered_issuer_accepted(found, expected) => {
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
        // Every alias must pass the rules of a declared URL, as the endpoints themselves.
        let mut mtls_endpoint_aliases = Vec::new();
        if let serde_json::Value::Object(aliases) = &document.mtls_endpoint_aliases {
            for (name, value) in aliases {
                if let serde_json::Value::String(url) = value {
                    let url = spec::check_url(Key::AccessTokenUrl, url)
                        .map_err(|_| {
                            invalid(format!(
                                "discovered `mtls_endpoint_aliases.{name}` is not an `https://` URL"
                            ))
                        })
                        .and_then(|s| Url::parse(&s).map_err(|e| invalid(e.to_string())))?;
                    mtls_endpoint_aliases.push((name.clone(), url));
                }
            }
        }
        let metadata = Metadata {
            mtls_endpoint_aliases,
            issuer: document.issuer.clone(),
            authorization_endpoint: endpoint(Key::AuthorizeUrl, &document.authorization_endpoint)?,
            token_endpoint: endpoint(Key::AccessTokenUrl, &document.token_endpoint)?,
            userinfo_endpoint: endpoint(Key::UserinfoEndpoint, &document.userinfo_endpoint)?,
            jwks_uri: endpoint(Key::JwksUri, &document.jwks_uri)?,
            end_session_endpoint: endpoint(
                Key::EndSessionEndpoint,
                &document.end_session_endpoint,
            )?,
            revocation_endpoint: endpoint(Key::RevocationEndpoint, &document.revocation_endpoint)?,
            id_token_signing_algs: document.id_token_signing_alg_values_supported,
            authorization_response_iss_parameter_supported: document
                .authorization_response_iss_parameter_supported,
            pushed_authorization_request_endpoint: endpoint(
                Key::PushedAuthorizationRequestEndpoint,
                &document.pushed_authorization_request_endpoint,
            )?,
            require_pushed_authorization_requests: document.require_pushed_authorization_requests,
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
