use oauth_clients::oauth_clients;

oauth_clients! {
    corp {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid",
        fetch_userinfo: sometimes,
    },
}

fn main() {}
