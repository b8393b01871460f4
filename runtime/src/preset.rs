//! The named behaviours of presets, in one place: the flows ask here instead of special-casing
//! a provider. What each preset switches on is data in `oauth-clients-spec` (`Behaviour`,
//! `ProfileSource`); each rule cites the provider documentation it follows.

use crate::config::{ClientConfig, Secret};
use crate::context::Context;
use crate::error::{Error, IdTokenError};
use crate::id_token::{unverified_claims, IssuerRule};
use crate::token::Token;
use oauth_clients_spec::presets as spec;
use oauth_clients_spec::Key;
use serde_json::Value;

/// The personal-accounts tenant that Microsoft's `consumers` endpoint names in its issuer
/// ("OpenID Connect on the Microsoft identity platform", learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc).
const CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The tenant segments of two issuers of Microsoft's shape (`.../{tenant}/v2.0`) that agree
/// everywhere else: `(found's, expected's)`.
fn tenant_segments<'a>(found: &'a str, expected: &'a str) -> Option<(&'a str, &'a str)> {
    let (found, expected): (Vec<&str>, Vec<&str>) =
        (found.split('/').collect(), expected.split('/').collect());
    if found.len() != expected.len() || found.len() < 2 {
        return None;
    }
    let tenant = found.len() - 2;
    found
        .iter()
        .zip(&expected)
        .enumerate()
        .all(|(i, (f, e))| i == tenant || f == e)
        .then(|| (found[tenant], expected[tenant]))
}

/// Whether a discovery document's issuer `found` is right for the authority `expected` names
/// ("Validate the issuer", learn.microsoft.com/en-us/entra/identity-platform/claims-validation):
/// a tenant named by id publishes exactly its own; `common` and `organizations` the template
/// `{tenantid}`; `consumers` the personal-accounts tenant; a tenant named by a domain name
/// its id.
fn discovered_tenant_accepted(found: &str, expected: &str) -> bool {
    match tenant_segments(found, expected) {
        Some((found, expected)) if is_tenant_id(expected) => found.eq_ignore_ascii_case(expected),
        Some((found, "common" | "organizations")) => found == "{tenantid}",
        Some((found, "consumers")) => found == CONSUMERS_TENANT,
        Some((found, _)) => is_tenant_id(found),
        None => false,
    }
}

/// Whether a callback's RFC 9207 `iss` can be this authority's: one tenant's issuer, never the
/// template; which tenant is checked against the ID token's `iss` once it is validated.
fn callback_tenant_accepted(found: &str, expected: &str) -> bool {
    match tenant_segments(found, expected) {
        Some((found, expected)) if is_tenant_id(found) => {
            if is_tenant_id(expected) {
                found.eq_ignore_ascii_case(expected)
            } else {
                expected != "consumers" || found == CONSUMERS_TENANT
            }
        }
        _ => false,
    }
}

fn is_tenant_id(segment: &str) -> bool {
    segment.len() == 36
        && segment.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

impl Context {
    fn behaviour(&self) -> spec::Behaviour {
        self.config()
            .ok()
            .and_then(|config| config.preset)
            .map_or(spec::Behaviour::STANDARD, |preset| preset.behaviour)
    }

    /// Whether the discovery document's `issuer` is the expected one, by the preset's rule.
    pub(crate) fn discovered_issuer_accepted(&self, found: &str, expected: &str) -> bool {
        found == expected
            || (self.behaviour().issuer == spec::IssuerRule::TenantTemplate
                && discovered_tenant_accepted(found, expected))
    }

    /// Whether the discovered issuer stands over a declared `issuer`: Microsoft's is the
    /// `{tenantid}` template that ID tokens are checked against, and discovery accepted it
    /// against the declared one (`discovered_issuer_accepted`).
    pub(crate) fn keeps_discovered_issuer(&self) -> bool {
        self.behaviour().issuer == spec::IssuerRule::TenantTemplate
    }

    /// Whether the RFC 9207 `iss` of a callback is the provider's.
    pub(crate) fn callback_issuer_accepted(&self, found: &str, expected: &str) -> bool {
        match self.behaviour().issuer {
            spec::IssuerRule::Exact => found == expected,
            spec::IssuerRule::AlsoWithoutScheme => {
                found == expected || expected.strip_prefix("https://") == Some(found)
            }
            spec::IssuerRule::TenantTemplate => callback_tenant_accepted(found, expected),
        }
    }

    /// How an ID token's `iss` is checked. `discovered` is the validated discovery issuer
    /// (Microsoft's may be the `{tenantid}` template).
    pub(crate) fn issuer_rule<'a>(
        &self,
        expected: &'a str,
        discovered: Option<&'a str>,
        config: &'a ClientConfig,
    ) -> IssuerRule<'a> {
        match self.behaviour().issuer {
            spec::IssuerRule::Exact => IssuerRule::Exact(expected),
            // "The value of iss in the ID token is equal to https://accounts.google.com or
            // accounts.google.com" (developers.google.com/identity/openid-connect/openid-connect).
            spec::IssuerRule::AlsoWithoutScheme => IssuerRule::AlsoWithoutScheme(expected),
            spec::IssuerRule::TenantTemplate => IssuerRule::Tenant {
                template: discovered.unwrap_or(expected),
                allowed: config.preset_param(Key::AllowedTenants),
            },
        }
    }

    /// RFC 9207 with Microsoft's multi-tenant endpoints: the callback's `iss` could only be
    /// checked for its shape before the code was redeemed (any tenant may sign in); it must be
    /// the validated ID token's issuer, so a response from another tenant's login is refused.
    pub(crate) fn check_callback_issuer_is_the_tokens(
        &self,
        callback_iss: Option<&str>,
        token: &Token,
    ) -> Result<(), Error> {
        if self.behaviour().issuer != spec::IssuerRule::TenantTemplate {
            return Ok(());
        }
        let token_iss = token.userinfo.as_ref().and_then(|info| info.iss());
        match (callback_iss, token_iss) {
            (Some(found), Some(expected)) if found != expected => Err(Error::IssuerMismatch {
                provider: self.name(),
                expected: expected.to_string(),
                found: found.to_string(),
                source_of: "callback",
            }),
            _ => Ok(()),
        }
    }

    /// Parameters a preset adds to every authorization request: Google's `hd` for a
    /// `hosted_domain` (developers.google.com/identity/openid-connect/openid-connect#hd-param).
    pub(crate) fn preset_authorize_params(config: &ClientConfig) -> Vec<(&'static str, String)> {
        config
            .preset_param(Key::HostedDomain)
            .map(|domain| vec![("hd", domain.to_string())])
            .unwrap_or_default()
    }

    /// A header API calls must carry: Twitch's Helix API wants `Client-Id` with every call
    /// (dev.twitch.tv/docs/api/get-started).
    pub(crate) fn preset_api_header(config: &ClientConfig) -> Option<(&'static str, &str)> {
        let name = config.preset?.behaviour.client_id_header?;
        Some((name, config.client_id.as_str()))
    }

    /// The client secret a token request sends: configured, or made by the preset (Apple).
    pub(crate) fn client_secret_now(&self, config: &ClientConfig) -> Result<Option<Secret>, Error> {
        match &config.secret_maker {
            None => Ok(config.client_secret().cloned()),
            Some(maker) => {
                let audience = config.expected_issuer.as_deref().unwrap_or_default();
                maker
                    .secret(&config.client_id, audience, self.now_secs())
                    .map(|secret| Some(Secret::new(secret)))
                    .map_err(|message| Error::InvalidRequest {
                        provider: self.name(),
                        message,
                    })
            }
        }
    }

    /// Google's `hd` claim, when the app restricts sign-in to a Workspace domain: sending `hd`
    /// only picks the account chooser's default, so the ID token's claim is what proves it.
    pub(crate) fn check_hosted_domain(&self, token: &Token) -> Result<(), Error> {
        let config = self.config()?;
        let Some(expected) = config.preset_param(Key::HostedDomain) else {
            return Ok(());
        };
        // The ID token's own claim, which the login validated; userinfo's does not count.
        let claims = token.id_token.as_deref().and_then(unverified_claims);
        let found = claims
            .as_ref()
            .and_then(|claims| claims.get("hd"))
            .and_then(Value::as_str);
        if found.is_some_and(|found| found.eq_ignore_ascii_case(expected)) {
            return Ok(());
        }
        Err(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::WrongHostedDomain {
                expected: expected.to_string(),
                found: found.map(str::to_string),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_issuers_match_by_what_the_tenant_segment_allows() {
        let at = |tenant: &str| format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let other = "11111111-2222-3333-4444-555555555555";
        // Discovery: (expected tenant, found tenant, accepted)
        for (expected, found, accepted) in [
            ("common", "{tenantid}", true),
            ("organizations", "{tenantid}", true),
            ("common", id, false),
            ("consumers", CONSUMERS_TENANT, true),
            ("consumers", id, false),
            ("consumers", "{tenantid}", false),
            (id, id, true),
            (id, &id.to_uppercase(), true),
            (id, other, false),
            (id, "{tenantid}", false),
            ("contoso.onmicrosoft.com", id, true),
            ("contoso.onmicrosoft.com", "{tenantid}", false),
            ("common", "other", false),
        ] {
            assert_eq!(
                discovered_tenant_accepted(&at(found), &at(expected)),
                accepted,
                "discovery: {expected} publishing {found}"
            );
        }
        for wrong in [
            "https://login.evil.example/{tenantid}/v2.0",
            "https://login.microsoftonline.com/{tenantid}/v1.0",
            "https://login.microsoftonline.com/{tenantid}/x/v2.0",
        ] {
            assert!(!discovered_tenant_accepted(wrong, &at("common")), "{wrong}");
        }
        // Callbacks: one tenant's issuer, never the template.
        assert!(callback_tenant_accepted(&at(id), &at("common")));
        assert!(!callback_tenant_accepted(&at("{tenantid}"), &at("common")));
        assert!(!callback_tenant_accepted(&at(other), &at(id)));
        assert!(!callback_tenant_accepted(&at(id), &at("consumers")));
    }
}
