use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: private_key_jwt,
        client_secret: env("CORP_SECRET"),
    },
}

fn main() {}
