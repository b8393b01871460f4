// The smallest OpenID Connect declaration: discovery does the rest.
oauth_clients::oauth_clients! {
    google {
        server_metadata_url: "https://accounts.google.com/.well-known/openid-configuration",
        scope: "openid",
    }
}

fn needs_oidc<P: oauth_clients::OpenIdProvider>(_: oauth_clients::Client<P>) {}

fn main() {
    needs_oidc(Providers::google());
}
