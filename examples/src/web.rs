//! The main example: an axum app with "Sign in with ..." for the embedded provider and every
//! preset (those whose credentials are set), a profile page, an API call that shows token
//! refresh, and logout.
//!
//! Tokens are kept in the library's token store, under the provider and the user's subject,
//! never in the session: the API call is made for the signed-in user's key, and a refresh is
//! written back to the store (shared by every instance of the app when it is a database or
//! Redis; see [`StartOptions::token_store`]).
//!
//! Run it with `cargo run -p examples` and open the URL it prints.
//!
//! Sign in with Apple answers with `response_mode=form_post`: the browser POSTs the callback
//! from Apple's page to `/auth/apple`, a cross-site request. A `SameSite=Lax` session cookie
//! does not come with it, so the pending login is not found (a missing state). The session
//! cookie must then be `SameSite=None; Secure` ([`StartOptions::same_site`]; browsers refuse
//! `None` without `Secure`, and Chromium and Firefox treat `http://localhost` as secure, so
//! this works in development too).

use crate::page::{self, escape, layout};
use crate::providers::{self, Google, Local, Providers};
use crate::sessions::Sessions;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect as AxumRedirect, Response};
use axum::routing::{get, post};
use axum::Router;
use oauth_clients::{
    Callback, Client, Error, LogoutCallback, OAuth1Provider, OpenIdProvider, Profile, Provider,
    Registry, TokenBackend,
};
use oauth_clients_testing::TestProvider;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
pub use tower_sessions::cookie::SameSite;
use tower_sessions::{Session, SessionManagerLayer};

/// Who signed in, kept in the session: what every request of a signed-in user reads, so it
/// stays small. The profile is the stored token's (an OAuth 2.0 login keeps it there), read
/// by the profile page only; an OAuth 1.0a token has none, so that one is kept in the
/// session, under [`OAUTH1_PROFILE`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SignedIn {
    provider: String,
    /// The account key: the profile's subject (the `sub` of an OpenID Connect provider,
    /// GitHub's numeric `id`). Never the email, which can change hands.
    user: String,
    /// The name the pages greet the user with.
    name: String,
    /// Whether the provider is an OAuth 1.0a one. The token itself is in the registry's
    /// token store, under the provider and `user`: never in the session.
    oauth1: bool,
}

const SIGNED_IN: &str = "signed_in";
/// The normalized profile ([`Profile`]; its `raw` has every field) of a user signed in with an
/// OAuth 1.0a provider.
const OAUTH1_PROFILE: &str = "oauth1_profile";

#[derive(Clone)]
pub struct AppState {
    registry: Registry<Providers>,
    base_url: String,
}

/// A running example app.
pub struct App {
    pub base_url: String,
    pub local_provider: TestProvider,
    /// The app's registry: its token store has the signed-in users' tokens.
    pub registry: Registry<Providers>,
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

/// How the app starts, beyond the defaults of [`start`].
pub struct StartOptions {
    /// The providers' settings and environment.
    pub providers: providers::Options,
    /// The session cookie's `SameSite` (default `Lax`, which every redirect back carries).
    /// `None` (sent with `Secure`) is what a form-post callback such as Sign in with Apple's
    /// needs: see the module documentation.
    pub same_site: SameSite,
    /// The app's address as browsers reach it, e.g. `http://localhost:8000` (default
    /// `http://` and the listener's address). Redirect URIs are made from it.
    pub base_url: Option<String>,
    /// Where users' tokens are kept (default: in memory): the library's token store, shared
    /// by every instance of the app when it is a database or Redis.
    pub token_store: Option<Arc<dyn TokenBackend>>,
    /// The keys the token store seals with (default: `OAUTH_CLIENTS_TOKEN_KEYS`).
    pub token_keys: Option<String>,
    /// How long one instance may hold a user's refresh lease (default: the library's).
    pub refresh_lease: Option<std::time::Duration>,
    /// Where sessions are kept (default: in memory); [`Sessions::Redis`] shares them between
    /// instances, so a login started on one finishes on another.
    pub sessions: Sessions,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            providers: providers::Options::default(),
            same_site: SameSite::Lax,
            base_url: None,
            token_store: None,
            token_keys: None,
            refresh_lease: None,
            sessions: Sessions::default(),
        }
    }
}

/// Starts the embedded provider (on `provider_port`, 0 for any) and the app on `listener`.
pub async fn start(listener: tokio::net::TcpListener, provider_port: u16) -> std::io::Result<App> {
    start_with(listener, provider_port, StartOptions::default()).await
}

/// [`start`], changed by `options`.
pub async fn start_with(
    listener: tokio::net::TcpListener,
    provider_port: u16,
    options: StartOptions,
) -> std::io::Result<App> {
    let base_url = match options.base_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let local_provider = providers::start_local_provider(provider_port).await?;
    let mut builder = providers::registry_with(&local_provider, options.providers);
    if let Some(store) = options.token_store {
        builder = builder.token_store(store);
    }
    if let Some(keys) = options.token_keys {
        builder = builder.token_keys(keys);
    }
    if let Some(lease) = options.refresh_lease {
        builder = builder.refresh_lease(lease);
    }
    let registry = builder.build().map_err(std::io::Error::other)?;
    let state = AppState {
        registry: registry.clone(),
        base_url: base_url.clone(),
    };
    // Lax by default, not tower-sessions' Strict: the provider's redirect back is a
    // cross-site navigation, and a Strict cookie would not come with it, losing the pending
    // login. A form-post callback (a cross-site POST) needs None, which needs Secure.
    let secure = options.same_site == SameSite::None || base_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(options.sessions)
        .with_same_site(options.same_site)
        .with_http_only(true)
        .with_secure(secure);
    // `/login/<name>` and `/auth/<name>` for every provider; the callback takes a query
    // (redirect) or a form (`response_mode=form_post`, Sign in with Apple).
    macro_rules! provider_routes {
        ($($provider:ty),*) => {
            Router::new()
                $(
                    .route(
                        &format!("/login/{}", <$provider as Provider>::NAME),
                        get(login::<$provider>),
                    )
                    .route(
                        &format!("/auth/{}", <$provider as Provider>::NAME),
                        get(callback::<$provider>).post(callback_form::<$provider>),
                    )
                )*
        };
    }
    // The same two routes for the OAuth 1.0a providers, whose callback is always a redirect.
    macro_rules! oauth1_routes {
        ($($provider:ty),*) => {
            Router::new()
                $(
                    .route(
                        &format!("/login/{}", <$provider as OAuth1Provider>::NAME),
                        get(login_oauth1::<$provider>),
                    )
                    .route(
                        &format!("/auth/{}", <$provider as OAuth1Provider>::NAME),
                        get(callback_oauth1::<$provider>),
                    )
                )*
        };
    }
    let router = crate::each_provider!(provider_routes)
        .merge(crate::each_oauth1_provider!(oauth1_routes))
        .route("/", get(home))
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
        registry,
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
            escape(&user.name)
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
    let profile = providers::identify(P::NAME, &token)?;
    let signed_in = SignedIn {
        provider: P::NAME.to_string(),
        user: profile.subject.clone(),
        name: page::shown_name(profile, &profile.subject).to_string(),
        oauth1: false,
    };
    // The token, with the profile, goes to the token store, where every instance of the app
    // finds it.
    client.save_token(&signed_in.user, &token).await?;
    sign_in(session, signed_in, None).await
}

/// Keeps who signed in in the session, under a new session id: a session fixed by an attacker
/// before login is useless.
async fn sign_in(
    session: &Session,
    user: SignedIn,
    oauth1_profile: Option<Profile>,
) -> Result<AxumRedirect, Failure> {
    session.cycle_id().await.map_err(session_failure)?;
    session
        .insert(SIGNED_IN, user)
        .await
        .map_err(session_failure)?;
    // A profile left by an earlier OAuth 1.0a login in this session goes.
    match oauth1_profile {
        Some(profile) => session.insert(OAUTH1_PROFILE, profile).await,
        None => session.remove_value(OAUTH1_PROFILE).await.map(drop),
    }
    .map_err(session_failure)?;
    Ok(AxumRedirect::to("/profile"))
}

async fn login_oauth1<P: OAuth1Provider<Set = Providers>>(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<oauth_clients::Redirect, Failure> {
    let callback = format!("{}/auth/{}", state.base_url, P::NAME);
    Ok(state
        .registry
        .oauth1_client::<P>()
        .authorize_redirect(&session, &callback)
        .await?)
}

async fn callback_oauth1<P: OAuth1Provider<Set = Providers>>(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Result<AxumRedirect, Failure> {
    let client = state.registry.oauth1_client::<P>();
    let token = client.authorize_access_token(&session, &callback).await?;
    let profile = providers::identify_oauth1(&client, &token).await?;
    client.save_token(&profile.subject, &token).await?;
    sign_in(
        &session,
        SignedIn {
            provider: P::NAME.to_string(),
            user: profile.subject.clone(),
            name: page::shown_name(&profile, &profile.subject).to_string(),
            oauth1: true,
        },
        Some(profile),
    )
    .await
}

async fn profile(State(state): State<Arc<AppState>>, session: Session) -> Response {
    let Some(user) = signed_in(&session).await else {
        return AxumRedirect::to("/").into_response();
    };
    macro_rules! stored {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as Provider>::NAME => {
                    state.registry.client::<$provider>().load_token(&user.user).await
                })*
                _ => Ok(None),
            }
        };
    }
    let (expiry, scopes, profile) = if user.oauth1 {
        (
            "never (OAuth 1.0a token credentials last until revoked)".to_string(),
            String::new(),
            session.get::<Profile>(OAUTH1_PROFILE).await.ok().flatten(),
        )
    } else {
        match crate::each_provider!(stored) {
            Ok(Some(token)) => (
                page::expiry(token.expires_at),
                token.scopes().join(" "),
                token.profile,
            ),
            Ok(None) => ("unknown (no stored token)".to_string(), String::new(), None),
            Err(error) => (format!("unknown ({error})"), String::new(), None),
        }
    };
    let body = page::profile_body(
        &user.provider,
        &user.user,
        profile.as_ref(),
        &expiry,
        &scopes,
        "Token values are never shown.",
    );
    Html(layout("Your profile", &body)).into_response()
}

async fn call_api(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<Response, Failure> {
    let Some(user) = signed_in(&session).await else {
        return Ok(AxumRedirect::to("/").into_response());
    };
    macro_rules! dispatch {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as Provider>::NAME => {
                    api::<$provider>(&state, &user.user).await?
                })*
                _ => return Ok(AxumRedirect::to("/").into_response()),
            }
        };
    }
    macro_rules! dispatch_oauth1 {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as OAuth1Provider>::NAME => {
                    api_oauth1::<$provider>(&state, &user.user).await?
                })*
                _ => return Ok(AxumRedirect::to("/").into_response()),
            }
        };
    }
    let response = if user.oauth1 {
        crate::each_oauth1_provider!(dispatch_oauth1)
    } else {
        crate::each_provider!(dispatch)
    };
    let Some(response) = response else {
        return Ok(AxumRedirect::to("/profile").into_response());
    };
    let note = match response.new_token() {
        Some(_) => "<p id=\"refreshed\">The access token had expired: the library refreshed it first and wrote the new one to the token store.</p>",
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
    Ok(Html(layout("API call", &body)).into_response())
}

/// The provider's API called with the user's stored token, if the demo knows a call for it.
async fn api<P: Provider<Set = Providers>>(
    state: &AppState,
    user: &str,
) -> Result<Option<oauth_clients::ApiResponse>, Error> {
    let Some(path) = providers::api_path(P::NAME) else {
        return Ok(None);
    };
    let client = state.registry.client::<P>();
    client.for_user(user).get(path).await.map(Some)
}

/// The OAuth 1.0a provider's "who am I" call, signed with the user's stored token credentials.
async fn api_oauth1<P: OAuth1Provider<Set = Providers>>(
    state: &AppState,
    user: &str,
) -> Result<Option<oauth_clients::ApiResponse>, Error> {
    let Some(path) = providers::api_path(P::NAME) else {
        return Ok(None);
    };
    let client = state.registry.oauth1_client::<P>();
    client.for_user(user).get(path).await.map(Some)
}

async fn logout(State(state): State<Arc<AppState>>, session: Session) -> Result<Response, Failure> {
    let user = signed_in(&session).await;
    session
        .remove::<SignedIn>(SIGNED_IN)
        .await
        .map_err(session_failure)?;
    session
        .remove_value(OAUTH1_PROFILE)
        .await
        .map_err(session_failure)?;
    let Some(user) = user else {
        return Ok(AxumRedirect::to("/").into_response());
    };
    // The stored token goes too (a logout): revoked at the provider first when it has a
    // revocation endpoint (RFC 7009), so a copy of it stops working as well.
    macro_rules! forget {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as Provider>::NAME => {
                    let client = state.registry.client::<$provider>();
                    match client.revoke_stored_token(&user.user).await {
                        Ok(()) => Ok(()),
                        Err(error) => {
                            if !matches!(error, Error::MissingEndpoint { .. }) {
                                eprintln!("the token could not be revoked: {error}");
                            }
                            client.delete_token(&user.user).await
                        }
                    }
                })*
                _ => Ok(()),
            }
        };
    }
    macro_rules! forget_oauth1 {
        ($($provider:ty),*) => {
            match user.provider.as_str() {
                $(name if name == <$provider as OAuth1Provider>::NAME => {
                    state.registry.oauth1_client::<$provider>().delete_token(&user.user).await
                })*
                _ => Ok(()),
            }
        };
    }
    let forgotten = if user.oauth1 {
        crate::each_oauth1_provider!(forget_oauth1)
    } else {
        crate::each_provider!(forget)
    };
    // Logging out must not fail because the store did: the session is gone either way.
    if let Err(error) = forgotten {
        eprintln!("the stored token could not be removed: {error}");
    }
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
