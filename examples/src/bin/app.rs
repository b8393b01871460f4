//! The main example: `cargo run -p examples`, then open the printed URL.
//!
//! The app listens on 127.0.0.1:8000 (`PORT` changes it) and starts the embedded OpenID
//! Connect provider on 127.0.0.1:8001 (`LOCAL_PROVIDER_PORT`). Every preset's sign-in works
//! when its credentials are set, e.g. `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET` (register
//! `http://127.0.0.1:8000/auth/github` as the redirect URI); the start page lists what each
//! one needs. `BASE_URL` is the app's public address when it is not the listener's (e.g. an
//! HTTPS tunnel, which Sign in with Apple requires). When `APPLE_CLIENT_ID` is set, the session
//! cookie is `SameSite=None; Secure`, which Apple's form-post callback needs.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    examples::init_logging();
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", examples::port_from_env("PORT", 8000))).await?;
    let options = examples::web::StartOptions {
        same_site: if std::env::var_os("APPLE_CLIENT_ID").is_some() {
            examples::web::SameSite::None
        } else {
            examples::web::SameSite::Lax
        },
        base_url: std::env::var("BASE_URL").ok(),
        ..Default::default()
    };
    let app = examples::web::start_with(
        listener,
        examples::port_from_env("LOCAL_PROVIDER_PORT", 8001),
        options,
    )
    .await?;
    println!("oauth-clients demo: open {}/ in your browser", app.base_url);
    println!("  local provider at {}", app.local_provider.base_url());
    tokio::select! {
        outcome = app.wait() => outcome,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
