#[doc = "The providers declared with `oauth_clients!`: `github`, `corp_sso`, `trello`."]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Providers;
impl ::oauth_clients::__private::DeclaredSet for Providers {}
impl ::oauth_clients::__private::ProviderSet for Providers {
    const CONFIGS: &'static [&'static ::oauth_clients::__private::ProviderConfig] = &[
        <Github as ::oauth_clients::__private::Provider>::CONFIG,
        <CorpSso as ::oauth_clients::__private::Provider>::CONFIG,
        <Trello as ::oauth_clients::__private::OAuth1Provider>::CONFIG,
    ];
    fn global_cell() -> &'static ::oauth_clients::__private::GlobalCell<Self> {
        static CELL: ::oauth_clients::__private::GlobalCell<Providers> =
            ::oauth_clients::__private::GlobalCell::new();
        &CELL
    }
}
#[allow(dead_code)]
impl Providers {
    #[doc = "A client for the `github` provider, from the global registry."]
    #[inline]
    pub fn github() -> ::oauth_clients::__private::Client<Github> {
        <::oauth_clients::__private::Client<Github>>::global()
    }
    #[doc = "A client for the `corp_sso` provider, from the global registry."]
    #[inline]
    pub fn corp_sso() -> ::oauth_clients::__private::Client<CorpSso> {
        <::oauth_clients::__private::Client<CorpSso>>::global()
    }
    #[doc = "A client for the `trello` provider, from the global registry."]
    #[inline]
    pub fn trello() -> ::oauth_clients::__private::OAuth1Client<Trello> {
        <::oauth_clients::__private::OAuth1Client<Trello>>::global()
    }
    #[doc = r" A builder for a registry of these providers: runtime settings, environment,"]
    #[doc = r" token-update hooks; `install()` makes it the global one, `build()` an owned one."]
    pub fn builder() -> ::oauth_clients::__private::RegistryBuilder<Self> {
        ::oauth_clients::__private::RegistryBuilder::new()
    }
    #[doc = r" The global registry: the one `install()`ed, else one built from the declaration"]
    #[doc = r" and the environment on first use."]
    pub fn global() -> &'static ::oauth_clients::__private::Registry<Self> {
        ::oauth_clients::__private::Registry::global()
    }
    #[doc = r" The declared providers with their run-time state, e.g. to build a login page."]
    pub fn list() -> ::std::vec::Vec<::oauth_clients::__private::ProviderInfo> {
        ::oauth_clients::__private::Registry::<Self>::global().list()
    }
}
#[doc = "Typed clients of an owned `Registry<Providers>` (from `Providers::builder().build()`), one method per provider: `registry.github()`. In scope where `oauth_clients!` is invoked; elsewhere, import it with the registry type (`use path::to::{Providers, ProvidersExt};`)."]
#[allow(dead_code)]
pub trait ProvidersExt {
    #[doc = "A client for the `github` provider, from this registry."]
    fn github(&self) -> ::oauth_clients::__private::Client<Github>;
    #[doc = "A client for the `corp_sso` provider, from this registry."]
    fn corp_sso(&self) -> ::oauth_clients::__private::Client<CorpSso>;
    #[doc = "A client for the `trello` provider, from this registry."]
    fn trello(&self) -> ::oauth_clients::__private::OAuth1Client<Trello>;
}
impl ProvidersExt for ::oauth_clients::__private::Registry<Providers> {
    #[inline]
    fn github(&self) -> ::oauth_clients::__private::Client<Github> {
        ::oauth_clients::__private::Registry::client::<Github>(self)
    }
    #[inline]
    fn corp_sso(&self) -> ::oauth_clients::__private::Client<CorpSso> {
        ::oauth_clients::__private::Registry::client::<CorpSso>(self)
    }
    #[inline]
    fn trello(&self) -> ::oauth_clients::__private::OAuth1Client<Trello> {
        ::oauth_clients::__private::Registry::oauth1_client::<Trello>(self)
    }
}
#[doc = "The `github` provider, declared with `oauth_clients!`."]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Github;
impl ::oauth_clients::__private::DeclaredProvider for Github {}
impl ::oauth_clients::__private::Provider for Github {
    type Set = Providers;
    const INDEX: usize = 0usize;
    const CONFIG: &'static ::oauth_clients::__private::ProviderConfig =
        &::oauth_clients::__private::ProviderConfig {
            name: "github",
            openid: false,
            oauth1: false,
            preset: ::core::option::Option::Some("github"),
            entries: &[],
        };
}
#[doc = "The `corp_sso` provider, declared with `oauth_clients!`."]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CorpSso;
impl ::oauth_clients::__private::DeclaredProvider for CorpSso {}
impl ::oauth_clients::__private::Provider for CorpSso {
    type Set = Providers;
    const INDEX: usize = 1usize;
    const CONFIG: &'static ::oauth_clients::__private::ProviderConfig =
        &::oauth_clients::__private::ProviderConfig {
            name: "corp_sso",
            openid: true,
            oauth1: false,
            preset: ::core::option::Option::None,
            entries: &[
                (
                    ::oauth_clients::__private::Key::AuthorizeParams,
                    ::oauth_clients::__private::Static::Params(&[("prompt", "select_account")]),
                ),
                (
                    ::oauth_clients::__private::Key::ServerMetadataUrl,
                    ::oauth_clients::__private::Static::Str(
                        "https://sso.example.com/.well-known/openid-configuration",
                    ),
                ),
                (
                    ::oauth_clients::__private::Key::Scope,
                    ::oauth_clients::__private::Static::Scope(&["openid", "profile", "email"]),
                ),
            ],
        };
}
impl ::oauth_clients::__private::DeclaredOpenId for CorpSso {}
impl ::oauth_clients::__private::OpenIdProvider for CorpSso {}
#[doc = "The `trello` provider, declared with `oauth_clients!`."]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Trello;
impl ::oauth_clients::__private::DeclaredOAuth1 for Trello {}
impl ::oauth_clients::__private::OAuth1Provider for Trello {
    type Set = Providers;
    const INDEX: usize = 2usize;
    const CONFIG: &'static ::oauth_clients::__private::ProviderConfig =
        &::oauth_clients::__private::ProviderConfig {
            name: "trello",
            openid: false,
            oauth1: true,
            preset: ::core::option::Option::None,
            entries: &[
                (
                    ::oauth_clients::__private::Key::AuthorizeUrl,
                    ::oauth_clients::__private::Static::Str(
                        "https://trello.com/1/OAuthAuthorizeToken",
                    ),
                ),
                (
                    ::oauth_clients::__private::Key::AccessTokenUrl,
                    ::oauth_clients::__private::Static::Str(
                        "https://trello.com/1/OAuthGetAccessToken",
                    ),
                ),
                (
                    ::oauth_clients::__private::Key::RequestTokenUrl,
                    ::oauth_clients::__private::Static::Str(
                        "https://trello.com/1/OAuthGetRequestToken",
                    ),
                ),
            ],
        };
}
