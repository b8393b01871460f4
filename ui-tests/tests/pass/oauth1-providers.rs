// OAuth 1.0a providers, with every key that applies to them, next to an OAuth 2.0 one: each gets
// the client type of its kind.
use oauth_clients::{oauth_clients, MemorySession, OAuth1Client, OAuth1Provider, OAuth1Token};

oauth_clients! {
    /// Trello: its scope and app name go in the authorization URL.
    trello {
        client_id: env("TRELLO_KEY"),
        client_secret: env("TRELLO_SECRET"),
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
        request_token_params: { x_auth_access_type: "read" },
        authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
        authorize_params: { scope: "read,write", name: "My app", expiration: "never" },
        access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        access_token_params: { x_extra: "1" },
        api_base_url: "https://api.trello.com/1/",
        signature_method: "HMAC-SHA256",
        signature_type: query,
        timeout: 10,
        user_agent: "my-app/1.0",
    },
    /// Named like the OAuth 2.0 preset, but declared with `request_token_url`: X's OAuth 1.0a
    /// API, as Authlib's documentation registers `twitter`.
    twitter {
        request_token_url: "https://api.twitter.com/oauth/request_token",
        authorize_url: "https://api.twitter.com/oauth/authenticate",
        access_token_url: "https://api.twitter.com/oauth/access_token",
        api_base_url: "https://api.twitter.com/1.1/",
    },
    signed_by_key {
        request_token_url: "http://127.0.0.1:8080/request_token",
        authorize_url: "http://127.0.0.1:8080/authorize",
        access_token_url: "http://127.0.0.1:8080/access_token",
        signature_method: "RSA-SHA1",
        rsa_key: env("SIGNED_BY_KEY_PEM"),
        signature_type: body,
    },
    plain {
        request_token_url: "https://api.example/request_token",
        authorize_url: "https://api.example/authorize",
        access_token_url: "https://api.example/access_token",
        api_base_url: "https://api.example/v1/",
        signature_method: "PLAINTEXT",
        signature_type: header,
    },
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

fn name<P: OAuth1Provider>(_: &OAuth1Client<P>) -> &'static str {
    P::NAME
}

async fn calls(session: &MemorySession, token: &OAuth1Token) {
    let trello: OAuth1Client<Trello> = Providers::trello();
    let _ = trello.authorize_redirect(session, "oob").await;
    let callback = oauth_clients::Callback::from_query("oauth_token=t&oauth_verifier=v");
    let _ = trello.authorize_access_token(session, &callback).await;
    let _ = trello.get("members/me", token).await;
    let _ = trello.post("cards", token).form(&[("name", "x")]).await;
    let _ = Providers::github().authorize_redirect(session, "https://app.example/cb").await;
}

fn main() {
    assert_eq!(name(&Providers::twitter()), "twitter");
    assert_eq!(Plain::NAME, "plain");
    let kinds: Vec<_> = Providers::list()
        .into_iter()
        .map(|p| (p.name, p.oauth1))
        .collect();
    assert_eq!(
        kinds,
        [
            ("trello", true),
            ("twitter", true),
            ("signed_by_key", true),
            ("plain", true),
            ("github", false)
        ]
    );
    let _ = calls;
}
