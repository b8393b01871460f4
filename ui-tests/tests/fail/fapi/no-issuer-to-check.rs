use oauth_clients::oauth_clients;

oauth_clients! {
    bank {
        authorize_url: "https://bank.example/authorize",
        access_token_url: "https://bank.example/token",
        pushed_authorization_request_endpoint: "https://bank.example/par",
        security_profile: fapi2,
        token_endpoint_auth_method: tls_client_auth,
    },
}

fn main() {}
