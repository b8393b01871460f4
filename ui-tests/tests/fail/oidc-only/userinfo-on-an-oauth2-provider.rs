use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        scope: "user:email",
    },
}

async fn profile(token: &oauth_clients::Token) {
    let _ = Providers::github().userinfo(token).await;
}

fn main() {
    let _ = profile;
}
