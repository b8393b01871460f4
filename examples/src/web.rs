//! The main example: an axum app with "Sign in with ..." for the embedded provider, GitHub
//! and Google, a profile page, an API call that shows token refresh, and logout.
//!
//! Run it with `cargo run -p examples` and open the URL it prints.

use crate::page::{self, escape, layout};
use crate::providers::{self, Github, Google, Local, Providers};
use crate::store::TokenStore;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect as AxumRedirect, Response};
use axum::routing::{get, post};
use axum::Router;
use oauth_clients::{
    Callback, Client, Error, LogoutCallback, OpenIdProvider, Provider, Registry, Token,
};
use oauth_clients_testing::TestProvider;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// The signed-in user, kept in the session.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SignedIn {
    provider: String,
    /// The account key: the `sub` of an OpenID Connect provider, GitHub's numeric `id`.
    /// Never the email, which can change hands.
    user: String,
    claims: Map<String, Value>,
    token: Token,
}

const SIGNED_IN: &str = "signed_in";

#[derive(Clone)]
pub struct AppState {
    registry: Registry<Providers>,
    base_url: String,
    store: TokenStore,
}

/// A running example app.
pub struct App {
    pub base_url: String,
    pub local_provider: TestProvider,
    pub store: TokenStore,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl App {
    /// Serves until the server fails.
    pub async fn wait(mut self) -> std::io::Result<()> {
        (&mut self.server).await.map_err(std::io::Error::other)?
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts the embedded provider (on `provider_port`, 0 for any) and the app on `listener`.
pub async fn start(
    listener: tokio::net::TcpListener,
    provider_port: u16,
    store: TokenStore,
) -> std::io::Result<App> {
    let base_url = format!("http://{}", listener.local_addr()?);
    let (local_provider, registry) = providers::start_with_store(provider_port, &store).await?;
    let state = AppState {
        registry,
        base_url: base_url.clone(),
        store: store.clone(),
    };
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        // Lax, not the default Strict: the provider's redirect back is a cross-site navigation,
        // and a Strict cookie would not come with it, losing the pending login.
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_secure(base_url.starts_with("https://"));
    let router = Router::new()
        .route("/", get(home))
        .route("/login/local", get(login::<Local>))
        .route("/login/github", get(login::<Github>))
        .route("/login/google", get(login::<Google>))
        .route(
            "/auth/local",
            get(callback::<Local>).post(callback_form::<Local>),
        )
        .route(
            "/auth/github",
            get(callback::<Github>).post(callback_form::<Github>),
        )
        .route(
            "/auth/google",
            get(callback::<Google>).post(callback_form::<Google>),
        )
        .route("/profile", get(profile))
        .route("/api", post(call_api))
        .route("/logout", post(logout))
        .route("/logged-out", get(logged_out))
        .layer(sessions)
        .with_state(Arc::new(state));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(App {
        base_url,
        local_provider,
        store,
        server,
    })
}

/// An error page a person can read, with the error's status.
struct Failure(Error);

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, html) = page::error_page(&self.0);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        (status, Html(html)).into_response()
    }
}

fn session_failure(error: tower_sessions::session::Error) -> Failure {
    Failure(Error::Session(oauth_clients::SessionError::new(error)))
}

async fn signed_in(session: &Session) -> Option<SignedIn> {
    session.get::<SignedIn>(SIGNED_IN).await.ok().flatten()
}

async fn home(State(state): State<Arc<AppState>>, session: Session) -> Html<String> {
    let mut body = String::new();
    if let Some(user) = signed_in(&session).await {
        body.push_str(&format!(
            r#"<p id="status">Signed in with {} as <strong>{}</strong>. <a href="/profile">Your profile</a></p>"#,
            escape(providers::display_name(&user.provider)),
            escape(page::shown_name(&user.claims, &user.user))
        ));
    } else {
        body.push_str("<p id=\"status\">You are not signed in.</p>");
    }
    body.push_str(&page::sign_in_buttons(&state.registry.list()));
    body.push_str(
        "<p><small>The local provider runs inside this app on a loopback port: type any user name on its sign-in page.</small></p>",
    );
    Html(layout("oauth-clients demo", &body))
}

async fn login<P: Provider<Set = Providers>>(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<oauth_clients::Redirect, Failure> {
    let callback = format!("{}/auth/{}", state.base_url, P::NAME);
    Ok(state
        .registry
        .client::<P>()
        .authorize_redirect(&session, &callback)
        .await?)
}

async fn callback<P: Provider<Set = Providers>>(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Result<AxumRedirect, Failure> {
    finish_login::<P>(&state, &session, &callback).await
}

/// For providers that answer with `response_mode=form_post`.
async fn callback_form<P: Provider<Set = Providers>>(
    State(state): State<Arc<AppState>>,
    session: Session,
    Form(callback): Form<Callback>,
) -> Result<AxumRedirect, Failure> {
    finish_login::<P>(&state, &session, &callback).await
}

async fn finish_login<P: Provider<Set = Providers>>(
    state: &AppState,
    session: &Session,
    callback: &Callback,
) -> Result<AxumRedirect, Failure> {
    let client: Client<P> = state.registry.client::<P>();
    let token = client.authorize_access_token(session, callback).await?;
    let (user, claims) = providers::identify(&client, &token).await?;
    // Persist the token where the token-update hook will find it.
    let _ = state.store.save_login(P::NAME, &user, &token).await;
    // A new session id after login: a session fixed by an attacker before login is useless.
    session.cycle_id().await.map_err(session_failure)?;
    session
        .insert(
            SIGNED_IN,
            SignedIn {
                provider: P::NAME.to_string(),
                user,
                claims,
                token,
            },
        )
        .await
        .map_err(session_failure)?;
    Ok(AxumRedirect::to("/profile"))
}

async fn profile(session: Session) -> Response {
    let Some(user) = signed_in(&session).await else {
        return AxumRedirect::to("/").into_response();
    };
    let body = format!(
        r#"<p>Signed in with <strong id="provider">{provider}</strong> as <strong id="user">{name}</strong>.</p>
<p>Access token expires <span id="expiry">{expiry}</span>; scopes: <span id="scopes">{scopes}</span>.
Token values are never shown.</p>
{claims}
<form method="post" action="/api"><button id="call-api" type="submit">Call the provider's API</button></form>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>"#,
        provider = escape(providers::display_name(&user.provider)),
        name = escape(page::shown_name(&user.claims, &user.user)),
        expiry = escape(&page::expiry(user.token.expires_at)),
        scopes = escape(&user.token.scopes().join(" ")),
        claims = page::claims_table(&user.claims),
    );
    Html(layout("Your profile", &body)).into_response()
}

async fn call_api(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<Response, Failure> {
    let Some(mut user) = signed_in(&session).await else {
        return Ok(AxumRedirect::to("/").into_response());
    };
    let response = match user.provider.as_str() {
        "local" => api::<Local>(&state, &user.token).await?,
        "github" => api::<Github>(&state, &user.token).await?,
        _ => api::<Google>(&state, &user.token).await?,
    };
    let refreshed = response.new_token().cloned();
    let note = match &refreshed {
        Some(_) => "<p id=\"refreshed\">The access token had expired: the library refreshed it first, and the token-update hook saved the new one.</p>",
        None => "<p id=\"refreshed\">The access token was still valid.</p>",
    };
    if let Some(token) = refreshed {
        user.token = token;
        session
            .insert(SIGNED_IN, user)
            .await
            .map_err(session_failure)?;
    }
    let pretty = serde_json::from_slice::<Value>(response.bytes())
        .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
        .unwrap_or_else(|_| response.text());
    let body = format!(
        r#"{note}<p>The API answered <span id="api-status">{status}</span>:</p><pre id="api-result">{pretty}</pre><p><a class="button" href="/profile">Back to your profile</a></p>"#,
        status = response.status().as_u16(),
        pretty = escape(&pretty),
    );
    Ok(Html(layout("API call", &body)).into_response())
}

async fn api<P: Provider<Set = Providers>>(
    state: &AppState,
    token: &Token,
) -> Result<oauth_clients::ApiResponse, Error> {
    state
        .registry
        .client::<P>()
        .get(providers::api_path(P::NAME), token)
        .await
}

async fn logout(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, Failure> {
    let user = signed_in(&session).await;
    session
        .remove::<SignedIn>(SIGNED_IN)
        .await
        .map_err(session_failure)?;
    let Some(user) = user else {
        return Ok(AxumRedirect::to("/").into_response());
    };
    let _ = state.store.remove(&user.provider, &user.user).await;
    let after = format!("{}/logged-out", state.base_url);
    // OpenID Connect providers end their session too (RP-initiated logout); for GitHub, ending
    // ours is all there is.
    let redirect = match user.provider.as_str() {
        "local" => oidc_logout::<Local>(&state, &session, &after).await?,
        "google" => oidc_logout::<Google>(&state, &session, &after).await?,
        _ => return Ok(AxumRedirect::to("/logged-out").into_response()),
    };
    Ok(redirect.into_response())
}

async fn oidc_logout<P: OpenIdProvider<Set = Providers>>(
    state: &AppState,
    session: &Session,
    after: &str,
) -> Result<oauth_clients::Redirect, Error> {
    let client = state.registry.client::<P>();
    let redirect = client.logout_redirect(session, Some(after)).await?;
    // Remember whom to ask about the state when the provider sends the user back.
    let _ = session.insert("logging_out_of", P::NAME).await;
    Ok(redirect)
}

async fn logged_out(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(callback): Query<LogoutCallback>,
) -> Result<Html<String>, Failure> {
    let provider: Option<String> = session.remove("logging_out_of").await.ok().flatten();
    let confirmed = match provider.as_deref() {
        Some("local") => state
            .registry
            .client::<Local>()
            .validate_logout_response(&session, &callback)
            .await
            .map(drop),
        Some("google") => state
            .registry
            .client::<Google>()
            .validate_logout_response(&session, &callback)
            .await
            .map(drop),
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
    let _ = session.flush().await;
    Ok(Html(layout(
        "Logged out",
        &format!(
            r#"<p id="logged-out">You have been logged out.</p>{detail}<p><a class="button" href="/">Back to the start</a></p>"#
        ),
    )))
}
