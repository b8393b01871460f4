//! What to emit when the declaration has errors: the errors, plus the types of every provider
//! that can be named, so the rest of the user's program still type-checks and the compiler
//! shows the declaration's mistakes instead of a cascade of "cannot find type" errors.

use crate::ast::Declaration;
use crate::expand::expand;
use oauth_clients_spec as spec;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeSet;

pub fn expand_after_errors(mut decl: Declaration) -> TokenStream {
    let mut names = BTreeSet::new();
    let mut types = BTreeSet::from([decl.registry.to_string(), decl.ext_trait().to_string()]);
    decl.providers.retain(|provider| {
        let name = provider.name.to_string();
        spec::check_provider_name(&name).is_ok()
            && names.insert(name.clone())
            && types.insert(spec::type_name(&name))
    });
    let p = {
        let krate = &decl.krate;
        quote!(#krate::__private)
    };
    // Claim OpenID Connect for every OAuth 2.0 provider: a mistake in `scope` must not also
    // produce "not an OpenID Connect provider" errors at every use. (An OAuth 1.0a provider has
    // its own client type, which has no OpenID Connect methods to misuse.)
    let markers = decl
        .providers
        .iter()
        .filter(|provider| !provider.is_openid() && !provider.is_oauth1())
        .map(|provider| {
            let ty = provider.type_ident();
            quote! {
                impl #p::DeclaredOpenId for #ty {}
                impl #p::OpenIdProvider for #ty {}
            }
        });
    let mut tokens = expand(&decl);
    tokens.extend(markers);
    tokens
}
