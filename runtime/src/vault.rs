//! The token store as the registry holds it: the backend, the sealing keys, the hooks told
//! when a user must log in again, and the local locks that queue one process's callers; and
//! what a record holds in clear. The flows over it are in `stored`.

use crate::error::Error;
use crate::seal::Sealer;
use crate::store::TokenBackend;
use crate::token::{OAuth1Token, Token};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A record in clear: `{"kind": "o_auth2", "token": {...}, "dpop_key": {...}}`, and the same
/// with `o_auth1` or `login_required`. Serialized by serde's internal tagging; read by
/// [`Deserialize`] below, which decodes the token in place when `kind` comes first (as it is
/// written) instead of buffering the whole record first.
#[derive(Clone, Serialize)]
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

/// The record's `kind`.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    OAuth2,
    OAuth1,
    LoginRequired,
}

/// A record's field name, read without copying it.
enum Field {
    Kind,
    Token,
    DpopKey,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Field;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "kind" => Field::Kind,
                    "token" => Field::Token,
                    "dpop_key" => Field::DpopKey,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Stored, D::Error> {
        struct Record;
        impl<'de> Visitor<'de> for Record {
            type Value = Stored;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token store record")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Stored, A::Error> {
                let mut kind: Option<Kind> = None;
                // The token, decoded as `kind` says when `kind` came first, kept as JSON
                // otherwise (a record written in another order, e.g. by hand).
                let mut oauth2: Option<Box<Token>> = None;
                let mut oauth1: Option<OAuth1Token> = None;
                let mut later: Option<serde_json::Value> = None;
                let mut seen_token = false;
                let mut dpop_key: Option<Option<crate::dpop::StoredKey>> = None;
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Kind if kind.is_some() => {
                            return Err(de::Error::duplicate_field("kind"))
                        }
                        Field::Kind => kind = Some(map.next_value()?),
                        Field::Token if seen_token => {
                            return Err(de::Error::duplicate_field("token"))
                        }
                        Field::Token => {
                            seen_token = true;
                            match kind {
                                Some(Kind::OAuth2) => oauth2 = Some(map.next_value()?),
                                Some(Kind::OAuth1) => oauth1 = Some(map.next_value()?),
                                _ => later = Some(map.next_value()?),
                            }
                        }
                        Field::DpopKey if dpop_key.is_some() => {
                            return Err(de::Error::duplicate_field("dpop_key"))
                        }
                        Field::DpopKey => dpop_key = Some(map.next_value()?),
                        Field::Other => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                fn decode<T: serde::de::DeserializeOwned, E: de::Error>(
                    decoded: Option<T>,
                    later: Option<serde_json::Value>,
                ) -> Result<T, E> {
                    match (decoded, later) {
                        (Some(token), _) => Ok(token),
                        (None, Some(value)) => serde_json::from_value(value).map_err(E::custom),
                        (None, None) => Err(E::missing_field("token")),
                    }
                }
                match kind.ok_or_else(|| de::Error::missing_field("kind"))? {
                    Kind::OAuth2 => Ok(Stored::OAuth2 {
                        token: decode(oauth2, later)?,
                        dpop_key: dpop_key.flatten(),
                    }),
                    Kind::OAuth1 => Ok(Stored::OAuth1 {
                        token: decode(oauth1, later)?,
                    }),
                    Kind::LoginRequired => Ok(Stored::LoginRequired),
                }
            }
        }
        deserializer.deserialize_map(Record)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: serde_json::Value) -> Result<Stored, String> {
        serde_json::from_slice(&serde_json::to_vec(&value).unwrap()).map_err(|e| e.to_string())
    }

    fn token() -> serde_json::Value {
        json!({"access_token": "at", "token_type": "Bearer", "expires_at": 7, "refresh_token": "rt", "x_custom": [1]})
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let written = serde_json::to_value(Stored::OAuth2 {
            token: serde_json::from_value(token()).unwrap(),
            dpop_key: Some(crate::dpop::StoredKey {
                alg: "ES256".into(),
                pkcs8: "k".into(),
            }),
        })
        .unwrap();
        // The form in the store, which records already written keep.
        assert_eq!(
            written,
            json!({"kind": "o_auth2", "token": token(), "dpop_key": {"alg": "ES256", "pkcs8": "k"}})
        );
        match read(written).unwrap() {
            Stored::OAuth2 { token, dpop_key } => {
                assert_eq!(token.access_token, "at");
                assert_eq!(token.refresh_token.as_deref(), Some("rt"));
                assert_eq!(token.expires_at, Some(7));
                assert_eq!(token.extra["x_custom"], json!([1]));
                assert_eq!(dpop_key.unwrap().alg, "ES256");
            }
            _ => panic!("not an OAuth 2.0 record"),
        }
        let oauth1 = json!({"kind": "o_auth1", "token": {"oauth_token": "t", "oauth_token_secret": "s", "user_id": "9"}});
        assert_eq!(
            serde_json::to_value(read(oauth1.clone()).unwrap()).unwrap(),
            oauth1
        );
        let gone = json!({"kind": "login_required"});
        assert!(matches!(read(gone.clone()).unwrap(), Stored::LoginRequired));
        assert_eq!(serde_json::to_value(Stored::LoginRequired).unwrap(), gone);
    }

    #[test]
    fn a_record_in_another_order_or_with_more_fields_reads_the_same() {
        // Written out by hand: `json!` would sort the keys.
        let record = format!(
            r#"{{"token": {}, "written_by": "hand", "kind": "o_auth2"}}"#,
            token()
        );
        match serde_json::from_str(&record).unwrap() {
            Stored::OAuth2 { token, dpop_key } => {
                assert_eq!(token.access_token, "at");
                assert_eq!(token.extra["x_custom"], json!([1]));
                assert!(dpop_key.is_none());
            }
            _ => panic!("not an OAuth 2.0 record"),
        }
        let later: Stored = serde_json::from_str(
            r#"{"token": {"oauth_token": "t", "oauth_token_secret": "s"}, "kind": "o_auth1"}"#,
        )
        .unwrap();
        assert!(matches!(later, Stored::OAuth1 { token } if token.oauth_token == "t"));
    }

    #[test]
    fn a_broken_record_is_an_error() {
        let cases = [
            (r#"{"token": {}}"#, "missing field `kind`"),
            (r#"{"kind": "o_auth2"}"#, "missing field `token`"),
            (
                r#"{"kind": "o_auth9", "token": {}}"#,
                "unknown variant `o_auth9`",
            ),
            (
                r#"{"kind": "o_auth2", "kind": "o_auth1", "token": {}}"#,
                "duplicate field `kind`",
            ),
            (
                r#"{"kind": "o_auth1", "token": {"oauth_token": "t", "oauth_token_secret": "s"}, "token": {}}"#,
                "duplicate field `token`",
            ),
            (
                r#"{"kind": "o_auth2", "token": {"token_type": "Bearer"}}"#,
                "missing field `access_token`",
            ),
            (
                r#"{"token": {"token_type": "Bearer"}, "kind": "o_auth2"}"#,
                "missing field `access_token`",
            ),
            (
                r#"["o_auth2"]"#,
                "invalid type: sequence, expected a token store record",
            ),
        ];
        for (record, error) in cases {
            let read = serde_json::from_str::<Stored>(record)
                .err()
                .map(|e| e.to_string());
            assert!(
                read.as_deref().is_some_and(|e| e.starts_with(error)),
                "{record}: {read:?}"
            );
        }
    }
}
