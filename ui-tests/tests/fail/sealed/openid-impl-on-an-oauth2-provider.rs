// Claiming OpenID Connect for a provider declared without `openid` is refused.
use oauth_clients::{oauth_clients, OpenIdProvider};

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        scope: "user:email",
    },
}

impl OpenIdProvider for Github {}

fn main() {}
