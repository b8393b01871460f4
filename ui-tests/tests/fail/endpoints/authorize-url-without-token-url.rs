use oauth_clients::oauth_clients;

oauth_clients! {
    forge {
        authorize_url: "https://forge.example/login/oauth/authorize",
    },
}

fn main() {}
