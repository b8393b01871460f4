//! Pending logins in the user's session, keyed by `state`.
//!
//! Each provider has one session entry: a small map from `state` to what the callback needs
//! (redirect URI, PKCE verifier, nonce). Several tabs can therefore log in at once. Entries
//! expire (checked when read, unlike Authlib, which never checks), and the map is bounded
//! (oldest dropped) so a cookie-backed session cannot grow without limit (Authlib #622). A
//! used entry stays behind as a tombstone until it expires, so a replayed callback is told
//! apart from a forged one.

use crate::error::{Error, SessionError};
use crate::session::Session;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// What the callback needs from the authorization request that started the login.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingLogin {
    /// The `state` sent to the provider.
    pub state: String,
    /// The `redirect_uri` sent, which the code exchange must repeat (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The PKCE verifier, when PKCE is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// The nonce sent, for OpenID Connect providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// When the login started, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // state, verifier and nonce are one-time secrets of this login.
        f.debug_struct("PendingLogin")
            .field("redirect_uri", &self.redirect_uri)
            .field("created_ms", &self.created_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Entries {
    #[serde(default)]
    pending: BTreeMap<String, Stored>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "t")]
    created_ms: u64,
    /// `None` once used (a tombstone).
    #[serde(default, rename = "d", skip_serializing_if = "Option::is_none")]
    data: Option<StoredData>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredData {
    #[serde(rename = "r")]
    redirect_uri: String,
    #[serde(default, rename = "v", skip_serializing_if = "Option::is_none")]
    code_verifier: Option<String>,
    #[serde(default, rename = "n", skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
}

/// How pending logins are kept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StatePolicy {
    pub ttl: Duration,
    pub max_pending: usize,
}

fn key(provider: &str) -> String {
    format!("oauth_clients.{provider}.logins")
}

async fn load<S: Session>(session: &S, provider: &str) -> Result<Entries, Error> {
    match session.get(&key(provider)).await? {
        // Unreadable data (an older format, or tampering) is treated as no pending logins.
        Some(value) => Ok(serde_json::from_value(value).unwrap_or_default()),
        None => Ok(Entries::default()),
    }
}

async fn save<S: Session>(session: &S, provider: &str, entries: &Entries) -> Result<(), Error> {
    if entries.pending.is_empty() {
        session.remove(&key(provider)).await?;
        return Ok(());
    }
    let value = serde_json::to_value(entries).map_err(SessionError::new)?;
    session.insert(&key(provider), value).await?;
    Ok(())
}

impl Entries {
    /// Drops expired entries, then the oldest until at most `max` remain of each kind.
    fn prune(&mut self, now_ms: u64, policy: StatePolicy) {
        let ttl = policy.ttl.as_millis() as u64;
        self.pending
            .retain(|_, stored| now_ms.saturating_sub(stored.created_ms) <= ttl);
        for tombstones in [false, true] {
            let mut of_kind: Vec<(u64, String)> = self
                .pending
                .iter()
                .filter(|(_, s)| s.data.is_none() == tombstones)
                .map(|(state, s)| (s.created_ms, state.clone()))
                .collect();
            if of_kind.len() > policy.max_pending {
                of_kind.sort();
                let excess = of_kind.len() - policy.max_pending;
                for (_, state) in of_kind.into_iter().take(excess) {
                    self.pending.remove(&state);
                }
            }
        }
    }
}

/// Records a new pending login.
pub(crate) async fn store<S: Session>(
    session: &S,
    provider: &str,
    login: &PendingLogin,
    now_ms: u64,
    policy: StatePolicy,
) -> Result<(), Error> {
    let mut entries = load(session, provider).await?;
    entries.pending.insert(
        login.state.clone(),
        Stored {
            created_ms: login.created_ms,
            data: Some(StoredData {
                redirect_uri: login.redirect_uri.clone(),
                code_verifier: login.code_verifier.clone(),
                nonce: login.nonce.clone(),
            }),
        },
    );
    entries.prune(now_ms, policy);
    save(session, provider, &entries).await
}

/// Takes the pending login for `state`: one use only, and only before it expires.
pub(crate) async fn consume<S: Session>(
    session: &S,
    provider: &'static str,
    state: &str,
    now_ms: u64,
    policy: StatePolicy,
) -> Result<PendingLogin, Error> {
    let mut entries = load(session, provider).await?;
    let found = entries.pending.get(state).cloned();
    let outcome = match found {
        None => Err(Error::UnknownState { provider }),
        Some(Stored { data: None, .. }) => Err(Error::ReplayedState { provider }),
        Some(Stored { created_ms, .. })
            if now_ms.saturating_sub(created_ms) > policy.ttl.as_millis() as u64 =>
        {
            Err(Error::ExpiredState { provider })
        }
        Some(Stored {
            created_ms,
            data: Some(data),
        }) => {
            // Leave a tombstone: a second use is then a replay, not an unknown state.
            entries.pending.insert(
                state.to_string(),
                Stored {
                    created_ms,
                    data: None,
                },
            );
            Ok(PendingLogin {
                state: state.to_string(),
                redirect_uri: data.redirect_uri,
                code_verifier: data.code_verifier,
                nonce: data.nonce,
                created_ms,
            })
        }
    };
    if !matches!(outcome, Err(Error::UnknownState { .. })) {
        entries.prune(now_ms, policy);
        save(session, provider, &entries).await?;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MemorySession;

    const POLICY: StatePolicy = StatePolicy {
        ttl: Duration::from_secs(600),
        max_pending: 3,
    };

    fn login(state: &str, created_ms: u64) -> PendingLogin {
        PendingLogin {
            state: state.into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            code_verifier: Some("v".into()),
            nonce: None,
            created_ms,
        }
    }

    #[tokio::test]
    async fn state_is_single_use_and_expires() {
        let session = MemorySession::new();
        store(&session, "p", &login("a", 1_000), 1_000, POLICY)
            .await
            .unwrap();
        store(&session, "p", &login("b", 2_000), 2_000, POLICY)
            .await
            .unwrap();
        let taken = consume(&session, "p", "a", 3_000, POLICY).await.unwrap();
        assert_eq!(taken.code_verifier.as_deref(), Some("v"));
        assert!(matches!(
            consume(&session, "p", "a", 3_000, POLICY).await,
            Err(Error::ReplayedState { provider: "p" })
        ));
        assert!(matches!(
            consume(&session, "p", "zzz", 3_000, POLICY).await,
            Err(Error::UnknownState { provider: "p" })
        ));
        assert!(matches!(
            consume(&session, "p", "b", 2_000 + 600_001, POLICY).await,
            Err(Error::ExpiredState { provider: "p" })
        ));
    }

    #[tokio::test]
    async fn pending_logins_are_bounded_oldest_first() {
        let session = MemorySession::new();
        for (i, state) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let t = 1_000 * (i as u64 + 1);
            store(&session, "p", &login(state, t), t, POLICY)
                .await
                .unwrap();
        }
        let stored = session.value("oauth_clients.p.logins").unwrap();
        let states: Vec<&String> = stored["pending"].as_object().unwrap().keys().collect();
        assert_eq!(states, ["c", "d", "e"]);
        assert!(matches!(
            consume(&session, "p", "a", 6_000, POLICY).await,
            Err(Error::UnknownState { .. })
        ));
    }
}
