//! Token revocation (RFC 7009): telling the provider that a token is no longer needed, on
//! logout or on demand, so a copy that leaked stops working too.
//!
//! The request is a POST of `token` and `token_type_hint` to the revocation endpoint (declared
//! `revocation_endpoint`, else the discovered one), with the same client authentication as the
//! token endpoint (RFC 7009 §2.1). A 200 is success whatever the body, including for a token the
//! provider does not know (§2.2); an OAuth error object becomes [`Error::EndpointError`], any
//! other failure [`Error::Http`].

use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::token::Token;
use serde_json::Value;

/// Which kind of token a value is, sent as `token_type_hint` (RFC 7009 §2.1) so the provider
/// looks in the right place first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenTypeHint {
    /// An access token: `access_token`.
    AccessToken,
    /// A refresh token: `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The hint as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// RFC 7009 §2.2.1: the provider cannot revoke tokens of this type (typically access tokens,
/// which then expire on their own).
const UNSUPPORTED_TOKEN_TYPE: &str = "unsupported_token_type";

impl Context {
    /// The work of [`Client::revoke_token`](crate::Client::revoke_token): the refresh token
    /// first (revoking it ends the grant, and with most providers its access tokens), then
    /// the access token.
    pub(crate) async fn revoke_token(&self, token: &Token) -> Result<(), Error> {
        let revoked_grant = match &token.refresh_token {
            Some(refresh_token) => {
                self.revoke(refresh_token, Some(TokenTypeHint::RefreshToken))
                    .await?;
                true
            }
            None => false,
        };
        match self
            .revoke(&token.access_token, Some(TokenTypeHint::AccessToken))
            .await
        {
            // The grant is gone already; an access token the provider cannot revoke expires
            // by itself.
            Err(Error::EndpointError { error, .. })
                if revoked_grant && error == UNSUPPORTED_TOKEN_TYPE =>
            {
                Ok(())
            }
            outcome => outcome,
        }
    }

    /// The work of [`Client::revoke`](crate::Client::revoke): one revocation request.
    pub(crate) async fn revoke(
        &self,
        value: &str,
        hint: Option<TokenTypeHint>,
    ) -> Result<(), Error> {
        let provider = self.name();
        let config = self.config()?;
        let url = self.endpoint(Endpoint::Revocation).await?;
        let http = self.http(Endpoint::Revocation)?;
        let mut form = vec![("token", value.to_string())];
        if let Some(hint) = hint {
            form.push(("token_type_hint", hint.as_str().to_string()));
        }
        let request = self.with_user_agent(crate::http::Request::post(url).header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        ));
        let request = self.authenticate_client(config, request, &mut form).await?;
        let response = http
            .send(
                provider,
                Endpoint::Revocation,
                request.form(&form),
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        if response.status.is_success() {
            tracing::info!(
                provider,
                hint = hint.map(TokenTypeHint::as_str),
                "token revoked"
            );
            return Ok(());
        }
        let status = response.status.as_u16();
        let object = serde_json::from_slice::<Value>(&response.body).ok();
        let text = |name: &str| {
            object
                .as_ref()
                .and_then(|o| o.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match text("error") {
            Some(error) => Err(Error::EndpointError {
                provider,
                endpoint: Endpoint::Revocation,
                error,
                description: text("error_description"),
                status,
            }),
            None => Err(Error::Http {
                provider,
                endpoint: Endpoint::Revocation,
                kind: HttpErrorKind::Status { status },
            }),
        }
    }
}
