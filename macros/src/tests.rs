//! The expansion of a two-provider declaration, kept as a reviewed snapshot: it shows that the
//! generated code is thin (static data and marker impls) and catches any unintended change.
//! Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p oauth-clients-macros`.

use quote::quote;
use std::io::Write;
use std::process::{Command, Stdio};

fn rustfmt(code: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("this test needs `rustfmt`: install it with `rustup component add rustfmt`");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "rustfmt failed on:\n{code}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn expansion_of_two_providers_matches_snapshot() {
    let input = quote! {
        ::oauth_clients;
        github,
        corp_sso {
            server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
            scope: "openid profile email",
            authorize_params: { prompt: "select_account" },
        },
        trello {
            request_token_url: "https://trello.com/1/OAuthGetRequestToken",
            authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
            access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        },
    };
    let expanded = rustfmt(&crate::expand_tokens(input).to_string());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/two_providers.rs"
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &expanded).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == expanded,
        "the expansion changed; review it and regenerate with UPDATE_SNAPSHOTS=1:\n{expanded}"
    );
}

#[test]
fn errors_produce_compile_errors_and_the_types() {
    let input = quote! {
        ::oauth_clients;
        forge { authorise_url: "https://x.example/a", scope: "a a" },
    };
    let expanded = crate::expand_tokens(input).to_string();
    assert_eq!(expanded.matches("compile_error").count(), 3, "{expanded}");
    assert!(
        expanded.contains("did you mean `authorize_url`?"),
        "{expanded}"
    );
    assert!(expanded.contains("struct Forge"), "{expanded}");
}

#[test]
fn presets_by_bare_name_and_their_mistakes() {
    let input = quote! {
        ::oauth_clients;
        github,
        gihtub,
        microsoft,
        google { tenant: "common" },
        corp { domain: "x.example", server_metadata_url: "https://x.example/.well-known/openid-configuration" },
    };
    let expanded = crate::expand_tokens(input).to_string();
    for message in [
        "unknown preset `gihtub`; did you mean `github`?",
        "preset `microsoft` needs `tenant`, the tenant:",
        "preset `google` does not take `tenant`; it is a key of `microsoft`",
        "`domain` applies only to presets (`okta`, `auth0`); `corp` is declared with its own keys",
    ] {
        assert!(expanded.contains(message), "{message}: {expanded}");
    }
    assert_eq!(expanded.matches("compile_error").count(), 4, "{expanded}");
    // The types are still generated, so the rest of the program type-checks.
    assert!(expanded.contains("struct Gihtub"), "{expanded}");
    assert!(expanded.contains("struct Microsoft"), "{expanded}");
}

#[test]
fn a_near_miss_key_counts_for_the_checks_across_keys() {
    // `authorise_url` is a typo of `authorize_url`: one error, not also "`access_token_url`
    // needs `authorize_url`".
    let input = quote! {
        ::oauth_clients;
        github {
            authorise_url: "https://github.com/login/oauth/authorize",
            access_token_url: "https://github.com/login/oauth/access_token",
        },
    };
    let expanded = crate::expand_tokens(input).to_string();
    assert_eq!(expanded.matches("compile_error").count(), 1, "{expanded}");
    assert!(
        expanded.contains("unknown key `authorise_url`; did you mean `authorize_url`?"),
        "{expanded}"
    );
    // The typo has no value: nothing is generated for the key it is a near miss of.
    assert!(!expanded.contains("AuthorizeUrl"), "{expanded}");
}

#[test]
fn a_near_miss_next_to_the_key_spelled_right_is_only_unknown() {
    let input = quote! {
        ::oauth_clients;
        github {
            authorise_url: "https://github.com/login/oauth/authorize",
            authorize_url: "https://github.com/login/oauth/authorize",
            access_token_url: "https://github.com/login/oauth/access_token",
        },
    };
    let expanded = crate::expand_tokens(input).to_string();
    assert_eq!(expanded.matches("compile_error").count(), 1, "{expanded}");
    assert!(!expanded.contains("duplicate key"), "{expanded}");
}
