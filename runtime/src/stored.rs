//! Tokens kept in the token store for a user, and their refresh coordinated across processes.
//!
//! For one user and provider, at most one refresh request goes to the provider per rotation,
//! whichever process notices the expiry first: callers in one process queue on a local lock;
//! across processes, the one holding the store's lease refreshes, and the others wait (bounded)
//! for the new version of the record. A process that dies holding the lease delays the others
//! by at most the lease. A refresh the provider refuses (`invalid_grant`) is written to the
//! record, so every process learns it from there instead of spending the token again, and is
//! reported once, by the process that got the answer, to the login-required hooks.

use crate::context::Context;
use crate::error::Error;
use crate::seal::OpenError;
use crate::store::Record;
use crate::token::{OAuth1Token, Token};
use crate::vault::{LoginRequired, Stored};
use std::fmt;
use std::time::{Duration, Instant};

/// What a record holds, in clear. Every kind of token the library has is one variant; new
/// kinds (DPoP-bound tokens and their keys) are new variants or fields, which older records
/// simply lack.
/// When a record stops being useful: an access token that expired with no refresh token.
fn expires_at(stored: &Stored) -> Option<u64> {
    match stored {
        Stored::OAuth2 { token, .. } if token.refresh_token.is_none() => token.expires_at,
        _ => None,
    }
}

impl Context {
    fn store_error(&self, reason: impl fmt::Display) -> Error {
        Error::TokenStore {
            provider: self.name(),
            reason: reason.to_string(),
        }
    }

    /// The record of `user`, opened: `None` when there is none.
    pub(crate) async fn load_stored(&self, user: &str) -> Result<Option<(u64, Stored)>, Error> {
        let provider = self.name();
        let vault = self.vault();
        let Some(record) = vault
            .backend
            .load(provider, user)
            .await
            .map_err(|e| self.store_error(e))?
        else {
            return Ok(None);
        };
        let plaintext = vault
            .sealer
            .open(provider, user, record.version, &record.sealed)
            .map_err(|error| match error {
                OpenError::Tampered => Error::TamperedToken { provider },
                OpenError::UnknownKey(id) => self.store_error(format!(
                    "the token is sealed with key `{id}`, which is not configured (keep old keys after the new one until every record is rewritten)"
                )),
            })?;
        // Authentic but unreadable: written by a newer version of the library.
        let stored = serde_json::from_slice(&plaintext).map_err(|e| {
            self.store_error(format!(
                "the stored token is not in a format this version reads: {e}"
            ))
        })?;
        Ok(Some((record.version, stored)))
    }

    /// Writes `stored` as the version after `expected`; `false` when another write came first.
    async fn write_stored(
        &self,
        user: &str,
        expected: Option<u64>,
        stored: &Stored,
    ) -> Result<bool, Error> {
        let provider = self.name();
        let vault = self.vault();
        let version = expected.map_or(1, |v| v + 1);
        let plaintext = serde_json::to_vec(stored).map_err(|e| self.store_error(e))?;
        let sealed = vault
            .sealer
            .seal(provider, user, version, &plaintext)
            .map_err(|e| self.store_error(e))?;
        let record = Record {
            version,
            sealed,
            expires_at: expires_at(stored),
        };
        vault
            .backend
            .swap(provider, user, expected, &record)
            .await
            .map_err(|e| self.store_error(e))
    }

    /// Stores `stored` for `user`, replacing what is there (a new login).
    pub(crate) async fn replace_stored(&self, user: &str, stored: Stored) -> Result<(), Error> {
        let provider = self.name();
        let vault = self.vault();
        // Compare-and-swap against whatever version is there; retried when another write
        // slips in between.
        for _ in 0..16 {
            let current = vault
                .backend
                .load(provider, user)
                .await
                .map_err(|e| self.store_error(e))?
                .map(|record| record.version);
            if self.write_stored(user, current, &stored).await? {
                return Ok(());
            }
        }
        Err(self.store_error("the record kept changing while it was written"))
    }

    /// The work of [`Client::save_token`](crate::Client::save_token).
    pub(crate) async fn save_token(&self, user: &str, token: &Token) -> Result<(), Error> {
        // A DPoP-bound token whose key is not here cannot be used by anyone: refused now.
        let dpop_key = self.dpop_key_to_record(token)?;
        self.replace_stored(
            user,
            Stored::OAuth2 {
                token: Box::new(token.clone()),
                dpop_key,
            },
        )
        .await
    }

    /// The work of [`OAuth1Client::save_token`](crate::OAuth1Client::save_token).
    pub(crate) async fn save_oauth1_token(
        &self,
        user: &str,
        token: &OAuth1Token,
    ) -> Result<(), Error> {
        self.replace_stored(
            user,
            Stored::OAuth1 {
                token: token.clone(),
            },
        )
        .await
    }

    /// The work of `delete_token`: the user's token here is gone (a logout).
    pub(crate) async fn delete_stored(&self, user: &str) -> Result<(), Error> {
        self.vault()
            .backend
            .delete(self.name(), user)
            .await
            .map_err(|e| self.store_error(e))
    }

    /// The user's stored token, as it is: [`Error::NoStoredToken`] when there is none,
    /// [`Error::LoginRequired`] when the provider refused its refresh token.
    pub(crate) async fn stored(&self, user: &str) -> Result<(u64, Stored), Error> {
        let provider = self.name();
        match self.load_stored(user).await? {
            None => Err(Error::NoStoredToken { provider }),
            Some((_, Stored::LoginRequired)) => Err(Error::LoginRequired { provider }),
            Some(found) => Ok(found),
        }
    }

    /// The user's stored OAuth 2.0 token, refreshed first (once, across processes) when it
    /// expires within the leeway; with whether it was refreshed.
    /// The version the token was read at comes with it, for a refresh after a `401`.
    pub(crate) async fn stored_usable_token(
        &self,
        user: &str,
    ) -> Result<(u64, Token, bool), Error> {
        let leeway = self.config()?.leeway.as_secs();
        match self.stored(user).await? {
            (version, Stored::OAuth2 { token, dpop_key }) => {
                // A bound token's key: from the record, or at hand; else refused here, before
                // a refresh or request is sent.
                self.dpop_key_from_record(&token, dpop_key.as_ref())?;
                if token.needs_refresh(self.now_secs(), leeway) {
                    let token = self.refresh_stored(user, version).await?;
                    // The version read back is at least the next one; a later `401` must not
                    // count this refresh as not done.
                    Ok((version + 1, token, true))
                } else {
                    Ok((version, *token, false))
                }
            }
            _ => Err(self.store_error("the stored token is an OAuth 1.0a token")),
        }
    }

    /// Refreshes the stored token of `user`, which was at `seen` when the caller found it
    /// expiring (or refused): unless another caller or process already did, this process
    /// takes the lease, spends the refresh token once and writes the new version.
    pub(crate) async fn refresh_stored(&self, user: &str, seen: u64) -> Result<Token, Error> {
        let provider = self.name();
        let vault = self.vault();
        let config = self.config()?;
        let lease = vault
            .lease
            .unwrap_or(config.timeout + Duration::from_secs(5));
        // One caller of this process at a time; the others find its result in the store.
        let local = vault.lock_for(self.index(), user);
        let _queued = local.lock().await;
        let holder = format!(
            "{}-{}",
            vault.holder,
            crate::oauth1::nonce().unwrap_or_default()
        );
        let deadline = Instant::now() + lease * 2 + Duration::from_secs(1);
        let mut pause = Duration::from_millis(10);
        loop {
            match self.stored(user).await? {
                (version, Stored::OAuth2 { token, dpop_key }) if version != seen => {
                    self.dpop_key_from_record(&token, dpop_key.as_ref())?;
                    return Ok(*token);
                }
                (_, Stored::OAuth2 { .. }) => {}
                _ => return Err(self.store_error("the stored token is an OAuth 1.0a token")),
            }
            let leased = vault
                .backend
                .acquire_lease(provider, user, &holder, lease)
                .await
                .map_err(|e| self.store_error(e))?;
            if leased {
                let outcome = self.refresh_leased(user, seen).await;
                // Released whatever happened; an error here only delays the others until it
                // expires.
                if let Err(error) = vault.backend.release_lease(provider, user, &holder).await {
                    tracing::warn!(provider, %error, "the refresh lease could not be released");
                }
                return outcome;
            }
            if Instant::now() >= deadline {
                return Err(self.store_error(format!(
                    "another process held the refresh lease for more than {} s",
                    (lease * 2).as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// With the lease held: read the record again (the previous holder may have refreshed
    /// just before), then refresh and write the new version.
    async fn refresh_leased(&self, user: &str, seen: u64) -> Result<Token, Error> {
        let provider = self.name();
        let (version, token, dpop_key) = match self.stored(user).await? {
            (version, Stored::OAuth2 { token, dpop_key }) if version != seen => {
                self.dpop_key_from_record(&token, dpop_key.as_ref())?;
                return Ok(*token);
            }
            (version, Stored::OAuth2 { token, dpop_key }) => {
                self.dpop_key_from_record(&token, dpop_key.as_ref())?;
                (version, token, dpop_key)
            }
            _ => return Err(self.store_error("the stored token is an OAuth 1.0a token")),
        };
        let outcome = self.refresh(&token).await;
        let new = match &outcome {
            Ok(new) => new.clone(),
            // The refresh token is spent even though a hook failed: keep the new one.
            Err(Error::TokenUpdateHook { token, .. }) => (**token).clone(),
            Err(error) if error.needs_login() => {
                // Every process learns it from the record; only this one reports it.
                self.write_stored(user, Some(version), &Stored::LoginRequired)
                    .await?;
                let event = LoginRequired {
                    provider,
                    user: user.to_string(),
                    error: error.clone(),
                };
                for hook in &self.vault().login_required {
                    hook(event.clone()).await;
                }
                return Err(Error::LoginRequired { provider });
            }
            Err(error) => return Err(error.clone()),
        };
        let written = self
            .write_stored(
                user,
                Some(version),
                &Stored::OAuth2 {
                    token: Box::new(new.clone()),
                    // Refreshed with the same key: still bound to it.
                    dpop_key,
                },
            )
            .await?;
        if !written {
            // Replaced meanwhile (a new login, or a delete): that write wins.
            tracing::info!(provider, "the stored token changed during its refresh");
        }
        outcome
    }

    /// The work of [`Client::load_token`](crate::Client::load_token).
    pub(crate) async fn load_token(&self, user: &str) -> Result<Option<Token>, Error> {
        match self.stored(user).await {
            Ok((_, Stored::OAuth2 { token, dpop_key })) => {
                // Its key made known here, so the token can be used as it is.
                if dpop_key.is_some() {
                    self.dpop_key_from_record(&token, dpop_key.as_ref())?;
                }
                Ok(Some(*token))
            }
            Ok(_) => Err(self.store_error("the stored token is an OAuth 1.0a token")),
            Err(Error::NoStoredToken { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The user's stored OAuth 1.0a token.
    pub(crate) async fn stored_oauth1_token(&self, user: &str) -> Result<OAuth1Token, Error> {
        match self.stored(user).await? {
            (_, Stored::OAuth1 { token }) => Ok(token),
            _ => Err(self.store_error("the stored token is an OAuth 2.0 token")),
        }
    }
}
