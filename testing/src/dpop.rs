//! DPoP (RFC 9449) at the test provider: proofs checked as a strict server would, DPoP-bound
//! tokens, nonces, and switchable misbehaviours ([`DpopBehaviour`]).
//!
//! A token request with a `DPoP` header gets a `DPoP` token bound to the proof's key (its JWK
//! thumbprint, RFC 7638); a refresh token issued with it must be spent with a proof of the same
//! key. Userinfo and the API take a bound token only as `Authorization: DPoP <token>` with a
//! proof of its key whose `ath` is the token's hash. A proof is refused unless it is a JWT with
//! `typ` `dpop+jwt`, `alg` ES256, PS256 or EdDSA, a public `jwk` (no private members) whose
//! key verifies its signature, a `jti` never seen before, `htm` and `htu` of the request, an
//! `iat` within a minute, and (when nonces are required) the provider's current nonce.
//! Counters: `dpop.proof` (each proof accepted), `dpop.nonce_demanded`, `dpop.refused`.

// Checks return early with a ready response, as the handlers do (see `server.rs`).
#![allow(clippy::result_large_err)]

use super::{lock, Shared};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// How the provider treats DPoP. The defaults are a well-behaved server that accepts proofs
/// without nonces.
#[derive(Clone, Debug, Default)]
pub struct DpopBehaviour {
    /// Every proof must carry the provider's current nonce: one without it is answered with
    /// `use_dpop_nonce` and the nonce in `DPoP-Nonce` (`400` from the token endpoint, `401`
    /// from userinfo and the API, RFC 9449 §8, §9).
    pub require_nonce: bool,
    /// Answer every proof with `use_dpop_nonce` and a new nonce, whatever it carries: a
    /// server that never lets the client through (a nonce-error loop).
    pub nonce_loop: bool,
    /// Issue `Bearer` tokens even to token requests with a proof (a server that ignores DPoP).
    pub issue_bearer: bool,
    /// Bind issued tokens to another key than the proof's: requests with them are then
    /// refused with `401` and `WWW-Authenticate: DPoP error="invalid_token"`.
    pub bind_to_other_key: bool,
}

/// What the provider remembers of DPoP.
#[derive(Default)]
pub(crate) struct DpopServer {
    /// The current nonce.
    nonce: Mutex<String>,
    /// Every `jti` accepted (no replay).
    jtis: Mutex<HashSet<String>>,
    /// Access and refresh tokens bound to a key, by token: the key's thumbprint.
    bound: Mutex<HashMap<String, String>>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// RFC 7638 §3: the required members in order, no white space, SHA-256.
fn thumbprint(jwk: &Value) -> Option<String> {
    use sha2::Digest;
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let canonical = match text("kty")? {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            text("crv")?,
            text("x")?,
            text("y")?
        ),
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            text("e")?,
            text("n")?
        ),
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            text("crv")?,
            text("x")?
        ),
        _ => return None,
    };
    Some(b64(&sha2::Sha256::digest(canonical.as_bytes())))
}

/// Why a proof is refused: `use_dpop_nonce` (with a new nonce) or `invalid_dpop_proof`.
enum Refusal {
    Nonce,
    Invalid(&'static str),
}

impl DpopServer {
    fn current_nonce(&self) -> String {
        let mut nonce = lock(&self.nonce);
        if nonce.is_empty() {
            *nonce = super::server::random();
        }
        nonce.clone()
    }

    pub(crate) fn rotate_nonce(&self) {
        self.new_nonce();
    }

    fn new_nonce(&self) -> String {
        let fresh = super::server::random();
        *lock(&self.nonce) = fresh.clone();
        fresh
    }

    /// Checks `proof` for a `method` request to `htu`, carrying `access_token` when given;
    /// the key's thumbprint.
    fn check(
        &self,
        behaviour: &DpopBehaviour,
        proof: &str,
        method: &Method,
        htu: &str,
        access_token: Option<&str>,
    ) -> Result<String, Refusal> {
        let invalid = Refusal::Invalid;
        let parts: Vec<&str> = proof.split('.').collect();
        let [head, body, signature] = parts[..] else {
            return Err(invalid("not a compact JWS"));
        };
        let json = |part: &str| -> Option<Value> { serde_json::from_slice(&unb64(part)?).ok() };
        let header = json(head).ok_or(invalid("the header is not JSON"))?;
        let claims = json(body).ok_or(invalid("the claims are not JSON"))?;
        if header["typ"] != "dpop+jwt" {
            return Err(invalid("typ is not dpop+jwt"));
        }
        let jwk = &header["jwk"];
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|private| jwk.get(private).is_some())
        {
            return Err(invalid("the jwk has private members"));
        }
        let signature = unb64(signature).ok_or(invalid("the signature is not base64url"))?;
        let input = format!("{head}.{body}");
        let member = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(unb64)
                .ok_or(invalid("the jwk is incomplete"))
        };
        use ring::signature as sig;
        let verified = match (header["alg"].as_str(), jwk["kty"].as_str()) {
            (Some("ES256"), Some("EC")) if jwk["crv"] == "P-256" => {
                let mut point = vec![4u8];
                point.extend(member("x")?);
                point.extend(member("y")?);
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input.as_bytes(), &signature)
            }
            (Some("EdDSA"), Some("OKP")) if jwk["crv"] == "Ed25519" => {
                sig::UnparsedPublicKey::new(&sig::ED25519, member("x")?)
                    .verify(input.as_bytes(), &signature)
            }
            (Some("PS256"), Some("RSA")) => sig::RsaPublicKeyComponents {
                n: member("n")?,
                e: member("e")?,
            }
            .verify(&sig::RSA_PSS_2048_8192_SHA256, input.as_bytes(), &signature),
            _ => return Err(invalid("unsupported alg or key")),
        };
        verified.map_err(|_| invalid("the signature does not verify"))?;
        if claims["htm"].as_str() != Some(method.as_str()) {
            return Err(invalid("htm mismatch"));
        }
        if claims["htu"].as_str() != Some(htu) {
            return Err(invalid("htu mismatch"));
        }
        let iat = claims["iat"].as_u64().ok_or(invalid("no iat"))?;
        if iat.abs_diff(super::server::now()) > 60 {
            return Err(invalid("iat is not recent"));
        }
        match (access_token, claims["ath"].as_str()) {
            (Some(token), Some(ath)) => {
                use sha2::Digest;
                if b64(&sha2::Sha256::digest(token.as_bytes())) != ath {
                    return Err(invalid("ath mismatch"));
                }
            }
            (Some(_), None) => return Err(invalid("no ath")),
            (None, _) => {}
        }
        if behaviour.nonce_loop {
            return Err(Refusal::Nonce);
        }
        if behaviour.require_nonce && claims["nonce"].as_str() != Some(&self.current_nonce()) {
            return Err(Refusal::Nonce);
        }
        let jti = claims["jti"].as_str().filter(|j| !j.is_empty());
        let jti = jti.ok_or(invalid("no jti"))?;
        if !lock(&self.jtis).insert(jti.to_string()) {
            return Err(invalid("jti replayed"));
        }
        thumbprint(jwk).ok_or(invalid("the jwk has no thumbprint"))
    }

    /// Binds a token to a key's thumbprint.
    pub(crate) fn bind(&self, token: &str, jkt: &str) {
        lock(&self.bound).insert(token.to_string(), jkt.to_string());
    }

    fn bound_to(&self, token: &str) -> Option<String> {
        lock(&self.bound).get(token).cloned()
    }
}

/// The `DPoP` header of a request, if it has exactly one.
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all("dpop").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err("more than one DPoP header");
    }
    first
        .map(|v| v.to_str().map_err(|_| "the DPoP header is not text"))
        .transpose()
}

/// The token endpoint's check of a request's proof (RFC 9449 §5): `Ok(None)` without one,
/// `Ok(Some(jkt))` for a valid one, else the refusal to answer with.
pub(crate) fn token_proof(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<String>, Response> {
    let behaviour = shared.behaviour().dpop;
    let proof = match proof_header(headers) {
        Ok(Some(proof)) => proof,
        Ok(None) => return Ok(None),
        Err(reason) => return Err(token_refusal(shared, Refusal::Invalid(reason))),
    };
    let htu = format!("{}{path}", shared.issuer);
    match shared
        .dpop
        .check(&behaviour, proof, &Method::POST, &htu, None)
    {
        Ok(jkt) => {
            shared.count("dpop.proof");
            Ok(Some(jkt))
        }
        Err(refusal) => Err(token_refusal(shared, refusal)),
    }
}

fn token_refusal(shared: &Shared, refusal: Refusal) -> Response {
    let (error, description) = match refusal {
        Refusal::Nonce => ("use_dpop_nonce", "a DPoP nonce is required"),
        Refusal::Invalid(reason) => ("invalid_dpop_proof", reason),
    };
    let mut response = (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if error == "use_dpop_nonce" {
        shared.count("dpop.nonce_demanded");
        if let Ok(nonce) = HeaderValue::try_from(shared.dpop.new_nonce()) {
            response.headers_mut().insert("dpop-nonce", nonce);
        }
    } else {
        shared.count("dpop.refused");
    }
    response
}

/// The token type to issue, binding the new tokens to the proof's key (or, misbehaving, to
/// another).
pub(crate) fn issue(
    shared: &Shared,
    jkt: Option<&str>,
    tokens: &[&str],
    default_type: &str,
) -> String {
    let behaviour = shared.behaviour().dpop;
    let Some(jkt) = jkt else {
        return default_type.to_string();
    };
    let bound_to = if behaviour.bind_to_other_key {
        "another-key-thumbprint".to_string()
    } else {
        jkt.to_string()
    };
    for token in tokens {
        shared.dpop.bind(token, &bound_to);
    }
    if behaviour.issue_bearer {
        default_type.to_string()
    } else {
        "DPoP".into()
    }
}

/// A refresh token bound to a key may only be spent with a proof of that key (RFC 9449 §5).
pub(crate) fn check_refresh(shared: &Shared, refresh_token: &str, jkt: Option<&str>) -> bool {
    match shared.dpop.bound_to(refresh_token) {
        Some(bound) => Some(bound.as_str()) == jkt,
        None => true,
    }
}

/// The access token of a request to a protected resource: `Bearer` (or the form's
/// `access_token`) for a bearer token, `DPoP` with a valid proof of its key for a bound one.
/// `Err` is the `401` to answer with.
pub(crate) fn access_token(
    shared: &Shared,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    bearer: Option<String>,
) -> Result<Option<String>, Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = authorization.and_then(|v| v.strip_prefix("DPoP ")) else {
        // A bound token presented as a bearer token is refused (RFC 9449 §7.2).
        if let Some(token) = &bearer {
            if shared.dpop.bound_to(token).is_some() {
                return Err(resource_refusal(shared, "invalid_token", false));
            }
        }
        return Ok(bearer);
    };
    let behaviour = shared.behaviour().dpop;
    let proof = match proof_header(headers) {
        Ok(Some(proof)) => proof,
        _ => return Err(resource_refusal(shared, "invalid_dpop_proof", false)),
    };
    let htu = format!("{}{path}", shared.issuer);
    match shared
        .dpop
        .check(&behaviour, proof, method, &htu, Some(token))
    {
        Ok(jkt) if shared.dpop.bound_to(token).as_deref() == Some(jkt.as_str()) => {
            shared.count("dpop.proof");
            Ok(Some(token.to_string()))
        }
        Ok(_) => Err(resource_refusal(shared, "invalid_token", false)),
        Err(Refusal::Nonce) => Err(resource_refusal(shared, "use_dpop_nonce", true)),
        Err(Refusal::Invalid(_)) => Err(resource_refusal(shared, "invalid_dpop_proof", false)),
    }
}

fn resource_refusal(shared: &Shared, error: &str, nonce: bool) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            format!(r#"DPoP algs="ES256 PS256 EdDSA", error="{error}""#),
        )],
    )
        .into_response();
    if nonce {
        shared.count("dpop.nonce_demanded");
        if let Ok(value) = HeaderValue::try_from(shared.dpop.new_nonce()) {
            response.headers_mut().insert("dpop-nonce", value);
        }
    } else {
        shared.count("dpop.refused");
    }
    response
}
