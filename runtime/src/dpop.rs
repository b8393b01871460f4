//! DPoP (RFC 9449) without I/O: the client's proof-of-possession keys, their public JWK and
//! thumbprint (RFC 7638), and the proof JWTs sent with token, userinfo and API requests.
//!
//! A key is made here (ES256 and EdDSA on ring; PS256's RSA key by the `rsa` crate, then signed
//! with on ring) and can be written out as PKCS#8 to be kept, sealed, with a stored token: a
//! DPoP-bound token is usable only with its key, so every process that may use the token needs
//! it. Neither `Debug` nor any error shows the private key.

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as ring_signature, KeyPair as _};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use url::Url;

/// How proofs are signed (`dpop_signing_alg`, from RFC 9449 §4.2's asymmetric algorithms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DpopAlg {
    /// ECDSA with P-256 and SHA-256: the default, and what every DPoP server supports.
    Es256,
    /// RSASSA-PSS with SHA-256, a 2048-bit key.
    Ps256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl DpopAlg {
    /// The `dpop_signing_alg` value; anything else is the default.
    pub(crate) fn from_name(name: &str) -> DpopAlg {
        match name {
            "PS256" => DpopAlg::Ps256,
            "EdDSA" => DpopAlg::EdDsa,
            _ => DpopAlg::Es256,
        }
    }

    /// The JWS `alg` header value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DpopAlg::Es256 => "ES256",
            DpopAlg::Ps256 => "PS256",
            DpopAlg::EdDsa => "EdDSA",
        }
    }
}

enum Pair {
    Ec(ring_signature::EcdsaKeyPair),
    Rsa(ring_signature::RsaKeyPair),
    Ed(ring_signature::Ed25519KeyPair),
}

/// A DPoP key pair: signs proofs, and names itself by its public JWK and thumbprint.
pub(crate) struct DpopKey {
    alg: DpopAlg,
    pair: Pair,
    /// PKCS#8, to be stored (sealed) with the tokens bound to the key.
    pkcs8: Vec<u8>,
    jwk: Value,
    thumbprint: String,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// A key as kept in the token store, inside the sealed record.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredKey {
    /// The JWS algorithm, e.g. `ES256`.
    pub alg: String,
    /// The PKCS#8 private key, base64url.
    pub pkcs8: String,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl DpopKey {
    /// A new random key for `alg`.
    pub(crate) fn generate(alg: DpopAlg) -> Result<DpopKey, String> {
        let rng = SystemRandom::new();
        let failed = |_| "the DPoP key could not be made".to_string();
        let pkcs8 = match alg {
            DpopAlg::Es256 => ring_signature::EcdsaKeyPair::generate_pkcs8(
                &ring_signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .map_err(failed)?
            .as_ref()
            .to_vec(),
            DpopAlg::EdDsa => ring_signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            DpopAlg::Ps256 => {
                // ring signs with RSA keys but does not make them.
                use rsa::pkcs8::EncodePrivateKey;
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                    .map_err(|_| "the DPoP key could not be made".to_string())?;
                key.to_pkcs8_der()
                    .map_err(|_| "the DPoP key could not be encoded".to_string())?
                    .as_bytes()
                    .to_vec()
            }
        };
        DpopKey::from_pkcs8(alg, pkcs8)
    }

    /// A key read back from its PKCS#8 form.
    pub(crate) fn from_pkcs8(alg: DpopAlg, pkcs8: Vec<u8>) -> Result<DpopKey, String> {
        let rejected = |_| format!("the stored DPoP key is not a valid {} key", alg.as_str());
        let (pair, jwk) = match alg {
            DpopAlg::Es256 => {
                let pair = ring_signature::EcdsaKeyPair::from_pkcs8(
                    &ring_signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(rejected)?;
                // An uncompressed point: 0x04, x, y (32 bytes each).
                let point = pair.public_key().as_ref();
                let jwk = json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(&point[1..33]),
                    "y": b64(&point[33..65]),
                });
                (Pair::Ec(pair), jwk)
            }
            DpopAlg::EdDsa => {
                let pair = ring_signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
                    .map_err(rejected)?;
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64(pair.public_key().as_ref()),
                });
                (Pair::Ed(pair), jwk)
            }
            DpopAlg::Ps256 => {
                let pair = ring_signature::RsaKeyPair::from_pkcs8(&pkcs8).map_err(rejected)?;
                let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(&public.n),
                    "e": b64(&public.e),
                });
                (Pair::Rsa(pair), jwk)
            }
        };
        let thumbprint =
            thumbprint(&jwk).ok_or_else(|| "the DPoP key has no thumbprint".to_string())?;
        Ok(DpopKey {
            alg,
            pair,
            pkcs8,
            jwk,
            thumbprint,
        })
    }

    /// The key as the token store keeps it.
    pub(crate) fn to_stored(&self) -> StoredKey {
        StoredKey {
            alg: self.alg.as_str().to_string(),
            pkcs8: b64(&self.pkcs8),
        }
    }

    /// A key the token store kept.
    pub(crate) fn from_stored(stored: &StoredKey) -> Result<DpopKey, String> {
        let alg = match stored.alg.as_str() {
            "ES256" => DpopAlg::Es256,
            "PS256" => DpopAlg::Ps256,
            "EdDSA" => DpopAlg::EdDsa,
            _ => return Err("the stored DPoP key has an unknown algorithm".into()),
        };
        let pkcs8 = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&stored.pkcs8)
            .map_err(|_| "the stored DPoP key is not base64url".to_string())?;
        DpopKey::from_pkcs8(alg, pkcs8)
    }

    /// The signing algorithm.
    #[cfg(test)]
    pub(crate) fn alg(&self) -> DpopAlg {
        self.alg
    }

    /// The public key as a JWK (only the members RFC 7638 hashes).
    #[cfg(test)]
    pub(crate) fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The JWK SHA-256 thumbprint (RFC 7638), the `jkt` a bound token is tied to (RFC 9449
    /// §6).
    pub(crate) fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A DPoP proof (RFC 9449 §4.2) for a `method` request to `url` at `iat` (seconds since
    /// the epoch): header `typ` `dpop+jwt`, `alg` and `jwk`; claims a fresh `jti`, `htm`,
    /// `htu` (the URL without query and fragment), `iat`, the server's `nonce` when it gave
    /// one (§8, §9), and `ath` when the request carries `access_token` (§4.2, §7).
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &Url,
        iat: u64,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, String> {
        let rng = SystemRandom::new();
        // §4.2: at least 96 bits of randomness; 128 here.
        let mut jti = [0u8; 16];
        rng.fill(&mut jti)
            .map_err(|_| "the system's random source failed".to_string())?;
        let header = json!({
            "typ": "dpop+jwt",
            "alg": self.alg.as_str(),
            "jwk": self.jwk,
        });
        let mut claims = serde_json::Map::new();
        claims.insert("jti".into(), json!(b64(&jti)));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(htu(url)));
        claims.insert("iat".into(), json!(iat));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(token) = access_token {
            claims.insert("ath".into(), json!(ath(token)));
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(Value::Object(claims).to_string().as_bytes())
        );
        let unsigned = |_| "the DPoP proof could not be signed".to_string();
        let signature = match &self.pair {
            Pair::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .map_err(unsigned)?
                .as_ref()
                .to_vec(),
            Pair::Ed(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
            Pair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &ring_signature::RSA_PSS_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut signature,
                )
                .map_err(unsigned)?;
                signature
            }
        };
        Ok(format!("{input}.{}", b64(&signature)))
    }
}

/// `htu`: the target URI without query and fragment (RFC 9449 §4.2).
pub(crate) fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2).
pub(crate) fn ath(access_token: &str) -> String {
    b64(&Sha256::digest(access_token.as_bytes()))
}

/// The JWK SHA-256 thumbprint of a public key (RFC 7638 §3): the required members only, in
/// lexicographic order, without white space, hashed; `None` for a key type without rules here
/// (EC, RSA and OKP, RFC 8037 §2, have them).
pub(crate) fn thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let members: Vec<(&str, &str)> = match member("kty")? {
        "EC" => vec![
            ("crv", member("crv")?),
            ("kty", "EC"),
            ("x", member("x")?),
            ("y", member("y")?),
        ],
        "RSA" => vec![("e", member("e")?), ("kty", "RSA"), ("n", member("n")?)],
        "OKP" => vec![("crv", member("crv")?), ("kty", "OKP"), ("x", member("x")?)],
        _ => return None,
    };
    // Written out by hand rather than through a JSON map, whose key order depends on
    // serde_json's `preserve_order` feature (which any crate in an application can turn on).
    let canonical = members
        .iter()
        .map(|(name, value)| format!("\"{name}\":{}", Value::from(*value)))
        .collect::<Vec<_>>()
        .join(",");
    Some(b64(&Sha256::digest(format!("{{{canonical}}}").as_bytes())))
}

/// The `error` a `WWW-Authenticate` challenge of scheme `DPoP` carries (RFC 9449 §7.1, RFC
/// 6750 §3), e.g. `use_dpop_nonce` or `invalid_dpop_proof`.
pub(crate) fn challenge_error(header: &str) -> Option<String> {
    // Several challenges may share one header: find the DPoP one, then its `error` parameter.
    let lower = header.to_ascii_lowercase();
    let start = lower.find("dpop")?;
    let rest = &header[start + 4..];
    let at = rest.to_ascii_lowercase().find("error=")?;
    let value = rest[at + 6..].trim_start();
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => value.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_string())
}

/// How many keys of other logins a process keeps at hand (the oldest are dropped first).
const KEPT_KEYS: usize = 4096;
/// How many servers' nonces are remembered.
const KEPT_NONCES: usize = 64;

/// Keys by thumbprint, and their thumbprints oldest first.
type KeyRing = (HashMap<String, Arc<DpopKey>>, VecDeque<String>);

/// One provider's DPoP state in a registry.
#[derive(Default)]
pub(crate) struct DpopState {
    /// The registry's key, when DPoP is on and logins share one key.
    pub(crate) registry_key: Option<Arc<DpopKey>>,
    /// Whether each login makes its own key (a token store is configured).
    pub(crate) per_login: bool,
    /// Keys of tokens this process got or read, by thumbprint, oldest first.
    keys: Mutex<KeyRing>,
    /// The last nonce of each server, by origin.
    nonces: Mutex<HashMap<String, String>>,
}

impl DpopState {
    /// The state of a provider with DPoP signed with `alg`: its registry key made now, unless
    /// `per_login`.
    pub(crate) fn new(alg: DpopAlg, per_login: bool) -> Result<DpopState, String> {
        let registry_key = if per_login {
            None
        } else {
            Some(Arc::new(DpopKey::generate(alg)?))
        };
        Ok(DpopState {
            registry_key,
            per_login,
            ..DpopState::default()
        })
    }

    pub(crate) fn remember(&self, key: Arc<DpopKey>) {
        let mut guard = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let (keys, order) = &mut *guard;
        let thumbprint = key.thumbprint().to_string();
        if keys.insert(thumbprint.clone(), key).is_none() {
            order.push_back(thumbprint);
            while order.len() > KEPT_KEYS {
                if let Some(oldest) = order.pop_front() {
                    keys.remove(&oldest);
                }
            }
        }
    }

    pub(crate) fn find(&self, thumbprint: &str) -> Option<Arc<DpopKey>> {
        if let Some(key) = self
            .registry_key
            .as_ref()
            .filter(|key| key.thumbprint() == thumbprint)
        {
            return Some(key.clone());
        }
        let guard = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.get(thumbprint).cloned()
    }

    pub(crate) fn nonce(&self, origin: &str) -> Option<String> {
        let nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        nonces.get(origin).cloned()
    }

    pub(crate) fn set_nonce(&self, origin: String, nonce: String) {
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        if nonces.len() >= KEPT_NONCES && !nonces.contains_key(&origin) {
            nonces.clear();
        }
        nonces.insert(origin, nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    }

    /// Checks `proof`'s signature with the public key in its own `jwk` header, as a server does.
    fn verify(proof: &str) {
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        let jwk = &header["jwk"];
        let bytes = |name: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwk[name].as_str().unwrap())
                .unwrap()
        };
        let input = format!("{}.{}", parts[0], parts[1]);
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        match header["alg"].as_str().unwrap() {
            "ES256" => {
                let mut point = vec![4u8];
                point.extend(bytes("x"));
                point.extend(bytes("y"));
                ring_signature::UnparsedPublicKey::new(
                    &ring_signature::ECDSA_P256_SHA256_FIXED,
                    point,
                )
                .verify(input.as_bytes(), &signature)
                .unwrap();
            }
            "EdDSA" => ring_signature::UnparsedPublicKey::new(&ring_signature::ED25519, bytes("x"))
                .verify(input.as_bytes(), &signature)
                .unwrap(),
            "PS256" => ring_signature::RsaPublicKeyComponents {
                n: bytes("n"),
                e: bytes("e"),
            }
            .verify(
                &ring_signature::RSA_PSS_2048_8192_SHA256,
                input.as_bytes(),
                &signature,
            )
            .unwrap(),
            other => panic!("unexpected alg {other}"),
        }
    }

    #[test]
    fn proofs_carry_the_rfc_9449_header_and_claims() {
        let key = DpopKey::generate(DpopAlg::Es256).unwrap();
        let url = Url::parse("https://api.example/v1/me?fields=a#frag").unwrap();
        let proof = key
            .proof("GET", &url, 1_700_000_000, Some("n-1"), Some("token-abc"))
            .unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        let header = decode(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(&header["jwk"], key.public_jwk());
        // Only the public members: no `d`.
        let mut members: Vec<&String> = header["jwk"].as_object().unwrap().keys().collect();
        members.sort();
        assert_eq!(members, ["crv", "kty", "x", "y"]);
        let claims = decode(parts[1]);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example/v1/me");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["ath"], ath("token-abc"));
        let jti = claims["jti"].as_str().unwrap();
        assert!(jti.len() >= 16, "{jti}");
        // A fresh jti per proof; no nonce or ath unless given.
        let second = key
            .proof(
                "POST",
                &Url::parse("https://op.example/token").unwrap(),
                1,
                None,
                None,
            )
            .unwrap();
        let claims2 = decode(second.split('.').nth(1).unwrap());
        assert_ne!(claims2["jti"], claims["jti"]);
        assert_eq!(claims2["htm"], "POST");
        assert!(claims2.get("nonce").is_none() && claims2.get("ath").is_none());
        let mut names: Vec<&String> = claims2.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["htm", "htu", "iat", "jti"]);
    }

    #[test]
    fn proofs_verify_for_each_algorithm() {
        for alg in [DpopAlg::Es256, DpopAlg::Ps256, DpopAlg::EdDsa] {
            let key = DpopKey::generate(alg).unwrap();
            let proof = key
                .proof(
                    "POST",
                    &Url::parse("https://op.example/token").unwrap(),
                    1,
                    None,
                    Some("t"),
                )
                .unwrap();
            assert_eq!(
                decode(proof.split('.').next().unwrap())["alg"],
                alg.as_str()
            );
            verify(&proof);
            // A tampered proof does not verify.
            let mut tampered = proof.clone().into_bytes();
            let at = proof.find('.').unwrap() + 3;
            tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(
                std::panic::catch_unwind(|| verify(&tampered)).is_err(),
                "{alg:?}"
            );
            // Kept and read back: the same key (same thumbprint), still signing.
            let stored = key.to_stored();
            let back = DpopKey::from_stored(&stored).unwrap();
            assert_eq!(back.thumbprint(), key.thumbprint());
            assert_eq!(back.alg(), alg);
            verify(
                &back
                    .proof(
                        "GET",
                        &Url::parse("https://a.example/").unwrap(),
                        2,
                        None,
                        None,
                    )
                    .unwrap(),
            );
        }
    }

    #[test]
    fn ath_is_base64url_sha256_of_the_token() {
        // SHA-256("abc"), FIPS 180-2 Appendix B.1, in base64url without padding.
        assert_eq!(ath("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "x"})), None);
        assert_eq!(thumbprint(&json!({"kty": "EC", "crv": "P-256"})), None);
    }

    #[test]
    fn keys_stay_out_of_debug_output() {
        let key = DpopKey::generate(DpopAlg::EdDsa).unwrap();
        let stored = key.to_stored();
        assert!(!format!("{key:?}").contains(&stored.pkcs8));
        assert!(!format!("{stored:?}").contains(&stored.pkcs8));
        assert!(format!("{key:?}").contains(key.thumbprint()));
        assert!(DpopKey::from_stored(&StoredKey {
            alg: "ES256".into(),
            pkcs8: "AAAA".into()
        })
        .is_err());
    }

    #[test]
    fn challenge_errors_are_read_from_www_authenticate() {
        assert_eq!(
            challenge_error(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#).as_deref(),
            Some("use_dpop_nonce")
        );
        assert_eq!(
            challenge_error(r#"Bearer realm="x", DPoP algs="ES256", error="invalid_token""#)
                .as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            challenge_error("DPoP error=invalid_dpop_proof").as_deref(),
            Some("invalid_dpop_proof")
        );
        assert_eq!(challenge_error(r#"Bearer error="invalid_token""#), None);
        assert_eq!(challenge_error("DPoP algs=\"ES256\""), None);
    }
}
