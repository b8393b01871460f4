// The FAPI 2.0 profile with mutual TLS: the certificate authenticates the client and binds
// its tokens, so nothing weaker is declared and nothing more is needed.
oauth_clients::oauth_clients! {
    bank {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid accounts",
        security_profile: fapi2,
        token_endpoint_auth_method: self_signed_tls_client_auth,
    },
    // Pushed authorization requests without the profile, to a declared endpoint.
    corp {
        authorize_url: "https://sso.corp.example/authorize",
        access_token_url: "https://sso.corp.example/token",
        pushed_authorization_requests: true,
        pushed_authorization_request_endpoint: "https://sso.corp.example/par",
    },
}

fn main() {
    let _ = Providers::bank();
    let _ = Providers::corp();
}
