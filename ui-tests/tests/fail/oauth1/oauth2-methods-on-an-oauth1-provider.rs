use oauth_clients::{oauth_clients, OAuth1Token, Token};

oauth_clients! {
    trello {
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
        authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
        access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        api_base_url: "https://api.trello.com/1/",
    },
}

async fn misuse(token: &OAuth1Token, oauth2: &Token) {
    // OpenID Connect and OAuth 2.0-only methods do not exist on an OAuth 1.0a client.
    let _ = Providers::trello().userinfo(token).await;
    let _ = Providers::trello().refresh(token).await;
    // An OAuth 2.0 token does not sign OAuth 1.0a requests.
    let _ = Providers::trello().get("members/me", oauth2).await;
    // Nor is an OAuth 1.0a provider an OAuth 2.0 one.
    let _ = oauth_clients::Client::<Trello>::global();
}

fn main() {
    let _ = misuse;
}
