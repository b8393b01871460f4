//! Grants at the token endpoint, as a provider service: the request with client
//! authentication, and the refresh (single-flight per refresh token, the refreshed ID token
//! checked, the token-update hooks awaited before the new token is used).

use crate::config::ClientConfig;
use crate::context::Context;
use crate::error::{Endpoint, Error};
use crate::refresh::{run_hooks, TokenUpdate};
use crate::token::Token;
use http::StatusCode;

/// Whether an answer with status `status` to a request made with `token` calls for one
/// refresh and a retry: the token's expiry is unknown, so a 401 is the only sign that it
/// expired; and it was not refreshed already, so a token the provider refuses anyway does not
/// loop.
pub(crate) fn refresh_after_401(token: &Token, refreshed: bool, status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED
        && !refreshed
        && token.expires_at.is_none()
        && token.refresh_token.is_some()
}

impl Context {
    /// POSTs a grant to the token endpoint (or, for a refresh, `refresh_token_url` when
    /// declared) with client authentication, and reads the token. With DPoP on, the request
    /// proves a new grant's key (see `dpop_flow`).
    pub(crate) async fn token_request(
        &self,
        config: &ClientConfig,
        refresh: bool,
        form: Vec<(&str, String)>,
    ) -> Result<Token, Error> {
        let key = self.dpop_key_for_grant(config)?;
        self.token_request_with_key(config, refresh, form, key.as_deref())
            .await
    }

    /// [`token_request`](Self::token_request) proving `key` (RFC 9449 §5), when there is
    /// one: the proof, the server's nonce and its one retry, and the token type checked (a
    /// `DPoP` token exactly when a proof was sent) and bound to the key's thumbprint.
    pub(crate) async fn token_request_with_key(
        &self,
        config: &ClientConfig,
        refresh: bool,
        mut form: Vec<(&str, String)>,
        key: Option<&crate::dpop::DpopKey>,
    ) -> Result<Token, Error> {
        let provider = self.name();
        let url = match (&config.refresh_token_url, refresh) {
            (Some(url), true) => url.clone(),
            _ => self.endpoint(Endpoint::Token).await?,
        };
        let http = self.http(Endpoint::Token)?;
        let request = self.with_user_agent(crate::http::Request::post(url).header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        ));
        let limit = crate::http::PROTOCOL_BODY_LIMIT;
        let response = match key {
            None => {
                let request = self.authenticate_client(config, request, &mut form).await?;
                http.send(
                    provider,
                    Endpoint::Token,
                    request.form(&form),
                    config.timeout,
                    limit,
                )
                .await?
            }
            // DPoP (RFC 9449 §8): a nonce demand is retried once, authenticated anew: a JWT
            // client assertion is accepted once (its `jti`), so the retry cannot repeat it.
            Some(key) => {
                let mut retried = false;
                loop {
                    let mut sent = form.clone();
                    let request = self
                        .authenticate_client(config, request.clone(), &mut sent)
                        .await?;
                    let proved = self
                        .send_proved(
                            http,
                            Endpoint::Token,
                            request.form(&sent),
                            key,
                            None,
                            config.timeout,
                            limit,
                        )
                        .await?;
                    match proved {
                        crate::dpop_flow::Proved::Answer(response) => break response,
                        crate::dpop_flow::Proved::NonceDemanded { fresh: true } if !retried => {
                            retried = true
                        }
                        crate::dpop_flow::Proved::NonceDemanded { .. } => {
                            return Err(crate::dpop_flow::kept_demanding(provider, Endpoint::Token))
                        }
                    }
                }
            }
        };
        let mut token =
            crate::token_response::parse_token_response(provider, &response, self.now_secs())?;
        crate::dpop_flow::check_token_type(provider, &token, key.is_some())?;
        // Only this client says which key a token is bound to.
        token.extra.remove("dpop_jkt");
        token.dpop_jkt = key.map(|key| key.thumbprint().to_string());
        Ok(token)
    }

    /// Adds the client's authentication to `request`, a POST of `form` to the token endpoint
    /// or to an endpoint that authenticates the client the same way (pushed authorization,
    /// revocation): the `Authorization` header, or fields added to `form`.
    pub(crate) async fn authenticate_client(
        &self,
        config: &ClientConfig,
        mut request: crate::http::Request,
        form: &mut Vec<(&str, String)>,
    ) -> Result<crate::http::Request, Error> {
        match config.token_endpoint_auth_method {
            crate::AuthMethod::ClientSecretBasic if config.secret_maker.is_some() => {
                let secret = self.client_secret_now(config)?;
                let credentials =
                    crate::config::basic_credentials(&config.client_id, secret.as_ref());
                request = request.header(http::header::AUTHORIZATION, credentials);
            }
            crate::AuthMethod::ClientSecretBasic => {
                if let Some(credentials) = &config.basic_credentials {
                    request = request.header(http::header::AUTHORIZATION, credentials.clone());
                }
            }
            crate::AuthMethod::ClientSecretPost => {
                form.push(("client_id", config.client_id.clone()));
                let secret = self.client_secret_now(config)?;
                let secret = secret.as_ref().map(|s| s.expose()).unwrap_or("");
                form.push(("client_secret", secret.to_string()));
            }
            crate::AuthMethod::ClientSecretJwt | crate::AuthMethod::PrivateKeyJwt => {
                let assertion = self.client_assertion(config).await?;
                // RFC 7523 §3.1 allows client_id beside the assertion; OpenID Connect Core
                // §9 and providers that route by it (oidc-provider among them) expect it.
                form.push(("client_id", config.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    crate::client_assertion::JWT_BEARER.to_string(),
                ));
                form.push(("client_assertion", assertion));
            }
            // RFC 8705 §2: the certificate on the connection authenticates; the form names
            // the client.
            crate::AuthMethod::TlsClientAuth
            | crate::AuthMethod::SelfSignedTlsClientAuth
            | crate::AuthMethod::None => form.push(("client_id", config.client_id.clone())),
        }
        Ok(request)
    }

    /// A fresh client assertion for `client_secret_jwt` or `private_key_jwt`, addressed to the
    /// provider's issuer identifier as one string (RFC 7523bis §4, FAPI 2.0 §5.3.2.1), never
    /// to the endpoint it is sent to.
    async fn client_assertion(&self, config: &ClientConfig) -> Result<String, Error> {
        let provider = self.name();
        let failed = |message| Error::InvalidRequest { provider, message };
        let metadata = self.cached_metadata().await?;
        let audience = metadata
            .issuer
            .as_deref()
            .or(config.expected_issuer.as_deref())
            .ok_or_else(|| {
                failed("the client assertion needs the provider's issuer: declare `issuer`".into())
            })?;
        let jti = crate::client_assertion::new_jti().map_err(failed)?;
        let now = self.now_secs();
        match (&config.assertion_key, config.token_endpoint_auth_method) {
            (Some(key), _) => key
                .assertion(&config.client_id, audience, now, &jti)
                .map_err(failed),
            // The registry refuses `private_key_jwt` without a key; never fall back to HS256.
            (None, crate::AuthMethod::PrivateKeyJwt) => {
                Err(failed("`private_key_jwt` has no key to sign with".into()))
            }
            (None, _) => {
                let secret = self.client_secret_now(config)?;
                let secret = secret.as_ref().map(|s| s.expose()).unwrap_or("");
                Ok(crate::client_assertion::secret_assertion(
                    secret,
                    &config.client_id,
                    audience,
                    now,
                    &jti,
                ))
            }
        }
    }

    /// `token` ready for use: refreshed first (single-flight, hooks run) when it expires within
    /// the provider's leeway; whether it was.
    pub(crate) async fn usable_token(&self, token: &Token) -> Result<(Token, bool), Error> {
        let leeway = self.config()?.leeway.as_secs();
        if token.needs_refresh(self.now_secs(), leeway) {
            Ok((self.refresh(token).await?, true))
        } else {
            Ok((token.clone(), false))
        }
    }

    /// The work of [`Client::refresh`](crate::Client::refresh).
    pub(crate) async fn refresh(&self, token: &Token) -> Result<Token, Error> {
        let provider = self.name();
        let refresh_token = token
            .refresh_token
            .as_deref()
            .ok_or(Error::TokenExpired { provider })?;
        self.flights()
            .run(self.index(), refresh_token, async {
                let config = self.config()?;
                let form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", refresh_token.to_string()),
                ];
                // A bound token's refresh proves the same key (RFC 9449 §5: a public client's
                // refresh token is bound to it too).
                let key = self.dpop_key_of(token)?;
                let mut new = self
                    .token_request_with_key(config, true, form, key.as_deref())
                    .await?;
                // RFC 6749 §6: the provider may keep the refresh token; then it stays valid.
                if new.refresh_token.is_none() {
                    new.refresh_token = Some(refresh_token.to_string());
                }
                if config.is_openid() {
                    self.check_refreshed_id_token(token, &mut new).await?;
                }
                // The same user: the profile of the login carries over.
                new.profile = token.profile.clone();
                tracing::info!(provider, "token refreshed");
                run_hooks(
                    self.hooks(),
                    TokenUpdate {
                        provider,
                        token: new,
                        refresh_token: Some(refresh_token.to_string()),
                        access_token: Some(token.access_token.clone()),
                    },
                )
                .await
            })
            .await
    }
}
