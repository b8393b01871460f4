use oauth_clients::oauth_clients;

oauth_clients! {
    corp_sso {
        server_metadata_url: env("corp discovery url"),
        scope: "openid",
    },
}

fn main() {}
