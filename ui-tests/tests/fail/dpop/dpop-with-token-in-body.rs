use oauth_clients::oauth_clients;

oauth_clients! {
    corp_api {
        authorize_url: "https://sso.example.com/authorize",
        access_token_url: "https://sso.example.com/token",
        dpop: true,
        token_placement: body,
    },
}

fn main() {}
