//! OpenID Connect: ID-token validation (Core §3.1.3.7), userinfo, and what a login adds.
//!
//! The token is decoded once (strict base64url, JSON objects), and every check runs on that one
//! reading. First the header and the signature: its size, a compact JWS, an algorithm the
//! provider's metadata allows (RS256 when it says nothing; never `none`; HMAC only with the
//! client secret of a confidential client), no `crit` extensions, `typ` absent or `JWT` (or `JOSE`), and
//! the signature itself, with a key the provider publishes that fits the algorithm (see
//! [`crate::jwks`]). Only then the claims, so that a forgery learns nothing about them: every
//! required claim, `iss` exactly the expected issuer, `aud` and `azp`, `exp`/`iat`/`nbf` with the
//! provider's leeway, the nonce of this login, `at_hash`. openidconnect's own token types would
//! parse the token a second time and skip `azp` and the leeway, so its verifier is not used;
//! its key types are.
//! Each failure is its own [`IdTokenError`].

use crate::api::refresh_after_401;
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::jwks::{self, JwsRefusal, KeySet};
use crate::registry::{Client, OpenIdProvider, Provider};
use crate::token::Token;
use crate::{AuthMethod, FetchUserinfo};
use base64::Engine;
use http::StatusCode;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest ID token accepted, in bytes: real ones are a few KiB (CVE-2025-61920 was a
/// denial of service through oversized JOSE segments).
const MAX_ID_TOKEN: usize = 64 * 1024;

/// Why an ID token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Larger than 64 KiB.
    #[error("the ID token is larger than {MAX_ID_TOKEN} bytes")]
    TooLarge,
    /// Not a compact JWS of JSON objects, or a claim has the wrong type; the text says what.
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    /// `alg` is `none` or missing, or the signature is empty; the `alg` found.
    #[error("the ID token is not signed (`alg: {0}`)")]
    Unsigned(String),
    /// Signed with an algorithm the provider's metadata does not allow (RS256 when it says
    /// nothing; HMAC only for a confidential client); the algorithm found.
    #[error("the ID token's algorithm `{0}` is not allowed")]
    DisallowedAlg(String),
    /// The header's `typ` is neither `JWT` nor `JOSE` (e.g. `at+jwt`, an access token), or it
    /// has `cty` (a nested token); the header parameter and its value.
    #[error("the ID token is not a plain JWT (`{0}`)")]
    UnexpectedType(String),
    /// The header has `crit`: extensions this library does not understand; its value.
    #[error("the ID token has critical header parameters that are not understood: {0}")]
    UnsupportedCritical(String),
    /// Signed with a key the provider does not publish (an unknown key triggers one refetch
    /// of its keys, at most once a minute); the key id (`kid`), or `(none)`.
    #[error("the ID token's signing key `{0}` is not among the provider's keys")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("the ID token's signature is invalid")]
    BadSignature,
    /// A required claim (`iss`, `sub`, `aud`, `exp` or `iat`) is missing; its name.
    #[error("the ID token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("the ID token's issuer `{found}` is not `{expected}`")]
    WrongIssuer {
        /// The issuer declared, or derived from `server_metadata_url`.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not include this client's id.
    #[error("the ID token's audience does not include this client")]
    WrongAudience,
    /// Several audiences, and no `azp` claim to say which one the token is for.
    #[error("the ID token has several audiences but no `azp` claim")]
    MissingAuthorizedParty,
    /// `azp` is not this client's id.
    #[error("the ID token's `azp` is not this client")]
    WrongAuthorizedParty,
    /// `exp` is past by more than the provider's `leeway`.
    #[error("the ID token expired")]
    Expired,
    /// `iat` is ahead of now by more than the provider's `leeway`.
    #[error("the ID token was issued in the future (`iat` beyond the leeway)")]
    IssuedInFuture,
    /// `nbf` (RFC 7519 §4.1.5) is ahead of now by more than the provider's `leeway`: the
    /// token must not be accepted yet.
    #[error("the ID token is not valid yet (`nbf` beyond the leeway)")]
    NotYetValid,
    /// The token has no `nonce`, but the login sent one.
    #[error("the ID token has no `nonce`, but one was sent")]
    MissingNonce,
    /// The `nonce` is not the one of this login (after a refresh: not the original one).
    #[error("the ID token's `nonce` is not the one sent for this login")]
    WrongNonce,
    /// `at_hash` does not match the access token issued with the ID token.
    #[error("the ID token's `at_hash` does not match the access token")]
    AtHashMismatch,
    /// There is no ID token: the token response had none, or the stored token lacks it.
    #[error("the token response has no `id_token`")]
    Missing,
    /// A refreshed ID token's `iss`, `sub` or `aud` differs from the original's; the claim.
    #[error("the refreshed ID token's `{0}` differs from the original's")]
    RefreshChanged(&'static str),
}

/// The user's claims: the ID token's, merged with the userinfo endpoint's answer when called.
///
/// A `UserInfo` always says who the user is: its `sub` is a non-empty string, checked
/// whenever one is made (from a validated ID token, from a userinfo answer about the same
/// subject, by [`from_claims`](Self::from_claims), or when deserialized), so no two users can
/// share an empty identity. Standard claims have accessors; every claim is in
/// [`claims`](Self::claims).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct UserInfo {
    claims: Map<String, Value>,
}

impl<'de> Deserialize<'de> for UserInfo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let claims = Map::deserialize(deserializer)?;
        UserInfo::from_claims(claims).ok_or_else(|| {
            serde::de::Error::custom("the user's claims have no `sub` (a non-empty string)")
        })
    }
}

impl UserInfo {
    /// The user's claims, if they say who the user is: `None` when `sub` is missing, not a
    /// string, or empty.
    pub fn from_claims(claims: Map<String, Value>) -> Option<UserInfo> {
        let info = UserInfo { claims };
        info.text("sub")
            .is_some_and(|sub| !sub.is_empty())
            .then_some(info)
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The subject: the user's stable identifier at this issuer, never empty. Key accounts
    /// on (`iss`, `sub`), never on `email`.
    pub fn sub(&self) -> &str {
        // Every constructor checked that `sub` is a non-empty string.
        self.text("sub").unwrap_or_default()
    }

    /// Every claim, by name.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Every claim, by name, by value.
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// The issuer (`iss`).
    pub fn iss(&self) -> Option<&str> {
        self.text("iss")
    }

    /// The full name (`name`).
    pub fn name(&self) -> Option<&str> {
        self.text("name")
    }

    /// The given or first name (`given_name`).
    pub fn given_name(&self) -> Option<&str> {
        self.text("given_name")
    }

    /// The surname or last name (`family_name`).
    pub fn family_name(&self) -> Option<&str> {
        self.text("family_name")
    }

    /// The short name the user goes by (`preferred_username`); not necessarily unique.
    pub fn preferred_username(&self) -> Option<&str> {
        self.text("preferred_username")
    }

    /// The email address (`email`); see [`email_verified`](Self::email_verified) before
    /// trusting it.
    pub fn email(&self) -> Option<&str> {
        self.text("email")
    }

    /// Whether the provider verified the email (`"true"` as a string counts, as some send it).
    pub fn email_verified(&self) -> bool {
        match self.claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// The URL of the user's profile picture (`picture`).
    pub fn picture(&self) -> Option<&str> {
        self.text("picture")
    }

    /// The user's locale (`locale`), e.g. `en-US`.
    pub fn locale(&self) -> Option<&str> {
        self.text("locale")
    }

    /// Any claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

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

impl<P: Provider> Client<P> {
    /// Validates an ID token; its claims on success, which always have a non-empty `sub`.
    pub(crate) async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: NonceRule<'_>,
        access_token: Option<&str>,
    ) -> Result<UserInfo, Error> {
        let provider = self.name();
        let fail = |reason| Error::IdToken { provider, reason };
        let config = self.config()?;
        let metadata = self.cached_metadata().await?;
        if id_token.len() > MAX_ID_TOKEN {
            return Err(fail(IdTokenError::TooLarge));
        }
        let parts: Vec<&str> = id_token.split('.').collect();
        if parts.len() != 3 {
            return Err(fail(IdTokenError::Malformed(
                "not a compact JWS (three dot-separated parts)".into(),
            )));
        }
        let header = decode_part(parts[0]).map_err(fail)?;
        let claims = decode_part(parts[1]).map_err(fail)?;

        // The header: an algorithm we allow, and nothing we would have to understand.
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg.is_empty() || alg.eq_ignore_ascii_case("none") || parts[2].is_empty() {
            return Err(fail(IdTokenError::Unsigned(alg.to_string())));
        }
        if let Some(crit) = header.get("crit") {
            return Err(fail(IdTokenError::UnsupportedCritical(crit.to_string())));
        }
        // An ID token is a plain JWT: `typ`, if there, says so (RFC 7519 §5.1; `JOSE` is the
        // generic compact JWS), which keeps other JWTs of the provider's, e.g. `at+jwt` access
        // tokens, from passing as one; `cty` would announce a nested token.
        if let Some(typ) = header.get("typ") {
            let plain = typ.as_str().is_some_and(|typ| {
                ["JWT", "application/jwt", "JOSE", "application/jose"]
                    .iter()
                    .any(|plain| typ.eq_ignore_ascii_case(plain))
            });
            if !plain {
                return Err(fail(IdTokenError::UnexpectedType(format!("typ: {typ}"))));
            }
        }
        if let Some(cty) = header.get("cty") {
            return Err(fail(IdTokenError::UnexpectedType(format!("cty: {cty}"))));
        }
        let confidential = config.token_endpoint_auth_method != AuthMethod::None
            && config.client_secret().is_some();
        let allowed = if metadata.id_token_signing_algs.is_empty() {
            alg == "RS256"
        } else {
            metadata.id_token_signing_algs.iter().any(|a| a == alg)
        } && (confidential || !alg.starts_with("HS"));
        let jws_alg = match jwks::signing_alg(alg) {
            Some(jws_alg) if allowed => jws_alg,
            _ => return Err(fail(IdTokenError::DisallowedAlg(alg.to_string()))),
        };

        // The signature, before anything in the claims is believed or reported on.
        let signed = &id_token[..parts[0].len() + 1 + parts[1].len()];
        let kid = header.get("kid").and_then(Value::as_str);
        self.check_signature(alg, &jws_alg, kid, signed, parts[2])
            .await?;

        // The claims (Core §3.1.3.7), with the provider's leeway.
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
        let iss = text("iss").map_err(fail)?;
        text("sub").map_err(fail)?;
        let not_audiences =
            || IdTokenError::Malformed("`aud` is not a string or a list of strings".into());
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|aud| aud.as_str().ok_or_else(not_audiences))
                .collect::<Result<_, _>>()
                .map_err(fail)?,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(fail(not_audiences())),
        };
        if audiences.is_empty() {
            return Err(fail(IdTokenError::MissingClaim("aud")));
        }
        let times = Times::read(&claims).map_err(fail)?;
        let expected = self.expected_issuer().unwrap_or_default();
        if iss != expected {
            return Err(fail(IdTokenError::WrongIssuer {
                expected: expected.to_string(),
                found: iss.to_string(),
            }));
        }
        if !audiences.contains(&config.client_id.as_str()) {
            return Err(fail(IdTokenError::WrongAudience));
        }
        match optional_text("azp").map_err(fail)? {
            Some(azp) if azp != config.client_id => {
                return Err(fail(IdTokenError::WrongAuthorizedParty))
            }
            None if audiences.len() > 1 => return Err(fail(IdTokenError::MissingAuthorizedParty)),
            _ => {}
        }
        let now = self.registry().now_secs() as i64;
        times
            .check(now, config.leeway.as_secs() as i64)
            .map_err(fail)?;
        match (nonce, optional_text("nonce").map_err(fail)?) {
            (NonceRule::Equals(_), None) => return Err(fail(IdTokenError::MissingNonce)),
            (NonceRule::Equals(expected), Some(found)) if expected != found => {
                return Err(fail(IdTokenError::WrongNonce))
            }
            (NonceRule::AbsentOr(expected), Some(found)) if expected != Some(found) => {
                return Err(fail(IdTokenError::WrongNonce))
            }
            _ => {}
        }
        if let (Some(at_hash), Some(access_token)) =
            (optional_text("at_hash").map_err(fail)?, access_token)
        {
            if left_half_hash(alg, access_token).as_deref() != Some(at_hash) {
                return Err(fail(IdTokenError::AtHashMismatch));
            }
        }
        // `sub` was checked to be a non-empty string above.
        Ok(UserInfo { claims })
    }

    /// Checks the JWS signature `signature` (base64url) of `signed`, the token's first two
    /// parts as received, made with `alg` (named `alg_name` in the header): with the client
    /// secret for HMAC (only reached for a confidential client), or else with the provider's
    /// published keys (cached; one refetch if the token names a key they lack).
    async fn check_signature(
        &self,
        alg_name: &str,
        alg: &CoreJwsSigningAlgorithm,
        kid: Option<&str>,
        signed: &str,
        signature: &str,
    ) -> Result<(), Error> {
        let provider = self.name();
        let fail = |reason| Error::IdToken { provider, reason };
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| {
                fail(IdTokenError::Malformed(
                    "the signature is not base64url".into(),
                ))
            })?;
        let message = signed.as_bytes();
        let hmac = matches!(
            alg,
            CoreJwsSigningAlgorithm::HmacSha256
                | CoreJwsSigningAlgorithm::HmacSha384
                | CoreJwsSigningAlgorithm::HmacSha512
        );
        if hmac {
            let secret = self.config()?.client_secret().map(|s| s.expose());
            let secret =
                secret.ok_or_else(|| fail(IdTokenError::DisallowedAlg(alg_name.to_string())))?;
            return jwks::verify_hmac(alg, secret.as_bytes(), message, &signature)
                .map_err(|_| fail(IdTokenError::BadSignature));
        }
        let verify = |keys: &KeySet| jwks::verify_jws(keys, kid, alg, message, &signature);
        let unknown = || IdTokenError::UnknownKey(kid.unwrap_or("(none)").to_string());
        let outcome = match verify(&*self.jwks().await?) {
            Err(JwsRefusal::NoKey) => match self.jwks_for_unknown_key().await {
                Some(keys) => verify(&keys),
                None => return Err(fail(unknown())),
            },
            outcome => outcome,
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(JwsRefusal::NoKey) => Err(fail(unknown())),
            Err(JwsRefusal::BadSignature) => Err(fail(IdTokenError::BadSignature)),
        }
    }

    /// What an OpenID Connect login adds to the token: a validated ID token, and the user's
    /// claims (calling userinfo when needed, per `fetch_userinfo`).
    pub(crate) async fn complete_oidc_login(
        &self,
        token: &mut Token,
        nonce: &str,
    ) -> Result<(), Error> {
        let provider = self.name();
        let id_token = token.id_token.clone().ok_or(Error::IdToken {
            provider,
            reason: IdTokenError::Missing,
        })?;
        let mut info = self
            .verify_id_token(
                &id_token,
                NonceRule::Equals(nonce),
                Some(&token.access_token),
            )
            .await?;
        let config = self.config()?;
        let fetch = match config.fetch_userinfo {
            FetchUserinfo::Always => true,
            FetchUserinfo::Never => false,
            FetchUserinfo::Auto => {
                self.cached_metadata().await?.userinfo_endpoint.is_some()
                    && missing_scope_claims(&config.scope, &info)
            }
        };
        if fetch {
            let fetched = self.fetch_userinfo(token, info.sub()).await?;
            for (name, value) in fetched.claims {
                // The ID token's own claims (iss, aud, exp, ...) are not the endpoint's to change.
                info.claims.entry(name).or_insert(value);
            }
        }
        token.userinfo = Some(info);
        Ok(())
    }

    /// Checks the ID token of a refresh against the one it replaces (Core §12.2).
    pub(crate) async fn check_refreshed_id_token(
        &self,
        old: &Token,
        new: &mut Token,
    ) -> Result<(), Error> {
        let provider = self.name();
        let Some(id_token) = new.id_token.clone() else {
            // Providers need not send a new ID token on refresh: keep the old one.
            new.id_token = old.id_token.clone();
            new.userinfo = old.userinfo.clone();
            return Ok(());
        };
        let original = old.id_token.as_deref().and_then(unverified_claims);
        let original_nonce = original
            .as_ref()
            .and_then(|c| c.get("nonce"))
            .and_then(Value::as_str);
        let mut info = self
            .verify_id_token(
                &id_token,
                NonceRule::AbsentOr(original_nonce),
                Some(&new.access_token),
            )
            .await?;
        if let Some(original) = &original {
            for name in ["iss", "sub", "aud"] {
                if original.get(name) != info.get(name) {
                    return Err(Error::IdToken {
                        provider,
                        reason: IdTokenError::RefreshChanged(name),
                    });
                }
            }
        }
        // The new ID token's claims, and the old ones (e.g. from userinfo) it does not repeat.
        if let Some(old) = &old.userinfo {
            for (name, value) in &old.claims {
                info.claims
                    .entry(name.as_str())
                    .or_insert_with(|| value.clone());
            }
        }
        new.userinfo = Some(info);
        Ok(())
    }

    /// GETs the userinfo endpoint; its `sub` must be `expected_sub`.
    async fn fetch_userinfo(&self, token: &Token, expected_sub: &str) -> Result<UserInfo, Error> {
        let provider = self.name();
        let url = self
            .cached_metadata()
            .await?
            .userinfo_endpoint
            .clone()
            .ok_or(Error::MissingEndpoint {
                provider,
                endpoint: Endpoint::Userinfo,
            })?;
        let response = self
            .fetch(Endpoint::Userinfo, url, Some(&token.access_token))
            .await?;
        let invalid = |reason: &str| Error::InvalidUserinfo {
            provider,
            reason: reason.to_string(),
        };
        if response.content_type().starts_with("application/jwt") {
            return Err(invalid(
                "signed userinfo responses (application/jwt) are not supported",
            ));
        }
        let claims: Map<String, Value> = match serde_json::from_slice(&response.body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(invalid("the answer is not a JSON object")),
        };
        match claims.get("sub").and_then(Value::as_str) {
            None | Some("") => Err(invalid("the answer has no `sub`")),
            Some(sub) if sub == expected_sub => Ok(UserInfo { claims }),
            Some(_) => Err(Error::UserinfoSubjectMismatch { provider }),
        }
    }
}

/// Whether the ID token lacks a claim that the requested scopes imply (Core §5.4).
fn missing_scope_claims(scope: &[String], info: &UserInfo) -> bool {
    scope.iter().any(|s| {
        let implied = match s.as_str() {
            "profile" => "name",
            "email" => "email",
            "address" => "address",
            "phone" => "phone_number",
            _ => return false,
        };
        !info.claims.contains_key(implied)
    })
}

// The OpenID Connect methods are on every client, bounded per method: calling one on an OAuth
// 2.0 provider then fails with `OpenIdProvider`'s own message (an impl-level bound would give
// rustc's generic "method exists but its trait bounds were not satisfied").
impl<P: Provider> Client<P> {
    /// Validates the ID token of a stored token again (Authlib's `parse_id_token`) and returns
    /// its claims. Pass the login's nonce when you kept it; with `None`, any nonce is
    /// accepted. An expired ID token is refused.
    ///
    /// Fails with [`Error::IdToken`]; its reason is [`IdTokenError::Missing`] when the token
    /// has no ID token. Only OpenID Connect providers have this method.
    pub async fn parse_id_token(
        &self,
        token: &Token,
        nonce: Option<&str>,
    ) -> Result<UserInfo, Error>
    where
        P: OpenIdProvider,
    {
        let id_token = token.id_token.as_deref().ok_or(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::Missing,
        })?;
        let rule = match nonce {
            Some(nonce) => NonceRule::Equals(nonce),
            None => NonceRule::Any,
        };
        self.verify_id_token(id_token, rule, Some(&token.access_token))
            .await
    }

    /// Who signed in: the user's claims in a token from a login (or refresh) with this
    /// provider, [`Token::userinfo`]. They come from the ID token validated then, merged with
    /// the userinfo endpoint's answer when it was called; their [`sub`](UserInfo::sub) is
    /// the user's identity at this provider. Nothing is fetched or checked again (see
    /// [`parse_id_token`](Self::parse_id_token) and [`userinfo`](Self::userinfo) for that).
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo(session: oauth_clients::MemorySession, callback: oauth_clients::Callback) -> Result<(), oauth_clients::Error> {
    /// let token = Providers::google().authorize_access_token(&session, &callback).await?;
    /// let user = Providers::google().user(&token)?;
    /// println!("signed in: {} ({:?})", user.sub(), user.email());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Every login with an OpenID Connect provider has them; this fails with
    /// [`Error::IdToken`] ([`IdTokenError::Missing`]) only for a token that did not come from
    /// one. Only OpenID Connect providers have this method.
    pub fn user<'t>(&self, token: &'t Token) -> Result<&'t UserInfo, Error>
    where
        P: OpenIdProvider,
    {
        token.userinfo.as_ref().ok_or(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::Missing,
        })
    }

    /// Fetches the userinfo endpoint now (Authlib's `userinfo`). Its `sub` must match the
    /// token's subject, taken from `token.userinfo` or else its ID token.
    ///
    /// The token is handled as API calls handle it (see [`get`](Self::get)): one that expires
    /// within the provider's `leeway` is refreshed first, and one of unknown expiry that gets
    /// a `401` is refreshed once and the request retried; one refresh per refresh token
    /// however many callers, the token-update hooks awaited before the new token is used, and
    /// the new token handed back in [`UserInfoResponse::new_token`].
    ///
    /// Fails with [`Error::UserinfoSubjectMismatch`] when the answer is about another user,
    /// [`Error::IdToken`] when the token has no subject to compare with,
    /// [`Error::MissingEndpoint`] when the provider has no userinfo endpoint,
    /// [`Error::InvalidUserinfo`] for an answer that is not a JSON object with `sub` (signed
    /// `application/jwt` answers are not supported), and as [`refresh`](Self::refresh) does
    /// when a refresh fails. Only OpenID Connect providers have this method.
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo(token: oauth_clients::Token) -> Result<(), oauth_clients::Error> {
    /// let mut answer = Providers::google().userinfo(&token).await?;
    /// if let Some(new_token) = answer.take_new_token() {
    ///     // Store it in place of `token`.
    /// #   let _ = new_token;
    /// }
    /// println!("{:?}", answer.info().email());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn userinfo(&self, token: &Token) -> Result<UserInfoResponse, Error>
    where
        P: OpenIdProvider,
    {
        let sub = token
            .userinfo
            .as_ref()
            .map(|u| u.sub().to_string())
            .or_else(|| {
                token
                    .id_token
                    .as_deref()
                    .and_then(unverified_claims)
                    .and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_string))
                    .filter(|sub| !sub.is_empty())
            })
            .ok_or(Error::IdToken {
                provider: self.name(),
                reason: IdTokenError::Missing,
            })?;
        let (mut token, mut refreshed) = self.usable_token(token).await?;
        loop {
            match self.fetch_userinfo(&token, &sub).await {
                Err(Error::Http {
                    endpoint: Endpoint::Userinfo,
                    kind: HttpErrorKind::Status { status },
                    ..
                }) if StatusCode::from_u16(status)
                    .is_ok_and(|status| refresh_after_401(&token, refreshed, status)) =>
                {
                    token = self.refresh(&token).await?;
                    refreshed = true;
                }
                outcome => {
                    return outcome.map(|info| UserInfoResponse {
                        info,
                        new_token: refreshed.then_some(token),
                    })
                }
            }
        }
    }
}

/// The userinfo endpoint's answer, from [`Client::userinfo`], and the token refreshed on the
/// way, if it was.
#[derive(Clone, Debug)]
pub struct UserInfoResponse {
    info: UserInfo,
    new_token: Option<Token>,
}

impl UserInfoResponse {
    /// The user's claims.
    pub fn info(&self) -> &UserInfo {
        &self.info
    }

    /// The user's claims, by value.
    pub fn into_info(self) -> UserInfo {
        self.info
    }

    /// The refreshed token, when this call refreshed it: store it in place of the old one
    /// (the token-update hooks have already seen it).
    pub fn new_token(&self) -> Option<&Token> {
        self.new_token.as_ref()
    }

    /// Takes the refreshed token out of the answer; see [`new_token`](Self::new_token).
    pub fn take_new_token(&mut self) -> Option<Token> {
        self.new_token.take()
    }
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

    #[test]
    fn userinfo_accessors() {
        let info: UserInfo = serde_json::from_value(serde_json::json!({
            "sub": "248289761001", "email": "j@example.com", "email_verified": "true", "name": "Jane"
        }))
        .unwrap();
        assert_eq!(info.sub(), "248289761001");
        assert_eq!(info.email(), Some("j@example.com"));
        assert!(info.email_verified());
        assert_eq!(info.name(), Some("Jane"));
        assert_eq!(info.picture(), None);
    }

    #[test]
    fn userinfo_always_has_a_subject() {
        let claims = |value: serde_json::Value| match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        };
        for without in [
            serde_json::json!({"email": "j@example.com"}),
            serde_json::json!({"sub": ""}),
            serde_json::json!({"sub": null}),
            serde_json::json!({"sub": 248289761001u64}),
        ] {
            assert_eq!(
                UserInfo::from_claims(claims(without.clone())),
                None,
                "{without}"
            );
            let error = serde_json::from_value::<UserInfo>(without.clone()).unwrap_err();
            assert_eq!(
                error.to_string(),
                "the user's claims have no `sub` (a non-empty string)",
                "{without}"
            );
        }
        let info = UserInfo::from_claims(claims(serde_json::json!({"sub": "s", "x": 1}))).unwrap();
        assert_eq!(info.sub(), "s");
        // Stored and read back (as part of a `Token`), it is the same.
        let stored = serde_json::to_value(&info).unwrap();
        assert_eq!(stored, serde_json::json!({"sub": "s", "x": 1}));
        assert_eq!(serde_json::from_value::<UserInfo>(stored).unwrap(), info);
        assert_eq!(info.into_claims()["x"], 1);
    }
}
