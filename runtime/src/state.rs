//! Pending logins (and logouts) in the user's session, keyed by their one-time `state`.
//!
//! Each provider has one session entry: a short list of `state`s with what the callback needs
//! (redirect URI, PKCE verifier, nonce). Several tabs can therefore log in at once. Entries
//! expire (checked when read, unlike Authlib, which never checks), and the list is bounded
//! (oldest dropped) so a cookie-backed session cannot grow without limit (Authlib #622). A
//! used entry stays behind as a tombstone until it expires, so a replayed callback is told
//! apart from a forged one.

use crate::config::StatePolicy;
use crate::error::{Error, SessionError};
use crate::session::Session;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// One provider's entries of one kind, as the session keeps them: a JSON array of
/// `[state, created_ms, data]` arrays, `data` being null once the entry was used.
///
/// Arrays rather than objects, because of the server's memory: serde_json holds an object in
/// a `BTreeMap`, whose smallest node takes about 630 bytes, and the earlier object form (an
/// object per entry and per login, inside an object) cost the example app about 3.2 KiB per
/// pending login in an in-memory session store, where the arrays cost a few hundred bytes
/// (see BENCHMARKS.md, "The example app under load"). The JSON is shorter too, which matters
/// to cookie-backed sessions.
#[derive(Serialize, Deserialize, Default)]
#[serde(transparent)]
struct Entries {
    entries: Vec<Stored>,
}

#[derive(Deserialize)]
#[serde(from = "StoredForm")]
struct Stored {
    state: String,
    created_ms: u64,
    /// `None` once used (a tombstone).
    data: Option<Value>,
}

type StoredForm = (String, u64, Option<Value>);

impl From<StoredForm> for Stored {
    fn from((state, created_ms, data): StoredForm) -> Self {
        Stored {
            state,
            created_ms,
            data,
        }
    }
}

impl Serialize for Stored {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.state, self.created_ms, &self.data).serialize(serializer)
    }
}

/// A pending login's data, stored as the array `[redirect_uri, code_verifier, nonce]` (null
/// for an absent verifier or nonce).
type LoginData = (String, Option<String>, Option<String>);

/// What a one-time state guards: a login, or an RP-initiated logout.
#[derive(Clone, Copy)]
pub(crate) enum Purpose {
    Login,
    Logout,
    /// An OAuth 1.0a login, keyed by its request token.
    OAuth1Login,
}

fn key(provider: &str, purpose: Purpose) -> String {
    match purpose {
        Purpose::Login => format!("oauth_clients.{provider}.logins"),
        Purpose::Logout => format!("oauth_clients.{provider}.logouts"),
        Purpose::OAuth1Login => format!("oauth_clients.{provider}.requests"),
    }
}

async fn load<S: Session>(session: &S, key: &str) -> Result<Entries, Error> {
    match session.get(key).await? {
        // Unreadable data (an older format, or tampering) is treated as nothing pending.
        Some(value) => Ok(serde_json::from_value(value).unwrap_or_default()),
        None => Ok(Entries::default()),
    }
}

async fn save<S: Session>(session: &S, key: &str, entries: &Entries) -> Result<(), Error> {
    if entries.entries.is_empty() {
        session.remove(key).await?;
        return Ok(());
    }
    let value = serde_json::to_value(entries).map_err(SessionError::new)?;
    session.insert(key, value).await?;
    Ok(())
}

impl Entries {
    /// Drops expired entries, then the oldest until at most `max` remain of each kind.
    fn prune(&mut self, now_ms: u64, policy: StatePolicy) {
        let ttl = policy.ttl.as_millis() as u64;
        self.entries
            .retain(|stored| now_ms.saturating_sub(stored.created_ms) <= ttl);
        for tombstones in [false, true] {
            // (created, index) of this kind's entries, oldest first: the extra ones go.
            let mut of_kind: Vec<(u64, usize)> = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, s)| s.data.is_none() == tombstones)
                .map(|(i, s)| (s.created_ms, i))
                .collect();
            if of_kind.len() <= policy.max_pending {
                continue;
            }
            of_kind.sort_unstable();
            let mut dropped = vec![false; self.entries.len()];
            for &(_, i) in &of_kind[..of_kind.len() - policy.max_pending] {
                dropped[i] = true;
            }
            let mut i = 0;
            self.entries.retain(|_| {
                i += 1;
                !dropped[i - 1]
            });
        }
    }

    fn position(&self, state: &str) -> Option<usize> {
        self.entries.iter().position(|s| s.state == state)
    }
}

/// Records `data` under a new one-time `state`.
pub(crate) async fn store_value<S: Session>(
    session: &S,
    provider: &str,
    purpose: Purpose,
    state: &str,
    data: Value,
    created_ms: u64,
    policy: StatePolicy,
) -> Result<(), Error> {
    let key = key(provider, purpose);
    let mut entries = load(session, &key).await?;
    if let Some(same) = entries.position(state) {
        entries.entries.remove(same);
    }
    entries.entries.push(Stored {
        state: state.to_string(),
        created_ms,
        data: Some(data),
    });
    entries.prune(created_ms, policy);
    save(session, &key, &entries).await
}

/// Takes what was stored under `state`: one use only, and only before it expires.
pub(crate) async fn consume_value<S: Session>(
    session: &S,
    provider: &'static str,
    purpose: Purpose,
    state: &str,
    now_ms: u64,
    policy: StatePolicy,
) -> Result<(Value, u64), Error> {
    let key = key(provider, purpose);
    let mut entries = load(session, &key).await?;
    let index = entries.position(state);
    let outcome = match index.map(|i| &mut entries.entries[i]) {
        None => Err(Error::UnknownState { provider }),
        Some(Stored { data: None, .. }) => Err(Error::ReplayedState { provider }),
        Some(stored)
            if now_ms.saturating_sub(stored.created_ms) > policy.ttl.as_millis() as u64 =>
        {
            Err(Error::ExpiredState { provider })
        }
        // Taking the data leaves a tombstone: a second use is then a replay, not an unknown
        // state.
        Some(stored) => match stored.data.take() {
            Some(data) => Ok((data, stored.created_ms)),
            None => Err(Error::ReplayedState { provider }),
        },
    };
    if !matches!(outcome, Err(Error::UnknownState { .. })) {
        entries.prune(now_ms, policy);
        save(session, &key, &entries).await?;
    }
    outcome
}

/// Records a new pending login.
pub(crate) async fn store<S: Session>(
    session: &S,
    provider: &str,
    login: &PendingLogin,
    policy: StatePolicy,
) -> Result<(), Error> {
    let data: LoginData = (
        login.redirect_uri.clone(),
        login.code_verifier.clone(),
        login.nonce.clone(),
    );
    let data = serde_json::to_value(data).map_err(SessionError::new)?;
    store_value(
        session,
        provider,
        Purpose::Login,
        &login.state,
        data,
        login.created_ms,
        policy,
    )
    .await
}

/// Takes the pending login for `state`: one use only, and only before it expires.
pub(crate) async fn consume<S: Session>(
    session: &S,
    provider: &'static str,
    state: &str,
    now_ms: u64,
    policy: StatePolicy,
) -> Result<PendingLogin, Error> {
    let (data, created_ms) =
        consume_value(session, provider, Purpose::Login, state, now_ms, policy).await?;
    // Data this library wrote; anything else in its place is treated as unknown.
    let (redirect_uri, code_verifier, nonce): LoginData =
        serde_json::from_value(data).map_err(|_| Error::UnknownState { provider })?;
    Ok(PendingLogin {
        state: state.to_string(),
        redirect_uri,
        code_verifier,
        nonce,
        created_ms,
    })
}

/// Where the ID token of the session's login is kept, for `id_token_hint`.
pub(crate) fn id_token_key(provider: &str) -> String {
    format!("oauth_clients.{provider}.id_token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MemorySession;

    const POLICY: StatePolicy = StatePolicy {
        ttl: std::time::Duration::from_secs(600),
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
        store(&session, "p", &login("a", 1_000), POLICY)
            .await
            .unwrap();
        store(&session, "p", &login("b", 2_000), POLICY)
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
    async fn a_pending_login_is_kept_as_arrays() {
        let session = MemorySession::new();
        let mut pending = login("s", 1_000);
        pending.nonce = Some("n".into());
        store(&session, "p", &pending, POLICY).await.unwrap();
        let stored = session.value("oauth_clients.p.logins").unwrap();
        assert_eq!(
            stored,
            serde_json::json!([["s", 1000, ["http://127.0.0.1/cb", "v", "n"]]])
        );
        consume(&session, "p", "s", 2_000, POLICY).await.unwrap();
        // Used: a tombstone, its data gone.
        let stored = session.value("oauth_clients.p.logins").unwrap();
        assert_eq!(stored, serde_json::json!([["s", 1000, null]]));
    }

    #[tokio::test]
    async fn a_state_stored_twice_keeps_the_later_data_once() {
        let session = MemorySession::new();
        store(&session, "p", &login("s", 1_000), POLICY)
            .await
            .unwrap();
        let mut again = login("s", 2_000);
        again.code_verifier = Some("w".into());
        store(&session, "p", &again, POLICY).await.unwrap();
        let stored = session.value("oauth_clients.p.logins").unwrap();
        assert_eq!(stored.as_array().unwrap().len(), 1);
        let taken = consume(&session, "p", "s", 3_000, POLICY).await.unwrap();
        assert_eq!(taken.code_verifier.as_deref(), Some("w"));
        assert_eq!(taken.created_ms, 2_000);
    }

    /// Stores logins "a" to "e", started 1 to 5 s after the epoch; each used at once if
    /// `use_each`.
    async fn five_logins(session: &MemorySession, use_each: bool) {
        for (i, state) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let t = 1_000 * (i as u64 + 1);
            store(session, "p", &login(state, t), POLICY).await.unwrap();
            if use_each {
                consume(session, "p", state, t, POLICY).await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn tombstones_are_bounded_apart_from_pending_logins() {
        let session = MemorySession::new();
        five_logins(&session, true).await;
        store(&session, "p", &login("f", 9_000), POLICY)
            .await
            .unwrap();
        let stored = session.value("oauth_clients.p.logins").unwrap();
        // The three newest tombstones, and the pending login.
        assert_eq!(
            stored,
            serde_json::json!([
                ["c", 3000, null],
                ["d", 4000, null],
                ["e", 5000, null],
                ["f", 9000, ["http://127.0.0.1/cb", "v", null]]
            ])
        );
        assert!(matches!(
            consume(&session, "p", "b", 9_000, POLICY).await,
            Err(Error::UnknownState { .. })
        ));
        assert!(matches!(
            consume(&session, "p", "c", 9_000, POLICY).await,
            Err(Error::ReplayedState { .. })
        ));
    }

    #[tokio::test]
    async fn pending_logins_are_bounded_oldest_first() {
        let session = MemorySession::new();
        five_logins(&session, false).await;
        let stored = session.value("oauth_clients.p.logins").unwrap();
        let states: Vec<&str> = stored
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry[0].as_str().unwrap())
            .collect();
        assert_eq!(states, ["c", "d", "e"]);
        assert!(matches!(
            consume(&session, "p", "a", 6_000, POLICY).await,
            Err(Error::UnknownState { .. })
        ));
    }
}
