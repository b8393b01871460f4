//! The providers every example signs in with.
//!
//! `local` is the embedded OpenID Connect provider that the examples start on a loopback port,
//! so they work with no account, no credentials and no network. GitHub and Google work once
//! their credentials are in the environment (`GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET`,
//! `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET`); without them they are listed as unavailable.

use crate::store::TokenStore;
use oauth_clients::{
    oauth_clients, Client, Error, Provider, Registry, RegistryBuilder, Settings, Token,
};
use oauth_clients_testing::TestProvider;
use serde_json::{Map, Value};
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
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        api_base_url: "https://api.github.com/",
        userinfo_endpoint: "https://api.github.com/user",
        scope: "read:user user:email",
    },
    google {
        server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
        scope: "openid email profile",
        authorize_params: { access_type: "offline", prompt: "consent" },
    },
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

/// A registry builder with `local` pointed at the embedded provider; GitHub and Google come
/// from the environment and may be missing.
pub fn registry(local: &TestProvider) -> RegistryBuilder<Providers> {
    let settings: Settings =
        local
            .oidc_settings_for("local")
            .set("local", "api_base_url", local.url("api/"));
    Providers::builder().settings(settings).allow_unconfigured()
}

/// What the web examples run on: the embedded provider (on `port`, 0 for any), and a registry
/// for it whose refreshed tokens are written to `store`.
pub async fn start_with_store(
    port: u16,
    store: &TokenStore,
) -> std::io::Result<(TestProvider, Registry<Providers>)> {
    let local = start_local_provider(port).await?;
    let store = store.clone();
    let registry = registry(&local)
        .on_token_update(move |update| {
            let store = store.clone();
            async move { Ok(store.update(update).await?) }
        })
        .build()
        .map_err(std::io::Error::other)?;
    Ok((local, registry))
}

/// A provider's name as shown to people.
pub fn display_name(provider: &str) -> &str {
    match provider {
        "local" => "Local provider",
        "github" => "GitHub",
        "google" => "Google",
        other => other,
    }
}

/// The API path the example calls for a provider (relative to its `api_base_url`, or absolute).
pub fn api_path(provider: &str) -> &'static str {
    match provider {
        "google" => "https://openidconnect.googleapis.com/v1/userinfo",
        _ => "user",
    }
}

/// Who signed in, and their claims: from the ID token for an OpenID Connect provider, else (a
/// plain OAuth 2.0 provider such as GitHub) from its API. The account key is never empty: an
/// API answer without the user's `id` is refused rather than read as nobody in particular.
pub async fn identify<P: Provider>(
    client: &Client<P>,
    token: &Token,
) -> Result<(String, Map<String, Value>), Error> {
    // An OpenID Connect login always has the user's claims, with a validated `sub`.
    if let Some(info) = &token.userinfo {
        return Ok((info.sub().to_string(), info.claims().clone()));
    }
    let provider = P::NAME;
    let response = client
        .get(api_path(provider), token)
        .await?
        .error_for_status(provider)?;
    let claims: Map<String, Value> = response.json().unwrap_or_default();
    let id = match claims.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => {
            return Err(Error::InvalidUserinfo {
                provider,
                reason: "the API's answer has no `id`: who signed in is unknown".into(),
            })
        }
    };
    Ok((id, claims))
}
