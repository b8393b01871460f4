//! Provider configuration: the `&'static` data the macro generates, and the resolved, owned
//! form a client works with once settings and the environment are applied.
//!
//! The generated data is the declaration's entries as written (already checked by the macro).
//! Resolution runs them through the same checks as runtime settings (`oauth-clients-spec`), so
//! one code path turns "key = value" into configuration whatever its origin.

use oauth_clients_spec::{check_scope, Checked, Key, Origin, Value};
use std::fmt;
use std::time::Duration;
use url::Url;

/// One declared value, as the macro writes it into static data.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Static {
    Str(&'static str),
    Int(u64),
    Flag(bool),
    Env(&'static str),
    Choice(&'static str),
    Scope(&'static [&'static str]),
    Params(&'static [(&'static str, &'static str)]),
}

impl Static {
    /// Runs the declared value through the same checks as a runtime setting; `oauth1` for
    /// an OAuth 1.0a provider's.
    pub(crate) fn check(self, key: Key, oauth1: bool) -> Result<Checked, Vec<String>> {
        let value = match self {
            Static::Str(s) => Value::Str(s),
            Static::Int(n) => Value::Int(n),
            Static::Flag(on) => Value::Bool(on),
            Static::Env(var) => Value::Env(var),
            Static::Choice(word) => Value::Ident(word),
            Static::Scope(tokens) => return check_scope(&tokens.join(" ")).map(Checked::Scope),
            Static::Params(params) => Value::Map(params.to_vec()),
        };
        oauth_clients_spec::check_value_for(key, &value, Origin::Source, oauth1)
    }
}

/// A provider as declared in `oauth_clients!`: generated `&'static` data. Not public API: the
/// macro's output names it through `__private`.
#[doc(hidden)]
#[derive(Debug)]
pub struct ProviderConfig {
    /// The provider's name, e.g. `"github"`.
    pub name: &'static str,
    /// Whether the declared scope has `openid` (the preset's, when the declaration gives none).
    pub openid: bool,
    /// Whether it is an OAuth 1.0a provider (declared with `request_token_url`).
    pub oauth1: bool,
    /// The preset the provider's name selects, if any.
    pub preset: Option<&'static str>,
    #[doc(hidden)]
    pub entries: &'static [(Key, Static)],
}

impl ProviderConfig {
    /// The kind of provider the declaration made, which its type's methods follow.
    pub(crate) fn kind(&self) -> oauth_clients_spec::ProviderKind {
        if self.oauth1 {
            oauth_clients_spec::ProviderKind::OAuth1
        } else if self.openid {
            oauth_clients_spec::ProviderKind::OpenIdConnect
        } else {
            oauth_clients_spec::ProviderKind::OAuth2
        }
    }

    /// The declared value of a key, if the declaration sets it.
    pub fn declared(&self, key: Key) -> Option<Static> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| *value)
    }
}

/// A secret value (client secret). Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// PKCE (RFC 7636) as used on authorization requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkceMethod {
    /// SHA-256 challenge, the default.
    S256,
    /// No PKCE; only for confidential clients whose provider rejects it.
    None,
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret, the default (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A JWT signed with the client secret (HS256) as `client_assertion` (RFC 7523 §2.2,
    /// OpenID Connect Core §9).
    ClientSecretJwt,
    /// A JWT signed with the client's private key (`client_key`) as `client_assertion`
    /// (RFC 7523 §2.2, OpenID Connect Core §9).
    PrivateKeyJwt,
    /// The client's CA-issued TLS certificate, and `client_id` in the form (RFC 8705 §2.1).
    TlsClientAuth,
    /// The client's self-signed TLS certificate, registered with the provider, and `client_id`
    /// in the form (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
    /// A public client: `client_id` only, protected by PKCE.
    None,
}

/// A security profile the provider is used under (`security_profile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityProfile {
    /// The FAPI 2.0 Security Profile: pushed authorization requests, PKCE with S256, the
    /// callback's `iss` required (RFC 9207), and ID tokens signed with PS256, ES256 or EdDSA
    /// only; strong client authentication and sender-constrained tokens are required of the
    /// configuration when it is checked.
    Fapi2,
}

impl AuthMethod {
    /// The method's `token_endpoint_auth_method` name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
            AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            AuthMethod::None => "none",
        }
    }

    /// Whether the client authenticates with its TLS certificate (RFC 8705 §2).
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth
        )
    }
}

/// Where API calls put the access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPlacement {
    /// `Authorization: Bearer ...`, the default (RFC 6750 §2.1).
    Header,
    /// `access_token=...` in a form body (RFC 6750 §2.2).
    Body,
}

/// How an OAuth 1.0a provider's requests are signed (`signature_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// HMAC-SHA1 over the base string, keyed by the client and token secrets (RFC 5849
    /// §3.4.2); the default, and what most OAuth 1.0a APIs require.
    HmacSha1,
    /// As HMAC-SHA1, with SHA-256.
    HmacSha256,
    /// An RSA PKCS#1 v1.5 signature with SHA-1 by the client's private key (§3.4.3).
    RsaSha1,
    /// The secrets themselves as the signature (§3.4.4): only over https.
    Plaintext,
}

impl SignatureMethod {
    /// The name sent as `oauth_signature_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::RsaSha1 => "RSA-SHA1",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }

    pub(crate) fn from_name(name: &str) -> SignatureMethod {
        match name {
            "HMAC-SHA256" => SignatureMethod::HmacSha256,
            "RSA-SHA1" => SignatureMethod::RsaSha1,
            "PLAINTEXT" => SignatureMethod::Plaintext,
            _ => SignatureMethod::HmacSha1,
        }
    }
}

/// Where an OAuth 1.0a request carries its protocol parameters (`signature_type`, RFC 5849
/// §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureType {
    /// The `Authorization: OAuth ...` header, the default (§3.5.1).
    Header,
    /// The form body (§3.5.2): only for requests whose body is a form or empty, and not `GET`.
    Body,
    /// The URL's query (§3.5.3).
    Query,
}

impl SignatureType {
    pub(crate) fn from_name(name: &str) -> SignatureType {
        match name {
            "body" => SignatureType::Body,
            "query" => SignatureType::Query,
            _ => SignatureType::Header,
        }
    }
}

/// When a login calls the userinfo endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchUserinfo {
    /// Only when the ID token lacks a claim that the requested scopes imply and the provider
    /// has a userinfo endpoint; the default.
    Auto,
    /// On every login; the login fails if the provider has no userinfo endpoint.
    Always,
    /// Never during a login; [`Client::userinfo`](crate::Client::userinfo) still fetches it
    /// on demand.
    Never,
}

/// A provider's resolved configuration: the declaration, overridden by runtime settings, with
/// credentials read from the environment.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The provider's name, as declared.
    pub name: &'static str,
    /// The client identifier.
    pub client_id: String,
    pub(crate) client_secret: Option<Secret>,
    /// The authorization endpoint, when declared; `None` takes the discovered one.
    pub authorize_url: Option<Url>,
    /// Extra parameters added to every authorization request.
    pub authorize_params: Vec<(String, String)>,
    /// The token endpoint, when declared; `None` takes the discovered one.
    pub access_token_url: Option<Url>,
    /// Extra parameters sent with the code exchange (not with refreshes).
    pub access_token_params: Vec<(String, String)>,
    /// Where refresh requests go; `None` sends them to the token endpoint.
    pub refresh_token_url: Option<Url>,
    /// The base that relative API paths are joined to; `None` allows only absolute API URLs.
    pub api_base_url: Option<Url>,
    /// The discovery document's URL; `None` when the endpoints are all declared.
    pub server_metadata_url: Option<Url>,
    /// The expected issuer, kept as written: issuers are compared as strings. `None` derives
    /// it from `server_metadata_url`.
    pub issuer: Option<String>,
    /// Where the ID-token signing keys are published, when declared; `None` takes the
    /// discovered one.
    pub jwks_uri: Option<Url>,
    /// The userinfo endpoint, when declared; `None` takes the discovered one.
    pub userinfo_endpoint: Option<Url>,
    /// The RP-initiated logout endpoint, when declared; `None` takes the discovered one.
    pub end_session_endpoint: Option<Url>,
    /// The token revocation endpoint (RFC 7009), when declared; `None` takes the discovered
    /// one.
    pub revocation_endpoint: Option<Url>,
    /// The scope tokens requested; `openid` makes the provider an OpenID Connect provider.
    pub scope: Vec<String>,
    /// PKCE on authorization requests (default [`PkceMethod::S256`]).
    pub code_challenge_method: PkceMethod,
    /// How the client authenticates at the token endpoint (default
    /// [`AuthMethod::ClientSecretBasic`]).
    pub token_endpoint_auth_method: AuthMethod,
    /// Where API calls carry the access token (default [`TokenPlacement::Header`]).
    pub token_placement: TokenPlacement,
    /// Whether every authorization request is pushed to the provider first (RFC 9126;
    /// default `false`). Requests are pushed anyway under [`SecurityProfile::Fapi2`], and when
    /// the provider's metadata says `require_pushed_authorization_requests`.
    pub pushed_authorization_requests: bool,
    /// The pushed authorization request endpoint, when declared; `None` takes the
    /// discovered one.
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// The security profile the provider is used under, if any (`security_profile`).
    pub security_profile: Option<SecurityProfile>,
    /// When a login calls the userinfo endpoint (default [`FetchUserinfo::Auto`]).
    pub fetch_userinfo: FetchUserinfo,
    /// Clock-skew allowance for ID-token times, and how long before its expiry an access
    /// token is refreshed (default [`DEFAULT_LEEWAY`](Self::DEFAULT_LEEWAY), 60 seconds).
    pub leeway: Duration,
    /// The total time one request to the provider may take (default
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), 30 seconds).
    pub timeout: Duration,
    /// The `User-Agent` header sent to the provider; `None` sends `oauth-clients/<version>`.
    pub user_agent: Option<String>,
    /// The preset the provider is declared by, if any.
    pub preset: Option<&'static oauth_clients_spec::presets::Preset>,
    /// The values of the preset-only keys (`tenant`, `domain`, ...), given or defaulted.
    pub preset_params: Vec<(Key, String)>,
    /// For presets whose client secret the library makes (Sign in with Apple).
    pub(crate) secret_maker: Option<std::sync::Arc<crate::secret_jwt::SecretMaker>>,
    /// The key `private_key_jwt` signs its assertions with (`client_key` or
    /// `client_key_file`).
    pub(crate) assertion_key: Option<std::sync::Arc<crate::client_assertion::AssertionKey>>,
    /// `issuer`, or else the one `server_metadata_url` implies; worked out once, as every
    /// callback and ID token is compared with it.
    pub(crate) expected_issuer: Option<String>,
    /// The OAuth 1.0a settings, for a provider declared with `request_token_url`.
    pub oauth1: Option<OAuth1Config>,
    /// DPoP (RFC 9449, `dpop: true`): how proofs are signed; `None` when it is off.
    pub(crate) dpop: Option<crate::dpop::DpopAlg>,
    /// The `Authorization` header for `client_secret_basic` (a sensitive header value, which
    /// `Debug` does not show); made once, as every token request sends it.
    pub(crate) basic_credentials: Option<http::HeaderValue>,
}

impl ClientConfig {
    /// Default clock-skew allowance and refresh margin.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
    /// Default total time for one request to the provider.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Whether the provider is used under the FAPI 2.0 Security Profile.
    pub fn is_fapi2(&self) -> bool {
        self.security_profile == Some(SecurityProfile::Fapi2)
    }

    /// Whether the scope has `openid`.
    pub fn is_openid(&self) -> bool {
        self.scope.iter().any(|s| s == "openid")
    }

    /// The client secret, if the client has one.
    pub fn client_secret(&self) -> Option<&Secret> {
        self.client_secret.as_ref()
    }

    /// With DPoP on (`dpop: true`), the algorithm its proofs are signed with (`ES256`,
    /// `PS256` or `EdDSA`); `None` when DPoP is off.
    pub fn dpop_signing_alg(&self) -> Option<&'static str> {
        self.dpop.map(crate::dpop::DpopAlg::as_str)
    }

    /// The algorithm `private_key_jwt` assertions are signed with (`client_assertion_alg`, or
    /// the one the key's type implies): `RS256`, `PS256`, `ES256` or `EdDSA`; `None` with
    /// another method.
    pub fn client_assertion_alg(&self) -> Option<&'static str> {
        self.assertion_key.as_ref().map(|key| key.alg().name())
    }

    /// The value of a preset-only key (`tenant`, `domain`, ...), given or defaulted.
    pub fn preset_param(&self, key: Key) -> Option<&str> {
        self.preset_params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| value.as_str())
    }

    /// Builds the configuration from checked values and credentials. The values passed the
    /// spec's checks, so URLs parse and choices are known names.
    pub(crate) fn from_checked(
        name: &'static str,
        get: impl Fn(Key) -> Option<Checked>,
        client_id: String,
        client_secret: Option<Secret>,
    ) -> ClientConfig {
        let preset_params = Key::ALL
            .iter()
            .filter(|key| key.preset_only() && key.kind() != oauth_clients_spec::Kind::Secret)
            .filter_map(|key| match get(*key)? {
                Checked::Text(value) | Checked::Url(value) => Some((*key, value)),
                Checked::Scope(names) => Some((*key, names.join(" "))),
                _ => None,
            })
            .collect();
        let url = |key| match get(key) {
            Some(Checked::Url(s)) => Url::parse(&s).ok(),
            _ => None,
        };
        let text = |key| match get(key) {
            Some(Checked::Url(s) | Checked::Text(s)) => Some(s),
            _ => None,
        };
        let params = |key| match get(key) {
            Some(Checked::Params(params)) => params,
            _ => Vec::new(),
        };
        let choice = |key| match get(key) {
            Some(Checked::Choice(choice)) => Some(choice),
            _ => None,
        };
        let seconds = |key, default| match get(key) {
            Some(Checked::Seconds(n)) => Duration::from_secs(n),
            _ => default,
        };
        let issuer = text(Key::Issuer);
        let server_metadata_url = url(Key::ServerMetadataUrl);
        let expected_issuer = issuer.clone().or_else(|| {
            server_metadata_url
                .as_ref()
                .and_then(|url| oauth_clients_spec::expected_issuer(url.as_str()))
        });
        let token_endpoint_auth_method = match choice(Key::TokenEndpointAuthMethod) {
            Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("client_secret_jwt") => AuthMethod::ClientSecretJwt,
            Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
            Some("tls_client_auth") => AuthMethod::TlsClientAuth,
            Some("self_signed_tls_client_auth") => AuthMethod::SelfSignedTlsClientAuth,
            Some("none") => AuthMethod::None,
            _ => AuthMethod::ClientSecretBasic,
        };
        let basic_credentials = (token_endpoint_auth_method == AuthMethod::ClientSecretBasic)
            .then(|| basic_credentials(&client_id, client_secret.as_ref()));
        ClientConfig {
            name,
            client_id,
            client_secret,
            authorize_url: url(Key::AuthorizeUrl),
            authorize_params: params(Key::AuthorizeParams),
            access_token_url: url(Key::AccessTokenUrl),
            access_token_params: params(Key::AccessTokenParams),
            refresh_token_url: url(Key::RefreshTokenUrl),
            api_base_url: url(Key::ApiBaseUrl),
            server_metadata_url,
            issuer,
            jwks_uri: url(Key::JwksUri),
            userinfo_endpoint: url(Key::UserinfoEndpoint),
            end_session_endpoint: url(Key::EndSessionEndpoint),
            revocation_endpoint: url(Key::RevocationEndpoint),
            scope: match get(Key::Scope) {
                Some(Checked::Scope(scope)) => scope,
                _ => Vec::new(),
            },
            code_challenge_method: match choice(Key::CodeChallengeMethod) {
                Some("none") => PkceMethod::None,
                _ => PkceMethod::S256,
            },
            token_endpoint_auth_method,
            token_placement: match choice(Key::TokenPlacement) {
                Some("body") => TokenPlacement::Body,
                _ => TokenPlacement::Header,
            },
            pushed_authorization_requests: matches!(
                get(Key::PushedAuthorizationRequests),
                Some(Checked::Flag(true))
            ),
            pushed_authorization_request_endpoint: url(Key::PushedAuthorizationRequestEndpoint),
            security_profile: match choice(Key::SecurityProfile) {
                Some("fapi2") => Some(SecurityProfile::Fapi2),
                _ => None,
            },
            fetch_userinfo: match choice(Key::FetchUserinfo) {
                Some("always") => FetchUserinfo::Always,
                Some("never") => FetchUserinfo::Never,
                _ => FetchUserinfo::Auto,
            },
            leeway: seconds(Key::Leeway, Self::DEFAULT_LEEWAY),
            timeout: seconds(Key::Timeout, Self::DEFAULT_TIMEOUT),
            user_agent: text(Key::UserAgent),
            preset: None,
            preset_params,
            secret_maker: None,
            assertion_key: None,
            expected_issuer,
            dpop: matches!(get(Key::Dpop), Some(Checked::Flag(true))).then(|| {
                crate::dpop::DpopAlg::from_name(choice(Key::DpopSigningAlg).unwrap_or("ES256"))
            }),
            basic_credentials,
            oauth1: url(Key::RequestTokenUrl).map(|request_token_url| OAuth1Config {
                request_token_url,
                request_token_params: params(Key::RequestTokenParams),
                signature_method: SignatureMethod::from_name(
                    choice(Key::SignatureMethod).unwrap_or("HMAC-SHA1"),
                ),
                signature_type: SignatureType::from_name(
                    choice(Key::SignatureType).unwrap_or("header"),
                ),
                rsa_key: None,
            }),
        }
    }
}

/// The settings of an OAuth 1.0a provider (RFC 5849).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OAuth1Config {
    /// The temporary-credential (request-token) endpoint.
    pub request_token_url: Url,
    /// Extra parameters sent, signed, in the request-token request's query.
    pub request_token_params: Vec<(String, String)>,
    /// How requests are signed (default [`SignatureMethod::HmacSha1`]).
    pub signature_method: SignatureMethod,
    /// Where the protocol parameters go (default [`SignatureType::Header`]).
    pub signature_type: SignatureType,
    /// The private key of `RSA-SHA1`.
    pub(crate) rsa_key: Option<std::sync::Arc<crate::secret_jwt::RsaKey>>,
}

/// HTTP Basic credentials as RFC 6749 §2.3.1 wants them: each part form-urlencoded first.
pub(crate) fn basic_credentials(client_id: &str, secret: Option<&Secret>) -> http::HeaderValue {
    use base64::Engine;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let secret = secret.map(Secret::expose).unwrap_or("");
    let pair = format!("{}:{}", encode(client_id), encode(secret));
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    // "Basic " and base64 are visible ASCII: always a valid header value.
    let mut value = http::HeaderValue::try_from(format!("Basic {encoded}"))
        .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_encode_each_part_first_and_stay_out_of_debug() {
        let secret = Secret::new("s:e%cret");
        let value = basic_credentials("my app", Some(&secret));
        // base64("my+app:s%3Ae%25cret")
        assert_eq!(
            value.to_str().unwrap(),
            "Basic bXkrYXBwOnMlM0FlJTI1Y3JldA=="
        );
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("bXk"));
        assert_eq!(
            basic_credentials("public", None).to_str().unwrap(),
            "Basic cHVibGljOg=="
        );
    }
}

/// How pending logins are kept in the session: how long, and how many per provider.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StatePolicy {
    pub ttl: std::time::Duration,
    pub max_pending: usize,
}
