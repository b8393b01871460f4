// An owned registry has the same typed accessors as the global one, through the extension
// trait generated next to the registry type.
mod auth {
    oauth_clients::oauth_clients! {
        pub(crate) Login;

        github {
            authorize_url: "https://github.com/login/oauth/authorize",
            access_token_url: "https://github.com/login/oauth/access_token",
            client_id: "in-source",
        },
    }

    // In scope here, where the declaration is.
    pub fn client_id(registry: &oauth_clients::Registry<Login>) -> String {
        registry.github().config().unwrap().client_id.clone()
    }
}

mod tenants {
    // Elsewhere, imported with the registry type.
    use crate::auth::{Login, LoginExt};

    pub fn name(registry: &oauth_clients::Registry<Login>) -> &'static str {
        let github: oauth_clients::Client<crate::auth::Github> = registry.github();
        github.name()
    }
}

fn main() {
    let registry = auth::Login::builder()
        .settings(oauth_clients::Settings::new().set("github", "client_secret", "s"))
        .build()
        .unwrap();
    assert_eq!(auth::client_id(&registry), "in-source");
    assert_eq!(tenants::name(&registry), "github");
}
