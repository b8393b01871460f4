use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorise_url: "https://github.com/login/oauth/authorize",
        access_token_url: "http://github.com/login/oauth/access_token",
        client_secret: "hunter2",
        scope: "user:email user:email",
        code_challenge_method: plain,
    },
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

fn main() {}
