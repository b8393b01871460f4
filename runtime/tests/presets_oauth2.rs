//! Logins with every OAuth 2.0 preset, end to end against a local mock of each provider.
//!
//! The presets are declared by bare name, as an application would; settings point their three
//! URLs at the mock. The mock plays each provider's documented behaviour (each rule cites the
//! provider document it follows, the ones listed in the preset's `docs`), and the tests check
//! the normalized profile of the login and what the provider was sent.
//!
//! One mock server serves every test: it runs on its own thread (each `#[tokio::test]` has its
//! own runtime), and keeps every request it received, keyed by the login's authorization code.

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use oauth_clients::{
    oauth_clients, Callback, Client, Error, MemorySession, Provider, Registry, Settings, Token,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use url::Url;

const REDDIT_USER_AGENT: &str = "web:dev.oauth-clients.tests:1.0 (by /u/oauth_clients)";

oauth_clients! {
    github,
    discord,
    facebook,
    twitch,
    x,
    bitbucket,
    spotify,
    reddit { user_agent: "web:dev.oauth-clients.tests:1.0 (by /u/oauth_clients)" },
    dropbox,
    zoom,
    amazon,
}

/// A loopback IP literal: Spotify refuses `localhost` redirect URIs
/// (developer.spotify.com/documentation/web-api/concepts/redirect_uri).
const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

/// Each preset's mocked endpoints: authorization, token, and the API base, under
/// `/<preset>` on the mock; the paths are the provider's own.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "github",
        "/login/oauth/authorize",
        "/login/oauth/access_token",
        "/api/",
    ),
    (
        "discord",
        "/oauth2/authorize",
        "/api/oauth2/token",
        "/api/v10/",
    ),
    (
        "facebook",
        "/v23.0/dialog/oauth",
        "/v23.0/oauth/access_token",
        "/v23.0/",
    ),
    ("twitch", "/oauth2/authorize", "/oauth2/token", "/helix/"),
    ("x", "/i/oauth2/authorize", "/2/oauth2/token", "/2/"),
    (
        "bitbucket",
        "/site/oauth2/authorize",
        "/site/oauth2/access_token",
        "/2.0/",
    ),
    ("spotify", "/authorize", "/api/token", "/v1/"),
    (
        "reddit",
        "/api/v1/authorize",
        "/api/v1/access_token",
        "/oauth/",
    ),
    ("dropbox", "/oauth2/authorize", "/oauth2/token", "/2/"),
    ("zoom", "/oauth/authorize", "/oauth/token", "/v2/"),
    ("amazon", "/ap/oa", "/auth/o2/token", "/"),
];

// ---------------------------------------------------------------------------------------------
// The mock
// ---------------------------------------------------------------------------------------------

/// One request the mock received.
#[derive(Clone, Debug)]
struct Seen {
    /// The login it belongs to: the authorization code it carried or was issued for.
    login: Option<String>,
    method: Method,
    /// Without the `/<preset>` prefix.
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: String,
    form: HashMap<String, String>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `(client_id, client_secret)` of an `Authorization: Basic` header (RFC 6749 §2.3.1).
    fn basic(&self) -> Option<(String, String)> {
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }

    /// `(client_id, client_secret)` of the form body.
    fn posted_credentials(&self) -> Option<(String, String)> {
        Some((
            self.form.get("client_id")?.clone(),
            self.form.get("client_secret")?.clone(),
        ))
    }

    fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    fn is_form(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    }
}

/// An authorization the mock granted: what its token request must match.
#[derive(Clone, Debug)]
struct Grant {
    provider: String,
    user: String,
    code: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    challenge: Option<String>,
    challenge_method: Option<String>,
}

#[derive(Default)]
struct MockState {
    /// Codes not yet redeemed.
    codes: HashMap<String, Grant>,
    /// Access tokens issued.
    tokens: HashMap<String, Grant>,
    seen: Vec<Seen>,
    next: u64,
}

struct Mock {
    base: String,
    state: Mutex<MockState>,
}

type Shared = State<Arc<Mock>>;

fn mock() -> &'static Arc<Mock> {
    static MOCK: OnceLock<Arc<Mock>> = OnceLock::new();
    MOCK.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let mock = Arc::new(Mock {
            base: format!("http://{}", listener.local_addr().unwrap()),
            state: Mutex::default(),
        });
        let app = router(mock.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        mock
    })
}

fn router(mock: Arc<Mock>) -> Router {
    Router::new()
        .route("/github/login/oauth/access_token", any(github_token))
        .route("/github/api/user", any(github_user))
        .route("/github/api/user/emails", any(github_emails))
        .route("/discord/api/oauth2/token", any(discord_token))
        .route("/discord/api/v10/users/@me", any(discord_me))
        .route("/facebook/v23.0/oauth/access_token", any(facebook_token))
        .route("/facebook/v23.0/me", any(facebook_me))
        .route("/twitch/oauth2/token", any(twitch_token))
        .route("/twitch/helix/users", any(twitch_users))
        .route("/x/2/oauth2/token", any(x_token))
        .route("/x/2/users/me", any(x_me))
        .route("/bitbucket/site/oauth2/access_token", any(bitbucket_token))
        .route("/bitbucket/2.0/user", any(bitbucket_user))
        .route("/bitbucket/2.0/user/emails", any(bitbucket_emails))
        .route("/spotify/api/token", any(spotify_token))
        .route("/spotify/v1/me", any(spotify_me))
        .route("/reddit/api/v1/access_token", any(reddit_token))
        .route("/reddit/oauth/api/v1/me", any(reddit_me))
        .route("/dropbox/oauth2/token", any(dropbox_token))
        .route("/dropbox/2/users/get_current_account", any(dropbox_account))
        .route("/zoom/oauth/token", any(zoom_token))
        .route("/zoom/v2/users/me", any(zoom_me))
        .route("/amazon/auth/o2/token", any(amazon_token))
        .route("/amazon/user/profile", any(amazon_profile))
        .with_state(mock)
}

fn pairs(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    json_answer(StatusCode::OK, body)
}

impl Mock {
    /// Records a request; the login it belongs to is the code of a token request, or the code
    /// behind the bearer token of an API call.
    async fn record(&self, request: Request) -> Seen {
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body).into_owned();
        let path = parts.uri.path();
        let path = path[path[1..].find('/').map_or(0, |i| i + 1)..].to_string();
        let query = pairs(parts.uri.query().unwrap_or(""));
        let form = pairs(&body);
        let mut seen = Seen {
            login: None,
            method: parts.method,
            path,
            query,
            headers: parts.headers,
            body,
            form,
        };
        let mut state = self.state.lock().unwrap();
        seen.login = seen
            .form
            .get("code")
            .or_else(|| seen.query.get("code"))
            .cloned()
            .or_else(|| {
                let token = seen.bearer()?;
                state.tokens.get(token).map(|grant| grant.code.clone())
            });
        state.seen.push(seen.clone());
        seen
    }

    /// The provider's consent page, without a browser: checks the authorization request and
    /// returns the code it would send back to the redirect URI for `user`.
    fn approve(&self, url: &Url, user: &str) -> Result<String, String> {
        let query = pairs(url.query().unwrap_or(""));
        let provider = url
            .path_segments()
            .and_then(|mut s| s.next())
            .unwrap_or_default()
            .to_string();
        let route = ROUTES
            .iter()
            .find(|route| route.0 == provider)
            .ok_or("no such provider")?;
        if url.path() != format!("/{provider}{}", route.1) {
            return Err(format!("not the authorization endpoint: {}", url.path()));
        }
        if query.get("response_type").map(String::as_str) != Some("code") {
            return Err("response_type is not code".into());
        }
        if query.get("client_id") != Some(&format!("{provider}-id")) {
            return Err("unknown client_id".into());
        }
        // X: "PKCE is required" (docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token).
        if provider == "x" && !query.contains_key("code_challenge") {
            return Err("X requires PKCE".into());
        }
        let mut state = self.state.lock().unwrap();
        state.next += 1;
        let code = format!("{provider}-{user}-{}", state.next);
        let grant = Grant {
            provider: provider.clone(),
            user: user.to_string(),
            code: code.clone(),
            client_id: query["client_id"].clone(),
            redirect_uri: query.get("redirect_uri").cloned().unwrap_or_default(),
            scope: query.get("scope").cloned().unwrap_or_default(),
            challenge: query.get("code_challenge").cloned(),
            challenge_method: query.get("code_challenge_method").cloned(),
        };
        state.codes.insert(code.clone(), grant);
        state.seen.push(Seen {
            login: Some(code.clone()),
            method: Method::GET,
            path: route.1.to_string(),
            query,
            headers: HeaderMap::new(),
            body: String::new(),
            form: HashMap::new(),
        });
        Ok(code)
    }

    /// Redeems the code of a token request (once), checking the redirect URI, the client and
    /// PKCE (RFC 6749 §4.1.3, RFC 7636 §4.6). A challenge without a method is `plain`, as
    /// RFC 7636 says and Zoom documents (developers.zoom.us/docs/integrations/oauth/).
    fn redeem(&self, provider: &str, seen: &Seen, client_id: &str) -> Result<Grant, &'static str> {
        let params = if seen.form.is_empty() {
            &seen.query
        } else {
            &seen.form
        };
        if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return Err("unsupported_grant_type");
        }
        let code = params.get("code").ok_or("invalid_request")?;
        let grant = self
            .state
            .lock()
            .unwrap()
            .codes
            .remove(code)
            .ok_or("invalid_grant")?;
        if grant.provider != provider
            || grant.client_id != client_id
            || params.get("redirect_uri") != Some(&grant.redirect_uri)
        {
            return Err("invalid_grant");
        }
        if let Some(challenge) = &grant.challenge {
            let verifier = params.get("code_verifier").ok_or("invalid_grant")?;
            let computed = match grant.challenge_method.as_deref().unwrap_or("plain") {
                "S256" => base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes())),
                _ => verifier.clone(),
            };
            if &computed != challenge {
                return Err("invalid_grant");
            }
        }
        Ok(grant)
    }

    /// Issues an access token for `grant`.
    fn issue(&self, grant: &Grant) -> String {
        let token = format!("at-{}", grant.code);
        self.state
            .lock()
            .unwrap()
            .tokens
            .insert(token.clone(), grant.clone());
        token
    }

    /// The grant behind an API call's bearer token, if it is one this provider issued.
    fn caller(&self, provider: &str, seen: &Seen) -> Option<Grant> {
        let token = seen.bearer()?;
        let grant = self.state.lock().unwrap().tokens.get(token).cloned()?;
        (grant.provider == provider).then_some(grant)
    }

    /// Everything the mock received for the login of `code`, in order.
    fn seen(&self, code: &str) -> Vec<Seen> {
        let state = self.state.lock().unwrap();
        state
            .seen
            .iter()
            .filter(|s| s.login.as_deref() == Some(code))
            .cloned()
            .collect()
    }
}

fn unauthorized() -> Response {
    json_answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_token", "message": "bad credentials"}),
    )
}

/// RFC 6749 §5.2's error answer, with HTTP 400 (401 for a client that failed to authenticate).
fn oauth_error(error: &str) -> Response {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    json_answer(status, json!({ "error": error }))
}

/// The client of a token request that authenticates with HTTP Basic only.
fn basic_client(provider: &str, seen: &Seen) -> Result<String, &'static str> {
    match seen.basic() {
        Some((id, secret)) if secret == format!("{provider}-secret") => Ok(id),
        _ => Err("invalid_client"),
    }
}

/// The client of a token request that may authenticate with HTTP Basic or in the body.
fn basic_or_posted_client(provider: &str, seen: &Seen) -> Result<String, &'static str> {
    match seen.basic().or_else(|| seen.posted_credentials()) {
        Some((id, secret)) if secret == format!("{provider}-secret") => Ok(id),
        _ => Err("invalid_client"),
    }
}

/// The client of a token request that sends its credentials in the body only.
fn posted_client(provider: &str, seen: &Seen) -> Result<String, &'static str> {
    match seen.posted_credentials() {
        Some((id, secret)) if seen.basic().is_none() && secret == format!("{provider}-secret") => {
            Ok(id)
        }
        _ => Err("invalid_client"),
    }
}

/// A standard token endpoint: `authenticate` the client, redeem the code, answer `answer`
/// with the access token filled in.
async fn standard_token(
    mock: &Mock,
    provider: &str,
    request: Request,
    authenticate: fn(&str, &Seen) -> Result<String, &'static str>,
    answer: impl FnOnce(&Grant, String) -> Value,
) -> Response {
    let seen = mock.record(request).await;
    if seen.method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let grant = authenticate(provider, &seen).and_then(|id| mock.redeem(provider, &seen, &id));
    match grant {
        Ok(grant) => {
            let token = mock.issue(&grant);
            ok(answer(&grant, token))
        }
        Err(error) => oauth_error(error),
    }
}

// GitHub -------------------------------------------------------------------------------------
// docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps: the client id
// and secret are POST parameters; the answer is form-encoded unless the request accepts JSON,
// with a comma-separated `scope` and `token_type` `bearer`.
// docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors:
// a bad code is answered `bad_verification_code`, with status 200.

async fn github_token(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let json = seen
        .header("accept")
        .is_some_and(|accept| accept.contains("application/json"));
    let answer = |fields: Vec<(&str, String)>| -> Response {
        if json {
            let map: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect();
            ok(Value::Object(map))
        } else {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            (
                [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
                body,
            )
                .into_response()
        }
    };
    let client = match seen.posted_credentials() {
        Some((id, secret)) if secret == "github-secret" => id,
        _ => {
            return answer(vec![
                ("error", "incorrect_client_credentials".into()),
                (
                    "error_description",
                    "The client_id and/or client_secret passed are incorrect.".into(),
                ),
            ])
        }
    };
    match mock.redeem("github", &seen, &client) {
        Ok(grant) => answer(vec![
            ("access_token", mock.issue(&grant)),
            ("scope", grant.scope.replace(' ', ",")),
            ("token_type", "bearer".into()),
        ]),
        Err(_) => answer(vec![
            ("error", "bad_verification_code".into()),
            (
                "error_description",
                "The code passed is incorrect or expired.".into(),
            ),
        ]),
    }
}

// docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api: a request
// without `User-Agent` is refused. docs.github.com/en/rest/users/users#get-the-authenticated-user:
// `email` is the public address, null when the user has none.
async fn github_user(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    if seen.header("user-agent").is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(grant) = mock.caller("github", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "login": grant.user,
        "id": 583231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "type": "User",
        "name": "The Octocat",
        "email": null,
    }))
}

// docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user: every
// address, each with `primary` and `verified`.
async fn github_emails(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    if seen.header("user-agent").is_none() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(grant) = mock.caller("github", &seen) else {
        return unauthorized();
    };
    let primary_verified = grant.user == "octo-verified";
    ok(json!([
        {"email": "old@example.com", "primary": false, "verified": true, "visibility": null},
        {"email": "octocat@example.com", "primary": true, "verified": primary_verified,
         "visibility": "private"},
    ]))
}

// Discord ------------------------------------------------------------------------------------
// discord.com/developers/docs/topics/oauth2: the token URL takes only form-encoded bodies, and
// the client authenticates with HTTP Basic or in the body.

async fn discord_token(State(mock): Shared, request: Request) -> Response {
    if request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_none_or(|t| !t.starts_with("application/x-www-form-urlencoded"))
    {
        mock.record(request).await;
        return oauth_error("invalid_request");
    }
    standard_token(
        &mock,
        "discord",
        request,
        basic_or_posted_client,
        |grant, token| {
            json!({"access_token": token, "token_type": "Bearer", "expires_in": 604800,
               "refresh_token": "discord-refresh", "scope": grant.scope})
        },
    )
    .await
}

// discord.com/developers/docs/resources/user#user-object: `id` a snowflake string, `avatar` a
// hash, `verified` whether the email is verified, `global_name` the display name.
async fn discord_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("discord", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "id": "80351110224678912",
        "username": "nelly",
        "discriminator": "0",
        "global_name": "Nelly",
        "avatar": "8342729096ea3675442027381ff50dfe",
        "verified": true,
        "email": "nelly@discord.example",
        "flags": 64,
        "mfa_enabled": true,
    }))
}

// Facebook -----------------------------------------------------------------------------------
// developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow: the code is
// exchanged at `oauth/access_token` with `client_id`, `redirect_uri`, `client_secret` and
// `code`; the guide shows them in a GET query, the mock also reads a POSTed form (and the test
// checks which one came). The answer has `token_type` `bearer` and no refresh token.

async fn facebook_token(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let params = if seen.method == Method::GET {
        &seen.query
    } else {
        &seen.form
    };
    let client = match (params.get("client_id"), params.get("client_secret")) {
        (Some(id), Some(secret)) if secret == "facebook-secret" => id.clone(),
        _ => return oauth_error("invalid_client"),
    };
    let mut seen_with_grant = seen.clone();
    if seen.method == Method::GET {
        seen_with_grant.query.insert(
            "grant_type".into(),
            seen.query
                .get("grant_type")
                .cloned()
                .unwrap_or_else(|| "authorization_code".into()),
        );
    }
    match mock.redeem("facebook", &seen_with_grant, &client) {
        Ok(grant) => ok(
            json!({"access_token": mock.issue(&grant), "token_type": "bearer",
                               "expires_in": 5183944}),
        ),
        Err(error) => oauth_error(error),
    }
}

// developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow: `/me`
// answers only `id` and `name` unless `fields` asks for more; the picture is nested.
async fn facebook_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("facebook", &seen) else {
        return unauthorized();
    };
    let fields: Vec<&str> = seen
        .query
        .get("fields")
        .map(|f| f.split(',').collect())
        .unwrap_or_else(|| vec!["id", "name"]);
    let all = json!({
        "id": "10158224589012345",
        "name": "Jane Doe",
        "email": "jane@example.com",
        "picture": {"data": {"height": 50, "is_silhouette": false, "width": 50,
            "url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158224589012345"}},
    });
    let answer: serde_json::Map<String, Value> = fields
        .into_iter()
        .filter_map(|f| Some((f.to_string(), all.get(f)?.clone())))
        .collect();
    ok(Value::Object(answer))
}

// Twitch -------------------------------------------------------------------------------------
// dev.twitch.tv/docs/authentication/getting-tokens-oauth/: the client id and secret go in the
// body; `scope` in the answer is a JSON list and `token_type` is `bearer`.

async fn twitch_token(State(mock): Shared, request: Request) -> Response {
    standard_token(&mock, "twitch", request, posted_client, |grant, token| {
        json!({"access_token": token, "expires_in": 14124, "refresh_token": "twitch-refresh",
               "scope": grant.scope.split(' ').collect::<Vec<_>>(), "token_type": "bearer"})
    })
    .await
}

// dev.twitch.tv/docs/api/reference/#get-users: Helix wants `Client-Id` with the bearer token,
// and answers 401 when it is missing or not the token's client; the user is `data[0]`.
async fn twitch_users(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(grant) = mock.caller("twitch", &seen) else {
        return unauthorized();
    };
    if seen.header("client-id") != Some(grant.client_id.as_str()) {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized", "status": 401,
                   "message": "Client ID and OAuth token do not match"}),
        );
    }
    ok(json!({"data": [{
        "id": "141981764",
        "login": "twitchdev",
        "display_name": "TwitchDev",
        "type": "",
        "broadcaster_type": "partner",
        "profile_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/twitchdev-300x300.png",
        "email": "twitchdev@example.com",
        "created_at": "2016-12-14T20:32:28Z",
    }]}))
}

// X ------------------------------------------------------------------------------------------
// docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code: confidential clients
// authenticate with HTTP Basic; a refresh token comes only with `offline.access`.

async fn x_token(State(mock): Shared, request: Request) -> Response {
    standard_token(&mock, "x", request, basic_client, |grant, token| {
        let mut answer = json!({"token_type": "bearer", "expires_in": 7200,
                                "access_token": token, "scope": grant.scope});
        if grant.scope.split(' ').any(|s| s == "offline.access") {
            answer["refresh_token"] = json!("x-refresh");
        }
        answer
    })
    .await
}

// docs.x.com/x-api/users/lookup/quickstart/authenticated-lookup: the user is under `data`, and
// `profile_image_url` only comes when `user.fields` asks for it.
async fn x_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("x", &seen) else {
        return unauthorized();
    };
    let mut user = json!({"id": "2244994945", "name": "X Developers", "username": "XDevelopers"});
    if seen
        .query
        .get("user.fields")
        .is_some_and(|f| f.split(',').any(|f| f == "profile_image_url"))
    {
        user["profile_image_url"] = json!("https://pbs.twimg.com/profile_images/x_normal.jpg");
    }
    ok(json!({ "data": user }))
}

// Bitbucket ----------------------------------------------------------------------------------
// developer.atlassian.com/cloud/bitbucket/oauth-2/: the client authenticates with HTTP Basic
// (`curl -u client_id:secret`); the answer names the scope `scopes`, says `bearer`, and
// carries `state`.

async fn bitbucket_token(State(mock): Shared, request: Request) -> Response {
    standard_token(&mock, "bitbucket", request, basic_client, |grant, token| {
        json!({"access_token": token, "scopes": grant.scope, "expires_in": 7200,
               "refresh_token": "bitbucket-refresh", "token_type": "bearer",
               "state": "authorization_code"})
    })
    .await
}

// developer.atlassian.com/cloud/bitbucket/rest/api-group-users/: `/user` has the `uuid` (with
// braces) and no email; `/user/emails` lists the addresses under `values`, each with
// `is_primary` and `is_confirmed`.
async fn bitbucket_user(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("bitbucket", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "type": "user",
        "uuid": "{c0ffee00-1111-2222-3333-444455556666}",
        "account_id": "557058:abcd",
        "nickname": "jdoe",
        "display_name": "Jane Doe",
        "links": {"avatar": {"href": "https://avatar-management.example/jdoe.png"}},
    }))
}

async fn bitbucket_emails(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("bitbucket", &seen) else {
        return unauthorized();
    };
    ok(json!({"pagelen": 10, "page": 1, "size": 3, "values": [
        {"type": "email", "email": "unconfirmed@example.com", "is_primary": false, "is_confirmed": false},
        {"type": "email", "email": "jane@example.com", "is_primary": true, "is_confirmed": true},
        {"type": "email", "email": "old@example.com", "is_primary": false, "is_confirmed": true},
    ]}))
}

// Spotify ------------------------------------------------------------------------------------
// developer.spotify.com/documentation/web-api/tutorials/code-flow: the token request carries
// `Authorization: Basic` and a form body.

async fn spotify_token(State(mock): Shared, request: Request) -> Response {
    standard_token(&mock, "spotify", request, basic_client, |grant, token| {
        json!({"access_token": token, "token_type": "Bearer", "scope": grant.scope,
               "expires_in": 3600, "refresh_token": "spotify-refresh"})
    })
    .await
}

// developer.spotify.com/documentation/web-api/reference/get-current-users-profile: "This email
// address is unverified"; the picture is the first of `images`.
async fn spotify_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("spotify", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "country": "SE",
        "display_name": "Jane",
        "email": "jane@example.com",
        "href": "https://api.spotify.com/v1/users/jane123",
        "id": "jane123",
        "images": [{"url": "https://i.scdn.co/image/ab67.jpg", "height": 300, "width": 300},
                   {"url": "https://i.scdn.co/image/small.jpg", "height": 64, "width": 64}],
        "type": "user",
        "uri": "spotify:user:jane123",
    }))
}

// Reddit -------------------------------------------------------------------------------------
// github.com/reddit-archive/reddit/wiki/OAuth2: the token request authenticates with HTTP
// Basic. github.com/reddit-archive/reddit/wiki/API: every request needs a unique, descriptive
// User-Agent; others are throttled (answered 429 here).

async fn reddit_token(State(mock): Shared, request: Request) -> Response {
    if request
        .headers()
        .get(header::USER_AGENT)
        .is_none_or(|agent| agent != REDDIT_USER_AGENT)
    {
        mock.record(request).await;
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    standard_token(&mock, "reddit", request, basic_client, |grant, token| {
        json!({"access_token": token, "token_type": "bearer", "expires_in": 3600,
               "refresh_token": "reddit-refresh", "scope": grant.scope})
    })
    .await
}

// github.com/reddit-archive/reddit/wiki/OAuth2: API calls go to oauth.reddit.com; `/api/v1/me`
// has the account's `id` and `name`, and no email address.
async fn reddit_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    if seen.header("user-agent") != Some(REDDIT_USER_AGENT) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let Some(_) = mock.caller("reddit", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "id": "1w72",
        "name": "jane_doe",
        "icon_img": "https://styles.redditmedia.com/t5_abc/styles/profileIcon_x.png",
        "has_verified_email": true,
        "verified": true,
        "created_utc": 1500000000.0,
    }))
}

// Dropbox ------------------------------------------------------------------------------------
// developers.dropbox.com/oauth-guide: the app key and secret go as HTTP Basic or in the body.

async fn dropbox_token(State(mock): Shared, request: Request) -> Response {
    standard_token(
        &mock,
        "dropbox",
        request,
        basic_or_posted_client,
        |grant, token| {
            json!({"access_token": token, "expires_in": 14400, "token_type": "bearer",
               "scope": grant.scope, "refresh_token": "dropbox-refresh",
               "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "uid": "12345"})
        },
    )
    .await
}

// www.dropbox.com/developers/documentation/http/documentation#users-get_current_account: an
// RPC endpoint, POST only, with no arguments; `email_verified` says whether to trust `email`.
async fn dropbox_account(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    if seen.method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "only POST").into_response();
    }
    // An RPC without arguments takes no body, or the JSON `null`.
    if !(seen.body.is_empty() || seen.body == "null") {
        return (StatusCode::BAD_REQUEST, "Error in call to API function").into_response();
    }
    let Some(_) = mock.caller("dropbox", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
        "name": {"given_name": "Franz", "surname": "Ferdinand", "familiar_name": "Franz",
                 "display_name": "Franz Ferdinand (Personal)", "abbreviated_name": "FF"},
        "email": "franz@example.com",
        "email_verified": true,
        "disabled": false,
        "profile_photo_url": "https://dl-web.dropbox.com/account_photo/get/dbaphid%3AAAH?size=128x128",
    }))
}

// Zoom ---------------------------------------------------------------------------------------
// developers.zoom.us/docs/integrations/oauth/: the token request authenticates with HTTP Basic.

async fn zoom_token(State(mock): Shared, request: Request) -> Response {
    standard_token(&mock, "zoom", request, basic_client, |grant, token| {
        json!({"access_token": token, "token_type": "bearer", "refresh_token": "zoom-refresh",
               "expires_in": 3599, "scope": grant.scope})
    })
    .await
}

// developers.zoom.us/docs/api/users/#tag/users/GET/users/{userId}: `verified` is the integer 1
// or 0.
async fn zoom_me(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("zoom", &seen) else {
        return unauthorized();
    };
    ok(json!({
        "id": "KDcuGIm1QgePTO8WbOqwIQ",
        "first_name": "Jane",
        "last_name": "Doe",
        "display_name": "Jane Doe",
        "email": "jane@example.com",
        "type": 1,
        "verified": 1,
        "pic_url": "https://zoom.example/p/KDcuGIm1QgePTO8WbOqwIQ.png",
        "account_id": "q6gBJVO5TzexKYTb_I2rpg",
        "status": "active",
    }))
}

// Login with Amazon --------------------------------------------------------------------------
// developer.amazon.com/docs/login-with-amazon/authorization-code-grant.html: the client id and
// secret go in the body, or as HTTP Basic.

async fn amazon_token(State(mock): Shared, request: Request) -> Response {
    standard_token(
        &mock,
        "amazon",
        request,
        basic_or_posted_client,
        |_, token| {
            json!({"access_token": token, "token_type": "bearer", "expires_in": 3600,
               "refresh_token": "Atzr|amazon-refresh"})
        },
    )
    .await
}

// developer.amazon.com/docs/login-with-amazon/obtain-customer-profile.html and
// customer-profile.html: `user_id`, `name` and `email`; nothing says the address is verified.
async fn amazon_profile(State(mock): Shared, request: Request) -> Response {
    let seen = mock.record(request).await;
    let Some(_) = mock.caller("amazon", &seen) else {
        return unauthorized();
    };
    ok(
        json!({"user_id": "amzn1.account.K2LI23KL2LK2", "email": "johndoe@example.com",
              "name": "John Doe"}),
    )
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/// The registry of the declared presets, pointed at the mock; each preset's credentials are
/// `<preset>-id` and `<preset>-secret`, read from its usual variables.
fn registry(change: impl FnOnce(Settings) -> Settings) -> Registry<Providers> {
    let base = &mock().base;
    let mut settings = Settings::new();
    for (name, authorize, token, api) in ROUTES {
        settings = settings
            .set(name, "authorize_url", format!("{base}/{name}{authorize}"))
            .set(name, "access_token_url", format!("{base}/{name}{token}"))
            .set(name, "api_base_url", format!("{base}/{name}{api}"));
    }
    Providers::builder()
        .settings(change(settings))
        .env_source(|var| {
            if let Some(name) = var.strip_suffix("_CLIENT_ID") {
                Some(format!("{}-id", name.to_lowercase()))
            } else {
                var.strip_suffix("_CLIENT_SECRET")
                    .map(|name| format!("{}-secret", name.to_lowercase()))
            }
        })
        .build()
        .unwrap()
}

/// One login: the authorization request, the provider's approval for `user`, and the
/// callback. The authorization URL's query, the code and the outcome.
struct Login {
    authorize: HashMap<String, String>,
    code: String,
    outcome: Result<Token, Error>,
}

async fn login<P: Provider>(client: &Client<P>, user: &str) -> Login {
    login_with(client, user, |code| code).await
}

/// A login whose callback carries `callback_code(code)` instead of the approved code.
async fn login_with<P: Provider>(
    client: &Client<P>,
    user: &str,
    callback_code: impl FnOnce(String) -> String,
) -> Login {
    let session = MemorySession::new();
    let redirect = client
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let url = redirect.location().clone();
    let authorize = pairs(url.query().unwrap_or(""));
    let code = mock().approve(&url, user).unwrap();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &callback_code(code.clone()))
        .append_pair("state", &authorize["state"])
        .finish();
    let outcome = client
        .authorize_access_token(&session, &Callback::from_query(&query))
        .await;
    Login {
        authorize,
        code,
        outcome,
    }
}

impl Login {
    fn token(&self) -> &Token {
        match &self.outcome {
            Ok(token) => token,
            Err(error) => panic!("the login failed: {error}"),
        }
    }

    /// What the mock received for this login: the authorization request, then the rest.
    fn seen(&self) -> Vec<Seen> {
        mock().seen(&self.code)
    }
}

/// The profile a login must have.
struct Expected<'a> {
    provider: &'a str,
    subject: &'a str,
    email: Option<&'a str>,
    email_verified: bool,
    name: Option<&'a str>,
    username: Option<&'a str>,
    picture: Option<&'a str>,
}

fn assert_profile(token: &Token, expected: Expected) {
    let profile = token.profile().expect("a login has a profile");
    // The API's origin: the mock serves every provider on one.
    let issuer = mock().base.to_string();
    assert_eq!(profile.provider, expected.provider);
    assert_eq!(profile.identity(), (issuer.as_str(), expected.subject));
    assert_eq!(profile.email.as_deref(), expected.email);
    assert_eq!(profile.email_verified, expected.email_verified);
    assert_eq!(profile.name.as_deref(), expected.name);
    assert_eq!(profile.username.as_deref(), expected.username);
    assert_eq!(profile.picture.as_deref(), expected.picture);
}

/// `(method, path)` of each request the mock received, after the authorization request.
fn calls(seen: &[Seen]) -> Vec<(Method, &str)> {
    seen[1..]
        .iter()
        .map(|s| (s.method.clone(), s.path.as_str()))
        .collect()
}

#[tokio::test]
async fn github_primary_address_unverified_gives_no_verified_email() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Github>(), "octo-unverified").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "read:user user:email");
    // Comma-separated, as GitHub says it.
    assert_eq!(token.scope.as_deref(), Some("read:user,user:email"));
    assert_eq!(token.refresh_token, None);
    assert_profile(
        token,
        Expected {
            provider: "github",
            subject: "583231",
            email: None,
            email_verified: false,
            name: Some("The Octocat"),
            username: Some("octo-unverified"),
            picture: Some("https://avatars.githubusercontent.com/u/583231?v=4"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/login/oauth/access_token"),
            (Method::GET, "/api/user"),
            (Method::GET, "/api/user/emails"),
        ]
    );
    // client_secret_post: the secret in the body, no Basic header; JSON asked for.
    let token_request = &seen[1];
    assert_eq!(token_request.form["client_id"], "github-id");
    assert_eq!(token_request.form["client_secret"], "github-secret");
    assert_eq!(token_request.header("authorization"), None);
    assert!(token_request
        .header("accept")
        .is_some_and(|a| a.contains("application/json")));
    assert!(seen[2].header("user-agent").is_some());
}

#[tokio::test]
async fn github_verified_primary_address_is_the_verified_email() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Github>(), "octo-verified").await;
    assert_profile(
        login.token(),
        Expected {
            provider: "github",
            subject: "583231",
            email: Some("octocat@example.com"),
            email_verified: true,
            name: Some("The Octocat"),
            username: Some("octo-verified"),
            picture: Some("https://avatars.githubusercontent.com/u/583231?v=4"),
        },
    );
    let raw = &login.token().profile().unwrap().raw;
    assert_eq!(raw["login"], "octo-verified");
    assert_eq!(raw["email"], Value::Null);
}

#[tokio::test]
async fn github_bad_code_answered_with_200_is_a_token_endpoint_error() {
    let registry = registry(|s| s);
    let login = login_with(&registry.client::<Github>(), "octo-verified", |_| {
        "github-expired-code".into()
    })
    .await;
    match &login.outcome {
        Err(Error::TokenEndpoint {
            provider,
            error,
            description,
            status,
        }) => {
            assert_eq!(*provider, "github");
            assert_eq!(error, "bad_verification_code");
            assert_eq!(
                description.as_deref(),
                Some("The code passed is incorrect or expired.")
            );
            assert_eq!(*status, 200);
        }
        other => panic!("expected a token endpoint error, got {other:?}"),
    }
    // The code the mock issued was never sent, and no API call was made.
    assert_eq!(login.seen().len(), 1);
    let sent = mock().seen("github-expired-code");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/login/oauth/access_token");
}

#[tokio::test]
async fn discord_avatar_url_is_built_and_verified_marks_the_email() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Discord>(), "nelly").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "identify email");
    assert_eq!(token.scope.as_deref(), Some("identify email"));
    assert_eq!(token.refresh_token.as_deref(), Some("discord-refresh"));
    assert_profile(
        token,
        Expected {
            provider: "discord",
            subject: "80351110224678912",
            email: Some("nelly@discord.example"),
            email_verified: true,
            name: Some("Nelly"),
            username: Some("nelly"),
            picture: Some(
                "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
            ),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/api/oauth2/token"),
            (Method::GET, "/api/v10/users/@me"),
        ]
    );
    assert!(seen[1].is_form());
    assert_eq!(
        seen[1].basic(),
        Some(("discord-id".into(), "discord-secret".into()))
    );
}

#[tokio::test]
async fn facebook_asks_for_fields_and_never_verifies_the_email() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Facebook>(), "jane").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "email public_profile");
    assert_eq!(token.refresh_token, None);
    assert_profile(
        token,
        Expected {
            provider: "facebook",
            subject: "10158224589012345",
            email: Some("jane@example.com"),
            email_verified: false,
            name: Some("Jane Doe"),
            username: None,
            picture: Some(
                "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158224589012345",
            ),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/v23.0/oauth/access_token"),
            (Method::GET, "/v23.0/me"),
        ]
    );
    assert_eq!(seen[1].form["client_secret"], "facebook-secret");
    assert_eq!(seen[1].header("authorization"), None);
    assert_eq!(seen[2].query["fields"], "id,name,email,picture");
}

#[tokio::test]
async fn twitch_reads_a_list_scope_and_sends_client_id_to_helix() {
    let registry = registry(|s| {
        s.set(
            "twitch",
            "scope",
            "user:read:email channel:read:subscriptions",
        )
    });
    let login = login(&registry.client::<Twitch>(), "twitchdev").await;
    let token = login.token();
    assert_eq!(
        token.scope.as_deref(),
        Some("user:read:email channel:read:subscriptions")
    );
    assert_profile(
        token,
        Expected {
            provider: "twitch",
            subject: "141981764",
            email: Some("twitchdev@example.com"),
            email_verified: false,
            name: Some("TwitchDev"),
            username: Some("twitchdev"),
            picture: Some("https://static-cdn.jtvnw.net/jtv_user_pictures/twitchdev-300x300.png"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/oauth2/token"),
            (Method::GET, "/helix/users"),
        ]
    );
    assert_eq!(seen[1].form["client_id"], "twitch-id");
    assert_eq!(seen[1].form["client_secret"], "twitch-secret");
    assert_eq!(seen[2].header("client-id"), Some("twitch-id"));
}

#[tokio::test]
async fn x_requests_offline_access_and_reads_the_profile_under_data() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<X>(), "xdevelopers").await;
    let token = login.token();
    let scope: Vec<&str> = login.authorize["scope"].split(' ').collect();
    assert!(scope.contains(&"offline.access"), "{scope:?}");
    assert_eq!(login.authorize["code_challenge_method"], "S256");
    assert_eq!(token.refresh_token.as_deref(), Some("x-refresh"));
    assert_profile(
        token,
        Expected {
            provider: "x",
            subject: "2244994945",
            email: None,
            email_verified: false,
            name: Some("X Developers"),
            username: Some("XDevelopers"),
            picture: Some("https://pbs.twimg.com/profile_images/x_normal.jpg"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/2/oauth2/token"),
            (Method::GET, "/2/users/me")
        ]
    );
    assert_eq!(seen[1].basic(), Some(("x-id".into(), "x-secret".into())));
    assert!(seen[1].form.contains_key("code_verifier"));
    assert_eq!(seen[2].query["user.fields"], "profile_image_url");
}

#[tokio::test]
async fn bitbucket_email_is_the_confirmed_primary_of_the_list() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Bitbucket>(), "jdoe").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "account email");
    assert_eq!(token.extra["scopes"], "account email");
    assert_eq!(token.scope.as_deref(), Some("account email"));
    assert_profile(
        token,
        Expected {
            provider: "bitbucket",
            subject: "{c0ffee00-1111-2222-3333-444455556666}",
            email: Some("jane@example.com"),
            email_verified: true,
            name: Some("Jane Doe"),
            username: Some("jdoe"),
            picture: Some("https://avatar-management.example/jdoe.png"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/site/oauth2/access_token"),
            (Method::GET, "/2.0/user"),
            (Method::GET, "/2.0/user/emails"),
        ]
    );
    assert_eq!(
        seen[1].basic(),
        Some(("bitbucket-id".into(), "bitbucket-secret".into()))
    );
}

#[tokio::test]
async fn spotify_email_is_never_verified() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Spotify>(), "jane123").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "user-read-email");
    assert_profile(
        token,
        Expected {
            provider: "spotify",
            subject: "jane123",
            email: Some("jane@example.com"),
            email_verified: false,
            name: Some("Jane"),
            username: Some("jane123"),
            picture: Some("https://i.scdn.co/image/ab67.jpg"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [(Method::POST, "/api/token"), (Method::GET, "/v1/me")]
    );
    assert_eq!(
        seen[1].basic(),
        Some(("spotify-id".into(), "spotify-secret".into()))
    );
    assert!(seen[1].is_form());
}

#[tokio::test]
async fn reddit_sends_basic_auth_and_the_declared_user_agent() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Reddit>(), "jane_doe").await;
    let token = login.token();
    assert_eq!(login.authorize["duration"], "permanent");
    assert_eq!(login.authorize["scope"], "identity");
    assert_eq!(token.refresh_token.as_deref(), Some("reddit-refresh"));
    assert_profile(
        token,
        Expected {
            provider: "reddit",
            subject: "1w72",
            email: None,
            email_verified: false,
            name: Some("jane_doe"),
            username: Some("jane_doe"),
            picture: Some("https://styles.redditmedia.com/t5_abc/styles/profileIcon_x.png"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/api/v1/access_token"),
            (Method::GET, "/oauth/api/v1/me"),
        ]
    );
    assert_eq!(
        seen[1].basic(),
        Some(("reddit-id".into(), "reddit-secret".into()))
    );
    for request in &seen[1..] {
        assert_eq!(request.header("user-agent"), Some(REDDIT_USER_AGENT));
    }
}

#[tokio::test]
async fn dropbox_posts_to_get_current_account_and_trusts_email_verified() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Dropbox>(), "franz").await;
    let token = login.token();
    assert_eq!(login.authorize["token_access_type"], "offline");
    assert_eq!(login.authorize["scope"], "account_info.read");
    assert_eq!(token.refresh_token.as_deref(), Some("dropbox-refresh"));
    assert_profile(
        token,
        Expected {
            provider: "dropbox",
            subject: "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
            email: Some("franz@example.com"),
            email_verified: true,
            name: Some("Franz Ferdinand (Personal)"),
            username: None,
            picture: Some(
                "https://dl-web.dropbox.com/account_photo/get/dbaphid%3AAAH?size=128x128",
            ),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/oauth2/token"),
            (Method::POST, "/2/users/get_current_account"),
        ]
    );
    assert_eq!(seen[2].body, "");
}

#[tokio::test]
async fn zoom_verified_one_marks_the_email() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Zoom>(), "jane").await;
    let token = login.token();
    assert_eq!(login.authorize["code_challenge_method"], "S256");
    assert_eq!(token.refresh_token.as_deref(), Some("zoom-refresh"));
    assert_profile(
        token,
        Expected {
            provider: "zoom",
            subject: "KDcuGIm1QgePTO8WbOqwIQ",
            email: Some("jane@example.com"),
            email_verified: true,
            name: Some("Jane Doe"),
            username: None,
            picture: Some("https://zoom.example/p/KDcuGIm1QgePTO8WbOqwIQ.png"),
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/oauth/token"),
            (Method::GET, "/v2/users/me")
        ]
    );
    assert_eq!(
        seen[1].basic(),
        Some(("zoom-id".into(), "zoom-secret".into()))
    );
}

#[tokio::test]
async fn amazon_email_is_never_verified_and_there_is_no_picture() {
    let registry = registry(|s| s);
    let login = login(&registry.client::<Amazon>(), "johndoe").await;
    let token = login.token();
    assert_eq!(login.authorize["scope"], "profile");
    assert_profile(
        token,
        Expected {
            provider: "amazon",
            subject: "amzn1.account.K2LI23KL2LK2",
            email: Some("johndoe@example.com"),
            email_verified: false,
            name: Some("John Doe"),
            username: None,
            picture: None,
        },
    );
    let seen = login.seen();
    assert_eq!(
        calls(&seen),
        [
            (Method::POST, "/auth/o2/token"),
            (Method::GET, "/user/profile")
        ]
    );
    assert_eq!(seen[2].bearer(), Some(token.access_token.as_str()));
}
