//! The real, OpenID Certified provider (npm `oidc-provider`, pinned in
//! `tests/oidc-provider/package-lock.json`, started from `tests/oidc-provider/server.mjs`) that
//! the interop tests run against, and a browser without a browser to sign in through its pages.
//!
//! The harness needs Node.js 20+ and npm; it runs `npm ci` itself when `node_modules` is missing
//! or stale, starts a provider on a free loopback port, and drives the provider's built-in login
//! and consent pages with an HTTP client (a hand-rolled cookie jar, redirects not followed).
//! Without Node.js the tests fail: they never skip silently.

// Each interop target uses a part of the harness.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// Registered with every client in `server.mjs`.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8080/cb";
pub const AFTER_LOGOUT: &str = "http://127.0.0.1:8080/";

/// How long the provider may take to answer its discovery document after start.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Node.js and the npm package
// ---------------------------------------------------------------------------------------------

pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

pub const INSTALL_HINT: &str = "the interop tests run the npm package `oidc-provider`: install \
     Node.js 20 or newer with npm (from nodejs.org or NodeSource; Debian 12's own `nodejs` is \
     18, too old) and make sure `node` and `npm` are on PATH";

/// Checks for `node` and `npm` and installs the pinned `oidc-provider` once per test run.
pub fn ensure_installed() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(message) = INSTALLED.get_or_init(install) {
        panic!("{message}");
    }
}

pub fn tool_version(tool: &str) -> Result<String, String> {
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

pub fn install() -> Result<(), String> {
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
pub struct Output {
    stdout: Vec<String>,
    stderr: String,
    /// How many of stdout and stderr have been read to the end.
    closed: usize,
}

#[derive(Default)]
pub struct Log {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Log {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn text(&self) -> String {
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
pub enum Shape {
    /// `--tenant TID`: one Microsoft Entra tenant behind the `common` endpoint.
    Tenant(String),
    /// `--issuer-path PATH`: the issuer and every endpoint under a path (a Keycloak realm).
    Path(String),
}

/// More `server.mjs` options: extra arguments, and for `--tls` the CA (PEM) that the
/// provider's https certificate chains to, which the harness's own requests trust.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    pub args: Vec<String>,
    pub ca_pem: Option<String>,
}

/// A running `oidc-provider`; killed (and reaped, so its port is free) when dropped.
pub struct OidcProvider {
    pub port: u16,
    pub kid: String,
    /// How it was started: `--tenant TID` (one Microsoft Entra tenant behind the `common`
    /// endpoint) or `--issuer-path PATH`; none for the plain provider.
    pub shape: Option<Shape>,
    pub options: StartOptions,
    child: Child,
    // Held open: the provider exits when it closes, so it dies with this process however the
    // process ends.
    _stdin: ChildStdin,
    pub log: Arc<Log>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub enum StartError {
    PortTaken,
    Failed(String),
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

pub fn next_kid(port: u16) -> String {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    format!("interop-{port}-{}", STARTS.fetch_add(1, Ordering::SeqCst))
}

impl OidcProvider {
    /// Starts a provider on a free loopback port.
    pub async fn start() -> OidcProvider {
        OidcProvider::start_shaped(None).await
    }

    /// Starts a provider shaped like the Microsoft Entra tenant `tenant`, behind the
    /// multi-tenant `common` endpoint (`server.mjs --tenant`).
    pub async fn start_tenant(tenant: &str) -> OidcProvider {
        OidcProvider::start_shaped(Some(Shape::Tenant(tenant.into()))).await
    }

    /// Starts a provider whose issuer, and every endpoint, is under `path`
    /// (`server.mjs --issuer-path`).
    pub async fn start_at(path: &str) -> OidcProvider {
        OidcProvider::start_shaped(Some(Shape::Path(path.into()))).await
    }

    pub async fn start_shaped(shape: Option<Shape>) -> OidcProvider {
        OidcProvider::start_with(shape, StartOptions::default()).await
    }

    /// Starts a provider on a free loopback port with more `server.mjs` arguments, e.g.
    /// `["--backchannel-logout-uri", url]`.
    pub async fn start_with_options(args: &[&str]) -> OidcProvider {
        let options = StartOptions {
            args: args.iter().map(|arg| arg.to_string()).collect(),
            ..StartOptions::default()
        };
        OidcProvider::start_with(None, options).await
    }

    /// Starts a provider with more `server.mjs` options (e.g. `--tls`, `--client-auth`).
    pub async fn start_with(shape: Option<Shape>, options: StartOptions) -> OidcProvider {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match OidcProvider::start_on_with(port, shape.clone(), options.clone()).await {
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
    pub async fn restart(&mut self) {
        let port = self.port;
        let shape = self.shape.clone();
        let options = self.options.clone();
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = match OidcProvider::start_on_with(port, shape, options).await {
            Ok(provider) => provider,
            Err(StartError::PortTaken) => panic!("port {port} was taken during the restart"),
            Err(StartError::Failed(message)) => panic!("{message}"),
        };
    }

    pub async fn start_on(port: u16, shape: Option<Shape>) -> Result<OidcProvider, StartError> {
        OidcProvider::start_on_with(port, shape, StartOptions::default()).await
    }

    pub async fn start_on_with(
        port: u16,
        shape: Option<Shape>,
        options: StartOptions,
    ) -> Result<OidcProvider, StartError> {
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
            .args(&options.args)
            .current_dir(provider_dir())
            .env_remove("BACKCHANNEL_LOGOUT_URI")
            .env_remove("KEY_FILE")
            .env_remove("TENANT")
            .env_remove("ISSUER_PATH")
            .env_remove("TLS")
            .env_remove("CLIENT_AUTH")
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
            options,
            child,
            _stdin: stdin,
            log,
        };
        provider.wait_until_ready().await?;
        Ok(provider)
    }

    /// Polls the discovery document until it answers 200, and this process said it listens
    /// (not another that got the same port).
    pub async fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let http = self.http_client();
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

    pub fn wait_for_output_end(&self) {
        let output = self.log.lock();
        let _ = self
            .log
            .changed
            .wait_timeout_while(output, Duration::from_secs(5), |o| o.closed < 2);
    }

    pub fn issuer(&self) -> String {
        let scheme = if self.options.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        match &self.shape {
            Some(Shape::Tenant(tenant)) => {
                format!("{scheme}://127.0.0.1:{}/{tenant}/v2.0", self.port)
            }
            Some(Shape::Path(path)) => format!("{scheme}://127.0.0.1:{}{path}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// A plain HTTP client for the harness's own requests, trusting the provider's CA when it
    /// serves https.
    pub fn http_client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
        if let Some(ca) = &self.options.ca_pem {
            builder = builder
                .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// How many requests the provider has logged as `request {what}[ ...]` so far: `what` is
    /// e.g. `"GET /jwks"`, `"GET /me 200"` or `"POST /token 200 client_auth=basic"`. A marker
    /// request first, so every earlier request's log line has been read.
    pub async fn requests(&self, what: &str) -> usize {
        static MARKS: AtomicUsize = AtomicUsize::new(0);
        let path = format!("/__interop_mark/{}", MARKS.fetch_add(1, Ordering::SeqCst));
        let status = self
            .http_client()
            .get(self.url(&path))
            .send()
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
    pub async fn published_kids(&self) -> Vec<String> {
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

pub struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// An HTTP client with a cookie jar that follows no redirects: the user's browser.
pub struct Browser {
    http: reqwest::Client,
    jar: Mutex<Vec<Cookie>>,
}

/// What the user went through at the provider.
#[derive(Debug, PartialEq)]
pub enum Step {
    Login,
    Consent,
    Abort,
}

impl Browser {
    pub fn new() -> Browser {
        Browser::with_roots(None)
    }

    /// A browser that also trusts `ca_pem`, for a provider served over https.
    pub fn with_roots(ca_pem: Option<&str>) -> Browser {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        if let Some(ca) = ca_pem {
            builder = builder
                .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
        }
        Browser {
            http: builder.build().unwrap(),
            jar: Mutex::new(Vec::new()),
        }
    }

    pub fn cookie_header(&self, url: &Url) -> Option<String> {
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

    pub fn store_cookies(&self, response: &reqwest::Response) {
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

    pub async fn send(&self, request: reqwest::RequestBuilder, url: &Url) -> reqwest::Response {
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

    pub async fn get(&self, url: &Url) -> reqwest::Response {
        self.send(self.http.get(url.clone()), url).await
    }

    pub async fn post(&self, url: &Url, form: &[(&str, &str)]) -> reqwest::Response {
        self.send(self.http.post(url.clone()).form(form), url).await
    }

    /// Follows the provider's pages from `authorize_url` until it redirects to the client's
    /// `redirect_uri`, signing in as `user` and granting (or, with `grant: false`, refusing)
    /// consent. Returns the callback URL and the pages the user went through.
    pub async fn authorize(
        &self,
        authorize_url: &Url,
        user: &str,
        grant: bool,
    ) -> (Url, Vec<Step>) {
        // A pushed request (RFC 9126) keeps it out of the URL: then it is the one every
        // client in `server.mjs` registers.
        let redirect_uri = Url::parse(
            &query(authorize_url)
                .remove("redirect_uri")
                .unwrap_or_else(|| REDIRECT_URI.to_string()),
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

    pub async fn login(&self, authorize_url: &Url, user: &str) -> Url {
        self.authorize(authorize_url, user, true).await.0
    }
}

/// The redirect target of `response` (a request to `url`), which must be a redirect.
pub async fn location(url: &Url, response: reqwest::Response) -> Url {
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
pub async fn login(authorize_url: &Url, user: &str) -> Url {
    Browser::new().login(authorize_url, user).await
}

/// Signs `user` in at the provider and refuses consent: the callback URL.
pub async fn deny(authorize_url: &Url, user: &str) -> Url {
    Browser::new().authorize(authorize_url, user, false).await.0
}

pub fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}
