//! The provider's signing keys (JWKS).
//!
//! Fetched on first use and cached like the discovery document. An ID token signed with a key
//! the cache does not know triggers one refetch, so a key rotation does not break logins
//! (openidconnect's own client never refetches: its issue #232, Google logins failing after a
//! rotation). Forced refetches are rate-limited per provider, so a flood of tokens with random
//! `kid`s cannot make us hammer the provider. Keys of unknown types, or that fail to parse, are
//! skipped rather than failing the whole set.

use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::registry::{Client, Provider};
use openidconnect::core::CoreJsonWebKeySet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The least time between two refetches caused by unknown keys.
pub(crate) const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(60);

/// When the last refetch for an unknown key happened, per provider.
#[derive(Default)]
pub(crate) struct RefetchGate {
    last: Mutex<Option<Instant>>,
}

impl RefetchGate {
    /// Whether a refetch may happen now; if so, it is recorded as happening.
    fn try_pass(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if at.elapsed() < UNKNOWN_KID_COOLDOWN => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }
}

impl<P: Provider> Client<P> {
    /// The cached key set, fetched if there is none.
    pub(crate) async fn jwks(&self) -> Result<Arc<CoreJsonWebKeySet>, Error> {
        let client = self.clone();
        self.runtime()
            .jwks
            .get(self.registry().now(), move || async move {
                let fetched = client.fetch_jwks().await;
                let cache = &client.runtime().jwks;
                let now = client.registry().now();
                cache.refresh_done();
                match &fetched {
                    Ok((keys, ttl)) => {
                        tracing::info!(provider = client.name(), keys = keys.keys().len(), "signing keys fetched");
                        cache.store(Arc::new(keys.clone()), now, *ttl)
                    }
                    Err(error) => {
                        tracing::warn!(provider = client.name(), %error, "fetching signing keys failed; cached keys stay in use");
                        cache.postpone(now)
                    }
                }
                fetched
            })
            .await
    }

    /// Refetches the key set because a token names a key it lacks; `None` when the
    /// rate limit says not now.
    pub(crate) async fn jwks_for_unknown_key(&self) -> Option<Arc<CoreJsonWebKeySet>> {
        if !self.runtime().jwks_gate.try_pass() {
            tracing::warn!(
                provider = self.name(),
                "unknown signing key; refetch skipped (rate limit)"
            );
            return None;
        }
        tracing::info!(
            provider = self.name(),
            "unknown signing key; refetching the key set"
        );
        let client = self.clone();
        self.runtime()
            .jwks
            .refetch(self.registry().now(), move || async move {
                client.fetch_jwks().await
            })
            .await
            .ok()
    }

    async fn fetch_jwks(&self) -> Result<(CoreJsonWebKeySet, Duration), Error> {
        let provider = self.name();
        let config = self.config()?;
        let url = self
            .metadata()
            .await?
            .jwks_uri
            .clone()
            .ok_or(Error::MissingEndpoint {
                provider,
                endpoint: Endpoint::Jwks,
            })?;
        let http = self.registry().http()?;
        let response = http
            .send(
                provider,
                Endpoint::Jwks,
                self.with_user_agent(http.client().get(url)),
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        if !response.status.is_success() {
            return Err(Error::Http {
                provider,
                endpoint: Endpoint::Jwks,
                kind: HttpErrorKind::Status {
                    status: response.status.as_u16(),
                },
            });
        }
        let keys: CoreJsonWebKeySet =
            serde_json::from_slice(&response.body).map_err(|e| Error::InvalidMetadata {
                provider,
                reason: format!("the JWKS is not a valid key set: {e}"),
            })?;
        Ok((keys, crate::discovery::ttl(&response.headers)))
    }
}
