//! Tokens kept in a JSON file: the Django `token_update` signal pattern, in Rust.
//!
//! Logins save the token under (provider, user); the registry's token-update hook finds the
//! stored token by the refresh token that was just spent and replaces it, so a refresh made
//! anywhere (another request, a background job) is never lost.

use oauth_clients::{Token, TokenUpdate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;

/// A file of tokens keyed by `"provider:user"`.
#[derive(Clone, Debug)]
pub struct TokenStore {
    path: Arc<PathBuf>,
    lock: Arc<Mutex<()>>,
}

impl TokenStore {
    pub fn new(path: impl AsRef<Path>) -> Self {
        TokenStore {
            path: Arc::new(path.as_ref().to_path_buf()),
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn load(&self) -> std::io::Result<BTreeMap<String, Token>> {
        match tokio::fs::read(&*self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    async fn save(&self, tokens: &BTreeMap<String, Token>) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // Write a new file and rename it over the old one: a crash never leaves half a file.
        let temporary = self.path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(tokens).map_err(std::io::Error::other)?;
        tokio::fs::write(&temporary, json).await?;
        tokio::fs::rename(&temporary, &*self.path).await
    }

    /// Saves the token of a login.
    pub async fn save_login(
        &self,
        provider: &str,
        user: &str,
        token: &Token,
    ) -> std::io::Result<()> {
        let _guard = self.lock.lock().await;
        let mut tokens = self.load().await?;
        tokens.insert(format!("{provider}:{user}"), token.clone());
        self.save(&tokens).await
    }

    /// The token-update hook: replaces the stored token whose refresh token was spent.
    pub async fn update(&self, update: TokenUpdate) -> std::io::Result<()> {
        let _guard = self.lock.lock().await;
        let mut tokens = self.load().await?;
        let prefix = format!("{}:", update.provider);
        let stored = tokens.iter_mut().find(|(key, token)| {
            key.starts_with(&prefix)
                && token.refresh_token.is_some()
                && token.refresh_token == update.refresh_token
        });
        if let Some((_, token)) = stored {
            *token = update.token;
            self.save(&tokens).await?;
        }
        Ok(())
    }

    /// The stored token of a user, if any.
    pub async fn get(&self, provider: &str, user: &str) -> std::io::Result<Option<Token>> {
        let _guard = self.lock.lock().await;
        Ok(self.load().await?.remove(&format!("{provider}:{user}")))
    }

    /// Forgets a user's token (at logout).
    pub async fn remove(&self, provider: &str, user: &str) -> std::io::Result<()> {
        let _guard = self.lock.lock().await;
        let mut tokens = self.load().await?;
        if tokens.remove(&format!("{provider}:{user}")).is_some() {
            self.save(&tokens).await?;
        }
        Ok(())
    }
}
