//! ID-token validation (OpenID Connect Core §3.1.3.7) as a pure function of the token, what
//! is expected of it, the provider's keys and the time: no I/O, so every rule has a
//! table-driven unit test here. The `oidc` service fetches the keys (and refetches them once
//! for an unknown `kid`) and calls these steps.
//!
//! The token is decoded once (strict base64url, JSON objects), and every check runs on that one
//! reading. First the header and the signature ([`parse`], [`check_signature`]): its size, a
//! compact JWS, an algorithm the provider's metadata allows (RS256 when it says nothing; never
//! `none`; HMAC only with the client secret of a confidential client), no `crit` extensions,
//! `typ` absent or `JWT` (or `JOSE`), no `cty`, and the signature itself, with a key the
//! provider publishes that fits the algorithm (see `jose`). Only then the claims
//! ([`check_claims`]), so that a forgery learns nothing about them: every required claim,
//! `iss` exactly the expected issuer, `aud` and `azp`, `exp`/`iat`/`nbf` with the provider's
//! leeway, the nonce of this login, `at_hash`. openidconnect's own token types would parse the
//! token a second time and skip `azp` and the leeway, so its verifier is not used; its key
//! types are. Each failure is its own [`IdTokenError`].

use crate::error::{IdTokenError, MAX_ID_TOKEN};
use crate::jose::{self, JwsRefusal, KeySet};
use crate::userinfo::UserInfo;
use base64::Engine;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::{Map, Value};

/// What the nonce of an ID token must be.
pub(crate) enum NonceRule<'a> {
    /// The one sent with this login.
    Equals(&'a str),
    /// A refreshed token: none, or the original one (Core §12.2).
    AbsentOr(Option<&'a str>),
    /// No expectation (an ID token parsed later without its nonce).
    Any,
}

fn decode_part(part: &str) -> Result<Map<String, Value>, IdTokenError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed("a part is not base64url".into()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(IdTokenError::Malformed(
            "a part is not a JSON object".into(),
        )),
    }
}

/// The payload of a JWT, without checking anything (for tokens checked before).
pub(crate) fn unverified_claims(jwt: &str) -> Option<Map<String, Value>> {
    decode_part(jwt.split('.').nth(1)?).ok()
}

/// A time claim, in seconds since the epoch; `None` when absent.
fn optional_seconds(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, IdTokenError> {
    match claims.get(name) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| IdTokenError::Malformed(format!("`{name}` is not a time"))),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(IdTokenError::Malformed(format!("`{name}` is not a number"))),
    }
}

/// The time claims of a JWT: when it expires, when it was issued, and when it becomes valid.
/// Every JWT this library validates (ID tokens, at login and on refresh) is checked by the
/// same two steps: [`read`](Self::read) with the other claims, [`check`](Self::check) once
/// issuer and audience passed (Core §3.1.3.7 checks them in that order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Times {
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
}

impl Times {
    /// Reads `exp` and `iat` (required) and `nbf` (optional, RFC 7519 §4.1.5).
    pub(crate) fn read(claims: &Map<String, Value>) -> Result<Times, IdTokenError> {
        let required =
            |name| optional_seconds(claims, name)?.ok_or(IdTokenError::MissingClaim(name));
        Ok(Times {
            exp: required("exp")?,
            iat: required("iat")?,
            nbf: optional_seconds(claims, "nbf")?,
        })
    }

    /// Whether the token is valid at `now` (seconds since the epoch), allowing `leeway`
    /// seconds of clock skew either way.
    pub(crate) fn check(self, now: i64, leeway: i64) -> Result<(), IdTokenError> {
        let ahead = now.saturating_add(leeway);
        if now > self.exp.saturating_add(leeway) {
            return Err(IdTokenError::Expired);
        }
        if self.iat > ahead {
            return Err(IdTokenError::IssuedInFuture);
        }
        if self.nbf.is_some_and(|nbf| nbf > ahead) {
            return Err(IdTokenError::NotYetValid);
        }
        Ok(())
    }
}

fn left_half_hash(alg: &str, input: &str) -> Option<String> {
    use sha2::Digest;
    let digest = match alg {
        // Ed25519, the one EdDSA curve verified here, hashes with SHA-512.
        "EdDSA" => sha2::Sha512::digest(input.as_bytes()).to_vec(),
        _ => match &alg[alg.len().saturating_sub(3)..] {
            "256" => sha2::Sha256::digest(input.as_bytes()).to_vec(),
            "384" => sha2::Sha384::digest(input.as_bytes()).to_vec(),
            "512" => sha2::Sha512::digest(input.as_bytes()).to_vec(),
            _ => return None,
        },
    };
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]))
}

/// How `iss` is checked (Core §3.1.3.7 step 2), with the variations some presets document.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IssuerRule<'a> {
    /// Exactly this issuer.
    Exact(&'a str),
    /// This issuer, or the same without `https://` (Google).
    AlsoWithoutScheme(&'a str),
    /// Microsoft: the template with `{tenantid}` replaced by the token's `tid` (a discovered
    /// issuer without the template is compared as it is); `tid` must be on the space-separated
    /// allow-list when there is one.
    Tenant {
        template: &'a str,
        allowed: Option<&'a str>,
    },
}

impl IssuerRule<'_> {
    fn check(&self, iss: &str, claims: &Map<String, Value>) -> Result<(), IdTokenError> {
        let wrong = |expected: &str| IdTokenError::WrongIssuer {
            expected: expected.to_string(),
            found: iss.to_string(),
        };
        match *self {
            IssuerRule::Exact(expected) if iss != expected => Err(wrong(expected)),
            IssuerRule::AlsoWithoutScheme(expected)
                if iss != expected && expected.strip_prefix("https://") != Some(iss) =>
            {
                Err(wrong(expected))
            }
            IssuerRule::Tenant { template, allowed } => {
                let tid = match claims.get("tid") {
                    Some(Value::String(tid)) if !tid.is_empty() => tid.as_str(),
                    None | Some(Value::Null) => return Err(IdTokenError::MissingClaim("tid")),
                    Some(_) => return Err(IdTokenError::Malformed("`tid` is not a string".into())),
                };
                let expected = template.replace("{tenantid}", tid);
                if iss != expected {
                    return Err(wrong(&expected));
                }
                match allowed {
                    Some(list) if !list.split_whitespace().any(|t| t.eq_ignore_ascii_case(tid)) => {
                        Err(IdTokenError::TenantNotAllowed(tid.to_string()))
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// What a valid ID token must be, for one provider and client.
pub(crate) struct Expectations<'a> {
    /// How the issuer is checked.
    pub issuer: IssuerRule<'a>,
    /// The client id: in `aud`, and `azp` when there.
    pub client_id: &'a str,
    /// The client secret of a confidential client: the only HMAC key, and HMAC is refused
    /// without it (a public client never accepts HS*).
    pub client_secret: Option<&'a str>,
    /// The algorithms the provider's metadata allows; empty means RS256 only (Core §15.1).
    pub allowed_algs: &'a [String],
    /// The only algorithms a security profile allows, whatever the metadata says (FAPI 2.0:
    /// PS256, ES256, EdDSA); `None` without a profile.
    pub profile_algs: Option<&'a [&'static str]>,
    /// Seconds of clock skew allowed either way.
    pub leeway: i64,
    pub nonce: NonceRule<'a>,
    /// The access token issued with the ID token, for `at_hash`.
    pub access_token: Option<&'a str>,
}

/// An ID token whose header passed: what the signature and claim checks need.
pub(crate) struct Parsed<'t> {
    alg_name: String,
    alg: CoreJwsSigningAlgorithm,
    kid: Option<String>,
    /// The first two parts, as received: what the signature covers.
    signed: &'t str,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

impl Parsed<'_> {
    /// The claims, as decoded (not checked yet).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The key id the header names, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether the signature is an HMAC, checked with the client secret rather than the
    /// provider's keys.
    pub fn is_hmac(&self) -> bool {
        matches!(
            self.alg,
            CoreJwsSigningAlgorithm::HmacSha256
                | CoreJwsSigningAlgorithm::HmacSha384
                | CoreJwsSigningAlgorithm::HmacSha512
        )
    }
}

/// Step 1: the token's shape and header.
pub(crate) fn parse<'t>(
    id_token: &'t str,
    expected: &Expectations<'_>,
) -> Result<Parsed<'t>, IdTokenError> {
    parse_typed(id_token, expected, None)
}

/// Step 1 for another JWT of the provider's, signed like its ID tokens: `explicit_typ` is the
/// one explicit `typ` accepted besides the plain ones (a logout token's `logout+jwt`, also as
/// `application/logout+jwt`, RFC 7515 §4.1.9). ID tokens go through [`parse`], which accepts
/// none.
pub(crate) fn parse_typed<'t>(
    id_token: &'t str,
    expected: &Expectations<'_>,
    explicit_typ: Option<&str>,
) -> Result<Parsed<'t>, IdTokenError> {
    if id_token.len() > MAX_ID_TOKEN {
        return Err(IdTokenError::TooLarge);
    }
    let parts: Vec<&str> = id_token.split('.').collect();
    if parts.len() != 3 {
        return Err(IdTokenError::Malformed(
            "not a compact JWS (three dot-separated parts)".into(),
        ));
    }
    let header = decode_part(parts[0])?;
    let claims = decode_part(parts[1])?;

    // The header: an algorithm we allow, and nothing we would have to understand.
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") || parts[2].is_empty() {
        return Err(IdTokenError::Unsigned(alg.to_string()));
    }
    if let Some(crit) = header.get("crit") {
        return Err(IdTokenError::UnsupportedCritical(crit.to_string()));
    }
    // An ID token is a plain JWT: `typ`, if there, says so (RFC 7519 §5.1; `JOSE` is the
    // generic compact JWS), which keeps other JWTs of the provider's, e.g. `at+jwt` access
    // tokens, from passing as one; `cty` would announce a nested token.
    if let Some(typ) = header.get("typ") {
        let plain = typ.as_str().is_some_and(|typ| {
            ["JWT", "application/jwt", "JOSE", "application/jose"]
                .iter()
                .any(|plain| typ.eq_ignore_ascii_case(plain))
                || explicit_typ.is_some_and(|explicit| {
                    // `application/` may be left out of a media type (RFC 7515 §4.1.9).
                    let media = match typ.get(..12) {
                        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
                        _ => typ,
                    };
                    media.eq_ignore_ascii_case(explicit)
                })
        });
        if !plain {
            return Err(IdTokenError::UnexpectedType(format!("typ: {typ}")));
        }
    }
    if let Some(cty) = header.get("cty") {
        return Err(IdTokenError::UnexpectedType(format!("cty: {cty}")));
    }
    let allowed = if expected.allowed_algs.is_empty() {
        alg == "RS256"
    } else {
        expected.allowed_algs.iter().any(|a| a == alg)
    } && (expected.client_secret.is_some() || !alg.starts_with("HS"))
        && expected.profile_algs.is_none_or(|algs| algs.contains(&alg));
    let jws_alg = match jose::signing_alg(alg) {
        Some(jws_alg) if allowed => jws_alg,
        _ => return Err(IdTokenError::DisallowedAlg(alg.to_string())),
    };
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| IdTokenError::Malformed("the signature is not base64url".into()))?;
    Ok(Parsed {
        alg_name: alg.to_string(),
        alg: jws_alg,
        kid: header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_string),
        signed: &id_token[..parts[0].len() + 1 + parts[1].len()],
        signature,
        claims,
    })
}

/// Step 2, for an HMAC signature: checked with the client secret (Core §10.1), in constant
/// time. Only reached for a confidential client ([`parse`] refuses HS* otherwise).
pub(crate) fn check_hmac(parsed: &Parsed<'_>, secret: Option<&str>) -> Result<(), IdTokenError> {
    let secret = secret.ok_or_else(|| IdTokenError::DisallowedAlg(parsed.alg_name.clone()))?;
    jose::verify_hmac(
        &parsed.alg,
        secret.as_bytes(),
        parsed.signed.as_bytes(),
        &parsed.signature,
    )
    .map_err(|_| IdTokenError::BadSignature)
}

/// Step 2, for any other signature: checked with the provider's published keys.
/// [`JwsRefusal::NoKey`] tells the caller that no key fits, so that it may refetch the keys
/// once.
pub(crate) fn check_signature(parsed: &Parsed<'_>, keys: &KeySet) -> Result<(), JwsRefusal> {
    jose::verify_jws(
        keys,
        parsed.kid.as_deref(),
        &parsed.alg,
        parsed.signed.as_bytes(),
        &parsed.signature,
    )
}

/// The claims every JWT the provider signs for this client is checked for, at `now`: `iss`
/// exactly the expected issuer, `aud` containing the client id (and `azp`, when there or when
/// there are several audiences, the client id), `exp` and `iat` present, and `exp`, `iat` and
/// `nbf` within the leeway (Core §3.1.3.7 steps 2 to 4, 9 and 10, in that order). ID tokens
/// ([`check_claims`]) and logout tokens (Back-Channel Logout §2.6 step 4) share it.
pub(crate) fn check_issued(
    claims: &Map<String, Value>,
    expected: &Expectations<'_>,
    now: i64,
) -> Result<(), IdTokenError> {
    let text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        Some(Value::String(_)) => Err(IdTokenError::Malformed(format!("`{name}` is empty"))),
        None | Some(Value::Null) => Err(IdTokenError::MissingClaim(name)),
        Some(_) => Err(IdTokenError::Malformed(format!("`{name}` is not a string"))),
    };
    let optional_text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(IdTokenError::Malformed(format!("`{name}` is not a string"))),
    };
    let iss = text("iss")?;
    let not_audiences =
        || IdTokenError::Malformed("`aud` is not a string or a list of strings".into());
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|aud| aud.as_str().ok_or_else(not_audiences))
            .collect::<Result<_, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(not_audiences()),
    };
    if audiences.is_empty() {
        return Err(IdTokenError::MissingClaim("aud"));
    }
    let times = Times::read(claims)?;
    expected.issuer.check(iss, claims)?;
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    match optional_text("azp")? {
        Some(azp) if azp != expected.client_id => return Err(IdTokenError::WrongAuthorizedParty),
        None if audiences.len() > 1 => return Err(IdTokenError::MissingAuthorizedParty),
        _ => {}
    }
    times.check(now, expected.leeway)?;
    Ok(())
}

/// Step 3, once the signature passed: the claims, at `now` (seconds since the epoch). The
/// claims on success, which always have a non-empty `sub`.
pub(crate) fn check_claims(
    parsed: Parsed<'_>,
    expected: &Expectations<'_>,
    now: i64,
) -> Result<UserInfo, IdTokenError> {
    let claims = parsed.claims;
    let text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        Some(Value::String(_)) => Err(IdTokenError::Malformed(format!("`{name}` is empty"))),
        None | Some(Value::Null) => Err(IdTokenError::MissingClaim(name)),
        Some(_) => Err(IdTokenError::Malformed(format!("`{name}` is not a string"))),
    };
    let optional_text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(IdTokenError::Malformed(format!("`{name}` is not a string"))),
    };
    text("iss")?;
    text("sub")?;
    check_issued(&claims, expected, now)?;
    match (&expected.nonce, optional_text("nonce")?) {
        (NonceRule::Equals(_), None) => return Err(IdTokenError::MissingNonce),
        (NonceRule::Equals(expected), Some(found)) if *expected != found => {
            return Err(IdTokenError::WrongNonce)
        }
        (NonceRule::AbsentOr(expected), Some(found)) if *expected != Some(found) => {
            return Err(IdTokenError::WrongNonce)
        }
        _ => {}
    }
    if let (Some(at_hash), Some(access_token)) = (optional_text("at_hash")?, expected.access_token)
    {
        if left_half_hash(&parsed.alg_name, access_token).as_deref() != Some(at_hash) {
            return Err(IdTokenError::AtHashMismatch);
        }
    }
    // `sub` was checked to be a non-empty string above.
    Ok(UserInfo { claims })
}

/// The three steps at once, with `keys` as they are (no refetch): an ID token, what it must
/// be, the provider's keys and the time → its claims, or why not.
#[cfg(test)]
pub(crate) fn validate(
    id_token: &str,
    expected: &Expectations<'_>,
    keys: &KeySet,
    now: i64,
) -> Result<UserInfo, IdTokenError> {
    let parsed = parse(id_token, expected)?;
    if parsed.is_hmac() {
        check_hmac(&parsed, expected.client_secret)?;
    } else {
        check_signature(&parsed, keys).map_err(|refusal| match refusal {
            JwsRefusal::NoKey => {
                IdTokenError::UnknownKey(parsed.kid().unwrap_or("(none)").to_string())
            }
            JwsRefusal::BadSignature => IdTokenError::BadSignature,
        })?;
    }
    check_claims(parsed, expected, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_strict_base64url() {
        // {"a":1}
        assert!(decode_part("eyJhIjoxfQ").is_ok());
        for bad in ["eyJhIjoxfQ==", "eyJhIjoxfQ=", "eyJhIjoxfQ+", "eyJh Ijoxf"] {
            assert_eq!(
                decode_part(bad),
                Err(IdTokenError::Malformed("a part is not base64url".into())),
                "{bad}"
            );
        }
        // Non-canonical: the last character carries bits that are not part of the data.
        assert!(decode_part("eyJhIjoxfR").is_err());
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_digest() {
        // The example of OpenID Connect Core's test vectors (RS256).
        assert_eq!(
            left_half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        // Ed25519 hashes with SHA-512: the left half of SHA-512("x").
        assert_eq!(
            left_half_hash("EdDSA", "x").as_deref(),
            Some("pKvURIxJVi2CgRXROh_M6pJ_UrTVRZKX-LQ-QtqJI4s")
        );
        assert_eq!(left_half_hash("XS1", "x"), None);
    }

    fn times(claims: serde_json::Value) -> Result<Times, IdTokenError> {
        match claims {
            Value::Object(claims) => Times::read(&claims),
            _ => unreachable!("the tests pass objects"),
        }
    }

    #[test]
    fn time_claims_are_read_strictly() {
        assert_eq!(
            times(serde_json::json!({"exp": 200, "iat": 100})),
            Ok(Times {
                exp: 200,
                iat: 100,
                nbf: None
            })
        );
        assert_eq!(
            times(serde_json::json!({"exp": 200, "iat": 100, "nbf": 150.7})),
            Ok(Times {
                exp: 200,
                iat: 100,
                nbf: Some(150)
            })
        );
        assert_eq!(
            times(serde_json::json!({"iat": 100})),
            Err(IdTokenError::MissingClaim("exp"))
        );
        assert_eq!(
            times(serde_json::json!({"exp": 200})),
            Err(IdTokenError::MissingClaim("iat"))
        );
        assert_eq!(
            times(serde_json::json!({"exp": 200, "iat": 100, "nbf": "soon"})),
            Err(IdTokenError::Malformed("`nbf` is not a number".into()))
        );
        assert_eq!(
            times(serde_json::json!({"exp": 200, "iat": 100, "nbf": null})),
            Ok(Times {
                exp: 200,
                iat: 100,
                nbf: None
            })
        );
    }

    #[test]
    fn time_claims_are_checked_with_the_leeway() {
        let at = |exp, iat, nbf| Times { exp, iat, nbf };
        let now = 1_000;
        assert_eq!(at(1_300, 1_000, Some(1_000)).check(now, 60), Ok(()));
        // Each limit is inclusive: exactly the leeway away is still accepted.
        assert_eq!(at(940, 900, None).check(now, 60), Ok(()));
        assert_eq!(
            at(939, 900, None).check(now, 60),
            Err(IdTokenError::Expired)
        );
        assert_eq!(at(1_300, 1_060, None).check(now, 60), Ok(()));
        assert_eq!(
            at(1_300, 1_061, None).check(now, 60),
            Err(IdTokenError::IssuedInFuture)
        );
        assert_eq!(at(1_300, 1_000, Some(1_060)).check(now, 60), Ok(()));
        assert_eq!(
            at(1_300, 1_000, Some(1_061)).check(now, 60),
            Err(IdTokenError::NotYetValid)
        );
        assert_eq!(
            at(1_300, 1_000, Some(1_001)).check(now, 0),
            Err(IdTokenError::NotYetValid)
        );
        // Extreme values saturate instead of overflowing.
        assert_eq!(
            at(i64::MAX, i64::MIN, Some(i64::MAX)).check(i64::MAX, i64::MAX),
            Ok(())
        );
        assert_eq!(
            at(i64::MIN, 0, None).check(0, 0),
            Err(IdTokenError::Expired)
        );
    }
}

/// The validator as a table: one valid token, then one change per row and the exact outcome.
#[cfg(test)]
mod table {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const SECRET: &str = "a-client-secret-of-thirty-two-bytes!";
    const ISSUER: &str = "https://idp.example";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    struct Signer {
        es256: EcdsaKeyPair,
        keys: KeySet,
    }

    impl Signer {
        fn new() -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let es256 =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            // An uncompressed P-256 point: 0x04, then x and y.
            let point = es256.public_key().as_ref();
            let keys = serde_json::from_value(json!({"keys": [{
                "kty": "EC", "crv": "P-256", "kid": "ec-1", "use": "sig", "alg": "ES256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            }]}))
            .unwrap();
            Signer { es256, keys }
        }

        /// A compact JWS of `header` and `claims`, signed as the header's `alg` says.
        fn sign(&self, header: &Value, claims: &Value) -> String {
            let signed = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let signature = match header["alg"].as_str() {
                Some("ES256") => self
                    .es256
                    .sign(&SystemRandom::new(), signed.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec(),
                Some("HS256") => {
                    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
                    ring::hmac::sign(&key, signed.as_bytes()).as_ref().to_vec()
                }
                _ => b"not a signature".to_vec(),
            };
            format!("{signed}.{}", b64(&signature))
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "alice", "aud": "app", "exp": NOW + 300, "iat": NOW - 10,
            "nonce": "n-1",
        })
    }

    fn expected() -> Expectations<'static> {
        static ALGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        Expectations {
            issuer: IssuerRule::Exact(ISSUER),
            client_id: "app",
            client_secret: Some(SECRET),
            allowed_algs: ALGS.get_or_init(|| vec!["ES256".into(), "HS256".into()]),
            profile_algs: None,
            leeway: 60,
            nonce: NonceRule::Equals("n-1"),
            access_token: None,
        }
    }

    type Change = fn(&mut Value, &mut Value, &mut Expectations<'static>);

    #[test]
    fn every_rule_refuses_with_its_own_error() {
        let signer = Signer::new();
        let es256 = || json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"});
        let hs256 = || json!({"alg": "HS256"});
        let malformed = |why: &str| Err(IdTokenError::Malformed(why.into()));
        #[rustfmt::skip]
        let rows: Vec<(&str, Value, Change, Result<(), IdTokenError>)> = vec![
            ("valid ES256", es256(), |_, _, _| {}, Ok(())),
            ("valid HS256, confidential client", hs256(), |_, _, _| {}, Ok(())),
            ("alg none", json!({"alg": "none"}), |_, _, _| {}, Err(IdTokenError::Unsigned("none".into()))),
            ("HS256 for a public client", hs256(), |_, _, e| e.client_secret = None, Err(IdTokenError::DisallowedAlg("HS256".into()))),
            ("alg the metadata does not allow", json!({"alg": "RS256"}), |_, _, _| {}, Err(IdTokenError::DisallowedAlg("RS256".into()))),
            ("no metadata: RS256 only", es256(), |_, _, e| e.allowed_algs = &[], Err(IdTokenError::DisallowedAlg("ES256".into()))),
            ("fapi2: ES256 allowed", es256(), |_, _, e| e.profile_algs = Some(oauth_clients_spec::FAPI2_ALGS), Ok(())),
            ("fapi2: HS256 refused though the metadata allows it", hs256(), |_, _, e| e.profile_algs = Some(oauth_clients_spec::FAPI2_ALGS), Err(IdTokenError::DisallowedAlg("HS256".into()))),
            ("typ of an access token", es256(), |h, _, _| h["typ"] = json!("at+jwt"), Err(IdTokenError::UnexpectedType("typ: \"at+jwt\"".into()))),
            ("typ of a logout token", es256(), |h, _, _| h["typ"] = json!("logout+jwt"), Err(IdTokenError::UnexpectedType("typ: \"logout+jwt\"".into()))),
            ("typ of a logout token, as a media type", es256(), |h, _, _| h["typ"] = json!("application/logout+jwt"), Err(IdTokenError::UnexpectedType("typ: \"application/logout+jwt\"".into()))),
            ("nested token", es256(), |h, _, _| h["cty"] = json!("JWT"), Err(IdTokenError::UnexpectedType("cty: \"JWT\"".into()))),
            ("critical extension", es256(), |h, _, _| h["crit"] = json!(["exp"]), Err(IdTokenError::UnsupportedCritical("[\"exp\"]".into()))),
            ("key id not published", es256(), |h, _, _| h["kid"] = json!("ec-2"), Err(IdTokenError::UnknownKey("ec-2".into()))),
            ("wrong issuer", es256(), |_, c, _| c["iss"] = json!("https://evil.example"), Err(IdTokenError::WrongIssuer { expected: ISSUER.into(), found: "https://evil.example".into() })),
            ("no issuer", es256(), |_, c, _| c["iss"] = Value::Null, Err(IdTokenError::MissingClaim("iss"))),
            ("empty subject", es256(), |_, c, _| c["sub"] = json!(""), malformed("`sub` is empty")),
            ("no audience", es256(), |_, c, _| c["aud"] = Value::Null, Err(IdTokenError::MissingClaim("aud"))),
            ("wrong audience", es256(), |_, c, _| c["aud"] = json!("other-app"), Err(IdTokenError::WrongAudience)),
            ("audience not strings", es256(), |_, c, _| c["aud"] = json!(["app", 7]), malformed("`aud` is not a string or a list of strings")),
            ("extra audience without azp", es256(), |_, c, _| c["aud"] = json!(["app", "other"]), Err(IdTokenError::MissingAuthorizedParty)),
            ("extra audience with our azp", es256(), |_, c, _| { c["aud"] = json!(["app", "other"]); c["azp"] = json!("app") }, Ok(())),
            ("azp of another client", es256(), |_, c, _| c["azp"] = json!("other"), Err(IdTokenError::WrongAuthorizedParty)),
            ("expired beyond the leeway", es256(), |_, c, _| c["exp"] = json!(NOW - 61), Err(IdTokenError::Expired)),
            ("expired within the leeway", es256(), |_, c, _| c["exp"] = json!(NOW - 59), Ok(())),
            ("no expiry", es256(), |_, c, _| c["exp"] = Value::Null, Err(IdTokenError::MissingClaim("exp"))),
            ("issued in the future", es256(), |_, c, _| c["iat"] = json!(NOW + 61), Err(IdTokenError::IssuedInFuture)),
            ("not valid yet beyond the leeway", es256(), |_, c, _| c["nbf"] = json!(NOW + 61), Err(IdTokenError::NotYetValid)),
            ("not valid yet within the leeway", es256(), |_, c, _| c["nbf"] = json!(NOW + 59), Ok(())),
            ("nbf not a number", es256(), |_, c, _| c["nbf"] = json!("soon"), malformed("`nbf` is not a number")),
            ("no nonce", es256(), |_, c, _| c["nonce"] = Value::Null, Err(IdTokenError::MissingNonce)),
            ("another login's nonce", es256(), |_, c, _| c["nonce"] = json!("n-2"), Err(IdTokenError::WrongNonce)),
            ("refresh: no nonce is fine", es256(), |_, c, e| { c["nonce"] = Value::Null; e.nonce = NonceRule::AbsentOr(Some("n-1")) }, Ok(())),
            ("at_hash of another access token", es256(), |_, c, e| { c["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA"); e.access_token = Some("the-access-token") }, Err(IdTokenError::AtHashMismatch)),
        ];
        for (name, mut header, change, outcome) in rows {
            let mut claims = claims();
            let mut expectations = expected();
            change(&mut header, &mut claims, &mut expectations);
            let token = signer.sign(&header, &claims);
            let found = validate(&token, &expectations, &signer.keys, NOW);
            match (found, outcome) {
                (Ok(info), Ok(())) => assert_eq!(info.sub(), "alice", "{name}"),
                (found, outcome) => assert_eq!(found.map(|_| ()), outcome, "{name}"),
            }
        }
    }

    #[test]
    fn the_signature_is_checked_before_any_claim() {
        let signer = Signer::new();
        let header = json!({"alg": "ES256", "kid": "ec-1"});
        let mut claims = claims();
        claims["iss"] = json!("https://evil.example");
        // Signed, then one claim changed: only the signature is reported on.
        let token = signer.sign(&header, &claims);
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        claims["sub"] = json!("mallory");
        parts[1] = b64(claims.to_string().as_bytes());
        assert_eq!(
            validate(&parts.join("."), &expected(), &signer.keys, NOW).map(|_| ()),
            Err(IdTokenError::BadSignature)
        );
    }

    #[test]
    fn the_shape_is_checked_first() {
        let signer = Signer::new();
        let huge = format!("{}.{}.x", "a".repeat(MAX_ID_TOKEN), "b");
        for (token, outcome) in [
            (huge, IdTokenError::TooLarge),
            (
                "only.two".to_string(),
                IdTokenError::Malformed("not a compact JWS (three dot-separated parts)".into()),
            ),
            (
                "e30.e30.".to_string(),
                IdTokenError::Unsigned(String::new()),
            ),
        ] {
            assert_eq!(
                validate(&token, &expected(), &signer.keys, NOW).map(|_| ()),
                Err(outcome)
            );
        }
    }

    #[test]
    fn issuer_rules_of_presets() {
        let claims = |iss: &str, tid: Option<&str>| {
            let mut map = Map::new();
            map.insert("iss".into(), json!(iss));
            if let Some(tid) = tid {
                map.insert("tid".into(), json!(tid));
            }
            map
        };
        let check =
            |rule: IssuerRule<'_>, iss: &str, tid: Option<&str>| rule.check(iss, &claims(iss, tid));
        let google = IssuerRule::AlsoWithoutScheme("https://accounts.google.com");
        assert_eq!(check(google, "https://accounts.google.com", None), Ok(()));
        assert_eq!(check(google, "accounts.google.com", None), Ok(()));
        assert!(matches!(
            check(google, "http://accounts.google.com", None),
            Err(IdTokenError::WrongIssuer { .. })
        ));
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let any = IssuerRule::Tenant {
            template,
            allowed: None,
        };
        let listed = IssuerRule::Tenant {
            template,
            allowed: Some("t1 t2"),
        };
        let t1 = "https://login.microsoftonline.com/t1/v2.0";
        let t3 = "https://login.microsoftonline.com/t3/v2.0";
        assert_eq!(check(any, t1, Some("t1")), Ok(()));
        assert_eq!(check(listed, t1, Some("t1")), Ok(()));
        assert_eq!(
            check(listed, t3, Some("t3")),
            Err(IdTokenError::TenantNotAllowed("t3".into()))
        );
        // The issuer must be the one of the token's own tenant.
        assert_eq!(
            check(any, t3, Some("t1")),
            Err(IdTokenError::WrongIssuer {
                expected: t1.into(),
                found: t3.into()
            })
        );
        assert_eq!(check(any, t1, None), Err(IdTokenError::MissingClaim("tid")));
        // A single-tenant issuer (no template) is compared as it is.
        let single = IssuerRule::Tenant {
            template: t1,
            allowed: None,
        };
        assert_eq!(check(single, t1, Some("t1")), Ok(()));
        assert!(check(single, t3, Some("t3")).is_err());
    }
}
