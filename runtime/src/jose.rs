//! JOSE without I/O: a provider's published keys (JWKS) and JWS signature checks.
//!
//! Keys of unknown types, or that fail to parse, are skipped rather than failing the whole set.
//!
//! [`verify_jws`] picks the keys that may check a signature as openidconnect's verifier does
//! (by `kid`, key type, `use` and `alg`) and by `key_ops`, which that verifier ignores, and
//! checks it with [`RingKey`]: RSA and ECDSA run on ring, the constant-time native library the
//! TLS stack already brings, instead of the pure-Rust `rsa` crate behind openidconnect's own
//! keys (most of a login's CPU time went there); every other kind of key is left to
//! openidconnect's implementation. HMAC-signed
//! tokens are checked with ring against the client secret ([`verify_hmac`]).

use base64::Engine;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{
    JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet, SignatureVerificationError,
};
use ring::signature::{self as ring_signature, RsaPublicKeyComponents};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A provider's key set, with signatures checked by [`RingKey`].
pub(crate) type KeySet = JsonWebKeySet<RingKey>;

/// A public key from a JWKS: openidconnect's, with RSA and ECDSA verification on ring.
#[derive(Clone, Debug)]
pub(crate) struct RingKey {
    core: CoreJsonWebKey,
    public: Option<Public>,
    /// Whether `key_ops` (RFC 7517 §4.3) allows `verify`: true when the key does not say.
    verifies: bool,
}

/// The key material ring needs, decoded once when the key set is read.
#[derive(Clone, Debug)]
enum Public {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed point, `04 || x || y`.
    Ec {
        curve: Curve,
        point: Vec<u8>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Public {
    fn from_jwk(jwk: &Value) -> Option<Public> {
        let bytes = |name: &str| {
            jwk.get(name).and_then(Value::as_str).and_then(|s| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .ok()
            })
        };
        match jwk.get("kty").and_then(Value::as_str)? {
            "RSA" => Some(Public::Rsa {
                n: bytes("n")?,
                e: bytes("e")?,
            }),
            "EC" => {
                let (curve, size) = match jwk.get("crv").and_then(Value::as_str)? {
                    "P-256" => (Curve::P256, 32),
                    "P-384" => (Curve::P384, 48),
                    _ => return None,
                };
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != size || y.len() != size {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Some(Public::Ec { curve, point })
            }
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for RingKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let jwk = Value::deserialize(deserializer)?;
        // A key openidconnect cannot read is an error here, which the key set skips.
        let core: CoreJsonWebKey =
            serde_json::from_value(jwk.clone()).map_err(serde::de::Error::custom)?;
        // `key_ops` restricts a key as `use` does (RFC 7517 §4.3); openidconnect's key type
        // does not read it. A value that is not a list says nothing usable: no `verify`.
        let verifies = match jwk.get("key_ops") {
            None => true,
            Some(Value::Array(ops)) => ops.iter().any(|op| op.as_str() == Some("verify")),
            Some(_) => false,
        };
        Ok(RingKey {
            core,
            public: Public::from_jwk(&jwk),
            verifies,
        })
    }
}

impl Serialize for RingKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(serializer)
    }
}

impl JsonWebKey for RingKey {
    type KeyUse = <CoreJsonWebKey as JsonWebKey>::KeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.core.key_id()
    }

    fn key_type(&self) -> &openidconnect::core::CoreJsonWebKeyType {
        self.core.key_type()
    }

    fn key_use(&self) -> Option<&Self::KeyUse> {
        self.core.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&Self::SigningAlgorithm> {
        self.core.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        RingKey {
            core: CoreJsonWebKey::new_symmetric(key),
            public: None,
            verifies: true,
        }
    }

    fn verify_signature(
        &self,
        alg: &Self::SigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        use CoreJwsSigningAlgorithm as Alg;
        let invalid = |_| SignatureVerificationError::CryptoError("bad signature".into());
        match (&self.public, alg) {
            (
                Some(Public::Rsa { n, e }),
                Alg::RsaSsaPkcs1V15Sha256
                | Alg::RsaSsaPkcs1V15Sha384
                | Alg::RsaSsaPkcs1V15Sha512
                | Alg::RsaSsaPssSha256
                | Alg::RsaSsaPssSha384
                | Alg::RsaSsaPssSha512,
            ) => {
                let params = match alg {
                    Alg::RsaSsaPkcs1V15Sha256 => &ring_signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::RsaSsaPkcs1V15Sha384 => &ring_signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::RsaSsaPkcs1V15Sha512 => &ring_signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::RsaSsaPssSha256 => &ring_signature::RSA_PSS_2048_8192_SHA256,
                    Alg::RsaSsaPssSha384 => &ring_signature::RSA_PSS_2048_8192_SHA384,
                    _ => &ring_signature::RSA_PSS_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .map_err(invalid)
            }
            (Some(Public::Ec { curve, point }), Alg::EcdsaP256Sha256 | Alg::EcdsaP384Sha384) => {
                let algorithm = match (curve, alg) {
                    (Curve::P256, Alg::EcdsaP256Sha256) => &ring_signature::ECDSA_P256_SHA256_FIXED,
                    (Curve::P384, Alg::EcdsaP384Sha384) => &ring_signature::ECDSA_P384_SHA384_FIXED,
                    _ => {
                        return Err(SignatureVerificationError::InvalidKey(
                            "the key's curve does not match the algorithm".into(),
                        ))
                    }
                };
                ring_signature::UnparsedPublicKey::new(algorithm, point)
                    .verify(message, signature)
                    .map_err(invalid)
            }
            // HMAC, EdDSA, P-521 and anything else: openidconnect's own implementation.
            _ => self.core.verify_signature(alg, message, signature),
        }
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &Self::SigningAlgorithm) -> Result<Vec<u8>, String> {
        self.core.hash_bytes(bytes, alg)
    }
}

/// The JWS algorithm (RFC 7518 §3.1) an `alg` header names; `None` for `none` and names this
/// library does not verify.
pub(crate) fn signing_alg(name: &str) -> Option<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as Alg;
    Some(match name {
        "HS256" => Alg::HmacSha256,
        "HS384" => Alg::HmacSha384,
        "HS512" => Alg::HmacSha512,
        "RS256" => Alg::RsaSsaPkcs1V15Sha256,
        "RS384" => Alg::RsaSsaPkcs1V15Sha384,
        "RS512" => Alg::RsaSsaPkcs1V15Sha512,
        "PS256" => Alg::RsaSsaPssSha256,
        "PS384" => Alg::RsaSsaPssSha384,
        "PS512" => Alg::RsaSsaPssSha512,
        "ES256" => Alg::EcdsaP256Sha256,
        "ES384" => Alg::EcdsaP384Sha384,
        "ES512" => Alg::EcdsaP521Sha512,
        "EdDSA" => Alg::EdDsa,
        _ => return None,
    })
}

/// Why [`verify_jws`] refused a signature.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwsRefusal {
    /// No key of the set is eligible: none has the token's `kid` (when it has one), or none
    /// fits the algorithm.
    NoKey,
    /// Eligible keys exist, and none verifies the signature.
    BadSignature,
}

impl RingKey {
    /// Whether this key may check a signature made with `alg` (the selection openidconnect's
    /// verifier makes, and `key_ops`): meant for signatures (or not said) by `use`, allowed to
    /// `verify` by `key_ops` (or not said), of the algorithm's key type, and restricted to
    /// `alg` if restricted at all (RFC 7517 §4.2 to §4.4).
    fn fits(&self, alg: &CoreJwsSigningAlgorithm) -> bool {
        use openidconnect::{JsonWebKeyUse, JwsSigningAlgorithm};
        self.key_use()
            .is_none_or(|key_use| key_use.allows_signature())
            && self.verifies
            && alg.key_type().as_ref() == Some(self.key_type())
            && match self.signing_alg() {
                JsonWebKeyAlgorithm::Unspecified => true,
                JsonWebKeyAlgorithm::Algorithm(key_alg) => key_alg == alg,
                _ => false,
            }
    }
}

/// Checks the signature of a compact JWS whose header says `alg` and `kid`, with the
/// provider's published keys. Only keys that fit are tried: with a `kid`, the keys with that
/// id; without one, each key (Core §10.1 lets a provider with one key per type omit it).
/// Which keys are tried depends on the header, but the header cannot make a key that is not
/// the provider's count, nor an algorithm that is not allowed (checked before this).
pub(crate) fn verify_jws(
    keys: &KeySet,
    kid: Option<&str>,
    alg: &CoreJwsSigningAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwsRefusal> {
    let mut eligible = keys
        .keys()
        .iter()
        .filter(|key| {
            kid.is_none_or(|kid| key.key_id().is_some_and(|id| id.as_str() == kid)) && key.fits(alg)
        })
        .peekable();
    if eligible.peek().is_none() {
        return Err(JwsRefusal::NoKey);
    }
    if eligible.any(|key| key.verify_signature(alg, message, signature).is_ok()) {
        Ok(())
    } else {
        Err(JwsRefusal::BadSignature)
    }
}

/// Checks an HMAC-signed JWS (HS256/384/512) with the client secret as the key (Core §10.1),
/// in constant time.
pub(crate) fn verify_hmac(
    alg: &CoreJwsSigningAlgorithm,
    secret: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), JwsRefusal> {
    use ring::hmac;
    let algorithm = match alg {
        CoreJwsSigningAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
        CoreJwsSigningAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
        CoreJwsSigningAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        _ => return Err(JwsRefusal::NoKey),
    };
    hmac::verify(&hmac::Key::new(algorithm, secret), message, signature)
        .map_err(|_| JwsRefusal::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::core::CoreRsaPrivateSigningKey;
    use openidconnect::PrivateSigningKey;
    use ring::signature::KeyPair;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn rsa_signatures_are_checked_with_ring() {
        let signer =
            CoreRsaPrivateSigningKey::from_pem(include_str!("testdata/rsa1.pem"), None).unwrap();
        let jwk = serde_json::to_value(signer.as_verification_key()).unwrap();
        let key: RingKey = serde_json::from_value(jwk).unwrap();
        assert!(matches!(key.public, Some(Public::Rsa { .. })));
        let alg = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let mut signature = signer.sign(&alg, b"header.payload").unwrap();
        assert!(key
            .verify_signature(&alg, b"header.payload", &signature)
            .is_ok());
        assert!(key
            .verify_signature(&alg, b"header.payloaD", &signature)
            .is_err());
        signature[0] ^= 1;
        assert!(key
            .verify_signature(&alg, b"header.payload", &signature)
            .is_err());
    }

    #[test]
    fn ecdsa_p256_signatures_are_checked_with_ring() {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ring_signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = ring_signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = ring_signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
        let key: RingKey = serde_json::from_value(jwk).unwrap();
        let signature = pair.sign(&rng, b"header.payload").unwrap();
        let es256 = CoreJwsSigningAlgorithm::EcdsaP256Sha256;
        assert!(key
            .verify_signature(&es256, b"header.payload", signature.as_ref())
            .is_ok());
        assert!(key
            .verify_signature(&es256, b"other", signature.as_ref())
            .is_err());
        // The wrong algorithm for the key's curve is refused, not tried.
        assert!(key
            .verify_signature(
                &CoreJwsSigningAlgorithm::EcdsaP384Sha384,
                b"header.payload",
                signature.as_ref()
            )
            .is_err());
    }

    #[test]
    fn only_keys_that_fit_are_tried() {
        let signer =
            CoreRsaPrivateSigningKey::from_pem(include_str!("testdata/rsa1.pem"), None).unwrap();
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let signature = signer.sign(&rs256, b"header.payload").unwrap();
        let set = |changes: serde_json::Value| -> KeySet {
            let mut jwk = serde_json::to_value(signer.as_verification_key()).unwrap();
            for (name, value) in changes.as_object().unwrap() {
                jwk[name] = value.clone();
            }
            serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap()
        };
        let check = |keys: &KeySet, kid: Option<&str>, alg: &CoreJwsSigningAlgorithm| {
            verify_jws(keys, kid, alg, b"header.payload", &signature)
        };
        let plain = set(serde_json::json!({"kid": "k1"}));
        assert_eq!(check(&plain, Some("k1"), &rs256), Ok(()));
        assert_eq!(check(&plain, None, &rs256), Ok(()));
        assert_eq!(check(&plain, Some("k2"), &rs256), Err(JwsRefusal::NoKey));
        assert_eq!(
            verify_jws(&plain, Some("k1"), &rs256, b"header.other", &signature),
            Err(JwsRefusal::BadSignature)
        );
        // An RSA key never checks an ECDSA signature, whatever the `kid`.
        let es256 = CoreJwsSigningAlgorithm::EcdsaP256Sha256;
        assert_eq!(check(&plain, Some("k1"), &es256), Err(JwsRefusal::NoKey));
        // A key published for encryption, or for another algorithm, is not eligible.
        let enc = set(serde_json::json!({"kid": "k1", "use": "enc"}));
        assert_eq!(check(&enc, Some("k1"), &rs256), Err(JwsRefusal::NoKey));
        let ps256 = set(serde_json::json!({"kid": "k1", "alg": "PS256"}));
        assert_eq!(check(&ps256, Some("k1"), &rs256), Err(JwsRefusal::NoKey));
        let sig_rs256 = set(serde_json::json!({"kid": "k1", "use": "sig", "alg": "RS256"}));
        assert_eq!(check(&sig_rs256, Some("k1"), &rs256), Ok(()));
        // `key_ops` must allow `verify` when the key has it (RFC 7517 §4.3).
        for ops in [
            serde_json::json!(["sign"]),
            serde_json::json!(["encrypt", "wrapKey"]),
            serde_json::json!([]),
            serde_json::json!("verify"),
            serde_json::json!(null),
        ] {
            let restricted = set(serde_json::json!({"kid": "k1", "key_ops": ops}));
            assert_eq!(
                check(&restricted, Some("k1"), &rs256),
                Err(JwsRefusal::NoKey),
                "{ops}"
            );
            assert_eq!(
                check(&restricted, None, &rs256),
                Err(JwsRefusal::NoKey),
                "{ops}"
            );
        }
        for ops in [
            serde_json::json!(["verify"]),
            serde_json::json!(["sign", "verify"]),
        ] {
            let allowed = set(serde_json::json!({"kid": "k1", "key_ops": ops}));
            assert_eq!(check(&allowed, Some("k1"), &rs256), Ok(()), "{ops}");
        }
    }

    #[test]
    fn hmac_signatures_are_checked_with_the_secret() {
        let hs256 = CoreJwsSigningAlgorithm::HmacSha256;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"the secret");
        let tag = ring::hmac::sign(&key, b"header.payload");
        assert_eq!(
            verify_hmac(&hs256, b"the secret", b"header.payload", tag.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify_hmac(&hs256, b"another secret", b"header.payload", tag.as_ref()),
            Err(JwsRefusal::BadSignature)
        );
        // HS384 with an HS256 tag: the lengths differ, and it is refused.
        assert_eq!(
            verify_hmac(
                &CoreJwsSigningAlgorithm::HmacSha384,
                b"the secret",
                b"header.payload",
                tag.as_ref()
            ),
            Err(JwsRefusal::BadSignature)
        );
    }

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!(
            signing_alg("RS256"),
            Some(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256)
        );
        assert_eq!(signing_alg("EdDSA"), Some(CoreJwsSigningAlgorithm::EdDsa));
        for name in ["none", "rs256", "RS256 ", "ES256K", ""] {
            assert_eq!(signing_alg(name), None, "{name:?}");
        }
    }

    #[test]
    fn unreadable_keys_are_skipped_in_a_set() {
        let set: KeySet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "AKP", "kid": "pq"},
            {"kty": "RSA", "kid": "broken"},
            "not a key",
        ]}))
        .unwrap();
        let kids: Vec<_> = set
            .keys()
            .iter()
            .map(|k| k.key_id().map(|id| id.to_string()))
            .collect();
        assert_eq!(
            kids,
            [Some("broken".to_string())],
            "only the RSA entry reads as a key"
        );
        assert!(
            set.keys()[0].public.is_none(),
            "without n and e it cannot verify anything"
        );
    }
}
