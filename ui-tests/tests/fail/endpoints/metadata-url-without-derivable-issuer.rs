use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.example.com/metadata.json",
        scope: "openid",
    },
}

fn main() {}
