use oauth_clients::oauth_clients;

// A typo of `jwks_uri`: one error, not also "`openid` in `scope` needs a way to verify ID
// tokens".
oauth_clients! {
    corp {
        authorize_url: "https://sso.corp.example/authorize",
        access_token_url: "https://sso.corp.example/token",
        issuer: "https://sso.corp.example",
        jwks_url: "https://sso.corp.example/jwks",
        scope: "openid",
    },
}

fn main() {}
