//! The main example: `cargo run -p examples`, then open the printed URL.
//!
//! The app listens on 127.0.0.1:8000 (`PORT` changes it) and starts the embedded OpenID
//! Connect provider on 127.0.0.1:8001 (`LOCAL_PROVIDER_PORT`). GitHub and Google sign-in work
//! when `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET` and `GOOGLE_CLIENT_ID`/`GOOGLE_CLIENT_SECRET`
//! are set (register `http://127.0.0.1:8000/auth/github` and `/auth/google` as redirect URIs).

use examples::store::TokenStore;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    examples::init_logging();
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", examples::port_from_env("PORT", 8000))).await?;
    let store = TokenStore::new(
        std::env::temp_dir()
            .join("oauth-clients-demo")
            .join("tokens.json"),
    );
    let app = examples::web::start(
        listener,
        examples::port_from_env("LOCAL_PROVIDER_PORT", 8001),
        store,
    )
    .await?;
    println!("oauth-clients demo: open {}/ in your browser", app.base_url);
    println!("  local provider at {}", app.local_provider.base_url());
    println!("  tokens are saved to {}", app.store.path().display());
    tokio::select! {
        outcome = app.wait() => outcome,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
