use oauth_clients::oauth_clients;

oauth_clients! {
    github {
        authorize_url: "https://github.com/login/oauth/authorize",
        access_token_url: "https://github.com/login/oauth/access_token",
        signature_method: "HMAC-SHA1",
        signature_type: header,
        request_token_params: { a: "b" },
        rsa_key: env("GITHUB_RSA_KEY"),
    },
}

fn main() {}
