//! The token store as the registry holds it: the backend, the sealing keys, the hooks told
//! when a user must log in again, and the local locks that queue one process's callers; and
//! what a record holds in clear. The flows over it are in `stored`.

use crate::error::Error;
use crate::seal::Sealer;
use crate::store::TokenBackend;
use crate::token::{OAuth1Token, Token};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Stored {
    OAuth2 {
        token: Box<Token>,
        /// The DPoP key a login made for this token (RFC 9449), so that every process can
        /// use the bound token; sealed with it. Absent for a bearer token, and for one bound
        /// to a registry's own key, which lives and dies with its process.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dpop_key: Option<crate::dpop::StoredKey>,
    },
    OAuth1 {
        token: OAuth1Token,
    },
    /// The provider refused the refresh token: the user must log in again.
    LoginRequired,
}

/// What a login-required hook is told: whose stored token the provider refused.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoginRequired {
    /// The provider's name.
    pub provider: &'static str,
    /// The application's key for the user.
    pub user: String,
    /// The provider's refusal, e.g. [`Error::TokenEndpoint`] with `invalid_grant`.
    pub error: Error,
}

pub(crate) type LoginRequiredFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
pub(crate) type LoginRequiredHook = Arc<dyn Fn(LoginRequired) -> LoginRequiredFuture + Send + Sync>;

/// Queues one process's callers refreshing the same user's token.
type LocalLock = Arc<tokio::sync::Mutex<()>>;

/// The registry's token store: a backend, the keys records are sealed with, and the local
/// locks that queue one process's callers for the same user.
pub(crate) struct Vault {
    pub backend: Arc<dyn TokenBackend>,
    pub sealer: Sealer,
    /// How long a refresh lease lasts; `None`: the provider's timeout and 5 seconds.
    pub lease: Option<Duration>,
    pub login_required: Vec<LoginRequiredHook>,
    locks: Mutex<HashMap<(usize, String), LocalLock>>,
    /// This process's part of each lease holder's name.
    pub holder: String,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("sealer", &self.sealer)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(
        backend: Arc<dyn TokenBackend>,
        sealer: Sealer,
        lease: Option<Duration>,
        login_required: Vec<LoginRequiredHook>,
    ) -> Vault {
        Vault {
            backend,
            sealer,
            lease,
            login_required,
            locks: Mutex::default(),
            holder: format!(
                "{}-{}",
                std::process::id(),
                crate::oauth1::nonce().unwrap_or_default()
            ),
        }
    }

    pub(crate) fn lock_for(&self, provider: usize, user: &str) -> LocalLock {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Locks nobody holds or waits for are dropped, so the map stays as small as the
        // number of users being served right now.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks
            .entry((provider, user.to_string()))
            .or_default()
            .clone()
    }
}
