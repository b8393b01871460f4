use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.corp.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: tls_client_auth,
        client_secret: env("CORP_SECRET"),
        client_certificate: env("CORP_CERT"),
        client_certificate_key: env("CORP_CERT_KEY"),
    },
}

fn main() {}
