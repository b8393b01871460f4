//! Token refresh: one request per refresh token, however many callers, and the token-update
//! hooks (the Django `token_update` signal) awaited before anyone uses the new token.
//!
//! Many providers rotate refresh tokens and treat a second use of a spent one as theft,
//! revoking the whole grant (RFC 9700 §4.14.2): two browser tabs refreshing at once would log the
//! user out. So refreshes are single-flight per (provider, refresh token): the first caller
//! does it, the others wait for its result. The result is kept for a short while, so a caller
//! that arrives later with the spent token gets the new one instead of spending it again.

use crate::error::Error;
use crate::token::Token;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long a finished refresh answers callers that still hold the spent refresh token.
const REUSE_WINDOW: Duration = Duration::from_secs(60);

/// What a token-update hook is told: the Django `token_update` signal's arguments.
#[derive(Clone)]
pub struct TokenUpdate {
    /// The provider's name.
    pub provider: &'static str,
    /// The new token.
    pub token: Token,
    /// The refresh token that was spent, to find the stored token by.
    pub refresh_token: Option<String>,
    /// The access token that was replaced.
    pub access_token: Option<String>,
}

impl fmt::Debug for TokenUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenUpdate")
            .field("provider", &self.provider)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Why a token-update hook failed: any error, boxed (like `anyhow::Error`).
///
/// A hook returns `Result<(), HookError>`, so `async { Ok(()) }` needs no type annotation,
/// and `?` converts any error (`std::io::Error`, a database error, ...) into it; for a plain
/// message, use [`HookError::msg`]. The call that refreshed then fails with
/// [`Error::TokenUpdateHook`], whose message is this error's text.
pub struct HookError(Box<dyn std::error::Error + Send + Sync>);

impl HookError {
    /// A hook error with `message` as its text.
    pub fn msg(message: impl fmt::Display) -> Self {
        HookError(message.to_string().into())
    }

    /// The underlying error.
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.0
    }
}

// Not `std::error::Error` itself, so that this blanket conversion (what `?` uses) can exist.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for HookError {
    fn from(error: E) -> Self {
        HookError(Box::new(error))
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send>>;
pub(crate) type Hook = Arc<dyn Fn(TokenUpdate) -> HookFuture + Send + Sync>;

struct Flight {
    outcome: OnceCell<Result<Token, Error>>,
    finished: Mutex<Option<Instant>>,
}

/// Refreshes in flight, and those finished within the reuse window.
#[derive(Default)]
pub(crate) struct Flights {
    flights: Mutex<HashMap<(usize, String), Arc<Flight>>>,
}

impl Flights {
    /// Runs `refresh` for this refresh token unless one is running or just finished, in
    /// which case its outcome is shared.
    pub async fn run<F>(
        &self,
        provider: usize,
        refresh_token: &str,
        refresh: F,
    ) -> Result<Token, Error>
    where
        F: Future<Output = Result<Token, Error>>,
    {
        let key = (provider, refresh_token.to_string());
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            flights.retain(|_, flight| {
                flight
                    .finished
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_none_or(|at| at.elapsed() < REUSE_WINDOW)
            });
            flights
                .entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(Flight {
                        outcome: OnceCell::new(),
                        finished: Mutex::new(None),
                    })
                })
                .clone()
        };
        let outcome = flight
            .outcome
            .get_or_init(|| async {
                let outcome = refresh.await;
                *flight.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                outcome
            })
            .await
            .clone();
        // A failed request (network, provider) may be retried by a later call; a refresh
        // that produced a token (even if a hook then failed) must never be repeated.
        if matches!(&outcome, Err(e) if !matches!(e, Error::TokenUpdateHook { .. })) {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                flights.remove(&key);
            }
        }
        outcome
    }
}

/// Calls every hook in order, stopping at the first failure, which keeps the new token.
pub(crate) async fn run_hooks(hooks: &[Hook], update: TokenUpdate) -> Result<Token, Error> {
    for hook in hooks {
        if let Err(error) = hook(update.clone()).await {
            return Err(Error::TokenUpdateHook {
                provider: update.provider,
                message: error.to_string(),
                token: Box::new(update.token),
            });
        }
    }
    Ok(update.token)
}
