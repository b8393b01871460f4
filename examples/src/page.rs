//! Minimal HTML pages for the example apps (no template engine: nothing to install).

use oauth_clients::{Error, Profile, ProviderInfo};
use serde_json::{Map, Value};

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Escapes a library message for HTML, showing its `backticked` names as code.
pub fn message(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// A whole page.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer">
<title>{title} · oauth-clients demo</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
.button,button{{display:inline-block;padding:.5rem 1rem;margin:.25rem 0;border:1px solid #333;border-radius:.3rem;background:#f4f4f4;color:#111;text-decoration:none;font-size:1rem;cursor:pointer}}
.disabled{{color:#888;border-color:#bbb;cursor:not-allowed}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}
.error{{border-left:4px solid #b00;padding-left:1rem}} code{{background:#f4f4f4;padding:0 .2rem}}
</style></head>
<body><h1>{title}</h1>
{body}
</body></html>"#,
        title = escape(title)
    )
}

/// The home page's sign-in buttons: one per declared provider (the local one and every
/// preset). A provider whose credentials are set is a button; the others are listed with the
/// environment variables to set and what the library found missing.
pub fn sign_in_buttons(providers: &[ProviderInfo]) -> String {
    let mut html = String::from("<ul class=\"providers\">");
    for provider in providers {
        let name = crate::providers::display_name(provider.name);
        if provider.available {
            html.push_str(&format!(
                r#"<li><a class="button" id="login-{id}" href="/login/{id}">Sign in with {name}</a></li>"#,
                id = provider.name,
                name = escape(name)
            ));
        } else {
            let set: Vec<String> = crate::providers::setup_variables(provider.name)
                .iter()
                .map(|var| format!("<code>{}</code>", escape(var)))
                .collect();
            let missing: Vec<String> = provider
                .problems
                .iter()
                .map(|p| message(&p.message))
                .collect();
            html.push_str(&format!(
                r#"<li><span class="button disabled" id="login-{id}">Sign in with {name}</span> <small id="setup-{id}">to use it, set {set}. Unavailable: {why}</small></li>"#,
                id = provider.name,
                name = escape(name),
                set = set.join(", "),
                why = missing.join("; ")
            ));
        }
    }
    html.push_str("</ul>");
    html
}

/// The normalized profile ([`oauth_clients::Token::profile`]) as a table: the same fields
/// for every provider, with the identity an app keys accounts on.
pub fn profile_table(profile: &Profile) -> String {
    let (issuer, subject) = profile.identity();
    let rows = [
        ("provider", Some(profile.provider.as_str())),
        ("identity", Some(&*format!("{issuer} {subject}"))),
        ("name", profile.name.as_deref()),
        ("username", profile.username.as_deref()),
        ("email", profile.email.as_deref()),
        (
            "email_verified",
            Some(if profile.email_verified { "yes" } else { "no" }),
        ),
        ("picture", profile.picture.as_deref()),
    ]
    .into_iter()
    .map(|(field, value)| {
        format!(
            r#"<tr><td>{field}</td><td id="profile-{field}">{}</td></tr>"#,
            escape(value.unwrap_or(""))
        )
    })
    .collect::<String>();
    format!(r#"<table id="profile"><tr><th>profile</th><th>value</th></tr>{rows}</table>"#)
}

/// Claims as a table.
pub fn claims_table(claims: &Map<String, Value>) -> String {
    let mut html = String::from("<table id=\"claims\"><tr><th>claim</th><th>value</th></tr>");
    for (name, value) in claims {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(&text)
        ));
    }
    html.push_str("</table>");
    html
}

/// What a person should read for an error, with the technical detail below it.
pub fn error_page(error: &Error) -> (u16, String) {
    let headline = match error {
        Error::Authorization { error, .. } if error == "access_denied" => {
            "You refused the sign-in at the provider.".to_string()
        }
        Error::Authorization { .. } => "The provider refused the sign-in.".to_string(),
        Error::MissingState { .. }
        | Error::UnknownState { .. }
        | Error::ExpiredState { .. }
        | Error::ReplayedState { .. } => {
            "This sign-in could not be matched to your browser session: it expired, was already used, or was started elsewhere. Please start again.".to_string()
        }
        Error::Http { .. } => "The provider could not be reached or answered badly.".to_string(),
        Error::NotConfigured { .. } => "This provider is not configured.".to_string(),
        error if error.needs_login() => {
            "Your sign-in with the provider has ended: please sign in again.".to_string()
        }
        _ => "Signing in failed.".to_string(),
    };
    let body = format!(
        r#"<div class="error" id="error"><p><strong>{}</strong></p><p><code>{}</code></p></div><p><a class="button" href="/">Back to the start</a></p>"#,
        escape(&headline),
        escape(&error.to_string())
    );
    (error.status(), layout("Sign-in failed", &body))
}

/// The signed-in page of both web apps: who signed in with which provider (`account` is the
/// account key, shown when the profile has no name), the token's expiry and scopes in words,
/// the normalized profile and the raw claims (when the profile is at hand), and the API and
/// logout buttons. `token_note` says where the token is kept.
pub fn profile_body(
    provider: &str,
    account: &str,
    profile: Option<&Profile>,
    expiry: &str,
    scopes: &str,
    token_note: &str,
) -> String {
    let api = match crate::providers::api_path(provider) {
        Some(_) => {
            r#"<form method="post" action="/api"><button id="call-api" type="submit">Call the provider's API</button></form>"#
        }
        None => "",
    };
    format!(
        r#"<p>Signed in with <strong id="provider">{provider}</strong> as <strong id="user">{name}</strong>.</p>
<p>Access token expires <span id="expiry">{expiry}</span>; scopes: <span id="scopes">{scopes}</span>.
{token_note}</p>
{profile}
<p>Everything the provider said:</p>
{claims}
{api}
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>"#,
        provider = escape(crate::providers::display_name(provider)),
        name = escape(profile.map_or(account, |p| shown_name(p, account))),
        expiry = escape(expiry),
        scopes = escape(scopes),
        profile = profile.map_or_else(
            || r#"<p id="no-profile">The profile is kept with the stored token, which could not be read: sign in again to see it.</p>"#.to_string(),
            profile_table
        ),
        claims = profile.map(|p| claims_table(&p.raw)).unwrap_or_default(),
    )
}

/// The name to greet a user by: the profile's name, username or email, else `fallback` (the
/// account key).
pub fn shown_name<'a>(profile: &'a Profile, fallback: &'a str) -> &'a str {
    [&profile.name, &profile.username, &profile.email]
        .into_iter()
        .find_map(|field| field.as_deref())
        .unwrap_or(fallback)
}

/// When an access token expires, in words.
pub fn expiry(expires_at: Option<u64>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match expires_at {
        Some(at) if at > now => format!("in {} s", at - now),
        Some(_) => "expired (the next API call refreshes it)".into(),
        None => "not said by the provider".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_show_names_as_code_and_stay_escaped() {
        assert_eq!(
            super::message("set `GITHUB_CLIENT_ID` <now>"),
            "set <code>GITHUB_CLIENT_ID</code> &lt;now&gt;"
        );
    }
}
