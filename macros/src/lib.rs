//! The `oauth_clients!` declaration macro. Use it as `oauth_clients::oauth_clients!`: the
//! runtime crate relays it with its own path, which this crate needs to name runtime items.
//!
//! Pipeline: `parse` (syntax only) → `ast` (typed model, every value checked) →
//! `validate` (checks across keys and providers) → `expand` (cannot fail), or
//! `fallback` with all the errors collected on the way. Nothing here does I/O or reads the
//! environment: the output depends on the input tokens alone.

mod ast;
mod errors;
mod expand;
mod fallback;
mod parse;
mod validate;

use proc_macro::TokenStream;

#[doc(hidden)]
#[proc_macro]
pub fn __oauth_clients(input: TokenStream) -> TokenStream {
    expand_tokens(input.into()).into()
}

fn expand_tokens(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let input: parse::Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = errors::Errors::new();
    let decl = ast::Declaration::from_input(&cx, input);
    validate::check(&cx, &decl);
    if cx.has_errors() {
        let mut tokens = cx.finish();
        tokens.extend(fallback::expand_after_errors(decl));
        tokens
    } else {
        drop(cx.finish());
        expand::expand(&decl)
    }
}

#[cfg(test)]
mod tests;
