use oauth_clients::{oauth_clients, MemorySession};

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

async fn logout(session: &MemorySession) {
    let _ = Providers::github().logout_redirect(session, None).await;
}

fn main() {
    let _ = logout;
}
