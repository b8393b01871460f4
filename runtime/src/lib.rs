//! Declarative OAuth 2.0, OpenID Connect and OAuth 1.0a login for Rust web apps.
//!
//! Declare the providers once; the compiler checks the declaration, and the runtime does the
//! protocol work.
//!
//! ```
//! oauth_clients::oauth_clients! {
//!     github {
//!         authorize_url: "https://github.com/login/oauth/authorize",
//!         access_token_url: "https://github.com/login/oauth/access_token",
//!         api_base_url: "https://api.github.com/",
//!         scope: "user:email",
//!     },
//!     google {
//!         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
//!         scope: "openid profile email",
//!     },
//! }
//!
//! // One typed client per provider; credentials come from GITHUB_CLIENT_ID / ..._SECRET.
//! let github = Providers::github();
//! assert_eq!(github.name(), "github");
//! for provider in Providers::list() {
//!     println!("{} (OpenID Connect: {}, usable: {})", provider.name, provider.openid, provider.available);
//! }
//! ```
//!
//! See the [`oauth_clients!`] macro for every declaration key and the checks made on it.

#![warn(missing_docs)]

// Bottom-up; a module only uses those of its own layer or below (`.ci/module-cycles.py`
// keeps the graph free of cycles):
// 1. errors and plain data
// (`client_assertion` signs without I/O; here, beside `secret_jwt`, as the configuration
// holds its key)
mod client_assertion;
mod error;
mod params;
mod profile;
mod secret_jwt;
pub mod store;
mod token;
mod userinfo;
// 2. configuration
mod config;
mod settings;
// 3. protocol code without I/O
mod dpop;
mod id_token;
mod jose;
mod metadata;
mod oauth1;
mod seal;
mod token_response;
// 4. transport and caches
mod cache;
mod http;
mod replay;
// 5. provider services, over one provider's context
mod context;
mod discovery;
mod dpop_flow;
mod grant;
mod jwks;
mod oidc;
mod preset;
mod refresh;
mod revoke;
mod service;
mod stored;
mod vault;
// 6. session state
mod session;
mod state;
// 7. flows
mod api;
mod backchannel;
mod fapi;
mod flow;
mod identity;
mod logout;
mod oauth1_flow;
mod par;
// 8. the typed facade
mod client;
mod registry;

/// The HTTP client the library sends every request with, for
/// [`RegistryBuilder::http_client`].
pub use reqwest;

/// Framework integrations, each behind its cargo feature.
pub mod integrations {
    #[cfg(feature = "actix")]
    pub mod actix;
    #[cfg(feature = "axum")]
    pub mod axum;
}

pub use api::{ApiRequest, ApiResponse};
pub use backchannel::{BackchannelLogout, BACKCHANNEL_LOGOUT_EVENT};
pub use client::{ServiceApi, UserApi};
pub use config::{
    AuthMethod, ClientConfig, FetchUserinfo, OAuth1Config, PkceMethod, Secret, SecurityProfile,
    SignatureMethod, SignatureType, TokenPlacement,
};
pub use error::{
    ConfigError, Endpoint, Error, ErrorKind, HttpErrorKind, IdTokenError, LogoutTokenError, Origin,
    Problem, SessionError,
};
pub use flow::{AuthorizeRequest, Callback, Redirect};
pub use http::TlsRoots;
pub use logout::{LogoutCallback, LogoutRequest, LogoutState};
pub use metadata::ProviderMetadata;
pub use oauth_clients_spec::Key;
pub use profile::Profile;
pub use refresh::{HookError, TokenUpdate};
pub use registry::{
    Client, OAuth1Client, OAuth1Provider, OpenIdProvider, Provider, ProviderInfo, ProviderSet,
    Registry, RegistryBuilder,
};
pub use revoke::TokenTypeHint;
pub use seal::TOKEN_KEYS_VARIABLE;
pub use session::{MemorySession, Session};
pub use settings::{SettingValue, Settings};
pub use state::PendingLogin;
pub use store::{MemoryStore, TokenBackend};
pub use token::{OAuth1Token, Token, UserInfoResponse};
pub use userinfo::UserInfo;
pub use vault::LoginRequired;

/// Declares the OAuth 2.0 / OpenID Connect providers of an application.
///
/// ```
/// oauth_clients::oauth_clients! {
///     // Optional: the registry's visibility and name (default: `pub Providers`).
///     pub(crate) Login;
///
///     /// Our GitHub OAuth app: a preset, with its credentials from other variables.
///     github {
///         client_id: env("GH_APP_ID"),
///         client_secret: env("GH_APP_SECRET"),
///     },
///     /// Presets by name alone, or with the keys they need.
///     google,
///     microsoft { tenant: "organizations" },
///     corp_sso {
///         server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
///         scope: "openid email profile",
///         authorize_params: { prompt: "select_account" },
///         token_endpoint_auth_method: client_secret_post,
///         leeway: 30,
///     },
/// }
///
/// let sso: oauth_clients::Client<CorpSso> = Login::corp_sso();
/// # let _ = sso;
/// ```
///
/// Each provider `name { key: value, .. }` generates a type (`corp_sso` → `CorpSso`) and a
/// method on the registry (`Login::corp_sso()`). A provider declared with `request_token_url`
/// is an OAuth 1.0a provider: its method returns an [`OAuth1Client`], with the same flow names
/// and [`OAuth1Token`]s.
///
/// A provider named like a preset (`github`, `google`, `microsoft`, `apple`, `gitlab`,
/// `okta`, ... — the README lists them all) is that provider: its endpoints, scope and quirks
/// are built in, keys given override them, and the keys it needs are checked at compile time
/// (`microsoft` without `tenant`, a misspelt `gihtub`). Presets also take their own keys:
/// `tenant` and `allowed_tenants` (Microsoft), `hosted_domain` (Google), `team_id`, `key_id`
/// and `private_key` (Apple), `domain` (Okta, Auth0), `base_url` and `realm` (Keycloak,
/// GitLab, Salesforce), `region` and `user_pool_id` (Cognito). After a login,
/// [`Token::profile`] is the user's normalized [`Profile`].
///
/// The keys mirror Authlib's `register()`:
///
/// | key | value | default |
/// |---|---|---|
/// | `client_id` | `"literal"` or `env("VAR")` | `env("<NAME>_CLIENT_ID")` |
/// | `client_secret` | `env("VAR")` only: never a literal in source | `env("<NAME>_CLIENT_SECRET")` |
/// | `authorize_url`, `access_token_url`, `refresh_token_url` | URL or `env("VAR")` | discovered |
/// | `authorize_params`, `access_token_params` | `{ name: "value", .. }` | none |
/// | `api_base_url` | URL ending in `/`, or `env("VAR")` | none |
/// | `server_metadata_url` | URL of the discovery document, or `env("VAR")` | none |
/// | `issuer`, `jwks_uri`, `userinfo_endpoint`, `end_session_endpoint`, `revocation_endpoint` | URL or `env("VAR")` | discovered |
/// | `scope` | `"space separated tokens"` | none |
/// | `code_challenge_method` | `S256` or `none` | `S256` |
/// | `token_endpoint_auth_method` | `client_secret_basic`, `client_secret_post`, `client_secret_jwt`, `private_key_jwt`, `tls_client_auth`, `self_signed_tls_client_auth` or `none` | `client_secret_basic` |
/// | `client_key`, `client_key_file`, `client_key_id`, `client_assertion_alg` | `private_key_jwt`'s key (`env("VAR")` only, or a file), `kid` and algorithm | `env("<NAME>_CLIENT_KEY")`; from the key |
/// | `client_certificate`, `client_certificate_key` | `env("VAR")` only, PEM (mutual TLS) | none |
/// | `dpop`, `dpop_signing_alg` | `true`/`false`; `ES256`, `PS256` or `EdDSA` | `false`; `ES256` |
/// | `pushed_authorization_requests`, `pushed_authorization_request_endpoint` | `true`/`false`; URL or `env("VAR")` | when the provider requires it; discovered |
/// | `security_profile` | `fapi2` | none |
/// | `token_placement` | `header` or `body` | `header` |
/// | `fetch_userinfo` | `auto`, `always` or `never` (OpenID Connect only) | `auto` |
/// | `leeway`, `timeout` | seconds | 60, 30 |
/// | `user_agent` | string | `oauth-clients/<version>` |
/// | `request_token_url` (makes it OAuth 1.0a), `request_token_params` | URL or `env("VAR")`; `{ .. }` | none |
/// | `signature_method` | `"HMAC-SHA1"`, `"HMAC-SHA256"`, `"RSA-SHA1"`, `"PLAINTEXT"` (OAuth 1.0a) | `"HMAC-SHA1"` |
/// | `signature_type` | `header`, `body` or `query` (OAuth 1.0a) | `header` |
/// | `rsa_key` | `env("VAR")` only (OAuth 1.0a `RSA-SHA1`) | `env("<NAME>_RSA_KEY")` |
/// | preset keys (`tenant`, `domain`, ...) | a name, or `env("VAR")` | the preset's |
///
/// A URL known only at run time (one discovery URL per deployment) is written `env("VAR")`:
/// the variable is read when the registry is built, unless runtime settings set the key, and
/// checked by the same rules as a URL written out; an unset variable is reported by name,
/// with every other problem. The checks across keys count such a key as declared. Only URLs
/// and credentials take `env(..)`: the scope, for one, decides at compile time what kind of
/// provider it is.
///
/// ```
/// oauth_clients::oauth_clients! {
///     corp_sso {
///         server_metadata_url: env("CORP_DISCOVERY_URL"),
///         scope: "openid email",
///     },
/// }
/// ```
///
/// URLs must be `https://` (`http://` only for loopback hosts). A provider needs
/// `server_metadata_url`, or both `authorize_url` and `access_token_url`; with `openid` in its
/// scope it also needs a way to verify ID tokens (`server_metadata_url`, or `issuer` and
/// `jwks_uri`). Mistakes are compile errors on the offending token, all reported at once:
///
/// ```compile_fail
/// oauth_clients::oauth_clients! {
///     github {
///         authorize_url: "http://github.com/login/oauth/authorize", // not https
///         access_token_url: "https://github.com/login/oauth/access_token",
///         client_secret: "hunter2", // a literal secret
///     },
/// }
/// ```
#[macro_export]
macro_rules! oauth_clients {
    ($($input:tt)*) => {
        $crate::__private::__oauth_clients! { $crate; $($input)* }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::config::{ProviderConfig, Static};
    pub use crate::registry::sealed::{
        DeclaredOAuth1, DeclaredOpenId, DeclaredProvider, DeclaredSet,
    };
    pub use crate::registry::{
        Client, GlobalCell, OAuth1Client, OAuth1Provider, OpenIdProvider, Provider, ProviderSet,
        Registry, RegistryBuilder,
    };
    pub use crate::ProviderInfo;
    pub use oauth_clients_macros::__oauth_clients;
    pub use oauth_clients_spec::Key;
}
