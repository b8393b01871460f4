//! The typed facade: every flow of [`Client<P>`], as the application calls it.
//!
//! Each method only hands over to the provider's [`Context`], where the flow is implemented
//! once for every provider: the type `P` decides which methods exist (the OpenID Connect ones
//! only for `P: OpenIdProvider`) and costs nothing more. The methods return the flow's future
//! directly instead of wrapping it in one of their own, so no code is compiled per provider.

use crate::api::ApiRequest;
use crate::context::Context;
use crate::error::Error;
use crate::flow::{AuthorizeRequest, Callback, Redirect};
use crate::logout::{LogoutCallback, LogoutRequest, LogoutState};
use crate::metadata::ProviderMetadata;
use crate::registry::{Client, OAuth1Client, OAuth1Provider, OpenIdProvider, Provider};
use crate::session::Session;
use crate::state::PendingLogin;
use crate::token::{OAuth1Token, Token, UserInfoResponse};
use crate::userinfo::UserInfo;
use http::Method;
use std::future::Future;
use url::Url;

impl<P: Provider> Client<P> {
    #[inline]
    fn context(&self) -> &Context {
        &self.context
    }

    /// Starts an authorization request with per-call parameters:
    /// `client.authorize(uri).param("prompt", "consent").redirect(&session).await`.
    #[inline]
    pub fn authorize(&self, redirect_uri: impl Into<String>) -> AuthorizeRequest<'_> {
        self.context().authorize(redirect_uri)
    }
    /// Redirects the user to the provider to log in (Authlib's `authorize_redirect`). State,
    /// PKCE and (for OpenID Connect) nonce are generated and kept in the session.
    ///
    /// `redirect_uri` is where the provider sends the user back: an absolute URL, registered
    /// with the provider. Fails if the provider is not configured, `redirect_uri` is not an
    /// absolute URL, the authorization endpoint cannot be discovered, or the session fails.
    /// Use [`authorize`](Self::authorize) to add parameters such as `prompt`.
    ///
    /// ```no_run
    /// use oauth_clients::{oauth_clients, Callback, MemorySession};
    ///
    /// oauth_clients! {
    ///     github {
    ///         authorize_url: "https://github.com/login/oauth/authorize",
    ///         access_token_url: "https://github.com/login/oauth/access_token",
    ///         api_base_url: "https://api.github.com/",
    ///         scope: "user:email",
    ///     },
    /// }
    ///
    /// # async fn demo() -> Result<(), oauth_clients::Error> {
    /// // In a web app, the framework's session (see `oauth_clients::integrations`).
    /// let session = MemorySession::new();
    ///
    /// // GET /login
    /// let redirect = Providers::github()
    ///     .authorize_redirect(&session, "https://app.example/auth")
    ///     .await?;
    /// println!("send the browser to {}", redirect.location());
    ///
    /// // GET /auth?code=...&state=..., the provider's redirect back
    /// let callback = Callback::from_query("code=...&state=...");
    /// let token = Providers::github()
    ///     .authorize_access_token(&session, &callback)
    ///     .await?;
    /// # let _ = token;
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn authorize_redirect<'a, S: Session>(
        &'a self,
        session: &'a S,
        redirect_uri: &'a str,
    ) -> impl Future<Output = Result<Redirect, Error>> + 'a {
        self.context().authorize_redirect(session, redirect_uri)
    }
    /// The authorization URL and the pending login, for applications without a session.
    #[inline]
    pub fn authorize_url<'a>(
        &'a self,
        redirect_uri: &'a str,
    ) -> impl Future<Output = Result<(Url, PendingLogin), Error>> + 'a {
        self.context().authorize_url(redirect_uri)
    }
    /// Handles the provider's redirect back (Authlib's `authorize_access_token`): checks the
    /// callback and the session's pending login, then exchanges the code for a token.
    ///
    /// The pending login is consumed first, even when the callback carries an error: a
    /// callback is accepted once. For an OpenID Connect provider the ID token is validated,
    /// the user's claims are in [`Token::userinfo`], and the ID token is kept in the session
    /// for [`logout_redirect`](Self::logout_redirect). See
    /// [`authorize_redirect`](Self::authorize_redirect) for an example.
    ///
    /// Fails with [`Error::RepeatedParameter`] when a parameter of the callback came more than
    /// once (the state is then not consumed), [`Error::Authorization`] when the user or
    /// provider refused, [`Error::MissingState`], [`Error::UnknownState`],
    /// [`Error::ExpiredState`] or [`Error::ReplayedState`] for a callback this session cannot
    /// accept,
    /// [`Error::IssuerMismatch`] or [`Error::MissingIssuer`] when the callback's `iss`
    /// (RFC 9207) is wrong or missing, [`Error::TokenEndpoint`] when the provider refused the
    /// code, and [`Error::IdToken`] when the ID token is invalid. [`Error::status`] gives the
    /// HTTP status for an error page.
    #[inline]
    pub fn authorize_access_token<'a, S: Session>(
        &'a self,
        session: &'a S,
        callback: &'a Callback,
    ) -> impl Future<Output = Result<Token, Error>> + 'a {
        self.context().authorize_access_token(session, callback)
    }
    /// Finishes a login started with [`authorize_url`](Self::authorize_url): checks the
    /// callback against `pending`, which the application kept, and exchanges the code.
    #[inline]
    pub fn exchange_code<'a>(
        &'a self,
        pending: &'a PendingLogin,
        callback: &'a Callback,
    ) -> impl Future<Output = Result<Token, Error>> + 'a {
        self.context().exchange_code(pending, callback)
    }
    /// A `GET` of `path` with `token` (Authlib's `oauth.github.get("user", token=...)`);
    /// `.await` sends it.
    ///
    /// `path` is joined to `api_base_url` (a leading `/` changes nothing), or is an absolute
    /// `https://` URL. The token goes in the `Authorization` header, or in a form body with
    /// `token_placement: body`. A token that expires within the provider's `leeway` is
    /// refreshed first, and so is a token of unknown expiry that gets a `401`; the response
    /// then carries the new token in [`ApiResponse::new_token`](crate::ApiResponse::new_token). Any other status, redirects
    /// included (never followed), comes back as is: see [`ApiResponse::error_for_status`](crate::ApiResponse::error_for_status).
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     github {
    /// #         authorize_url: "https://github.com/login/oauth/authorize",
    /// #         access_token_url: "https://github.com/login/oauth/access_token",
    /// #         api_base_url: "https://api.github.com/",
    /// #     },
    /// # }
    /// # async fn demo(token: oauth_clients::Token) -> Result<(), Box<dyn std::error::Error>> {
    /// let github = Providers::github();
    /// let response = github
    ///     .get("user/repos", &token)
    ///     .query(&serde_json::json!({ "per_page": 10 }))
    ///     .await?
    ///     .error_for_status(github.name())?;
    /// if let Some(new_token) = response.new_token() {
    ///     // Store it in place of `token`.
    /// #   let _ = new_token;
    /// }
    /// let repos: serde_json::Value = response.json()?;
    /// # let _ = repos;
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn get<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().get(path, token)
    }
    /// A `POST` of `path` with `token`; see [`get`](Self::get).
    #[inline]
    pub fn post<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().post(path, token)
    }
    /// A `PUT` of `path` with `token`; see [`get`](Self::get).
    #[inline]
    pub fn put<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().put(path, token)
    }
    /// A `PATCH` of `path` with `token`; see [`get`](Self::get).
    #[inline]
    pub fn patch<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().patch(path, token)
    }
    /// A `DELETE` of `path` with `token`; see [`get`](Self::get).
    #[inline]
    pub fn delete<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().delete(path, token)
    }
    /// A request with any method; see [`get`](Self::get).
    #[inline]
    pub fn request<'a>(&'a self, method: Method, path: &str, token: &'a Token) -> ApiRequest<'a> {
        self.context().request(method, path, token)
    }
    /// Refreshes `token` now (normally API calls do it when needed), running the token-update
    /// hooks. Concurrent refreshes of the same refresh token share one request, and a caller
    /// that arrives shortly after with the spent refresh token gets the same new token.
    ///
    /// When the provider sends no new refresh token, the old one is kept. For an OpenID
    /// Connect provider, a new ID token is validated and must name the same issuer, subject
    /// and audience as the original. Fails with [`Error::TokenExpired`] when `token` has no
    /// refresh token, [`Error::TokenEndpoint`] when the provider refuses it (e.g.
    /// `invalid_grant`: the user must log in again), and [`Error::TokenUpdateHook`], which
    /// carries the new token, when a hook fails.
    #[inline]
    pub fn refresh<'a>(
        &'a self,
        token: &'a Token,
    ) -> impl Future<Output = Result<Token, Error>> + 'a {
        self.context().refresh(token)
    }
    /// The provider's metadata, read-only: its endpoints, issuer and supported algorithms,
    /// as the flows use them (declared values over the discovery document's).
    ///
    /// With `server_metadata_url`, the discovery document is fetched on first use, checked
    /// (its `issuer`, every endpoint's URL) and cached, as for a login: this call costs a
    /// request only when nothing is cached yet. Fails as discovery does, e.g. with
    /// [`Error::IssuerMismatch`] or [`Error::Http`], and with [`Error::NotConfigured`] for a
    /// provider that cannot be used.
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo() -> Result<(), oauth_clients::Error> {
    /// let metadata = Providers::google().metadata().await?;
    /// println!("issuer: {:?}", metadata.issuer());
    /// if !metadata.scopes_supported().iter().any(|s| s == "email") {
    ///     println!("this provider may not share email addresses");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn metadata(&self) -> impl Future<Output = Result<ProviderMetadata, Error>> + '_ {
        self.context().metadata()
    }

    // The OpenID Connect flows. Bounded per method rather than per impl block, so that
    // calling one on an OAuth 2.0 provider reports `OpenIdProvider`'s own message (what to
    // add to the declaration) instead of a bare "method not found".

    /// Prepares an RP-initiated logout with optional parameters.
    #[inline]
    pub fn logout(&self) -> LogoutRequest<'_>
    where
        P: OpenIdProvider,
    {
        self.context().logout()
    }
    /// Redirects the user to the provider to log out (Authlib's `logout_redirect`), with the
    /// ID token of their login as `id_token_hint`. Clear your own session too.
    ///
    /// With a `post_logout_redirect_uri` (registered with the provider), a one-time `state` is
    /// kept in the session for [`validate_logout_response`](Self::validate_logout_response).
    /// Fails with [`Error::MissingEndpoint`] when the provider has no end-session endpoint.
    /// Only OpenID Connect providers have this method; [`logout`](Self::logout) takes more
    /// parameters.
    ///
    /// ```no_run
    /// use oauth_clients::{oauth_clients, LogoutCallback, MemorySession};
    ///
    /// oauth_clients! {
    ///     corp_sso {
    ///         server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
    ///         scope: "openid email",
    ///     },
    /// }
    ///
    /// # async fn demo(session: MemorySession) -> Result<(), oauth_clients::Error> {
    /// // GET /logout
    /// let redirect = Providers::corp_sso()
    ///     .logout_redirect(&session, Some("https://app.example/logged-out"))
    ///     .await?;
    /// println!("send the browser to {}", redirect.location());
    ///
    /// // GET /logged-out?state=..., the provider's redirect back
    /// let callback = LogoutCallback::from_query("state=...");
    /// let logout = Providers::corp_sso()
    ///     .validate_logout_response(&session, &callback)
    ///     .await?;
    /// assert_eq!(
    ///     logout.post_logout_redirect_uri.as_deref(),
    ///     Some("https://app.example/logged-out")
    /// );
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn logout_redirect<'a, S: Session>(
        &'a self,
        session: &'a S,
        post_logout_redirect_uri: Option<&'a str>,
    ) -> impl Future<Output = Result<Redirect, Error>> + 'a
    where
        P: OpenIdProvider,
    {
        self.context()
            .logout_redirect(session, post_logout_redirect_uri)
    }
    /// Checks the provider's redirect back after logout (Authlib's `validate_logout_response`)
    /// and returns what was stored with its state. The state is single-use.
    ///
    /// Fails with [`Error::MissingState`], [`Error::UnknownState`], [`Error::ExpiredState`] or
    /// [`Error::ReplayedState`] when the callback's `state` is not one this session is
    /// waiting for, and with [`Error::RepeatedParameter`] when it has more than one `state`
    /// (the logout's state then stays pending). See [`logout_redirect`](Self::logout_redirect) for an example.
    #[inline]
    pub fn validate_logout_response<'a, S: Session>(
        &'a self,
        session: &'a S,
        callback: &'a LogoutCallback,
    ) -> impl Future<Output = Result<LogoutState, Error>> + 'a
    where
        P: OpenIdProvider,
    {
        self.context().validate_logout_response(session, callback)
    }
    /// Validates the ID token of a stored token again (Authlib's `parse_id_token`) and returns
    /// its claims. Pass the login's nonce when you kept it; with `None`, any nonce is
    /// accepted. An expired ID token is refused.
    ///
    /// Fails with [`Error::IdToken`]; its reason is [`IdTokenError::Missing`](crate::IdTokenError::Missing) when the token
    /// has no ID token. Only OpenID Connect providers have this method.
    #[inline]
    pub fn parse_id_token<'a>(
        &'a self,
        token: &'a Token,
        nonce: Option<&'a str>,
    ) -> impl Future<Output = Result<UserInfo, Error>> + 'a
    where
        P: OpenIdProvider,
    {
        self.context().parse_id_token(token, nonce)
    }
    /// Who signed in: the user's claims in a token from a login (or refresh) with this
    /// provider, [`Token::userinfo`]. They come from the ID token validated then, merged with
    /// the userinfo endpoint's answer when it was called; their [`sub`](UserInfo::sub) is
    /// the user's identity at this provider. Nothing is fetched or checked again (see
    /// [`parse_id_token`](Self::parse_id_token) and [`userinfo`](Self::userinfo) for that).
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo(session: oauth_clients::MemorySession, callback: oauth_clients::Callback) -> Result<(), oauth_clients::Error> {
    /// let token = Providers::google().authorize_access_token(&session, &callback).await?;
    /// let user = Providers::google().user(&token)?;
    /// println!("signed in: {} ({:?})", user.sub(), user.email());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Every login with an OpenID Connect provider has them; this fails with
    /// [`Error::IdToken`] ([`IdTokenError::Missing`](crate::IdTokenError::Missing)) only for a token that did not come from
    /// one. Only OpenID Connect providers have this method.
    #[inline]
    pub fn user<'t>(&self, token: &'t Token) -> Result<&'t UserInfo, Error>
    where
        P: OpenIdProvider,
    {
        self.context().user(token)
    }
    /// Fetches the userinfo endpoint now (Authlib's `userinfo`). Its `sub` must match the
    /// token's subject, taken from `token.userinfo` or else its ID token.
    ///
    /// The token is handled as API calls handle it (see [`get`](Self::get)): one that expires
    /// within the provider's `leeway` is refreshed first, and one of unknown expiry that gets
    /// a `401` is refreshed once and the request retried; one refresh per refresh token
    /// however many callers, the token-update hooks awaited before the new token is used, and
    /// the new token handed back in [`UserInfoResponse::new_token`].
    ///
    /// Fails with [`Error::UserinfoSubjectMismatch`] when the answer is about another user,
    /// [`Error::IdToken`] when the token has no subject to compare with,
    /// [`Error::MissingEndpoint`] when the provider has no userinfo endpoint,
    /// [`Error::InvalidUserinfo`] for an answer that is not a JSON object with `sub` (signed
    /// `application/jwt` answers are not supported), and as [`refresh`](Self::refresh) does
    /// when a refresh fails. Only OpenID Connect providers have this method.
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo(token: oauth_clients::Token) -> Result<(), oauth_clients::Error> {
    /// let mut answer = Providers::google().userinfo(&token).await?;
    /// if let Some(new_token) = answer.take_new_token() {
    ///     // Store it in place of `token`.
    /// #   let _ = new_token;
    /// }
    /// println!("{:?}", answer.info().email());
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn userinfo<'a>(
        &'a self,
        token: &'a Token,
    ) -> impl Future<Output = Result<UserInfoResponse, Error>> + 'a
    where
        P: OpenIdProvider,
    {
        self.context().userinfo(token)
    }
}

impl<P: OAuth1Provider> OAuth1Client<P> {
    /// Redirects the user to the provider to log in (Authlib's `authorize_redirect`): fetches
    /// a request token with `oauth_callback` set to `redirect_uri` (RFC 5849 §2.1), keeps its
    /// secret in the session under the request token, and returns the redirect to
    /// `authorize_url`.
    ///
    /// `redirect_uri` is an absolute URL registered with the provider, or `oob` for the
    /// out-of-band flow, where the provider shows the user a PIN to type into the application
    /// (see [`authorize_access_token`](Self::authorize_access_token)). Several logins may be
    /// pending at once; each expires and is used once, as for OAuth 2.0.
    ///
    /// Fails with [`Error::CallbackNotConfirmed`] when the provider does not confirm the
    /// callback (`oauth_callback_confirmed=true`, OAuth 1.0a's fix for session fixation),
    /// [`Error::OAuth1Endpoint`] when it refuses the request (with its `oauth_problem`, if
    /// any), [`Error::InvalidTokenResponse`] for an answer without a usable request token, and
    /// [`Error::Http`] when it cannot be reached, answers too slowly or too much. Nothing is
    /// stored in the session then.
    ///
    /// ```no_run
    /// use oauth_clients::{oauth_clients, Callback, MemorySession};
    ///
    /// oauth_clients! {
    ///     trello {
    ///         request_token_url: "https://trello.com/1/OAuthGetRequestToken",
    ///         authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
    ///         access_token_url: "https://trello.com/1/OAuthGetAccessToken",
    ///         api_base_url: "https://api.trello.com/1/",
    ///         authorize_params: { scope: "read", name: "My app" },
    ///     },
    /// }
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let session = MemorySession::new();
    /// // GET /login
    /// let redirect = Providers::trello()
    ///     .authorize_redirect(&session, "https://app.example/auth")
    ///     .await?;
    /// println!("send the browser to {}", redirect.location());
    ///
    /// // GET /auth?oauth_token=...&oauth_verifier=..., the provider's redirect back
    /// let callback = Callback::from_query("oauth_token=...&oauth_verifier=...");
    /// let token = Providers::trello()
    ///     .authorize_access_token(&session, &callback)
    ///     .await?;
    /// let me: serde_json::Value = Providers::trello()
    ///     .get("members/me", &token)
    ///     .await?
    ///     .error_for_status("trello")?
    ///     .json()?;
    /// # let _ = me;
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn authorize_redirect<'a, S: Session>(
        &'a self,
        session: &'a S,
        redirect_uri: &'a str,
    ) -> impl Future<Output = Result<Redirect, Error>> + 'a {
        self.context
            .oauth1_authorize_redirect(session, redirect_uri)
    }
    /// Handles the provider's redirect back (Authlib's `authorize_access_token`): takes the
    /// pending login of the callback's `oauth_token` from the session (once), then exchanges
    /// the request token and `oauth_verifier` for token credentials (RFC 5849 §2.3).
    ///
    /// For the out-of-band flow, build the callback from the request token in the redirect's
    /// URL and the PIN the user typed: [`Callback::from_query`] with
    /// `oauth_token=...&oauth_verifier=<PIN>`.
    ///
    /// Fails with [`Error::MissingRequestToken`], [`Error::UnknownRequestToken`] (never issued
    /// to this session), [`Error::ExpiredRequestToken`] or [`Error::ReplayedRequestToken`] for
    /// a callback this session cannot accept, [`Error::MissingVerifier`],
    /// [`Error::Authorization`] when the user refused (X's `denied=`), [`Error::OAuth1Endpoint`]
    /// when the provider refuses the exchange, and as
    /// [`authorize_redirect`](Self::authorize_redirect) for a bad answer.
    #[inline]
    pub fn authorize_access_token<'a, S: Session>(
        &'a self,
        session: &'a S,
        callback: &'a Callback,
    ) -> impl Future<Output = Result<OAuth1Token, Error>> + 'a {
        self.context
            .oauth1_authorize_access_token(session, callback)
    }
    /// A `GET` of `path`, signed with `token` (Authlib's `oauth.twitter.get(url, token=...)`);
    /// `.await` sends it.
    ///
    /// Every request gets a fresh nonce and timestamp. The signature covers the method, the
    /// URL, the query and a form body's parameters (RFC 5849 §3.4.1); the protocol parameters
    /// go where `signature_type` says. `path` is joined to `api_base_url`, or is an absolute
    /// `https://` URL. Any status comes back as is: see
    /// [`ApiResponse::error_for_status`](crate::ApiResponse::error_for_status).
    #[inline]
    pub fn get<'a>(&'a self, path: &str, token: &'a OAuth1Token) -> ApiRequest<'a> {
        self.context.oauth1_request(Method::GET, path, token)
    }
    /// A `POST` of `path`, signed with `token`; see [`get`](Self::get).
    #[inline]
    pub fn post<'a>(&'a self, path: &str, token: &'a OAuth1Token) -> ApiRequest<'a> {
        self.context.oauth1_request(Method::POST, path, token)
    }
    /// A `PUT` of `path`, signed with `token`; see [`get`](Self::get).
    #[inline]
    pub fn put<'a>(&'a self, path: &str, token: &'a OAuth1Token) -> ApiRequest<'a> {
        self.context.oauth1_request(Method::PUT, path, token)
    }
    /// A `PATCH` of `path`, signed with `token`; see [`get`](Self::get).
    #[inline]
    pub fn patch<'a>(&'a self, path: &str, token: &'a OAuth1Token) -> ApiRequest<'a> {
        self.context.oauth1_request(Method::PATCH, path, token)
    }
    /// A `DELETE` of `path`, signed with `token`; see [`get`](Self::get).
    #[inline]
    pub fn delete<'a>(&'a self, path: &str, token: &'a OAuth1Token) -> ApiRequest<'a> {
        self.context.oauth1_request(Method::DELETE, path, token)
    }
    /// A request with any method, signed with `token`; see [`get`](Self::get).
    #[inline]
    pub fn request<'a>(
        &'a self,
        method: Method,
        path: &str,
        token: &'a OAuth1Token,
    ) -> ApiRequest<'a> {
        self.context.oauth1_request(method, path, token)
    }
}

/// API calls for a user whose token is in the registry's token store (Authlib's `fetch_token`,
/// done by the library): from [`Client::for_user`] or [`OAuth1Client::for_user`].
///
/// Each request loads the user's token; an OAuth 2.0 token that expires within the leeway (or
/// of unknown expiry that gets a `401`) is refreshed first, once across every process sharing
/// the store, the token-update hooks run, and the new token is written back before the call
/// goes on.
#[derive(Clone, Copy)]
pub struct UserApi<'a> {
    context: &'a Context,
    user: &'a str,
}

impl std::fmt::Debug for UserApi<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserApi")
            .field("provider", &self.context.name())
            .finish_non_exhaustive()
    }
}

impl<'a> UserApi<'a> {
    /// A `GET` of `path` with the user's stored token; see [`Client::get`].
    #[inline]
    pub fn get(&self, path: &str) -> ApiRequest<'a> {
        self.context.user_request(Method::GET, path, self.user)
    }
    /// A `POST` of `path` with the user's stored token; see [`Client::get`].
    #[inline]
    pub fn post(&self, path: &str) -> ApiRequest<'a> {
        self.context.user_request(Method::POST, path, self.user)
    }
    /// A `PUT` of `path` with the user's stored token; see [`Client::get`].
    #[inline]
    pub fn put(&self, path: &str) -> ApiRequest<'a> {
        self.context.user_request(Method::PUT, path, self.user)
    }
    /// A `PATCH` of `path` with the user's stored token; see [`Client::get`].
    #[inline]
    pub fn patch(&self, path: &str) -> ApiRequest<'a> {
        self.context.user_request(Method::PATCH, path, self.user)
    }
    /// A `DELETE` of `path` with the user's stored token; see [`Client::get`].
    #[inline]
    pub fn delete(&self, path: &str) -> ApiRequest<'a> {
        self.context.user_request(Method::DELETE, path, self.user)
    }
    /// A request with any method and the user's stored token; see [`Client::get`].
    #[inline]
    pub fn request(&self, method: Method, path: &str) -> ApiRequest<'a> {
        self.context.user_request(method, path, self.user)
    }
    /// The user's OAuth 2.0 token, refreshed first (once across processes) when it expires
    /// within the leeway: for a call the library does not make itself.
    ///
    /// Fails with [`Error::NoStoredToken`] when there is none, [`Error::LoginRequired`] when
    /// the provider refused its refresh token, [`Error::TamperedToken`] when the stored record
    /// fails authentication, and [`Error::TokenStore`] when the store does.
    pub async fn token(&self) -> Result<Token, Error> {
        let (_, token, _) = self.context.stored_usable_token(self.user).await?;
        Ok(token)
    }
}

/// API calls with the client's own token, from the client credentials grant (RFC 6749 §4.4):
/// for what a service does on its own behalf, with no user involved. Made by
/// [`Client::service`] and [`Client::service_with_scope`].
///
/// The token is fetched on first use and reused until it expires within the provider's
/// `leeway`; an API answer `401` replaces it once. Concurrent callers share one token request,
/// and the token-update hooks run for every new token. Client authentication is the
/// provider's `token_endpoint_auth_method`.
#[derive(Clone, Copy)]
pub struct ServiceApi<'a> {
    context: &'a Context,
    scope: Option<&'a str>,
}

impl std::fmt::Debug for ServiceApi<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceApi")
            .field("provider", &self.context.name())
            .field("scope", &self.scope)
            .finish()
    }
}

impl<'a> ServiceApi<'a> {
    pub(crate) fn new(context: &'a Context, scope: Option<&'a str>) -> Self {
        ServiceApi { context, scope }
    }
    /// A `GET` of `path` with the client's token; see [`Client::get`].
    #[inline]
    pub fn get(&self, path: &str) -> ApiRequest<'a> {
        self.context.service_request(Method::GET, path, self.scope)
    }
    /// A `POST` of `path` with the client's token; see [`Client::get`].
    #[inline]
    pub fn post(&self, path: &str) -> ApiRequest<'a> {
        self.context.service_request(Method::POST, path, self.scope)
    }
    /// A `PUT` of `path` with the client's token; see [`Client::get`].
    #[inline]
    pub fn put(&self, path: &str) -> ApiRequest<'a> {
        self.context.service_request(Method::PUT, path, self.scope)
    }
    /// A `PATCH` of `path` with the client's token; see [`Client::get`].
    #[inline]
    pub fn patch(&self, path: &str) -> ApiRequest<'a> {
        self.context
            .service_request(Method::PATCH, path, self.scope)
    }
    /// A `DELETE` of `path` with the client's token; see [`Client::get`].
    #[inline]
    pub fn delete(&self, path: &str) -> ApiRequest<'a> {
        self.context
            .service_request(Method::DELETE, path, self.scope)
    }
    /// A request with any method and the client's token; see [`Client::get`].
    #[inline]
    pub fn request(&self, method: Method, path: &str) -> ApiRequest<'a> {
        self.context.service_request(method, path, self.scope)
    }
    /// The client's token, fetched when there is no usable one: for a call the library does
    /// not make itself. Fails with [`Error::TokenEndpoint`] when the provider refuses the
    /// grant (e.g. `unauthorized_client`), and as any token request does.
    pub async fn token(&self) -> Result<Token, Error> {
        self.context.service_token(self.scope, None).await
    }
}

impl<P: Provider> Client<P> {
    /// API calls with the client's own token (client credentials grant), asking for no
    /// particular scope; see [`ServiceApi`].
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     billing {
    /// #         authorize_url: "https://billing.example/authorize",
    /// #         access_token_url: "https://billing.example/token",
    /// #         api_base_url: "https://billing.example/api/",
    /// #     },
    /// # }
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let billing = Providers::billing();
    /// let invoices = billing
    ///     .service_with_scope("invoices:read")
    ///     .get("invoices")
    ///     .await?
    ///     .error_for_status(billing.name())?;
    /// # let _ = invoices;
    /// # Ok(())
    /// # }
    /// ```
    pub fn service(&self) -> ServiceApi<'_> {
        self.context.service(None)
    }
    /// API calls with the client's own token for `scope` (space-separated); see
    /// [`ServiceApi`]. Each scope has its own token.
    pub fn service_with_scope<'a>(&'a self, scope: &'a str) -> ServiceApi<'a> {
        self.context.service(Some(scope))
    }
    /// Keeps `token` in the registry's token store for `user`, the application's key for the
    /// user (e.g. its account id), replacing the one there: after a login. API calls can then
    /// be made with [`for_user`](Self::for_user).
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     github {
    /// #         authorize_url: "https://github.com/login/oauth/authorize",
    /// #         access_token_url: "https://github.com/login/oauth/access_token",
    /// #         api_base_url: "https://api.github.com/",
    /// #     },
    /// # }
    /// # async fn demo(token: oauth_clients::Token) -> Result<(), Box<dyn std::error::Error>> {
    /// let github = Providers::github();
    /// github.save_token("account-42", &token).await?;
    /// // Later, in any process sharing the store:
    /// let repos = github.for_user("account-42").get("user/repos").await?;
    /// # let _ = repos;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn save_token(&self, user: &str, token: &Token) -> Result<(), Error> {
        self.context.save_token(user, token).await
    }
    /// API calls with the token stored for `user`; see [`UserApi`].
    pub fn for_user<'a>(&'a self, user: &'a str) -> UserApi<'a> {
        UserApi {
            context: &self.context,
            user,
        }
    }
    /// The token stored for `user`, as it is (not refreshed; see [`UserApi::token`] for a
    /// usable one): `None` when there is none. Fails with [`Error::LoginRequired`] when the
    /// provider refused its refresh token, [`Error::TamperedToken`] and [`Error::TokenStore`].
    pub async fn load_token(&self, user: &str) -> Result<Option<Token>, Error> {
        self.context.load_token(user).await
    }
    /// Removes the token stored for `user` here (a logout). The provider still honours the
    /// token until it expires: [`revoke_stored_token`](Self::revoke_stored_token) ends it there
    /// too.
    pub async fn delete_token(&self, user: &str) -> Result<(), Error> {
        self.context.delete_stored(user).await
    }
    /// Revokes the token stored for `user` at the provider (see
    /// [`revoke_token`](Self::revoke_token)), then removes it from the store: a logout that
    /// also ends the grant. With nothing stored, or a token the provider refused already, it
    /// only makes sure nothing is left.
    ///
    /// When the revocation fails, the record is kept and the error returned, so the call can
    /// be repeated; [`delete_token`](Self::delete_token) removes it without asking the
    /// provider.
    pub async fn revoke_stored_token(&self, user: &str) -> Result<(), Error> {
        match self.context.load_token(user).await {
            Ok(Some(token)) => self.context.revoke_token(&token).await?,
            Ok(None) | Err(Error::LoginRequired { .. }) => {}
            Err(error) => return Err(error),
        }
        self.context.delete_stored(user).await
    }
    /// Revokes `token` at the provider (RFC 7009): its refresh token first, which ends the
    /// grant, then its access token. Call it when the user logs out or disconnects the
    /// provider, then forget the token.
    ///
    /// The request goes to `revocation_endpoint` (declared, else discovered) with the client
    /// authentication of the token endpoint. A provider that cannot revoke access tokens
    /// (`unsupported_token_type`) is not an error once the refresh token is revoked. Fails
    /// with [`Error::MissingEndpoint`] when the provider has no revocation endpoint,
    /// [`Error::EndpointError`] when it answers with an OAuth error, and [`Error::Http`].
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     google {
    /// #         server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
    /// #         scope: "openid email",
    /// #     },
    /// # }
    /// # async fn demo(token: oauth_clients::Token) -> Result<(), oauth_clients::Error> {
    /// // The user disconnects their Google account from the app.
    /// Providers::google().revoke_token(&token).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn revoke_token<'a>(
        &'a self,
        token: &'a Token,
    ) -> impl Future<Output = Result<(), Error>> + 'a {
        self.context.revoke_token(token)
    }
    /// Revokes one token value (RFC 7009 §2.1), with a `token_type_hint` when given; see
    /// [`revoke_token`](Self::revoke_token), which revokes both of a [`Token`]'s.
    pub fn revoke<'a>(
        &'a self,
        value: &'a str,
        hint: Option<crate::TokenTypeHint>,
    ) -> impl Future<Output = Result<(), Error>> + 'a {
        self.context.revoke(value, hint)
    }
}

impl<P: OAuth1Provider> OAuth1Client<P> {
    /// Keeps `token` in the registry's token store for `user`; see [`Client::save_token`].
    pub async fn save_token(&self, user: &str, token: &OAuth1Token) -> Result<(), Error> {
        self.context.save_oauth1_token(user, token).await
    }
    /// Signed API calls with the token stored for `user`; see [`UserApi`].
    pub fn for_user<'a>(&'a self, user: &'a str) -> UserApi<'a> {
        UserApi {
            context: &self.context,
            user,
        }
    }
    /// Removes the token stored for `user` here.
    pub async fn delete_token(&self, user: &str) -> Result<(), Error> {
        self.context.delete_stored(user).await
    }
}
