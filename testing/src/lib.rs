//! A local OAuth 2.0 / OpenID Connect provider on a loopback port, for tests, examples and
//! development with [`oauth_clients`]: the embedded default, as SQLite is for a database app.
//! Add it as a dev-dependency (`oauth-clients-testing`) to test your own login code.
//!
//! It implements the authorization-code grant with PKCE, refresh with rotation, discovery, ID
//! tokens, userinfo, RP-initiated logout, a small protected API and a login page, and counts
//! the requests each endpoint receives. Its behaviour can be switched at run time
//! ([`Behaviour`]) to act like real providers' quirks or like a broken or hostile one.
//!
//! ```no_run
//! # async fn demo() {
//! use oauth_clients_testing::TestProvider;
//! let provider = TestProvider::builder().auto_approve("alice").start().await.unwrap();
//! // Point a declared provider at it:
//! let settings = provider.settings_for("github");
//! # let _ = settings;
//! # }
//! ```
//!
//! [`TestProvider::log_in`] runs a whole login against it (see there for a complete test).
//!
//! # OAuth 1.0a
//!
//! The same server is also an OAuth 1.0a provider (RFC 5849), under `/oauth1/`, with one
//! client: [`OAUTH1_CONSUMER_KEY`] / [`OAUTH1_CONSUMER_SECRET`]. Point a declared OAuth 1.0a
//! provider at it with [`TestProvider::oauth1_settings_for`].
//!
//! | endpoint | what it does |
//! |---|---|
//! | `POST /oauth1/request_token` | issues a request token: `oauth_token`, `oauth_token_secret`, `oauth_callback_confirmed=true`, as a form; requires `oauth_callback` (an absolute URL, or `oob`) |
//! | `GET /oauth1/authorize?oauth_token=..` | the login page (user name, "Allow", "Deny"), or approval at once with [`auto_approve`](TestProviderBuilder::auto_approve); then a redirect to the callback with `oauth_token` and `oauth_verifier`, or with `denied=<request token>` (as X does); for `oob`, a page showing the verifier in `<code id="pin">` |
//! | `POST /oauth1/access_token` | signed with the request token, with its `oauth_verifier`: issues `oauth_token`, `oauth_token_secret`, `user_id` and `screen_name`; each request token is spent by its first access-token request that verifies |
//! | `GET`, `POST`, `PUT`, `DELETE /oauth1/api/user` | signed with an access token: answers `{"user": .., "method": .., "params": {..}}`, `params` being every query and form parameter that is not `oauth_*` |
//!
//! Every signed request is checked as a strict server would: HMAC-SHA1 or HMAC-SHA256 over
//! the signature base string of RFC 5849 §3.4.1 (method, URL, query, form body and protocol
//! parameters, which may come in the `Authorization` header, the form body or the query, from
//! one place only), compared in constant time; `oauth_timestamp` within ten minutes of the
//! provider's clock; an `oauth_nonce` never seen before with the same timestamp, client and
//! token. A refusal is `400` or `401` with a form body `oauth_problem=..` (the OAuth Problem
//! Reporting names: `signature_invalid`, `consumer_key_unknown`, `token_rejected`,
//! `token_used`, `timestamp_refused`, `nonce_used`, `verifier_invalid`, `parameter_absent`,
//! ...) and, for a `401`, `WWW-Authenticate: OAuth realm="<issuer>"`. Misbehaviours are in
//! [`Behaviour::oauth1`]; the counters are `oauth1.request_token`, `oauth1.authorize`,
//! `oauth1.access_token` and `oauth1.api` (see [`TestProvider::count`]).

#![warn(missing_docs)]

mod backend;
mod dpop;
mod login;
mod oauth1;
mod par;
mod server;

pub use backend::check_token_backend;
pub use dpop::DpopBehaviour;
pub use login::LoginError;
pub use oauth1::{CallbackConfirmation, OAuth1Behaviour, OAuth1EndpointBehaviour, ReceivedRequest};
use oauth_clients::Settings;
use openidconnect::core::CoreRsaPrivateSigningKey;
use openidconnect::JsonWebKeyId;
pub use par::ParBehaviour;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use url::Url;

/// A client registered at the test provider.
#[derive(Clone, Debug)]
pub struct TestClient {
    /// The client identifier.
    pub client_id: String,
    /// `None` for a public client.
    pub client_secret: Option<String>,
    /// Allowed redirect URIs, compared exactly; empty allows any.
    pub redirect_uris: Vec<String>,
}

/// A client that authenticates as Sign in with Apple's do: its `client_secret` is a JWT it
/// signs with an ES256 key, instead of a shared secret ("Creating a client secret",
/// <https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret>).
/// Register one with [`TestProviderBuilder::signed_secret_client`].
///
/// The token endpoint then takes only `client_secret_post` for that client, and refuses with
/// `invalid_client` a secret that is not a JWT whose header has `alg` `ES256` and this `kid`,
/// whose signature verifies with `public_key`, and whose claims have `iss` the team id, `sub`
/// the client id, `aud` the provider's [`issuer`](TestProvider::issuer), `iat` not in the
/// future, `exp` in the future, and `exp - iat` at most 15,777,000 seconds (Apple's six months).
#[derive(Clone, Debug)]
pub struct SignedSecretKey {
    /// The team id, the secret's `iss`.
    pub team_id: String,
    /// The key id, the secret's `kid`.
    pub key_id: String,
    /// The P-256 public key as an uncompressed SEC1 point (65 bytes: `0x04`, then x and y).
    pub public_key: Vec<u8>,
}

/// How the token endpoint formats its answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    /// `application/json`, the default.
    Json,
    /// `application/x-www-form-urlencoded`, as GitHub answers without `Accept: application/json`.
    Form,
}

/// How users log in at the authorization endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginMode {
    /// A page with a user-name field, and "Allow" / "Deny" buttons.
    Form,
    /// Approves at once as this user.
    AutoApprove(String),
}

/// Switchable behaviour. The defaults are a well-behaved provider.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// How users log in (default [`LoginMode::Form`]).
    pub login: LoginMode,
    /// Access-token lifetime (default one hour); `None` leaves `expires_in` out of token
    /// responses.
    pub access_token_ttl: Option<Duration>,
    /// Issue a refresh token with every token (default `true`).
    pub issue_refresh_tokens: bool,
    /// Issue a new refresh token on every refresh and invalidate the spent one (default
    /// `true`).
    pub rotate_refresh_tokens: bool,
    /// How token answers are encoded (default [`TokenFormat::Json`]).
    pub token_format: TokenFormat,
    /// The `token_type` sent (default `"Bearer"`), e.g. `"bEARER"` or `"mac"`.
    pub token_type: String,
    /// Require PKCE on every authorization request (default `true`).
    pub require_pkce: bool,
    /// Delay every token-endpoint answer (a stalled provider).
    pub token_delay: Option<Duration>,
    /// Answer the token endpoint with `307` to this URL.
    pub token_redirect_to: Option<String>,
    /// Add this many bytes of padding to token answers (an oversized body).
    pub token_padding: usize,
    /// Answer the token endpoint with this `(status, content type, body)` instead of a token.
    pub token_override: Option<(u16, String, String)>,
    /// Leave `access_token` out of token answers.
    pub omit_access_token: bool,
    /// Leave `token_type` out of token answers (which RFC 6749 §5.1 requires).
    pub omit_token_type: bool,
    /// Put the scope's claims (email, name, ...) in ID tokens; otherwise only userinfo has them
    /// (default `true`).
    pub claims_in_id_token: bool,
    /// ID-token lifetime (default five minutes).
    pub id_token_ttl: Duration,
    /// Changes every ID token before it is signed (or replaces how it is signed).
    pub id_token_hook: Option<IdTokenHook>,
    /// Answer userinfo with this `sub` instead of the user's.
    pub userinfo_sub: Option<String>,
    /// What the authorization response says in `iss` (RFC 9207).
    pub response_iss: ResponseIss,
    /// Advertise `authorization_response_iss_parameter_supported` in discovery (default
    /// `true`).
    pub advertise_response_iss: bool,
    /// Changes the discovery document before it is served.
    pub discovery_hook: Option<JsonHook>,
    /// Publish every signing key in the JWKS, not only the active one.
    pub publish_all_keys: bool,
    /// Sign ID tokens with ES256 (a P-256 key made when the provider starts, with kid
    /// `ec-1`) instead of RS256. Discovery then allows both, and the JWKS publishes the
    /// P-256 key beside the RSA one.
    pub sign_es256: bool,
    /// Extra entries added to the JWKS (e.g. keys of unknown types).
    pub jwks_extra: Vec<Value>,
    /// Changes the JWKS document (`{"keys": [..]}`) before it is served, e.g. to restrict
    /// the signing key with `key_ops`.
    pub jwks_hook: Option<JsonHook>,
    /// Answer the JWKS endpoint with this status (e.g. 503: down).
    pub jwks_status: Option<u16>,
    /// Answer the discovery endpoint with this status (e.g. 500).
    pub discovery_status: Option<u16>,
    /// The `state` sent back after logout: `None` sends the request's own.
    pub logout_state: Option<Option<String>>,
    /// Endpoints (`"discovery"`, `"jwks"`, `"userinfo"`) that answer with a redirect to
    /// `/trap` instead: a request arriving there means the client followed it.
    pub redirecting: Vec<&'static str>,
    /// The token endpoint answers 200 with a body that never ends.
    pub token_endless: bool,
    /// The `user` field a `response_mode=form_post` approval posts along with the code: Sign
    /// in with Apple's first-login JSON, e.g.
    /// `{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.test"}`
    /// (default `None`: no such field). Never sent in a query redirect.
    pub form_post_user: Option<String>,
    /// How the OAuth 1.0a endpoints under `/oauth1/` behave (default: well).
    pub oauth1: OAuth1Behaviour,
    /// The revocation endpoint answers `unsupported_token_type` for access tokens, as
    /// providers that only revoke refresh tokens do (RFC 7009 §2.2.1; default `false`).
    pub revoke_refresh_tokens_only: bool,
    /// How the pushed authorization request endpoint (`/par`, RFC 9126) behaves (default:
    /// well, advertised and not required).
    pub par: ParBehaviour,
    /// How DPoP proofs and bound tokens are treated (default: checked strictly, no nonce
    /// required); see [`DpopBehaviour`].
    pub dpop: DpopBehaviour,
}

/// What the authorization response carries as `iss`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseIss {
    /// The provider's issuer, the default.
    Correct,
    /// No `iss` at all.
    Omit,
    /// This issuer instead, e.g. another provider's (a mix-up attack).
    Value(String),
}

/// An ID token about to be signed: its header and claims, and how to sign it.
#[derive(Clone, Debug)]
pub struct IdTokenParts {
    /// The JOSE header: `alg`, `typ` and `kid`.
    pub header: Map<String, Value>,
    /// The claims: `iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `at_hash`, the login's
    /// `nonce`, and the scope's claims unless `claims_in_id_token` is off.
    pub claims: Map<String, Value>,
    /// How the token is signed (default [`Signing::ActiveKey`]).
    pub signing: Signing,
}

/// How an ID token is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signing {
    /// RS256 with the active key.
    ActiveKey,
    /// RS256 with one of the provider's keys, by index (0 to 2).
    Key(usize),
    /// ES256 with the provider's P-256 key (see [`Behaviour::sign_es256`]).
    Es256,
    /// HS256 with these key bytes.
    Hmac(Vec<u8>),
    /// No signature at all (an empty third part).
    Unsigned,
    /// The signature the token would have had (RS256 with the active key, or ES256 under
    /// [`Behaviour::sign_es256`]) with one byte changed.
    Corrupt,
    /// Replace the whole token with this text.
    Raw(String),
}

/// A change applied to each ID token.
#[derive(Clone)]
pub struct IdTokenHook(pub Arc<dyn Fn(&mut IdTokenParts) + Send + Sync>);

impl IdTokenHook {
    /// A hook that applies `change` to every ID token.
    pub fn new(change: impl Fn(&mut IdTokenParts) + Send + Sync + 'static) -> Self {
        IdTokenHook(Arc::new(change))
    }
}

impl std::fmt::Debug for IdTokenHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdTokenHook(..)")
    }
}

type JsonChange = dyn Fn(&mut Map<String, Value>) + Send + Sync;

/// A change applied to a JSON document (the discovery document, the JWKS).
#[derive(Clone)]
pub struct JsonHook(pub Arc<JsonChange>);

impl JsonHook {
    /// A hook that applies `change` to the document.
    pub fn new(change: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) -> Self {
        JsonHook(Arc::new(change))
    }
}

impl std::fmt::Debug for JsonHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonHook(..)")
    }
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            login: LoginMode::Form,
            access_token_ttl: Some(Duration::from_secs(3600)),
            issue_refresh_tokens: true,
            rotate_refresh_tokens: true,
            token_format: TokenFormat::Json,
            token_type: "Bearer".into(),
            require_pkce: true,
            token_delay: None,
            token_redirect_to: None,
            token_padding: 0,
            token_override: None,
            omit_access_token: false,
            omit_token_type: false,
            claims_in_id_token: true,
            id_token_ttl: Duration::from_secs(300),
            id_token_hook: None,
            userinfo_sub: None,
            response_iss: ResponseIss::Correct,
            advertise_response_iss: true,
            discovery_hook: None,
            publish_all_keys: false,
            sign_es256: false,
            jwks_extra: Vec::new(),
            jwks_hook: None,
            jwks_status: None,
            discovery_status: None,
            logout_state: None,
            redirecting: Vec::new(),
            token_endless: false,
            form_post_user: None,
            revoke_refresh_tokens_only: false,
            oauth1: OAuth1Behaviour::default(),
            par: ParBehaviour::default(),
            dpop: DpopBehaviour::default(),
        }
    }
}

/// The id of the client registered by default.
pub const CLIENT_ID: &str = "test-client";
/// The secret of the client registered by default.
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The consumer key (client identifier) of the OAuth 1.0a endpoints' one client.
pub const OAUTH1_CONSUMER_KEY: &str = "test-consumer";
/// The consumer secret (client shared secret) of the OAuth 1.0a endpoints' one client.
pub const OAUTH1_CONSUMER_SECRET: &str = "test-consumer-secret";

/// Builds a [`TestProvider`].
#[derive(Debug)]
pub struct TestProviderBuilder {
    behaviour: Behaviour,
    clients: Vec<TestClient>,
    signed_secret_keys: Vec<(String, SignedSecretKey)>,
    port: u16,
}

impl TestProviderBuilder {
    /// Approves every authorization request at once as `user`, without a login page.
    pub fn auto_approve(mut self, user: &str) -> Self {
        self.behaviour.login = LoginMode::AutoApprove(user.into());
        self
    }

    /// Changes the starting behaviour.
    pub fn behaviour(mut self, change: impl FnOnce(&mut Behaviour)) -> Self {
        change(&mut self.behaviour);
        self
    }

    /// Registers another client.
    pub fn client(mut self, client: TestClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Registers a client that authenticates with a JWT signed by `key` instead of a shared
    /// secret, as Sign in with Apple's clients do (see [`SignedSecretKey`]); its
    /// `client_secret` is not used.
    pub fn signed_secret_client(mut self, client: TestClient, key: SignedSecretKey) -> Self {
        self.signed_secret_keys
            .push((client.client_id.clone(), key));
        self.clients.push(TestClient {
            client_secret: None,
            ..client
        });
        self
    }

    /// Listens on this loopback port instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts the server on `127.0.0.1`, on a free port unless [`port`](Self::port) chose one,
    /// as a task of the current Tokio runtime. Fails if the port cannot be bound.
    pub async fn start(self) -> std::io::Result<TestProvider> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = listener.local_addr()?;
        let base =
            Url::parse(&format!("http://{addr}/")).expect("a socket address is a valid host");
        let keys = KEYS
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                let kid = format!("key-{}", i + 1);
                let key =
                    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.clone())))
                        .map_err(std::io::Error::other)?;
                Ok((kid, key, RsaSigner::from_pem(pem)?))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let ec_key = EcKey::generate().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            issuer: base.as_str().trim_end_matches('/').to_string(),
            keys,
            ec_key,
            active_key: Mutex::new(0),
            behaviour: Mutex::new(self.behaviour),
            clients: Mutex::new(
                self.clients
                    .into_iter()
                    .map(|c| (c.client_id.clone(), c))
                    .collect(),
            ),
            signed_secret_keys: self.signed_secret_keys.into_iter().collect(),
            grants: Mutex::new(Grants::default()),
            oauth1: Mutex::new(oauth1::Grants::default()),
            par: Mutex::new(par::Pushed::default()),
            dpop: dpop::DpopServer::default(),
            counts: Mutex::new(BTreeMap::new()),
        });
        let router = server::router(shared.clone());
        let task = tokio::spawn(async move {
            // The server ends when the provider is dropped (the task is aborted).
            let _ = axum::serve(listener, router).await;
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(TestProvider {
            base,
            shared,
            task,
            http,
        })
    }
}

/// A running local provider. Dropping it stops the server.
pub struct TestProvider {
    base: Url,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    /// The "browser" of `approve`/`deny`: one client, so thousands of logins share connections.
    http: reqwest::Client,
}

impl std::fmt::Debug for TestProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestProvider")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProvider {
    /// A provider with the default client registered (`test-client` / `test-client-secret`,
    /// any redirect URI).
    pub fn builder() -> TestProviderBuilder {
        TestProviderBuilder {
            behaviour: Behaviour::default(),
            clients: vec![TestClient {
                client_id: CLIENT_ID.into(),
                client_secret: Some(CLIENT_SECRET.into()),
                redirect_uris: Vec::new(),
            }],
            signed_secret_keys: Vec::new(),
            port: 0,
        }
    }

    /// The provider's base URL, e.g. `http://127.0.0.1:41234/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The absolute URL of `path` at the provider.
    pub fn url(&self, path: &str) -> String {
        self.base
            .join(path.trim_start_matches('/'))
            .map(String::from)
            .unwrap_or_default()
    }

    /// The issuer: the base URL without its trailing slash.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        self.url(".well-known/openid-configuration")
    }

    /// Settings that point the OpenID Connect provider `name` at this provider through
    /// discovery, with the default client's credentials.
    pub fn oidc_settings_for(&self, name: &str) -> Settings {
        Settings::new()
            .set(name, "server_metadata_url", self.discovery_url())
            .set(name, "client_id", CLIENT_ID)
            .set(name, "client_secret", CLIENT_SECRET)
    }

    /// Starts signing with the next key and publishes only that one: a key rotation.
    pub fn rotate_keys(&self) {
        let mut active = lock(&self.shared.active_key);
        *active = (*active + 1) % self.shared.keys.len();
    }

    /// Signs a JWT as the provider signs its ID tokens, with `parts`' header and claims as
    /// given and `parts.signing` (e.g. [`Signing::ActiveKey`], whose id is
    /// [`active_key_id`](Self::active_key_id); [`Signing::Corrupt`] for a forgery): for the
    /// other tokens a provider signs, such as the back-channel logout tokens it POSTs to an
    /// application.
    pub fn sign_jwt(&self, parts: IdTokenParts) -> String {
        let active = *lock(&self.shared.active_key);
        server::sign(
            &self.shared,
            active,
            self.shared.behaviour().sign_es256,
            parts,
        )
    }

    /// The key id (`kid`) of the RSA key the provider signs with now.
    pub fn active_key_id(&self) -> String {
        let active = *lock(&self.shared.active_key);
        self.shared.keys[active].0.to_string()
    }

    /// Settings that point the declared provider `name` at this provider, with the default
    /// client's credentials.
    pub fn settings_for(&self, name: &str) -> Settings {
        self.add_settings(Settings::new(), name)
    }

    /// Adds to `settings` what [`settings_for`](Self::settings_for) sets.
    pub fn add_settings(&self, settings: Settings, name: &str) -> Settings {
        self.add_endpoints(settings, name)
            .set(name, "client_id", CLIENT_ID)
            .set(name, "client_secret", CLIENT_SECRET)
    }

    /// Adds this provider's endpoints for `name` to `settings`, without credentials (for a
    /// client registered with [`TestProviderBuilder::client`]).
    pub fn add_endpoints(&self, settings: Settings, name: &str) -> Settings {
        settings
            .set(name, "authorize_url", self.url("authorize"))
            .set(name, "access_token_url", self.url("token"))
            .set(name, "api_base_url", self.url("api/"))
    }

    /// Changes the behaviour from now on.
    pub fn configure(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut lock(&self.shared.behaviour));
    }

    /// Makes a new DPoP nonce current (RFC 9449 §8, §9), as a server does from time to time:
    /// with [`DpopBehaviour::require_nonce`], the next proof with the old one is answered
    /// `use_dpop_nonce` and the new nonce.
    pub fn rotate_dpop_nonce(&self) {
        self.shared.dpop.rotate_nonce();
    }

    /// How many requests `endpoint` received, e.g. `"token"`, `"token.refresh_token"`,
    /// `"token.auth.client_secret_basic"`, `"authorize"`, `"api"`.
    ///
    /// The OAuth 1.0a endpoints count `"oauth1.request_token"`, `"oauth1.authorize"`,
    /// `"oauth1.access_token"` and `"oauth1.api"` for every request, and, for each signed
    /// request that passed every check, `"oauth1.signature_method.<method>"` (e.g.
    /// `HMAC-SHA256`) and `"oauth1.parameters_in.<place>"` (`header`, `body` or `query`).
    /// The DPoP counters are `"dpop.proof"` (each proof accepted), `"dpop.nonce_demanded"`
    /// and `"dpop.refused"`.
    pub fn count(&self, endpoint: &str) -> usize {
        lock(&self.shared.counts)
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// The parameters of every request pushed to `/par` (RFC 9126), in order, without
    /// `client_secret`. The endpoint counts `"par"` for every request, and
    /// `"par.auth.<method>"` for each that authenticated; the authorization endpoint counts
    /// `"authorize.request_uri"` for each request with a `request_uri` and
    /// `"authorize.expired_request_uri"` for each it sent back as expired.
    pub fn pushed_requests(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.shared.par).received.clone()
    }

    /// Every counter.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        lock(&self.shared.counts).clone()
    }

    /// Logs `user` in for the authorization request at `authorize_url`, as a browser would
    /// after the user approved, and returns the URL the provider redirects back to.
    ///
    /// When the request asked for `response_mode=form_post`, the provider answers with a page
    /// that POSTs the fields to the redirect URI instead of redirecting; this reads that form
    /// and returns its target with the posted fields (`code`, `state`, `iss`, and
    /// [`Behaviour::form_post_user`] as `user`) as the query, so tests without a browser read
    /// it with [`Callback::from_url`](oauth_clients::Callback::from_url) as any other
    /// callback. A browser test sees the real POST.
    pub async fn approve(&self, authorize_url: &Url, user: &str) -> Result<Url, String> {
        self.decide(authorize_url, user, true).await
    }

    /// Refuses the authorization request, as a user pressing "Deny" would.
    pub async fn deny(&self, authorize_url: &Url) -> Result<Url, String> {
        self.decide(authorize_url, "", false).await
    }

    async fn decide(&self, authorize_url: &Url, user: &str, allow: bool) -> Result<Url, String> {
        let mut form: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
        form.push(("username".into(), user.into()));
        form.push((
            "decision".into(),
            if allow { "allow" } else { "deny" }.into(),
        ));
        let response = self
            .http
            .post(self.url("authorize"))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if let Some(location) = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        {
            return Url::parse(location).map_err(|e| e.to_string());
        }
        let form_post = authorize_url
            .query_pairs()
            .any(|(k, v)| k == "response_mode" && v == "form_post");
        if form_post && status.is_success() {
            let page = response.text().await.map_err(|e| e.to_string())?;
            return posted_form(&page)
                .ok_or_else(|| "the provider's form_post page has no form to read".to_string());
        }
        Err(format!("the provider answered {status} without a redirect"))
    }
}

/// The form of a `response_mode=form_post` page (as this provider writes it): its `action`
/// with the hidden fields as the query.
fn posted_form(page: &str) -> Option<Url> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let form_start = page.find("<form ")?;
    let form_tag = &page[form_start..form_start + page[form_start..].find('>')?];
    let mut url = Url::parse(&attribute(form_tag, "action")?).ok()?;
    let mut rest = &page[form_start..];
    while let Some(at) = rest.find("<input ") {
        let tag = &rest[at..at + rest[at..].find('>')?];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            url.query_pairs_mut().append_pair(&name, &value);
        }
        rest = &rest[at + tag.len()..];
    }
    Some(url)
}

/// Reverses the provider's HTML escaping.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

pub(crate) struct Shared {
    issuer: String,
    /// RSA signing keys (kid, key for the JWKS, the same key for signing); `active_key`
    /// indexes the one in use.
    keys: Vec<(String, CoreRsaPrivateSigningKey, RsaSigner)>,
    active_key: Mutex<usize>,
    /// The P-256 key for ES256.
    ec_key: EcKey,
    behaviour: Mutex<Behaviour>,
    clients: Mutex<HashMap<String, TestClient>>,
    /// The keys of clients that authenticate with a signed JWT, by client id.
    signed_secret_keys: HashMap<String, SignedSecretKey>,
    grants: Mutex<Grants>,
    /// What the OAuth 1.0a endpoints issued and saw.
    oauth1: Mutex<oauth1::Grants>,
    /// What the pushed authorization request endpoint received and handed out.
    par: Mutex<par::Pushed>,
    /// DPoP nonces, proofs seen and bound tokens.
    dpop: dpop::DpopServer,
    counts: Mutex<BTreeMap<String, usize>>,
}

impl Shared {
    fn count(&self, name: &str) {
        *lock(&self.counts).entry(name.to_string()).or_default() += 1;
    }

    fn behaviour(&self) -> Behaviour {
        lock(&self.behaviour).clone()
    }
}

/// One of the RSA keys, for signing RS256 with ring rather than the pure-Rust `rsa` crate
/// behind openidconnect's key type, whose signing was most of this provider's CPU per login.
pub(crate) struct RsaSigner {
    pair: ring::signature::RsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl RsaSigner {
    /// Reads a PKCS#1 PEM key (`BEGIN RSA PRIVATE KEY`).
    fn from_pem(pem: &str) -> std::io::Result<RsaSigner> {
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(std::io::Error::other)?;
        let pair = ring::signature::RsaKeyPair::from_der(&der)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(RsaSigner {
            pair,
            rng: ring::rand::SystemRandom::new(),
        })
    }

    /// An RS256 (PKCS#1 v1.5, SHA-256) signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.rng,
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
    }
}

/// A P-256 signing key, made afresh for each provider.
pub(crate) struct EcKey {
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl EcKey {
    /// Its key id.
    pub(crate) const KID: &'static str = "ec-1";

    fn generate() -> Result<EcKey, &'static str> {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ALG, &rng).map_err(|_| "could not make a P-256 key")?;
        let pair = EcdsaKeyPair::from_pkcs8(&ALG, pkcs8.as_ref(), &rng)
            .map_err(|_| "could not read the P-256 key just made")?;
        Ok(EcKey { pair, rng })
    }

    /// An ES256 signature (`r || s`) of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.pair
            .sign(&self.rng, message)
            .ok()
            .map(|signature| signature.as_ref().to_vec())
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> Value {
        use base64::Engine;
        use ring::signature::KeyPair;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = self.pair.public_key().as_ref();
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": Self::KID,
            "use": "sig",
            "alg": "ES256",
            "x": b64(&point[1..33]),
            "y": b64(&point[33..65]),
        })
    }
}

/// The provider's RSA keys: made for this test provider only, and public in its source. Never
/// trust a token signed with them outside tests.
const KEYS: [&str; 3] = [
    include_str!("keys/rsa1.pem"),
    include_str!("keys/rsa2.pem"),
    include_str!("keys/rsa3.pem"),
];

#[derive(Default)]
struct Grants {
    codes: HashMap<String, CodeGrant>,
    id_tokens: HashSet<String>,
    access_tokens: HashMap<String, AccessGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
}

#[derive(Clone)]
struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    user: String,
    scope: String,
    nonce: Option<String>,
    issued: std::time::Instant,
}

#[derive(Clone)]
struct AccessGrant {
    user: String,
    scope: String,
    expires: Option<std::time::SystemTime>,
}

#[derive(Clone)]
struct RefreshGrant {
    client_id: String,
    user: String,
    scope: String,
    /// The nonce of the login, repeated in refreshed ID tokens.
    nonce: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
