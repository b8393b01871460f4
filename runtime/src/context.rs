//! One provider's context: what every flow for that provider works with, without knowing the
//! provider's type.
//!
//! `Client<P>` is a typed shell: the type `P` decides at compile time which methods exist
//! (OpenID Connect ones only on OpenID Connect providers), and nothing else. Every flow is a
//! method of [`Context`], which holds the registry's shared state and the provider's slot in
//! it, so each flow is compiled once however many providers are declared (BENCHMARKS.md has
//! the counts).

use crate::cache::{Cached, RefetchGate};
use crate::config::{ClientConfig, ProviderConfig, StatePolicy};
use crate::error::{Endpoint, Error, HttpErrorKind, Problem};
use crate::http::Http;
use crate::jose::KeySet;
use crate::metadata::Metadata;
use crate::refresh::{Flights, Hook};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The registry's clock.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What the providers of one registry share: built once by the registry builder.
pub(crate) struct Shared {
    pub providers: Vec<Slot>,
    /// The HTTP client of every provider without a client certificate of its own, or why it
    /// could not be built.
    pub http: Result<Http, String>,
    pub hooks: Vec<Hook>,
    pub flights: Flights,
    /// The token store.
    pub vault: crate::vault::Vault,
    pub clock: Clock,
    pub state_policy: StatePolicy,
}

/// One declared provider in a registry.
pub(crate) struct Slot {
    pub config: &'static ProviderConfig,
    pub resolved: Result<Arc<ClientConfig>, Vec<Problem>>,
    pub runtime: ProviderRuntime,
    /// The provider's own HTTP client, when it presents a client certificate (mTLS).
    pub http: Option<Result<Http, String>>,
}

/// What a provider's clients share at run time: caches of its metadata and keys.
#[derive(Default)]
pub(crate) struct ProviderRuntime {
    pub declared_metadata: Arc<Metadata>,
    pub discovery: Cached<Metadata>,
    pub jwks: Cached<KeySet>,
    pub jwks_gate: RefetchGate,
    /// The `jti`s of the back-channel logout tokens accepted (see `backchannel`).
    pub logout_jtis: crate::replay::ReplayCache,
    /// The client's own tokens (client credentials grant), by scope.
    pub service_tokens: crate::cache::ServiceTokens,
    /// DPoP keys and nonces, when the provider has DPoP on.
    pub dpop: crate::dpop::DpopState,
}

/// A provider of a registry: the registry's shared state and the provider's place in it.
/// Cheap to clone; a clone can be moved into a background task.
#[derive(Clone)]
pub(crate) struct Context {
    shared: Arc<Shared>,
    index: usize,
}

impl Context {
    pub fn new(shared: Arc<Shared>, index: usize) -> Self {
        Context { shared, index }
    }

    fn slot(&self) -> &Slot {
        &self.shared.providers[self.index]
    }

    /// The provider's place in its registry: the key of its single-flight refreshes.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The provider's name, as declared.
    pub fn name(&self) -> &'static str {
        self.slot().config.name
    }

    /// The resolved configuration, or why the provider cannot be used.
    pub fn config(&self) -> Result<&ClientConfig, Error> {
        match &self.slot().resolved {
            Ok(config) => Ok(config),
            Err(problems) => Err(Error::NotConfigured {
                provider: self.name(),
                problems: problems.clone(),
            }),
        }
    }

    pub fn runtime(&self) -> &ProviderRuntime {
        &self.slot().runtime
    }

    /// The HTTP client for a request to `endpoint`: the provider's own when it presents a
    /// client certificate, else the registry's.
    pub fn http(&self, endpoint: Endpoint) -> Result<&Http, Error> {
        match self.slot().http.as_ref().unwrap_or(&self.shared.http) {
            Ok(http) => Ok(http),
            Err(message) => Err(Error::Http {
                provider: self.name(),
                endpoint,
                kind: HttpErrorKind::Other(format!(
                    "the HTTP client could not be built: {message}"
                )),
            }),
        }
    }

    /// Whether the provider's connections present a client certificate (mutual TLS).
    pub fn presents_certificate(&self) -> bool {
        self.slot().http.is_some()
    }

    /// The current time, from the registry's clock.
    pub fn now(&self) -> SystemTime {
        (self.shared.clock)()
    }

    pub fn now_ms(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    pub fn state_policy(&self) -> StatePolicy {
        self.shared.state_policy
    }

    pub fn hooks(&self) -> &[Hook] {
        &self.shared.hooks
    }

    pub fn flights(&self) -> &Flights {
        &self.shared.flights
    }
    pub fn vault(&self) -> &crate::vault::Vault {
        &self.shared.vault
    }
}
