use oauth_clients::oauth_clients;

oauth_clients! {
    providers_ext {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

fn main() {}
