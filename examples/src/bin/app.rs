//! The main example. Lists the declared providers and whether each can be used.
use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        api_base_url: "https://api.github.com/",
        scope: "user:email",
    },
    google {
        server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
        scope: "openid profile email",
    },
}

fn main() {
    for provider in Providers::list() {
        let kind = if provider.openid {
            "OpenID Connect"
        } else {
            "OAuth 2.0"
        };
        if provider.available {
            println!("{:<8} {kind:<15} ready", provider.name);
        } else {
            println!("{:<8} {kind:<15} unavailable:", provider.name);
            for problem in provider.problems {
                println!("    {}", problem.message);
            }
        }
    }
}
