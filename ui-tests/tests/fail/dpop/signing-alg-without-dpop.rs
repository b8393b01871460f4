use oauth_clients::oauth_clients;

oauth_clients! {
    corp_sso {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid email",
        dpop_signing_alg: EdDSA,
    },
}

fn main() {}
