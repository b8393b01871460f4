use oauth_clients::oauth_clients;

// A typo of `server_metadata_url`: one error, not also "no endpoints" and "`openid` in `scope`
// needs a way to verify ID tokens".
oauth_clients! {
    google {
        server_metdata_url: "https://accounts.google.com/.well-known/openid-configuration",
        scope: "openid email",
    },
}

fn main() {}
