//! The OAuth 1.0a login (RFC 5849 §2): a request token, the redirect to the provider, and the
//! callback that turns the authorized request token into token credentials; and the signing of
//! every request to an OAuth 1.0a provider.
//!
//! The request token's secret stays in the user's session under the request token, as the
//! OAuth 2.0 flow keeps its pending logins under their `state`: several tabs at once, expiring,
//! bounded, and used once, so a replayed, forged or another session's callback is refused
//! before the provider is asked for anything.

use crate::config::{ClientConfig, OAuth1Config, SignatureMethod, SignatureType};
use crate::context::Context;
use crate::error::{Endpoint, Error};
use crate::flow::{Callback, Redirect};
use crate::oauth1::{self, Credentials, Unsigned};
use crate::session::Session;
use crate::state::{self, Purpose};
use crate::token::OAuth1Token;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// The longest request token or secret kept in the session: real ones are tens of bytes, and
/// a session may be a cookie.
const MAX_REQUEST_CREDENTIAL: usize = 1024;

/// What the callback needs from the request token: its secret, kept in the session.
/// Stored as the bare secret string (`transparent`), the smallest form in the session.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct PendingRequest {
    secret: String,
}

/// A request signed for an OAuth 1.0a provider: the URL (with the protocol parameters for
/// `signature_type: query`), the form body (with them for `body`), and the `Authorization`
/// header (for `header`).
pub(crate) struct Signed {
    pub url: Url,
    pub form: Option<Vec<(String, String)>>,
    pub authorization: Option<String>,
}

impl Context {
    /// The OAuth 1.0a settings, or [`Error::NotConfigured`]-like refusal when the provider is
    /// not one (which the types rule out).
    fn oauth1_config<'c>(&self, config: &'c ClientConfig) -> Result<&'c OAuth1Config, Error> {
        config.oauth1.as_ref().ok_or_else(|| Error::InvalidRequest {
            provider: self.name(),
            message: "this provider is not declared as an OAuth 1.0a provider".into(),
        })
    }

    /// Signs a request to an OAuth 1.0a provider (RFC 5849 §3). `url` carries the query as it
    /// will be sent; `form` is the form body, if the body is one; `other_body` says the request
    /// has a body that is not a form (which `signature_type: body` cannot carry).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn oauth1_sign(
        &self,
        config: &ClientConfig,
        method: &Method,
        url: Url,
        form: Option<Vec<(String, String)>>,
        other_body: bool,
        token: Option<(&str, &str)>,
        extra: &[(&'static str, String)],
    ) -> Result<Signed, Error> {
        let provider = self.name();
        let oauth1 = self.oauth1_config(config)?;
        let invalid = |message: String| Error::InvalidRequest { provider, message };
        if oauth1.signature_method == SignatureMethod::Plaintext && url.scheme() != "https" {
            // RFC 5849 §3.4.4: the secrets are the signature; only TLS protects them.
            return Err(invalid(format!(
                "`PLAINTEXT` signatures are sent only over https, and `{}` is not",
                oauth1::base_uri(&url)
            )));
        }
        if oauth1.signature_type == SignatureType::Body
            && (other_body || matches!(*method, Method::GET | Method::HEAD))
        {
            // RFC 5849 §3.5.2: only a single-part form body can carry the parameters.
            return Err(invalid(format!(
                "`signature_type: body` needs a request with a form body, and this {method} request {}; use `header` or `query`",
                if other_body { "has another body" } else { "has none" }
            )));
        }
        let credentials = Credentials {
            consumer_key: &config.client_id,
            consumer_secret: config.client_secret.as_ref(),
            rsa_key: oauth1.rsa_key.as_deref(),
            token: token.map(|(token, _)| token),
            token_secret: token.map(|(_, secret)| secret),
        };
        let nonce = oauth1::nonce().map_err(invalid)?;
        let protocol = oauth1::sign(
            &Unsigned {
                method: method.as_str(),
                url: &url,
                form: form.as_deref(),
            },
            oauth1.signature_method,
            &credentials,
            self.now_secs(),
            nonce,
            extra,
        )
        .map_err(invalid)?;
        let mut signed = Signed {
            url,
            form,
            authorization: None,
        };
        match oauth1.signature_type {
            SignatureType::Header => {
                signed.authorization = Some(oauth1::authorization_header(&protocol));
            }
            SignatureType::Query => {
                signed.url.query_pairs_mut().extend_pairs(&protocol);
            }
            SignatureType::Body => signed.form.get_or_insert_with(Vec::new).extend(
                protocol
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value)),
            ),
        }
        Ok(signed)
    }

    /// A signed `POST` to the request-token or access-token endpoint, and its answer's
    /// parameters (RFC 5849 §2.1, §2.3).
    async fn oauth1_credentials_request(
        &self,
        config: &ClientConfig,
        endpoint: Endpoint,
        url: &Url,
        params: &[(String, String)],
        token: Option<(&str, &str)>,
        extra: &[(&'static str, String)],
    ) -> Result<Vec<(String, String)>, Error> {
        let provider = self.name();
        let mut url = url.clone();
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let signed = self.oauth1_sign(config, &Method::POST, url, None, false, token, extra)?;
        let mut request = self.with_user_agent(crate::http::Request::post(signed.url));
        if let Some(authorization) = &signed.authorization {
            request = request.header_text(http::header::AUTHORIZATION, authorization, true);
        }
        if let Some(form) = &signed.form {
            request = request.form(form);
        }
        let response = self
            .http(endpoint)?
            .send(
                provider,
                endpoint,
                request,
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(&response.body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        if !response.status.is_success() {
            // The OAuth Problem Reporting extension's `oauth_problem`, when the answer is a
            // form that has one; otherwise only the status is known.
            let problem = fields
                .iter()
                .find(|(name, _)| name == "oauth_problem")
                .map(|(_, value)| value.chars().take(200).collect::<String>())
                .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_graphic()));
            return Err(Error::OAuth1Endpoint {
                provider,
                endpoint,
                status: response.status.as_u16(),
                problem,
            });
        }
        for (i, (name, _)) in fields.iter().enumerate() {
            if fields[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(Error::InvalidTokenResponse {
                    provider,
                    reason: format!("the {endpoint}'s answer has `{name}` more than once"),
                });
            }
        }
        Ok(fields)
    }

    /// The work of [`OAuth1Client::authorize_redirect`](crate::OAuth1Client::authorize_redirect).
    pub(crate) async fn oauth1_authorize_redirect<S: Session>(
        &self,
        session: &S,
        redirect_uri: &str,
    ) -> Result<Redirect, Error> {
        let provider = self.name();
        let config = self.config()?;
        let oauth1 = self.oauth1_config(config)?;
        // RFC 5849 §2.1: `oob` is the out-of-band callback; anything else must be absolute.
        let callback = if redirect_uri == "oob" {
            "oob".to_string()
        } else {
            Url::parse(redirect_uri)
                .map_err(|e| Error::InvalidRequest {
                    provider,
                    message: format!("the redirect URI is neither an absolute URL nor `oob`: {e}"),
                })?
                .to_string()
        };
        let fields = self
            .oauth1_credentials_request(
                config,
                Endpoint::RequestToken,
                &oauth1.request_token_url,
                &oauth1.request_token_params,
                None,
                &[("oauth_callback", callback)],
            )
            .await?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.as_str())
        };
        // RFC 5849 §2.1: a server that does not confirm the callback is not following 1.0a,
        // whose callback binding is what stops session fixation.
        if field("oauth_callback_confirmed") != Some("true") {
            return Err(Error::CallbackNotConfirmed { provider });
        }
        let (token, secret) = credentials(provider, Endpoint::RequestToken, field)?;
        let mut location = config.authorize_url.clone().ok_or(Error::MissingEndpoint {
            provider,
            endpoint: Endpoint::Authorization,
        })?;
        location
            .query_pairs_mut()
            .append_pair("oauth_token", token)
            .extend_pairs(&config.authorize_params);
        let pending = serde_json::to_value(PendingRequest {
            secret: secret.to_string(),
        })
        .map_err(crate::error::SessionError::new)?;
        state::store_value(
            session,
            provider,
            Purpose::OAuth1Login,
            token,
            pending,
            self.now_ms(),
            self.state_policy(),
        )
        .await?;
        Ok(Redirect::new(location))
    }

    /// The work of [`OAuth1Client::authorize_access_token`](crate::OAuth1Client::authorize_access_token).
    pub(crate) async fn oauth1_authorize_access_token<S: Session>(
        &self,
        session: &S,
        callback: &Callback,
    ) -> Result<OAuth1Token, Error> {
        let outcome = self.oauth1_callback(session, callback).await;
        match &outcome {
            Ok(_) => tracing::info!(provider = self.name(), "login completed"),
            Err(error) => tracing::info!(provider = self.name(), %error, "login refused"),
        }
        outcome
    }

    async fn oauth1_callback<S: Session>(
        &self,
        session: &S,
        callback: &Callback,
    ) -> Result<OAuth1Token, Error> {
        let provider = self.name();
        let config = self.config()?;
        self.oauth1_config(config)?;
        callback.check_repeats(provider)?;
        // X's cancel: `denied=<request token>`, and nothing else.
        let request_token = callback
            .oauth_token
            .as_deref()
            .or(callback.denied.as_deref());
        let Some(request_token) = request_token.filter(|t| !t.is_empty()) else {
            return Err(Error::MissingRequestToken { provider });
        };
        // One use, whatever the rest of the callback says.
        let taken = state::consume_value(
            session,
            provider,
            Purpose::OAuth1Login,
            request_token,
            self.now_ms(),
            self.state_policy(),
        )
        .await
        .map_err(|error| match error {
            Error::UnknownState { .. } => Error::UnknownRequestToken { provider },
            Error::ExpiredState { .. } => Error::ExpiredRequestToken { provider },
            Error::ReplayedState { .. } => Error::ReplayedRequestToken { provider },
            other => other,
        });
        // The session failing is not the provider's answer: it is reported as such.
        if let Err(Error::Session(error)) = taken {
            return Err(Error::Session(error));
        }
        if callback.denied.is_some() || callback.error.is_some() {
            return Err(Error::Authorization {
                provider,
                error: callback
                    .error
                    .clone()
                    .unwrap_or_else(|| "access_denied".into()),
                description: callback.error_description.clone(),
                uri: callback.error_uri.clone(),
            });
        }
        let (pending, _) = taken?;
        // Data this library wrote; anything else in its place is treated as unknown.
        let pending: PendingRequest =
            serde_json::from_value(pending).map_err(|_| Error::UnknownRequestToken { provider })?;
        let verifier = callback
            .oauth_verifier
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(Error::MissingVerifier { provider })?;
        let url = config
            .access_token_url
            .clone()
            .ok_or(Error::MissingEndpoint {
                provider,
                endpoint: Endpoint::AccessToken,
            })?;
        let fields = self
            .oauth1_credentials_request(
                config,
                Endpoint::AccessToken,
                &url,
                &config.access_token_params,
                Some((request_token, &pending.secret)),
                &[("oauth_verifier", verifier.to_string())],
            )
            .await?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.as_str())
        };
        let (token, secret) = credentials(provider, Endpoint::AccessToken, field)?;
        let extra: Map<String, Value> = fields
            .iter()
            .filter(|(name, _)| name != "oauth_token" && name != "oauth_token_secret")
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        Ok(OAuth1Token {
            oauth_token: token.to_string(),
            oauth_token_secret: secret.to_string(),
            extra,
        })
    }
}

/// `oauth_token` and `oauth_token_secret` of an answer: present, and of a sane size. The
/// secret may be empty (RFC 5849 §2.1 allows it); the token may not.
fn credentials<'f>(
    provider: &'static str,
    endpoint: Endpoint,
    field: impl Fn(&str) -> Option<&'f str>,
) -> Result<(&'f str, &'f str), Error> {
    let invalid = |reason: String| Error::InvalidTokenResponse { provider, reason };
    let token = field("oauth_token")
        .filter(|token| !token.is_empty())
        .ok_or_else(|| invalid(format!("the {endpoint}'s answer has no `oauth_token`")))?;
    let secret = field("oauth_token_secret").ok_or_else(|| {
        invalid(format!(
            "the {endpoint}'s answer has no `oauth_token_secret`"
        ))
    })?;
    for (name, value) in [("oauth_token", token), ("oauth_token_secret", secret)] {
        if value.len() > MAX_REQUEST_CREDENTIAL {
            return Err(invalid(format!(
                "the {endpoint}'s `{name}` is longer than {MAX_REQUEST_CREDENTIAL} bytes"
            )));
        }
    }
    Ok((token, secret))
}
