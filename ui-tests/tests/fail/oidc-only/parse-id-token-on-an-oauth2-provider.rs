use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

async fn check(token: &oauth_clients::Token) {
    let _ = Providers::github().parse_id_token(token, None).await;
}

fn main() {
    let _ = check;
}
