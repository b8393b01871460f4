//! Syntax only: `[vis Name;] name [{ key: value, .. }], ..`.
//!
//! Nothing here knows which keys exist or what their values mean; a value is any run of tokens
//! up to the next top-level comma, sorted into the few shapes the model understands. That keeps
//! "wrong kind of value" a semantic error reported with all the others, instead of a parse error
//! that hides the rest of the declaration.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{braced, Attribute, Ident, LitInt, LitStr, Token, Visibility};

/// The whole macro input, after the runtime's `$crate;` relay prefix.
pub struct Input {
    /// Path to the runtime crate, as relayed by `oauth_clients!` (`$crate`).
    pub krate: TokenStream,
    pub header: Option<Header>,
    pub providers: Vec<RawProvider>,
}

/// `pub(crate) MyProviders;`
pub struct Header {
    pub vis: Visibility,
    pub name: Ident,
}

pub struct RawProvider {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub entries: Vec<RawEntry>,
    /// Declared by name alone, without braces: must be a preset.
    pub bare: bool,
}

pub struct RawEntry {
    pub key: Ident,
    pub value: RawValue,
}

pub enum RawValue {
    Str(LitStr),
    Int(LitInt),
    Bool(syn::LitBool),
    Ident(Ident),
    /// `env("VAR")`, with the span of the variable's name.
    Env(LitStr, Span),
    Map(Vec<RawParam>, Span),
    /// Any other tokens: what they look like, and where.
    Other(&'static str, TokenStream),
    /// Nothing after the colon.
    Missing(Span),
}

pub struct RawParam {
    /// The parameter name, from an identifier or a string literal.
    pub name: String,
    pub name_span: Span,
    pub value: RawValue,
}

impl RawValue {
    pub fn span(&self) -> Span {
        match self {
            RawValue::Str(lit) => lit.span(),
            RawValue::Int(lit) => lit.span(),
            RawValue::Bool(lit) => lit.span(),
            RawValue::Ident(ident) => ident.span(),
            RawValue::Env(_, span) | RawValue::Map(_, span) | RawValue::Missing(span) => *span,
            RawValue::Other(_, tokens) => tokens.span(),
        }
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut krate = TokenStream::new();
        while !input.peek(Token![;]) {
            krate.extend([input.parse::<TokenTree>()?]);
        }
        input.parse::<Token![;]>()?;

        let header = if input.peek(Token![pub]) || (input.peek(Ident) && input.peek2(Token![;])) {
            let vis: Visibility = input.parse()?;
            let name: Ident = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the registry's name after its visibility, e.g. `pub(crate) MyProviders;`",
                )
            })?;
            input.parse::<Token![;]>()?;
            Some(Header { vis, name })
        } else {
            None
        };

        let mut providers = Vec::new();
        while !input.is_empty() {
            providers.push(input.parse()?);
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Input {
            krate,
            header,
            providers,
        })
    }
}

impl Parse for RawProvider {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a provider: a preset's name, e.g. `github`, or a name with keys, e.g. `corp { server_metadata_url: \"..\", .. }`",
            )
        })?;
        // A preset may be declared by its bare name: `github,`.
        if input.is_empty() || input.peek(Token![,]) {
            return Ok(RawProvider {
                attrs,
                name,
                entries: Vec::new(),
                bare: true,
            });
        }
        let content;
        braced!(content in input);
        let mut entries = Vec::new();
        while !content.is_empty() {
            let key: Ident = content.parse()?;
            content.parse::<Token![:]>()?;
            let value = parse_value(&content, key.span())?;
            entries.push(RawEntry { key, value });
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(RawProvider {
            attrs,
            name,
            entries,
            bare: false,
        })
    }
}

/// Takes the tokens up to the next top-level comma and sorts them into a [`RawValue`].
fn parse_value(input: ParseStream, key_span: Span) -> syn::Result<RawValue> {
    let mut tokens = Vec::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.push(input.parse::<TokenTree>()?);
    }
    classify(tokens, key_span)
}

fn classify(tokens: Vec<TokenTree>, key_span: Span) -> syn::Result<RawValue> {
    let stream: TokenStream = tokens.iter().cloned().collect();
    Ok(match tokens.as_slice() {
        [] => RawValue::Missing(key_span),
        [TokenTree::Literal(_)] => match syn::parse2::<syn::Lit>(stream.clone())? {
            syn::Lit::Str(lit) => RawValue::Str(lit),
            syn::Lit::Int(lit) => RawValue::Int(lit),
            syn::Lit::Float(_) => RawValue::Other("a fractional number", stream),
            syn::Lit::Bool(lit) => RawValue::Bool(lit),
            _ => RawValue::Other("a literal that is not a string", stream),
        },
        [TokenTree::Ident(ident)] if ident == "true" || ident == "false" => {
            RawValue::Bool(syn::LitBool::new(ident == "true", ident.span()))
        }
        [TokenTree::Ident(ident)] => RawValue::Ident(ident.clone()),
        [TokenTree::Ident(ident), TokenTree::Group(group)]
            if ident == "env" && group.delimiter() == Delimiter::Parenthesis =>
        {
            let var: LitStr = syn::parse2(group.stream()).map_err(|_| {
                syn::Error::new(
                    group.span(),
                    "`env(..)` takes one string literal, the variable's name, e.g. `env(\"GITHUB_CLIENT_SECRET\")`",
                )
            })?;
            let span = var.span();
            RawValue::Env(var, span)
        }
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::Brace => {
            RawValue::Map(syn::parse2::<Params>(group.stream())?.0, group.span())
        }
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::Bracket => {
            RawValue::Other("a list", stream)
        }
        [TokenTree::Ident(_), TokenTree::Group(_)] => RawValue::Other("a function call", stream),
        _ => RawValue::Other("an expression", stream),
    })
}

struct Params(Vec<RawParam>);

impl Parse for Params {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut params = Vec::new();
        while !input.is_empty() {
            let (name, name_span) = if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                (lit.value(), lit.span())
            } else {
                let ident = input.call(<Ident as syn::ext::IdentExt>::parse_any)?;
                (ident.to_string(), ident.span())
            };
            input.parse::<Token![:]>()?;
            let value = parse_value(input, name_span)?;
            params.push(RawParam {
                name,
                name_span,
                value,
            });
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Params(params))
    }
}
