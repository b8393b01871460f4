//! The typed model of a declaration, built from the syntax with every value checked.
//!
//! Value rules live in `oauth-clients-spec`, shared with the runtime's settings, so a key
//! accepts and refuses exactly the same values in source and in settings. Errors go to the
//! collector; a value that fails its check is left out of the model, so expansion can still
//! produce types for the rest of the program.

use crate::errors::Errors;
use crate::parse::{Input, RawEntry, RawProvider, RawValue};
use oauth_clients_spec::presets::{self, Preset};
use oauth_clients_spec::{self as spec, Checked, Key, Origin, Value};
use proc_macro2::{Span, TokenStream};
use std::collections::BTreeMap;
use syn::{Ident, Visibility};

pub struct Declaration {
    pub krate: TokenStream,
    pub vis: Visibility,
    pub registry: Ident,
    pub providers: Vec<Provider>,
}

pub struct Provider {
    pub name: Ident,
    pub docs: Vec<syn::Attribute>,
    /// Checked values by key, with the span of the key that set each.
    pub values: BTreeMap<Key, (Checked, Span)>,
    /// Every known key given, including those whose value failed its check, and the key that
    /// an unknown key is a near miss of (`authorise_url` → `authorize_url`) when that key is
    /// not given itself: the checks across keys count it as present, so one typo is one error
    /// and not also "`access_token_url` needs `authorize_url`". The span is the key's as
    /// written.
    pub declared: BTreeMap<Key, Span>,
    /// The preset the provider's name selects, if any.
    pub preset: Option<&'static Preset>,
    /// The preset's values for the keys the declaration does not give, where they can be
    /// worked out at compile time (a placeholder filled from `env(..)` cannot).
    pub preset_values: BTreeMap<Key, Checked>,
    /// Declared by name alone but no preset has that name: already reported, so the checks
    /// across keys skip it.
    pub unknown_preset: bool,
}

impl Provider {
    /// The value of a key: declared, else the preset's.
    pub fn get(&self, key: Key) -> Option<&Checked> {
        self.values
            .get(&key)
            .map(|(value, _)| value)
            .or_else(|| self.preset_values.get(&key))
    }

    /// Whether the key is given: declared (even with a value that failed its check), or
    /// provided by the preset.
    pub fn declares(&self, key: Key) -> bool {
        self.declared.contains_key(&key) || self.preset.is_some_and(|preset| preset.provides(key))
    }

    /// Whether it is an OAuth 1.0a provider: declared with `request_token_url`.
    pub fn is_oauth1(&self) -> bool {
        self.declared.contains_key(&Key::RequestTokenUrl)
    }
    pub fn is_openid(&self) -> bool {
        matches!(self.get(Key::Scope), Some(Checked::Scope(scope)) if spec::is_openid(scope))
    }

    /// The type generated for the provider: `my_idp` → `MyIdp`.
    pub fn type_ident(&self) -> Ident {
        Ident::new(&spec::type_name(&self.name.to_string()), self.name.span())
    }
}

impl Declaration {
    /// The extension trait that gives an owned registry one method per provider:
    /// `Providers` → `ProvidersExt`.
    pub fn ext_trait(&self) -> Ident {
        Ident::new(
            &spec::ext_trait_name(&self.registry.to_string()),
            self.registry.span(),
        )
    }

    pub fn from_input(cx: &Errors, input: Input) -> Declaration {
        let (vis, registry) = match input.header {
            Some(header) => (header.vis, header.name),
            None => (
                syn::parse_quote!(pub),
                Ident::new("Providers", Span::call_site()),
            ),
        };
        Declaration {
            krate: input.krate,
            vis,
            registry,
            providers: input
                .providers
                .into_iter()
                .map(|raw| Provider::from_raw(cx, raw))
                .collect(),
        }
    }
}

impl Provider {
    fn from_raw(cx: &Errors, raw: RawProvider) -> Provider {
        let mut docs = Vec::new();
        for attr in raw.attrs {
            if attr.path().is_ident("doc") {
                docs.push(attr);
            } else {
                cx.error_spanned_by(&attr, "only doc comments may annotate a provider");
            }
        }
        let mut values = BTreeMap::new();
        let mut seen: BTreeMap<Key, Span> = BTreeMap::new();
        // The kind decides some value rules (an OAuth 1.0a provider's `scope` parameter).
        let oauth1 = raw
            .entries
            .iter()
            .any(|entry| entry.key == Key::RequestTokenUrl.name());
        let mut near_misses: BTreeMap<Key, Span> = BTreeMap::new();
        for RawEntry {
            key: key_ident,
            value,
        } in raw.entries
        {
            let name = key_ident.to_string();
            let Some(key) = Key::from_name(&name) else {
                cx.error_spanned_by(&key_ident, spec::unknown_key(&name));
                if let Some(meant) = spec::near_miss(&name) {
                    near_misses.entry(meant).or_insert(key_ident.span());
                }
                continue;
            };
            if seen.contains_key(&key) {
                cx.error_spanned_by(
                    &key_ident,
                    format!("duplicate key `{name}` in provider `{}`", raw.name),
                );
                continue;
            }
            seen.insert(key, key_ident.span());
            if let Some(checked) = check(cx, key, &value, oauth1) {
                values.insert(key, (checked, key_ident.span()));
            }
        }
        // Only for keys not given themselves: a typo next to the key spelled right is just an
        // unknown key, and must not make the real one a duplicate.
        for (key, span) in near_misses {
            seen.entry(key).or_insert(span);
        }
        let name = raw.name.to_string();
        // An OAuth 1.0a provider is never a preset, even when named like one: Authlib's own
        // docs register `twitter` with a `request_token_url` for X's OAuth 1.0a API.
        let preset = presets::preset(&name).filter(|_| !seen.contains_key(&Key::RequestTokenUrl));
        if raw.bare && preset.is_none() {
            cx.error_spanned_by(&raw.name, presets::unknown_preset(&name));
        }
        for (key, span) in &seen {
            if key.preset_only() && preset.is_none_or(|p| p.param(*key).is_none()) {
                cx.error_at(*span, presets::misplaced_key(*key, &name, preset));
            }
        }
        let mut preset_values = BTreeMap::new();
        if let Some(preset) = preset {
            // A parameter's value when written out: a placeholder filled from `env(..)` is
            // known only at run time.
            let param = |key| match values.get(&key) {
                Some((Checked::Text(text), _)) => Some(text.clone()),
                Some((Checked::Url(url), _)) => Some(url.clone()),
                _ => None,
            };
            for (key, _) in preset.values {
                if seen.contains_key(key) {
                    continue;
                }
                if let Some(Ok(checked)) = preset.value(*key, param) {
                    preset_values.insert(*key, checked);
                }
            }
        }
        Provider {
            unknown_preset: raw.bare && preset.is_none(),
            name: raw.name,
            docs,
            values,
            declared: seen,
            preset,
            preset_values,
        }
    }
}

/// Checks one value, reporting each problem on the most specific token.
fn check(cx: &Errors, key: Key, raw: &RawValue, oauth1: bool) -> Option<Checked> {
    if let RawValue::Map(params, _) = raw {
        if key.kind() == spec::Kind::Params {
            return check_params(cx, key, params, oauth1);
        }
    }
    if let RawValue::Missing(span) = raw {
        cx.error_at(
            *span,
            format!("`{key}` has no value; expected {}", key.kind().expected()),
        );
        return None;
    }
    let env_name;
    let value = match raw {
        RawValue::Str(lit) => {
            env_name = lit.value();
            Value::Str(&env_name)
        }
        RawValue::Int(lit) => match lit.base10_parse::<u64>() {
            Ok(n) if lit.suffix().is_empty() => Value::Int(n),
            _ => Value::Other("a number with a suffix or out of range"),
        },
        RawValue::Bool(lit) => Value::Bool(lit.value),
        RawValue::Ident(ident) => {
            env_name = ident.to_string();
            Value::Ident(&env_name)
        }
        RawValue::Env(var, _) => {
            env_name = var.value();
            Value::Env(&env_name)
        }
        RawValue::Map(..) => Value::Map(Vec::new()),
        RawValue::Other(what, _) => Value::Other(what),
        RawValue::Missing(_) => unreachable!("handled above"),
    };
    match spec::check_value(key, &value, Origin::Source) {
        Ok(checked) => Some(checked),
        Err(problems) => {
            for problem in problems {
                cx.error_at(raw.span(), problem);
            }
            None
        }
    }
}

fn check_params(
    cx: &Errors,
    key: Key,
    params: &[crate::parse::RawParam],
    oauth1: bool,
) -> Option<Checked> {
    let mut checked = Vec::new();
    let mut ok = true;
    for param in params {
        if let Err(problem) = spec::check_param_for(key, &param.name, oauth1) {
            cx.error_at(param.name_span, problem);
            ok = false;
        } else if checked.iter().any(|(name, _)| *name == param.name) {
            cx.error_at(param.name_span, spec::duplicate_param(&param.name));
            ok = false;
        }
        match &param.value {
            RawValue::Str(lit) => checked.push((param.name.clone(), lit.value())),
            other => {
                cx.error_at(
                    other.span(),
                    format!("the value of parameter `{}` must be a string", param.name),
                );
                ok = false;
            }
        }
    }
    ok.then_some(Checked::Params(checked))
}
