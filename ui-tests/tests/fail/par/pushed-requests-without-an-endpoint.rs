use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        authorize_url: "https://sso.corp.example/authorize",
        access_token_url: "https://sso.corp.example/token",
        pushed_authorization_requests: true,
    },
}

fn main() {}
