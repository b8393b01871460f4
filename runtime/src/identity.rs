//! The OpenID Connect flows about who signed in: the ID token parsed again, the user of a
//! login, and the userinfo endpoint (with the token refreshed first, as for API calls).

use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind, IdTokenError};
use crate::grant::refresh_after_401;
use crate::id_token::{unverified_claims, NonceRule};
use crate::token::{Token, UserInfoResponse};
use crate::userinfo::UserInfo;
use http::StatusCode;
use serde_json::Value;

impl Context {
    /// The work of [`Client::parse_id_token`](crate::Client::parse_id_token).
    pub(crate) async fn parse_id_token(
        &self,
        token: &Token,
        nonce: Option<&str>,
    ) -> Result<UserInfo, Error> {
        let id_token = token.id_token.as_deref().ok_or(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::Missing,
        })?;
        let rule = match nonce {
            Some(nonce) => NonceRule::Equals(nonce),
            None => NonceRule::Any,
        };
        self.verify_id_token(id_token, rule, Some(&token.access_token))
            .await
    }

    /// The work of [`Client::user`](crate::Client::user).
    pub(crate) fn user<'t>(&self, token: &'t Token) -> Result<&'t UserInfo, Error> {
        token.userinfo.as_ref().ok_or(Error::IdToken {
            provider: self.name(),
            reason: IdTokenError::Missing,
        })
    }

    /// The work of [`Client::userinfo`](crate::Client::userinfo).
    pub(crate) async fn userinfo(&self, token: &Token) -> Result<UserInfoResponse, Error> {
        let sub = token
            .userinfo
            .as_ref()
            .map(|u| u.sub().to_string())
            .or_else(|| {
                token
                    .id_token
                    .as_deref()
                    .and_then(unverified_claims)
                    .and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_string))
                    .filter(|sub| !sub.is_empty())
            })
            .ok_or(Error::IdToken {
                provider: self.name(),
                reason: IdTokenError::Missing,
            })?;
        let (mut token, mut refreshed) = self.usable_token(token).await?;
        loop {
            match self.fetch_userinfo(&token, &sub).await {
                Err(Error::Http {
                    endpoint: Endpoint::Userinfo,
                    kind: HttpErrorKind::Status { status },
                    ..
                }) if StatusCode::from_u16(status)
                    .is_ok_and(|status| refresh_after_401(&token, refreshed, status)) =>
                {
                    token = self.refresh(&token).await?;
                    refreshed = true;
                }
                outcome => {
                    return outcome.map(|info| UserInfoResponse {
                        info,
                        new_token: refreshed.then_some(token),
                    })
                }
            }
        }
    }
}
