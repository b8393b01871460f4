use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
    },
}

fn main() {}
