//! The user's claims, as plain data: what an OpenID Connect login and the userinfo endpoint
//! say about who signed in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    pub(crate) claims: Map<String, Value>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
