use oauth_clients::oauth_clients;

oauth_clients! {
    corp_sso {
        server_metadata_url: env("CORP_DISCOVERY_URL"),
        scope: "openid",
        leeway: env("CORP_LEEWAY"),
    },
}

fn main() {}
