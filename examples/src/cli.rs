//! A command-line login, the way CLI tools do it (RFC 8252, OAuth 2.0 for Native Apps): listen
//! on a loopback port, show the authorization URL, receive the provider's redirect back on that
//! port, then exchange the code.
//!
//! It shows the session-free API: [`Client::authorize_url`] returns the URL and the
//! [`PendingLogin`](oauth_clients::PendingLogin), which the program keeps in a variable instead
//! of a session, and [`Client::exchange_code`] checks the callback against it (state, PKCE,
//! nonce) and redeems the code. The loopback listener answers exactly one callback request and
//! is closed; token values are never printed.
//!
//! Run it with `cargo run -p examples --bin cli` (add `-- --provider github` or `google` once
//! their credentials are set). `-- --provider local_oauth1` (or `trello`) shows OAuth 1.0a's
//! out-of-band flow instead: no listener; the provider shows a PIN, which the user types in.

use crate::page::{escape, layout};
use crate::providers::{self, Github, Google, Local, LocalOauth1, Providers, Trello};
use oauth_clients::{Callback, Client, OAuth1Client, OAuth1Provider, Provider, Registry};
use serde_json::{Map, Value};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use url::Url;

/// How long the command waits for the browser to come back by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// How long one connection to the loopback listener may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head the loopback listener reads.
const MAX_REQUEST_HEAD: u64 = 16 * 1024;

/// Who signed in.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub provider: &'static str,
    /// The account key: the `sub` of an OpenID Connect provider, GitHub's numeric `id`.
    pub user: String,
    pub claims: Map<String, Value>,
}

/// Why a command-line login failed.
#[derive(Debug)]
pub enum CliError {
    UnknownProvider(String),
    /// The provider's credentials are missing.
    Unavailable {
        provider: &'static str,
        problems: Vec<String>,
    },
    /// No callback came back in time.
    Timeout(Duration),
    Io(std::io::Error),
    Login(oauth_clients::Error),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::UnknownProvider(name) => {
                write!(f, "unknown provider `{name}`: use local, github or google")
            }
            CliError::Unavailable { provider, problems } => write!(
                f,
                "{} is not configured: {}",
                providers::display_name(provider),
                problems.join("; ")
            ),
            CliError::Timeout(timeout) => write!(
                f,
                "no sign-in came back within {} s: the authorization URL was not opened, or the browser did not finish; run the command again",
                timeout.as_secs()
            ),
            CliError::Io(error) => write!(f, "the loopback listener failed: {error}"),
            CliError::Login(error) => write!(f, "signing in failed: {error}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Io(error)
    }
}

impl From<oauth_clients::Error> for CliError {
    fn from(error: oauth_clients::Error) -> Self {
        CliError::Login(error)
    }
}

/// Logs in with `provider` (`local`, `github` or `google`): binds a loopback port, calls `show`
/// with the authorization URL for the user to open, waits up to `timeout` for the provider's
/// redirect back, exchanges the code and returns who signed in.
pub async fn login(
    registry: &Registry<Providers>,
    provider: &str,
    timeout: Duration,
    show: impl FnOnce(&Url),
) -> Result<SignedIn, CliError> {
    match provider {
        "local" => login_with(registry.client::<Local>(), timeout, show).await,
        "github" => login_with(registry.client::<Github>(), timeout, show).await,
        "google" => login_with(registry.client::<Google>(), timeout, show).await,
        other => Err(CliError::UnknownProvider(other.to_string())),
    }
}

async fn login_with<P: Provider<Set = Providers>>(
    client: Client<P>,
    timeout: Duration,
    show: impl FnOnce(&Url),
) -> Result<SignedIn, CliError> {
    let provider = P::NAME;
    if let Some(info) = client
        .registry()
        .list()
        .into_iter()
        .find(|info| info.name == provider && !info.available)
    {
        let problems = info.problems.into_iter().map(|p| p.message).collect();
        return Err(CliError::Unavailable { provider, problems });
    }
    // Any free port: providers accept any port on a loopback redirect URI (RFC 8252 §7.3).
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let redirect_uri = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr()?.port()
    );
    let (authorize_url, pending) = client.authorize_url(&redirect_uri).await?;
    show(&authorize_url);
    let callback = tokio::time::timeout(timeout, receive_callback(&listener))
        .await
        .map_err(|_| CliError::Timeout(timeout))??;
    drop(listener);
    let token = client.exchange_code(&pending, &callback).await?;
    let profile = providers::identify(provider, &token)?;
    Ok(SignedIn {
        provider,
        user: profile.subject.clone(),
        claims: profile.raw.clone(),
    })
}

/// Logs in with an OAuth 1.0a provider out of band (RFC 5849 §2.1, `oauth_callback=oob`), the
/// way command-line tools without a listener do: `show` gets the authorization URL, the
/// provider shows the user a PIN after they approve, and `read_pin` returns what the user typed.
/// The request token waits in a [`MemorySession`](oauth_clients::MemorySession) in between,
/// checked and used once like a web login's.
pub async fn login_oob<F, Fut>(
    registry: &Registry<Providers>,
    provider: &str,
    read_pin: F,
) -> Result<SignedIn, CliError>
where
    F: FnOnce(Url) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<String>>,
{
    match provider {
        "local_oauth1" => oob_with(registry.oauth1_client::<LocalOauth1>(), read_pin).await,
        "trello" => oob_with(registry.oauth1_client::<Trello>(), read_pin).await,
        other => Err(CliError::UnknownProvider(other.to_string())),
    }
}

async fn oob_with<P, F, Fut>(client: OAuth1Client<P>, read_pin: F) -> Result<SignedIn, CliError>
where
    P: OAuth1Provider<Set = Providers>,
    F: FnOnce(Url) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<String>>,
{
    let provider = P::NAME;
    if let Some(info) = client
        .registry()
        .list()
        .into_iter()
        .find(|info| info.name == provider && !info.available)
    {
        let problems = info.problems.into_iter().map(|p| p.message).collect();
        return Err(CliError::Unavailable { provider, problems });
    }
    let session = oauth_clients::MemorySession::new();
    let redirect = client.authorize_redirect(&session, "oob").await?;
    let request_token = redirect
        .location()
        .query_pairs()
        .find(|(name, _)| name == "oauth_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let pin = read_pin(redirect.into_location()).await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("oauth_token", &request_token)
        .append_pair("oauth_verifier", pin.trim())
        .finish();
    let token = client
        .authorize_access_token(&session, &Callback::from_query(&query))
        .await?;
    let profile = providers::identify_oauth1(&client, &token).await?;
    Ok(SignedIn {
        provider,
        user: profile.subject,
        claims: profile.raw,
    })
}

/// Accepts connections until one brings `GET /callback?...`; answers it with a page saying the
/// tab can be closed and returns its query. Other requests (`/favicon.ico`, a browser's idle
/// preconnection) are answered or dropped without holding up the callback.
async fn receive_callback(listener: &TcpListener) -> std::io::Result<Callback> {
    let (found, mut callbacks) = mpsc::channel(1);
    // Dropped on return: connections still open are closed.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                connections.spawn(handle_connection(stream, found.clone()));
            }
            Some(callback) = callbacks.recv() => return Ok(callback),
        }
    }
}

async fn handle_connection(mut stream: TcpStream, found: mpsc::Sender<Callback>) {
    let Ok(Ok(Some(target))) =
        tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await
    else {
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != "/callback" {
        let page = layout("Not found", "<p>Nothing here.</p>");
        let _ = respond(&mut stream, "404 Not Found", &page).await;
        return;
    }
    let callback = Callback::from_query(query);
    let message = match &callback.error {
        Some(error) => format!(
            "The provider refused the sign-in (<code>{}</code>). You can close this tab and return to the terminal.",
            escape(error)
        ),
        None => "You can close this tab and return to the terminal.".to_string(),
    };
    let page = layout(
        "You can close this tab",
        &format!("<p id=\"done\">{message}</p>"),
    );
    // The page first, then the callback: the listener closes once the callback is taken.
    let _ = respond(&mut stream, "200 OK", &page).await;
    let _ = found.try_send(callback);
}

/// Reads a request head and returns the target of a `GET`, e.g. `/callback?code=..`.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut reader = BufReader::new(stream.take(MAX_REQUEST_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    // The rest of the head is read too: closing a socket with unread data resets the
    // connection, and the browser could show an error instead of the page.
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(Some(target.to_string())),
        _ => Ok(None),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, html: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        html.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(html.as_bytes()).await?;
    stream.shutdown().await
}
