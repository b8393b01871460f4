//! The provider's signing keys (JWKS), fetched.
//!
//! Fetched on first use and cached like the discovery document. An ID token signed with a key
//! the cache does not know triggers one refetch, so a key rotation does not break logins
//! (openidconnect's own client never refetches: its issue #232, Google logins failing after a
//! rotation). Forced refetches are rate-limited per provider ([`RefetchGate`]), so a flood of
//! tokens with random `kid`s cannot make us hammer the provider.

use crate::context::Context;
use crate::error::{Endpoint, Error};
use crate::jose::KeySet;
use std::sync::Arc;
use std::time::Duration;

impl Context {
    /// The cached key set, fetched if there is none.
    pub(crate) async fn jwks(&self) -> Result<Arc<KeySet>, Error> {
        let client = self.clone();
        self.runtime()
            .jwks
            .get(self.now(), move || async move { client.fetch_jwks().await })
            .await
    }

    /// Refetches the key set because a token names a key it lacks; `None` when the
    /// rate limit says not now.
    pub(crate) async fn jwks_for_unknown_key(&self) -> Option<Arc<KeySet>> {
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
            .refetch(self.now(), move || async move { client.fetch_jwks().await })
            .await
            .ok()
    }

    async fn fetch_jwks(&self) -> Result<(KeySet, Duration), Error> {
        let provider = self.name();
        let url = self
            .cached_metadata()
            .await?
            .jwks_uri
            .clone()
            .ok_or(Error::MissingEndpoint {
                provider,
                endpoint: Endpoint::Jwks,
            })?;
        let response = self.fetch(Endpoint::Jwks, url, None).await?;
        let keys: KeySet =
            serde_json::from_slice(&response.body).map_err(|e| Error::InvalidMetadata {
                provider,
                reason: format!("the JWKS is not a valid key set: {e}"),
            })?;
        tracing::info!(provider, keys = keys.keys().len(), "signing keys fetched");
        Ok((keys, crate::metadata::ttl(&response.headers)))
    }
}
