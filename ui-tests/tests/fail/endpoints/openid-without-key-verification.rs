use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        authorize_url: "https://sso.example.com/authorize",
        access_token_url: "https://sso.example.com/token",
        scope: "openid email",
    },
}

fn main() {}
