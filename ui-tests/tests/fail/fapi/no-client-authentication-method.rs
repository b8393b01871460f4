use oauth_clients::oauth_clients;

oauth_clients! {
    bank {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid accounts",
        security_profile: fapi2,
        dpop: true,
    },
}

fn main() {}
