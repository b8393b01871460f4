use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: client_secret_jwt,
        client_assertion_alg: PS256,
    },
}

fn main() {}
