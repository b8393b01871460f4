//! OpenID Connect Back-Channel Logout 1.0 (the final text of 2022, which took in errata set 1),
//! the relying party's side: the provider POSTs a signed `logout_token` when a user's session
//! there ends, and the application ends its own sessions of that user.
//!
//! Three parts:
//! - validation of the logout token (§2.6), a pure function of its claims here
//!   ([`check_logout_claims`]) after the header and signature checks ID tokens get
//!   (`id_token`), with `typ` `logout+jwt` accepted (§2.4 recommends explicit typing; ID tokens
//!   keep refusing it), and its `jti` remembered so that it is accepted once (§2.6 step 8);
//! - the session index: after a login, the application's key for its session is recorded under
//!   `(iss, sid)` and `(iss, sub)` of the validated ID token, with an expiry;
//! - [`Client::backchannel_logout`], which does both and hands back a [`BackchannelLogout`]
//!   with the sessions to end.
//!
//! The replay memory and the index live in the registry's token store: a shared store (one
//! without a key of its own, see [`TokenBackend::process_key`](crate::TokenBackend)) makes
//! every process refuse a `jti` another one accepted and find sessions another one recorded.
//! Index records are sealed like tokens, since a session key is often the session cookie's
//! value; they are keyed by a hash of the issuer and the `sid` or `sub`.

use crate::context::Context;
use crate::error::{Error, IdTokenError, LogoutTokenError};
use crate::id_token::{self, Expectations, NonceRule};
use crate::registry::{Client, OpenIdProvider, Provider};
use crate::store::Record;
use crate::token::Token;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// The member of a logout token's `events` claim that makes it one (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The explicit type of logout tokens (§2.4, `typ` header).
const LOGOUT_TYP: &str = "logout+jwt";

/// The most sessions remembered for one `sid` or `sub`: the ones that expire first make room.
const MAX_SESSIONS: usize = 64;

/// The longest session key accepted.
const MAX_SESSION_KEY: usize = 512;

/// A logout the provider announced on the back channel, validated: whose, and which of the
/// application's sessions it ends.
///
/// `sessions` are the keys given to [`Client::remember_session`] for the token's `sid` (when
/// it has one, with those of its `sub` whose login had no `sid`) or else for its `sub`, and
/// not yet expired; they are removed from the index.
/// Its `Debug` output does not show them (a session key is often a session cookie).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackchannelLogout {
    /// The provider's name, as declared.
    pub provider: &'static str,
    /// The token's issuer (the provider's).
    pub iss: String,
    /// The user whose sessions end, when the token names one.
    pub sub: Option<String>,
    /// The provider's session that ended, when the token names one.
    pub sid: Option<String>,
    /// The application's sessions recorded for that `sid` (or, without one, that `sub`).
    pub sessions: Vec<String>,
}

impl fmt::Debug for BackchannelLogout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackchannelLogout")
            .field("provider", &self.provider)
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("sid", &self.sid)
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

/// What a valid logout token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogoutClaims {
    pub iss: String,
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    /// Its `exp`: the `jti` is remembered until then and the leeway.
    pub exp: i64,
}

/// §2.6 steps 4 to 7, once the signature passed: `iss`, `aud` (and `azp`), `iat` and `exp` as
/// for ID tokens; `sub` and/or `sid`; the back-channel logout event, an object; no `nonce`;
/// and a `jti` (§2.4 requires it; the replay check is the caller's).
pub(crate) fn check_logout_claims(
    claims: &Map<String, Value>,
    expected: &Expectations<'_>,
    now: i64,
) -> Result<LogoutClaims, LogoutTokenError> {
    id_token::check_issued(claims, expected, now)?;
    let optional = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(LogoutTokenError::Malformed(format!("`{name}` is empty"))),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(LogoutTokenError::Malformed(format!(
            "`{name}` is not a string"
        ))),
    };
    let sub = optional("sub")?;
    let sid = optional("sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(LogoutTokenError::MissingSubject);
    }
    match claims.get("events") {
        Some(Value::Object(events)) => match events.get(BACKCHANNEL_LOGOUT_EVENT) {
            Some(Value::Object(_)) => {}
            Some(_) => {
                return Err(LogoutTokenError::MalformedEvent(
                    "the back-channel logout event is not a JSON object".into(),
                ))
            }
            None => return Err(LogoutTokenError::MissingEvent),
        },
        None | Some(Value::Null) => return Err(LogoutTokenError::MissingEvent),
        Some(_) => {
            return Err(LogoutTokenError::MalformedEvent(
                "`events` is not a JSON object".into(),
            ))
        }
    }
    // Present at all, whatever its value: an ID token must never pass as a logout token.
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::HasNonce);
    }
    let jti = optional("jti")?.ok_or(LogoutTokenError::MissingClaim("jti"))?;
    let iss = optional("iss")?.ok_or(LogoutTokenError::MissingClaim("iss"))?;
    // A number: `check_issued` read it.
    let exp = claims
        .get("exp")
        .and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64)))
        .ok_or(LogoutTokenError::MissingClaim("exp"))?;
    Ok(LogoutClaims {
        iss,
        sub,
        sid,
        jti,
        exp,
    })
}

/// The whole validation with `keys` as they are, except the replay check: for the unit tests.
#[cfg(test)]
pub(crate) fn validate(
    token: &str,
    expected: &Expectations<'_>,
    keys: &crate::jose::KeySet,
    now: i64,
) -> Result<LogoutClaims, LogoutTokenError> {
    let parsed = id_token::parse_typed(token, expected, Some(LOGOUT_TYP))?;
    if parsed.is_hmac() {
        id_token::check_hmac(&parsed, expected.client_secret)?;
    } else {
        id_token::check_signature(&parsed, keys).map_err(|refusal| match refusal {
            crate::jose::JwsRefusal::NoKey => {
                LogoutTokenError::UnknownKey(parsed.kid().unwrap_or("(none)").to_string())
            }
            crate::jose::JwsRefusal::BadSignature => LogoutTokenError::BadSignature,
        })?;
    }
    check_logout_claims(parsed.claims(), expected, now)
}

/// A key of the store for `value` at `iss`: not the values themselves (a `sub` is personal
/// data), and of a fixed length whatever they are.
fn hashed(iss: &str, value: &str) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update((iss.len() as u64).to_be_bytes());
    hasher.update(iss.as_bytes());
    hasher.update(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// One remembered session.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct IndexEntry {
    /// The application's key for the session.
    key: String,
    /// When the entry expires (seconds since the epoch).
    until: u64,
    /// In the `sub` index: the login's ID token had no `sid`, so no `sid` can name it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    no_sid: bool,
}

/// The store's "provider" column for one of this module's kinds of record: the provider's
/// name and a suffix no declared name can have (`#`).
fn namespace(provider: &str, kind: &str) -> String {
    format!("{provider}#{kind}")
}

impl Context {
    fn index_error(&self, reason: impl fmt::Display) -> Error {
        Error::TokenStore {
            provider: self.name(),
            reason: reason.to_string(),
        }
    }

    /// Validates a logout token (§2.6) and remembers its `jti`: what it says, or why it was
    /// refused.
    pub(crate) async fn verify_logout_token(
        &self,
        logout_token: &str,
    ) -> Result<LogoutClaims, Error> {
        let provider = self.name();
        let fail = |reason: LogoutTokenError| Error::LogoutToken { provider, reason };
        let config = self.config()?;
        let metadata = self.cached_metadata().await?;
        // Step 2 to 4: as for ID tokens (the algorithms of `id_token_signing_alg_values_supported`,
        // and only the profile's under FAPI 2.0).
        let algs = crate::fapi::id_token_algs(config, &metadata);
        let expected = self.jwt_expectations(config, &metadata, &algs, NonceRule::Any, None);
        let parsed = id_token::parse_typed(logout_token, &expected, Some(LOGOUT_TYP))
            .map_err(|e| fail(e.into()))?;
        if let Err(refused) = self.check_jwt_signature(&parsed, &expected).await? {
            return Err(fail(refused.into()));
        }
        let now = self.now_secs();
        let claims = check_logout_claims(parsed.claims(), &expected, now as i64).map_err(fail)?;
        // Step 8: once only, until it expires anyway.
        let until = u64::try_from(claims.exp)
            .unwrap_or(0)
            .saturating_add(config.leeway.as_secs());
        let id = hashed(&claims.iss, &claims.jti);
        // The shared store first: when it fails, nothing is remembered, and the provider's
        // retry is not taken for a replay.
        if self.vault().backend.process_key().is_none()
            && !self.first_use_in_store(&id, until).await?
        {
            return Err(fail(LogoutTokenError::Replayed));
        }
        if !self.runtime().logout_jtis.first_use(&id, until, now) {
            return Err(fail(LogoutTokenError::Replayed));
        }
        Ok(claims)
    }

    /// Records `id` in the shared store until `until`: `false` when a record of it is there
    /// and has not expired (another process accepted the same token).
    async fn first_use_in_store(&self, id: &str, until: u64) -> Result<bool, Error> {
        let vault = self.vault();
        let space = namespace(self.name(), "logout-jti");
        let record = |version: u64| -> Result<Record, Error> {
            Ok(Record {
                version,
                sealed: vault
                    .sealer
                    .seal(&space, id, version, b"")
                    .map_err(|e| self.index_error(e))?,
                expires_at: Some(until),
            })
        };
        for _ in 0..8 {
            let fresh = record(1)?;
            if vault
                .backend
                .swap(&space, id, None, &fresh)
                .await
                .map_err(|e| self.index_error(e))?
            {
                return Ok(true);
            }
            let Some(current) = vault
                .backend
                .load(&space, id)
                .await
                .map_err(|e| self.index_error(e))?
            else {
                continue;
            };
            if current.expires_at.is_none_or(|at| at >= self.now_secs()) {
                return Ok(false);
            }
            // An expired record (not purged yet): taken over.
            let next = record(current.version + 1)?;
            if vault
                .backend
                .swap(&space, id, Some(current.version), &next)
                .await
                .map_err(|e| self.index_error(e))?
            {
                return Ok(true);
            }
        }
        Err(self.index_error("the logout token's replay record kept changing"))
    }

    /// Changes the sessions remembered under `user` of `kind` (`sid` or `sub`) with `change`,
    /// atomically (compare-and-swap, retried); the live entries as they were before.
    async fn modify_index(
        &self,
        kind: &str,
        user: &str,
        change: impl Fn(&mut Vec<IndexEntry>),
    ) -> Result<Vec<IndexEntry>, Error> {
        let vault = self.vault();
        let space = namespace(self.name(), kind);
        for _ in 0..16 {
            let now = self.now_secs();
            let current = vault
                .backend
                .load(&space, user)
                .await
                .map_err(|e| self.index_error(e))?;
            let (version, mut entries) = match &current {
                None => (None, Vec::new()),
                Some(record) => {
                    let plaintext = vault
                        .sealer
                        .open(&space, user, record.version, &record.sealed)
                        .map_err(|_| self.index_error("a session index record does not open"))?;
                    let entries: Vec<IndexEntry> =
                        serde_json::from_slice(&plaintext).map_err(|e| {
                            self.index_error(format!("a session index record is unreadable: {e}"))
                        })?;
                    (Some(record.version), entries)
                }
            };
            entries.retain(|entry| entry.until >= now);
            let before = entries.clone();
            change(&mut entries);
            if entries.len() > MAX_SESSIONS {
                entries.sort_by_key(|entry| std::cmp::Reverse(entry.until));
                entries.truncate(MAX_SESSIONS);
            }
            if current.is_none() && entries.is_empty() {
                return Ok(before);
            }
            let next = version.map_or(1, |v| v + 1);
            let plaintext = serde_json::to_vec(&entries).map_err(|e| self.index_error(e))?;
            let record = Record {
                version: next,
                sealed: vault
                    .sealer
                    .seal(&space, user, next, &plaintext)
                    .map_err(|e| self.index_error(e))?,
                // An emptied record is of no more use: the next purge removes it.
                expires_at: Some(entries.iter().map(|e| e.until).max().unwrap_or(now)),
            };
            if vault
                .backend
                .swap(&space, user, version, &record)
                .await
                .map_err(|e| self.index_error(e))?
            {
                return Ok(before);
            }
        }
        Err(self.index_error("the session index kept changing while it was written"))
    }

    /// `(kind, store key)` of each index a login's claims go under, and whether it has no
    /// `sid`.
    fn index_keys(token: &Token) -> Option<(Vec<(&'static str, String)>, bool)> {
        let info = token.userinfo.as_ref()?;
        let iss = info.iss()?;
        let mut keys = vec![("logout-sub", hashed(iss, info.sub()))];
        let sid = info
            .get("sid")
            .and_then(Value::as_str)
            .filter(|sid| !sid.is_empty());
        if let Some(sid) = sid {
            keys.push(("logout-sid", hashed(iss, sid)));
        }
        Some((keys, sid.is_none()))
    }

    fn check_session_key(&self, session_key: &str) -> Result<(), Error> {
        if session_key.is_empty() || session_key.len() > MAX_SESSION_KEY {
            return Err(Error::InvalidRequest {
                provider: self.name(),
                message: format!("a session key must have 1 to {MAX_SESSION_KEY} bytes"),
            });
        }
        Ok(())
    }

    /// The work of [`Client::remember_session`].
    pub(crate) async fn remember_session(
        &self,
        token: &Token,
        session_key: &str,
        ttl: Duration,
    ) -> Result<(), Error> {
        self.check_session_key(session_key)?;
        let (keys, no_sid) = Self::index_keys(token).ok_or(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::Missing,
        })?;
        let until = self.now_secs().saturating_add(ttl.as_secs());
        for (kind, user) in keys {
            self.modify_index(kind, &user, |entries| {
                entries.retain(|entry| entry.key != session_key);
                entries.push(IndexEntry {
                    key: session_key.to_string(),
                    until,
                    no_sid,
                });
            })
            .await?;
        }
        Ok(())
    }

    /// The work of [`Client::forget_session`].
    pub(crate) async fn forget_session(
        &self,
        token: &Token,
        session_key: &str,
    ) -> Result<(), Error> {
        let Some((keys, _)) = Self::index_keys(token) else {
            return Ok(());
        };
        for (kind, user) in keys {
            self.modify_index(kind, &user, |entries| {
                entries.retain(|entry| entry.key != session_key)
            })
            .await?;
        }
        Ok(())
    }

    /// The work of [`Client::backchannel_logout`].
    pub(crate) async fn backchannel_logout(
        &self,
        logout_token: &str,
    ) -> Result<BackchannelLogout, Error> {
        let claims = self.verify_logout_token(logout_token).await?;
        // §2.4: with a `sid`, that session of the provider's; with only a `sub`, every
        // session of that user. With both, the user's logins whose ID token had no `sid` end
        // too: no `sid` can name them, and the provider says a session of theirs ended.
        let sessions: Vec<String> = match (&claims.sid, &claims.sub) {
            (Some(sid), sub) => {
                let ended = self
                    .modify_index("logout-sid", &hashed(&claims.iss, sid), Vec::clear)
                    .await?;
                let mut ended: Vec<String> = ended.into_iter().map(|entry| entry.key).collect();
                if let Some(sub) = sub {
                    let before = self
                        .modify_index("logout-sub", &hashed(&claims.iss, sub), |entries| {
                            entries.retain(|entry| !entry.no_sid && !ended.contains(&entry.key))
                        })
                        .await?;
                    for entry in before {
                        if entry.no_sid && !ended.contains(&entry.key) {
                            ended.push(entry.key);
                        }
                    }
                }
                ended
            }
            (None, Some(sub)) => self
                .modify_index("logout-sub", &hashed(&claims.iss, sub), Vec::clear)
                .await?
                .into_iter()
                .map(|entry| entry.key)
                .collect(),
            (None, None) => Vec::new(),
        };
        Ok(BackchannelLogout {
            provider: self.name(),
            iss: claims.iss,
            sub: claims.sub,
            sid: claims.sid,
            sessions,
        })
    }
}

impl<P: Provider> Client<P> {
    /// Records that the application's session `session_key` holds the login of `token` (a
    /// token from [`authorize_access_token`](Self::authorize_access_token), with its validated
    /// ID token), for `ttl`, so that a back-channel logout of that user's provider session
    /// finds it. Call it right after the login, with the key under which the application
    /// finds the session again (the session id in its session store, or a value of its own).
    ///
    /// The index is kept in the token store (in memory by default; a shared store makes every
    /// process see it), under the ID token's `iss` with its `sid` (if any) and its `sub`, and
    /// sealed like tokens. An entry expires after `ttl`; at most 64 sessions are kept per
    /// user and per provider session.
    ///
    /// Fails with [`Error::IdToken`] ([`IdTokenError::Missing`]) for a token without a
    /// validated ID token, [`Error::InvalidRequest`] for an empty key or one over 512 bytes,
    /// and [`Error::TokenStore`] when the store fails.
    pub async fn remember_session(
        &self,
        token: &Token,
        session_key: &str,
        ttl: Duration,
    ) -> Result<(), Error>
    where
        P: OpenIdProvider,
    {
        self.context.remember_session(token, session_key, ttl).await
    }

    /// Forgets `session_key` for the login of `token` (the user logged out here): a later
    /// back-channel logout does not report it.
    pub async fn forget_session(&self, token: &Token, session_key: &str) -> Result<(), Error>
    where
        P: OpenIdProvider,
    {
        self.context.forget_session(token, session_key).await
    }

    /// Receives a back-channel logout (OpenID Connect Back-Channel Logout 1.0): validates the
    /// `logout_token` the provider POSTed and returns the logout, with the application's
    /// sessions to end (taken out of the index).
    ///
    /// The token is checked as §2.6 says: signed with the provider's keys and an algorithm
    /// its ID tokens may use, `typ` `logout+jwt` or a plain JWT, `iss` the provider's issuer,
    /// `aud` this client (and `azp`), `iat` present, `exp` not past (with the leeway), a
    /// `sub` or a `sid`, an `events` object with the back-channel logout event (an object),
    /// no `nonce`, and a `jti` not accepted before (by this process, or by any with a shared
    /// token store). A refusal is [`Error::LogoutToken`], to be answered with
    /// `400 invalid_request`; the ready-made handlers `integrations::axum::backchannel_logout`
    /// and `integrations::actix::backchannel_logout` do that.
    pub async fn backchannel_logout(&self, logout_token: &str) -> Result<BackchannelLogout, Error>
    where
        P: OpenIdProvider,
    {
        self.context.backchannel_logout(logout_token).await
    }
}

/// What a back-channel logout endpoint answers (§2.8): `200` when the logout succeeded;
/// `400` with an OAuth 2.0 error object otherwise: `invalid_request` for a request that is
/// not a form with one `logout_token`, or a token refused, `server_error` when the sessions
/// could not be looked up or ended (the store or the application's hook failed). Both answers
/// have `Cache-Control: no-store` (the handlers add it).
#[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
pub(crate) async fn receive_logout<P, Fut>(
    client: &Client<P>,
    content_type: Option<&str>,
    body: &[u8],
    on_logout: impl FnOnce(BackchannelLogout) -> Fut,
) -> (u16, Option<String>)
where
    P: OpenIdProvider,
    Fut: std::future::Future<Output = Result<(), crate::refresh::HookError>>,
{
    let refuse = |error: &str, description: String| {
        let body = serde_json::json!({ "error": error, "error_description": description });
        (400, Some(body.to_string()))
    };
    let is_form = content_type.is_some_and(|value| {
        value.split(';').next().is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !is_form {
        return refuse(
            "invalid_request",
            "the request is not application/x-www-form-urlencoded".into(),
        );
    }
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value);
    let token = match (tokens.next(), tokens.next()) {
        (Some(token), None) => token,
        (None, _) => return refuse("invalid_request", "no `logout_token`".into()),
        (Some(_), Some(_)) => {
            return refuse("invalid_request", "more than one `logout_token`".into())
        }
    };
    let event = match client.backchannel_logout(&token).await {
        Ok(event) => event,
        Err(error) => {
            let code = match error.kind() {
                crate::ErrorKind::LogoutToken => "invalid_request",
                _ => "server_error",
            };
            tracing::info!(provider = client.name(), %error, "back-channel logout refused");
            return refuse(code, error.to_string());
        }
    };
    let provider = event.provider;
    match on_logout(event).await {
        Ok(()) => (200, None),
        Err(error) => {
            tracing::warn!(provider, %error, "the back-channel logout hook failed");
            refuse(
                "server_error",
                "the application could not end the sessions".into(),
            )
        }
    }
}

/// The validation as a table: one valid logout token, then one change per row and the exact
/// outcome.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_token::IssuerRule;
    use crate::jose::KeySet;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://idp.example";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    struct Signer {
        key: EcdsaKeyPair,
        other: EcdsaKeyPair,
        keys: KeySet,
    }

    fn p256() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    impl Signer {
        fn new() -> Signer {
            let key = p256();
            let point = key.public_key().as_ref();
            let keys = serde_json::from_value(json!({"keys": [{
                "kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig", "alg": "ES256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            }]}))
            .unwrap();
            Signer {
                key,
                other: p256(),
                keys,
            }
        }

        /// `header` and `claims` signed with the published key, or with another key of the
        /// same id (a forgery).
        fn sign(&self, header: &Value, claims: &Value, forged: bool) -> String {
            let signed = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let key = if forged { &self.other } else { &self.key };
            let signature = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
            format!("{signed}.{}", b64(signature.as_ref()))
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "app", "iat": NOW - 5, "exp": NOW + 115, "jti": "j-1",
            "sub": "alice", "sid": "s-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        })
    }

    fn expected() -> Expectations<'static> {
        static ALGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        Expectations {
            issuer: IssuerRule::Exact(ISSUER),
            client_id: "app",
            client_secret: None,
            allowed_algs: ALGS.get_or_init(|| vec!["ES256".into()]),
            profile_algs: None,
            leeway: 60,
            nonce: NonceRule::Any,
            access_token: None,
        }
    }

    type Change = fn(&mut Value, &mut Value);

    #[test]
    fn every_rule_refuses_with_its_own_error() {
        use LogoutTokenError as E;
        let signer = Signer::new();
        let malformed = |why: &str| Err(E::Malformed(why.into()));
        #[rustfmt::skip]
        let rows: Vec<(&str, bool, Change, Result<(), LogoutTokenError>)> = vec![
            ("valid, typ logout+jwt", false, |_, _| {}, Ok(())),
            ("typ as a media type", false, |h, _| h["typ"] = json!("application/logout+jwt"), Ok(())),
            ("typ JWT", false, |h, _| h["typ"] = json!("JWT"), Ok(())),
            ("no typ", false, |h, _| { h.as_object_mut().unwrap().remove("typ"); }, Ok(())),
            ("typ of an access token", false, |h, _| h["typ"] = json!("at+jwt"), Err(E::UnexpectedType("typ: \"at+jwt\"".into()))),
            ("alg none", false, |h, _| h["alg"] = json!("none"), Err(E::Unsigned("none".into()))),
            ("alg the metadata does not allow", false, |h, _| h["alg"] = json!("RS256"), Err(E::DisallowedAlg("RS256".into()))),
            ("HMAC without a client secret", false, |h, _| h["alg"] = json!("HS256"), Err(E::DisallowedAlg("HS256".into()))),
            ("signed by another key", true, |_, _| {}, Err(E::BadSignature)),
            ("key id not published", false, |h, _| h["kid"] = json!("ec-2"), Err(E::UnknownKey("ec-2".into()))),
            ("wrong issuer", false, |_, c| c["iss"] = json!("https://evil.example"), Err(E::WrongIssuer { expected: ISSUER.into(), found: "https://evil.example".into() })),
            ("no issuer", false, |_, c| c["iss"] = Value::Null, Err(E::MissingClaim("iss"))),
            ("wrong audience", false, |_, c| c["aud"] = json!("other-app"), Err(E::WrongAudience)),
            ("our audience among others, no azp", false, |_, c| c["aud"] = json!(["app", "other"]), Err(E::MissingAuthorizedParty)),
            ("our audience among others, our azp", false, |_, c| { c["aud"] = json!(["app", "other"]); c["azp"] = json!("app") }, Ok(())),
            ("azp of another client", false, |_, c| c["azp"] = json!("other"), Err(E::WrongAuthorizedParty)),
            ("no iat", false, |_, c| c["iat"] = Value::Null, Err(E::MissingClaim("iat"))),
            ("no exp", false, |_, c| c["exp"] = Value::Null, Err(E::MissingClaim("exp"))),
            ("expired beyond the leeway", false, |_, c| c["exp"] = json!(NOW - 61), Err(E::Expired)),
            ("expired within the leeway", false, |_, c| c["exp"] = json!(NOW - 59), Ok(())),
            ("issued in the future", false, |_, c| c["iat"] = json!(NOW + 61), Err(E::IssuedInFuture)),
            ("only sub", false, |_, c| c["sid"] = Value::Null, Ok(())),
            ("only sid", false, |_, c| c["sub"] = Value::Null, Ok(())),
            ("neither sub nor sid", false, |_, c| { c["sub"] = Value::Null; c["sid"] = Value::Null }, Err(E::MissingSubject)),
            ("empty sid", false, |_, c| c["sid"] = json!(""), malformed("`sid` is empty")),
            ("sub not a string", false, |_, c| c["sub"] = json!(7), malformed("`sub` is not a string")),
            ("no events", false, |_, c| c["events"] = Value::Null, Err(E::MissingEvent)),
            ("another event only", false, |_, c| c["events"] = json!({"https://schemas.example/other": {}}), Err(E::MissingEvent)),
            ("events not an object", false, |_, c| c["events"] = json!([BACKCHANNEL_LOGOUT_EVENT]), Err(E::MalformedEvent("`events` is not a JSON object".into()))),
            ("event value not an object", false, |_, c| c["events"] = json!({BACKCHANNEL_LOGOUT_EVENT: "yes"}), Err(E::MalformedEvent("the back-channel logout event is not a JSON object".into()))),
            ("event with members", false, |_, c| c["events"] = json!({BACKCHANNEL_LOGOUT_EVENT: {"x": 1}}), Ok(())),
            ("a nonce", false, |_, c| c["nonce"] = json!("n-1"), Err(E::HasNonce)),
            ("a null nonce", false, |_, c| c["nonce"] = Value::Null, Err(E::HasNonce)),
            ("no jti", false, |_, c| c["jti"] = Value::Null, Err(E::MissingClaim("jti"))),
            ("jti not a string", false, |_, c| c["jti"] = json!(1), malformed("`jti` is not a string")),
        ];
        for (name, forged, change, outcome) in rows {
            let mut header = json!({"alg": "ES256", "kid": "ec-1", "typ": "logout+jwt"});
            let mut claims = claims();
            change(&mut header, &mut claims);
            let token = signer.sign(&header, &claims, forged);
            let found = validate(&token, &expected(), &signer.keys, NOW).map(drop);
            assert_eq!(found, outcome, "{name}");
        }
    }

    #[test]
    fn a_valid_token_says_whose_session_ended() {
        let signer = Signer::new();
        let header = json!({"alg": "ES256", "kid": "ec-1", "typ": "logout+jwt"});
        let token = signer.sign(&header, &claims(), false);
        assert_eq!(
            validate(&token, &expected(), &signer.keys, NOW),
            Ok(LogoutClaims {
                iss: ISSUER.into(),
                sub: Some("alice".into()),
                sid: Some("s-1".into()),
                jti: "j-1".into(),
                exp: NOW + 115,
            })
        );
        // An ID token (with its nonce, and without the event) is no logout token.
        let id_token = signer.sign(
            &json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}),
            &json!({"iss": ISSUER, "aud": "app", "iat": NOW, "exp": NOW + 60, "sub": "alice", "nonce": "n", "jti": "x"}),
            false,
        );
        assert_eq!(
            validate(&id_token, &expected(), &signer.keys, NOW),
            Err(LogoutTokenError::MissingEvent)
        );
    }

    #[test]
    fn store_keys_hide_the_values_and_do_not_collide() {
        let a = hashed("https://a.example", "alice");
        assert_eq!(a.len(), 43);
        assert!(!a.contains("alice"));
        assert_ne!(a, hashed("https://a.example/", "lice"));
        assert_ne!(a, hashed("https://a.example", "alice2"));
        assert_eq!(a, hashed("https://a.example", "alice"));
    }
}
