use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: self_signed_tls_client_auth,
        client_certificate: env("CORP_CERT"),
    },
}

fn main() {}
