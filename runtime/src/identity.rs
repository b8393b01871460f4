//! The OpenID Connect flows about who signed in: the ID token parsed again, the user of a
//! login, the userinfo endpoint (with the token refreshed first, as for API calls), and the
//! normalized profile of a login.

use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind, IdTokenError};
use crate::grant::refresh_after_401;
use crate::id_token::{unverified_claims, NonceRule};
use crate::profile::{self, Profile};
use crate::token::{Token, UserInfoResponse};
use crate::userinfo::UserInfo;
use http::StatusCode;
use oauth_clients_spec::presets::ProfileSource;
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
                // A DPoP-bound token the server calls invalid (not its proof): maybe expired.
                Err(Error::DpopRefused { error, .. })
                    if error == "invalid_token"
                        && refresh_after_401(&token, refreshed, StatusCode::UNAUTHORIZED) =>
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

    /// The normalized profile of a login: from the claims of an OpenID Connect login, or from
    /// the preset's profile endpoint(s) for an OAuth 2.0 preset; `None` for an OAuth 2.0
    /// provider that is no preset (nothing says where its profile is).
    pub(crate) async fn load_profile(
        &self,
        token: &Token,
        apple_user: Option<&str>,
    ) -> Result<Option<Profile>, Error> {
        let provider = self.name();
        let config = self.config()?;
        // Any OpenID Connect provider, or an OAuth 2.0 preset declared with `openid`: the
        // standard claims.
        let source = match config.preset.map(|preset| preset.profile) {
            Some(ProfileSource::Api(_)) if token.userinfo.is_some() => {
                ProfileSource::STANDARD_CLAIMS
            }
            Some(source) => source,
            None => ProfileSource::STANDARD_CLAIMS,
        };
        let invalid = |reason: &str| Error::InvalidUserinfo {
            provider,
            reason: reason.to_string(),
        };
        let issuer = || self.expected_issuer().unwrap_or_default();
        let api = match (source, token.userinfo.as_ref().map(|info| info.claims())) {
            (ProfileSource::Api(api), _) => api,
            // The claims of an OpenID Connect login; none when a claims preset is declared
            // without `openid` (an OAuth 2.0 use of it).
            (_, None) => return Ok(None),
            (ProfileSource::MicrosoftClaims, Some(claims)) => {
                let template = self.cached_metadata().await?.issuer.clone();
                let profile = profile::from_microsoft_claims(
                    provider,
                    template.as_deref().unwrap_or(issuer()),
                    claims,
                );
                return profile.map(Some).ok_or_else(|| {
                    invalid("the ID token has no `tid` and `oid` (is `profile` in the scope?)")
                });
            }
            (ProfileSource::AppleClaims, Some(claims)) => {
                return profile::from_apple_claims(provider, issuer(), claims, apple_user)
                    .map(Some)
                    .ok_or_else(|| invalid("the claims have no `sub`"));
            }
            (
                ProfileSource::Claims {
                    subject,
                    verified,
                    username,
                },
                Some(claims),
            ) => {
                return profile::from_claims(
                    provider,
                    issuer(),
                    claims,
                    subject,
                    verified,
                    username,
                )
                .map(Some)
                .ok_or_else(|| invalid("the claims do not name the user (`sub`)"));
            }
        };
        let answer = self.profile_answer(api.path, api.post, token).await?;
        let emails = match api.emails {
            // Without the scope for it the list is refused: the profile then has no verified
            // address, and the login still succeeds.
            Some(list) => self.profile_answer(list.path, false, token).await.ok(),
            None => None,
        };
        // The API's origin, not its versioned base: moving Facebook to another Graph version
        // (or Discord to another API version) must not make every user someone new.
        let origin = config
            .api_base_url
            .as_ref()
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        profile::from_api(provider, &origin, &api, &answer, emails.as_ref())
            .map(Some)
            .ok_or_else(|| invalid("the profile has no user id"))
    }

    /// One profile endpoint's JSON answer; anything but 2xx is an error.
    async fn profile_answer(&self, path: &str, post: bool, token: &Token) -> Result<Value, Error> {
        let provider = self.name();
        let request = if post {
            self.post(path, token)
        } else {
            self.get(path, token)
        };
        let response = request.header("Accept", "application/json").await?;
        if !response.status().is_success() {
            return Err(Error::Http {
                provider,
                endpoint: Endpoint::Userinfo,
                kind: HttpErrorKind::Status {
                    status: response.status().as_u16(),
                },
            });
        }
        response.json().map_err(|_| Error::InvalidUserinfo {
            provider,
            reason: format!("the answer of `{path}` is not JSON"),
        })
    }
}
