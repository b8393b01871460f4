//! The user's session, as the flows need it: a few JSON values under string keys.
//!
//! Adapters exist for tower-sessions (feature `axum`) and actix-session (feature `actix`);
//! [`MemorySession`] serves tests and framework-free programs. The trait's futures are not
//! required to be `Send`, because actix-session's handle is not; with a `Send` session (such as
//! tower-sessions') the flows' futures are `Send` too.

use crate::error::SessionError;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Storage of per-user values between the login redirect and the callback.
///
/// Implement it for another framework's session in a few lines; the values are JSON. What the
/// flows store (state, PKCE verifier, nonce) must stay on the server or in an encrypted cookie:
/// with a cookie store, use one that encrypts (e.g. private cookies).
pub trait Session {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Value>, SessionError>>;
    /// Stores `value` under `key`, replacing any previous value.
    fn insert(&self, key: &str, value: Value) -> impl Future<Output = Result<(), SessionError>>;
    /// Removes the value under `key`, if any.
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>>;
}

impl<S: Session> Session for &S {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Value>, SessionError>> {
        (**self).get(key)
    }
    fn insert(&self, key: &str, value: Value) -> impl Future<Output = Result<(), SessionError>> {
        (**self).insert(key, value)
    }
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> {
        (**self).remove(key)
    }
}

/// A session held in memory: for tests, command-line programs and examples. Clones share data.
#[derive(Clone, Debug, Default)]
pub struct MemorySession {
    values: Arc<Mutex<HashMap<String, Value>>>,
}

impl MemorySession {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys currently stored, sorted (e.g. to check what a flow left behind).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The value under `key`, without going through the async trait.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.lock().get(key).cloned()
    }

    /// Sets a value directly, e.g. to simulate a tampered or stale session in a test.
    pub fn set_value(&self, key: &str, value: Value) {
        self.lock().insert(key.to_string(), value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Value>> {
        // A panic while holding the lock cannot leave the map half-written (every operation
        // is a single insert or remove), so a poisoned lock is still consistent.
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Session for MemorySession {
    async fn get(&self, key: &str) -> Result<Option<Value>, SessionError> {
        Ok(self.lock().get(key).cloned())
    }
    async fn insert(&self, key: &str, value: Value) -> Result<(), SessionError> {
        self.lock().insert(key.to_string(), value);
        Ok(())
    }
    async fn remove(&self, key: &str) -> Result<(), SessionError> {
        self.lock().remove(key);
        Ok(())
    }
}
