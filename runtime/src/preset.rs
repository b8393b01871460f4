//! The named behaviours of presets, in one place: the flows ask here instead of special-casing
//! a provider. What each preset switches on is data in `oauth-clients-spec` (`Behaviour`,
//! `ProfileSource`); each rule cites the provider documentation it follows.

use crate::config::{ClientConfig, Secret};
use crate::context::Context;
use crate::error::{Error, IdTokenError};
use crate::id_token::IssuerRule;
use crate::token::Token;
use oauth_clients_spec::presets as spec;
use oauth_clients_spec::Key;
use serde_json::Value;

/// Whether `found` is an issuer of Microsoft's shape for the authority `expected` names:
/// the same text around the tenant segment, which is the template `{tenantid}` or a tenant id
/// (a tenant declared by its domain name publishes its id). "Validate the issuer",
/// learn.microsoft.com/en-us/entra/identity-platform/claims-validation.
fn tenant_issuer_matches(found: &str, expected: &str) -> bool {
    let segments = |s: &str| s.split('/').map(str::to_string).collect::<Vec<_>>();
    let (found, expected) = (segments(found), segments(expected));
    found.len() == expected.len() && found.len() >= 2 && {
        let tenant = found.len() - 2;
        found
            .iter()
            .zip(&expected)
            .enumerate()
            .all(|(i, (f, e))| f == e || (i == tenant && (f == "{tenantid}" || is_tenant_id(f))))
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
                && tenant_issuer_matches(found, expected))
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
            spec::IssuerRule::TenantTemplate => tenant_issuer_matches(found, expected),
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
        let found = token
            .userinfo
            .as_ref()
            .and_then(|info| info.get("hd"))
            .and_then(Value::as_str);
        if found == Some(expected) {
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
    fn microsoft_issuers_match_by_tenant_segment() {
        let expected = "https://login.microsoftonline.com/common/v2.0";
        assert!(tenant_issuer_matches(
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            expected
        ));
        assert!(tenant_issuer_matches(
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            expected
        ));
        for wrong in [
            "https://login.evil.example/{tenantid}/v2.0",
            "https://login.microsoftonline.com/{tenantid}/v1.0",
            "https://login.microsoftonline.com/other/v2.0",
            "https://login.microsoftonline.com/{tenantid}/x/v2.0",
        ] {
            assert!(!tenant_issuer_matches(wrong, expected), "{wrong}");
        }
    }
}
