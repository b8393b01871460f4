use oauth_clients::oauth_clients;

oauth_clients! {
    trello {
        request_token_url: "https://trello.com/1/OAuthGetRequestToken",
    },
}

fn main() {}
