//! One normalized profile for every provider: who signed in, in the same shape whether the
//! provider is an OpenID Connect provider (claims) or an OAuth 2.0 API (GitHub's `/user`).
//!
//! Pure: the answers come in, a [`Profile`] comes out. What each preset reads is data in
//! `oauth-clients-spec` (`ProfileSource`); fetching the answers is `preset.rs`'s.

use oauth_clients_spec::presets::{ApiProfile, EmailList, Field, Verified};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who signed in, normalized across providers. After a login it is in
/// [`Token::profile`](crate::Token::profile).
///
/// Key accounts on [`identity`](Self::identity), never on the email or the username: those
/// change, and a provider may let a user claim an address it never verified. `email_verified`
/// is `true` only when the provider vouches for the address (Microsoft never does; GitHub does
/// for the verified primary address of `/user/emails`).
///
/// ```
/// # fn demo(token: &oauth_clients::Token) {
/// if let Some(profile) = token.profile() {
///     let (issuer, subject) = profile.identity();
///     println!("{} signed in with {} as {issuer} {subject}", profile.name.as_deref().unwrap_or("?"), profile.provider);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The provider's name, as declared (e.g. `github`).
    pub provider: String,
    /// What `subject` is unique within: the OpenID Connect issuer (Microsoft: the user's
    /// tenant's issuer), or an OAuth 2.0 preset's API origin, e.g. `https://api.github.com`
    /// (GitHub Enterprise ids are not github.com's; the API's version is left out, as it
    /// changes while ids stay).
    pub issuer: String,
    /// The user's stable id there: `sub`, Microsoft's `oid`, GitHub's numeric `id`, ...
    pub subject: String,
    /// The email address, if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider vouches that `email` belongs to the user.
    pub email_verified: bool,
    /// The display name. Sign in with Apple's comes from the first login's `user` form field,
    /// which Apple does not sign.
    pub name: Option<String>,
    /// The login, handle or preferred username; not unique over time.
    pub username: Option<String>,
    /// The URL of the user's picture.
    pub picture: Option<String>,
    /// Everything the provider said: the claims, or the profile endpoint's answer.
    pub raw: Map<String, Value>,
}

impl Profile {
    /// A profile with only its identity, for an app that builds one itself: from an OAuth
    /// 1.0a provider's API, or from another source of users. Set the other fields after.
    ///
    /// ```
    /// let mut profile = oauth_clients::Profile::new("trello", "https://api.trello.com", "5f1d");
    /// profile.username = Some("ada".into());
    /// assert_eq!(profile.identity(), ("https://api.trello.com", "5f1d"));
    /// ```
    pub fn new(
        provider: impl Into<String>,
        issuer: impl Into<String>,
        subject: impl Into<String>,
    ) -> Profile {
        Profile {
            provider: provider.into(),
            issuer: issuer.into(),
            subject: subject.into(),
            email: None,
            email_verified: false,
            name: None,
            username: None,
            picture: None,
            raw: Map::new(),
        }
    }

    /// The stable identity to key accounts on: `(issuer, subject)`.
    pub fn identity(&self) -> (&str, &str) {
        (&self.issuer, &self.subject)
    }
}

/// A field's text: a pointer's string (or number) value, or a template's with every pointer
/// found; `None` for `""`, a missing or empty value, or a template with a part missing.
pub(crate) fn field(value: &Value, field: Field) -> Option<String> {
    if field.contains(" | ") {
        return field.split(" | ").find_map(|one| self::field(value, one));
    }
    if field.is_empty() {
        return None;
    }
    if field.starts_with('/') {
        return text(value.pointer(field)?);
    }
    let mut out = String::new();
    let mut rest = field;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(&text(value.pointer(&rest[start + 1..end])?)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a flag is set: `true`, `"true"` (Apple, Cognito) or `1` (Zoom).
fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn verified(value: &Value, rule: Verified) -> bool {
    match rule {
        Verified::Never => false,
        Verified::When(pointer) => flag(value.pointer(pointer)),
    }
}

/// The profile of an OpenID Connect login: identity `(issuer, sub)`. `issuer` is the expected
/// one, so Google's two spellings make one identity.
pub(crate) fn from_claims(
    provider: &str,
    issuer: &str,
    claims: &Map<String, Value>,
    subject: Field,
    verified_rule: Verified,
    username: Field,
) -> Option<Profile> {
    // One copy of the claims: read through, then kept as the raw answer.
    let all = Value::Object(claims.clone());
    let subject = field(&all, subject)?;
    let email = field(&all, "/email");
    let email_verified = email.is_some() && verified(&all, verified_rule);
    let name = field(&all, "/name")
        .or_else(|| joined(field(&all, "/given_name"), field(&all, "/family_name")));
    let username = field(&all, username).or_else(|| field(&all, "/preferred_username"));
    let picture = field(&all, "/picture");
    let Value::Object(raw) = all else {
        return None;
    };
    Some(Profile {
        provider: provider.to_string(),
        issuer: issuer.to_string(),
        subject,
        email,
        email_verified,
        name,
        username,
        picture,
        raw,
    })
}

/// Microsoft's identity is `(tid, oid)` (the `sub` is per application): the issuer of the
/// user's own tenant, and `oid`. The email is never verified: Microsoft lets tenant admins
/// set it unverified, and users change it.
pub(crate) fn from_microsoft_claims(
    provider: &str,
    issuer_template: &str,
    claims: &Map<String, Value>,
) -> Option<Profile> {
    let all = Value::Object(claims.clone());
    let tid = field(&all, "/tid")?;
    let oid = field(&all, "/oid")?;
    let mut profile = from_claims(provider, "", claims, "/sub", Verified::Never, "")?;
    profile.issuer = issuer_template.replace("{tenantid}", &tid);
    profile.subject = oid;
    profile.email = profile
        .email
        .or_else(|| field(&all, "/preferred_username").filter(|u| u.contains('@')));
    Some(profile)
}

/// Sign in with Apple: the claims, and the name from the first login's `user` form field
/// (`{"name": {"firstName": .., "lastName": ..}, "email": ..}`), which Apple sends only once.
pub(crate) fn from_apple_claims(
    provider: &str,
    issuer: &str,
    claims: &Map<String, Value>,
    user: Option<&str>,
) -> Option<Profile> {
    // Apple's claims are the standard ones (`email_verified` may be a string).
    let mut profile = from_claims(
        provider,
        issuer,
        claims,
        "/sub",
        Verified::When("/email_verified"),
        "",
    )?;
    // The field is not signed: only the name is taken from it (the address it also carries
    // is the ID token's business), and it is not mixed into the claims.
    if let Some(Value::Object(user)) = user.and_then(|u| serde_json::from_str(u).ok()) {
        let user = Value::Object(user);
        profile.name = joined(
            field(&user, "/name/firstName"),
            field(&user, "/name/lastName"),
        );
    }
    Some(profile)
}

fn joined(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (one, other) => one.or(other),
    }
}

/// The profile from an API's answer: identity `(api_origin, id)`. With an email list, the
/// verified primary address replaces the profile's own, which is then never verified.
pub(crate) fn from_api(
    provider: &str,
    api_origin: &str,
    spec: &ApiProfile,
    answer: &Value,
    emails: Option<&Value>,
) -> Option<Profile> {
    let subject = field(answer, spec.id)?;
    let mut email = field(answer, spec.email);
    let mut email_verified = email.is_some() && verified(answer, spec.verified);
    if let (Some(list), Some(rule)) = (emails, spec.emails) {
        if let Some(primary) = verified_primary(list, &rule) {
            email = Some(primary);
            email_verified = true;
        }
    }
    Some(Profile {
        provider: provider.to_string(),
        issuer: api_origin.to_string(),
        subject,
        email,
        email_verified,
        name: field(answer, spec.name),
        username: field(answer, spec.username),
        // Reddit's `icon_img` comes HTML-escaped (`&amp;` between query parameters); no URL
        // holds `&amp;` on purpose.
        picture: field(answer, spec.picture).map(|url| url.replace("&amp;", "&")),
        raw: match answer {
            Value::Object(map) => map.clone(),
            other => Map::from_iter([("profile".to_string(), other.clone())]),
        },
    })
}

/// The address marked both primary and verified, if there is one.
fn verified_primary(answer: &Value, rule: &EmailList) -> Option<String> {
    let list = if rule.list.is_empty() {
        answer
    } else {
        answer.pointer(rule.list)?
    };
    list.as_array()?
        .iter()
        .find(|entry| flag(entry.get(rule.primary)) && flag(entry.get(rule.verified)))
        .and_then(|entry| entry.get(rule.address))
        .and_then(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        }
    }

    /// GitHub's, from the catalog.
    fn github() -> ApiProfile {
        match oauth_clients_spec::presets::preset("github").map(|p| p.profile) {
            Some(oauth_clients_spec::presets::ProfileSource::Api(api)) => api,
            other => unreachable!("GitHub's profile comes from its API: {other:?}"),
        }
    }

    #[test]
    fn fields_are_pointers_or_templates() {
        let value = json!({"id": 80, "avatar": "a1", "data": [{"name": "x"}], "empty": ""});
        assert_eq!(field(&value, "/id").as_deref(), Some("80"));
        assert_eq!(field(&value, "/data/0/name").as_deref(), Some("x"));
        assert_eq!(field(&value, "/empty"), None);
        assert_eq!(field(&value, ""), None);
        assert_eq!(
            field(&value, "https://cdn.example/{/id}/{/avatar}.png").as_deref(),
            Some("https://cdn.example/80/a1.png")
        );
        assert_eq!(field(&value, "https://cdn.example/{/id}/{/nope}.png"), None);
        // Alternatives: the first that is there.
        assert_eq!(field(&value, "/nope | /empty | /id").as_deref(), Some("80"));
        assert_eq!(field(&value, "/nope | /empty"), None);
    }

    #[test]
    fn github_identity_is_the_numeric_id_and_only_a_verified_primary_is_verified() {
        let user = json!({"id": 583231, "login": "octocat", "name": "The Octocat", "email": null,
                          "avatar_url": "https://avatars.example/u/583231"});
        let base = "https://api.github.com/";
        // No public email, and the primary address unverified: no verified email at all.
        let emails = json!([
            {"email": "octo@example.com", "primary": true, "verified": false},
            {"email": "other@example.com", "primary": false, "verified": true},
        ]);
        let profile = from_api("github", base, &github(), &user, Some(&emails)).unwrap();
        assert_eq!(profile.identity(), (base, "583231"));
        assert_eq!(profile.email, None);
        assert!(!profile.email_verified);
        assert_eq!(profile.username.as_deref(), Some("octocat"));
        // The verified primary address, when there is one.
        let emails = json!([{"email": "octo@example.com", "primary": true, "verified": true}]);
        let profile = from_api("github", base, &github(), &user, Some(&emails)).unwrap();
        assert_eq!(profile.email.as_deref(), Some("octo@example.com"));
        assert!(profile.email_verified);
        // A public email in `/user` is never taken as verified.
        let user = json!({"id": 1, "login": "x", "email": "public@example.com"});
        let profile = from_api("github", base, &github(), &user, None).unwrap();
        assert_eq!(profile.email.as_deref(), Some("public@example.com"));
        assert!(!profile.email_verified);
        // A picture URL sent HTML-escaped, as Reddit's `icon_img` is, is unescaped.
        let user = json!({"id": 1, "login": "x",
                          "avatar_url": "https://img.example/a.png?width=256&amp;s=abc"});
        let profile = from_api("github", base, &github(), &user, None).unwrap();
        assert_eq!(
            profile.picture.as_deref(),
            Some("https://img.example/a.png?width=256&s=abc")
        );
        // No id: no profile.
        assert_eq!(
            from_api("github", base, &github(), &json!({"login": "x"}), None),
            None
        );
    }

    #[test]
    fn claims_and_their_verification() {
        let claims = map(
            json!({"sub": "1", "email": "a@example.com", "email_verified": "true",
                                "given_name": "Ada", "family_name": "Lovelace"}),
        );
        let profile = from_claims(
            "p",
            "https://idp.example",
            &claims,
            "/sub",
            Verified::When("/email_verified"),
            "",
        )
        .unwrap();
        assert_eq!(profile.identity(), ("https://idp.example", "1"));
        assert!(profile.email_verified);
        assert_eq!(profile.name.as_deref(), Some("Ada Lovelace"));
        let profile = from_claims("p", "i", &claims, "/sub", Verified::Never, "").unwrap();
        assert!(!profile.email_verified);
    }

    #[test]
    fn microsoft_identity_is_tenant_and_object_id_and_email_is_never_verified() {
        let claims = map(json!({"sub": "per-app", "tid": "t1", "oid": "o1",
                                "email": "a@contoso.example", "email_verified": true}));
        let profile = from_microsoft_claims(
            "microsoft",
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            &claims,
        )
        .unwrap();
        assert_eq!(
            profile.identity(),
            ("https://login.microsoftonline.com/t1/v2.0", "o1")
        );
        assert!(!profile.email_verified);
        // Without `oid` (no `profile` scope) there is no stable identity.
        let claims = map(json!({"sub": "per-app", "tid": "t1"}));
        assert_eq!(from_microsoft_claims("microsoft", "x", &claims,), None);
    }

    #[test]
    fn apple_names_come_from_the_first_logins_user_field() {
        let claims = map(
            json!({"sub": "001.apple", "email": "x@privaterelay.appleid.com",
                                "email_verified": "true", "is_private_email": "true"}),
        );
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@privaterelay.appleid.com"}"#;
        let first =
            from_apple_claims("apple", "https://appleid.apple.com", &claims, Some(user)).unwrap();
        assert_eq!(first.name.as_deref(), Some("Ada Lovelace"));
        assert!(first.email_verified);
        let later = from_apple_claims("apple", "https://appleid.apple.com", &claims, None).unwrap();
        assert_eq!(later.name, None);
        assert_eq!(later.identity(), first.identity());
    }
}
