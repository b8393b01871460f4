//! The login fixture: a whole authorization-code login against the test provider, as an
//! application's login route, a browser and its callback route would run it.

use crate::TestProvider;
use oauth_clients::{Callback, Client, Provider, Session, Token};
use url::{Position, Url};

/// Why a login run by [`TestProvider::log_in`] or [`TestProvider::approved_callback`] did not
/// end with what it asked for.
///
/// No variant carries a code, a state or a token: the URL the provider redirected to is
/// shown without its query.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// `authorize_redirect` failed: the login never reached the provider.
    #[error("the login could not start: {0}")]
    AuthorizeRedirect(#[source] oauth_clients::Error),
    /// The test provider did not send the browser back to the redirect URI: the request was
    /// not reached, not redirected (an unknown client, a redirect URI not registered), or
    /// redirected elsewhere.
    #[error("the test provider did not send the login at provider `{provider}` back to the redirect URI: {reason}")]
    NotSentBack {
        /// The declared provider's name.
        provider: &'static str,
        /// What happened instead.
        reason: String,
    },
    /// `authorize_access_token` refused the callback or failed to redeem it: what tests of
    /// the library's checks usually expect.
    #[error("the callback was not redeemed: {0}")]
    AuthorizeAccessToken(#[source] oauth_clients::Error),
}

impl TestProvider {
    /// Starts a login with `client` in `session` (`authorize_redirect` to `redirect_uri`),
    /// lets `user` approve it at this provider as a browser would ([`approve`](Self::approve)),
    /// and returns the URL the browser is sent back to, without redeeming it: for tests that
    /// change the callback or bring it in another way (read it with
    /// [`Callback::from_url`]).
    ///
    /// The URL is checked to start with `redirect_uri`; a provider that answers otherwise is
    /// [`LoginError::NotSentBack`]. A refusal the provider redirects back with (`?error=`)
    /// is returned as a URL like any other.
    pub async fn approved_callback<P: Provider, S: Session>(
        &self,
        client: &Client<P>,
        session: &S,
        redirect_uri: &str,
        user: &str,
    ) -> Result<Url, LoginError> {
        let redirect = client
            .authorize_redirect(session, redirect_uri)
            .await
            .map_err(LoginError::AuthorizeRedirect)?;
        let not_sent_back = |reason: String| LoginError::NotSentBack {
            provider: P::NAME,
            reason,
        };
        let back = self
            .approve(redirect.location(), user)
            .await
            .map_err(not_sent_back)?;
        if !back.as_str().starts_with(redirect_uri) {
            return Err(not_sent_back(format!(
                "it redirected to {}",
                &back[..Position::AfterPath]
            )));
        }
        Ok(back)
    }

    /// A whole login of `user` with `client` in `session`: `authorize_redirect` to
    /// `redirect_uri`, approval at this provider as a browser would, then
    /// `authorize_access_token` with the callback it sent back. Returns the library's token,
    /// or the error of the step that failed.
    ///
    /// ```
    /// use oauth_clients::{oauth_clients, MemorySession};
    /// use oauth_clients_testing::{LoginError, TestProvider};
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let provider = TestProvider::builder().start().await.unwrap();
    /// let registry = Providers::builder()
    ///     .settings(provider.settings_for("github"))
    ///     .env_source(|_| None)
    ///     .build()
    ///     .unwrap();
    /// let github = registry.client::<Github>();
    /// let redirect_uri = "http://127.0.0.1:8080/auth/callback";
    ///
    /// let token = provider
    ///     .log_in(&github, &MemorySession::new(), redirect_uri, "alice")
    ///     .await
    ///     .unwrap();
    /// assert_eq!(token.token_type, "Bearer");
    /// assert_eq!(provider.count("token.authorization_code"), 1);
    ///
    /// // The same login against a provider that answers the token request with an error.
    /// provider.configure(|b| {
    ///     b.token_override = Some((400, "application/json".into(), r#"{"error":"invalid_grant"}"#.into()))
    /// });
    /// match provider.log_in(&github, &MemorySession::new(), redirect_uri, "alice").await {
    ///     Err(LoginError::AuthorizeAccessToken(error)) => {
    ///         assert_eq!(error.provider(), Some("github"))
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # }
    /// ```
    pub async fn log_in<P: Provider, S: Session>(
        &self,
        client: &Client<P>,
        session: &S,
        redirect_uri: &str,
        user: &str,
    ) -> Result<Token, LoginError> {
        let back = self
            .approved_callback(client, session, redirect_uri, user)
            .await?;
        client
            .authorize_access_token(session, &Callback::from_url(&back))
            .await
            .map_err(LoginError::AuthorizeAccessToken)
    }
}
