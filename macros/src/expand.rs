//! Code generation. It cannot fail: everything was checked before.
//!
//! Per provider the output is a unit type, its `&'static` configuration (the declared entries
//! as data) and marker impls (the sealed traits' seals included); the flows are generic code in
//! the runtime. Per declaration: the registry type with one global accessor per provider, and
//! an extension trait (`ProvidersExt`) giving an owned `Registry<Providers>` the same accessors. Every runtime item is
//! named through the path relayed by `oauth_clients!` (`$crate`), so renaming the dependency
//! works, and only through its hidden `__private` module.

use crate::ast::{Declaration, Provider};
use oauth_clients_spec::{Checked, Credential, Key};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub fn expand(decl: &Declaration) -> TokenStream {
    let krate = &decl.krate;
    let p = quote!(#krate::__private);
    let vis = &decl.vis;
    let registry = &decl.registry;

    let types: Vec<Ident> = decl.providers.iter().map(Provider::type_ident).collect();
    let mut items = Vec::new();
    let ext = decl.ext_trait();
    let mut accessors = Vec::new();
    let mut ext_methods = Vec::new();
    let mut ext_impls = Vec::new();
    for (index, (provider, ty)) in decl.providers.iter().zip(&types).enumerate() {
        let name = provider.name.to_string();
        let docs = &provider.docs;
        let default_doc = format!("The `{name}` provider, declared with `oauth_clients!`.");
        let doc = if docs.is_empty() {
            quote!(#[doc = #default_doc])
        } else {
            quote!(#(#docs)*)
        };
        let entries = provider
            .values
            .iter()
            .map(|(key, (value, _))| entry(&p, *key, value));
        let openid = provider.is_openid();
        let preset = match provider.preset {
            Some(preset) => {
                let name = preset.name;
                quote!(::core::option::Option::Some(#name))
            }
            None => quote!(::core::option::Option::None),
        };
        let marker = openid.then(|| {
            quote! {
                impl #p::DeclaredOpenId for #ty {}
                impl #p::OpenIdProvider for #ty {}
            }
        });
        let oauth1 = provider.is_oauth1();
        let config = quote! {
            const INDEX: usize = #index;
            const CONFIG: &'static #p::ProviderConfig = &#p::ProviderConfig {
                name: #name,
                openid: #openid,
                oauth1: #oauth1,
                preset: #preset,
                entries: &[#(#entries),*],
            };
        };
        // An OAuth 1.0a provider gets its own client type, with the same flow names but its own
        // token; the OAuth 2.0 and OpenID Connect methods do not exist on it.
        let (client, constructor, impls) = if oauth1 {
            (
                quote!(#p::OAuth1Client<#ty>),
                quote!(oauth1_client),
                quote! {
                    impl #p::DeclaredOAuth1 for #ty {}
                    impl #p::OAuth1Provider for #ty {
                        type Set = #registry;
                        #config
                    }
                },
            )
        } else {
            (
                quote!(#p::Client<#ty>),
                quote!(client),
                quote! {
                    impl #p::DeclaredProvider for #ty {}
                    impl #p::Provider for #ty {
                        type Set = #registry;
                        #config
                    }
                    #marker
                },
            )
        };
        items.push(quote! {
            #doc
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            #vis struct #ty;

            #impls
        });
        let method = &provider.name;
        let method_doc = format!("A client for the `{name}` provider, from the global registry.");
        accessors.push(quote! {
            #[doc = #method_doc]
            #[inline]
            pub fn #method() -> #client {
                <#client>::global()
            }
        });
        let ext_doc = format!("A client for the `{name}` provider, from this registry.");
        ext_methods.push(quote! {
            #[doc = #ext_doc]
            fn #method(&self) -> #client;
        });
        ext_impls.push(quote! {
            #[inline]
            fn #method(&self) -> #client {
                #p::Registry::#constructor::<#ty>(self)
            }
        });
    }

    let trait_of: Vec<TokenStream> = decl
        .providers
        .iter()
        .map(|provider| {
            if provider.is_oauth1() {
                quote!(#p::OAuth1Provider)
            } else {
                quote!(#p::Provider)
            }
        })
        .collect();
    let registry_doc = format!(
        "The providers declared with `oauth_clients!`: {}.",
        decl.providers
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let first = &decl.providers.first().map(|p| p.name.to_string());
    let ext_doc = format!(
        "Typed clients of an owned `Registry<{registry}>` (from `{registry}::builder().build()`), \
         one method per provider: `registry.{}()`. In scope where `oauth_clients!` is invoked; \
         elsewhere, import it with the registry type (`use path::to::{{{registry}, {ext}}};`).",
        first.as_deref().unwrap_or("provider"),
    );
    quote! {
        #[doc = #registry_doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #vis struct #registry;

        impl #p::DeclaredSet for #registry {}
        impl #p::ProviderSet for #registry {
            const CONFIGS: &'static [&'static #p::ProviderConfig] =
                &[#(<#types as #trait_of>::CONFIG),*];

            fn global_cell() -> &'static #p::GlobalCell<Self> {
                static CELL: #p::GlobalCell<#registry> = #p::GlobalCell::new();
                &CELL
            }
        }

        #[allow(dead_code)]
        impl #registry {
            #(#accessors)*

            /// A builder for a registry of these providers: runtime settings, environment,
            /// token-update hooks; `install()` makes it the global one, `build()` an owned one.
            pub fn builder() -> #p::RegistryBuilder<Self> {
                #p::RegistryBuilder::new()
            }

            /// The global registry: the one `install()`ed, else one built from the declaration
            /// and the environment on first use.
            pub fn global() -> &'static #p::Registry<Self> {
                #p::Registry::global()
            }

            /// The declared providers with their run-time state, e.g. to build a login page.
            pub fn list() -> ::std::vec::Vec<#p::ProviderInfo> {
                #p::Registry::<Self>::global().list()
            }
        }

        #[doc = #ext_doc]
        #[allow(dead_code)]
        #vis trait #ext {
            #(#ext_methods)*
        }

        impl #ext for #p::Registry<#registry> {
            #(#ext_impls)*
        }

        #(#items)*
    }
}

fn entry(p: &TokenStream, key: Key, value: &Checked) -> TokenStream {
    // The variant's name from the key table, not the `Debug` output, which may change.
    let key = Ident::new(key.variant(), Span::call_site());
    let value = match value {
        Checked::Url(s) | Checked::Text(s) | Checked::Credential(Credential::Literal(s)) => {
            quote!(#p::Static::Str(#s))
        }
        Checked::Credential(Credential::Env(var)) | Checked::Env(var) => {
            quote!(#p::Static::Env(#var))
        }
        Checked::Scope(tokens) => quote!(#p::Static::Scope(&[#(#tokens),*])),
        Checked::Params(params) => {
            let (names, values): (Vec<_>, Vec<_>) = params.iter().cloned().unzip();
            quote!(#p::Static::Params(&[#((#names, #values)),*]))
        }
        Checked::Choice(choice) => quote!(#p::Static::Choice(#choice)),
        Checked::Seconds(n) => quote!(#p::Static::Int(#n)),
        Checked::Flag(on) => quote!(#p::Static::Flag(#on)),
    };
    quote!((#p::Key::#key, #value))
}
