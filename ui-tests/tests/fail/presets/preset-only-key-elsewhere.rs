use oauth_clients::oauth_clients;

oauth_clients! {
    github { tenant: "common" },
    corp_sso {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid",
        realm: "staff",
    },
}

fn main() {}
