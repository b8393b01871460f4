//! A value fetched over HTTP (a discovery document, a key set): fetched once however many
//! callers wait for it, fresh for a while, then served stale while a background task refreshes
//! it, and kept when that refresh fails (stale-if-error), with a pause before the next try so a
//! provider that is down is not asked on every login. Time comes from the registry's clock, so
//! tests can let it pass.

use crate::error::Error;
use crate::token::Token;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// How long a stale value is served without retrying after a refresh failed.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

pub(crate) struct Cached<T> {
    state: Arc<State<T>>,
}

struct State<T> {
    entry: RwLock<Option<Entry<T>>>,
    /// Held while fetching, so concurrent first callers make one request.
    fetching: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

struct Entry<T> {
    value: Arc<T>,
    fresh_until: SystemTime,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached {
            state: Arc::new(State {
                entry: RwLock::new(None),
                fetching: tokio::sync::Mutex::new(()),
                refreshing: AtomicBool::new(false),
            }),
        }
    }
}

impl<T> State<T> {
    fn current(&self, now: SystemTime) -> Option<(Arc<T>, bool)> {
        let entry = self.entry.read().unwrap_or_else(|p| p.into_inner());
        entry
            .as_ref()
            .map(|e| (e.value.clone(), now < e.fresh_until))
    }

    fn store(&self, value: Arc<T>, now: SystemTime, ttl: Duration) {
        *self.entry.write().unwrap_or_else(|p| p.into_inner()) = Some(Entry {
            value,
            fresh_until: now + ttl,
        });
    }

    fn postpone(&self, now: SystemTime) {
        if let Some(entry) = self
            .entry
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            entry.fresh_until = now + RETRY_AFTER_FAILURE;
        }
    }
}

impl<T: Send + Sync + 'static> Cached<T> {
    /// The cached value: fetched now if there is none, refreshed in the background if stale.
    /// `fetch` gives the value and how long it stays fresh; it owns what it needs, because a
    /// background refresh outlives the call.
    pub async fn get<F, Fut>(&self, now: SystemTime, fetch: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(T, Duration), Error>> + Send + 'static,
    {
        match self.state.current(now) {
            Some((value, true)) => Ok(value),
            Some((value, false)) => {
                if !self.state.refreshing.swap(true, Ordering::AcqRel) {
                    let state = self.state.clone();
                    tokio::spawn(async move {
                        match fetch().await {
                            Ok((value, ttl)) => state.store(Arc::new(value), now, ttl),
                            Err(error) => {
                                tracing::warn!(%error, "refresh failed; the cached value stays in use");
                                state.postpone(now)
                            }
                        }
                        state.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(value)
            }
            None => {
                let _fetching = self.state.fetching.lock().await;
                // Another caller may have fetched it while this one waited.
                if let Some((value, _)) = self.state.current(now) {
                    return Ok(value);
                }
                self.fetch_and_store(now, fetch).await
            }
        }
    }

    /// Fetches now, replacing the cached value on success; on failure the old one stays.
    pub async fn refetch<F, Fut>(&self, now: SystemTime, fetch: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Duration), Error>>,
    {
        let _fetching = self.state.fetching.lock().await;
        self.fetch_and_store(now, fetch).await
    }

    async fn fetch_and_store<F, Fut>(&self, now: SystemTime, fetch: F) -> Result<Arc<T>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Duration), Error>>,
    {
        let (value, ttl) = fetch().await?;
        let value = Arc::new(value);
        self.state.store(value.clone(), now, ttl);
        Ok(value)
    }
}

/// The least time between two refetches caused by unknown keys.
pub(crate) const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(60);

/// When the last refetch for an unknown key happened, per provider.
#[derive(Default)]
pub(crate) struct RefetchGate {
    last: Mutex<Option<Instant>>,
}

impl RefetchGate {
    /// Whether a refetch may happen now; if so, it is recorded as happening.
    pub fn try_pass(&self) -> bool {
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

/// The client credentials tokens of one provider, by scope (`""`: none asked for).
#[derive(Default)]
pub(crate) struct ServiceTokens {
    tokens: Mutex<HashMap<String, Token>>,
}

impl ServiceTokens {
    pub(crate) fn get(&self, scope: &str) -> Option<Token> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scope)
            .cloned()
    }

    pub(crate) fn put(&self, scope: &str, token: Token) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scope.to_string(), token);
    }
}
