//! Building registries: declaration + runtime settings + environment.

use oauth_clients::{
    oauth_clients, AuthMethod, ConfigError, Error, Origin, Provider, Settings, TokenPlacement,
};
use std::collections::HashMap;
use std::time::Duration;

oauth_clients! {
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
    google {
        server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
        scope: "openid profile email",
        client_id: env("GOOGLE_APP_ID"),
        client_secret: env("GOOGLE_APP_SECRET"),
    },
    cli {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid",
        client_id: "cli-app",
        token_endpoint_auth_method: none,
    },
}

// A provider whose URLs are known only at run time, per deployment.
oauth_clients! {
    pub Deployed;

    corp_sso {
        server_metadata_url: env("CORP_DISCOVERY_URL"),
        api_base_url: env("CORP_API_URL"),
        end_session_endpoint: env("CORP_LOGOUT_URL"),
        scope: "openid email",
        client_id: "corp-app",
        client_secret: env("CORP_SECRET"),
    },
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

const ALL_CREDENTIALS: &[(&str, &str)] = &[
    ("FORGE_CLIENT_ID", "gh-id"),
    ("FORGE_CLIENT_SECRET", "gh-sentinel-secret"),
    ("GOOGLE_APP_ID", "g-id"),
    ("GOOGLE_APP_SECRET", "g-sentinel-secret"),
];

#[test]
fn declaration_and_environment_resolve_to_a_config() {
    let registry = Providers::builder()
        .env_source(env(ALL_CREDENTIALS))
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let config = forge.config().unwrap();
    assert_eq!(config.client_id, "gh-id");
    assert_eq!(
        config.client_secret().unwrap().expose(),
        "gh-sentinel-secret"
    );
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://api.forge.com/"
    );
    assert_eq!(config.scope, ["user:email"]);
    assert_eq!(
        config.token_endpoint_auth_method,
        AuthMethod::ClientSecretBasic
    );
    assert_eq!(config.token_placement, TokenPlacement::Header);
    assert_eq!(config.leeway, Duration::from_secs(60));
    assert!(!config.is_openid());

    let google = registry.client::<Google>();
    assert_eq!(google.config().unwrap().client_id, "g-id");
    assert!(google.config().unwrap().is_openid());

    // A public client needs no secret, and its declared literal client id is used.
    let cli = registry.client::<Cli>().config().unwrap().clone();
    assert_eq!(cli.client_id, "cli-app");
    assert!(cli.client_secret().is_none());
    assert_eq!(cli.token_endpoint_auth_method, AuthMethod::None);
}

#[test]
fn settings_override_declared_values() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "forge": {
                "client_id": "staging-id",
                "timeout": "10",
                "api_base_url": "https://forge.staging.example/api/v3/",
                "authorize_params": { "allow_signup": "false" },
                "token_placement": "body"
            },
            "google": {
                "server_metadata_url": "http://127.0.0.1:9000/.well-known/openid-configuration",
                "scope": ["openid", "email"],
                "client_secret": "from-a-settings-file"
            }
        }"#,
    )
    .unwrap();
    let registry = Providers::builder()
        .settings(settings)
        .env_source(env(ALL_CREDENTIALS))
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let config = forge.config().unwrap();
    assert_eq!(config.client_id, "staging-id");
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://forge.staging.example/api/v3/"
    );
    assert_eq!(
        config.authorize_params,
        [("allow_signup".to_string(), "false".to_string())]
    );
    assert_eq!(config.token_placement, TokenPlacement::Body);
    // Untouched keys keep their declared values.
    assert_eq!(config.scope, ["user:email"]);

    let google = registry.client::<Google>();
    let config = google.config().unwrap();
    assert_eq!(
        config.server_metadata_url.as_ref().unwrap().as_str(),
        "http://127.0.0.1:9000/.well-known/openid-configuration"
    );
    assert_eq!(config.scope, ["openid", "email"]);
    assert_eq!(
        config.client_secret().unwrap().expose(),
        "from-a-settings-file"
    );
}

#[test]
fn owned_registries_have_one_typed_accessor_per_provider() {
    let tenant = |client_id: &str| {
        Providers::builder()
            .settings(Settings::new().set("forge", "client_id", client_id))
            .env_source(env(ALL_CREDENTIALS))
            .build()
            .unwrap()
    };
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    // `ProvidersExt`, generated next to `Providers`, is in scope where the macro is invoked.
    let forge: oauth_clients::Client<Forge> = a.forge();
    assert_eq!(forge.config().unwrap().client_id, "tenant-a");
    assert_eq!(b.forge().config().unwrap().client_id, "tenant-b");
    assert_eq!(a.google().config().unwrap().client_id, "g-id");
    assert_eq!(a.cli().config().unwrap().client_id, "cli-app");
    assert_eq!(
        (a.forge().name(), a.google().name(), a.cli().name()),
        ("forge", "google", "cli")
    );
}

#[test]
fn bad_settings_are_reported_together() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "forge": {
                "authorise_url": "https://forge.com/login/oauth/authorize",
                "api_base_url": "https://api.forge.com/v3",
                "timeout": 0,
                "code_challenge_method": "plain",
                "scope": "user:email user:email",
                "authorize_params": { "state": "fixed" },
                "user_agent": true
            },
            "forgr": { "client_id": "x" },
            "cli": { "code_challenge_method": "none", "jwks_uri": "http://sso.example.com/jwks" }
        }"#,
    )
    .unwrap();
    let error: ConfigError = Providers::builder()
        .settings(settings)
        .env_source(env(ALL_CREDENTIALS))
        .build()
        .unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "forgr (settings): no provider `forgr` is declared; did you mean `forge`?",
            "forge.api_base_url (settings): `api_base_url` must end with `/`; otherwise a relative path replaces its last segment (did you mean `https://api.forge.com/v3/`?)",
            "forge.authorise_url (settings): unknown key `authorise_url`; did you mean `authorize_url`?",
            "forge.authorize_params (settings): `authorize_params` cannot set `state`: the flow sets it on every request",
            "forge.code_challenge_method (settings): `plain` PKCE is refused: it does not protect a code whose authorization request leaked (RFC 9700 §2.1.1); use `S256` (the default)",
            "forge.scope (settings): scope token `user:email` is listed twice",
            "forge.timeout (settings): `timeout` must be from 1 to 300 seconds, found 0",
            "forge.user_agent (settings): `user_agent` expects a string, found a boolean",
            "cli.jwks_uri (settings): `jwks_uri` must use `https://`; `http://` is allowed only for loopback hosts (`localhost`, `127.0.0.1`, `[::1]`)",
            "cli.code_challenge_method (settings): a public client (`token_endpoint_auth_method: none`) must use PKCE (RFC 9700 §2.1.1); remove `code_challenge_method: none`",
        ]
    );
    // One error, listing them all.
    let message = error.to_string();
    assert!(message.starts_with("invalid OAuth client configuration: 10 problems\n  - forgr"));
    assert_eq!(message.lines().count(), 11);
}

#[test]
fn missing_credentials_fail_the_build_or_mark_the_provider_unavailable() {
    let only_forge = env(&[("FORGE_CLIENT_ID", "gh-id"), ("FORGE_CLIENT_SECRET", "s")]);
    let error = Providers::builder()
        .env_source(only_forge)
        .build()
        .unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "google.client_id (environment): `client_id` is not set: set the environment variable `GOOGLE_APP_ID`",
            "google.client_secret (environment): `client_secret` is not set: set the environment variable `GOOGLE_APP_SECRET`",
        ]
    );
    assert!(error
        .problems
        .iter()
        .all(|p| p.origin == Origin::Environment));

    let registry = Providers::builder()
        .env_source(env(&[
            ("FORGE_CLIENT_ID", "gh-id"),
            ("FORGE_CLIENT_SECRET", "s"),
        ]))
        .allow_unconfigured()
        .build()
        .unwrap();
    let list = registry.list();
    let summary: Vec<(&str, bool, bool, usize)> = list
        .iter()
        .map(|p| (p.name, p.openid, p.available, p.problems.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("forge", false, true, 0),
            ("google", true, false, 2),
            ("cli", true, true, 0)
        ]
    );
    match registry.client::<Google>().config() {
        Err(Error::NotConfigured { provider, problems }) => {
            assert_eq!(provider, "google");
            assert_eq!(problems.len(), 2);
        }
        other => panic!("expected NotConfigured, got {other:?}"),
    }
}

#[test]
fn invalid_values_are_errors_even_when_unconfigured_providers_are_allowed() {
    let error = Providers::builder()
        .settings(Settings::new().set("forge", "leeway", 301))
        .env_source(env(&[]))
        .allow_unconfigured()
        .build()
        .unwrap_err();
    assert_eq!(error.problems.len(), 1, "{error}");
    assert_eq!(error.problems[0].key.as_deref(), Some("leeway"));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let registry = Providers::builder()
        .settings(Settings::new().set("google", "client_secret", "settings-sentinel-secret"))
        .env_source(env(ALL_CREDENTIALS))
        .build()
        .unwrap();
    let debug = format!(
        "{:?} {:?} {:?} {registry:?}",
        registry.client::<Forge>().config().unwrap(),
        registry.client::<Google>().config().unwrap(),
        Settings::new().set("google", "client_secret", "x"),
    );
    assert!(!debug.contains("sentinel"), "{debug}");
    assert!(debug.contains("Secret([redacted])"), "{debug}");
}

#[test]
fn the_global_registry_is_installed_once() {
    // This test binary's only use of the global registry.
    let installed = Providers::builder()
        .env_source(env(ALL_CREDENTIALS))
        .install()
        .unwrap();
    assert_eq!(installed.list().len(), 3);
    assert_eq!(Providers::forge().config().unwrap().client_id, "gh-id");
    assert_eq!(Providers::list().iter().filter(|p| p.available).count(), 3);
    let again = Providers::builder()
        .env_source(env(ALL_CREDENTIALS))
        .install()
        .unwrap_err();
    assert_eq!(again.problems[0].origin, Origin::Registry);
    assert_eq!(<Forge as Provider>::NAME, "forge");
}

const CORP: &[(&str, &str)] = &[
    (
        "CORP_DISCOVERY_URL",
        "https://sso.corp.example/realms/staff/.well-known/openid-configuration",
    ),
    ("CORP_API_URL", " https://api.corp.example/v2/ "),
    ("CORP_LOGOUT_URL", "https://sso.corp.example/logout"),
    ("CORP_SECRET", "corp-sentinel-secret"),
];

#[test]
fn urls_declared_with_env_are_read_when_the_registry_is_built() {
    let registry = Deployed::builder().env_source(env(CORP)).build().unwrap();
    let corp = registry.corp_sso();
    let config = corp.config().unwrap();
    assert_eq!(
        config.server_metadata_url.as_ref().unwrap().as_str(),
        "https://sso.corp.example/realms/staff/.well-known/openid-configuration"
    );
    // Surrounding whitespace in the variable is ignored.
    assert_eq!(
        config.api_base_url.as_ref().unwrap().as_str(),
        "https://api.corp.example/v2/"
    );
    assert_eq!(
        config.end_session_endpoint.as_ref().unwrap().as_str(),
        "https://sso.corp.example/logout"
    );
    assert_eq!(config.client_id, "corp-app");

    // Settings override the declaration, `env(..)` included: the variable is then not needed.
    let without_discovery: Vec<_> = CORP
        .iter()
        .copied()
        .filter(|(name, _)| *name != "CORP_DISCOVERY_URL")
        .collect();
    let registry = Deployed::builder()
        .settings(Settings::new().set(
            "corp_sso",
            "server_metadata_url",
            "https://sso.staging.example/.well-known/openid-configuration",
        ))
        .env_source(env(&without_discovery))
        .build()
        .unwrap();
    assert_eq!(
        registry
            .corp_sso()
            .config()
            .unwrap()
            .server_metadata_url
            .as_ref()
            .unwrap()
            .as_str(),
        "https://sso.staging.example/.well-known/openid-configuration"
    );
}

#[test]
fn urls_from_env_are_checked_like_literals_and_every_problem_is_reported() {
    let error = Deployed::builder()
        .env_source(env(&[
            // Not a well-known URL, and no `issuer` declared: the check across keys runs on
            // the value read.
            (
                "CORP_DISCOVERY_URL",
                "https://sso.corp.example/metadata.json",
            ),
            ("CORP_API_URL", "http://api.corp.example/v2"),
            ("CORP_SECRET", "corp-sentinel-secret"),
        ]))
        .build()
        .unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "corp_sso.api_base_url (environment): `api_base_url` must use `https://`; `http://` is allowed only for loopback hosts (`localhost`, `127.0.0.1`, `[::1]`) (read from `CORP_API_URL`)",
            "corp_sso.end_session_endpoint (environment): `end_session_endpoint` is not set: set the environment variable `CORP_LOGOUT_URL`",
            "corp_sso.server_metadata_url (environment): the expected issuer cannot be told from this `server_metadata_url` (it is neither `.../.well-known/openid-configuration` nor `/.well-known/oauth-authorization-server/...`); declare `issuer`",
        ]
    );
    let unset: Vec<bool> = error.problems.iter().map(|p| p.is_unset()).collect();
    assert_eq!(unset, [false, true, false]);
    assert!(error
        .problems
        .iter()
        .all(|p| p.origin == Origin::Environment));
    assert!(!error.to_string().contains("sentinel"), "{error}");
}

#[test]
fn an_unset_env_url_makes_the_provider_unavailable_only_when_allowed() {
    let only_secret = env(&[("CORP_SECRET", "s")]);
    let error = Deployed::builder()
        .env_source(only_secret)
        .build()
        .unwrap_err();
    let vars: Vec<&str> = error
        .problems
        .iter()
        .map(|p| p.message.rsplit('`').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        vars,
        ["CORP_API_URL", "CORP_DISCOVERY_URL", "CORP_LOGOUT_URL"],
        "{error}"
    );
    assert!(error
        .problems
        .iter()
        .all(|p| p.is_unset() && !p.is_missing_credential()));

    let registry = Deployed::builder()
        .env_source(env(&[("CORP_SECRET", "s")]))
        .allow_unconfigured()
        .build()
        .unwrap();
    let listed = &registry.list()[0];
    assert_eq!((listed.name, listed.available), ("corp_sso", false));
    assert_eq!(listed.problems.len(), 3);
    assert!(matches!(
        registry.corp_sso().config(),
        Err(Error::NotConfigured {
            provider: "corp_sso",
            ..
        })
    ));

    // A value that is set but invalid is an error even then.
    let mut invalid = CORP.to_vec();
    invalid[2] = ("CORP_LOGOUT_URL", "https://sso.corp.example/logout#now");
    let error = Deployed::builder()
        .env_source(env(&invalid))
        .allow_unconfigured()
        .build()
        .unwrap_err();
    assert_eq!(
        error.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        ["corp_sso.end_session_endpoint (environment): `end_session_endpoint` must not have a `#` fragment (read from `CORP_LOGOUT_URL`)"]
    );
}

// OAuth 1.0a providers: the same resolution, with their own keys and rules.
oauth_clients! {
    pub Legacy;

    trello {
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
        authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
        access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        api_base_url: "https://api.trello.com/1/",
        authorize_params: { scope: "read", name: "demo" },
    },
    signed {
        request_token_url: "https://api.example/oauth/request_token",
        authorize_url: "https://api.example/oauth/authorize",
        access_token_url: "https://api.example/oauth/access_token",
        signature_method: "RSA-SHA1",
    },
    plain_forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
    },
}

/// A 2048-bit RSA key made for this test, as PKCS#8 PEM.
fn test_rsa_pem() -> String {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

#[test]
fn oauth1_providers_resolve_with_their_keys_and_defaults() {
    use oauth_clients::{SignatureMethod, SignatureType};
    let registry = Legacy::builder()
        .env_source(env(&[
            ("TRELLO_CLIENT_ID", "trello-key"),
            ("TRELLO_CLIENT_SECRET", "trello-sentinel-secret"),
            ("SIGNED_CLIENT_ID", "signed-key"),
            ("PLAIN_FORGE_CLIENT_ID", "x"),
            ("PLAIN_FORGE_CLIENT_SECRET", "y"),
        ]))
        .allow_unconfigured()
        .settings(
            Settings::new()
                .set("trello", "signature_type", "query")
                .set("trello", "signature_method", "HMAC-SHA256"),
        )
        .build()
        .unwrap();
    let trello = registry.oauth1_client::<Trello>();
    let config = trello.config().unwrap();
    let oauth1 = config.oauth1.as_ref().unwrap();
    assert_eq!(
        oauth1.request_token_url.as_str(),
        "https://trello.com/1/OAuthGetRequestToken"
    );
    assert_eq!(oauth1.signature_method, SignatureMethod::HmacSha256);
    assert_eq!(oauth1.signature_type, SignatureType::Query);
    assert_eq!(
        config.authorize_params,
        [
            ("scope".to_string(), "read".to_string()),
            ("name".into(), "demo".into())
        ]
    );
    assert_eq!(
        config.client_secret().unwrap().expose(),
        "trello-sentinel-secret"
    );
    // RSA-SHA1 needs its key, not the client secret: without the key it is unusable, and the
    // problem names the variable to set.
    let list = registry.list();
    let signed = list.iter().find(|p| p.name == "signed").unwrap();
    assert!(signed.oauth1 && !signed.available);
    let shown: Vec<String> = signed.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        ["signed.rsa_key (environment): `rsa_key` is not set: set the environment variable `SIGNED_RSA_KEY`"]
    );
    assert!(
        !list
            .iter()
            .find(|p| p.name == "plain_forge")
            .unwrap()
            .oauth1
    );
}

#[test]
fn oauth1_rsa_keys_are_read_and_checked_when_the_registry_is_built() {
    let pem = test_rsa_pem();
    assert!(pem.contains("BEGIN PRIVATE KEY"), "{pem}");
    let base = [
        ("TRELLO_CLIENT_ID", "k"),
        ("TRELLO_CLIENT_SECRET", "s"),
        ("SIGNED_CLIENT_ID", "signed-key"),
        ("PLAIN_FORGE_CLIENT_ID", "x"),
        ("PLAIN_FORGE_CLIENT_SECRET", "y"),
    ];
    let mut good = base.to_vec();
    good.push(("SIGNED_RSA_KEY", pem.as_str()));
    let registry = Legacy::builder().env_source(env(&good)).build().unwrap();
    let signed = registry.oauth1_client::<Signed>();
    // No client secret is needed, nor read.
    assert!(signed.config().unwrap().client_secret().is_none());
    // The key never shows in debug output.
    let shown = format!("{:?}", signed.config().unwrap());
    assert!(
        !shown.contains("PRIVATE KEY") && shown.contains("RsaKey([redacted])"),
        "{shown}"
    );

    let mut bad = base.to_vec();
    bad.push((
        "SIGNED_RSA_KEY",
        "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----",
    ));
    let error = Legacy::builder().env_source(env(&bad)).build().unwrap_err();
    assert_eq!(error.problems.len(), 1, "{error}");
    assert_eq!(error.problems[0].key.as_deref(), Some("rsa_key"));
    assert!(
        error.problems[0]
            .message
            .starts_with("`rsa_key` is not an RSA private key in PEM form"),
        "{error}"
    );
    assert!(!error.to_string().contains("not base64"), "{error}");
}

#[test]
fn settings_cannot_change_whether_a_provider_is_oauth1() {
    let settings: Settings = serde_json::from_str(
        r#"{
            "plain_forge": { "request_token_url": "https://forge.com/oauth/request_token" },
            "trello": {
                "scope": "read",
                "signature_method": "PLAINTEXT",
                "request_token_params": { "oauth_callback": "https://evil.example/" }
            }
        }"#,
    )
    .unwrap();
    let error = Legacy::builder()
        .settings(settings)
        .env_source(env(&[
            ("TRELLO_CLIENT_ID", "k"),
            ("TRELLO_CLIENT_SECRET", "s"),
            ("SIGNED_CLIENT_ID", "signed-key"),
            ("SIGNED_RSA_KEY", &test_rsa_pem()),
            ("PLAIN_FORGE_CLIENT_ID", "x"),
            ("PLAIN_FORGE_CLIENT_SECRET", "y"),
        ]))
        .allow_unconfigured()
        .build()
        .unwrap_err();
    let shown: Vec<String> = error.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "trello.request_token_params (settings): `request_token_params` cannot set `oauth_callback`: OAuth 1.0a protocol parameters (`oauth_...`) are set and signed by the flow",
            "trello.scope (settings): `scope` applies only to OAuth 2.0 providers; `trello` is an OAuth 1.0a provider (it has `request_token_url`)",
            "plain_forge.request_token_url (settings): settings cannot change what kind of provider `plain_forge` is: it is declared as an OAuth 2.0 provider, and a `request_token_url` would make it an OAuth 1.0a provider; declare an OAuth 1.0a provider with `request_token_url` in `oauth_clients!`",
        ]
    );
}
