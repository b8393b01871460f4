//! Runtime settings: the analogue of Django's `AUTHLIB_OAUTH_CLIENTS`.
//!
//! A map keyed by provider name, each entry a map of the declaration's own keys. Deserialize it
//! from any serde format (a TOML file, JSON in an environment variable, ...) or build it in code.
//! Values are checked by the same rules as the declaration when the registry is built.

use oauth_clients_spec::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-provider overrides of declared values.
///
/// ```
/// let settings: oauth_clients::Settings = serde_json::from_str(r#"{
///     "github": { "client_id": "staging-app", "timeout": 10 },
///     "google": { "server_metadata_url": "https://idp.staging.example/.well-known/openid-configuration" }
/// }"#).unwrap();
/// # let _ = settings;
/// ```
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Settings {
    providers: BTreeMap<String, BTreeMap<String, SettingValue>>,
}

/// One settings value. Any shape deserializes, so that a wrong one is reported with every other
/// problem instead of failing the whole map at the first.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// A whole number, e.g. for `timeout` or `leeway`.
    Int(u64),
    /// `true` or `false`, for switches (`dpop`, `pushed_authorization_requests`).
    Bool(bool),
    /// A string; also accepted for numbers, which settings from the environment often have
    /// only as strings.
    Str(String),
    /// A list of strings; accepted for `scope`, as Authlib does.
    List(Vec<String>),
    /// Request parameters, for `authorize_params` and `access_token_params`.
    Map(BTreeMap<String, String>),
    /// Anything else (a nested map, a list of numbers, ...): always a problem.
    #[serde(skip_serializing)]
    Other(serde::de::IgnoredAny),
}

impl From<&str> for SettingValue {
    fn from(s: &str) -> Self {
        SettingValue::Str(s.to_string())
    }
}

impl From<String> for SettingValue {
    fn from(s: String) -> Self {
        SettingValue::Str(s)
    }
}

impl From<bool> for SettingValue {
    fn from(on: bool) -> Self {
        SettingValue::Bool(on)
    }
}

impl From<u64> for SettingValue {
    fn from(n: u64) -> Self {
        SettingValue::Int(n)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for SettingValue {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        SettingValue::Map(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Settings {
    /// Empty settings: every provider as declared.
    pub fn new() -> Self {
        Settings::default()
    }

    /// Sets `provider.key = value`, replacing an earlier value of that key.
    ///
    /// Nothing is checked here: unknown providers, unknown keys and invalid values are all
    /// reported together by [`RegistryBuilder::build`](crate::RegistryBuilder::build) or
    /// [`install`](crate::RegistryBuilder::install).
    ///
    /// ```
    /// let settings = oauth_clients::Settings::new()
    ///     .set("github", "client_id", "my-app")
    ///     .set("github", "timeout", 10);
    /// # let _ = settings;
    /// ```
    pub fn set(mut self, provider: &str, key: &str, value: impl Into<SettingValue>) -> Self {
        self.providers
            .entry(provider.to_string())
            .or_default()
            .insert(key.to_string(), value.into());
        self
    }

    /// Whether no provider has a setting.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    pub(crate) fn providers(&self) -> &BTreeMap<String, BTreeMap<String, SettingValue>> {
        &self.providers
    }
}

impl SettingValue {
    /// The value in the shape the spec's checks take. `scope` may be a list; numbers may come
    /// as strings (environment-sourced settings often have only strings).
    pub(crate) fn to_value(&self, kind: oauth_clients_spec::Kind) -> OwnedValue {
        use oauth_clients_spec::Kind;
        match (self, kind) {
            (SettingValue::Str(s), Kind::Seconds { .. }) => match s.trim().parse() {
                Ok(n) => OwnedValue::Int(n),
                Err(_) => OwnedValue::Str(s.clone()),
            },
            (SettingValue::Str(s), _) => OwnedValue::Str(s.clone()),
            (SettingValue::Int(n), _) => OwnedValue::Int(*n),
            (SettingValue::Bool(on), _) => OwnedValue::Bool(*on),
            (SettingValue::List(items), Kind::Scope) => OwnedValue::Str(items.join(" ")),
            (SettingValue::List(_), _) => OwnedValue::Other("a list"),
            (SettingValue::Map(map), _) => OwnedValue::Map(map.clone().into_iter().collect()),
            (SettingValue::Other(_), _) => OwnedValue::Other("a value of another type"),
        }
    }
}

/// An owned [`Value`], for values that come from settings.
pub(crate) enum OwnedValue {
    Str(String),
    Int(u64),
    Bool(bool),
    Map(Vec<(String, String)>),
    Other(&'static str),
}

impl OwnedValue {
    pub(crate) fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Int(n) => Value::Int(*n),
            OwnedValue::Bool(on) => Value::Bool(*on),
            OwnedValue::Map(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            }
            OwnedValue::Other(what) => Value::Other(what),
        }
    }
}
