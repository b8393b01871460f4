//! The declaration keys of `oauth-clients` and the rules for their values.
//!
//! The `oauth_clients!` macro checks a declaration at compile time and the runtime checks
//! settings that override it at start-up. Both go through this crate, so a key means the same
//! thing, and the same value is accepted or refused with the same message, in both places.
//!
//! Everything here is pure: no I/O, no environment. Messages follow the compiler's style:
//! lowercase, no trailing period, names in backticks, and they say what would be valid.

#![warn(missing_docs)]

use std::fmt;

/// What kind of value a key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An absolute `https://` URL (`http://` only for loopback hosts); in source also
    /// `env("VAR")`, read and checked when the registry is built.
    Url,
    /// A short printable string.
    Text,
    /// Space-separated scope tokens (RFC 6749 §3.3).
    Scope,
    /// A map of extra request parameters, `{ name: "value", .. }`.
    Params,
    /// A literal or an environment variable, `env("VAR")`.
    Credential,
    /// Only an environment variable in source code; a literal only in runtime settings.
    Secret,
    /// One of a fixed set of names.
    Choice(&'static [&'static str]),
    /// A whole number of seconds within a range.
    Seconds {
        /// The smallest value accepted, inclusive.
        min: u64,
        /// The largest value accepted, inclusive.
        max: u64,
    },
}

impl Kind {
    /// How the kind is described in "expected ..." messages.
    pub fn expected(self) -> String {
        match self {
            Kind::Url => "a URL string".into(),
            Kind::Text => "a string".into(),
            Kind::Scope => "a string of space-separated scope tokens".into(),
            Kind::Params => "a map of parameters, `{ name: \"value\", .. }`".into(),
            Kind::Credential => "a string or `env(\"VAR\")`".into(),
            Kind::Secret => "`env(\"VAR\")`".into(),
            Kind::Choice(values) => format!("one of {}", list(values)),
            Kind::Seconds { min, max } => format!("a whole number of seconds from {min} to {max}"),
        }
    }
}

macro_rules! keys {
    ($($variant:ident $name:literal $kind:expr, $authlib:literal, $doc:literal;)*) => {
        /// A declaration key. Keys are added as the library grows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Key {
            $(#[doc = $doc] $variant,)*
        }

        impl Key {
            /// Every key, in the order the documentation lists them.
            pub const ALL: &'static [Key] = &[$(Key::$variant,)*];

            /// The key as written in a declaration or a settings map.
            pub const fn name(self) -> &'static str {
                match self { $(Key::$variant => $name,)* }
            }

            /// What values the key takes.
            pub const fn kind(self) -> Kind {
                match self { $(Key::$variant => $kind,)* }
            }

            /// Where Authlib has the same setting.
            pub const fn authlib(self) -> &'static str {
                match self { $(Key::$variant => $authlib,)* }
            }

            /// One line on what the key does.
            pub const fn doc(self) -> &'static str {
                match self { $(Key::$variant => $doc,)* }
            }
        }
    };
}

/// The values of `code_challenge_method` (PKCE); `plain` is refused with its own message.
pub const CODE_CHALLENGE_METHODS: &[&str] = &["S256", "none"];
/// The values of `token_endpoint_auth_method`.
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// The values of `token_placement`; `uri` (and `url`, `query`) is refused with its own message.
pub const TOKEN_PLACEMENTS: &[&str] = &["header", "body"];
/// The values of `fetch_userinfo`.
pub const FETCH_USERINFO: &[&str] = &["auto", "always", "never"];

keys! {
    ClientId "client_id" Kind::Credential, "client_id",
        "The client identifier; a literal or `env(\"VAR\")` (default: `env(\"<NAME>_CLIENT_ID\")`).";
    ClientSecret "client_secret" Kind::Secret, "client_secret",
        "The client secret, only as `env(\"VAR\")` (default: `env(\"<NAME>_CLIENT_SECRET\")`).";
    AuthorizeUrl "authorize_url" Kind::Url, "authorize_url",
        "The authorization endpoint; overrides the discovered `authorization_endpoint`.";
    AuthorizeParams "authorize_params" Kind::Params, "authorize_params",
        "Extra parameters added to every authorization request.";
    AccessTokenUrl "access_token_url" Kind::Url, "access_token_url",
        "The token endpoint; overrides the discovered `token_endpoint`.";
    AccessTokenParams "access_token_params" Kind::Params, "access_token_params",
        "Extra parameters sent with the code exchange.";
    RefreshTokenUrl "refresh_token_url" Kind::Url, "refresh_token_url (accepted but unused by Authlib)",
        "Where refresh requests go, when not the token endpoint.";
    ApiBaseUrl "api_base_url" Kind::Url, "api_base_url",
        "The base that relative API paths are joined to; ends with `/`.";
    ServerMetadataUrl "server_metadata_url" Kind::Url, "server_metadata_url",
        "The OpenID Connect discovery (or RFC 8414 metadata) document.";
    Issuer "issuer" Kind::Url, "issuer (server metadata)",
        "The expected issuer; checked against discovery, ID tokens and RFC 9207 `iss`.";
    JwksUri "jwks_uri" Kind::Url, "jwks_uri (server metadata)",
        "Where the provider's ID-token signing keys are published.";
    UserinfoEndpoint "userinfo_endpoint" Kind::Url, "userinfo_endpoint (server metadata)",
        "The userinfo endpoint; overrides the discovered one.";
    EndSessionEndpoint "end_session_endpoint" Kind::Url, "end_session_endpoint (server metadata)",
        "The RP-initiated logout endpoint; overrides the discovered one.";
    Scope "scope" Kind::Scope, "client_kwargs.scope",
        "The scopes to request; `openid` makes the provider an OpenID Connect provider.";
    CodeChallengeMethod "code_challenge_method" Kind::Choice(CODE_CHALLENGE_METHODS), "client_kwargs.code_challenge_method",
        "PKCE: `S256` (the default) or `none`.";
    TokenEndpointAuthMethod "token_endpoint_auth_method" Kind::Choice(AUTH_METHODS), "client_kwargs.token_endpoint_auth_method",
        "How the client authenticates at the token endpoint (default `client_secret_basic`).";
    TokenPlacement "token_placement" Kind::Choice(TOKEN_PLACEMENTS), "client_kwargs.token_placement",
        "Where API calls carry the access token: `header` (the default) or `body`.";
    FetchUserinfo "fetch_userinfo" Kind::Choice(FETCH_USERINFO), "(none: Authlib never calls userinfo on login)",
        "When a login calls the userinfo endpoint: `auto` (the default), `always` or `never`.";
    Leeway "leeway" Kind::Seconds { min: 0, max: 300 }, "client_kwargs.leeway and the leeway= argument",
        "Clock-skew allowance for token expiry and ID-token times (default 60).";
    Timeout "timeout" Kind::Seconds { min: 1, max: 300 }, "client_kwargs.timeout",
        "The total time one request to the provider may take (default 30).";
    UserAgent "user_agent" Kind::Text, "user_agent",
        "The User-Agent header sent to the provider.";
}

impl Key {
    /// The key written as `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|key| key.name() == name)
    }

    /// Keys that mean something only for an OpenID Connect provider.
    pub fn oidc_only(self) -> bool {
        matches!(
            self,
            Key::JwksUri | Key::EndSessionEndpoint | Key::FetchUserinfo
        )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The message for a key that does not exist, with a suggestion when one is close.
pub fn unknown_key(name: &str) -> String {
    let mut message = format!("unknown key `{name}`");
    match suggest(name, Key::ALL.iter().map(|key| key.name())) {
        Some(close) => message.push_str(&format!("; did you mean `{close}`?")),
        None => message.push_str(&format!(
            "; expected one of {}",
            list(&Key::ALL.iter().map(|key| key.name()).collect::<Vec<_>>())
        )),
    }
    message
}

/// The closest candidate to `word`, when it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

fn list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Where a value was written: the rules differ only for secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// In the `oauth_clients!` declaration, i.e. in source code.
    Source,
    /// In runtime settings (a configuration file or the environment).
    Settings,
}

/// A value as written, before checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string literal.
    Str(&'a str),
    /// A bare word, e.g. `S256`.
    Ident(&'a str),
    /// A whole number.
    Int(u64),
    /// `env("VAR")`.
    Env(&'a str),
    /// `{ name: "value", .. }`.
    Map(Vec<(&'a str, &'a str)>),
    /// Anything else, described for the error message (e.g. "a list").
    Other(&'a str),
}

impl Value<'_> {
    fn describe(&self) -> String {
        match self {
            Value::Str(_) => "a string".into(),
            Value::Ident(word) => format!("`{word}`"),
            Value::Int(_) => "a number".into(),
            Value::Env(_) => "`env(..)`".into(),
            Value::Map(_) => "a map".into(),
            Value::Other(what) => (*what).to_string(),
        }
    }
}

/// Where a credential comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Written out (a client id in source, or any credential in runtime settings).
    Literal(String),
    /// Read from this environment variable at run time.
    Env(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A literal may be a secret from runtime settings: never print it.
        match self {
            Credential::Literal(_) => f.write_str("Literal([redacted])"),
            Credential::Env(var) => f.debug_tuple("Env").field(var).finish(),
        }
    }
}

/// A value that passed its key's checks, in normal form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// A URL, kept exactly as written (an issuer is compared as a string).
    Url(String),
    /// A non-empty string without control characters.
    Text(String),
    /// The scope tokens, in the order written.
    Scope(Vec<String>),
    /// The `(name, value)` pairs of a params map, in the order written.
    Params(Vec<(String, String)>),
    /// A client id or secret: a literal or an environment variable to read.
    Credential(Credential),
    /// The canonical spelling of the chosen name.
    Choice(&'static str),
    /// A URL declared as `env("VAR")`: read from the variable when the registry is built
    /// (unless runtime settings set the key), then checked by the same rules as a URL written
    /// out. Checks across keys count the key as present.
    Env(String),
    /// A number of seconds within the key's range.
    Seconds(u64),
}

/// Checks one value against its key. Every problem with the value is returned.
pub fn check_value(key: Key, value: &Value<'_>, origin: Origin) -> Result<Checked, Vec<String>> {
    let wrong_kind = || {
        vec![format!(
            "`{}` expects {}, found {}",
            key.name(),
            key.kind().expected(),
            value.describe()
        )]
    };
    match (key.kind(), value) {
        (Kind::Url, Value::Str(s)) => check_url(key, s).map(Checked::Url).map_err(|e| vec![e]),
        (Kind::Text, Value::Str(s)) => check_text(key, s).map(Checked::Text).map_err(|e| vec![e]),
        (Kind::Scope, Value::Str(s)) => check_scope(s).map(Checked::Scope),
        (Kind::Params, Value::Map(entries)) => {
            let mut problems = Vec::new();
            let mut seen: Vec<&str> = Vec::new();
            for (name, _) in entries {
                if let Err(e) = check_param(key, name) {
                    problems.push(e);
                } else if seen.contains(name) {
                    problems.push(duplicate_param(name));
                }
                seen.push(name);
            }
            if problems.is_empty() {
                Ok(Checked::Params(
                    entries
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                ))
            } else {
                Err(problems)
            }
        }
        (Kind::Credential, Value::Str(s)) => check_text(key, s)
            .map(|s| Checked::Credential(Credential::Literal(s)))
            .map_err(|e| vec![e]),
        (Kind::Secret, Value::Str(s)) => match origin {
            Origin::Source => Err(vec![format!(
                "`{}` must not be written in source code; use `env(\"VAR\")` and set the variable at run time",
                key.name()
            )]),
            Origin::Settings => check_text(key, s)
                .map(|s| Checked::Credential(Credential::Literal(s)))
                .map_err(|e| vec![e]),
        },
        (Kind::Credential | Kind::Secret, Value::Env(var)) => check_env_name(var)
            .map(|()| Checked::Credential(Credential::Env(var.to_string())))
            .map_err(|e| vec![e]),
        // A URL known only at run time (a per-deployment discovery URL): read when the
        // registry is built. Settings hold values, not references, so only source has it.
        (Kind::Url, Value::Env(var)) if origin == Origin::Source => check_env_name(var)
            .map(|()| Checked::Env(var.to_string()))
            .map_err(|e| vec![e]),
        (Kind::Scope, Value::Env(_)) => Err(vec![
            "`scope` cannot come from `env(..)`: whether it has `openid` decides at compile time what kind of provider this is; write the scopes out".into(),
        ]),
        (_, Value::Env(_)) if origin == Origin::Source => Err(vec![format!(
            "`{}` cannot come from `env(..)`: only URLs and credentials can; write {} here, or set it in runtime `Settings`",
            key.name(),
            key.kind().expected()
        )]),
        (Kind::Choice(values), Value::Str(word) | Value::Ident(word)) => {
            check_choice(key, values, word).map(Checked::Choice).map_err(|e| vec![e])
        }
        (Kind::Seconds { min, max }, Value::Int(n)) => {
            if (min..=max).contains(n) {
                Ok(Checked::Seconds(*n))
            } else {
                Err(vec![format!(
                    "`{}` must be from {min} to {max} seconds, found {n}",
                    key.name()
                )])
            }
        }
        _ => Err(wrong_kind()),
    }
}

/// Checks a URL: absolute, `https` (or `http` to a loopback host), no credentials, no fragment.
pub fn check_url(key: Key, s: &str) -> Result<String, String> {
    let url =
        url::Url::parse(s).map_err(|e| format!("`{}` is not a valid URL: {e}", key.name()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "`{}` must use `https://`; `http://` is allowed only for loopback hosts (`localhost`, `127.0.0.1`, `[::1]`)",
                key.name()
            ))
        }
        other => {
            return Err(format!(
                "`{}` must be an `https://` URL, found scheme `{other}`",
                key.name()
            ))
        }
    }
    if url.host().is_none() {
        return Err(format!("`{}` must name a host", key.name()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{}` must not carry credentials in the URL; use `client_id` and `client_secret`",
            key.name()
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("`{}` must not have a `#` fragment", key.name()));
    }
    if key == Key::Issuer && url.query().is_some() {
        return Err("`issuer` must not have a query (OpenID Connect Discovery §3)".into());
    }
    if key == Key::ApiBaseUrl && !url.path().ends_with('/') {
        return Err(format!(
            "`api_base_url` must end with `/`; otherwise a relative path replaces its last segment (did you mean `{s}/`?)"
        ));
    }
    // Keep the URL as written: an issuer is compared as a string (RFC 9207 §2.4), and the
    // parser would add a trailing slash to a bare host.
    Ok(s.to_string())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_text(key: Key, s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err(format!("`{}` must not be empty", key.name()));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!(
            "`{}` must not contain control characters",
            key.name()
        ));
    }
    Ok(s.to_string())
}

/// Splits and checks a scope string (RFC 6749 §3.3): tokens of `%x21 / %x23-5B / %x5D-7E`,
/// separated by spaces, none repeated.
pub fn check_scope(s: &str) -> Result<Vec<String>, Vec<String>> {
    let tokens: Vec<&str> = s.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return Err(vec![
            "`scope` must not be empty; list the scopes to request, e.g. `\"openid email\"`".into(),
        ]);
    }
    let mut problems = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if let Some(bad) = token
            .chars()
            .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        {
            let shown = |s: &str| {
                if s.chars().any(char::is_control) {
                    s.escape_debug().to_string()
                } else {
                    s.to_string()
                }
            };
            problems.push(format!(
                "scope token `{}` has the character `{}`, which RFC 6749 §3.3 does not allow; tokens are separated by single spaces",
                shown(token),
                shown(&bad.to_string())
            ));
        } else if tokens[..i].contains(token) {
            problems.push(format!("scope token `{token}` is listed twice"));
        }
    }
    if problems.is_empty() {
        Ok(tokens.into_iter().map(String::from).collect())
    } else {
        Err(problems)
    }
}

/// Checks an environment variable name: letters, digits and `_`, not starting with a digit.
pub fn check_env_name(var: &str) -> Result<(), String> {
    let mut chars = var.chars();
    let valid = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{var}` is not a valid environment variable name; use letters, digits and `_`, e.g. `GITHUB_CLIENT_SECRET`"
        ))
    }
}

fn check_choice(
    key: Key,
    values: &'static [&'static str],
    word: &str,
) -> Result<&'static str, String> {
    if let Some(found) = values.iter().find(|v| **v == word) {
        return Ok(found);
    }
    match (key, word) {
        (Key::CodeChallengeMethod, w) if w.eq_ignore_ascii_case("plain") => Err(
            "`plain` PKCE is refused: it does not protect a code whose authorization request leaked (RFC 9700 §2.1.1); use `S256` (the default)".into(),
        ),
        (Key::TokenPlacement, "uri" | "url" | "query") => Err(format!(
            "`token_placement: {word}` is refused: access tokens in URLs leak through logs and referrers (RFC 9700 §4.3.2); use `header` (the default) or `body`"
        )),
        _ => {
            // A case slip (`s256`) is the likeliest mistake: suggest the right spelling.
            let close = values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(word))
                .copied()
                .or_else(|| suggest(word, values.iter().copied()));
            Err(match close {
                Some(close) => format!(
                    "unknown `{}` value `{word}`; did you mean `{close}`?",
                    key.name()
                ),
                None => format!(
                    "unknown `{}` value `{word}`; expected {}",
                    key.name(),
                    key.kind().expected()
                ),
            })
        }
    }
}

/// Parameters that the flow sets itself and that declared params must not override.
pub fn reserved_params(key: Key) -> &'static [&'static str] {
    match key {
        Key::AuthorizeParams => &[
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "redirect_uri",
            "client_id",
            "response_type",
            "scope",
            "client_secret",
        ],
        Key::AccessTokenParams => &[
            "grant_type",
            "code",
            "code_verifier",
            "redirect_uri",
            "client_id",
            "client_secret",
            "refresh_token",
        ],
        _ => &[],
    }
}

/// Checks one parameter name of `authorize_params` or `access_token_params`.
pub fn check_param(key: Key, name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "`{name}` is not a valid parameter name in `{}`",
            key.name()
        ));
    }
    if reserved_params(key).contains(&name) {
        let hint = if name == "scope" {
            "use the `scope` key".to_string()
        } else {
            "the flow sets it on every request".to_string()
        };
        return Err(format!("`{}` cannot set `{name}`: {hint}", key.name()));
    }
    Ok(())
}

/// The message for a parameter given twice.
pub fn duplicate_param(name: &str) -> String {
    format!("parameter `{name}` is given twice")
}

/// Method names that providers must not take: those of the generated registry type, and those
/// of an owned `Registry` (its own methods would shadow the provider's accessor, or `clone`
/// would be ambiguous with it).
pub const RESERVED_PROVIDER_NAMES: &[&str] = &[
    "builder", "global", "list", "install", "client", "now", "clone",
];

/// The name of the extension trait generated next to a registry type: `Providers` →
/// `ProvidersExt`. It gives an owned registry one method per provider.
pub fn ext_trait_name(registry: &str) -> String {
    format!("{registry}Ext")
}

/// Checks a provider name: a snake_case identifier that the registry can use as a method.
pub fn check_provider_name(name: &str) -> Result<(), String> {
    let snake = name.split('_').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !snake {
        return Err(format!(
            "provider name `{name}` must be a snake_case identifier, e.g. `{}`",
            to_snake(name)
        ));
    }
    if RESERVED_PROVIDER_NAMES.contains(&name) {
        return Err(format!(
            "provider name `{name}` is taken by the registry's own `{name}()` method; choose another name"
        ));
    }
    Ok(())
}

fn to_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.trim_matches('_').chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c == '_' {
            if !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "my_");
    }
    out
}

/// The type name of a provider: `my_idp` → `MyIdp`.
pub fn type_name(provider: &str) -> String {
    provider
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The environment variable read for a credential that the declaration does not name.
pub fn default_env(provider: &str, key: Key) -> String {
    format!(
        "{}_{}",
        provider.to_ascii_uppercase(),
        key.name().to_ascii_uppercase()
    )
}

/// The issuer a discovery document must name (OpenID Connect Discovery §4.3, RFC 8414 §3.3),
/// derived from where it is published; `None` for a URL of another shape.
pub fn expected_issuer(server_metadata_url: &str) -> Option<String> {
    let url = url::Url::parse(server_metadata_url).ok()?;
    if url.query().is_some() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path();
    // `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery §4).
    if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
        return Some(format!("{origin}{prefix}"));
    }
    // `{origin}/.well-known/{suffix}{issuer path}` (RFC 8414 §3.1).
    for suffix in ["openid-configuration", "oauth-authorization-server"] {
        if let Some(rest) = path.strip_prefix(&format!("/.well-known/{suffix}")) {
            if rest.is_empty() || rest.starts_with('/') {
                return Some(format!("{origin}{rest}"));
            }
        }
    }
    None
}

/// A problem found by [`check_provider`]: on a key, or (with `key: None`) on the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key the problem is on; `None` for the provider as a whole (e.g. no endpoints).
    pub key: Option<Key>,
    /// The message, in the compiler's style (lowercase, no trailing period).
    pub message: String,
}

/// Whether a scope makes the provider an OpenID Connect provider.
pub fn is_openid(scope: &[String]) -> bool {
    scope.iter().any(|token| token == "openid")
}

/// What kind of provider a declaration makes. The declaration decides it, and the macro
/// generates each kind's methods from it, so runtime settings must never change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// An OAuth 2.0 provider: no `openid` in `scope`.
    OAuth2,
    /// An OpenID Connect provider: `openid` in `scope`.
    OpenIdConnect,
}

impl ProviderKind {
    /// The kind a provider with these keys is. `declared` and `get` are as for
    /// [`check_provider`]; `None` when a key that decides the kind has a value that failed its
    /// own check, so the kind is unknown until it is fixed.
    pub fn of<'a>(
        declared: impl Fn(Key) -> bool,
        get: impl Fn(Key) -> Option<&'a Checked>,
    ) -> Option<ProviderKind> {
        match get(Key::Scope) {
            Some(Checked::Scope(scope)) if is_openid(scope) => Some(ProviderKind::OpenIdConnect),
            Some(Checked::Scope(_)) => Some(ProviderKind::OAuth2),
            _ if declared(Key::Scope) => None,
            _ => Some(ProviderKind::OAuth2),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProviderKind::OAuth2 => "an OAuth 2.0 provider",
            ProviderKind::OpenIdConnect => "an OpenID Connect provider",
        })
    }
}

/// Runtime settings may not change the kind of provider the declaration made (an OpenID
/// Connect provider would silently lose its ID-token checks, an OAuth 2.0 one would be
/// treated as what its type says it is not): a problem on the key that would change it when
/// `found` is not `declared`.
pub fn check_kind_unchanged(
    name: &str,
    declared: ProviderKind,
    found: ProviderKind,
) -> Option<Problem> {
    let (key, change, fix) = match (declared, found) {
        (ProviderKind::OAuth2, ProviderKind::OAuth2)
        | (ProviderKind::OpenIdConnect, ProviderKind::OpenIdConnect) => return None,
        (ProviderKind::OpenIdConnect, ProviderKind::OAuth2) => (
            Key::Scope,
            "a `scope` without `openid`",
            "keep `openid` in `scope`",
        ),
        (ProviderKind::OAuth2, ProviderKind::OpenIdConnect) => (
            Key::Scope,
            "`openid` in `scope`",
            "to make it one, add `openid` to its `scope` in `oauth_clients!`",
        ),
    };
    Some(Problem {
        key: Some(key),
        message: format!(
            "settings cannot change what kind of provider `{name}` is: it is declared as {declared}, and {change} would make it {found}; {fix}"
        ),
    })
}

/// The checks that involve more than one key. `declared` tells whether a key was given at all
/// (even with a value that failed its own check, so that one mistake is not reported again as
/// a missing key); `get` gives the checked value of a key whose value passed.
pub fn check_provider<'a>(
    name: &str,
    declared: impl Fn(Key) -> bool,
    get: impl Fn(Key) -> Option<&'a Checked>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let has = |key| declared(key);
    let choice = |key| match get(key) {
        Some(Checked::Choice(value)) => Some(*value),
        _ => None,
    };
    // `None` when the scope failed its own check: whether it has `openid` is then unknown, and
    // the checks that depend on it wait until it is fixed.
    let openid = ProviderKind::of(&declared, &get).map(|kind| kind == ProviderKind::OpenIdConnect);

    if !has(Key::ServerMetadataUrl) {
        match (has(Key::AuthorizeUrl), has(Key::AccessTokenUrl)) {
            (true, true) => {}
            (false, false) => problems.push(Problem {
                key: None,
                message: format!(
                    "provider `{name}` has no endpoints: declare `server_metadata_url`, or both `authorize_url` and `access_token_url`"
                ),
            }),
            (true, false) => problems.push(Problem {
                key: Some(Key::AuthorizeUrl),
                message: "`authorize_url` needs `access_token_url` too (or declare `server_metadata_url`)".into(),
            }),
            (false, true) => problems.push(Problem {
                key: Some(Key::AccessTokenUrl),
                message: "`access_token_url` needs `authorize_url` too (or declare `server_metadata_url`)".into(),
            }),
        }
    }
    if let (Some(Checked::Url(url)), false) = (get(Key::ServerMetadataUrl), has(Key::Issuer)) {
        if expected_issuer(url).is_none() {
            problems.push(Problem {
                key: Some(Key::ServerMetadataUrl),
                message: "the expected issuer cannot be told from this `server_metadata_url` (it is neither `.../.well-known/openid-configuration` nor `/.well-known/oauth-authorization-server/...`); declare `issuer`".into(),
            });
        }
    }
    if openid == Some(true)
        && !has(Key::ServerMetadataUrl)
        && !(has(Key::Issuer) && has(Key::JwksUri))
    {
        problems.push(Problem {
            key: Some(Key::Scope),
            message: "`openid` in `scope` needs a way to verify ID tokens: declare `server_metadata_url`, or both `issuer` and `jwks_uri`".into(),
        });
    }
    if openid == Some(false) {
        for key in Key::ALL
            .iter()
            .copied()
            .filter(|k| k.oidc_only() && has(*k))
        {
            problems.push(Problem {
                key: Some(key),
                message: format!(
                    "`{key}` applies only to OpenID Connect providers; add `openid` to `scope` to make `{name}` one"
                ),
            });
        }
    }
    if choice(Key::TokenEndpointAuthMethod) == Some("none") {
        if has(Key::ClientSecret) {
            problems.push(Problem {
                key: Some(Key::ClientSecret),
                message: "`client_secret` is never sent with `token_endpoint_auth_method: none`; remove one of them".into(),
            });
        }
        if choice(Key::CodeChallengeMethod) == Some("none") {
            problems.push(Problem {
                key: Some(Key::CodeChallengeMethod),
                message: "a public client (`token_endpoint_auth_method: none`) must use PKCE (RFC 9700 §2.1.1); remove `code_challenge_method: none`".into(),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_key_names() {
        assert_eq!(
            unknown_key("authorise_url"),
            "unknown key `authorise_url`; did you mean `authorize_url`?"
        );
        assert!(unknown_key("zzz").starts_with("unknown key `zzz`; expected one of `client_id`"));
    }

    #[test]
    fn url_rules() {
        assert!(check_url(Key::AuthorizeUrl, "https://a.example/x?y=1").is_ok());
        assert!(check_url(Key::AuthorizeUrl, "http://127.0.0.1:8080/x").is_ok());
        assert!(check_url(Key::AuthorizeUrl, "http://localhost/x").is_ok());
        assert!(check_url(Key::AuthorizeUrl, "http://[::1]/x").is_ok());
        assert!(check_url(Key::AuthorizeUrl, "http://a.example/x")
            .unwrap_err()
            .contains("loopback"));
        assert!(check_url(Key::AuthorizeUrl, "ftp://a.example/")
            .unwrap_err()
            .contains("`ftp`"));
        assert!(check_url(Key::AuthorizeUrl, "not a url")
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(check_url(Key::AuthorizeUrl, "https://u:p@a.example/")
            .unwrap_err()
            .contains("credentials"));
        assert!(check_url(Key::AuthorizeUrl, "https://a.example/#x")
            .unwrap_err()
            .contains("fragment"));
        assert!(check_url(Key::Issuer, "https://a.example/?x")
            .unwrap_err()
            .contains("query"));
        assert!(check_url(Key::ApiBaseUrl, "https://api.example/v3")
            .unwrap_err()
            .contains("end with `/`"));
        assert_eq!(
            check_url(Key::Issuer, "https://a.example").unwrap(),
            "https://a.example"
        );
    }

    #[test]
    fn scope_rules() {
        assert_eq!(check_scope("openid  email").unwrap(), ["openid", "email"]);
        assert_eq!(check_scope(" ").unwrap_err().len(), 1);
        let problems = check_scope("a \"b\" a").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("`\"b\"` has the character `\"`"),
            "{problems:?}"
        );
        assert!(problems[1].contains("listed twice"));
    }

    #[test]
    fn secrets_only_from_the_environment_in_source() {
        let literal = Value::Str("s3cret");
        assert!(check_value(Key::ClientSecret, &literal, Origin::Source).is_err());
        assert_eq!(
            check_value(Key::ClientSecret, &literal, Origin::Settings).unwrap(),
            Checked::Credential(Credential::Literal("s3cret".into()))
        );
        assert!(!format!("{:?}", Credential::Literal("s3cret".into())).contains("s3cret"));
    }

    #[test]
    fn urls_and_credentials_may_come_from_the_environment_in_source() {
        assert_eq!(
            check_value(
                Key::ServerMetadataUrl,
                &Value::Env("CORP_DISCOVERY_URL"),
                Origin::Source
            ),
            Ok(Checked::Env("CORP_DISCOVERY_URL".into()))
        );
        assert!(
            check_value(Key::Issuer, &Value::Env("BAD-NAME"), Origin::Source).unwrap_err()[0]
                .contains("not a valid environment variable name")
        );
        assert_eq!(
            check_value(Key::Scope, &Value::Env("SCOPE"), Origin::Source).unwrap_err(),
            ["`scope` cannot come from `env(..)`: whether it has `openid` decides at compile time what kind of provider this is; write the scopes out"]
        );
        assert_eq!(
            check_value(Key::Leeway, &Value::Env("LEEWAY"), Origin::Source).unwrap_err(),
            ["`leeway` cannot come from `env(..)`: only URLs and credentials can; write a whole number of seconds from 0 to 300 here, or set it in runtime `Settings`"]
        );
    }

    #[test]
    fn choices_explain_refusals() {
        assert!(
            check_choice(Key::CodeChallengeMethod, CODE_CHALLENGE_METHODS, "plain")
                .unwrap_err()
                .contains("RFC 9700")
        );
        assert_eq!(
            check_choice(Key::CodeChallengeMethod, CODE_CHALLENGE_METHODS, "s256").unwrap_err(),
            "unknown `code_challenge_method` value `s256`; did you mean `S256`?"
        );
        assert!(check_choice(Key::TokenPlacement, TOKEN_PLACEMENTS, "uri")
            .unwrap_err()
            .contains("refused"));
    }

    #[test]
    fn provider_names() {
        assert!(check_provider_name("my_idp2").is_ok());
        assert!(check_provider_name("MyIdp")
            .unwrap_err()
            .contains("`my_idp`"));
        assert!(check_provider_name("a__b").is_err());
        assert!(check_provider_name("list").unwrap_err().contains("taken"));
        assert_eq!(type_name("my_idp2"), "MyIdp2");
        assert_eq!(
            default_env("github", Key::ClientSecret),
            "GITHUB_CLIENT_SECRET"
        );
    }

    #[test]
    fn an_underivable_issuer_must_be_declared() {
        let url = Checked::Url("https://sso.example.com/metadata.json".into());
        let problems = check_provider(
            "x",
            |k| k == Key::ServerMetadataUrl,
            |k| match k {
                Key::ServerMetadataUrl => Some(&url),
                _ => None,
            },
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, Some(Key::ServerMetadataUrl));
    }

    #[test]
    fn issuers_are_derived_from_well_known_urls() {
        let cases = [
            (
                "https://accounts.google.com/.well-known/openid-configuration",
                Some("https://accounts.google.com"),
            ),
            (
                "https://login.example/realms/x/.well-known/openid-configuration",
                Some("https://login.example/realms/x"),
            ),
            (
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                Some("https://as.example/tenant"),
            ),
            (
                "https://as.example/.well-known/oauth-authorization-server",
                Some("https://as.example"),
            ),
            (
                "http://127.0.0.1:3999/.well-known/openid-configuration",
                Some("http://127.0.0.1:3999"),
            ),
            ("https://as.example/metadata.json", None),
            (
                "https://as.example/.well-known/openid-configuration?x=1",
                None,
            ),
        ];
        for (url, issuer) in cases {
            assert_eq!(expected_issuer(url).as_deref(), issuer, "{url}");
        }
    }

    #[test]
    fn cross_key_rules() {
        let scope = Checked::Scope(vec!["openid".into()]);
        let jwks = Checked::Url("https://a.example/jwks".into());
        let problems = check_provider(
            "x",
            |k| k == Key::Scope,
            |k| match k {
                Key::Scope => Some(&scope),
                _ => None,
            },
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].key, None);
        assert_eq!(problems[1].key, Some(Key::Scope));
        let email = Checked::Scope(vec!["email".into()]);
        let declared = |k| matches!(k, Key::Scope | Key::JwksUri | Key::ServerMetadataUrl);
        let metadata = Checked::Url("https://a.example/.well-known/openid-configuration".into());
        let problems = check_provider("x", declared, |k| match k {
            Key::Scope => Some(&email),
            Key::JwksUri => Some(&jwks),
            Key::ServerMetadataUrl => Some(&metadata),
            _ => None,
        });
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, Some(Key::JwksUri));
    }

    #[test]
    fn the_scope_decides_the_kind() {
        let kind = |scope: Option<Checked>| {
            let given = scope.is_some();
            ProviderKind::of(|k| k == Key::Scope && given, |_| scope.as_ref())
        };
        let scope = |tokens: &[&str]| {
            Some(Checked::Scope(
                tokens.iter().map(|t| t.to_string()).collect(),
            ))
        };
        assert_eq!(kind(None), Some(ProviderKind::OAuth2));
        assert_eq!(kind(scope(&["email"])), Some(ProviderKind::OAuth2));
        assert_eq!(
            kind(scope(&["email", "openid"])),
            Some(ProviderKind::OpenIdConnect)
        );
        // Given, but refused by its own check: unknown.
        assert_eq!(ProviderKind::of(|k| k == Key::Scope, |_| None), None);
    }

    #[test]
    fn settings_cannot_change_the_kind() {
        use ProviderKind::{OAuth2, OpenIdConnect};
        assert_eq!(check_kind_unchanged("p", OAuth2, OAuth2), None);
        assert_eq!(
            check_kind_unchanged("p", OpenIdConnect, OpenIdConnect),
            None
        );
        assert_eq!(
            check_kind_unchanged("idp", OpenIdConnect, OAuth2),
            Some(Problem {
                key: Some(Key::Scope),
                message: "settings cannot change what kind of provider `idp` is: it is declared as an OpenID Connect provider, and a `scope` without `openid` would make it an OAuth 2.0 provider; keep `openid` in `scope`".into(),
            })
        );
        assert_eq!(
            check_kind_unchanged("github", OAuth2, OpenIdConnect),
            Some(Problem {
                key: Some(Key::Scope),
                message: "settings cannot change what kind of provider `github` is: it is declared as an OAuth 2.0 provider, and `openid` in `scope` would make it an OpenID Connect provider; to make it one, add `openid` to its `scope` in `oauth_clients!`".into(),
            })
        );
    }
}
