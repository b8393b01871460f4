//! Tokens at rest: sealed with AES-256-GCM under a key from the environment, bound to their
//! user, provider and version, so a leaked store holds no usable token and a record copied to
//! another row fails to open.
//!
//! Keys are given as `id:base64` pairs, the first used for writes and every one for reads, so a
//! key is rotated by putting a new one first and keeping the old one until every record has been
//! written again (each refresh or login rewrites its record).
//!
//! A sealed record is `1` (the format), the key id's length and the key id, a 96-bit random
//! nonce, then the ciphertext and its 128-bit tag. The associated data is the format, the
//! provider, the user and the version, each length-prefixed.

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;

const FORMAT: u8 = 1;

/// The environment variable the sealing keys are read from by default.
pub const TOKEN_KEYS_VARIABLE: &str = "OAUTH_CLIENTS_TOKEN_KEYS";

/// Why a sealed record could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Sealed under a key id that is not configured (a key dropped too early).
    UnknownKey(String),
    /// The record is not one this library wrote, or was changed, or belongs to another
    /// user, provider or version.
    Tampered,
}

/// The keys tokens are sealed with.
pub(crate) struct Sealer {
    /// Every key, by id, for reading; the first seals new records.
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field(
                "keys",
                &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn key_from(bytes: &[u8]) -> Result<LessSafeKey, String> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| "a token key must be 32 bytes".to_string())
}

impl Sealer {
    /// Reads keys written `id:base64,id:base64` (the first for writes). Ids are letters,
    /// digits, `-` and `_`; keys are 32 random bytes in standard or URL-safe base64. The
    /// message never quotes a key.
    pub(crate) fn from_config(text: &str) -> Result<Sealer, String> {
        let mut keys = Vec::new();
        for (i, entry) in text.split(',').map(str::trim).enumerate() {
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(format!(
                    "token key {} is not `id:base64` (e.g. `k1:` and 32 random bytes in base64)",
                    i + 1
                ));
            };
            let id = id.trim();
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "token key {} has an invalid id: use up to 64 letters, digits, `-` and `_`",
                    i + 1
                ));
            }
            if keys.iter().any(|(other, _)| other == id) {
                return Err(format!("token key id `{id}` is given twice"));
            }
            let encoded = encoded.trim();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
                .map_err(|_| format!("token key `{id}` is not base64"))?;
            let key = key_from(&bytes).map_err(|_| {
                format!(
                    "token key `{id}` has {} bytes; AES-256-GCM keys have 32",
                    bytes.len()
                )
            })?;
            keys.push((id.to_string(), key));
        }
        Ok(Sealer {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// A sealer with the key of a store that lives and dies with the process (the in-memory
    /// one), which needs no configured key.
    pub(crate) fn process_local(key: &[u8; 32]) -> Result<Sealer, String> {
        Ok(Sealer {
            keys: vec![("process".into(), key_from(key)?)],
            rng: SystemRandom::new(),
        })
    }

    /// A sealer with no key: seals and opens nothing. Only for a registry whose keys were
    /// refused (already reported) on a machine whose random source failed too.
    pub(crate) fn unusable() -> Sealer {
        Sealer {
            keys: Vec::new(),
            rng: SystemRandom::new(),
        }
    }

    /// The id of the key new records are sealed with.
    #[cfg(test)]
    pub(crate) fn write_key_id(&self) -> &str {
        // `from_config` and `ephemeral` always make at least one key.
        self.keys.first().map_or("", |(id, _)| id)
    }

    pub(crate) fn seal(
        &self,
        provider: &str,
        user: &str,
        version: u64,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, String> {
        let (id, key) = self
            .keys
            .first()
            .ok_or_else(|| "no token key is configured".to_string())?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| "the system's random source failed".to_string())?;
        let mut body = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data(provider, user, version)),
            &mut body,
        )
        .map_err(|_| "sealing the token failed".to_string())?;
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + body.len());
        out.push(FORMAT);
        // Ids are at most 64 bytes.
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub(crate) fn open(
        &self,
        provider: &str,
        user: &str,
        version: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let (&format, rest) = sealed.split_first().ok_or(OpenError::Tampered)?;
        if format != FORMAT {
            return Err(OpenError::Tampered);
        }
        let (&id_len, rest) = rest.split_first().ok_or(OpenError::Tampered)?;
        let id_len = usize::from(id_len);
        if rest.len() < id_len + NONCE_LEN {
            return Err(OpenError::Tampered);
        }
        let (id, rest) = rest.split_at(id_len);
        let id = std::str::from_utf8(id).map_err(|_| OpenError::Tampered)?;
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, key)| key)
            .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Tampered)?;
        let mut body = ciphertext.to_vec();
        let plaintext = key
            .open_in_place(
                nonce,
                Aad::from(associated_data(provider, user, version)),
                &mut body,
            )
            .map_err(|_| OpenError::Tampered)?;
        Ok(plaintext.to_vec())
    }
}

/// What a record is bound to: format, provider, user and version, length-prefixed so that no
/// two different triples give the same bytes.
fn associated_data(provider: &str, user: &str, version: u64) -> Vec<u8> {
    let mut ad = Vec::with_capacity(32 + provider.len() + user.len());
    ad.extend_from_slice(b"oauth-clients token");
    ad.push(FORMAT);
    for part in [provider.as_bytes(), user.as_bytes()] {
        ad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        ad.extend_from_slice(part);
    }
    ad.extend_from_slice(&version.to_be_bytes());
    ad
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    #[test]
    fn a_sealed_token_opens_only_for_its_user_provider_and_version() {
        let sealer = Sealer::from_config(K1).unwrap();
        let sealed = sealer.seal("github", "alice", 3, b"secret token").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            sealer.open("github", "alice", 3, &sealed).unwrap(),
            b"secret token"
        );
        for (provider, user, version) in [
            ("github", "bob", 3),
            ("gitlab", "alice", 3),
            ("github", "alice", 4),
        ] {
            assert_eq!(
                sealer.open(provider, user, version, &sealed),
                Err(OpenError::Tampered),
                "{provider} {user} {version}"
            );
        }
        // A flipped bit anywhere is tampering.
        for at in [0, 5, sealed.len() - 1] {
            let mut changed = sealed.clone();
            changed[at] ^= 1;
            assert!(
                sealer.open("github", "alice", 3, &changed).is_err(),
                "byte {at}"
            );
        }
        assert_eq!(
            sealer.open("github", "alice", 3, &[]),
            Err(OpenError::Tampered)
        );
        // Two seals of the same token differ (fresh nonces).
        assert_ne!(
            sealed,
            sealer.seal("github", "alice", 3, b"secret token").unwrap()
        );
    }

    #[test]
    fn keys_rotate_new_first_old_still_read() {
        let old = Sealer::from_config(K1).unwrap();
        let sealed = old.seal("p", "u", 1, b"t").unwrap();
        let rotated = Sealer::from_config(&format!("{K2}, {K1}")).unwrap();
        assert_eq!(rotated.write_key_id(), "k2");
        assert_eq!(rotated.open("p", "u", 1, &sealed).unwrap(), b"t");
        let new = rotated.seal("p", "u", 2, b"t2").unwrap();
        // Dropping the old key too early: the records under it are reported, by key id.
        let only_new = Sealer::from_config(K2).unwrap();
        assert_eq!(
            only_new.open("p", "u", 1, &sealed),
            Err(OpenError::UnknownKey("k1".into()))
        );
        assert_eq!(only_new.open("p", "u", 2, &new).unwrap(), b"t2");
    }

    #[test]
    fn bad_key_configurations_are_explained_without_the_key() {
        let err = |text: &str| Sealer::from_config(text).unwrap_err();
        assert_eq!(
            err(""),
            "token key 1 is not `id:base64` (e.g. `k1:` and 32 random bytes in base64)"
        );
        assert_eq!(
            err("k1:c2hvcnQ="),
            "token key `k1` has 5 bytes; AES-256-GCM keys have 32"
        );
        assert_eq!(err("k1:***"), "token key `k1` is not base64");
        assert_eq!(
            err(&format!("{K1},{K1}")),
            "token key id `k1` is given twice"
        );
        assert!(err("bad id:AAAA").contains("invalid id"));
        assert!(!format!("{:?}", Sealer::from_config(K1).unwrap()).contains("AAEC"));
    }
}
