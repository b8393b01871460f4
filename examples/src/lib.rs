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
