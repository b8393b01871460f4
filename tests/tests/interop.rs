//! Interop with a real, OpenID Certified provider: npm `oidc-provider` (pinned in
//! `tests/oidc-provider/package-lock.json`, started from `tests/oidc-provider/server.mjs`).
//!
//! The harness needs Node.js 20+ and npm; it runs `npm ci` itself when `node_modules` is
//! missing or stale, starts one provider per test on a free loopback port, and drives the
//! provider's built-in login and consent pages without a browser (an HTTP client with a
//! hand-rolled cookie jar, redirects not followed). Without Node.js the tests fail: they never
//! skip silently.

use oauth_clients::{
    oauth_clients, Callback, Client, Error, LogoutCallback, LogoutState, MemorySession,
    OpenIdProvider, Provider, Registry, Settings, Token,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use url::Url;

oauth_clients! {
    op_basic {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
    },
    op_post {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        token_endpoint_auth_method: client_secret_post,
    },
    op_public {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
        client_id: "public-app",
        token_endpoint_auth_method: none,
    },
    op_es256 {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
        authorize_params: { prompt: "consent" },
    },
}

// Presets run against oidc-provider shaped like their provider: `microsoft` like one Entra
// tenant behind the multi-tenant `common` endpoint (`server.mjs --tenant`), `keycloak` like a
// realm (`server.mjs --issuer-path /realms/staff`).
oauth_clients! {
    pub Entra;
    microsoft { tenant: "common" },
    keycloak { base_url: "https://sso.example.com", realm: "staff" },
}

/// The tenant the provider is shaped like (an id of Microsoft's form).
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Registered with every client in `server.mjs`.
const REDIRECT_URI: &str = "http://127.0.0.1:8080/cb";
const AFTER_LOGOUT: &str = "http://127.0.0.1:8080/";

/// How long the provider may take to answer its discovery document after start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Node.js and the npm package
// ---------------------------------------------------------------------------------------------

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

const INSTALL_HINT: &str = "the interop tests run the npm package `oidc-provider`: install \
     Node.js 20 or newer with npm (from nodejs.org or NodeSource; Debian 12's own `nodejs` is \
     18, too old) and make sure `node` and `npm` are on PATH";

/// Checks for `node` and `npm` and installs the pinned `oidc-provider` once per test run.
fn ensure_installed() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(message) = INSTALLED.get_or_init(install) {
        panic!("{message}");
    }
}

fn tool_version(tool: &str) -> Result<String, String> {
    match Command::new(tool).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(out) => Err(format!(
            "`{tool} --version` failed ({}): {}\n{INSTALL_HINT}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("cannot run `{tool}`: {e}\n{INSTALL_HINT}")),
    }
}

fn install() -> Result<(), String> {
    let node = tool_version("node")?;
    let major: u32 = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("unexpected `node --version` output `{node}`\n{INSTALL_HINT}"))?;
    if major < 20 {
        return Err(format!("Node.js {node} is too old\n{INSTALL_HINT}"));
    }
    tool_version("npm")?;

    let dir = provider_dir();
    let read_json = |path: PathBuf| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let manifest = read_json(dir.join("package.json"))
        .ok_or_else(|| format!("cannot read {}", dir.join("package.json").display()))?;
    let pinned = manifest["dependencies"]["oidc-provider"]
        .as_str()
        .ok_or("package.json does not pin oidc-provider")?
        .to_string();
    let installed = read_json(dir.join("node_modules/oidc-provider/package.json"))
        .and_then(|p| p["version"].as_str().map(str::to_string));
    if installed.as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `npm ci`: {e}\n{INSTALL_HINT}"))?;
    if !out.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The provider process
// ---------------------------------------------------------------------------------------------

/// What the provider printed: one `request METHOD /path STATUS` line per request on stdout,
/// warnings and errors on stderr.
#[derive(Default)]
struct Output {
    stdout: Vec<String>,
    stderr: String,
    /// How many of stdout and stderr have been read to the end.
    closed: usize,
}

#[derive(Default)]
struct Log {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Log {
    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn text(&self) -> String {
        let output = self.lock();
        format!(
            "--- provider stdout ---\n{}\n--- provider stderr ---\n{}",
            output.stdout.join("\n"),
            output.stderr
        )
    }
}

/// How a provider is shaped like a preset's provider (`server.mjs` options).
#[derive(Clone, Debug)]
enum Shape {
    /// `--tenant TID`: one Microsoft Entra tenant behind the `common` endpoint.
    Tenant(String),
    /// `--issuer-path PATH`: the issuer and every endpoint under a path (a Keycloak realm).
    Path(String),
}

/// A running `oidc-provider`; killed (and reaped, so its port is free) when dropped.
struct OidcProvider {
    port: u16,
    kid: String,
    /// How it was started: `--tenant TID` (one Microsoft Entra tenant behind the `common`
    /// endpoint) or `--issuer-path PATH`; none for the plain provider.
    shape: Option<Shape>,
    child: Child,
    // Held open: the provider exits when it closes, so it dies with this process however the
    // process ends.
    _stdin: ChildStdin,
    log: Arc<Log>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartError {
    PortTaken,
    Failed(String),
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn next_kid(port: u16) -> String {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    format!("interop-{port}-{}", STARTS.fetch_add(1, Ordering::SeqCst))
}

impl OidcProvider {
    /// Starts a provider on a free loopback port.
    async fn start() -> OidcProvider {
        OidcProvider::start_shaped(None).await
    }

    /// Starts a provider shaped like the Microsoft Entra tenant `tenant`, behind the
    /// multi-tenant `common` endpoint (`server.mjs --tenant`).
    async fn start_tenant(tenant: &str) -> OidcProvider {
        OidcProvider::start_shaped(Some(Shape::Tenant(tenant.into()))).await
    }

    /// Starts a provider whose issuer, and every endpoint, is under `path`
    /// (`server.mjs --issuer-path`).
    async fn start_at(path: &str) -> OidcProvider {
        OidcProvider::start_shaped(Some(Shape::Path(path.into()))).await
    }

    async fn start_shaped(shape: Option<Shape>) -> OidcProvider {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match OidcProvider::start_on(port, shape.clone()).await {
                Ok(provider) => return provider,
                // Another process took the port between our probe and the provider's bind.
                Err(StartError::PortTaken) => last = format!("port {port} was taken"),
                Err(StartError::Failed(message)) => panic!("{message}"),
            }
        }
        panic!("could not start oidc-provider on a free port: {last}");
    }

    /// Stops this provider and starts another in its place, on the same port, with a new
    /// signing key. Its storage is in memory: every grant, session and token is forgotten.
    async fn restart(&mut self) {
        let port = self.port;
        let shape = self.shape.clone();
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = match OidcProvider::start_on(port, shape).await {
            Ok(provider) => provider,
            Err(StartError::PortTaken) => panic!("port {port} was taken during the restart"),
            Err(StartError::Failed(message)) => panic!("{message}"),
        };
    }

    async fn start_on(port: u16, shape: Option<Shape>) -> Result<OidcProvider, StartError> {
        ensure_installed();
        let kid = next_kid(port);
        let shape_args = match &shape {
            Some(Shape::Tenant(tenant)) => vec!["--tenant", tenant.as_str()],
            Some(Shape::Path(path)) => vec!["--issuer-path", path.as_str()],
            None => Vec::new(),
        };
        let mut child = Command::new("node")
            .arg("server.mjs")
            .args([
                "--port",
                &port.to_string(),
                "--kid",
                &kid,
                "--exit-with-stdin",
            ])
            .args(&shape_args)
            .current_dir(provider_dir())
            .env_remove("KEY_FILE")
            .env_remove("TENANT")
            .env_remove("ISSUER_PATH")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| StartError::Failed(format!("cannot run `node`: {e}\n{INSTALL_HINT}")))?;
        let log = Arc::new(Log::default());
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let stdin = child.stdin.take().expect("piped stdin");
        let out_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                out_log.lock().stdout.push(line);
                out_log.changed.notify_all();
            }
            out_log.lock().closed += 1;
            out_log.changed.notify_all();
        });
        let err_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut output = err_log.lock();
                output.stderr.push_str(&line);
                output.stderr.push('\n');
            }
            err_log.lock().closed += 1;
            err_log.changed.notify_all();
        });
        let mut provider = OidcProvider {
            port,
            kid,
            shape,
            child,
            _stdin: stdin,
            log,
        };
        provider.wait_until_ready().await?;
        Ok(provider)
    }

    /// Polls the discovery document until it answers 200, and this process said it listens
    /// (not another that got the same port).
    async fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let url = self.discovery_url();
        let listening = format!("listening on {} kid={}", self.issuer(), self.kid);
        let started = Instant::now();
        let mut last;
        loop {
            match http.get(&url).send().await {
                Ok(response) if response.status() == 200 => {
                    if self.log.lock().stdout.contains(&listening) {
                        return Ok(());
                    }
                    last = "200, but not from this process".to_string();
                }
                Ok(response) => last = format!("status {}", response.status()),
                Err(e) => last = e.to_string(),
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                // Give the reader threads the rest of what it printed.
                self.wait_for_output_end();
                let text = self.log.text();
                if text.contains("EADDRINUSE") {
                    return Err(StartError::PortTaken);
                }
                return Err(StartError::Failed(format!(
                    "oidc-provider exited before answering {url}\n{text}"
                )));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(StartError::Failed(format!(
                    "oidc-provider did not answer {url} with 200 within {START_TIMEOUT:?} \
                     (last: {last})\n{}",
                    self.log.text()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn wait_for_output_end(&self) {
        let output = self.log.lock();
        let _ = self
            .log
            .changed
            .wait_timeout_while(output, Duration::from_secs(5), |o| o.closed < 2);
    }

    fn issuer(&self) -> String {
        match &self.shape {
            Some(Shape::Tenant(tenant)) => format!("http://127.0.0.1:{}/{tenant}/v2.0", self.port),
            Some(Shape::Path(path)) => format!("http://127.0.0.1:{}{path}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// How many requests the provider has logged as `request {what}[ ...]` so far: `what` is
    /// e.g. `"GET /jwks"`, `"GET /me 200"` or `"POST /token 200 client_auth=basic"`. A marker
    /// request first, so every earlier request's log line has been read.
    async fn requests(&self, what: &str) -> usize {
        static MARKS: AtomicUsize = AtomicUsize::new(0);
        let path = format!("/__interop_mark/{}", MARKS.fetch_add(1, Ordering::SeqCst));
        let status = reqwest::get(self.url(&path))
            .await
            .expect("marker request")
            .status();
        let marker = format!("request GET {path} {}", status.as_u16());
        let output = self.log.lock();
        let (output, timeout) = self
            .log
            .changed
            .wait_timeout_while(output, Duration::from_secs(10), |o| {
                !o.stdout.contains(&marker)
            })
            .unwrap_or_else(|p| p.into_inner());
        assert!(!timeout.timed_out(), "the provider never logged `{marker}`");
        let prefix = format!("request {what}");
        output
            .stdout
            .iter()
            .filter(|line| {
                line.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
            .count()
    }

    /// The `kid`s of the keys the provider publishes.
    /// The ids of the published RSA keys (the P-256 key for `rp-es256` is left out).
    async fn published_kids(&self) -> Vec<String> {
        let jwks: Value = reqwest::get(self.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kty"] == "RSA")
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// A browser without a browser
// ---------------------------------------------------------------------------------------------

struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// An HTTP client with a cookie jar that follows no redirects: the user's browser.
struct Browser {
    http: reqwest::Client,
    jar: Mutex<Vec<Cookie>>,
}

/// What the user went through at the provider.
#[derive(Debug, PartialEq)]
enum Step {
    Login,
    Consent,
    Abort,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            jar: Mutex::new(Vec::new()),
        }
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        let path = url.path();
        let pairs: Vec<String> = jar
            .iter()
            .filter(|c| {
                path == c.path
                    || (path.starts_with(&c.path)
                        && (c.path.ends_with('/') || path[c.path.len()..].starts_with('/')))
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn store_cookies(&self, response: &reqwest::Response) {
        let mut jar = self.jar.lock().unwrap();
        for header in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let header = header.to_str().expect("ASCII Set-Cookie");
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let mut path = "/".to_string();
            let mut expired = value.trim().is_empty();
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "path" => path = val.trim().to_string(),
                    "max-age" => expired |= val.trim().starts_with(['0', '-']),
                    "expires" => expired |= val.contains("1970"),
                    _ => {}
                }
            }
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            jar.retain(|c| !(c.name == name && c.path == path));
            if !expired {
                jar.push(Cookie { name, value, path });
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &Url) -> reqwest::Response {
        let request = match self.cookie_header(url) {
            Some(cookies) => request.header(reqwest::header::COOKIE, cookies),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {url}: {e}"));
        self.store_cookies(&response);
        response
    }

    async fn get(&self, url: &Url) -> reqwest::Response {
        self.send(self.http.get(url.clone()), url).await
    }

    async fn post(&self, url: &Url, form: &[(&str, &str)]) -> reqwest::Response {
        self.send(self.http.post(url.clone()).form(form), url).await
    }

    /// Follows the provider's pages from `authorize_url` until it redirects to the client's
    /// `redirect_uri`, signing in as `user` and granting (or, with `grant: false`, refusing)
    /// consent. Returns the callback URL and the pages the user went through.
    async fn authorize(&self, authorize_url: &Url, user: &str, grant: bool) -> (Url, Vec<Step>) {
        let redirect_uri = Url::parse(
            &query(authorize_url)
                .remove("redirect_uri")
                .expect("the authorize URL has a redirect_uri"),
        )
        .unwrap();
        let mut steps = Vec::new();
        let mut url = authorize_url.clone();
        let mut response = self.get(&url).await;
        for _ in 0..12 {
            let next = location(&url, response).await;
            if next.origin() == redirect_uri.origin() && next.path() == redirect_uri.path() {
                return (next, steps);
            }
            url = next;
            // The provider's interaction pages, wherever it is mounted.
            if !url.path().contains("/interaction/") {
                response = self.get(&url).await;
                continue;
            }
            let page = self.get(&url).await;
            assert_eq!(page.status(), 200, "interaction page {url}");
            let page = page.text().await.unwrap();
            response = if page.contains(r#"name="prompt" value="login""#) {
                steps.push(Step::Login);
                self.post(
                    &url,
                    &[("prompt", "login"), ("login", user), ("password", "x")],
                )
                .await
            } else if page.contains(r#"name="prompt" value="consent""#) {
                if grant {
                    steps.push(Step::Consent);
                    self.post(&url, &[("prompt", "consent")]).await
                } else {
                    steps.push(Step::Abort);
                    self.get(&url.join(&format!("{}/abort", url.path())).unwrap())
                        .await
                }
            } else {
                panic!("unexpected interaction page at {url}:\n{page}");
            };
        }
        panic!("no redirect to {redirect_uri} after {steps:?}, last at {url}");
    }

    async fn login(&self, authorize_url: &Url, user: &str) -> Url {
        self.authorize(authorize_url, user, true).await.0
    }
}

/// The redirect target of `response` (a request to `url`), which must be a redirect.
async fn location(url: &Url, response: reqwest::Response) -> Url {
    let status = response.status();
    let target = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    match target {
        Some(target) if status.is_redirection() => url.join(&target).unwrap(),
        _ => panic!(
            "expected a redirect from {url}, got {status}:\n{}",
            response.text().await.unwrap_or_default()
        ),
    }
}

/// Signs `user` in at the provider and grants consent: the callback URL.
async fn login(authorize_url: &Url, user: &str) -> Url {
    Browser::new().login(authorize_url, user).await
}

/// Signs `user` in at the provider and refuses consent: the callback URL.
async fn deny(authorize_url: &Url, user: &str) -> Url {
    Browser::new().authorize(authorize_url, user, false).await.0
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

struct Interop {
    op: OidcProvider,
    registry: Registry<Providers>,
    /// Calls of the token-update hook.
    updates: Arc<AtomicUsize>,
}

fn registry(op: &OidcProvider, updates: Arc<AtomicUsize>) -> Registry<Providers> {
    let discovery = op.discovery_url();
    let settings = Settings::new()
        .set("op_basic", "server_metadata_url", discovery.clone())
        .set("op_basic", "client_id", "rp-basic")
        .set("op_basic", "client_secret", "rp-basic-secret")
        .set("op_post", "server_metadata_url", discovery.clone())
        .set("op_post", "client_id", "rp-post")
        .set("op_post", "client_secret", "rp-post-secret")
        .set("op_public", "server_metadata_url", discovery.clone())
        .set("op_es256", "server_metadata_url", discovery)
        .set("op_es256", "client_id", "rp-es256")
        .set("op_es256", "client_secret", "rp-es256-secret");
    Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |_update| {
            let updates = updates.clone();
            async move {
                updates.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap()
}

async fn setup() -> Interop {
    let op = OidcProvider::start().await;
    let updates = Arc::new(AtomicUsize::new(0));
    let registry = registry(&op, updates.clone());
    Interop {
        op,
        registry,
        updates,
    }
}

/// A whole login of `user` with provider `P`, in a fresh session and browser.
async fn sign_in<P: Provider<Set = Providers>>(s: &Interop, user: &str) -> Token {
    sign_in_with(&s.registry.client::<P>(), user)
        .await
        .unwrap_or_else(|e| panic!("login of {user} failed: {e:?}\n{}", s.op.log.text()))
}

/// A whole login of `user` with `client`, in a fresh session and browser: the callback's
/// outcome.
async fn sign_in_with<P: Provider>(client: &Client<P>, user: &str) -> Result<Token, Error> {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = login(redirect.location(), user).await;
    client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn scopes(scope: Option<&str>) -> Vec<&str> {
    let mut scopes: Vec<&str> = scope.unwrap_or_default().split(' ').collect();
    scopes.sort_unstable();
    scopes
}

/// The full login of `user` with `P`, checking everything the provider and the library are
/// supposed to agree on; returns the token.
async fn full_login<P: Provider<Set = Providers> + OpenIdProvider>(
    s: &Interop,
    client_id: &str,
    client_auth: &str,
    user: &str,
) -> Token {
    let session = MemorySession::new();
    let client = s.registry.client::<P>();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let sent = query(redirect.location());
    assert_eq!(
        redirect.location().as_str().split('?').next(),
        Some(s.op.url("/auth").as_str())
    );
    assert_eq!(sent["client_id"], client_id);
    assert_eq!(sent["response_type"], "code");
    assert_eq!(sent["redirect_uri"], REDIRECT_URI);
    assert_eq!(sent["prompt"], "consent");
    assert_eq!(
        scopes(Some(&sent["scope"])),
        ["email", "offline_access", "openid", "profile"]
    );
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["code_challenge"].len(), 43);
    assert!(sent["state"].len() >= 22, "state {:?}", sent["state"]);
    assert!(sent["nonce"].len() >= 22, "nonce {:?}", sent["nonce"]);

    let (back, steps) = Browser::new()
        .authorize(redirect.location(), user, true)
        .await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
    let returned = query(&back);
    assert_eq!(returned["state"], sent["state"]);
    assert_eq!(returned["iss"], s.op.issuer(), "RFC 9207 `iss`");
    assert!(!returned["code"].is_empty());

    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", s.op.log.text()));
    assert_eq!(token.token_type, "Bearer");
    assert!(token.id_token.is_some());
    assert!(token.refresh_token.is_some(), "a refresh token was issued");
    let expires_at = token.expires_at.expect("expires_in was sent");
    assert!(
        (now() + 250..=now() + 300).contains(&expires_at),
        "AccessToken TTL is 300 s: {expires_at}"
    );
    assert_eq!(
        scopes(token.scope.as_deref()),
        ["email", "offline_access", "openid", "profile"]
    );

    let info = token.userinfo.as_ref().expect("OpenID Connect userinfo");
    assert_eq!(info.sub(), user);
    assert_eq!(info.iss(), Some(s.op.issuer().as_str()));
    assert_eq!(info.get("aud"), Some(&Value::from(client_id)));
    assert_eq!(
        info.get("nonce"),
        Some(&Value::from(sent["nonce"].as_str()))
    );
    assert_eq!(info.email(), Some(format!("{user}@example.test").as_str()));
    assert!(info.email_verified());
    let name = format!("{}{}", user[..1].to_uppercase(), &user[1..]);
    assert_eq!(info.name(), Some(name.as_str()));
    // oidc-provider keeps scope claims out of ID tokens of the code flow: the library had to ask
    // the userinfo endpoint.
    assert_eq!(s.op.requests("GET /me 200").await, 1);
    let redeemed = format!("POST /token 200 client_auth={client_auth}");
    assert_eq!(s.op.requests(&redeemed).await, 1);
    assert_eq!(s.op.requests("POST /token").await, 1);

    // The callback is single-use.
    assert!(matches!(
        client
            .authorize_access_token(&session, &Callback::from_url(&back))
            .await,
        Err(Error::ReplayedState { .. })
    ));
    assert_eq!(
        s.op.requests("POST /token").await,
        1,
        "no second redemption"
    );

    // Userinfo on demand: the same user.
    let again = client.userinfo(&token).await.unwrap().into_info();
    assert_eq!(again.sub(), user);
    assert_eq!(again.email(), info.email());
    assert_eq!(again.name(), info.name());
    assert_eq!(s.op.requests("GET /me 200").await, 2);
    assert_eq!(s.updates.load(Ordering::SeqCst), 0, "nothing was refreshed");
    token
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_with_client_secret_basic_pkce_nonce_and_iss() {
    let s = setup().await;
    full_login::<OpBasic>(&s, "rp-basic", "basic", "alice").await;
}

#[tokio::test]
async fn login_with_client_secret_post() {
    let s = setup().await;
    let token = full_login::<OpPost>(&s, "rp-post", "post", "bob").await;
    refresh_authenticates_and_rotates::<OpPost>(&s, &token, "post").await;
}

#[tokio::test]
async fn login_as_a_public_client_with_pkce_only() {
    let s = setup().await;
    let token = full_login::<OpPublic>(&s, "public-app", "none", "carol").await;
    refresh_authenticates_and_rotates::<OpPublic>(&s, &token, "none").await;
}

#[tokio::test]
async fn login_with_an_es256_signed_id_token() {
    let s = setup().await;
    let token = full_login::<OpEs256>(&s, "rp-es256", "basic", "dave").await;
    let header = token
        .id_token
        .as_deref()
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], format!("{}-ec", s.op.kid));
    // The refreshed ID token is ES256 too, and checked the same way.
    refresh_authenticates_and_rotates::<OpEs256>(&s, &token, "basic").await;
}

/// A refresh authenticates the same way as the code redemption, and gets a new refresh token.
async fn refresh_authenticates_and_rotates<P: Provider<Set = Providers> + OpenIdProvider>(
    s: &Interop,
    token: &Token,
    client_auth: &str,
) {
    let refreshed = s.registry.client::<P>().refresh(token).await.unwrap();
    assert_ne!(refreshed.refresh_token, token.refresh_token);
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(
        refreshed.userinfo.as_ref().map(|u| u.sub()),
        token.userinfo.as_ref().map(|u| u.sub())
    );
    let used = format!("POST /token 200 client_auth={client_auth}");
    assert_eq!(s.op.requests(&used).await, 2);
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_api_call_with_an_expired_token_refreshes_it_and_the_refresh_token_rotates() {
    let s = setup().await;
    let mut token = sign_in::<OpBasic>(&s, "alice").await;
    let client = s.registry.client::<OpBasic>();
    token.expires_at = Some(1);
    let old_refresh = token.refresh_token.clone().unwrap();
    let userinfo_url = s.op.url("/me");

    let response = client.get(&userinfo_url, &token).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text());
    let me: Value = response.json().unwrap();
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    let new = response
        .new_token()
        .expect("the call refreshed the token")
        .clone();
    let new_refresh = new.refresh_token.clone().unwrap();
    assert_ne!(new_refresh, old_refresh, "oidc-provider rotated it");
    assert_ne!(new.access_token, token.access_token);
    assert!(new.expires_at.unwrap() > now() + 200);
    assert_eq!(new.userinfo.as_ref().unwrap().sub(), "alice");
    assert_eq!(s.updates.load(Ordering::SeqCst), 1, "one token-update");
    // One code redemption, one refresh.
    assert_eq!(s.op.requests("POST /token 200 client_auth=basic").await, 2);
    assert_eq!(s.op.requests("POST /token").await, 2);

    // Another tab still holding the spent token: it gets the new token, and the spent refresh
    // token is not presented again (oidc-provider would revoke the whole grant).
    let other_tab = client.get(&userinfo_url, &token).await.unwrap();
    assert_eq!(other_tab.status(), 200);
    assert_eq!(other_tab.new_token(), Some(&new));
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
    assert_eq!(s.op.requests("POST /token").await, 2);

    // The new refresh token works, and rotates again.
    let newer = client.refresh(&new).await.unwrap();
    assert_ne!(newer.refresh_token.as_deref(), Some(new_refresh.as_str()));
    assert_ne!(newer.refresh_token.as_deref(), Some(old_refresh.as_str()));
    assert_eq!(s.updates.load(Ordering::SeqCst), 2);
    let response = client.get(&userinfo_url, &newer).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.new_token().is_none(),
        "a fresh token is used as is"
    );
}

#[tokio::test]
async fn a_new_signing_key_after_a_restart_is_fetched_on_the_unknown_kid() {
    let mut s = setup().await;
    sign_in::<OpBasic>(&s, "alice").await;
    assert_eq!(s.op.requests("GET /jwks").await, 1);
    let old_kid = s.op.kid.clone();
    assert_eq!(s.op.published_kids().await, std::slice::from_ref(&old_kid));

    let port = s.op.port;
    s.op.restart().await;
    assert_eq!(s.op.port, port);
    assert_ne!(s.op.kid, old_kid);
    // A fresh login (the provider forgot everything) with the same registry: its ID token is
    // signed with a key the cached JWKS lacks.
    let token = sign_in::<OpBasic>(&s, "alice").await;
    assert_eq!(token.userinfo.unwrap().sub(), "alice");
    assert_eq!(
        s.op.requests("GET /jwks").await,
        1,
        "the keys were fetched again, once"
    );
    assert_eq!(
        s.op.requests("GET /.well-known/openid-configuration").await,
        1,
        "only the harness's readiness probe: the discovery document stayed cached"
    );
    sign_in::<OpBasic>(&s, "bob").await;
    assert_eq!(s.op.requests("GET /jwks").await, 1, "the new key is cached");
    assert_eq!(s.op.published_kids().await, [s.op.kid.clone()]);
}

#[tokio::test]
async fn rp_initiated_logout_round_trip() {
    let s = setup().await;
    let client = s.registry.client::<OpBasic>();
    let session = MemorySession::new();
    let browser = Browser::new();

    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let (back, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
    let token = client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();

    // Signed in at the provider: a second login asks for consent only.
    let redirect = client
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    let (_, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Consent]);

    let logout = client
        .logout_redirect(&session, Some(AFTER_LOGOUT))
        .await
        .unwrap();
    let sent = query(logout.location());
    assert_eq!(
        logout.location().as_str().split('?').next(),
        Some(s.op.url("/session/end").as_str())
    );
    assert_eq!(Some(&sent["id_token_hint"]), token.id_token.as_ref());
    assert_eq!(sent["post_logout_redirect_uri"], AFTER_LOGOUT);
    assert!(sent["state"].len() >= 22);

    let page = browser.get(logout.location()).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let xsrf = hidden_field(&page, "xsrf")
        .unwrap_or_else(|| panic!("no xsrf field in the logout page:\n{page}"));
    let confirm = Url::parse(&s.op.url("/session/end/confirm")).unwrap();
    let response = browser
        .post(&confirm, &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    let returned = location(&confirm, response).await;
    assert_eq!(
        returned.as_str().split('?').next(),
        Some(AFTER_LOGOUT),
        "{returned}"
    );
    assert_eq!(
        query(&returned),
        HashMap::from([("state".into(), sent["state"].clone())])
    );

    let callback = LogoutCallback::from_query(returned.query().unwrap());
    assert_eq!(
        client
            .validate_logout_response(&session, &callback)
            .await
            .unwrap(),
        LogoutState {
            post_logout_redirect_uri: Some(AFTER_LOGOUT.into())
        }
    );
    assert!(matches!(
        client.validate_logout_response(&session, &callback).await,
        Err(Error::ReplayedState {
            provider: "op_basic"
        })
    ));

    // Signed out at the provider: the next login asks for the password again.
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let (_, steps) = browser.authorize(redirect.location(), "alice", true).await;
    assert_eq!(steps, [Step::Login, Step::Consent]);
}

/// The value of `<input type="hidden" name="{name}" value="...">` in `html`.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(r#"name="{name}" value=""#))? + name.len() + 15;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

#[tokio::test]
async fn refused_consent_is_an_authorization_error() {
    let s = setup().await;
    let client = s.registry.client::<OpBasic>();
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = deny(redirect.location(), "alice").await;
    let returned = query(&back);
    assert_eq!(returned["error"], "access_denied");
    assert_eq!(returned["state"], query(redirect.location())["state"]);
    assert_eq!(returned["iss"], s.op.issuer());
    assert!(!returned.contains_key("code"));

    match client
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
    {
        Err(Error::Authorization {
            provider,
            error,
            description,
            ..
        }) => {
            assert_eq!(provider, "op_basic");
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("End-User aborted interaction"));
        }
        other => panic!("expected Error::Authorization, got {other:?}"),
    }
    assert_eq!(s.op.requests("POST /token").await, 0, "no code to redeem");
}

/// The `microsoft` preset (`tenant: "common"`) with the provider's `common` discovery URL;
/// `allowed_tenants` from settings when given.
fn entra(op: &OidcProvider, allowed_tenants: Option<&str>) -> Registry<Entra> {
    let common = format!(
        "http://127.0.0.1:{}/common/v2.0/.well-known/openid-configuration",
        op.port
    );
    let mut settings = Settings::new()
        .set("microsoft", "server_metadata_url", common)
        .set("microsoft", "client_id", "rp-basic")
        .set("microsoft", "client_secret", "rp-basic-secret");
    if let Some(allowed) = allowed_tenants {
        settings = settings.set("microsoft", "allowed_tenants", allowed);
    }
    Entra::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap()
}

#[tokio::test]
async fn microsoft_multi_tenant_login_against_a_tenant_shaped_oidc_provider() {
    let op = OidcProvider::start_tenant(TENANT).await;
    let base = format!("http://127.0.0.1:{}", op.port);
    let registry = entra(&op, None);
    // Discovery at `common` names the issuer template, as Microsoft's does: accepted.
    let metadata = registry.microsoft().metadata().await.unwrap();
    assert_eq!(
        metadata.issuer(),
        Some(format!("{base}/{{tenantid}}/v2.0").as_str())
    );

    let token = sign_in_with(&registry.microsoft(), "alice")
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    // The ID token names the tenant's own issuer and `tid`: checked against each other.
    let info = token.userinfo.as_ref().unwrap();
    assert_eq!(info.iss(), Some(op.issuer().as_str()));
    assert_eq!(info.get("tid"), Some(&Value::from(TENANT)));
    let profile = token.profile().expect("a profile");
    assert_eq!(profile.identity(), (op.issuer().as_str(), "oid-alice"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.test"));
    // The provider says verified; Microsoft's email claim is never taken as verified.
    assert!(info.email_verified());
    assert!(!profile.email_verified);
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 1);

    // On the allow-list: signed in. Off it: refused after the provider's answer was checked,
    // with the tenant named.
    let listed = entra(
        &op,
        Some(&format!("9188040d-6c67-4c5b-b112-36a304b66dad {TENANT}")),
    );
    assert!(sign_in_with(&listed.microsoft(), "bob").await.is_ok());
    let other = entra(&op, Some("9188040d-6c67-4c5b-b112-36a304b66dad"));
    match sign_in_with(&other.microsoft(), "carol").await {
        Err(Error::IdToken {
            reason: oauth_clients::IdTokenError::TenantNotAllowed(tenant),
            ..
        }) => assert_eq!(tenant, TENANT),
        other => panic!("expected TenantNotAllowed, got {other:?}"),
    }
}

#[tokio::test]
async fn keycloak_preset_against_a_realm_shaped_oidc_provider() {
    let op = OidcProvider::start_at("/realms/staff").await;
    // Only the server's base URL is set: the realm's discovery URL and issuer come from the
    // preset's template.
    let registry = Entra::builder()
        .settings(
            Settings::new()
                .set(
                    "keycloak",
                    "base_url",
                    format!("http://127.0.0.1:{}", op.port),
                )
                .set("keycloak", "client_id", "rp-basic")
                .set("keycloak", "client_secret", "rp-basic-secret"),
        )
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    let keycloak = registry.keycloak();
    assert_eq!(
        keycloak
            .config()
            .unwrap()
            .server_metadata_url
            .as_ref()
            .map(|u| u.as_str()),
        Some(format!("{}/.well-known/openid-configuration", op.issuer()).as_str())
    );
    let token = sign_in_with(&keycloak, "alice")
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", op.log.text()));
    let profile = token.profile().expect("a profile");
    assert_eq!(profile.identity(), (op.issuer().as_str(), "alice"));
    assert_eq!(profile.email.as_deref(), Some("alice@example.test"));
    assert!(profile.email_verified);
    assert_eq!(profile.name.as_deref(), Some("Alice"));
    assert_eq!(op.requests("POST /token 200 client_auth=basic").await, 1);
}
