//! Client assertions: the JWTs a client authenticates with at the token endpoint instead of
//! sending its secret (RFC 7523 §2.2, OpenID Connect Core §9): `client_secret_jwt` (HS256,
//! keyed by the client secret) and `private_key_jwt` (RS256, PS256, ES256 or EdDSA, signed by
//! the client's private key, whose public half the provider holds).
//!
//! Pure: the key is read once when the registry is built, and an assertion is made from the
//! client id, the audience, the time and a random `jti` handed in. The audience is the
//! provider's issuer identifier, one string, never the token endpoint's URL: an assertion
//! made for one endpoint of a provider could otherwise be replayed at another party that
//! shares the URL shape, which is the "audience injection" attack that
//! draft-ietf-oauth-rfc7523bis (§4) and FAPI 2.0 Security Profile (§5.3.2.1) close by
//! requiring the issuer as the single `aud` value.

use base64::Engine;
use std::fmt;

/// How long an assertion is valid: long enough for one request, short enough that a leaked
/// one is of no use (RFC 7523 §3 item 4 asks for an `exp`; FAPI 2.0 wants it short).
pub(crate) const ASSERTION_LIFETIME: u64 = 60;

/// `client_assertion_type` for both JWT methods (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The smallest HS256 key RFC 7518 §3.2 allows: as long as the hash output, 256 bits.
pub(crate) const MIN_HMAC_SECRET: usize = 32;

/// A `private_key_jwt` signing algorithm (`client_assertion_alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AssertionAlg {
    Rs256,
    Ps256,
    Es256,
    EdDsa,
}

impl AssertionAlg {
    /// The JWS `alg` name (RFC 7518 §3.1, RFC 8037 §3.1).
    pub(crate) fn name(self) -> &'static str {
        match self {
            AssertionAlg::Rs256 => "RS256",
            AssertionAlg::Ps256 => "PS256",
            AssertionAlg::Es256 => "ES256",
            AssertionAlg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name`, one of `spec::CLIENT_ASSERTION_ALGS`.
    pub(crate) fn from_name(name: &str) -> Option<AssertionAlg> {
        match name {
            "RS256" => Some(AssertionAlg::Rs256),
            "PS256" => Some(AssertionAlg::Ps256),
            "ES256" => Some(AssertionAlg::Es256),
            "EdDSA" => Some(AssertionAlg::EdDsa),
            _ => None,
        }
    }
}

/// The private key itself, parsed by ring.
enum Signer {
    Rsa(ring::signature::RsaKeyPair),
    P256(ring::signature::EcdsaKeyPair),
    Ed25519(ring::signature::Ed25519KeyPair),
}

impl Signer {
    fn kind(&self) -> &'static str {
        match self {
            Signer::Rsa(_) => "an RSA key",
            Signer::P256(_) => "a P-256 key",
            Signer::Ed25519(_) => "an Ed25519 key",
        }
    }

    /// The algorithm a key of this type signs with when `client_assertion_alg` is not given.
    fn default_alg(&self) -> AssertionAlg {
        match self {
            Signer::Rsa(_) => AssertionAlg::Rs256,
            Signer::P256(_) => AssertionAlg::Es256,
            Signer::Ed25519(_) => AssertionAlg::EdDsa,
        }
    }

    fn fits(&self, alg: AssertionAlg) -> bool {
        matches!(
            (self, alg),
            (Signer::Rsa(_), AssertionAlg::Rs256 | AssertionAlg::Ps256)
                | (Signer::P256(_), AssertionAlg::Es256)
                | (Signer::Ed25519(_), AssertionAlg::EdDsa)
        )
    }
}

/// The key `private_key_jwt` signs with, its algorithm and its `kid`; read once when the
/// registry is built.
pub(crate) struct AssertionKey {
    signer: Signer,
    alg: AssertionAlg,
    kid: Option<String>,
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionKey")
            .field("alg", &self.alg.name())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl AssertionKey {
    /// Reads a PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, or PKCS#1 `BEGIN RSA PRIVATE KEY`
    /// for RSA; `\n` escapes, as one-line environment variables carry them, are read as line
    /// breaks) and checks that `alg`, when given, is one this key signs with; without `alg`,
    /// the key's type picks it (RSA: RS256, P-256: ES256, Ed25519: EdDSA). Messages never quote
    /// the key; `key` is the declaration key named in them.
    pub(crate) fn from_pem(
        pem: &str,
        alg: Option<AssertionAlg>,
        kid: Option<String>,
        key: &str,
    ) -> Result<AssertionKey, String> {
        use rustls::pki_types::pem::PemObject;
        let pem = if pem.contains("\\n") && !pem.contains('\n') {
            pem.replace("\\n", "\n")
        } else {
            pem.to_string()
        };
        let pem = pem.trim().as_bytes();
        let rng = ring::rand::SystemRandom::new();
        let signer = if let Ok(der) = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem) {
            let der = der.secret_pkcs8_der();
            if let Ok(pair) = ring::signature::RsaKeyPair::from_pkcs8(der) {
                Signer::Rsa(pair)
            } else if let Ok(pair) = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                der,
                &rng,
            ) {
                Signer::P256(pair)
            } else if let Ok(pair) =
                ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            {
                Signer::Ed25519(pair)
            } else {
                return Err(format!(
                    "`{key}` is not a key `private_key_jwt` can sign with: expected an RSA key of 2048 bits or more, a P-256 key or an Ed25519 key"
                ));
            }
        } else if let Ok(der) = rustls::pki_types::PrivatePkcs1KeyDer::from_pem_slice(pem) {
            ring::signature::RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(Signer::Rsa)
                .map_err(|_| format!("`{key}` is not an RSA private key of 2048 bits or more"))?
        } else {
            return Err(format!(
                "`{key}` is not a PEM private key: expected PKCS#8 (`-----BEGIN PRIVATE KEY-----`)"
            ));
        };
        let alg = match alg {
            None => signer.default_alg(),
            Some(alg) if signer.fits(alg) => alg,
            Some(alg) => {
                return Err(format!(
                    "`client_assertion_alg: {}` does not fit `{key}`, which is {}; use `{}`{}",
                    alg.name(),
                    signer.kind(),
                    signer.default_alg().name(),
                    if matches!(signer, Signer::Rsa(_)) {
                        " or `PS256`"
                    } else {
                        ""
                    }
                ))
            }
        };
        Ok(AssertionKey { signer, alg, kid })
    }

    /// The algorithm the assertions are signed with.
    pub(crate) fn alg(&self) -> AssertionAlg {
        self.alg
    }

    /// A signed `private_key_jwt` assertion for `client_id`, for `audience` (the issuer), made
    /// at `now` (seconds since the epoch) with the unique id `jti`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        jti: &str,
    ) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": self.alg.name(), "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let input = signing_input(&header, &claims(client_id, audience, now, jti));
        let rng = ring::rand::SystemRandom::new();
        let failed = |_| "the client assertion could not be signed".to_string();
        let signature = match (&self.signer, self.alg) {
            (Signer::Rsa(pair), alg) => {
                let padding: &dyn ring::signature::RsaEncoding = if alg == AssertionAlg::Ps256 {
                    &ring::signature::RSA_PSS_SHA256
                } else {
                    &ring::signature::RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, input.as_bytes(), &mut signature)
                    .map_err(failed)?;
                signature
            }
            (Signer::P256(pair), _) => pair
                .sign(&rng, input.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            (Signer::Ed25519(pair), _) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{input}.{}", b64(&signature)))
    }
}

/// A `client_secret_jwt` assertion: HS256 keyed by the client secret (RFC 7523 §2.2, OpenID
/// Connect Core §9), for `client_id` and `audience` (the issuer), made at `now` with `jti`.
pub(crate) fn secret_assertion(
    secret: &str,
    client_id: &str,
    audience: &str,
    now: u64,
    jti: &str,
) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let input = signing_input(&header, &claims(client_id, audience, now, jti));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// A fresh `jti`: 128 random bits, so that the provider can refuse a replayed assertion
/// (RFC 7523 §3 item 7).
pub(crate) fn new_jti() -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no random bytes for the client assertion's `jti`".to_string())?;
    Ok(b64(&bytes))
}

/// The claims of RFC 7523 §3: `iss` and `sub` the client id, `aud` the issuer as one string,
/// `iat`, a short `exp`, and `jti`.
fn claims(client_id: &str, audience: &str, now: u64, jti: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    })
}

fn signing_input(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{self as sig, KeyPair};
    use serde_json::{json, Value};

    const ISSUER: &str = "https://op.example/tenant";

    fn pem(der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    fn decode(part: &str) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap()
    }

    /// Splits a JWT, checks its claims and returns (header, signing input, signature).
    fn open(jwt: &str) -> (Value, String, Vec<u8>) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        let claims: Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(
            claims,
            json!({"iss": "app", "sub": "app", "aud": ISSUER, "jti": "j-1",
                   "iat": 1_000_000, "exp": 1_000_000 + ASSERTION_LIFETIME})
        );
        // One string, not an array, and the issuer, not a token endpoint URL.
        assert!(claims["aud"].is_string());
        (
            header,
            format!("{}.{}", parts[0], parts[1]),
            decode(parts[2]),
        )
    }

    fn rsa_pkcs8() -> Vec<u8> {
        // ring cannot generate RSA keys; the `rsa` crate can.
        use rsa::pkcs8::EncodePrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        key.to_pkcs8_der().unwrap().as_bytes().to_vec()
    }

    #[test]
    fn rsa_assertions_verify_with_the_public_key_in_rs256_and_ps256() {
        let der = rsa_pkcs8();
        let public = sig::RsaKeyPair::from_pkcs8(&der)
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        for (alg, name, verifier) in [
            (None, "RS256", &sig::RSA_PKCS1_2048_8192_SHA256),
            (
                Some(AssertionAlg::Ps256),
                "PS256",
                &sig::RSA_PSS_2048_8192_SHA256,
            ),
        ] {
            let key =
                AssertionKey::from_pem(&pem(&der), alg, Some("k1".into()), "client_key").unwrap();
            assert_eq!(key.alg().name(), name);
            let jwt = key.assertion("app", ISSUER, 1_000_000, "j-1").unwrap();
            let (header, input, signature) = open(&jwt);
            assert_eq!(header, json!({"alg": name, "typ": "JWT", "kid": "k1"}));
            sig::UnparsedPublicKey::new(verifier, &public)
                .verify(input.as_bytes(), &signature)
                .unwrap();
            // Not under the other padding.
            let other: &dyn sig::VerificationAlgorithm = if name == "RS256" {
                &sig::RSA_PSS_2048_8192_SHA256
            } else {
                &sig::RSA_PKCS1_2048_8192_SHA256
            };
            assert!(sig::UnparsedPublicKey::new(other, &public)
                .verify(input.as_bytes(), &signature)
                .is_err());
        }
    }

    #[test]
    fn p256_assertions_are_es256_by_default_and_verify() {
        let rng = ring::rand::SystemRandom::new();
        let der =
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = sig::EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            der.as_ref(),
            &rng,
        )
        .unwrap();
        // Written with `\n` escapes, as in an environment variable.
        let escaped = pem(der.as_ref()).trim().replace('\n', "\\n");
        let key = AssertionKey::from_pem(&escaped, None, None, "client_key").unwrap();
        assert_eq!(key.alg(), AssertionAlg::Es256);
        let jwt = key.assertion("app", ISSUER, 1_000_000, "j-1").unwrap();
        let (header, input, signature) = open(&jwt);
        // No `kid` when none is configured.
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT"}));
        sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .verify(input.as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn ed25519_assertions_are_eddsa_and_verify() {
        let rng = ring::rand::SystemRandom::new();
        let der = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = sig::Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap();
        let key = AssertionKey::from_pem(
            &pem(der.as_ref()),
            Some(AssertionAlg::EdDsa),
            Some("ed".into()),
            "client_key",
        )
        .unwrap();
        let jwt = key.assertion("app", ISSUER, 1_000_000, "j-1").unwrap();
        let (header, input, signature) = open(&jwt);
        assert_eq!(header, json!({"alg": "EdDSA", "typ": "JWT", "kid": "ed"}));
        sig::UnparsedPublicKey::new(&sig::ED25519, pair.public_key().as_ref())
            .verify(input.as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn secret_assertions_are_hs256_with_the_client_secret() {
        let secret = "a-client-secret-of-at-least-32-bytes";
        let jwt = secret_assertion(secret, "app", ISSUER, 1_000_000, "j-1");
        let (header, input, signature) = open(&jwt);
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        ring::hmac::verify(&key, input.as_bytes(), &signature).unwrap();
        let wrong = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another-secret");
        assert!(ring::hmac::verify(&wrong, input.as_bytes(), &signature).is_err());
    }

    #[test]
    fn an_algorithm_that_does_not_fit_the_key_is_refused() {
        let rng = ring::rand::SystemRandom::new();
        let ec =
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let message = AssertionKey::from_pem(
            &pem(ec.as_ref()),
            Some(AssertionAlg::Rs256),
            None,
            "client_key",
        )
        .unwrap_err();
        assert_eq!(
            message,
            "`client_assertion_alg: RS256` does not fit `client_key`, which is a P-256 key; use `ES256`"
        );
        let ed = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        assert!(AssertionKey::from_pem(
            &pem(ed.as_ref()),
            Some(AssertionAlg::Es256),
            None,
            "client_key"
        )
        .unwrap_err()
        .contains("an Ed25519 key; use `EdDSA`"));
        let rsa = rsa_pkcs8();
        assert!(AssertionKey::from_pem(
            &pem(&rsa),
            Some(AssertionAlg::EdDsa),
            None,
            "client_key_file"
        )
        .unwrap_err()
        .contains("`client_key_file`, which is an RSA key; use `RS256` or `PS256`"));
    }

    #[test]
    fn unreadable_keys_are_refused_without_quoting_them() {
        let message =
            AssertionKey::from_pem("not a key at all", None, None, "client_key").unwrap_err();
        assert!(message.contains("not a PEM private key"), "{message}");
        assert!(!message.contains("at all"));
        // A P-384 key: PKCS#8, but of a curve no allowed algorithm uses.
        let rng = ring::rand::SystemRandom::new();
        let p384 =
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        assert!(
            AssertionKey::from_pem(&pem(p384.as_ref()), None, None, "client_key")
                .unwrap_err()
                .contains("a P-256 key or an Ed25519 key")
        );
    }

    #[test]
    fn every_jti_is_new() {
        let a = new_jti().unwrap();
        let b = new_jti().unwrap();
        assert_ne!(a, b);
        assert_eq!(decode(&a).len(), 16);
    }
}
