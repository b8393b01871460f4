// `ProviderSet` is sealed: only the registry type `oauth_clients!` generates implements it.
use oauth_clients::{oauth_clients, ProviderSet};

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
    },
}

struct MyProviders;

impl ProviderSet for MyProviders {
    const CONFIGS: &'static [&'static oauth_clients::__private::ProviderConfig] =
        <Providers as ProviderSet>::CONFIGS;

    fn global_cell() -> &'static oauth_clients::__private::GlobalCell<Self> {
        static CELL: oauth_clients::__private::GlobalCell<MyProviders> =
            oauth_clients::__private::GlobalCell::new();
        &CELL
    }
}

fn main() {}
