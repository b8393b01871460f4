//! Presets as configuration: what a bare name resolves to, how settings and the environment
//! override it (GitHub Enterprise Server, self-hosted GitLab, another tenant), and what is
//! reported when a preset's keys are missing or wrong. The logins themselves are in
//! `presets_oauth2.rs` and `presets_oidc.rs`.

use oauth_clients::{oauth_clients, AuthMethod, Key, Settings};
use std::collections::HashMap;

oauth_clients! {
    github,
    google { hosted_domain: "example.com" },
    microsoft { tenant: env("MS_TENANT") },
    gitlab,
    keycloak { base_url: "https://sso.example.com", realm: "staff" },
    apple { team_id: "ABCDE12345", key_id: "XYZ9876543" },
    reddit { user_agent: "web:com.example.app:1.0 (by /u/example)" },
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// A PKCS#8 P-256 key, as Apple hands them out (`AuthKey_<key id>.p8`).
fn apple_key() -> String {
    use base64::Engine;
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
}

fn credentials(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        "GITHUB",
        "GOOGLE",
        "MICROSOFT",
        "GITLAB",
        "KEYCLOAK",
        "REDDIT",
    ]
    .iter()
    .flat_map(|name| {
        [
            (
                format!("{name}_CLIENT_ID"),
                format!("{name}-id").to_lowercase(),
            ),
            (
                format!("{name}_CLIENT_SECRET"),
                "sentinel-secret".to_string(),
            ),
        ]
    })
    .collect();
    pairs.push(("APPLE_CLIENT_ID".into(), "com.example.web".into()));
    pairs.push(("APPLE_PRIVATE_KEY".into(), apple_key()));
    pairs.push(("MS_TENANT".into(), "organizations".into()));
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    pairs
}

fn build(
    settings: Settings,
    extra: &[(&str, &str)],
) -> Result<oauth_clients::Registry<Providers>, oauth_clients::ConfigError> {
    let pairs = credentials(extra);
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Providers::builder()
        .settings(settings)
        .env_source(env(&borrowed))
        .build()
}

#[test]
fn a_bare_name_resolves_to_the_providers_documented_endpoints() {
    let registry = build(Settings::new(), &[]).unwrap();
    let github = registry.github();
    let config = github.config().unwrap();
    assert_eq!(
        config.authorize_url.as_ref().unwrap().as_str(),
        "https://github.com/login/oauth/authorize"
    );
    assert_eq!(
        config.access_token_url.as_ref().unwrap().as_str(),
        "https://github.com/login/oauth/access_token"
    );
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://api.github.com/"
    );
    assert_eq!(config.scope, ["read:user", "user:email"]);
    assert_eq!(
        config.token_endpoint_auth_method,
        AuthMethod::ClientSecretPost
    );
    assert_eq!(config.client_id, "github-id");
    assert_eq!(config.preset.unwrap().title, "GitHub");

    // Placeholders filled from the preset's keys: declared, defaulted, or from `env(..)`.
    let microsoft = registry.microsoft();
    let config = microsoft.config().unwrap();
    assert_eq!(
        config.server_metadata_url.as_ref().unwrap().as_str(),
        "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(config.preset_param(Key::Tenant), Some("organizations"));
    let gitlab = registry.gitlab();
    let config = gitlab.config().unwrap();
    assert_eq!(
        config.server_metadata_url.as_ref().unwrap().as_str(),
        "https://gitlab.com/.well-known/openid-configuration"
    );
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://gitlab.com/api/v4/"
    );
    let keycloak = registry.keycloak();
    assert_eq!(
        keycloak
            .config()
            .unwrap()
            .server_metadata_url
            .as_ref()
            .unwrap()
            .as_str(),
        "https://sso.example.com/realms/staff/.well-known/openid-configuration"
    );
    // Google: offline access asked for on every login.
    let google = registry.google();
    assert_eq!(
        google.config().unwrap().authorize_params,
        [("access_type".to_string(), "offline".to_string())]
    );
    assert_eq!(
        google.config().unwrap().preset_param(Key::HostedDomain),
        Some("example.com")
    );
    // Apple: no client secret is read; the key is, and the secret is made from it.
    let apple = registry.apple();
    let config = apple.config().unwrap();
    assert!(config.client_secret().is_none());
    assert_eq!(
        config.token_endpoint_auth_method,
        AuthMethod::ClientSecretPost
    );
    assert_eq!(
        registry.reddit().config().unwrap().user_agent.as_deref(),
        Some("web:com.example.app:1.0 (by /u/example)")
    );
}

#[test]
fn settings_point_a_preset_at_a_self_hosted_server_or_another_tenant() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "github": {
                "authorize_url": "https://ghe.example.com/login/oauth/authorize",
                "access_token_url": "https://ghe.example.com/login/oauth/access_token",
                "api_base_url": "https://ghe.example.com/api/v3/"
            },
            "gitlab": { "base_url": "https://gitlab.example.com" },
            "microsoft": { "tenant": "contoso.onmicrosoft.com" }
        }"#,
    )
    .unwrap();
    let registry = build(settings, &[]).unwrap();
    let github = registry.github();
    let config = github.config().unwrap();
    assert_eq!(
        config.authorize_url.as_ref().unwrap().as_str(),
        "https://ghe.example.com/login/oauth/authorize"
    );
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://ghe.example.com/api/v3/"
    );
    // The preset's quirks stay: the secret still goes in the body.
    assert_eq!(
        config.token_endpoint_auth_method,
        AuthMethod::ClientSecretPost
    );
    let gitlab = registry.gitlab();
    let config = gitlab.config().unwrap();
    assert_eq!(
        config.server_metadata_url.as_ref().unwrap().as_str(),
        "https://gitlab.example.com/.well-known/openid-configuration"
    );
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://gitlab.example.com/api/v4/"
    );
    // Settings win over the declaration's `env(..)`.
    assert_eq!(
        registry.microsoft().config().unwrap().server_metadata_url.as_ref().unwrap().as_str(),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    );
}

#[test]
fn wrong_preset_keys_in_settings_and_the_environment_are_reported() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "github": { "tenant": "common" },
            "gitlab": { "base_url": "http://gitlab.example.com" },
            "keycloak": { "realm": "staff/../admin" }
        }"#,
    )
    .unwrap();
    let error = build(settings, &[("MS_TENANT", "a?b"), ("APPLE_PRIVATE_KEY", "")]).unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    for expected in [
        "github.tenant (settings): preset `github` does not take `tenant`; it is a key of `microsoft`",
        "microsoft.tenant (environment): `tenant` has the character `?`; expected a name of letters, digits, `.`, `-` and `_` (read from `MS_TENANT`)",
        "gitlab.base_url (settings): `base_url` must use `https://`; `http://` is allowed only for loopback hosts (`localhost`, `127.0.0.1`, `[::1]`)",
        "keycloak.realm (settings): `realm` has the character `/`; expected a name of letters, digits, `.`, `-` and `_`",
        "apple.private_key (environment): `private_key` is not set: set the environment variable `APPLE_PRIVATE_KEY`",
    ] {
        assert!(shown.iter().any(|s| s == expected), "{expected}\nin {shown:#?}");
    }
    assert_eq!(shown.len(), 5, "{shown:#?}");
    // A key that is not PKCS#8, or not P-256, is reported when the registry is built.
    let error = build(
        Settings::new(),
        &[(
            "APPLE_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        )],
    )
    .unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        ["apple.private_key (environment): `private_key` is not a P-256 (ES256) key"]
    );
}

#[test]
fn parameters_given_add_to_the_presets() {
    let settings = Settings::new().set(
        "google",
        "authorize_params",
        [("prompt", "consent"), ("access_type", "online")]
            .into_iter()
            .collect::<oauth_clients::SettingValue>(),
    );
    let registry = build(settings, &[]).unwrap();
    // The preset's `access_type` replaced by the one given, `prompt` added.
    let mut params = registry.google().config().unwrap().authorize_params.clone();
    params.sort();
    assert_eq!(
        params,
        [
            ("access_type".to_string(), "online".to_string()),
            ("prompt".to_string(), "consent".to_string())
        ]
    );
    let settings = Settings::new().set(
        "apple",
        "authorize_params",
        [("prompt", "login")]
            .into_iter()
            .collect::<oauth_clients::SettingValue>(),
    );
    let registry = build(settings, &[]).unwrap();
    assert_eq!(
        registry.apple().config().unwrap().authorize_params,
        [
            ("response_mode".to_string(), "form_post".to_string()),
            ("prompt".to_string(), "login".to_string())
        ]
    );
}

#[test]
fn keys_a_preset_would_ignore_or_misread_are_refused() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "apple": { "client_secret": "a-secret" },
            "gitlab": { "base_url": "https://gitlab.example.com/" },
            "keycloak": { "base_url": "https://sso.example.com?x=1" }
        }"#,
    )
    .unwrap();
    let error = build(settings, &[]).unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "gitlab.base_url (settings): `base_url` is the server's address that preset URLs are built on: no query and no trailing `/` (did you mean `https://gitlab.example.com`?)",
            "keycloak.base_url (settings): `base_url` is the server's address that preset URLs are built on: no query and no trailing `/` (did you mean `https://sso.example.com`?)",
            "apple.client_secret (settings): preset `apple` makes its client secret from `private_key` (a signed JWT); remove `client_secret`",
        ]
    );
}
