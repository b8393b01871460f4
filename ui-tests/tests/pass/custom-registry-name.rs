// The optional header names the registry and sets its visibility.
mod auth {
    oauth_clients::oauth_clients! {
        pub(crate) Login;
        github {
            authorize_url: "https://github.com/login/oauth/authorize",
            access_token_url: "https://github.com/login/oauth/access_token",
        },
    }
}

fn main() {
    let client: oauth_clients::Client<auth::Github> = auth::Login::github();
    assert_eq!(client.name(), "github");
}
