use oauth_clients::oauth_clients;

oauth_clients! {
    partner {
        authorize_url: "https://partner.example/oauth/authorize",
        access_token_url: "https://partner.example/oauth/token",
        token_endpoint_auth_method: private_key_jwt,
    },
}

fn main() {}
