//! DPoP (RFC 9449) as a provider service: which key a request proves, the servers' nonces, and
//! sending a request with its proof (retried once when the server demands a nonce).
//!
//! Keys: by default one per provider and registry, made when the registry is built. With a
//! token store configured, each login makes its own key instead, which is stored (sealed) with
//! the user's token, so that every process sharing the store can use the bound token. Every
//! key this process made or read is kept by thumbprint (bounded), so a token names its key by
//! its `dpop_jkt`; a bound token whose key is not here is refused before anything is sent.
//!
//! Nonces (§8, §9): the last `DPoP-Nonce` each server (origin) sent is put in the next proofs
//! to it. A `use_dpop_nonce` answer is retried once with the new nonce; a second one is
//! [`Error::DpopNonce`], never a loop.

use crate::config::ClientConfig;
use crate::context::Context;
use crate::dpop::{challenge_error, DpopKey, DpopState, StoredKey};
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::http::{Http, Request, Response};
use crate::token::Token;
use http::{HeaderName, StatusCode};
use std::sync::Arc;
use std::time::Duration;

static DPOP: HeaderName = HeaderName::from_static("dpop");
static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// What one attempt of a request with a DPoP proof got.
pub(crate) enum Proved {
    /// An answer that is not a nonce demand.
    Answer(Response),
    /// The server demanded a nonce (§8, §9); `fresh` when it gave one other than the one the
    /// proof carried.
    NonceDemanded { fresh: bool },
}

/// The error when a server kept demanding a nonce after the one retry.
pub(crate) fn kept_demanding(provider: &'static str, endpoint: Endpoint) -> Error {
    tracing::warn!(provider, %endpoint, "the server kept demanding a DPoP nonce");
    Error::DpopNonce { provider, endpoint }
}

/// Whether `response` demands a DPoP nonce: a token endpoint's `400` with error
/// `use_dpop_nonce` (§8), or a resource server's `401` whose DPoP challenge says so (§9).
fn demands_nonce(response: &Response) -> bool {
    match response.status {
        StatusCode::BAD_REQUEST => serde_json::from_slice::<serde_json::Value>(&response.body)
            .is_ok_and(|body| body.get("error").and_then(|e| e.as_str()) == Some("use_dpop_nonce")),
        StatusCode::UNAUTHORIZED => {
            refusal(response.status, &response.headers).as_deref() == Some("use_dpop_nonce")
        }
        _ => false,
    }
}

/// The `error` of a `401`'s DPoP challenge (`WWW-Authenticate: DPoP error="..."`).
pub(crate) fn refusal(status: StatusCode, headers: &http::HeaderMap) -> Option<String> {
    if status != StatusCode::UNAUTHORIZED {
        return None;
    }
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(challenge_error)
}

impl Context {
    fn dpop(&self) -> &DpopState {
        &self.runtime().dpop
    }

    /// The key a new grant (a code exchange, a client-credentials grant) proves: a new one
    /// per login when a token store is configured, else the registry's; `None` without DPoP.
    pub(crate) fn dpop_key_for_grant(
        &self,
        config: &ClientConfig,
    ) -> Result<Option<Arc<DpopKey>>, Error> {
        let Some(alg) = config.dpop else {
            return Ok(None);
        };
        let state = self.dpop();
        if let (false, Some(key)) = (state.per_login, &state.registry_key) {
            return Ok(Some(key.clone()));
        }
        let key = Arc::new(DpopKey::generate(alg).map_err(|reason| Error::Http {
            provider: self.name(),
            endpoint: Endpoint::Token,
            kind: HttpErrorKind::Other(reason),
        })?);
        state.remember(key.clone());
        Ok(Some(key))
    }

    /// The key `token` is bound to, for a request with it: `None` for a bearer token of a
    /// provider without DPoP. A bound token whose key is not here, or a bearer token for a
    /// provider with DPoP on, is [`Error::DpopKeyMismatch`]: nothing is sent.
    pub(crate) fn dpop_key_of(&self, token: &Token) -> Result<Option<Arc<DpopKey>>, Error> {
        let provider = self.name();
        if !token.is_dpop_bound() {
            return match self.config()?.dpop {
                // A bearer token where only bound tokens are issued: not sent (RFC 9449 §5).
                Some(_) => Err(Error::DpopKeyMismatch { provider }),
                None => Ok(None),
            };
        }
        token
            .dpop_jkt
            .as_deref()
            .and_then(|jkt| self.dpop().find(jkt))
            .map(Some)
            .ok_or(Error::DpopKeyMismatch { provider })
    }

    /// The key of a stored token: the one in the record, made known to this process, or
    /// one already here. It must be the key the token names.
    pub(crate) fn dpop_key_from_record(
        &self,
        token: &Token,
        stored: Option<&StoredKey>,
    ) -> Result<(), Error> {
        let provider = self.name();
        if let Some(stored) = stored {
            let key = DpopKey::from_stored(stored)
                .map_err(|reason| Error::TokenStore { provider, reason })?;
            if token.dpop_jkt.as_deref() != Some(key.thumbprint()) {
                return Err(Error::DpopKeyMismatch { provider });
            }
            self.dpop().remember(Arc::new(key));
        }
        // The token's key, from the record or already at hand.
        self.dpop_key_of(token).map(|_| ())
    }

    /// What a record keeps of `token`'s key: a login's own key; nothing for a bearer token or
    /// one bound to the registry's key, which lives and dies with this process.
    pub(crate) fn dpop_key_to_record(&self, token: &Token) -> Result<Option<StoredKey>, Error> {
        let Some(key) = self.dpop_key_of(token)? else {
            return Ok(None);
        };
        let registry = self
            .dpop()
            .registry_key
            .as_ref()
            .is_some_and(|own| own.thumbprint() == key.thumbprint());
        Ok((!registry).then(|| key.to_stored()))
    }

    /// Sends `request` to `endpoint`, with a DPoP proof of `key` when there is one (and `ath`
    /// of `access_token`): the server's nonce in it, the nonces it sends remembered, and one
    /// retry when it demands a new one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_with_proof(
        &self,
        http: &Http,
        endpoint: Endpoint,
        request: Request,
        key: Option<&DpopKey>,
        access_token: Option<&str>,
        timeout: Duration,
        limit: usize,
    ) -> Result<Response, Error> {
        let provider = self.name();
        let Some(key) = key else {
            return http.send(provider, endpoint, request, timeout, limit).await;
        };
        let mut retried = false;
        loop {
            let proved = self
                .send_proved(
                    http,
                    endpoint,
                    request.clone(),
                    key,
                    access_token,
                    timeout,
                    limit,
                )
                .await?;
            match proved {
                Proved::Answer(response) => return Ok(response),
                // Once, and only with a nonce that differs from the one just refused.
                Proved::NonceDemanded { fresh: true } if !retried => retried = true,
                Proved::NonceDemanded { .. } => return Err(kept_demanding(provider, endpoint)),
            }
        }
    }

    /// One attempt of `request` with a proof made now, with the server's last nonce; a nonce
    /// in the answer is remembered.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_proved(
        &self,
        http: &Http,
        endpoint: Endpoint,
        request: Request,
        key: &DpopKey,
        access_token: Option<&str>,
        timeout: Duration,
        limit: usize,
    ) -> Result<Proved, Error> {
        let provider = self.name();
        let origin = request.url().origin().ascii_serialization();
        let nonce = self.dpop().nonce(&origin);
        let proof = key
            .proof(
                request.method().as_str(),
                request.url(),
                self.now_secs(),
                nonce.as_deref(),
                access_token,
            )
            .map_err(|reason| Error::Http {
                provider,
                endpoint,
                kind: HttpErrorKind::Other(reason),
            })?;
        let attempt = request.header_text(DPOP.clone(), &proof, true);
        let response = http
            .send(provider, endpoint, attempt, timeout, limit)
            .await?;
        // §8.2, §9: a new nonce may come with any answer, successful ones included.
        let fresh = response
            .headers
            .get(&DPOP_NONCE)
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.is_empty() && Some(*value) != nonce.as_deref())
            .map(str::to_string);
        if let Some(fresh) = &fresh {
            self.dpop().set_nonce(origin, fresh.clone());
        }
        if demands_nonce(&response) {
            return Ok(Proved::NonceDemanded {
                fresh: fresh.is_some(),
            });
        }
        Ok(Proved::Answer(response))
    }

    /// GETs a protected resource of the provider's (userinfo) with `token`: as a bearer token,
    /// or for a DPoP-bound one with `Authorization: DPoP` and a proof with `ath` (§7.1).
    /// Anything but 2xx is an error; a `401` with a DPoP challenge is [`Error::DpopRefused`].
    pub(crate) async fn fetch_with_token(
        &self,
        endpoint: Endpoint,
        url: url::Url,
        token: &Token,
    ) -> Result<Response, Error> {
        let Some(key) = self.dpop_key_of(token)? else {
            return self.fetch(endpoint, url, Some(&token.access_token)).await;
        };
        let provider = self.name();
        let config = self.config()?;
        let http = self.http(endpoint)?;
        let request = self.with_user_agent(
            Request::get(url)
                .header(
                    http::header::ACCEPT,
                    http::HeaderValue::from_static("application/json"),
                )
                .header_text(
                    http::header::AUTHORIZATION,
                    &format!("DPoP {}", token.access_token),
                    true,
                ),
        );
        let response = self
            .send_with_proof(
                http,
                endpoint,
                request,
                Some(&key),
                Some(&token.access_token),
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        if let Some(error) = refusal(response.status, &response.headers) {
            return Err(Error::DpopRefused {
                provider,
                endpoint,
                error,
            });
        }
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
}

/// Whether `token_type` is what the token endpoint had to issue: `DPoP` exactly when a proof
/// was sent (RFC 9449 §5); a DPoP token without DPoP is of a type this client cannot use.
pub(crate) fn check_token_type(
    provider: &'static str,
    token: &Token,
    dpop: bool,
) -> Result<(), Error> {
    let bound = token.token_type.eq_ignore_ascii_case("dpop");
    match (dpop, bound) {
        (true, false) => Err(Error::DpopTokenType {
            provider,
            token_type: token.token_type.clone(),
        }),
        (false, true) => Err(Error::UnsupportedTokenType {
            provider,
            token_type: token.token_type.clone(),
        }),
        _ => Ok(()),
    }
}
