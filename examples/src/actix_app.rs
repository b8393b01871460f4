//! The main example's pages and flows on actix-web 4 and actix-session: "Sign in with ..." for
//! the embedded provider and every preset whose credentials are set, a profile page, an API call that shows token
//! refresh, and logout (RP-initiated for OpenID Connect providers).
//!
//! It shows the actix integration: `actix_session::Session` is the library's session,
//! `oauth_clients::Redirect` is a `Responder`, and `Callback` is read with `web::Query` (and
//! `web::Form`, for `response_mode=form_post`). The session lives in an encrypted cookie
//! (`CookieSessionStore`), so it keeps only who is signed in: tokens stay on the server, in the
//! [`TokenStore`], where the token-update hook keeps them current. A cookie holds about 4 KB,
//! too little for a token set with an ID token besides the session's other entries.
//!
//! Run it with `cargo run -p examples --bin actix` and open the URL it prints.

use crate::page::{self, escape, layout};
use crate::providers::{self, Google, Local, Providers};
use crate::store::TokenStore;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::ServerHandle;
use actix_web::http::{header, StatusCode};
use actix_web::{web, App, Either, HttpResponse, HttpServer, ResponseError};
use oauth_clients::{
    Callback, Error, LogoutCallback, OpenIdProvider, Provider, Redirect, Registry, SessionError,
};
use oauth_clients_testing::TestProvider;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Who is signed in, kept in the session cookie. The token is in the [`TokenStore`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SignedIn {
    provider: String,
    /// The account key: the profile's subject (the `sub` of an OpenID Connect provider,
    /// GitHub's numeric `id`).
    user: String,
    /// The normalized profile; its `raw` has every claim.
    profile: oauth_clients::Profile,
}

const SIGNED_IN: &str = "signed_in";
const LOGGING_OUT_OF: &str = "logging_out_of";

struct AppState {
    registry: Registry<Providers>,
    base_url: String,
    store: TokenStore,
}

/// A running actix example app. Dropping it stops the server and the embedded provider.
pub struct RunningApp {
    pub base_url: String,
    pub local_provider: TestProvider,
    pub store: TokenStore,
    handle: ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningApp {
    /// Serves until the server stops or fails.
    pub async fn wait(mut self) -> std::io::Result<()> {
        (&mut self.server).await.map_err(std::io::Error::other)?
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // Sends the stop command at once; dropping the server future finishes it.
        drop(self.handle.stop(false));
        self.server.abort();
    }
}

/// Starts the embedded provider (on `provider_port`, 0 for any) and the app on `listener`.
/// Call it inside a Tokio runtime, which runs the provider and the server's accept loop; the
/// app's requests are served on two actix worker threads.
pub async fn start(
    listener: std::net::TcpListener,
    provider_port: u16,
    store: TokenStore,
) -> std::io::Result<RunningApp> {
    let base_url = format!("http://{}", listener.local_addr()?);
    let (local_provider, registry) = providers::start_with_store(provider_port, &store).await?;
    let state = web::Data::new(AppState {
        registry,
        base_url: base_url.clone(),
        store: store.clone(),
    });
    // A new key each start: sessions do not survive a restart, which is fine for a demo.
    let key = Key::generate();
    let secure = base_url.starts_with("https://");
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_content_security(CookieContentSecurity::Private)
            .cookie_http_only(true)
            // Lax, not Strict: the provider's redirect back is a cross-site navigation, and a
            // Strict cookie would not come with it, losing the pending login. A form-post
            // callback (Sign in with Apple) is a cross-site POST, which only carries a
            // `SameSite::None` cookie, sent `Secure`: see the axum example (`web.rs`).
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(secure)
            .build();
        App::new()
            .app_data(state.clone())
            .wrap(sessions)
            .route("/", web::get().to(home))
            .configure(all_provider_routes)
            .route("/profile", web::get().to(profile))
            .route("/api", web::post().to(call_api))
            .route("/logout", web::post().to(logout))
            .route("/logged-out", web::get().to(logged_out))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok(RunningApp {
        base_url,
        local_provider,
        store,
        handle,
        server: tokio::spawn(server),
    })
}

/// The routes of every declared provider.
fn all_provider_routes(config: &mut web::ServiceConfig) {
    macro_rules! each {
        ($($provider:ty),*) => {
            $(provider_routes::<$provider>(config);)*
        };
    }
    crate::each_provider!(each);
}

/// `/login/{name}` and `/auth/{name}` (GET for the query, POST for `form_post`).
fn provider_routes<P: Provider<Set = Providers>>(config: &mut web::ServiceConfig) {
    let name = P::NAME;
    config
        .route(&format!("/login/{name}"), web::get().to(login::<P>))
        .service(
            web::resource(format!("/auth/{name}"))
                .route(web::get().to(callback::<P>))
                .route(web::post().to(callback_form::<P>)),
        );
}

/// An error page a person can read.
#[derive(Debug)]
enum Failure {
    Login(Error),
    Store(std::io::Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Login(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Store(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Login(error) => error.fmt(f),
            Failure::Store(error) => write!(f, "the token store failed: {error}"),
        }
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        match self {
            Failure::Login(error) => error.status_code(),
            Failure::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let html = match self {
            Failure::Login(error) => page::error_page(error).1,
            Failure::Store(error) => layout(
                "Something went wrong",
                &format!(
                    r#"<div class="error" id="error"><p><strong>The sign-in could not be saved.</strong></p><p><code>{}</code></p></div><p><a class="button" href="/">Back to the start</a></p>"#,
                    escape(&error.to_string())
                ),
            ),
        };
        html_page(self.status_code(), html)
    }
}

fn session_failure(error: impl fmt::Display) -> Failure {
    Failure::Login(Error::Session(SessionError::new(error)))
}

fn html_page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn signed_in(session: &Session) -> Option<SignedIn> {
    session.get::<SignedIn>(SIGNED_IN).ok().flatten()
}

async fn home(state: web::Data<AppState>, session: Session) -> HttpResponse {
    let status = match signed_in(&session) {
        Some(user) => format!(
            r#"<p id="status">Signed in with {} as <strong>{}</strong>. <a href="/profile">Your profile</a></p>"#,
            escape(providers::display_name(&user.provider)),
            escape(page::shown_name(&user.profile, &user.user))
        ),
        None => "<p id=\"status\">You are not signed in.</p>".to_string(),
    };
    let body = format!(
        "{status}{buttons}<p><small>This is the actix-web example. The local provider runs inside this app on a loopback port: type any user name on its sign-in page.</small></p>",
        // The OAuth 2.0 and OpenID Connect providers: this app keeps tokens in a store made for
        // refreshable OAuth 2.0 tokens; the axum app and the CLI show OAuth 1.0a.
        buttons = page::sign_in_buttons(
            &state
                .registry
                .list()
                .into_iter()
                .filter(|provider| !provider.oauth1)
                .collect::<Vec<_>>()
        ),
    );
    html_page(StatusCode::OK, layout("oauth-clients demo", &body))
}

async fn login<P: Provider<Set = Providers>>(
    state: web::Data<AppState>,
    session: Session,
) -> Result<Redirect, Failure> {
    let callback = format!("{}/auth/{}", state.base_url, P::NAME);
    Ok(state
        .registry
        .client::<P>()
        .authorize_redirect(&session, &callback)
        .await?)
}

async fn callback<P: Provider<Set = Providers>>(
    state: web::Data<AppState>,
    session: Session,
    callback: web::Query<Callback>,
) -> Result<HttpResponse, Failure> {
    finish_login::<P>(&state, &session, &callback).await
}

/// For providers that answer with `response_mode=form_post`.
async fn callback_form<P: Provider<Set = Providers>>(
    state: web::Data<AppState>,
    session: Session,
    callback: web::Form<Callback>,
) -> Result<HttpResponse, Failure> {
    finish_login::<P>(&state, &session, &callback).await
}

async fn finish_login<P: Provider<Set = Providers>>(
    state: &AppState,
    session: &Session,
    callback: &Callback,
) -> Result<HttpResponse, Failure> {
    let client = state.registry.client::<P>();
    let token = client.authorize_access_token(session, callback).await?;
    let profile = providers::identify(P::NAME, &token)?.clone();
    let user = profile.subject.clone();
    // The token goes to the server-side store, where the token-update hook finds it.
    state.store.save_login(P::NAME, &user, &token).await?;
    // A new session after login: a session fixed by an attacker before login is useless.
    session.renew();
    let signed_in = SignedIn {
        provider: P::NAME.to_string(),
        user,
        profile,
    };
    session
        .insert(SIGNED_IN, signed_in)
        .map_err(session_failure)?;
    Ok(see_other("/profile"))
}

async fn profile(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, Failure> {
    let Some(user) = signed_in(&session) else {
        return Ok(see_other("/"));
    };
    let token = state.store.get(&user.provider, &user.user).await?;
    let expiry = match &token {
        Some(token) => page::expiry(token.expires_at),
        None => "unknown (no stored token)".into(),
    };
    let scopes = token
        .as_ref()
        .map(|t| t.scopes().join(" "))
        .unwrap_or_default();
    let body = page::profile_body(
        &user.provider,
        &user.user,
        Some(&user.profile),
        &expiry,
        &scopes,
        "Token values are never shown, and never leave the server.",
    );
    Ok(html_page(StatusCode::OK, layout("Your profile", &body)))
}

async fn call_api(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, Failure> {
    let Some(user) = signed_in(&session) else {
        return Ok(see_other("/"));
    };
    let Some(token) = state.store.get(&user.provider, &user.user).await? else {
        // The stored token is gone (the file was deleted): the sign-in is no use any more.
        session.purge();
        return Ok(see_other("/"));
    };
    macro_rules! dispatch {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as Provider>::NAME => {
                    api::<$provider>(&state, &token).await?
                })*
                _ => return Ok(see_other("/")),
            }
        };
    }
    let Some(response) = crate::each_provider!(dispatch) else {
        return Ok(see_other("/profile"));
    };
    // A refresh was saved to the store by the token-update hook before the call went on.
    let note = match response.new_token() {
        Some(_) => "<p id=\"refreshed\">The access token had expired: the library refreshed it first, and the token-update hook saved the new one.</p>",
        None => "<p id=\"refreshed\">The access token was still valid.</p>",
    };
    let pretty = serde_json::from_slice::<Value>(response.bytes())
        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
        .unwrap_or_else(|_| response.text());
    let body = format!(
        r#"{note}<p>The API answered <span id="api-status">{status}</span>:</p><pre id="api-result">{pretty}</pre><p><a class="button" href="/profile">Back to your profile</a></p>"#,
        status = response.status().as_u16(),
        pretty = escape(&pretty),
    );
    Ok(html_page(StatusCode::OK, layout("API call", &body)))
}

/// The provider's API called with the user's token, if the demo knows a call for it.
async fn api<P: Provider<Set = Providers>>(
    state: &AppState,
    token: &oauth_clients::Token,
) -> Result<Option<oauth_clients::ApiResponse>, Error> {
    let Some(path) = providers::api_path(P::NAME) else {
        return Ok(None);
    };
    state
        .registry
        .client::<P>()
        .get(path, token)
        .await
        .map(Some)
}

async fn logout(
    state: web::Data<AppState>,
    session: Session,
) -> Result<Either<Redirect, HttpResponse>, Failure> {
    let Some(user) = signed_in(&session) else {
        return Ok(Either::Right(see_other("/")));
    };
    session.remove(SIGNED_IN);
    state.store.remove(&user.provider, &user.user).await?;
    let after = format!("{}/logged-out", state.base_url);
    // OpenID Connect providers end their session too (RP-initiated logout); for GitHub, ending
    // ours is all there is.
    let redirect = match user.provider.as_str() {
        "local" => oidc_logout::<Local>(&state, &session, &after).await?,
        "google" => oidc_logout::<Google>(&state, &session, &after).await?,
        _ => return Ok(Either::Right(see_other("/logged-out"))),
    };
    Ok(Either::Left(redirect))
}

async fn oidc_logout<P: OpenIdProvider<Set = Providers>>(
    state: &AppState,
    session: &Session,
    after: &str,
) -> Result<Redirect, Failure> {
    let client = state.registry.client::<P>();
    let redirect = client.logout_redirect(session, Some(after)).await?;
    // Whom to ask about the state when the provider sends the user back.
    session
        .insert(LOGGING_OUT_OF, P::NAME)
        .map_err(session_failure)?;
    Ok(redirect)
}

async fn logged_out(
    state: web::Data<AppState>,
    session: Session,
    callback: web::Query<LogoutCallback>,
) -> HttpResponse {
    let provider: Option<String> = session.get(LOGGING_OUT_OF).ok().flatten();
    let confirmed = match provider.as_deref() {
        Some("local") => validate_logout::<Local>(&state, &session, &callback).await,
        Some("google") => validate_logout::<Google>(&state, &session, &callback).await,
        _ => Ok(()),
    };
    // A bad state is reported, but the local session is gone either way (RP-Initiated Logout §3).
    let detail = match confirmed {
        Ok(()) => String::new(),
        Err(error) => format!(
            "<p><small>The provider's answer could not be confirmed: {}</small></p>",
            escape(&error.to_string())
        ),
    };
    session.purge();
    html_page(
        StatusCode::OK,
        layout(
            "Logged out",
            &format!(
                r#"<p id="logged-out">You have been logged out.</p>{detail}<p><a class="button" href="/">Back to the start</a></p>"#
            ),
        ),
    )
}

async fn validate_logout<P: OpenIdProvider<Set = Providers>>(
    state: &AppState,
    session: &Session,
    callback: &LogoutCallback,
) -> Result<(), Error> {
    let client = state.registry.client::<P>();
    client
        .validate_logout_response(session, callback)
        .await
        .map(drop)
}
