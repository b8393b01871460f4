//! Checks across keys and across providers, on a model whose values are already checked.

use crate::ast::Declaration;
use crate::errors::Errors;
use oauth_clients_spec as spec;
use std::collections::BTreeMap;

pub fn check(cx: &Errors, decl: &Declaration) {
    check_names(cx, decl);
    for provider in &decl.providers {
        if provider.unknown_preset {
            continue;
        }
        let name = provider.name.to_string();
        let declared = |key| provider.declares(key);
        let mut problems = spec::check_provider(&name, declared, |key| provider.get(key));
        match provider.preset {
            Some(preset) => problems.extend(preset.check(&name, declared)),
            // `gihtub { client_id: ".." }`: a preset misspelt, not a provider without endpoints.
            None => {
                if let Some(close) = spec::presets::near_preset(&name) {
                    for problem in problems.iter_mut().filter(|p| p.key.is_none()) {
                        problem
                            .message
                            .push_str(&format!("; or did you mean the preset `{}`?", close.name));
                    }
                }
            }
        }
        for problem in problems {
            match problem.key.and_then(|key| provider.declared.get(&key)) {
                Some(span) => cx.error_at(*span, problem.message),
                None => cx.error_spanned_by(&provider.name, problem.message),
            }
        }
    }
}

/// Provider names: snake_case, unique, and not clashing as types with each other or the registry.
fn check_names(cx: &Errors, decl: &Declaration) {
    if decl.providers.is_empty() {
        cx.error_spanned_by(
            &decl.registry,
            "declare at least one provider, e.g. `github { authorize_url: \"..\", access_token_url: \"..\" }`",
        );
    }
    let mut names: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    let mut types: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    for provider in &decl.providers {
        let name = provider.name.to_string();
        if let Err(problem) = spec::check_provider_name(&name) {
            cx.error_spanned_by(&provider.name, problem);
            continue;
        }
        if names.contains_key(&name) {
            cx.error_spanned_by(&provider.name, format!("duplicate provider `{name}`"));
            continue;
        }
        names.insert(name.clone(), &provider.name);
        let type_name = spec::type_name(&name);
        let ext = decl.ext_trait();
        if decl.registry == type_name {
            cx.error_spanned_by(
                &provider.name,
                format!(
                    "provider `{name}` would generate the type `{type_name}`, which is the registry's name; rename one of them"
                ),
            );
        } else if ext == type_name {
            cx.error_spanned_by(
                &provider.name,
                format!(
                    "provider `{name}` would generate the type `{type_name}`, which is the name of the registry's extension trait; rename one of them"
                ),
            );
        } else if let Some(first) = types.get(&type_name) {
            cx.error_spanned_by(
                &provider.name,
                format!("providers `{first}` and `{name}` would both generate the type `{type_name}`; rename one of them"),
            );
        } else {
            types.insert(type_name, &provider.name);
        }
    }
}
