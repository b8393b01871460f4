//! The main example on actix-web: `cargo run -p examples --bin actix`, then open the printed URL.
//!
//! The app listens on 127.0.0.1:8010 (`PORT` changes it) and starts the embedded OpenID Connect
//! provider on 127.0.0.1:8011 (`LOCAL_PROVIDER_PORT`). Every preset's sign-in works when its
//! credentials are set, e.g. `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET` (register
//! `http://127.0.0.1:8010/auth/github` as the redirect URI); the start page lists what each one
//! needs. Its session cookie is `SameSite=Lax`: for Sign in with Apple's form-post callback use
//! the axum app (`cargo run -p examples`), whose cookie is then `SameSite=None; Secure`.

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
