//! The main example on actix-web: `cargo run -p examples --bin actix`, then open the printed URL.
//!
//! The app listens on 127.0.0.1:8010 (`PORT` changes it) and starts the embedded OpenID Connect
//! provider on 127.0.0.1:8011 (`LOCAL_PROVIDER_PORT`). GitHub and Google sign-in work when
//! `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET` and `GOOGLE_CLIENT_ID`/`GOOGLE_CLIENT_SECRET` are
//! set (register `http://127.0.0.1:8010/auth/github` and `/auth/google` as redirect URIs).

use examples::actix_app;
use examples::store::TokenStore;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    examples::init_logging();
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", examples::port_from_env("PORT", 8010)))?;
    let store = TokenStore::new(
        std::env::temp_dir()
            .join("oauth-clients-demo")
            .join("actix-tokens.json"),
    );
    let app = actix_app::start(
        listener,
        examples::port_from_env("LOCAL_PROVIDER_PORT", 8011),
        store,
    )
    .await?;
    println!(
        "oauth-clients actix-web demo: open {}/ in your browser",
        app.base_url
    );
    println!("  local provider at {}", app.local_provider.base_url());
    println!("  tokens are saved to {}", app.store.path().display());
    tokio::select! {
        outcome = app.wait() => outcome,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
