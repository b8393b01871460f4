use oauth_clients::oauth_clients;

oauth_clients! {
    corp_sso {
        server_metadata_url: env("CORP_DISCOVERY_URL"),
        scope: env("CORP_SCOPE"),
    },
}

fn main() {}
