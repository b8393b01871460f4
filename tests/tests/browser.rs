//! The main example, driven end to end by headless Chromium through ChromeDriver.
//!
//! Needs Debian's `chromium` and `chromium-driver`. When they are missing and the tests run as
//! root with apt-get available (a fresh CI machine), they are installed first; otherwise the
//! test fails with what to install. It never skips.

use examples::web::{App, SameSite, StartOptions};
use oauth_clients::Settings;
use oauth_clients_testing::{SignedSecretKey, TestClient, TestProvider};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Installs Chromium and ChromeDriver once if they are missing and this process may.
fn ensure_chromium() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if *done || (Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        *done = true;
        return;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    assert!(
        root && Path::new("/usr/bin/apt-get").exists(),
        "the browser tests need Chromium and ChromeDriver: install Debian's `chromium` and `chromium-driver` packages (apt-get install chromium chromium-driver)"
    );
    for args in [
        vec!["update", "-qq"],
        vec!["install", "-y", "-qq", "chromium", "chromium-driver"],
    ] {
        let status = std::process::Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .expect("apt-get runs");
        assert!(
            status.success(),
            "apt-get {args:?} failed: install chromium and chromium-driver by hand"
        );
    }
    *done = true;
}

/// A headless Chromium session through a ChromeDriver of its own.
struct Browser {
    _driver: tokio::process::Child,
    _profile: TempDir,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "oauth-clients-{name}-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn start() -> Browser {
        ensure_chromium();
        let port = free_port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = temp_dir("chromium");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.0.display()),
                ]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_string();
        Browser {
            _driver: driver,
            _profile: profile,
            base,
            session,
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = self.http.request(method, url);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits up to 30 s (a loaded CI machine is slow) for an element matching `css`.
    async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .call(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_string();
            }
            if Instant::now() > deadline {
                let source = self.call(reqwest::Method::GET, "/source", None).await;
                panic!(
                    "no `{css}` at {} (last answer: {found}):\n{}",
                    self.current_url().await,
                    source.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

async fn start_app() -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    examples::web::start(listener, 0).await.unwrap()
}

#[tokio::test]
async fn sign_in_call_the_api_with_a_refresh_and_log_out() {
    let app = start_app().await;
    let browser = Browser::start().await;
    // Tokens that expire at once: the API call must refresh first.
    app.local_provider
        .configure(|b| b.access_token_ttl = Some(Duration::from_secs(1)));

    browser.goto(&format!("{}/", app.base_url)).await;
    assert_eq!(browser.text("#status").await, "You are not signed in.");
    browser.click("#login-local").await;
    // The local provider's own sign-in page.
    browser.type_into("#username", "alice").await;
    browser.click("#allow").await;

    assert_eq!(browser.text("#user").await, "Alice");
    assert_eq!(browser.text("#provider").await, "Local provider");
    let claims = browser.text("#claims").await;
    assert!(claims.contains("alice@example.test"), "{claims}");
    assert!(
        claims.contains(&format!("iss {}", app.local_provider.issuer())),
        "{claims}"
    );
    assert_eq!(
        browser.text("#scopes").await,
        "openid email profile offline_access"
    );
    // The login's token is in the token store, under the provider and the user's subject.
    let local = app.registry.client::<examples::providers::Local>();
    let stored = local.load_token("alice").await.unwrap().unwrap();

    // Let the one-second token expire.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    browser.click("#call-api").await;
    assert!(browser
        .text("#refreshed")
        .await
        .starts_with("The access token had expired"));
    assert_eq!(browser.text("#api-status").await, "200");
    assert!(browser
        .text("#api-result")
        .await
        .contains("\"login\": \"alice\""));
    assert_eq!(app.local_provider.count("token.refresh_token"), 1);
    // The refresh wrote the new token to the store.
    let refreshed = local.load_token("alice").await.unwrap().unwrap();
    assert!(refreshed.refresh_token.is_some());
    assert_ne!(refreshed.refresh_token, stored.refresh_token);

    // The profile page reads the profile from the stored token: the refreshed one kept it.
    browser.goto(&format!("{}/profile", app.base_url)).await;
    assert_eq!(browser.text("#user").await, "Alice");
    assert!(browser.text("#claims").await.contains("alice@example.test"));
    // With the stored token gone, the page says so and names the account key.
    local.delete_token("alice").await.unwrap();
    browser.goto(&format!("{}/profile", app.base_url)).await;
    assert_eq!(browser.text("#user").await, "alice");
    assert_eq!(browser.text("#expiry").await, "unknown (no stored token)");
    assert!(browser
        .text("#no-profile")
        .await
        .starts_with("The profile is kept with the stored token"));
    local.save_token("alice", &refreshed).await.unwrap();

    browser.goto(&format!("{}/profile", app.base_url)).await;
    browser.click("#logout").await;
    assert_eq!(
        browser.text("#logged-out").await,
        "You have been logged out."
    );
    assert_eq!(app.local_provider.count("end_session"), 1);
    // The logout revoked the stored token at the provider (RFC 7009) and removed it.
    assert_eq!(app.local_provider.count("revoke.refresh_token"), 1);
    assert_eq!(app.local_provider.count("revoke.access_token"), 1);
    assert!(local.load_token("alice").await.unwrap().is_none());
    browser.goto(&format!("{}/", app.base_url)).await;
    assert_eq!(browser.text("#status").await, "You are not signed in.");
    browser.quit().await;
}

/// The example app with an OAuth 1.0a provider: the embedded provider's `/oauth1/` endpoints,
/// signed in through its page in the browser, then a signed API call.
#[tokio::test]
async fn sign_in_with_an_oauth1_provider_and_call_its_api() {
    let app = start_app().await;
    let browser = Browser::start().await;

    browser.goto(&format!("{}/", app.base_url)).await;
    browser.click("#login-local_oauth1").await;
    // The local provider's OAuth 1.0a sign-in page, reached with the request token.
    browser.type_into("#username", "grace").await;
    browser.click("#allow").await;

    assert_eq!(
        browser.text("#provider").await,
        "Local provider (OAuth 1.0a)"
    );
    assert_eq!(browser.text("#user").await, "grace");
    assert!(browser.text("#expiry").await.starts_with("never"));
    assert_eq!(app.local_provider.count("oauth1.request_token"), 1);
    assert_eq!(app.local_provider.count("oauth1.access_token"), 1);

    browser.click("#call-api").await;
    assert_eq!(browser.text("#api-status").await, "200");
    let answer = browser.text("#api-result").await;
    assert!(answer.contains("\"user\": \"grace\""), "{answer}");
    // The identity lookup at login and this call: each signed afresh.
    assert_eq!(app.local_provider.count("oauth1.api"), 2);

    browser.goto(&format!("{}/profile", app.base_url)).await;
    browser.click("#logout").await;
    assert_eq!(
        browser.text("#logged-out").await,
        "You have been logged out."
    );
    browser.quit().await;
}

#[tokio::test]
async fn a_refused_sign_in_shows_a_readable_error_page() {
    let app = start_app().await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.base_url)).await;
    browser.click("#login-local").await;
    browser.click("#deny").await;
    let error = browser.text("#error").await;
    assert!(
        error.starts_with("You refused the sign-in at the provider."),
        "{error}"
    );
    assert!(error.contains("access_denied"), "{error}");
    assert_eq!(app.local_provider.count("token"), 0);
    browser.quit().await;
}

/// Apple's first-login `user` field: the name is sent only there, never in the ID token.
const APPLE_USER: &str =
    r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.example"}"#;
const APPLE_CLIENT_ID: &str = "com.example.web";
const APPLE_SUBJECT: &str = "001234.abcdef.0042";

/// A P-256 key as the `.p8` file Apple hands out (PKCS#8 PEM), and its public half as Apple
/// keeps it (an uncompressed SEC1 point), to check the client secrets signed with it.
fn p256_key() -> (String, Vec<u8>) {
    use base64::Engine;
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let der = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let public = ring::signature::EcdsaKeyPair::from_pkcs8(alg, der.as_ref(), &rng)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, public)
}

const APPLE_TEAM_ID: &str = "TEAM123456";
const APPLE_KEY_ID: &str = "KEY1234567";

/// A stand-in for Sign in with Apple on 127.0.0.1 that answers `response_mode=form_post` as
/// Apple does (developer.apple.com/documentation/sign_in_with_apple/request_an_authorization_to_the_sign_in_with_apple_server):
/// a page that POSTs `code`, `state` and the first login's `user` JSON to the redirect URI.
/// And the example app with the `apple` preset pointed at it, served as `http://localhost`:
/// another site than 127.0.0.1 for Chromium, so the callback is a cross-site POST.
///
/// The client is registered as Apple registers one, with the public half of its key: the
/// provider redeems the code only with a client secret that is an ES256 JWT signed by the key
/// in `APPLE_PRIVATE_KEY`, with the team and key ids.
async fn start_apple_app(same_site: SameSite) -> (TestProvider, App) {
    let (key, public_key) = p256_key();
    let apple = TestProvider::builder()
        .auto_approve(APPLE_SUBJECT)
        .signed_secret_client(
            TestClient {
                client_id: APPLE_CLIENT_ID.into(),
                client_secret: None,
                redirect_uris: Vec::new(),
            },
            SignedSecretKey {
                team_id: APPLE_TEAM_ID.into(),
                key_id: APPLE_KEY_ID.into(),
                public_key,
            },
        )
        .behaviour(|b| b.form_post_user = Some(APPLE_USER.into()))
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let discovery = apple.discovery_url();
    let env = move |var: &str| match var {
        "APPLE_CLIENT_ID" => Some(APPLE_CLIENT_ID.to_string()),
        "APPLE_PRIVATE_KEY" => Some(key.clone()),
        "APPLE_TEAM_ID" => Some(APPLE_TEAM_ID.to_string()),
        "APPLE_KEY_ID" => Some(APPLE_KEY_ID.to_string()),
        _ => None,
    };
    let options = StartOptions {
        providers: examples::providers::Options {
            settings: Box::new(move |settings: Settings| {
                settings.set("apple", "server_metadata_url", discovery)
            }),
            env: Some(std::sync::Arc::new(env)),
        },
        same_site,
        base_url: Some(format!("http://localhost:{port}")),
        ..Default::default()
    };
    let app = examples::web::start_with(listener, 0, options)
        .await
        .unwrap();
    (apple, app)
}

#[tokio::test]
async fn sign_in_with_apple_posts_the_callback_cross_site_and_shows_the_profile() {
    let (apple, app) = start_apple_app(SameSite::None).await;
    assert!(app.base_url.starts_with("http://localhost:"));
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.base_url)).await;
    browser.click("#login-apple").await;
    // Apple's page posts the callback; the app answers it with the profile.
    assert_eq!(browser.text("#user").await, "Ada Lovelace");
    assert_eq!(browser.text("#provider").await, "Apple");
    assert_eq!(browser.text("#profile-provider").await, "apple");
    assert_eq!(
        browser.text("#profile-identity").await,
        format!("{} {APPLE_SUBJECT}", apple.issuer())
    );
    assert_eq!(browser.text("#profile-name").await, "Ada Lovelace");
    assert_eq!(
        browser.current_url().await,
        format!("{}/profile", app.base_url)
    );
    assert_eq!(apple.count("authorize"), 1);
    assert_eq!(apple.count("token.authorization_code"), 1);
    // Redeemed with the client secret the app signed.
    assert_eq!(apple.count("token.auth.signed_secret"), 1);
    browser.quit().await;
}

/// The control: the same login with the session cookie `SameSite=Lax`. The browser leaves the
/// cookie out of the cross-site POST, so the app finds no pending login and the code is never
/// redeemed. This is what the test above detects.
#[tokio::test]
async fn with_a_lax_session_cookie_the_apple_form_post_arrives_without_the_session() {
    let (apple, app) = start_apple_app(SameSite::Lax).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/", app.base_url)).await;
    browser.click("#login-apple").await;
    let error = browser.text("#error").await;
    assert!(
        error.starts_with("This sign-in could not be matched to your browser session"),
        "{error}"
    );
    // No session cookie came: a fresh session, which never issued this state.
    assert!(
        error.contains("the callback's `state` is unknown to this session for provider `apple`"),
        "{error}"
    );
    assert_eq!(
        browser.current_url().await,
        format!("{}/auth/apple", app.base_url)
    );
    assert_eq!(apple.count("authorize"), 1);
    assert_eq!(apple.count("token"), 0);
    browser.quit().await;
}
