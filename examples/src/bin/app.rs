//! The main example: `cargo run -p examples`, then open the printed URL.
//!
//! The app listens on 127.0.0.1:8000 (`PORT` changes it) and starts the embedded OpenID
//! Connect provider on 127.0.0.1:8001 (`LOCAL_PROVIDER_PORT`). Every preset's sign-in works
//! when its credentials are set, e.g. `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET` (register
//! `http://127.0.0.1:8000/auth/github` as the redirect URI); the start page lists what each
//! one needs. `BASE_URL` is the app's public address when it is not the listener's (e.g. an
//! HTTPS tunnel, which Sign in with Apple requires). When `APPLE_CLIENT_ID` is set, the session
//! cookie is `SameSite=None; Secure`, which Apple's form-post callback needs.
//!
//! Several instances (README, "Running several instances"): `TOKEN_STORE_URL` is where users'
//! tokens are kept (`sqlite://path`, `postgres://...`, `redis://...`; default a SQLite file in
//! the temporary directory), sealed with the keys of `OAUTH_CLIENTS_TOKEN_KEYS`;
//! `SESSION_STORE_URL` (`redis://...`) shares sessions; `LOCAL_PROVIDER_URL` points `local` at
//! a provider running elsewhere instead of this instance's own; `REFRESH_LEASE_SECS` how long one
//! instance may hold a user's refresh lease.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    examples::init_logging();
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", examples::port_from_env("PORT", 8000))).await?;
    let sessions = match std::env::var("SESSION_STORE_URL") {
        Ok(url) => examples::sessions::Sessions::Redis(
            examples::sessions::RedisSessions::connect(&url).await?,
        ),
        Err(_) => examples::sessions::Sessions::default(),
    };
    let external = std::env::var("LOCAL_PROVIDER_URL").ok();
    let (token_store, token_keys) = examples::token_store_from_env().await?;
    let options = examples::web::StartOptions {
        same_site: if std::env::var_os("APPLE_CLIENT_ID").is_some() {
            examples::web::SameSite::None
        } else {
            examples::web::SameSite::Lax
        },
        base_url: std::env::var("BASE_URL").ok(),
        providers: examples::providers::Options {
            settings: Box::new(move |settings| match &external {
                Some(url) => examples::providers::point_local_at(settings, url),
                None => settings,
            }),
            env: None,
        },
        token_store: Some(token_store),
        token_keys,
        refresh_lease: std::env::var("REFRESH_LEASE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(std::time::Duration::from_secs),
        sessions,
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
