//! Pushed authorization requests (RFC 9126) and the FAPI 2.0 Security Profile
//! (`security_profile: fapi2`): the rules across keys that decide whether a provider can push
//! its authorization requests, and which weaker settings the profile refuses.
//!
//! Like every rule in this crate they run on checked values: the macro runs them on the
//! declaration, the runtime on the values that settings and the environment resolve to, so a
//! setting cannot switch off what the profile requires.

use crate::{Checked, Key, Problem};

/// The JWS algorithms the FAPI 2.0 Security Profile allows, for the JWTs a client makes or
/// accepts (ID tokens, client assertions, DPoP proofs): §5.4 "Cryptography and secrets".
pub const FAPI2_ALGS: &[&str] = &["PS256", "ES256", "EdDSA"];

/// The client authentication methods the FAPI 2.0 Security Profile allows (§5.3.2):
/// `private_key_jwt` (RFC 7523) or mutual TLS (RFC 8705).
pub const FAPI2_AUTH_METHODS: &[&str] = &[
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
];

/// The mutual-TLS client authentication methods (RFC 8705 §2): with them the tokens are bound
/// to the client's certificate (§3), so they are sender-constrained without DPoP.
pub const MTLS_AUTH_METHODS: &[&str] = &["tls_client_auth", "self_signed_tls_client_auth"];

/// The rules of PAR and of the security profile. `declared` and `get` are as for
/// [`check_provider`](crate::check_provider).
pub(crate) fn check<'a>(
    declared: &impl Fn(Key) -> bool,
    get: &impl Fn(Key) -> Option<&'a Checked>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let choice = |key| match get(key) {
        Some(Checked::Choice(value)) => Some(*value),
        _ => None,
    };
    let flag = |key| match get(key) {
        Some(Checked::Flag(on)) => Some(*on),
        _ => None,
    };
    let fapi2 = choice(Key::SecurityProfile) == Some("fapi2");
    let problem = |key: Key, message: String| Problem {
        key: Some(key),
        message,
    };

    // A provider that pushes every request needs somewhere to push them: declared, or in a
    // discovery document (RFC 9126 §5, `pushed_authorization_request_endpoint`).
    let pushes = flag(Key::PushedAuthorizationRequests) == Some(true) || fapi2;
    if pushes
        && !declared(Key::PushedAuthorizationRequestEndpoint)
        && !declared(Key::ServerMetadataUrl)
    {
        let key = if flag(Key::PushedAuthorizationRequests) == Some(true) {
            Key::PushedAuthorizationRequests
        } else {
            Key::SecurityProfile
        };
        problems.push(problem(
            key,
            format!(
                "{} pushes every authorization request (RFC 9126), but there is no endpoint to push them to: declare `pushed_authorization_request_endpoint`, or `server_metadata_url` to discover it",
                if key == Key::SecurityProfile { "`security_profile: fapi2`" } else { "`pushed_authorization_requests: true`" }
            ),
        ));
    }
    if !fapi2 {
        return problems;
    }

    // FAPI 2.0 Security Profile §5.3.2: PAR and PKCE with S256 on every request.
    if choice(Key::CodeChallengeMethod) == Some("none") {
        problems.push(problem(
            Key::CodeChallengeMethod,
            "`security_profile: fapi2` requires PKCE with `S256` (FAPI 2.0 Security Profile §5.3.2); remove `code_challenge_method: none`".into(),
        ));
    }
    if flag(Key::PushedAuthorizationRequests) == Some(false) {
        problems.push(problem(
            Key::PushedAuthorizationRequests,
            "`security_profile: fapi2` requires pushed authorization requests (FAPI 2.0 Security Profile §5.3.2); remove `pushed_authorization_requests: false`".into(),
        ));
    }
    // RFC 9207 `iss` is checked on every callback: the expected issuer must be known.
    if !declared(Key::Issuer) && !declared(Key::ServerMetadataUrl) {
        problems.push(problem(
            Key::SecurityProfile,
            "`security_profile: fapi2` checks the callback's `iss` (RFC 9207): declare `issuer` or `server_metadata_url`".into(),
        ));
    }

    // Strong client authentication (§5.3.2).
    let method = choice(Key::TokenEndpointAuthMethod);
    let strong = crate::list(FAPI2_AUTH_METHODS);
    match method {
        Some(method) if !FAPI2_AUTH_METHODS.contains(&method) => problems.push(problem(
            Key::TokenEndpointAuthMethod,
            format!(
                "`security_profile: fapi2` does not allow `token_endpoint_auth_method: {method}`; use {strong} (FAPI 2.0 Security Profile §5.3.2)"
            ),
        )),
        None if !declared(Key::TokenEndpointAuthMethod) => problems.push(problem(
            Key::SecurityProfile,
            format!(
                "`security_profile: fapi2` requires strong client authentication: declare `token_endpoint_auth_method` as {strong} (FAPI 2.0 Security Profile §5.3.2)"
            ),
        )),
        _ => {}
    }

    // Sender-constrained access tokens (§5.3.2): DPoP, or certificate-bound by mTLS.
    let mtls = method.is_some_and(|m| MTLS_AUTH_METHODS.contains(&m));
    let method_known = method.is_some() || !declared(Key::TokenEndpointAuthMethod);
    match flag(Key::Dpop) {
        Some(false) if !mtls => problems.push(problem(
            Key::Dpop,
            "`security_profile: fapi2` requires sender-constrained tokens: remove `dpop: false`, or use an mTLS `token_endpoint_auth_method` (`tls_client_auth` or `self_signed_tls_client_auth`)".into(),
        )),
        None if !mtls && method_known && !declared(Key::Dpop) => problems.push(problem(
            Key::SecurityProfile,
            "`security_profile: fapi2` requires sender-constrained tokens: declare `dpop: true`, or use an mTLS `token_endpoint_auth_method` (`tls_client_auth` or `self_signed_tls_client_auth`)".into(),
        )),
        _ => {}
    }

    // The algorithms the client signs with (§5.4).
    for key in [Key::ClientAssertionAlg, Key::DpopSigningAlg] {
        if let Some(alg) = choice(key) {
            if !FAPI2_ALGS.contains(&alg) {
                problems.push(problem(
                    key,
                    format!(
                        "`security_profile: fapi2` does not allow `{key}: {alg}`; use `PS256`, `ES256` or `EdDSA` (FAPI 2.0 Security Profile §5.4)"
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(values: &[(Key, Checked)]) -> Vec<Problem> {
        let get = |k| values.iter().find(|(key, _)| *key == k).map(|(_, v)| v);
        check(&|k| get(k).is_some(), &get)
    }

    fn keys(values: &[(Key, Checked)]) -> Vec<Option<Key>> {
        problems(values).iter().map(|p| p.key).collect()
    }

    fn strong() -> Vec<(Key, Checked)> {
        vec![
            (Key::SecurityProfile, Checked::Choice("fapi2")),
            (
                Key::ServerMetadataUrl,
                Checked::Url("https://as.example/.well-known/openid-configuration".into()),
            ),
            (
                Key::TokenEndpointAuthMethod,
                Checked::Choice("private_key_jwt"),
            ),
            (Key::Dpop, Checked::Flag(true)),
            (Key::ClientAssertionAlg, Checked::Choice("PS256")),
        ]
    }

    #[test]
    fn a_strong_fapi2_declaration_passes() {
        assert_eq!(problems(&strong()), []);
        // mTLS binds the tokens: no DPoP needed.
        let mut mtls = strong();
        mtls.retain(|(k, _)| *k != Key::Dpop && *k != Key::ClientAssertionAlg);
        mtls[2].1 = Checked::Choice("tls_client_auth");
        assert_eq!(problems(&mtls), []);
    }

    #[test]
    fn fapi2_refuses_each_weaker_setting_on_its_key() {
        let with = |key, value| {
            let mut values = strong();
            values.retain(|(k, _)| *k != key);
            values.push((key, value));
            values
        };
        assert_eq!(
            keys(&with(Key::CodeChallengeMethod, Checked::Choice("none"))),
            [Some(Key::CodeChallengeMethod)]
        );
        assert_eq!(
            keys(&with(
                Key::PushedAuthorizationRequests,
                Checked::Flag(false)
            )),
            [Some(Key::PushedAuthorizationRequests)]
        );
        assert_eq!(
            keys(&with(
                Key::TokenEndpointAuthMethod,
                Checked::Choice("client_secret_basic")
            )),
            [Some(Key::TokenEndpointAuthMethod)]
        );
        assert_eq!(
            keys(&with(Key::ClientAssertionAlg, Checked::Choice("RS256"))),
            [Some(Key::ClientAssertionAlg)]
        );
        assert_eq!(
            keys(&with(Key::Dpop, Checked::Flag(false))),
            [Some(Key::Dpop)]
        );
        let mut no_dpop = strong();
        no_dpop.retain(|(k, _)| *k != Key::Dpop);
        assert_eq!(keys(&no_dpop), [Some(Key::SecurityProfile)]);
        let mut no_method = strong();
        no_method.retain(|(k, _)| *k != Key::TokenEndpointAuthMethod);
        assert_eq!(keys(&no_method), [Some(Key::SecurityProfile)]);
        assert!(problems(&no_method)[0].message.contains("private_key_jwt"));
    }

    #[test]
    fn pushing_needs_an_endpoint() {
        let on = [(Key::PushedAuthorizationRequests, Checked::Flag(true))];
        assert_eq!(keys(&on), [Some(Key::PushedAuthorizationRequests)]);
        let declared = [
            (Key::PushedAuthorizationRequests, Checked::Flag(true)),
            (
                Key::PushedAuthorizationRequestEndpoint,
                Checked::Url("https://as.example/par".into()),
            ),
        ];
        assert_eq!(problems(&declared), []);
        let off = [(Key::PushedAuthorizationRequests, Checked::Flag(false))];
        assert_eq!(problems(&off), []);
    }
}
