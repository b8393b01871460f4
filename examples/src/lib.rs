//! The example apps' shared parts: the provider declaration, the embedded local provider, a
//! file-backed token store (the actix app's), shared sessions, and page rendering. `src/bin/` holds the apps: `app` (axum, the
//! main example), `actix` (the same on actix-web) and `cli` (a command-line login).

pub mod actix_app;
pub mod cli;
pub mod page;
pub mod providers;
pub mod sessions;
pub mod store;
pub mod web;

/// A port from the environment variable `variable`, else `default`.
pub fn port_from_env(variable: &str, default: u16) -> u16 {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Logs the library's events to stderr (`RUST_LOG` overrides the default, `oauth_clients=info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "oauth_clients=info".into()),
        )
        .init();
}

/// The token store the app binary uses, and the keys it seals with: `TOKEN_STORE_URL`
/// (`sqlite://path`, `postgres://...`, `redis://...`), by default a SQLite file in the
/// temporary directory.
///
/// A shared store seals tokens with the keys of `OAUTH_CLIENTS_TOKEN_KEYS`, which the registry
/// reads. So that `cargo run -p examples` needs nothing, the default store comes with a key of
/// the app's own when that variable is not set, made the first time and kept next to the
/// SQLite file (readable by its user only). A deployment sets the variable, the same on every
/// instance.
pub async fn token_store_from_env() -> std::io::Result<(
    std::sync::Arc<dyn oauth_clients::TokenBackend>,
    Option<String>,
)> {
    let (url, keys) = match std::env::var("TOKEN_STORE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let dir = std::env::temp_dir().join("oauth-clients-demo");
            std::fs::create_dir_all(&dir)?;
            let keys = match std::env::var_os(oauth_clients::TOKEN_KEYS_VARIABLE) {
                Some(_) => None,
                None => Some(demo_key(&dir.join("token-keys"))?),
            };
            (
                format!("sqlite://{}", dir.join("tokens.db").display()),
                keys,
            )
        }
    };
    let store = oauth_clients::store::connect(&url)
        .await
        .map_err(std::io::Error::other)?;
    Ok((store, keys))
}

/// The demo's own sealing key, made once and kept in `path`.
fn demo_key(path: &std::path::Path) -> std::io::Result<String> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    use std::io::Write;
    if let Ok(keys) = std::fs::read_to_string(path) {
        return Ok(keys.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("the system's random source failed"))?;
    let keys = format!(
        "demo:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(keys.as_bytes())?;
    Ok(keys)
}
