//! Presets: real providers declared by their bare name (`github`, `microsoft { tenant: "common" }`).
//!
//! A preset is data: default values for the declaration's keys (URLs may hold `{key}`
//! placeholders, filled from the preset's parameters such as `tenant`), the parameters it takes,
//! the named behaviours the runtime switches on for it (an issuer rule, a generated client
//! secret, ...), and where its normalized profile comes from. Keys given in the declaration or
//! in settings override the preset's. The catalog is in `catalog.rs`; every entry cites the
//! provider documentation it follows.

use crate::{check_value, Checked, Key, Origin, Problem, Value};

pub use crate::catalog::PRESETS;

/// One real provider.
#[derive(Debug)]
pub struct Preset {
    /// The name it is declared by, e.g. `github`; also the provider's default name.
    pub name: &'static str,
    /// The provider's own name, e.g. `GitHub`.
    pub title: &'static str,
    /// The provider documentation the preset's values and behaviours follow.
    pub docs: &'static [&'static str],
    /// Default values of declaration keys. URLs may hold `{key}` placeholders for
    /// [`params`](Self::params).
    pub values: &'static [(Key, Default)],
    /// The preset-only keys it takes.
    pub params: &'static [Param],
    /// Keys of every provider that this preset needs the declaration to give, with an example
    /// value (Reddit's descriptive `user_agent`).
    pub requires: &'static [(Key, &'static str)],
    /// Behaviours that no generic key expresses.
    pub behaviour: Behaviour,
    /// Where the normalized profile comes from.
    pub profile: ProfileSource,
    /// The quirks handled, one short line each (for documentation).
    pub quirks: &'static [&'static str],
}

/// A preset's default value for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    /// A string: a URL (maybe with `{key}` placeholders), a scope, a choice or text.
    Str(&'static str),
    /// Request parameters, for `authorize_params` and `access_token_params`.
    Params(&'static [(&'static str, &'static str)]),
}

/// A preset-only key a preset takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The key, e.g. [`Key::Tenant`].
    pub key: Key,
    /// Its value when the declaration does not give one.
    pub default: Option<&'static str>,
    /// Whether a declaration must give it (only for parameters without a default).
    pub required: bool,
    /// A value for examples and tests.
    pub example: &'static str,
}

/// How ID-token (and discovery, and callback) issuers are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerRule {
    /// Exactly the expected issuer (OpenID Connect Core §3.1.3.7).
    Exact,
    /// The expected issuer, or the same without `https://` (Google documents both forms).
    AlsoWithoutScheme,
    /// Microsoft's multi-tenant endpoints publish `.../{tenantid}/v2.0`: the ID token's `iss`
    /// must be that template with the token's own `tid` in it, and `tid` on the allow-list.
    TenantTemplate,
}

/// Where the client secret sent to the token endpoint comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretRule {
    /// `client_secret` as configured.
    Configured,
    /// An ES256 JWT signed with `private_key` (`iss` team id, `sub` client id, `aud` the
    /// issuer, `kid` key id), generated and renewed by the library (Sign in with Apple).
    AppleJwt,
}

/// The behaviours a preset switches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Behaviour {
    /// How issuers are checked.
    pub issuer: IssuerRule,
    /// Where the client secret comes from.
    pub secret: SecretRule,
    /// A header that API calls must carry with the client id as its value (Twitch's `Client-Id`).
    pub client_id_header: Option<&'static str>,
}

impl Behaviour {
    /// A standards-conforming provider.
    pub const STANDARD: Behaviour = Behaviour {
        issuer: IssuerRule::Exact,
        secret: SecretRule::Configured,
        client_id_header: None,
    };
}

/// One field of a profile, read from a JSON answer: `""` for none, a JSON pointer
/// (`/data/0/id`), or a template with pointers in braces
/// (`https://cdn.example/avatars/{/id}/{/avatar}.png`, nothing when one is missing); or
/// alternatives separated by ` | `, the first one there taken (`/global_name | /username`).
pub type Field = &'static str;

/// Whether a provider vouches for the email it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    /// Never: the provider does not verify it, or lets users change it unverified.
    Never,
    /// When this field is `true` (or the string `"true"`, or `1`).
    When(Field),
}

/// Where a preset's normalized profile comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileSource {
    /// The ID token's claims, merged with userinfo: identity `(iss, subject)`.
    Claims {
        /// The user's id at the issuer: `/sub`, or a template when `sub` is unique only within
        /// a part of the issuer (Slack's workspace).
        subject: Field,
        /// Whether `email_verified` is believed.
        verified: Verified,
        /// The claim with the user's short name, when there is one.
        username: Field,
    },
    /// Microsoft: identity `(tid, oid)`; the email is never verified.
    MicrosoftClaims,
    /// Sign in with Apple: the claims, as for [`Claims`](Self::Claims) with `email_verified`;
    /// the name only from the `user` form field of the first login's callback.
    AppleClaims,
    /// An API endpoint (relative to `api_base_url`), GET (or POST with no body, for
    /// Dropbox). Identity: `(origin of api_base_url, id)`: the API's version may change, the
    /// user's id does not.
    Api(ApiProfile),
}

impl ProfileSource {
    /// The standard claims of any OpenID Connect provider: `sub`, `email_verified` believed,
    /// `preferred_username`.
    pub const STANDARD_CLAIMS: ProfileSource = ProfileSource::Claims {
        subject: "/sub",
        verified: Verified::When("/email_verified"),
        username: "",
    };
}

/// A profile read from an API endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiProfile {
    /// The path, relative to `api_base_url`, with any query.
    pub path: &'static str,
    /// POST with no body instead of GET.
    pub post: bool,
    /// The stable user id (a string or a number).
    pub id: Field,
    /// The email.
    pub email: Field,
    /// Whether that email is verified.
    pub verified: Verified,
    /// The display name.
    pub name: Field,
    /// The login or handle.
    pub username: Field,
    /// The picture's URL.
    pub picture: Field,
    /// An endpoint listing the user's addresses, for the verified primary one.
    pub emails: Option<EmailList>,
}

/// An endpoint listing a user's email addresses (GitHub's `/user/emails`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmailList {
    /// The path, relative to `api_base_url`.
    pub path: &'static str,
    /// The pointer to the list in the answer (`""` when the answer is the list).
    pub list: &'static str,
    /// The address's field in an entry.
    pub address: &'static str,
    /// The field that marks the primary address.
    pub primary: &'static str,
    /// The field that marks a verified address.
    pub verified: &'static str,
}

/// The preset declared as `name`, if there is one.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}

/// The preset `name` is close enough to to be a likely typo of (`gihtub` → `github`).
pub fn near_preset(name: &str) -> Option<&'static Preset> {
    if preset(name).is_some() {
        return None;
    }
    crate::suggest(name, PRESETS.iter().map(|p| p.name)).and_then(preset)
}

/// The message for a bare provider name that is no preset.
pub fn unknown_preset(name: &str) -> String {
    match near_preset(name) {
        Some(close) => format!(
            "unknown preset `{name}`; did you mean `{}`?",
            close.name
        ),
        None => format!(
            "unknown preset `{name}`: a provider declared by name alone must be one of the presets ({}); declare any other provider with its keys, e.g. `{name} {{ server_metadata_url: \"..\", scope: \"openid email\" }}`",
            PRESETS.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
        ),
    }
}

impl Preset {
    /// The preset's default for `key`, if it has one.
    pub fn default(&self, key: Key) -> Option<Default> {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| *value)
    }

    /// The parameter `key`, if the preset takes it.
    pub fn param(&self, key: Key) -> Option<&'static Param> {
        self.params.iter().find(|param| param.key == key)
    }

    /// Whether the preset gives `key` a value, directly or as a parameter default.
    pub fn provides(&self, key: Key) -> bool {
        self.default(key).is_some() || self.param(key).is_some_and(|p| p.default.is_some())
    }

    /// The preset's scope tokens.
    pub fn scope(&self) -> Vec<String> {
        match self.default(Key::Scope) {
            Some(Default::Str(scope)) => scope.split(' ').map(String::from).collect(),
            _ => Vec::new(),
        }
    }

    /// The preset's default for `key` with its placeholders filled by `param` (the value of
    /// each preset-only key: given, else the preset's default), then checked like a setting.
    /// `None` when the preset has no default for `key`.
    pub fn value(
        &self,
        key: Key,
        param: impl Fn(Key) -> Option<String>,
    ) -> Option<Result<Checked, Vec<String>>> {
        let filled = match self.default(key)? {
            Default::Params(pairs) => {
                return Some(check_value(
                    key,
                    &Value::Map(pairs.to_vec()),
                    Origin::Settings,
                ))
            }
            Default::Str(template) => match fill(template, |key| {
                param(key).or_else(|| self.param(key)?.default.map(String::from))
            }) {
                Ok(filled) => filled,
                Err(missing) => {
                    return Some(Err(vec![format!(
                        "`{key}` of preset `{}` needs `{missing}`",
                        self.name
                    )]))
                }
            },
        };
        Some(check_value(key, &Value::Str(&filled), Origin::Settings))
    }

    /// The checks a declaration of this preset must pass beyond those of every provider:
    /// required parameters given. `declared` tells whether a key was given.
    pub fn check(&self, provider: &str, declared: impl Fn(Key) -> bool) -> Vec<Problem> {
        self.params
            .iter()
            .filter(|param| param.required && !declared(param.key))
            .map(|param| Problem {
                key: None,
                message: format!(
                    "preset `{}` needs `{}`, {} (e.g. `{provider} {{ {}: \"{}\" }}`)",
                    self.name,
                    param.key,
                    describe(param.key),
                    param.key,
                    param.example
                ),
            })
            // The client secret is made from `private_key`: one given would be ignored.
            .chain(
                (self.behaviour.secret == SecretRule::AppleJwt && declared(Key::ClientSecret))
                    .then(|| Problem {
                        key: Some(Key::ClientSecret),
                        message: format!(
                            "preset `{}` makes its client secret from `private_key` (a signed JWT); remove `client_secret`",
                            self.name
                        ),
                    }),
            )
            .chain(
                self.requires
                    .iter()
                    .filter(|(key, _)| !declared(*key))
                    .map(|(key, example)| Problem {
                        key: None,
                        message: format!(
                            "preset `{}` needs `{key}` (e.g. `{provider} {{ {key}: \"{example}\" }}`)",
                            self.name
                        ),
                    }),
            )
            .collect()
    }
}

/// What a preset-only key is, from its documentation without the presets it names: "the
/// tenant: `common`, ...".
fn describe(key: Key) -> String {
    let doc = key.doc();
    let what = doc
        .split_once(": ")
        .filter(|(presets, _)| presets.starts_with("Preset"))
        .map_or(doc, |(_, what)| what);
    let mut what = what.trim_end_matches('.').to_string();
    if let Some(first) = what.get(..1) {
        what.replace_range(..1, &first.to_lowercase());
    }
    what
}

/// The message for a preset-only key given where it means nothing: on a provider that is no
/// preset, or on a preset that does not take it.
pub fn misplaced_key(key: Key, provider: &str, preset: Option<&Preset>) -> String {
    let takers: Vec<String> = PRESETS
        .iter()
        .filter(|p| p.param(key).is_some())
        .map(|p| format!("`{}`", p.name))
        .collect();
    match preset {
        Some(preset) => format!(
            "preset `{}` does not take `{key}`; it is a key of {}",
            preset.name,
            takers.join(", ")
        ),
        None => format!(
            "`{key}` applies only to presets ({}); `{provider}` is declared with its own keys",
            takers.join(", ")
        ),
    }
}

/// Fills `{key}` placeholders with `value(key)`; the name of the first key without a value
/// otherwise. Text outside braces is kept.
pub fn fill(template: &str, value: impl Fn(Key) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        match Key::from_name(name) {
            Some(key) => out.push_str(&value(key).ok_or_else(|| name.to_string())?),
            // Not a key: kept as written (Microsoft's issuer template has `{tenantid}`).
            None => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The README's table of presets, one row per preset of the catalog: its name, what to set
/// (environment variables and declaration keys), the quirks it handles, and the identity a
/// login keys accounts on. The README holds this text verbatim; a test compares them.
pub fn markdown_table() -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut table =
        String::from("| Preset | What to set | Quirks handled | Identity |\n|---|---|---|---|\n");
    for preset in PRESETS {
        let upper = preset.name.to_ascii_uppercase();
        let mut set = vec![format!("`{upper}_CLIENT_ID`")];
        set.push(match preset.behaviour.secret {
            SecretRule::AppleJwt => format!("`{upper}_PRIVATE_KEY` (PKCS#8 PEM)"),
            SecretRule::Configured => format!("`{upper}_CLIENT_SECRET`"),
        });
        for param in preset.params.iter().filter(|p| p.key != Key::PrivateKey) {
            let how = match (param.required, param.default) {
                (true, _) => "required".to_string(),
                (false, Some(default)) => format!("default `{default}`"),
                (false, None) => "optional".to_string(),
            };
            set.push(format!("`{}` ({how})", param.key));
        }
        for (key, _) in preset.requires {
            set.push(format!("`{key}` (required)"));
        }
        let identity = match preset.profile {
            ProfileSource::Claims { subject, .. } if subject != "/sub" => {
                format!("ID token `(iss, {subject})`")
            }
            ProfileSource::Claims { .. } | ProfileSource::AppleClaims => {
                "ID token `(iss, sub)`".to_string()
            }
            ProfileSource::MicrosoftClaims => "ID token `(tid, oid)`".to_string(),
            ProfileSource::Api(api) => format!(
                "`(API origin, {})` of `{} {}`",
                api.id,
                if api.post { "POST" } else { "GET" },
                api.path
            ),
        };
        table.push_str(&format!(
            "| `{}` ({}) | {} | {} | {} |\n",
            preset.name,
            cell(preset.title),
            cell(&set.join(", ")),
            cell(&preset.quirks.join("; ")),
            cell(&identity)
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_provider, ProviderKind};
    use std::collections::BTreeMap;

    /// Every preset, with its example parameters, makes a valid declaration of the kind its
    /// scope says, with every value valid.
    #[test]
    fn every_preset_is_a_valid_declaration() {
        for preset in PRESETS {
            let name = preset.name;
            assert!(crate::check_provider_name(name).is_ok(), "{name}");
            assert!(!preset.docs.is_empty(), "{name} cites no documentation");
            assert!(!preset.quirks.is_empty(), "{name} lists no quirks");
            let example = |key| preset.param(key).map(|p| p.example.to_string());
            let mut values = BTreeMap::new();
            for (key, _) in preset.values {
                let checked = preset.value(*key, example).unwrap();
                values.insert(
                    *key,
                    checked.unwrap_or_else(|e| panic!("{name}.{key}: {e:?}")),
                );
            }
            for (key, example) in preset.requires {
                let checked = check_value(*key, &Value::Str(example), Origin::Settings);
                values.insert(
                    *key,
                    checked.unwrap_or_else(|e| panic!("{name}.{key}: {e:?}")),
                );
            }
            for param in preset.params {
                assert!(param.key.preset_only(), "{name}.{}", param.key);
                let checked = check_value(param.key, &Value::Str(param.example), Origin::Settings);
                values.insert(
                    param.key,
                    checked.unwrap_or_else(|e| panic!("{name}.{}: {e:?}", param.key)),
                );
            }
            let problems = check_provider(name, |k| values.contains_key(&k), |k| values.get(&k));
            assert_eq!(problems, [], "{name}");
            let kind = ProviderKind::of(|k| values.contains_key(&k), |k| values.get(&k));
            let claims = !matches!(preset.profile, ProfileSource::Api(_));
            assert_eq!(
                kind == Some(ProviderKind::OpenIdConnect),
                claims,
                "{name}: OpenID Connect presets read the profile from claims, others from an API"
            );
            if let ProfileSource::Api(_) = preset.profile {
                assert!(
                    values.contains_key(&Key::ApiBaseUrl),
                    "{name} has no api_base_url"
                );
            }
        }
        assert!(PRESETS.len() >= 20, "{} presets", PRESETS.len());
    }

    #[test]
    fn placeholders_are_filled_from_parameters() {
        let tenant = |key| (key == Key::Tenant).then(|| "common".to_string());
        assert_eq!(
            fill("https://login.example/{tenant}/v2.0", tenant).unwrap(),
            "https://login.example/common/v2.0"
        );
        assert_eq!(
            fill("https://login.example/{tenantid}/v2.0", tenant).unwrap(),
            "https://login.example/{tenantid}/v2.0"
        );
        assert_eq!(fill("https://{domain}/x", tenant).unwrap_err(), "domain");
    }

    #[test]
    fn misspelt_presets_are_suggested() {
        assert_eq!(
            unknown_preset("gihtub"),
            "unknown preset `gihtub`; did you mean `github`?"
        );
        assert!(near_preset("github").is_none());
        assert!(unknown_preset("zzzzzz").starts_with("unknown preset `zzzzzz`: a provider declared by name alone must be one of the presets (`github`"));
    }

    #[test]
    fn required_parameters_are_named() {
        let microsoft = preset("microsoft").unwrap();
        let problems = microsoft.check("microsoft", |_| false);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .message
                .starts_with("preset `microsoft` needs `tenant`, the tenant: `common`"),
            "{}",
            problems[0].message
        );
        assert_eq!(microsoft.check("microsoft", |k| k == Key::Tenant), []);
        assert_eq!(
            misplaced_key(Key::Tenant, "github", preset("github")),
            "preset `github` does not take `tenant`; it is a key of `microsoft`"
        );
    }

    #[test]
    fn segments_cannot_change_a_urls_shape() {
        for bad in ["a/b", "a?b", "a#b", "..", "a b", "", "@evil"] {
            assert!(
                check_value(Key::Tenant, &Value::Str(bad), Origin::Settings).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(
            check_value(Key::Domain, &Value::Str("dev-1.okta.com"), Origin::Settings),
            Ok(Checked::Text("dev-1.okta.com".into()))
        );
    }

    #[test]
    fn the_readme_lists_every_preset_as_the_catalog_says() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("the workspace README");
        assert!(PRESETS.len() >= 23, "{} presets", PRESETS.len());
        for preset in PRESETS {
            assert!(
                readme.contains(&format!("\n| `{}` (", preset.name)),
                "README.md has no row for the preset `{}`",
                preset.name
            );
        }
        let table = markdown_table();
        assert_eq!(table.lines().count(), PRESETS.len() + 2);
        assert!(
            readme.contains(&table),
            "README.md's presets table differs from the catalog; replace it with:\n{table}"
        );
    }
}
