use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: 443,
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

fn main() {}
