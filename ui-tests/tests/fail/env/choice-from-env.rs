use oauth_clients::oauth_clients;

oauth_clients! {
    corp_sso {
        server_metadata_url: env("CORP_DISCOVERY_URL"),
        scope: "openid",
        token_endpoint_auth_method: env("CORP_AUTH_METHOD"),
    },
}

fn main() {}
