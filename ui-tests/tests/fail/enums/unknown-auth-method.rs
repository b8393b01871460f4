use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        token_endpoint_auth_method: client_secret_form,
    },
}

fn main() {}
