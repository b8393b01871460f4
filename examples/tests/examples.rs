//! The actix-web example and the command-line login, run end to end against the embedded
//! provider: a plain HTTP client plays the browser (redirects not followed, the session cookie
//! carried by hand).

use examples::store::TokenStore;
use examples::{actix_app, cli, providers};
use oauth_clients::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use url::Url;

/// A reqwest client playing the browser: no redirects followed, the app's cookies kept and sent
/// to the app only.
mod browser {
    use url::Url;

    #[derive(Debug)]
    pub struct Response {
        pub url: Url,
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Response {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        /// Where a redirect points, resolved against the request's URL.
        pub fn location(&self) -> Url {
            assert!(
                (300..400).contains(&self.status),
                "expected a redirect from {}, got {}: {}",
                self.url,
                self.status,
                self.body
            );
            let location = self.header("location").expect("a redirect has a Location");
            self.url.join(location).expect("a valid Location")
        }

        pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A browser with one cookie jar for one site (the app); requests elsewhere carry none.
    pub struct Browser {
        pub site: Url,
        /// `name=value` of the app's cookies.
        pub cookies: Vec<(String, String)>,
    }

    impl Browser {
        pub fn new(site: &str) -> Self {
            Browser {
                site: Url::parse(site).unwrap(),
                cookies: Vec::new(),
            }
        }

        pub async fn get(&mut self, url: &str) -> Response {
            self.send("GET", url, None).await
        }

        pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Response {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            self.send("POST", url, Some(body)).await
        }

        async fn send(&mut self, method: &str, url: &str, form: Option<String>) -> Response {
            let url = self.site.join(url).unwrap();
            let same_site = url.origin() == self.site.origin();
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut request = match method {
                "POST" => http
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.unwrap_or_default()),
                _ => http.get(url.clone()),
            };
            if same_site && !self.cookies.is_empty() {
                let jar: Vec<String> = self
                    .cookies
                    .iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                request = request.header("cookie", jar.join("; "));
            }
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            let headers = answer
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = answer.text().await.unwrap();
            let response = Response {
                url,
                status,
                headers,
                body,
            };
            if same_site {
                self.keep_cookies(&response);
            }
            response
        }

        fn keep_cookies(&mut self, response: &Response) {
            for cookie in response.set_cookies() {
                let pair = cookie.split(';').next().unwrap_or_default();
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let removed = value.is_empty() || cookie.to_ascii_lowercase().contains("max-age=0");
                self.cookies.retain(|(n, _)| n != name);
                if !removed {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
    }
}

use browser::Browser;

/// A token store in a fresh temporary directory, removed on drop.
struct TempStore {
    store: TokenStore,
    dir: std::path::PathBuf,
}

impl TempStore {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "oauth-clients-examples-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        TempStore {
            store: TokenStore::new(dir.join("tokens.json")),
            dir,
        }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_actix_app() -> (actix_app::RunningApp, TempStore) {
    let store = TempStore::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = actix_app::start(listener, 0, store.store.clone())
        .await
        .unwrap();
    (app, store)
}

/// The session cookie must stay small enough for browsers (4096 bytes a cookie).
fn assert_session_cookie(browser: &Browser, response: &browser::Response) {
    for cookie in response.set_cookies() {
        let lower = cookie.to_ascii_lowercase();
        assert!(lower.contains("httponly"), "{cookie}");
        assert!(lower.contains("samesite=lax"), "{cookie}");
        assert!(
            !lower.contains("secure;") && !lower.ends_with("secure"),
            "{cookie}"
        );
        assert!(cookie.len() < 4096, "a {}-byte cookie", cookie.len());
    }
    assert!(!browser.cookies.is_empty(), "no session cookie");
}

/// Signs in at the app as `user` through the embedded provider; returns the callback's answer.
async fn sign_in(
    app: &actix_app::RunningApp,
    browser: &mut Browser,
    user: &str,
) -> browser::Response {
    let login = browser.get("/login/local").await;
    assert_eq!(login.status, 302, "{}", login.body);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_session_cookie(browser, &login);
    let authorize = login.location();
    assert!(authorize
        .as_str()
        .starts_with(&app.local_provider.url("authorize")));
    let back = app.local_provider.approve(&authorize, user).await.unwrap();
    assert!(back
        .as_str()
        .starts_with(&format!("{}/auth/local?", app.base_url)));
    browser.get(back.as_str()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_app_signs_in_calls_the_api_and_logs_out() {
    let (app, _store) = start_actix_app().await;
    let mut browser = Browser::new(&app.base_url);

    let home = browser.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("You are not signed in."),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(r#"href="/login/local""#),
        "{}",
        home.body
    );

    let callback = sign_in(&app, &mut browser, "alice").await;
    assert_eq!(callback.location().path(), "/profile", "{}", callback.body);
    assert_session_cookie(&browser, &callback);

    let profile = browser.get("/profile").await;
    assert_eq!(profile.status, 200);
    assert!(
        profile.body.contains(r#"<strong id="user">Alice</strong>"#),
        "{}",
        profile.body
    );
    assert!(
        profile.body.contains("alice@example.test"),
        "{}",
        profile.body
    );
    // The normalized profile, keyed on (issuer, subject).
    for row in [
        r#"<td id="profile-provider">local</td>"#.to_string(),
        format!(
            r#"<td id="profile-identity">{} alice</td>"#,
            app.local_provider.issuer()
        ),
        r#"<td id="profile-name">Alice</td>"#.to_string(),
        r#"<td id="profile-email">alice@example.test</td>"#.to_string(),
    ] {
        assert!(profile.body.contains(&row), "{row}\n{}", profile.body);
    }
    // The token is on the server, and its values are never shown.
    let token = app
        .store
        .get("local", "alice")
        .await
        .unwrap()
        .expect("a stored token");
    assert!(!profile.body.contains(&token.access_token));
    let home = browser.get("/").await;
    assert!(
        home.body
            .contains("Signed in with Local provider as <strong>Alice</strong>"),
        "{}",
        home.body
    );

    let api = browser.post("/api", &[]).await;
    assert_eq!(api.status, 200, "{}", api.body);
    assert!(
        api.body.contains(r#"<span id="api-status">200</span>"#),
        "{}",
        api.body
    );
    assert!(
        api.body.contains("&quot;login&quot;: &quot;alice&quot;"),
        "{}",
        api.body
    );

    let logout = browser.post("/logout", &[]).await;
    let end_session = logout.location();
    assert!(end_session
        .as_str()
        .starts_with(&app.local_provider.url("logout")));
    assert!(end_session
        .query_pairs()
        .any(|(name, _)| name == "id_token_hint"));
    let back = browser.get(end_session.as_str()).await.location();
    assert_eq!(back.path(), "/logged-out");
    let logged_out = browser.get(back.as_str()).await;
    assert_eq!(logged_out.status, 200);
    assert!(
        logged_out.body.contains("You have been logged out."),
        "{}",
        logged_out.body
    );
    assert!(
        !logged_out.body.contains("could not be confirmed"),
        "{}",
        logged_out.body
    );
    assert_eq!(app.local_provider.count("end_session"), 1);
    assert!(app.store.get("local", "alice").await.unwrap().is_none());

    let profile = browser.get("/profile").await;
    assert_eq!(profile.location().path(), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_app_shows_a_refused_sign_in() {
    let (app, _store) = start_actix_app().await;
    let mut browser = Browser::new(&app.base_url);
    let authorize = browser.get("/login/local").await.location();
    let back = app.local_provider.deny(&authorize).await.unwrap();
    let refused = browser.get(back.as_str()).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("You refused the sign-in"),
        "{}",
        refused.body
    );
    assert_eq!(app.local_provider.count("token"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_app_refreshes_expired_tokens_through_the_store() {
    let (app, _store) = start_actix_app().await;
    // One-second tokens: each API call after a second has passed refreshes first.
    app.local_provider
        .configure(|b| b.access_token_ttl = Some(Duration::from_secs(1)));
    let mut browser = Browser::new(&app.base_url);
    sign_in(&app, &mut browser, "bob").await.location();
    let first = app.store.get("local", "bob").await.unwrap().unwrap();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let api = browser.post("/api", &[]).await;
        assert_eq!(api.status, 200, "{}", api.body);
        assert!(
            api.body.contains("the library refreshed it first"),
            "{}",
            api.body
        );
    }
    // The refresh tokens rotate: the second refresh worked only because the hook stored the
    // first refresh's token.
    assert_eq!(app.local_provider.count("token.refresh_token"), 2);
    let last = app.store.get("local", "bob").await.unwrap().unwrap();
    assert_ne!(first.refresh_token, last.refresh_token);
}

/// Plays the browser for the command-line login: takes the URL it shows, signs in at the
/// provider (or refuses), and follows the redirect to the loopback listener.
async fn cli_login(user: Option<&str>) -> (Result<cli::SignedIn, cli::CliError>, String) {
    let local = providers::start_local_provider(0).await.unwrap();
    let registry = providers::registry(&local).build().unwrap();
    let (shown, url) = tokio::sync::oneshot::channel::<Url>();
    let login = cli::login(&registry, "local", Duration::from_secs(30), move |url| {
        shown.send(url.clone()).unwrap();
    });
    let browser = async {
        let url = url.await.unwrap();
        assert!(url.as_str().starts_with(&local.url("authorize")));
        let redirect_uri = url
            .query_pairs()
            .find(|(name, _)| name == "redirect_uri")
            .unwrap()
            .1
            .into_owned();
        assert!(
            redirect_uri.starts_with("http://127.0.0.1:"),
            "{redirect_uri}"
        );
        assert!(redirect_uri.ends_with("/callback"), "{redirect_uri}");
        let back = match user {
            Some(user) => local.approve(&url, user).await.unwrap(),
            None => local.deny(&url).await.unwrap(),
        };
        assert!(back.as_str().starts_with(&redirect_uri));
        let page = Browser::new(back.as_str()).get(back.as_str()).await;
        assert_eq!(page.status, 200);
        page.body
    };
    tokio::join!(login, browser)
}

#[tokio::test]
async fn cli_login_returns_the_users_claims() {
    let (signed_in, page) = cli_login(Some("carol")).await;
    assert!(page.contains("You can close this tab"), "{page}");
    let signed_in = signed_in.unwrap();
    assert_eq!(signed_in.provider, "local");
    assert_eq!(signed_in.user, "carol");
    assert_eq!(signed_in.claims["preferred_username"], "carol");
    assert_eq!(signed_in.claims["email"], "carol@example.test");
}

#[tokio::test]
async fn cli_login_reports_a_refusal() {
    let (signed_in, page) = cli_login(None).await;
    assert!(page.contains("The provider refused the sign-in"), "{page}");
    match signed_in {
        Err(cli::CliError::Login(Error::Authorization { error, .. })) => {
            assert_eq!(error, "access_denied")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn cli_login_times_out_with_a_clear_message() {
    let local = providers::start_local_provider(0).await.unwrap();
    let registry = providers::registry(&local).build().unwrap();
    let error = cli::login(&registry, "local", Duration::from_millis(200), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, cli::CliError::Timeout(_)), "{error:?}");
    assert!(
        error.to_string().contains("no sign-in came back"),
        "{error}"
    );
    let unknown = cli::login(&registry, "gitlab", Duration::from_secs(1), |_| {})
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("unknown provider `gitlab`"),
        "{unknown}"
    );
}

/// The command line's OAuth 1.0a login, out of band: the user approves at the provider and
/// types the PIN it shows.
#[tokio::test]
async fn cli_oob_login_with_an_oauth1_provider() {
    let local = providers::start_local_provider(0).await.unwrap();
    let registry = providers::registry(&local).build().unwrap();
    let signed_in = cli::login_oob(&registry, "local_oauth1", |url| {
        let local = &local;
        async move {
            assert!(
                url.as_str().starts_with(&local.url("oauth1/authorize")),
                "{url}"
            );
            // What the user types, with the newline of the terminal.
            let pin = local
                .oauth1_pin(&url, "dave")
                .await
                .map_err(std::io::Error::other)?;
            Ok(format!("{pin}\n"))
        }
    })
    .await
    .unwrap();
    assert_eq!(signed_in.provider, "local_oauth1");
    assert_eq!(signed_in.claims["user"], "dave");
    assert!(!signed_in.user.is_empty());
    assert_eq!(local.count("oauth1.access_token"), 1);

    // A wrong PIN is the provider's refusal, reported as such.
    let wrong = cli::login_oob(&registry, "local_oauth1", |_| async {
        Ok("000000".to_string())
    })
    .await
    .unwrap_err();
    match wrong {
        cli::CliError::Login(Error::OAuth1Endpoint { status, .. }) => assert_eq!(status, 401),
        other => panic!("expected the provider's refusal, got {other:?}"),
    }
}

/// The start page lists every preset: a button when its credentials are set, else the
/// environment variables to set.
#[tokio::test]
async fn the_start_page_lists_every_preset_with_what_to_set() {
    let local = providers::start_local_provider(0).await.unwrap();
    let env = |vars: &'static [(&'static str, &'static str)]| providers::Options {
        env: Some(std::sync::Arc::new(move |var: &str| {
            vars.iter()
                .find(|(name, _)| *name == var)
                .map(|(_, value)| value.to_string())
        })),
        ..Default::default()
    };
    let registry = providers::registry_with(&local, env(&[])).build().unwrap();
    let html = examples::page::sign_in_buttons(&registry.list());
    assert!(html.contains(r#"<a class="button" id="login-local" href="/login/local">Sign in with Local provider</a>"#), "{html}");
    let presets = oauth_clients_spec::presets::PRESETS;
    assert!(presets.len() >= 23);
    for preset in presets {
        assert!(
            html.contains(&format!(
                r#"<span class="button disabled" id="login-{}">"#,
                preset.name
            )),
            "{} is not listed: {html}",
            preset.name
        );
    }
    assert!(html.contains(r#"<small id="setup-github">to use it, set <code>GITHUB_CLIENT_ID</code>, <code>GITHUB_CLIENT_SECRET</code>."#), "{html}");
    assert!(html.contains(r#"<small id="setup-apple">to use it, set <code>APPLE_CLIENT_ID</code>, <code>APPLE_PRIVATE_KEY</code>, <code>APPLE_TEAM_ID</code>, <code>APPLE_KEY_ID</code>."#), "{html}");
    assert!(html.contains(r#"<small id="setup-okta">to use it, set <code>OKTA_CLIENT_ID</code>, <code>OKTA_CLIENT_SECRET</code>, <code>OKTA_DOMAIN</code>."#), "{html}");

    // Credentials set: a button.
    let registry = providers::registry_with(
        &local,
        env(&[
            ("GITHUB_CLIENT_ID", "id"),
            ("GITHUB_CLIENT_SECRET", "secret"),
        ]),
    )
    .build()
    .unwrap();
    let html = examples::page::sign_in_buttons(&registry.list());
    assert!(
        html.contains(
            r#"<a class="button" id="login-github" href="/login/github">Sign in with GitHub</a>"#
        ),
        "{html}"
    );
    assert!(!html.contains("setup-github"), "{html}");
}
