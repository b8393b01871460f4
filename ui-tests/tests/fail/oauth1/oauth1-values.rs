use oauth_clients::oauth_clients;

oauth_clients! {
    plain {
        request_token_url: "http://127.0.0.1:8080/request_token",
        authorize_url: "https://api.example/authorize",
        access_token_url: "https://api.example/access_token",
        api_base_url: "http://localhost:8080/api/",
        // PLAINTEXT sends the secrets: https only, even on loopback.
        signature_method: "PLAINTEXT",
        rsa_key: env("PLAIN_RSA_KEY"),
        request_token_params: { oauth_callback: "https://evil.example/" },
    },
    lower {
        request_token_url: "https://api.example/request_token",
        authorize_url: "https://api.example/authorize",
        access_token_url: "https://api.example/access_token",
        signature_method: "hmac-sha1",
        signature_type: HEADER,
        authorize_params: { oauth_token: "fixed" },
        rsa_key: "-----BEGIN PRIVATE KEY-----",
    },
}

fn main() {}
