use oauth_clients::oauth_clients;

// A typo of `authorize_url`: one error, not also "`access_token_url` needs `authorize_url`".
oauth_clients! {
    github {
        authorise_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

fn main() {}
