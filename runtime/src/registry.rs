//! The registry: the declared providers, resolved against settings and the environment.
//!
//! `oauth_clients!` generates a registry type (`Providers`) implementing [`ProviderSet`] and
//! one type per provider implementing [`Provider`]. A [`Registry<Providers>`] holds what every
//! flow shares (resolved configuration, and later the HTTP client and caches); it is cheap to
//! clone. `Providers::github()` uses a global registry, built from the declaration and the
//! environment on first use unless the application installed one with settings at start-up;
//! owned registries (`Providers::builder().build()`) serve tests and multi-tenant apps.

use crate::config::{ClientConfig, ProviderConfig, Secret, StatePolicy};
use crate::context::{Clock, Context, ProviderRuntime, Shared, Slot};
use crate::error::{ConfigError, Error, Origin, Problem};
use crate::http::{ClientIdentity, HttpSettings, TlsRoots};
use crate::refresh::{Flights, Hook, HookError, HookFuture, TokenUpdate};
use crate::seal::{Sealer, TOKEN_KEYS_VARIABLE};
use crate::settings::Settings;
use crate::store::{MemoryStore, TokenBackend};
use crate::vault::{LoginRequired, LoginRequiredFuture, LoginRequiredHook, Vault};
use oauth_clients_spec::{self as spec, Checked, Credential, Key, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// The seals of [`Provider`], [`ProviderSet`] and [`OpenIdProvider`]: only `oauth_clients!`
/// implements them (through `__private`, which is not public API), so no hand-written impl
/// can claim a slot of a registry that it does not have, or OpenID Connect for a provider
/// declared without `openid`.
pub(crate) mod sealed {
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a provider declared with `oauth_clients!`",
        label = "`Provider` is implemented only by the types `oauth_clients!` generates",
        note = "declare the provider in `oauth_clients!`; its type then implements `Provider`"
    )]
    /// The seal of [`Provider`](super::Provider).
    pub trait DeclaredProvider {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a registry declared with `oauth_clients!`",
        label = "`ProviderSet` is implemented only by the registry type `oauth_clients!` generates",
        note = "declare the providers in `oauth_clients!`; its registry type then implements `ProviderSet`"
    )]
    /// The seal of [`ProviderSet`](super::ProviderSet).
    pub trait DeclaredSet {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not declared as an OpenID Connect provider",
        label = "`OpenIdProvider` is implemented only for providers declared with `openid` in their `scope`",
        note = "add `openid` to the provider's `scope` in `oauth_clients!` (with `server_metadata_url`, or `issuer` and `jwks_uri`) to make it one"
    )]
    /// The seal of [`OpenIdProvider`](super::OpenIdProvider).
    pub trait DeclaredOpenId {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not an OAuth 1.0a provider declared with `oauth_clients!`",
        label = "`OAuth1Provider` is implemented only for providers declared with `request_token_url`",
        note = "declare the provider in `oauth_clients!` with `request_token_url`, `authorize_url` and `access_token_url`"
    )]
    /// The seal of [`OAuth1Provider`](super::OAuth1Provider).
    pub trait DeclaredOAuth1 {}
}

/// A declared provider. Implemented by the types `oauth_clients!` generates, and only by
/// them (the trait is sealed).
pub trait Provider: sealed::DeclaredProvider + Copy + Send + Sync + 'static {
    /// The registry type the provider was declared in.
    type Set: ProviderSet;
    /// The provider's name, as declared (e.g. `"github"`).
    const NAME: &'static str = Self::CONFIG.name;
    /// Whether the provider is an OpenID Connect provider (its declared `scope` has
    /// `openid`); such providers also implement [`OpenIdProvider`].
    const OPENID: bool = Self::CONFIG.openid;
    #[doc(hidden)]
    const INDEX: usize;
    #[doc(hidden)]
    const CONFIG: &'static ProviderConfig;
}

/// Marks an OpenID Connect provider: one whose declared scope has `openid`. Only these have
/// ID tokens, userinfo and RP-initiated logout. Sealed, like [`Provider`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an OpenID Connect provider",
    label = "this provider's declared `scope` has no `openid`",
    note = "add `openid` to the provider's `scope` in `oauth_clients!` (with `server_metadata_url`, or `issuer` and `jwks_uri`) to make it one"
)]
pub trait OpenIdProvider: Provider + sealed::DeclaredOpenId {}

/// A declared OAuth 1.0a provider (RFC 5849): one declared with `request_token_url`.
/// Implemented by the types `oauth_clients!` generates for them, and only by them (the trait
/// is sealed); their clients are [`OAuth1Client`]s.
pub trait OAuth1Provider: sealed::DeclaredOAuth1 + Copy + Send + Sync + 'static {
    /// The registry type the provider was declared in.
    type Set: ProviderSet;
    /// The provider's name, as declared (e.g. `"trello"`).
    const NAME: &'static str = Self::CONFIG.name;
    #[doc(hidden)]
    const INDEX: usize;
    #[doc(hidden)]
    const CONFIG: &'static ProviderConfig;
}

/// The registry type generated by `oauth_clients!`, and only by it (the trait is sealed).
pub trait ProviderSet: sealed::DeclaredSet + Sized + Send + Sync + 'static {
    #[doc(hidden)]
    const CONFIGS: &'static [&'static ProviderConfig];
    #[doc(hidden)]
    fn global_cell() -> &'static GlobalCell<Self>;
}

/// Storage for a registry type's global registry.
#[doc(hidden)]
pub struct GlobalCell<S> {
    cell: OnceLock<Registry<S>>,
}

impl<S> GlobalCell<S> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        GlobalCell {
            cell: OnceLock::new(),
        }
    }
}

/// The declared providers, resolved. Cheap to clone; clones share everything.
pub struct Registry<S> {
    inner: Arc<Shared>,
    _set: PhantomData<fn() -> S>,
}

impl<S> Clone for Registry<S> {
    fn clone(&self) -> Self {
        Registry {
            inner: self.inner.clone(),
            _set: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Registry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.inner.providers.iter().map(|slot| slot.config.name))
            .finish()
    }
}

/// A declared provider's name and state, e.g. for a login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider's name, as declared.
    pub name: &'static str,
    /// Whether it is an OpenID Connect provider.
    pub openid: bool,
    /// Whether it is an OAuth 1.0a provider.
    pub oauth1: bool,
    /// Whether it can be used (its credentials are set and its configuration is valid).
    pub available: bool,
    /// Why it cannot be used, when it cannot.
    pub problems: Vec<Problem>,
}

impl<S: ProviderSet> Registry<S> {
    /// The global registry: the one installed with [`RegistryBuilder::install`], or else one
    /// built on first use from the declaration and the environment (a provider whose
    /// credentials are not set is then unavailable, see [`Registry::list`]).
    pub fn global() -> &'static Registry<S> {
        S::global_cell()
            .cell
            .get_or_init(|| RegistryBuilder::<S>::new().assemble().0)
    }

    /// A client for provider `P`.
    pub fn client<P: Provider<Set = S>>(&self) -> Client<P> {
        Client {
            registry: self.clone(),
            context: Context::new(self.inner.clone(), P::INDEX),
            _provider: PhantomData,
        }
    }

    /// A client for the OAuth 1.0a provider `P`.
    pub fn oauth1_client<P: OAuth1Provider<Set = S>>(&self) -> OAuth1Client<P> {
        OAuth1Client {
            registry: self.clone(),
            context: Context::new(self.inner.clone(), P::INDEX),
            _provider: PhantomData,
        }
    }

    /// Every declared provider, in declaration order, with whether it can be used.
    pub fn list(&self) -> Vec<ProviderInfo> {
        self.inner
            .providers
            .iter()
            .map(|slot| ProviderInfo {
                name: slot.config.name,
                openid: slot.config.openid,
                oauth1: slot.config.oauth1,
                available: slot.resolved.is_ok(),
                problems: slot.resolved.as_ref().err().cloned().unwrap_or_default(),
            })
            .collect()
    }
}

impl<S> Registry<S> {
    /// Removes every stored token of `user`, at every provider (account removal); how many
    /// there were.
    pub async fn delete_user(&self, user: &str) -> Result<u64, crate::store::StoreError> {
        self.inner.vault.backend.delete_user(user).await
    }

    /// Removes the stored tokens that can no longer be used: access tokens expired with no
    /// refresh token. Run it now and then; returns how many were removed.
    pub async fn purge_expired_tokens(&self) -> Result<u64, crate::store::StoreError> {
        let now = (self.inner.clock)()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.inner.vault.backend.purge_expired(now).await
    }

    /// The current time, from the registry's clock.
    pub fn now(&self) -> SystemTime {
        (self.inner.clock)()
    }
}

/// A client for one provider: the handle every flow is called on. Cheap to clone.
pub struct Client<P: Provider> {
    registry: Registry<P::Set>,
    /// The provider's context, where every flow is implemented (see `client.rs`).
    pub(crate) context: Context,
    _provider: PhantomData<fn() -> P>,
}

impl<P: Provider> Clone for Client<P> {
    fn clone(&self) -> Self {
        Client {
            registry: self.registry.clone(),
            context: self.context.clone(),
            _provider: PhantomData,
        }
    }
}

impl<P: Provider> fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.name())
            .finish()
    }
}

impl<P: Provider> Client<P> {
    /// The client from the global registry (what `Providers::github()` returns).
    pub fn global() -> Self {
        Registry::<P::Set>::global().client()
    }

    /// The provider's name.
    pub fn name(&self) -> &'static str {
        P::NAME
    }

    /// The resolved configuration, or why the provider cannot be used.
    pub fn config(&self) -> Result<&ClientConfig, Error> {
        self.context.config()
    }

    /// The registry this client belongs to.
    pub fn registry(&self) -> &Registry<P::Set> {
        &self.registry
    }
}

/// A client for one OAuth 1.0a provider: the same flow names as [`Client`] (`authorize_redirect`,
/// `authorize_access_token`, `get`, ...), with [`OAuth1Token`](crate::OAuth1Token)s. Cheap to
/// clone.
pub struct OAuth1Client<P: OAuth1Provider> {
    registry: Registry<P::Set>,
    pub(crate) context: Context,
    _provider: PhantomData<fn() -> P>,
}

impl<P: OAuth1Provider> Clone for OAuth1Client<P> {
    fn clone(&self) -> Self {
        OAuth1Client {
            registry: self.registry.clone(),
            context: self.context.clone(),
            _provider: PhantomData,
        }
    }
}

impl<P: OAuth1Provider> fmt::Debug for OAuth1Client<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Client")
            .field("provider", &self.name())
            .finish()
    }
}

impl<P: OAuth1Provider> OAuth1Client<P> {
    /// The client from the global registry (what `Providers::trello()` returns).
    pub fn global() -> Self {
        Registry::<P::Set>::global().oauth1_client()
    }

    /// The provider's name.
    pub fn name(&self) -> &'static str {
        P::NAME
    }

    /// The resolved configuration, or why the provider cannot be used.
    pub fn config(&self) -> Result<&ClientConfig, Error> {
        self.context.config()
    }

    /// The registry this client belongs to.
    pub fn registry(&self) -> &Registry<P::Set> {
        &self.registry
    }
}

type EnvSource = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Builds a [`Registry`]: settings, environment, and (later) hooks and HTTP options.
pub struct RegistryBuilder<S> {
    settings: Settings,
    env: EnvSource,
    allow_unconfigured: bool,
    hooks: Vec<Hook>,
    clock: Clock,
    state_policy: StatePolicy,
    http: HttpSettings,
    /// Client certificates by provider name, or why one could not be read.
    identities: Vec<(String, Result<ClientIdentity, String>)>,
    /// Problems found while taking the HTTP options, reported by `build`.
    http_problems: Vec<String>,
    /// The token store's backend; `None`: in memory.
    store: Option<Arc<dyn TokenBackend>>,
    /// The sealing keys as configured (`id:base64,...`); `None`: from the environment.
    token_keys: Option<String>,
    refresh_lease: Option<Duration>,
    login_required: Vec<LoginRequiredHook>,
    _set: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for RegistryBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field(
                "settings",
                &self.settings.providers().keys().collect::<Vec<_>>(),
            )
            .field("allow_unconfigured", &self.allow_unconfigured)
            .finish_non_exhaustive()
    }
}

impl<S: ProviderSet> Default for RegistryBuilder<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: ProviderSet> RegistryBuilder<S> {
    /// A builder with no settings, credentials from the process environment, a 10-minute
    /// login timeout and at most 5 pending logins per provider. `Providers::builder()` returns
    /// one.
    pub fn new() -> Self {
        RegistryBuilder {
            settings: Settings::new(),
            env: Box::new(|name| std::env::var(name).ok()),
            allow_unconfigured: false,
            hooks: Vec::new(),
            clock: Arc::new(SystemTime::now),
            state_policy: StatePolicy {
                ttl: Duration::from_secs(600),
                max_pending: 5,
            },
            http: HttpSettings::default(),
            identities: Vec::new(),
            http_problems: Vec::new(),
            store: None,
            token_keys: None,
            refresh_lease: None,
            login_required: Vec::new(),
            _set: PhantomData,
        }
    }

    /// Keeps users' tokens in `backend` (default: in memory, for one process):
    /// [`Client::save_token`] after a login, then API calls for a user key with
    /// [`Client::for_user`], refreshed once across every process that shares the backend.
    ///
    /// Records are sealed with AES-256-GCM under the keys of
    /// [`token_keys`](Self::token_keys), or else of the environment variable
    /// `OAUTH_CLIENTS_TOKEN_KEYS`; a backend other than the in-memory one needs them (the
    /// registry reports it when they are missing). The in-memory store seals with a key of
    /// its own, made at start-up.
    pub fn token_store(mut self, backend: impl TokenBackend) -> Self {
        self.store = Some(Arc::new(backend));
        self
    }

    /// The keys tokens are sealed with at rest: `id:base64` pairs separated by commas, each
    /// key 32 random bytes (e.g. `openssl rand -base64 32`). The first seals new records;
    /// every one opens records, so a key is rotated by putting the new one first and dropping
    /// the old one once every record was written again. Read from `OAUTH_CLIENTS_TOKEN_KEYS`
    /// when not given here.
    pub fn token_keys(mut self, keys: impl Into<String>) -> Self {
        self.token_keys = Some(keys.into());
        self
    }

    /// How long one process may hold a user's refresh lease (default: the provider's
    /// `timeout` and 5 seconds, so a lease outlives the refresh request). A process that dies
    /// holding it delays the others this long at most.
    pub fn refresh_lease(mut self, lease: Duration) -> Self {
        self.refresh_lease = Some(lease);
        self
    }

    /// Adds a hook called when the provider refuses a stored refresh token (`invalid_grant`):
    /// once, by the process that got the refusal; the others get [`Error::LoginRequired`]
    /// from the record. Ask the user to log in again here.
    pub fn on_login_required<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(LoginRequired) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.login_required.push(Arc::new(move |event| {
            Box::pin(hook(event)) as LoginRequiredFuture
        }));
        self
    }

    /// Adds a token-update hook, the analogue of Django's `token_update` signal: called with
    /// the new token (and the spent refresh token and replaced access token) after every
    /// refresh, and awaited before the new token is used. Persist the token here. If a hook
    /// fails, the call that refreshed fails with [`Error::TokenUpdateHook`], which carries the
    /// new token. Hooks run in the order they were added.
    ///
    /// A hook returns `Result<(), HookError>`: `?` turns any error into a [`HookError`], and
    /// `Ok(())` needs no annotation.
    ///
    /// ```
    /// # oauth_clients::oauth_clients! {
    /// #     github {
    /// #         authorize_url: "https://github.com/login/oauth/authorize",
    /// #         access_token_url: "https://github.com/login/oauth/access_token",
    /// #     },
    /// # }
    /// use oauth_clients::{HookError, Token};
    ///
    /// async fn save(provider: &str, token: &Token) -> std::io::Result<()> {
    /// #   let _ = (provider, token);
    ///     // Write the token where the application keeps it.
    ///     Ok(())
    /// }
    ///
    /// let builder = Providers::builder()
    ///     .on_token_update(|update| async move {
    ///         save(update.provider, &update.token).await?;
    ///         Ok(())
    ///     })
    ///     .on_token_update(|update| async move {
    ///         eprintln!("{}: token refreshed", update.provider);
    ///         Ok(())
    ///     })
    ///     .on_token_update(|update| async move {
    ///         match update.token.refresh_token {
    ///             Some(_) => Ok(()),
    ///             None => Err(HookError::msg("the provider sent no refresh token")),
    ///         }
    ///     });
    /// # let _ = builder;
    /// ```
    pub fn on_token_update<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(TokenUpdate) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hooks
            .push(Arc::new(move |update| Box::pin(hook(update)) as HookFuture));
        self
    }

    /// How long a started login may take before its callback is refused (default 10 minutes).
    pub fn login_timeout(mut self, ttl: Duration) -> Self {
        self.state_policy.ttl = ttl;
        self
    }

    /// How many logins per provider may be pending in one session at once (default 5); the
    /// oldest is dropped beyond that.
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.state_policy.max_pending = max.max(1);
        self
    }

    /// Replaces the clock (for tests that need time to pass).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Overrides declared values with runtime settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Reads credentials through `source` instead of the process environment.
    pub fn env_source(
        mut self,
        source: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(source);
        self
    }

    /// Lets providers whose credentials are not set make the registry anyway, marked
    /// unavailable (see [`Registry::list`]); without this they are errors. Invalid values are
    /// errors either way.
    pub fn allow_unconfigured(mut self) -> Self {
        self.allow_unconfigured = true;
        self
    }

    /// Which built-in root certificates TLS trusts: [`TlsRoots::WebPki`] (the default, Mozilla's
    /// roots compiled in), [`TlsRoots::Native`] (the operating system's store, which honours
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`) or [`TlsRoots::OnlyAdded`]. Certificates added with
    /// [`add_root_certificates_pem`](Self::add_root_certificates_pem) are trusted as well.
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.http.roots = roots;
        self
    }

    /// Also trusts every certificate in `pem` (one or more `CERTIFICATE` blocks): a company's
    /// private CA, or the CA of a TLS-inspecting proxy. A PEM that cannot be read is a problem
    /// [`build`](Self::build) reports.
    ///
    /// ```no_run
    /// # oauth_clients::oauth_clients! {
    /// #     corp_sso { server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration", scope: "openid" },
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/corp/root-ca.pem")?;
    /// let registry = Providers::builder().add_root_certificates_pem(ca).build()?;
    /// # let _ = registry;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        match crate::http::certificates(pem.as_ref(), "root certificate") {
            Ok(found) => self.http.added_roots.extend(found),
            Err(message) => self.http_problems.push(message),
        }
        self
    }

    /// Sends every request through `proxy` (an `http://` or `https://` URL, with credentials
    /// in it if the proxy needs them), whatever the environment says. By default the
    /// environment decides: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
    pub fn proxy(mut self, proxy: &str) -> Self {
        if let Err(message) = self.http.proxy(proxy) {
            self.http_problems.push(message);
        }
        self
    }

    /// Sends no request through a proxy, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.http.no_proxy();
        self
    }

    /// Presents a client certificate on every connection to `provider`'s endpoints: mutual
    /// TLS (RFC 8705), for providers that require it. `chain_pem` holds the client's
    /// certificate first, then any intermediates; `key_pem` its private key (PKCS #8, PKCS #1
    /// or SEC1). The certificate belongs to this provider's client registration, so other
    /// providers never see it. A PEM that cannot be read, a key that does not fit the
    /// certificate, or a provider that is not declared is a problem
    /// [`build`](Self::build) reports.
    pub fn client_certificate_pem(
        mut self,
        provider: &str,
        chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        let identity = ClientIdentity::from_pem(chain_pem.as_ref(), key_pem.as_ref());
        self.identities.retain(|(name, _)| name != provider);
        self.identities.push((provider.to_string(), identity));
        self
    }

    /// Adjusts the [`reqwest::ClientBuilder`] every client of the registry is built from:
    /// timeouts, connection pool, DNS resolver, local address, default headers, proxies, a
    /// user agent. It runs after the library's defaults (a 10 s connection deadline, the
    /// `oauth-clients/<version>` user agent, the proxies chosen above) and before its rules,
    /// which it cannot change: redirects are never followed, nothing is retried, and TLS is
    /// always verified with the roots and client certificates set on this builder (any TLS
    /// setting made in the closure, `danger_accept_invalid_certs` included, is replaced). The
    /// provider's `timeout` still bounds every request as a whole.
    ///
    /// ```
    /// # oauth_clients::oauth_clients! {
    /// #     corp_sso { server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration", scope: "openid" },
    /// # }
    /// use std::time::Duration;
    /// let builder = Providers::builder().http_client(|http| {
    ///     http.pool_max_idle_per_host(4).connect_timeout(Duration::from_secs(3))
    /// });
    /// # let _ = builder;
    /// ```
    pub fn http_client(
        mut self,
        customize: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.http.customize = Some(Arc::new(customize));
        self
    }

    /// Builds an owned registry, or reports every problem at once.
    pub fn build(self) -> Result<Registry<S>, ConfigError> {
        let allow_unconfigured = self.allow_unconfigured;
        let (registry, problems) = self.assemble();
        let fatal: Vec<Problem> = problems
            .into_iter()
            .filter(|p| !(allow_unconfigured && p.is_unset()))
            .collect();
        if fatal.is_empty() {
            Ok(registry)
        } else {
            Err(ConfigError { problems: fatal })
        }
    }

    /// Builds the registry and makes it the global one, used by `Providers::github()` and the
    /// like. Call it once at start-up, before the first use of a provider.
    ///
    /// Fails with every problem [`build`](Self::build) finds, or if the global registry is
    /// already set: installed before, or built on the first use of a provider.
    ///
    /// ```
    /// oauth_clients::oauth_clients! {
    ///     github {
    ///         authorize_url: "https://github.com/login/oauth/authorize",
    ///         access_token_url: "https://github.com/login/oauth/access_token",
    ///         api_base_url: "https://api.github.com/",
    ///     },
    /// }
    ///
    /// # fn main() -> Result<(), oauth_clients::ConfigError> {
    /// let settings = oauth_clients::Settings::new()
    ///     .set("github", "client_id", "my-app")
    ///     .set("github", "client_secret", "from-a-secret-store");
    /// Providers::builder().settings(settings).install()?;
    /// assert!(Providers::list()[0].available);
    /// # Ok(())
    /// # }
    /// ```
    pub fn install(self) -> Result<&'static Registry<S>, ConfigError> {
        let registry = self.build()?;
        let cell = &S::global_cell().cell;
        cell.set(registry).map_err(|_| ConfigError {
            problems: vec![Problem::new(
                S::CONFIGS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
                None,
                Origin::Registry,
                "the global registry is already set: install it once, before the first use of a provider".into(),
            )],
        })?;
        Ok(Registry::global())
    }

    /// The registry, with every problem found. Providers with problems are unavailable.
    fn assemble(self) -> (Registry<S>, Vec<Problem>) {
        let mut problems = Vec::new();
        let declared: Vec<&str> = S::CONFIGS.iter().map(|c| c.name).collect();
        for name in self.settings.providers().keys() {
            if !declared.contains(&name.as_str()) {
                let hint = undeclared_hint(name, &declared);
                problems.push(Problem::new(
                    name.clone(),
                    None,
                    Origin::Settings,
                    format!("no provider `{name}` is declared{hint}"),
                ));
            }
        }
        let everyone = || declared.join(", ");
        let registry_problem =
            |message: String| Problem::new(everyone(), None, Origin::Registry, message);
        problems.extend(self.http_problems.iter().cloned().map(registry_problem));
        for (name, _) in &self.identities {
            if !declared.contains(&name.as_str()) {
                let hint = undeclared_hint(name, &declared);
                problems.push(Problem::new(
                    name.clone(),
                    None,
                    Origin::Registry,
                    format!(
                        "a client certificate is set for `{name}`, which is not declared{hint}"
                    ),
                ));
            }
        }
        let roots = self.http.root_store();
        let http = roots
            .clone()
            .and_then(|roots| self.http.client(roots, None));
        if let Err(message) = &http {
            problems.push(registry_problem(message.clone()));
        }
        let providers = S::CONFIGS
            .iter()
            .map(|config| {
                let resolved = resolve(config, &self.settings, &self.env);
                let (resolved, declared_identity) = match resolved {
                    Ok((resolved, identity)) => (Ok(resolved), identity),
                    Err(found) => (Err(found), None),
                };
                // The certificate set on the builder replaces a declared one.
                let identity = self
                    .identities
                    .iter()
                    .find(|(name, _)| name == config.name)
                    .map(|(_, identity)| identity.as_ref().map_err(String::clone))
                    .or(declared_identity.as_ref().map(Ok));
                let own_http = identity.map(|identity| {
                    let built = identity.and_then(|identity| {
                        roots
                            .clone()
                            .and_then(|roots| self.http.client(roots, Some(identity)))
                    });
                    if let Err(message) = &built {
                        problems.push(Problem::new(
                            config.name,
                            None,
                            Origin::Registry,
                            message.clone(),
                        ));
                    }
                    built
                });
                // RFC 8705 §2: the TLS methods authenticate with the certificate alone. A
                // missing certificate is a credential not configured, as a missing secret is
                // (`allow_unconfigured` makes the provider unavailable).
                let resolved = match resolved {
                    Ok(resolved)
                        if resolved.token_endpoint_auth_method.is_tls() && own_http.is_none() =>
                    {
                        let mut missing = Problem::new(
                            config.name,
                            Some(Key::TokenEndpointAuthMethod.name().to_string()),
                            Origin::Declaration,
                            format!(
                                "`token_endpoint_auth_method: {}` authenticates with a client certificate, and `{}` has none: declare `client_certificate` and `client_certificate_key`, or call `client_certificate_pem`",
                                resolved.token_endpoint_auth_method.as_str(),
                                config.name
                            ),
                        );
                        missing.unset = true;
                        Err(vec![missing])
                    }
                    resolved => resolved,
                };
                if let Err(found) = &resolved {
                    problems.extend(found.iter().cloned());
                }
                // DPoP: the registry's key, made now; with a token store, each login makes
                // its own instead, kept with the user's token.
                let dpop = match resolved.as_ref().ok().and_then(|c| c.dpop) {
                    Some(alg) => crate::dpop::DpopState::new(alg, self.store.is_some())
                        .unwrap_or_else(|message| {
                            problems.push(Problem::new(
                                config.name,
                                Some("dpop".into()),
                                Origin::Registry,
                                message,
                            ));
                            Default::default()
                        }),
                    None => Default::default(),
                };
                let runtime = ProviderRuntime {
                    declared_metadata: Arc::new(
                        resolved
                            .as_ref()
                            .map(crate::metadata::declared)
                            .unwrap_or_default(),
                    ),
                    dpop,
                    ..ProviderRuntime::default()
                };
                // A provider whose own HTTP client cannot be built cannot be used.
                let resolved = match (&own_http, resolved) {
                    (Some(Err(message)), resolved) => {
                        let mut found = resolved.err().unwrap_or_default();
                        found.push(Problem::new(
                            config.name,
                            None,
                            Origin::Registry,
                            message.clone(),
                        ));
                        Err(found)
                    }
                    (_, resolved) => resolved,
                };
                Slot {
                    config,
                    resolved: resolved.map(Arc::new),
                    runtime,
                    http: own_http,
                }
            })
            .collect();
        let backend: Arc<dyn TokenBackend> = self
            .store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let keys = self
            .token_keys
            .clone()
            .or_else(|| (self.env)(TOKEN_KEYS_VARIABLE));
        let sealer = match (&keys, backend.process_key()) {
            (Some(keys), _) => Sealer::from_config(keys),
            (None, Some(key)) => Sealer::process_local(key),
            (None, None) => Err(format!(
                "a shared token store needs the keys tokens are sealed with: set `{TOKEN_KEYS_VARIABLE}` (e.g. `k1:` and the output of `openssl rand -base64 32`) or call `token_keys`"
            )),
        };
        let sealer = sealer.unwrap_or_else(|message| {
            problems.push(registry_problem(message));
            // Nothing can be sealed or opened until the keys are fixed.
            Sealer::unusable()
        });
        let vault = Vault::new(
            backend,
            sealer,
            self.refresh_lease,
            self.login_required.clone(),
        );
        let registry = Registry {
            inner: Arc::new(Shared {
                providers,
                http,
                vault,
                hooks: self.hooks,
                flights: Flights::default(),
                clock: self.clock,
                state_policy: self.state_policy,
            }),
            _set: PhantomData,
        };
        (registry, problems)
    }
}

/// What to add after "`name` is not declared": the declared name it is a typo of, or else
/// every declared name.
fn undeclared_hint(name: &str, declared: &[&str]) -> String {
    match spec::suggest(name, declared.iter().copied()) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!("; declared: {}", declared.join(", ")),
    }
}

/// Declaration + settings + environment → configuration, or every problem on the way.
fn resolve(
    config: &'static ProviderConfig,
    settings: &Settings,
    env: &EnvSource,
) -> Result<(ClientConfig, Option<ClientIdentity>), Vec<Problem>> {
    let name = config.name;
    let mut problems = Vec::new();
    let problem = |key: Option<Key>, origin, message| {
        Problem::new(name, key.map(|k| k.name().to_string()), origin, message)
    };
    let unset = |key: Key, var: &str| Problem {
        unset: true,
        ..problem(
            Some(key),
            Origin::Environment,
            format!("`{key}` is not set: set the environment variable `{var}`"),
        )
    };
    let mut values: BTreeMap<Key, (Checked, Origin)> = BTreeMap::new();
    // Keys given with a value that failed its check: present for the checks across keys.
    let mut invalid: Vec<Key> = Vec::new();
    for (key, value) in config.entries {
        match value.check(*key, config.oauth1) {
            Ok(checked) => {
                values.insert(*key, (checked, Origin::Declaration));
            }
            // Unreachable unless the macro and runtime versions disagree: say so.
            Err(found) => {
                invalid.push(*key);
                problems.extend(
                    found
                        .into_iter()
                        .map(|m| problem(Some(*key), Origin::Declaration, m)),
                )
            }
        }
    }
    for (key_name, value) in settings.providers().get(name).into_iter().flatten() {
        let Some(key) = Key::from_name(key_name) else {
            problems.push(Problem::new(
                name,
                Some(key_name.clone()),
                Origin::Settings,
                spec::unknown_key(key_name),
            ));
            continue;
        };
        let owned = value.to_value(key.kind());
        match spec::check_value_for(
            key,
            &owned.as_value(),
            spec::Origin::Settings,
            config.oauth1,
        ) {
            Ok(checked) => {
                values.insert(key, (checked, Origin::Settings));
            }
            Err(found) => {
                invalid.push(key);
                problems.extend(
                    found
                        .into_iter()
                        .map(|m| problem(Some(key), Origin::Settings, m)),
                )
            }
        }
    }
    // URLs declared `env("VAR")` and not set by settings: read now, checked as if written out.
    let from_env: Vec<(Key, String)> = values
        .iter()
        .filter_map(|(key, (value, _))| match value {
            Checked::Env(var) => Some((*key, var.clone())),
            _ => None,
        })
        .collect();
    for (key, var) in from_env {
        values.remove(&key);
        let Some(value) = env(&var).filter(|v| !v.trim().is_empty()) else {
            invalid.push(key);
            problems.push(unset(key, &var));
            continue;
        };
        match spec::check_value(key, &Value::Str(value.trim()), spec::Origin::Settings) {
            Ok(checked) => {
                values.insert(key, (checked, Origin::Environment));
            }
            Err(found) => {
                invalid.push(key);
                problems.extend(found.into_iter().map(|m| {
                    problem(
                        Some(key),
                        Origin::Environment,
                        format!("{m} (read from `{var}`)"),
                    )
                }));
            }
        }
    }
    // A preset: its values under the ones given, its placeholders filled from the preset-only
    // keys (given, or the preset's defaults), and its own checks.
    let preset = config.preset.and_then(spec::presets::preset);
    for (key, (_, origin)) in values.iter().filter(|(key, _)| key.preset_only()) {
        if preset.is_none_or(|p| p.param(*key).is_none()) {
            problems.push(problem(
                Some(*key),
                *origin,
                spec::presets::misplaced_key(*key, name, preset),
            ));
        }
    }
    if let Some(preset) = preset {
        // Parameters given add to the preset's (and replace those of the same name): a
        // `prompt` must not drop Apple's `response_mode=form_post` or Google's
        // `access_type=offline`.
        for (key, default) in preset.values {
            if let (spec::presets::Default::Params(defaults), Some((Checked::Params(given), _))) =
                (default, values.get_mut(key))
            {
                let mut merged: Vec<(String, String)> = defaults
                    .iter()
                    .filter(|(name, _)| !given.iter().any(|(n, _)| n == name))
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect();
                merged.append(given);
                *given = merged;
            }
        }
        let param = |key| match values.get(&key) {
            Some((Checked::Text(text) | Checked::Url(text), _)) => Some(text.clone()),
            _ => None,
        };
        let mut filled = Vec::new();
        for (key, _) in preset.values {
            if values.contains_key(key) || invalid.contains(key) {
                continue;
            }
            // A placeholder whose key was refused: already reported, and the value unknown.
            if let Some(spec::presets::Default::Str(template)) = preset.default(*key) {
                if invalid
                    .iter()
                    .any(|k| template.contains(&format!("{{{k}}}")))
                {
                    invalid.push(*key);
                    continue;
                }
            }
            match preset.value(*key, param) {
                Some(Ok(checked)) => filled.push((*key, checked)),
                // A placeholder filled with a value that makes the URL invalid.
                Some(Err(found)) => {
                    invalid.push(*key);
                    problems.extend(
                        found
                            .into_iter()
                            .map(|m| problem(Some(*key), Origin::Declaration, m)),
                    );
                }
                None => {}
            }
        }
        for param in preset.params {
            if let (false, Some(default)) = (values.contains_key(&param.key), param.default) {
                filled.push((param.key, Checked::Text(default.to_string())));
            }
        }
        for (key, checked) in filled {
            values.insert(key, (checked, Origin::Declaration));
        }
        let declared = |key| values.contains_key(&key) || invalid.contains(&key);
        for found in preset.check(name, declared) {
            let origin = found
                .key
                .and_then(|k| values.get(&k))
                .map_or(Origin::Declaration, |(_, origin)| *origin);
            problems.push(problem(found.key, origin, found.message));
        }
    }
    let declared = |key| values.contains_key(&key) || invalid.contains(&key);
    let get = |key| values.get(&key).map(|(v, _)| v);
    // The declaration made the provider's type one kind; settings may not make it another.
    let changed = spec::ProviderKind::of(declared, get)
        .and_then(|found| spec::check_kind_unchanged(name, config.kind(), found));
    for found in changed
        .into_iter()
        .chain(spec::check_provider(name, declared, get))
    {
        // Blame settings when they set the key concerned; otherwise the declaration as a whole.
        let origin = found
            .key
            .and_then(|k| values.get(&k))
            .map_or(Origin::Declaration, |(_, origin)| *origin);
        problems.push(problem(found.key, origin, found.message));
    }

    let credential = |key: Key| -> Result<String, Problem> {
        let var = match values.get(&key) {
            Some((Checked::Credential(Credential::Literal(value)), _)) => return Ok(value.clone()),
            Some((Checked::Credential(Credential::Env(var)), _)) => var.clone(),
            _ => spec::default_env(name, key),
        };
        match env(&var) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(unset(key, &var)),
        }
    };
    let client_id = credential(Key::ClientId).map_err(|p| problems.push(p)).ok();
    let public = matches!(
        values.get(&Key::TokenEndpointAuthMethod),
        Some((Checked::Choice("none"), _))
    );
    let makes_secret =
        preset.is_some_and(|p| p.behaviour.secret != spec::presets::SecretRule::Configured);
    let secret_maker = if makes_secret {
        credential(Key::PrivateKey)
            .map_err(|p| problems.push(p))
            .ok()
            .and_then(|pem| {
                let text = |key| match values.get(&key) {
                    Some((Checked::Text(text), _)) => text.clone(),
                    _ => String::new(),
                };
                crate::secret_jwt::SecretMaker::new(&pem, text(Key::TeamId), text(Key::KeyId))
                    .map_err(|message| {
                        problems.push(problem(Some(Key::PrivateKey), Origin::Environment, message))
                    })
                    .ok()
            })
    } else {
        None
    };
    // OAuth 1.0a with RSA-SHA1 signs with a private key instead of the client secret.
    let rsa_signed = config.oauth1
        && matches!(
            values.get(&Key::SignatureMethod),
            Some((Checked::Choice("RSA-SHA1"), _))
        );
    let rsa_key = if rsa_signed {
        credential(Key::RsaKey)
            .map_err(|p| problems.push(p))
            .ok()
            .and_then(|pem| {
                crate::secret_jwt::RsaKey::from_pem(&pem)
                    .map_err(|message| {
                        problems.push(problem(Some(Key::RsaKey), Origin::Environment, message))
                    })
                    .ok()
            })
    } else {
        None
    };
    let (assertion_key, identity) = client_auth_material(name, &values, env, &mut problems);
    let secret_unsent = matches!(
        spec::auth_method(declared, get),
        Some(method) if method == "private_key_jwt" || spec::is_tls_auth_method(method)
    );
    let client_secret = if public || makes_secret || rsa_signed || secret_unsent {
        None
    } else {
        credential(Key::ClientSecret)
            .map_err(|p| problems.push(p))
            .ok()
            .map(Secret::new)
    };
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
    if let (Some(Checked::Choice("client_secret_jwt")), Some(secret)) = (
        values.get(&Key::TokenEndpointAuthMethod).map(|(v, _)| v),
        &client_secret,
    ) {
        if secret.expose().len() < crate::client_assertion::MIN_HMAC_SECRET {
            let origin =
                values
                    .get(&Key::ClientSecret)
                    .map_or(Origin::Environment, |(_, origin)| match origin {
                        Origin::Settings => Origin::Settings,
                        _ => Origin::Environment,
                    });
            problems.push(problem(
                Some(Key::ClientSecret),
                origin,
                format!(
                    "`client_secret_jwt` signs with the client secret as an HS256 key, which must be at least {} bytes (RFC 7518 §3.2); this one has {}",
                    crate::client_assertion::MIN_HMAC_SECRET,
                    secret.expose().len()
                ),
            ));
        }
    }

    match client_id {
        Some(client_id) if problems.is_empty() => {
            let mut config = ClientConfig::from_checked(
                name,
                |key| values.get(&key).map(|(v, _)| v.clone()),
                client_id,
                client_secret,
            );
            config.preset = preset;
            config.secret_maker = secret_maker.map(Arc::new);
            config.assertion_key = assertion_key.map(Arc::new);
            if let Some(oauth1) = config.oauth1.as_mut() {
                oauth1.rsa_key = rsa_key.map(Arc::new);
            }
            Ok((config, identity))
        }
        _ => Err(problems),
    }
}

/// A credential key's value: the literal from settings, or the environment variable it
/// names, or (with `default_env`) the provider's default variable for the key; `None` when
/// the key is not given and has no default. An unset variable is a problem.
fn read_credential(
    name: &str,
    key: Key,
    values: &BTreeMap<Key, (Checked, Origin)>,
    env: &EnvSource,
    default_env: bool,
) -> Option<Result<(String, Origin), Problem>> {
    let var = match values.get(&key) {
        Some((Checked::Credential(Credential::Literal(value)), origin)) => {
            return Some(Ok((value.clone(), *origin)))
        }
        Some((Checked::Credential(Credential::Env(var)), _)) => var.clone(),
        _ if default_env => spec::default_env(name, key),
        _ => return None,
    };
    Some(match env(&var) {
        Some(value) if !value.trim().is_empty() => Ok((value, Origin::Environment)),
        _ => Err(Problem {
            unset: true,
            ..Problem::new(
                name,
                Some(key.name().to_string()),
                Origin::Environment,
                format!("`{key}` is not set: set the environment variable `{var}`"),
            )
        }),
    })
}

/// The key `private_key_jwt` signs with (from `client_key_file`, else `client_key` or its
/// default variable `<NAME>_CLIENT_KEY`), and the client certificate declared with
/// `client_certificate` and `client_certificate_key`; every problem on the way is pushed to
/// `problems`.
fn client_auth_material(
    name: &'static str,
    values: &BTreeMap<Key, (Checked, Origin)>,
    env: &EnvSource,
    problems: &mut Vec<Problem>,
) -> (
    Option<crate::client_assertion::AssertionKey>,
    Option<ClientIdentity>,
) {
    let problem = |key: Key, origin, message| {
        Problem::new(name, Some(key.name().to_string()), origin, message)
    };
    let read = |key: Key, default_env: bool, problems: &mut Vec<Problem>| match read_credential(
        name,
        key,
        values,
        env,
        default_env,
    )? {
        Ok(found) => Some(found),
        Err(found) => {
            problems.push(found);
            None
        }
    };
    let private_key_jwt = matches!(
        values.get(&Key::TokenEndpointAuthMethod),
        Some((Checked::Choice("private_key_jwt"), _))
    );
    let mut assertion_key = None;
    if private_key_jwt {
        let kid = read(Key::ClientKeyId, false, problems).map(|(kid, _)| kid);
        let alg = match values.get(&Key::ClientAssertionAlg) {
            Some((Checked::Choice(alg), _)) => {
                crate::client_assertion::AssertionAlg::from_name(alg)
            }
            _ => None,
        };
        let pem = if values.contains_key(&Key::ClientKeyFile) {
            read(Key::ClientKeyFile, false, problems).and_then(|(path, origin)| {
                match std::fs::read_to_string(path.trim()) {
                    Ok(pem) => Some((pem, Key::ClientKeyFile, origin)),
                    Err(e) => {
                        // The path is configuration, not a secret: naming it helps.
                        problems.push(problem(
                            Key::ClientKeyFile,
                            origin,
                            format!("`client_key_file` `{}` cannot be read: {e}", path.trim()),
                        ));
                        None
                    }
                }
            })
        } else {
            read(Key::ClientKey, true, problems).map(|(pem, origin)| (pem, Key::ClientKey, origin))
        };
        if let Some((pem, key, origin)) = pem {
            match crate::client_assertion::AssertionKey::from_pem(&pem, alg, kid, key.name()) {
                Ok(found) => assertion_key = Some(found),
                Err(message) => {
                    // A wrong algorithm is the declared (or set) key's fault.
                    let (key, origin) = match values.get(&Key::ClientAssertionAlg) {
                        Some((_, alg_origin)) if message.starts_with("`client_assertion_alg") => {
                            (Key::ClientAssertionAlg, *alg_origin)
                        }
                        _ => (key, origin),
                    };
                    problems.push(problem(key, origin, message));
                }
            }
        }
    }
    let chain = read(Key::ClientCertificate, false, problems);
    let identity = match (chain, read(Key::ClientCertificateKey, false, problems)) {
        (Some((chain, origin)), Some((key, _))) => {
            // Settings take no line breaks: a PEM there comes with `\n` escapes.
            let lines = |pem: String| {
                if pem.contains("\\n") && !pem.contains('\n') {
                    pem.replace("\\n", "\n")
                } else {
                    pem
                }
            };
            let (chain, key) = (lines(chain), lines(key));
            match ClientIdentity::from_pem(chain.as_bytes(), key.as_bytes()) {
                Ok(identity) => Some(identity),
                Err(message) => {
                    problems.push(problem(Key::ClientCertificate, origin, message));
                    None
                }
            }
        }
        _ => None,
    };
    (assertion_key, identity)
}
