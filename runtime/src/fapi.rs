//! The FAPI 2.0 Security Profile (`security_profile: fapi2`) at run time.
//!
//! What the configuration must be (strong client authentication, sender-constrained tokens,
//! PKCE with S256, PAR not switched off, client algorithms) is checked with the other rules
//! across keys when the registry is built, on the resolved values (`oauth-clients-spec`), so
//! settings cannot weaken it. What depends on the provider is checked here: its metadata must
//! offer what the profile needs, and ID tokens signed with anything but PS256, ES256 or EdDSA
//! (Security Profile §5.4) are refused. The profile also pushes every authorization request
//! (`par`) and requires the callback's `iss` (RFC 9207, in `flow`).

use crate::config::ClientConfig;
use crate::context::Context;
use crate::error::Error;
use crate::metadata::Metadata;
use oauth_clients_spec::FAPI2_ALGS;
use std::borrow::Cow;

/// The ID-token algorithms to accept: the metadata's (RS256 when it lists none), and under
/// FAPI 2.0 only the profile's, which stand in for an empty list.
pub(crate) fn id_token_algs<'m>(
    config: &ClientConfig,
    metadata: &'m Metadata,
) -> (Cow<'m, [String]>, Option<&'static [&'static str]>) {
    if !config.is_fapi2() {
        return (Cow::Borrowed(&metadata.id_token_signing_algs), None);
    }
    let algs = if metadata.id_token_signing_algs.is_empty() {
        Cow::Owned(FAPI2_ALGS.iter().map(|alg| alg.to_string()).collect())
    } else {
        Cow::Borrowed(&metadata.id_token_signing_algs[..])
    };
    (algs, Some(FAPI2_ALGS))
}

/// What the provider's metadata lacks for FAPI 2.0, if anything: a pushed authorization
/// request endpoint (§5.3.1), PKCE with S256 when it lists its PKCE methods, and, for an
/// OpenID Connect provider that lists its ID-token algorithms, one the profile allows.
fn missing_for_fapi2(metadata: &Metadata, openid: bool) -> Option<String> {
    if metadata.pushed_authorization_request_endpoint.is_none() {
        return Some(
            "it has no `pushed_authorization_request_endpoint`, and the profile pushes every authorization request (RFC 9126)".into(),
        );
    }
    let pkce = &metadata.code_challenge_methods_supported;
    if !pkce.is_empty() && !pkce.iter().any(|m| m == "S256") {
        return Some(format!(
            "its `code_challenge_methods_supported` ({}) lacks `S256`",
            pkce.join(", ")
        ));
    }
    let algs = &metadata.id_token_signing_algs;
    if openid && !algs.is_empty() && !algs.iter().any(|a| FAPI2_ALGS.contains(&a.as_str())) {
        return Some(format!(
            "it signs ID tokens only with {}, none of `PS256`, `ES256` or `EdDSA`",
            algs.join(", ")
        ));
    }
    None
}

impl Context {
    /// Under FAPI 2.0, refuses a provider whose metadata does not offer what the profile needs;
    /// before anything is sent to it.
    pub(crate) fn check_profile_metadata(
        &self,
        config: &ClientConfig,
        metadata: &Metadata,
    ) -> Result<(), Error> {
        if !config.is_fapi2() {
            return Ok(());
        }
        match missing_for_fapi2(metadata, config.is_openid()) {
            Some(reason) => Err(Error::SecurityProfile {
                provider: self.name(),
                profile: "fapi2",
                reason,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fapi2_needs_par_s256_and_an_allowed_id_token_alg() {
        let good = Metadata {
            pushed_authorization_request_endpoint: Some("https://as.example/par".parse().unwrap()),
            code_challenge_methods_supported: vec!["S256".into()],
            id_token_signing_algs: vec!["RS256".into(), "PS256".into()],
            ..Metadata::default()
        };
        assert_eq!(missing_for_fapi2(&good, true), None);
        let no_par = Metadata {
            pushed_authorization_request_endpoint: None,
            ..good.clone()
        };
        assert!(missing_for_fapi2(&no_par, true)
            .unwrap()
            .contains("pushed_authorization_request_endpoint"));
        let plain_only = Metadata {
            code_challenge_methods_supported: vec!["plain".into()],
            ..good.clone()
        };
        assert!(missing_for_fapi2(&plain_only, true)
            .unwrap()
            .contains("S256"));
        let rs256_only = Metadata {
            id_token_signing_algs: vec!["RS256".into()],
            ..good.clone()
        };
        assert!(missing_for_fapi2(&rs256_only, true)
            .unwrap()
            .contains("RS256"));
        // An OAuth 2.0 provider issues no ID tokens: its algorithms do not matter.
        assert_eq!(missing_for_fapi2(&rs256_only, false), None);
    }
}
