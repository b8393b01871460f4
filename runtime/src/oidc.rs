//! OpenID Connect, as a provider service: ID tokens checked with the provider's keys (the
//! rules are in `id_token`), userinfo, and what a login adds.
//!
//! A token is checked in the order `id_token` gives: header, then signature, then claims;
//! only the keys come from here. Each failure is its own [`IdTokenError`].

use crate::config::{AuthMethod, ClientConfig, FetchUserinfo};
use crate::context::Context;
use crate::error::{Endpoint, Error, IdTokenError};
use crate::id_token::{self, unverified_claims, Expectations, NonceRule};
use crate::jose::JwsRefusal;
use crate::metadata::Metadata;
use crate::token::Token;
use crate::userinfo::UserInfo;
use serde_json::{Map, Value};
use std::borrow::Cow;

impl Context {
    /// What a JWT the provider signed for this client (an ID token, a logout token) is
    /// checked against: the expected issuer, this client and its secret (for HS256), the
    /// algorithms `algs` (from `fapi::id_token_algs`: only the profile's under FAPI 2.0) and
    /// the leeway.
    pub(crate) fn jwt_expectations<'a>(
        &'a self,
        config: &'a ClientConfig,
        metadata: &'a Metadata,
        algs: &'a (Cow<'a, [String]>, Option<&'static [&'static str]>),
        nonce: NonceRule<'a>,
        access_token: Option<&'a str>,
    ) -> Expectations<'a> {
        let confidential = config.token_endpoint_auth_method != AuthMethod::None;
        Expectations {
            issuer: self.issuer_rule(
                self.expected_issuer().unwrap_or_default(),
                metadata.issuer.as_deref(),
                config,
            ),
            client_id: &config.client_id,
            client_secret: config
                .client_secret()
                .map(|s| s.expose())
                .filter(|_| confidential),
            allowed_algs: &algs.0,
            profile_algs: algs.1,
            leeway: config.leeway.as_secs() as i64,
            nonce,
            access_token,
        }
    }

    /// Validates an ID token with the provider's keys (cached; fetched once more if the token
    /// names a key they lack); its claims on success, which always have a non-empty `sub`.
    pub(crate) async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: NonceRule<'_>,
        access_token: Option<&str>,
    ) -> Result<UserInfo, Error> {
        let provider = self.name();
        let fail = |reason| Error::IdToken { provider, reason };
        let config = self.config()?;
        let metadata = self.cached_metadata().await?;
        let algs = crate::fapi::id_token_algs(config, &metadata);
        let expected = self.jwt_expectations(config, &metadata, &algs, nonce, access_token);
        let parsed = id_token::parse(id_token, &expected).map_err(fail)?;
        // The signature, before anything in the claims is believed or reported on.
        if let Err(refused) = self.check_jwt_signature(&parsed, &expected).await? {
            return Err(fail(refused));
        }
        id_token::check_claims(parsed, &expected, self.now_secs() as i64).map_err(fail)
    }

    /// Checks the signature of a JWT the provider signs like its ID tokens: HMAC with the
    /// client secret, or else with the provider's keys (cached; fetched once more if the token
    /// names a key they lack). The outer error is a failure to get the keys, the inner one the
    /// refusal.
    pub(crate) async fn check_jwt_signature(
        &self,
        parsed: &id_token::Parsed<'_>,
        expected: &Expectations<'_>,
    ) -> Result<Result<(), IdTokenError>, Error> {
        if parsed.is_hmac() {
            return Ok(id_token::check_hmac(parsed, expected.client_secret));
        }
        let unknown = || IdTokenError::UnknownKey(parsed.kid().unwrap_or("(none)").into());
        let outcome = match id_token::check_signature(parsed, &*self.jwks().await?) {
            Err(JwsRefusal::NoKey) => match self.jwks_for_unknown_key().await {
                Some(keys) => id_token::check_signature(parsed, &keys),
                None => return Ok(Err(unknown())),
            },
            outcome => outcome,
        };
        Ok(match outcome {
            Ok(()) => Ok(()),
            Err(JwsRefusal::NoKey) => Err(unknown()),
            Err(JwsRefusal::BadSignature) => Err(IdTokenError::BadSignature),
        })
    }

    /// What an OpenID Connect login adds to the token: a validated ID token, and the user's
    /// claims (calling userinfo when needed, per `fetch_userinfo`).
    pub(crate) async fn complete_oidc_login(
        &self,
        token: &mut Token,
        nonce: &str,
    ) -> Result<(), Error> {
        let provider = self.name();
        let id_token = token.id_token.clone().ok_or(Error::IdToken {
            provider,
            reason: IdTokenError::Missing,
        })?;
        let mut info = self
            .verify_id_token(
                &id_token,
                NonceRule::Equals(nonce),
                Some(&token.access_token),
            )
            .await?;
        let config = self.config()?;
        let fetch = match config.fetch_userinfo {
            FetchUserinfo::Always => true,
            FetchUserinfo::Never => false,
            FetchUserinfo::Auto => {
                self.cached_metadata().await?.userinfo_endpoint.is_some()
                    && missing_scope_claims(&config.scope, &info)
            }
        };
        if fetch {
            let fetched = self.fetch_userinfo(token, info.sub()).await?;
            // `email` and `email_verified` say something only together: an ID token without
            // the address does not vouch for the one userinfo gives.
            if !info.claims.contains_key("email") {
                info.claims.remove("email_verified");
            }
            for (name, value) in fetched.claims {
                // The ID token's own claims (iss, aud, exp, ...) are not the endpoint's to change.
                info.claims.entry(name).or_insert(value);
            }
        }
        token.userinfo = Some(info);
        Ok(())
    }

    /// Checks the ID token of a refresh against the one it replaces (Core §12.2).
    pub(crate) async fn check_refreshed_id_token(
        &self,
        old: &Token,
        new: &mut Token,
    ) -> Result<(), Error> {
        let provider = self.name();
        let Some(id_token) = new.id_token.clone() else {
            // Providers need not send a new ID token on refresh: keep the old one.
            new.id_token = old.id_token.clone();
            new.userinfo = old.userinfo.clone();
            return Ok(());
        };
        let original = old.id_token.as_deref().and_then(unverified_claims);
        let original_nonce = original
            .as_ref()
            .and_then(|c| c.get("nonce"))
            .and_then(Value::as_str);
        let mut info = self
            .verify_id_token(
                &id_token,
                NonceRule::AbsentOr(original_nonce),
                Some(&new.access_token),
            )
            .await?;
        if let Some(original) = &original {
            for name in ["iss", "sub", "aud"] {
                if original.get(name) != info.get(name) {
                    return Err(Error::IdToken {
                        provider,
                        reason: IdTokenError::RefreshChanged(name),
                    });
                }
            }
        }
        // The new ID token's claims, and the old ones (e.g. from userinfo) it does not repeat.
        if let Some(old) = &old.userinfo {
            for (name, value) in &old.claims {
                info.claims
                    .entry(name.as_str())
                    .or_insert_with(|| value.clone());
            }
        }
        new.userinfo = Some(info);
        Ok(())
    }

    /// GETs the userinfo endpoint; its `sub` must be `expected_sub`.
    pub(crate) async fn fetch_userinfo(
        &self,
        token: &Token,
        expected_sub: &str,
    ) -> Result<UserInfo, Error> {
        let provider = self.name();
        // Through `endpoint`, which picks the mTLS alias when there is one (RFC 8705 §5).
        let url = self.endpoint(Endpoint::Userinfo).await?;
        // A bearer token, or a DPoP-bound one with its proof.
        let response = self
            .fetch_with_token(Endpoint::Userinfo, url, token)
            .await?;
        let invalid = |reason: &str| Error::InvalidUserinfo {
            provider,
            reason: reason.to_string(),
        };
        if response.content_type().starts_with("application/jwt") {
            return Err(invalid(
                "signed userinfo responses (application/jwt) are not supported",
            ));
        }
        let claims: Map<String, Value> = match serde_json::from_slice(&response.body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(invalid("the answer is not a JSON object")),
        };
        match claims.get("sub").and_then(Value::as_str) {
            None | Some("") => Err(invalid("the answer has no `sub`")),
            Some(sub) if sub == expected_sub => Ok(UserInfo { claims }),
            Some(_) => Err(Error::UserinfoSubjectMismatch { provider }),
        }
    }
}

/// Whether the ID token lacks a claim that the requested scopes imply (Core §5.4).
fn missing_scope_claims(scope: &[String], info: &UserInfo) -> bool {
    scope.iter().any(|s| {
        let implied = match s.as_str() {
            "profile" => "name",
            "email" => "email",
            "address" => "address",
            "phone" => "phone_number",
            _ => return false,
        };
        !info.claims.contains_key(implied)
    })
}

// The OpenID Connect methods are on every client, bounded per method: calling one on an OAuth
// 2.0 provider then fails with `OpenIdProvider`'s own message (an impl-level bound would give
// rustc's generic "method exists but its trait bounds were not satisfied").
