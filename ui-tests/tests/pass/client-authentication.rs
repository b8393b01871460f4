// Every client authentication method, with the keys each one takes.
use oauth_clients::{oauth_clients, Provider};

oauth_clients! {
    hashed {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: client_secret_jwt,
        client_secret: env("HASHED_SECRET"),
    },
    signed {
        authorize_url: "https://partner.example/oauth/authorize",
        access_token_url: "https://partner.example/oauth/token",
        issuer: "https://partner.example",
        token_endpoint_auth_method: private_key_jwt,
        client_assertion_alg: PS256,
        client_key: env("SIGNED_KEY"),
        client_key_id: "2026-01",
    },
    signed_from_file {
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: private_key_jwt,
        client_key_file: env("SIGNED_KEY_FILE"),
        client_key_id: env("SIGNED_KEY_ID"),
    },
    bank {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: tls_client_auth,
        client_certificate: env("BANK_CERT"),
        client_certificate_key: env("BANK_CERT_KEY"),
    },
    self_signed {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid",
        token_endpoint_auth_method: self_signed_tls_client_auth,
    },
    // A certificate for the transport (certificate-bound tokens) with another method.
    bound {
        server_metadata_url: "https://bank.example/.well-known/openid-configuration",
        scope: "openid",
        client_secret: env("BOUND_SECRET"),
        client_certificate: env("BOUND_CERT"),
        client_certificate_key: env("BOUND_CERT_KEY"),
    },
}

fn main() {
    assert_eq!(Signed::NAME, "signed");
    assert_eq!(Providers::list().len(), 6);
}
