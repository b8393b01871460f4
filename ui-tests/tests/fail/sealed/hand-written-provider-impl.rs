// `Provider` is sealed: a hand-written impl could name a registry slot that does not exist.
use oauth_clients::{oauth_clients, Provider};

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

#[derive(Clone, Copy)]
struct Gitlab;

impl Provider for Gitlab {
    type Set = Providers;
    const INDEX: usize = 7;
    const CONFIG: &'static oauth_clients::__private::ProviderConfig = <Github as Provider>::CONFIG;
}

fn main() {}
