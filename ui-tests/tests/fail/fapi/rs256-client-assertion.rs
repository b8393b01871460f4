use oauth_clients::oauth_clients;

oauth_clients! {
    bank {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid accounts",
        security_profile: fapi2,
        token_endpoint_auth_method: private_key_jwt,
        client_assertion_alg: RS256,
        dpop: true,
    },
}

fn main() {}
