use oauth_clients::oauth_clients;

oauth_clients! {
    trello {
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
        authorize_url: "https://trello.com/1/OAuthAuthorizeToken",
        access_token_url: "https://trello.com/1/OAuthGetAccessToken",
        scope: "read",
        code_challenge_method: S256,
        token_endpoint_auth_method: client_secret_post,
        server_metadata_url: "https://trello.com/.well-known/openid-configuration",
        leeway: 30,
    },
}

fn main() {}
