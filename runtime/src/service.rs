//! The client's own tokens: the client credentials grant (RFC 6749 §4.4), for calls a service
//! makes on its own behalf rather than a user's.
//!
//! A token is fetched on first use and kept per (provider, scope) until it is about to expire
//! (the provider's `leeway`), or until an API call with it gets a `401`; then one request
//! fetches the next, however many callers need it at once (the refresh's single flight,
//! keyed by the token being replaced), and the token-update hooks run before anyone uses it.
//! The grant has no refresh token (RFC 6749 §4.4.3): a new token is simply fetched.
//!
//! Tokens are kept in this process: every process fetches its own, which the grant allows
//! (nothing is spent or rotated).

use crate::client::ServiceApi;
use crate::context::Context;
use crate::error::Error;
use crate::refresh::{run_hooks, TokenUpdate};
use crate::token::Token;
use std::collections::HashMap;
use std::sync::Mutex;

/// The client credentials tokens of one provider, by scope (`""`: none asked for).
#[derive(Default)]
pub(crate) struct ServiceTokens {
    tokens: Mutex<HashMap<String, Token>>,
}

impl ServiceTokens {
    fn get(&self, scope: &str) -> Option<Token> {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scope)
            .cloned()
    }

    fn put(&self, scope: &str, token: Token) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scope.to_string(), token);
    }
}

impl Context {
    /// A client credentials token for `scope`, from the cache while it is usable; `rejected`
    /// is an access token the API refused, which is then replaced (once, for every caller
    /// that saw it).
    pub(crate) async fn service_token(
        &self,
        scope: Option<&str>,
        rejected: Option<&str>,
    ) -> Result<Token, Error> {
        let config = self.config()?;
        if let Some(scope) = scope {
            oauth_clients_spec::check_scope(scope).map_err(|problems| Error::InvalidRequest {
                provider: self.name(),
                message: problems.join("; "),
            })?;
        }
        let scope_key = scope.unwrap_or_default();
        let cached = self.runtime().service_tokens.get(scope_key);
        if let Some(token) = &cached {
            let refused = rejected == Some(token.access_token.as_str());
            if !refused && !token.needs_refresh(self.now_secs(), config.leeway.as_secs()) {
                return Ok(token.clone());
            }
        }
        let replaced = cached.map(|token| token.access_token);
        // One flight per token being replaced: callers that saw the same one share it, and a
        // flight's outcome is never handed to a caller that saw a newer token.
        let flight = format!(
            "client_credentials\n{scope_key}\n{}",
            replaced.as_deref().unwrap_or_default()
        );
        self.flights()
            .run(self.index(), &flight, async {
                let mut form = vec![("grant_type", "client_credentials".to_string())];
                if let Some(scope) = scope {
                    form.push(("scope", scope.to_string()));
                }
                let token = self.token_request(config, false, form).await?;
                tracing::info!(provider = self.name(), "client credentials token fetched");
                let token = run_hooks(
                    self.hooks(),
                    TokenUpdate {
                        provider: self.name(),
                        token,
                        refresh_token: None,
                        access_token: replaced.clone(),
                    },
                )
                .await?;
                self.runtime().service_tokens.put(scope_key, token.clone());
                Ok(token)
            })
            .await
    }

    /// The work of [`Client::service`](crate::Client::service).
    pub(crate) fn service<'a>(&'a self, scope: Option<&'a str>) -> ServiceApi<'a> {
        ServiceApi::new(self, scope)
    }
}
