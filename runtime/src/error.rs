//! Errors. Each names the provider it concerns; none ever contains a secret or a token.

use std::fmt;

/// Where a configuration problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The `oauth_clients!` declaration (combined with settings, for checks across keys).
    Declaration,
    /// Runtime [`Settings`](crate::Settings).
    Settings,
    /// The environment (credentials).
    Environment,
    /// The registry itself (e.g. installed twice).
    Registry,
}

/// One configuration problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The provider concerned, as named in the declaration or the settings.
    pub provider: String,
    /// The key concerned, if one.
    pub key: Option<String>,
    pub origin: Origin,
    pub message: String,
}

impl Problem {
    /// A missing credential: what lenient registries tolerate by marking the provider unavailable.
    pub fn is_missing_credential(&self) -> bool {
        self.origin == Origin::Environment
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::Declaration => "declaration",
            Origin::Settings => "settings",
            Origin::Environment => "environment",
            Origin::Registry => "registry",
        };
        match &self.key {
            Some(key) => write!(f, "{}.{key} ({origin}): {}", self.provider, self.message),
            None => write!(f, "{} ({origin}): {}", self.provider, self.message),
        }
    }
}

/// Every problem found while building a registry, reported at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid OAuth client configuration: {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// An error from a client operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider cannot be used: its configuration has problems (e.g. no client id set).
    #[error("provider `{provider}` is not configured: {}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    NotConfigured {
        provider: &'static str,
        problems: Vec<Problem>,
    },
}
