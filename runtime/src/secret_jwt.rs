//! Keys the client signs with: client secrets that are JWTs the client signs itself, as Sign in
//! with Apple requires ("Creating a client secret",
//! developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret),
//! and the RSA key of OAuth 1.0a's `RSA-SHA1`.

use std::fmt;
use std::sync::Mutex;

/// How long a generated client secret is valid. Apple allows up to six months (15,777,000
/// seconds, "Creating a client secret"); a day keeps a leaked one short-lived.
const SECRET_LIFETIME: u64 = 24 * 3600;
/// A secret is made anew when it has less than this left.
const SECRET_RENEWAL: u64 = 3600;

/// Makes Sign in with Apple's client secret: an ES256 JWT with `iss` the team id, `sub` the
/// client id, `aud` Apple's issuer, `iat`/`exp`, and the key id as `kid` (Apple, "Creating a
/// client secret"). Kept and reused until it nears its expiry.
pub(crate) struct SecretMaker {
    key: ring::signature::EcdsaKeyPair,
    team_id: String,
    key_id: String,
    current: Mutex<Option<(String, u64)>>,
}

impl fmt::Debug for SecretMaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretMaker")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretMaker {
    /// From the `.p8` key Apple hands out (PKCS#8 PEM; `\n` escapes, as environment variables
    /// often carry them, are read as line breaks).
    pub(crate) fn new(pem: &str, team_id: String, key_id: String) -> Result<Self, String> {
        use rustls::pki_types::pem::PemObject;
        let pem = if pem.contains("\\n") && !pem.contains('\n') {
            pem.replace("\\n", "\n")
        } else {
            pem.to_string()
        };
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.trim().as_bytes())
            .map_err(|_| {
                "`private_key` is not a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`)"
                    .to_string()
            })?;
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| "`private_key` is not a P-256 (ES256) key".to_string())?;
        Ok(SecretMaker {
            key,
            team_id,
            key_id,
            current: Mutex::new(None),
        })
    }

    /// The secret to send at `now` (seconds since the epoch): the current one, or a new one
    /// when it expires within [`SECRET_RENEWAL`].
    pub(crate) fn secret(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
    ) -> Result<String, String> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((secret, expires)) = current.as_ref() {
            if now.saturating_add(SECRET_RENEWAL) < *expires && now >= expires - SECRET_LIFETIME {
                return Ok(secret.clone());
            }
        }
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = serde_json::json!({"alg": "ES256", "kid": self.key_id, "typ": "JWT"});
        let expires = now + SECRET_LIFETIME;
        let claims = serde_json::json!({
            "iss": self.team_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": expires,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .map_err(|_| "the client secret could not be signed".to_string())?;
        let secret = format!("{input}.{}", b64(signature.as_ref()));
        *current = Some((secret.clone(), expires));
        Ok(secret)
    }
}

/// The private key of `RSA-SHA1`, read once when the registry is built.
pub(crate) struct RsaKey(rsa::RsaPrivateKey);

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaKey([redacted])")
    }
}

impl RsaKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`). The message never quotes the key.
    pub(crate) fn from_pem(pem: &str) -> Result<RsaKey, String> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        // Keys pasted into one-line environment variables often carry literal `\n`s.
        let pem = pem.trim().replace("\\n", "\n");
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            rsa::RsaPrivateKey::from_pkcs1_pem(&pem).map_err(|e| e.to_string())
        } else {
            rsa::RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| e.to_string())
        }
        .map_err(|e| format!("`rsa_key` is not an RSA private key in PEM form: {e}"))?;
        use rsa::traits::PublicKeyParts;
        if key.size() < 256 {
            return Err(format!(
                "`rsa_key` has {} bits; RSA-SHA1 keys must have at least 2048",
                key.size() * 8
            ));
        }
        Ok(RsaKey(key))
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        // DigestInfo for SHA-1 (RFC 8017 §9.2, note 1), then the 20-byte digest.
        const SHA1_PREFIX: [u8; 15] = [
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ];
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, message);
        let padding = rsa::Pkcs1v15Sign {
            hash_len: Some(20),
            prefix: Box::new(SHA1_PREFIX),
        };
        // With a random source, the private-key operation is blinded.
        self.0
            .sign_with_rng(&mut rsa::rand_core::OsRng, padding, digest.as_ref())
            .map_err(|e| format!("RSA-SHA1 signing failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn apple_secrets_are_es256_jwts_reused_until_near_expiry() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        use base64::Engine;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        // Written with `\n` escapes, as in an environment variable.
        let maker = SecretMaker::new(&pem, "TEAM".into(), "KID".into()).unwrap();
        let first = maker
            .secret("app", "https://appleid.apple.com", 1_000_000)
            .unwrap();
        let parts: Vec<&str> = first.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |s: &str| -> Value {
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            decode(parts[0]),
            serde_json::json!({"alg": "ES256", "kid": "KID", "typ": "JWT"})
        );
        assert_eq!(
            decode(parts[1]),
            serde_json::json!({"iss": "TEAM", "sub": "app", "aud": "https://appleid.apple.com",
                               "iat": 1_000_000, "exp": 1_000_000 + SECRET_LIFETIME})
        );
        // The signature verifies with the key's public half.
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        use ring::signature::KeyPair;
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            pair.public_key().as_ref(),
        );
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        // Reused while far from expiry; renewed within the last hour.
        let later = maker
            .secret("app", "https://appleid.apple.com", 1_000_000 + 3600)
            .unwrap();
        assert_eq!(later, first);
        let renewed = maker
            .secret(
                "app",
                "https://appleid.apple.com",
                1_000_000 + SECRET_LIFETIME - 1800,
            )
            .unwrap();
        assert_ne!(renewed, first);
        assert!(SecretMaker::new("not a key", "T".into(), "K".into())
            .unwrap_err()
            .contains("PKCS#8"));
    }
}
