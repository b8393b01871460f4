use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        issuer: "https://sso.example.com/?tenant=1",
        scope: "openid",
    },
}

fn main() {}
