//! The providers every example signs in with.
//!
//! `local` is the embedded OpenID Connect provider that the examples start on a loopback port,
//! so they work with no account, no credentials and no network. Every preset (GitHub, Google,
//! Microsoft, Apple, ...) works once its credentials are in the environment
//! (`GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET`, ...; see [`setup_variables`]); without them it
//! is listed as unavailable, with what to set.

use crate::store::TokenStore;
use oauth_clients::{
    oauth_clients, Error, Key, OAuth1Client, OAuth1Provider, OAuth1Token, Profile, Registry,
    RegistryBuilder, Settings, Token,
};
use oauth_clients_spec::presets;
use oauth_clients_testing::{TestProvider, OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET};
use serde_json::Value;
use std::time::Duration;

oauth_clients! {
    /// The provider embedded in the examples (a loopback OpenID Connect provider). Its real
    /// address is set at start-up, in settings.
    local {
        server_metadata_url: "http://127.0.0.1/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        // The demo's access tokens live 30 s, so a refresh shows up quickly.
        leeway: 5,
    },
    // Every preset. Each works once its credentials are in the environment
    // (`<NAME>_CLIENT_ID`, `<NAME>_CLIENT_SECRET`; Apple: `APPLE_CLIENT_ID`, `APPLE_PRIVATE_KEY`),
    // with the keys it needs, read from `<NAME>_<KEY>` (`OKTA_DOMAIN`, `APPLE_TEAM_ID`, ...).
    // Optional preset keys may come from the environment too, see `preset_settings`.
    github,
    google { authorize_params: { access_type: "offline", prompt: "consent" } },
    microsoft { tenant: env("MICROSOFT_TENANT") },
    apple { team_id: env("APPLE_TEAM_ID"), key_id: env("APPLE_KEY_ID") },
    gitlab,
    discord,
    facebook,
    linkedin,
    slack,
    twitch,
    x,
    okta { domain: env("OKTA_DOMAIN") },
    auth0 { domain: env("AUTH0_DOMAIN") },
    keycloak { base_url: env("KEYCLOAK_BASE_URL"), realm: env("KEYCLOAK_REALM") },
    cognito { region: env("COGNITO_REGION"), user_pool_id: env("COGNITO_USER_POOL_ID") },
    bitbucket,
    spotify,
    reddit { user_agent: "web:oauth-clients-demo:0.1 (by /u/oauth-clients-demo)" },
    dropbox,
    zoom,
    salesforce,
    amazon,
    yahoo,
    /// The embedded provider's OAuth 1.0a endpoints (its `/oauth1/` routes). Its real address
    /// is set at start-up, in settings.
    local_oauth1 {
        request_token_url: "http://127.0.0.1/oauth1/request_token",
        authorize_url: "http://127.0.0.1/oauth1/authorize",
        access_token_url: "http://127.0.0.1/oauth1/access_token",
        api_base_url: "http://127.0.0.1/oauth1/api/",
    },
    /// Trello's OAuth 1.0a API: `TRELLO_CLIENT_ID` (the API key) and `TRELLO_CLIENT_SECRET`.
    /// Endpoints, and `scope`, `expiration` and `name` on the authorization URL, from Trello's
    /// "Authorizing With Trello's REST API", section "Using Basic OAuth"
    /// (developer.atlassian.com/cloud/trello/guides/rest-api/authorization/).
    trello {
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
        authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
        access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        api_base_url: "https://api.trello.com/1/",
        authorize_params: { scope: "read", expiration: "1hour", name: "oauth-clients demo" },
    },
}

/// Calls `$m!` with the type of every declared provider, in declaration order: for the code
/// that is the same for each (routes, dispatch by name).
#[macro_export]
macro_rules! each_provider {
    ($m:ident) => {
        $m! {
            $crate::providers::Local, $crate::providers::Github, $crate::providers::Google,
            $crate::providers::Microsoft, $crate::providers::Apple, $crate::providers::Gitlab,
            $crate::providers::Discord, $crate::providers::Facebook, $crate::providers::Linkedin,
            $crate::providers::Slack, $crate::providers::Twitch, $crate::providers::X,
            $crate::providers::Okta, $crate::providers::Auth0, $crate::providers::Keycloak,
            $crate::providers::Cognito, $crate::providers::Bitbucket, $crate::providers::Spotify,
            $crate::providers::Reddit, $crate::providers::Dropbox, $crate::providers::Zoom,
            $crate::providers::Salesforce, $crate::providers::Amazon, $crate::providers::Yahoo
        }
    };
}

/// Calls `$m!` with the type of every declared OAuth 1.0a provider.
#[macro_export]
macro_rules! each_oauth1_provider {
    ($m:ident) => {
        $m! { $crate::providers::LocalOauth1, $crate::providers::Trello }
    };
}

/// How long the embedded provider's access tokens live in the demo.
pub const DEMO_TOKEN_LIFETIME: Duration = Duration::from_secs(30);

/// Starts the embedded provider: a login page where any user name works, short-lived tokens.
pub async fn start_local_provider(port: u16) -> std::io::Result<TestProvider> {
    TestProvider::builder()
        .port(port)
        .behaviour(|b| b.access_token_ttl = Some(DEMO_TOKEN_LIFETIME))
        .start()
        .await
}

/// How the example app is set up beyond the defaults: for tests that point a preset at a
/// local provider, and for the session cookie a form-post callback needs.
pub struct Options {
    /// Changes the settings the app builds (which point `local` at the embedded provider and
    /// fill the presets' keys from the environment), e.g. to point `apple` at a test provider.
    pub settings: Box<dyn FnOnce(Settings) -> Settings + Send>,
    /// Where credentials are read: `None` reads the process environment.
    pub env: Option<EnvFn>,
}

/// A source of environment variables.
pub type EnvFn = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: Box::new(|settings| settings),
            env: None,
        }
    }
}

/// A registry builder with `local` pointed at the embedded provider; every preset comes from
/// the environment and may be missing.
pub fn registry(local: &TestProvider) -> RegistryBuilder<Providers> {
    registry_with(local, Options::default())
}

/// [`registry`], changed by `options`.
pub fn registry_with(local: &TestProvider, options: Options) -> RegistryBuilder<Providers> {
    let env: EnvFn = options
        .env
        .unwrap_or_else(|| std::sync::Arc::new(|var: &str| std::env::var(var).ok()));
    let settings = point_local_at(local.oidc_settings_for("local"), local.base_url().as_str())
        .set("local_oauth1", "client_id", OAUTH1_CONSUMER_KEY)
        .set("local_oauth1", "client_secret", OAUTH1_CONSUMER_SECRET);
    let settings = (options.settings)(preset_settings(settings, &*env));
    let builder = Providers::builder().settings(settings).allow_unconfigured();
    builder.env_source(move |var| env(var))
}

/// Points `local` and `local_oauth1` at a local provider running elsewhere (its base URL, e.g.
/// `http://127.0.0.1:9000`): several instances of the app then share one provider, as they
/// would share a real one.
pub fn point_local_at(settings: Settings, base: &str) -> Settings {
    let base = base.trim_end_matches('/');
    settings
        .set(
            "local",
            "server_metadata_url",
            format!("{base}/.well-known/openid-configuration"),
        )
        .set("local", "api_base_url", format!("{base}/api/"))
        .set(
            "local_oauth1",
            "request_token_url",
            format!("{base}/oauth1/request_token"),
        )
        .set(
            "local_oauth1",
            "authorize_url",
            format!("{base}/oauth1/authorize"),
        )
        .set(
            "local_oauth1",
            "access_token_url",
            format!("{base}/oauth1/access_token"),
        )
        .set(
            "local_oauth1",
            "api_base_url",
            format!("{base}/oauth1/api/"),
        )
}

/// The environment variable the example reads a preset-only key from: `<NAME>_<KEY>`, e.g.
/// `OKTA_DOMAIN`, `APPLE_TEAM_ID`.
pub fn key_variable(provider: &str, key: Key) -> String {
    format!(
        "{}_{}",
        provider.to_ascii_uppercase(),
        key.name().to_ascii_uppercase()
    )
}

/// The optional preset keys found in the environment (`GITLAB_BASE_URL` for a self-managed
/// GitLab, `GOOGLE_HOSTED_DOMAIN`, `MICROSOFT_ALLOWED_TENANTS`, ...), as settings. The
/// required ones are `env(..)` in the declaration, and `private_key` is a credential the
/// library reads itself.
fn preset_settings(mut settings: Settings, env: &dyn Fn(&str) -> Option<String>) -> Settings {
    for preset in presets::PRESETS {
        for param in preset
            .params
            .iter()
            .filter(|p| !p.required && p.key != Key::PrivateKey)
        {
            if let Some(value) = env(&key_variable(preset.name, param.key)) {
                settings = settings.set(preset.name, param.key.name(), value);
            }
        }
    }
    settings
}

/// What to set for a provider to be usable: its credentials' environment variables, and
/// those of the keys its preset needs (read with `env(..)` in the declaration).
pub fn setup_variables(provider: &str) -> Vec<String> {
    let Some(preset) = presets::preset(provider) else {
        // Trello, and any other provider declared in full: its credentials.
        return match provider {
            "local" | "local_oauth1" => Vec::new(),
            _ => vec![
                key_variable(provider, Key::ClientId),
                key_variable(provider, Key::ClientSecret),
            ],
        };
    };
    let mut vars = vec![key_variable(provider, Key::ClientId)];
    vars.push(match preset.behaviour.secret {
        presets::SecretRule::AppleJwt => key_variable(provider, Key::PrivateKey),
        presets::SecretRule::Configured => key_variable(provider, Key::ClientSecret),
    });
    vars.extend(
        preset
            .params
            .iter()
            .filter(|p| p.required && p.key != Key::PrivateKey)
            .map(|p| key_variable(provider, p.key)),
    );
    vars
}

/// What the web examples run on: the embedded provider (on `port`, 0 for any), and a registry
/// for it whose refreshed tokens are written to `store`.
pub async fn start_with_store(
    port: u16,
    store: &TokenStore,
) -> std::io::Result<(TestProvider, Registry<Providers>)> {
    start_with_options(port, store, Options::default()).await
}

/// [`start_with_store`], changed by `options`.
pub async fn start_with_options(
    port: u16,
    store: &TokenStore,
    options: Options,
) -> std::io::Result<(TestProvider, Registry<Providers>)> {
    let local = start_local_provider(port).await?;
    let store = store.clone();
    let registry = registry_with(&local, options)
        .on_token_update(move |update| {
            let store = store.clone();
            async move { Ok(store.update(update).await?) }
        })
        .build()
        .map_err(std::io::Error::other)?;
    Ok((local, registry))
}

/// A provider's name as shown to people: the preset's title, e.g. `Sign in with Apple`'s
/// `Apple`.
pub fn display_name(provider: &str) -> &str {
    match provider {
        "local" => "Local provider",
        "local_oauth1" => "Local provider (OAuth 1.0a)",
        "trello" => "Trello",
        "apple" => "Apple",
        other => presets::preset(other).map_or(other, |p| p.title),
    }
}

/// The API path the example calls for a provider (relative to its `api_base_url`, or
/// absolute): the local provider's `user` (OAuth 2.0 and 1.0a), Trello's `members/me`, a
/// preset's profile endpoint, or Google's userinfo;
/// `None` when the demo has no GET call for it.
pub fn api_path(provider: &str) -> Option<&'static str> {
    match provider {
        "local" | "local_oauth1" => Some("user"),
        "trello" => Some("members/me"),
        "google" => Some("https://openidconnect.googleapis.com/v1/userinfo"),
        other => match presets::preset(other)?.profile {
            presets::ProfileSource::Api(api) if !api.post => Some(api.path),
            _ => None,
        },
    }
}

/// Who signed in: the normalized profile, whose subject is the account key and whose `raw`
/// has everything the provider said. Every provider of the example has a profile after login:
/// `local` and the OpenID Connect presets from the ID token's claims, the OAuth 2.0 presets
/// from their API.
pub fn identify<'a>(provider: &'static str, token: &'a Token) -> Result<&'a Profile, Error> {
    match token.profile() {
        Some(profile) if !profile.subject.is_empty() => Ok(profile),
        _ => Err(Error::InvalidUserinfo {
            provider,
            reason: "the login has no profile: who signed in is unknown".into(),
        }),
    }
}

/// Who signed in with an OAuth 1.0a provider, which has no ID token or profile endpoint of the
/// protocol's own: its API's "who am I" answer (`user` at the local provider, Trello's
/// `members/me`), as a [`Profile`] keyed on the provider's user id.
pub async fn identify_oauth1<P: OAuth1Provider>(
    client: &OAuth1Client<P>,
    token: &OAuth1Token,
) -> Result<Profile, Error> {
    let provider = P::NAME;
    let path = api_path(provider).unwrap_or("user");
    let answer: Value = client
        .get(path, token)
        .await?
        .error_for_status(provider)?
        .json()
        .map_err(|e| Error::InvalidUserinfo {
            provider,
            reason: format!("the API's answer is not JSON: {e}"),
        })?;
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(String::from);
    // Trello's member id; the local provider's user id, sent with the token, as X does.
    let subject = text("id")
        .or_else(|| token.extra_str("user_id").map(String::from))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::InvalidUserinfo {
            provider,
            reason: "the API's answer names no user id".into(),
        })?;
    let issuer = client
        .config()?
        .api_base_url
        .as_ref()
        .map_or_else(String::new, |url| url.origin().ascii_serialization());
    let mut profile = Profile::new(provider, issuer, subject);
    profile.username = text("username")
        .or_else(|| text("user"))
        .or_else(|| token.extra_str("screen_name").map(String::from));
    profile.name = text("fullName");
    profile.email = text("email");
    profile.raw = answer.as_object().cloned().unwrap_or_default();
    Ok(profile)
}
