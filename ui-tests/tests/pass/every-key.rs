// Every declaration key, in its accepted forms, on an OAuth 2.0 and an OpenID Connect provider.
use oauth_clients::{oauth_clients, OpenIdProvider, Provider};

oauth_clients! {
    /// GitHub, with every key that applies to a plain OAuth 2.0 provider.
    github {
        client_id: "Iv1.0123456789abcdef",
        client_secret: env("GH_SECRET"),
        authorize_url: "https://github.com/login/oauth/authorize",
        authorize_params: { allow_signup: "false", "login": "octocat" },
        access_token_url: "https://github.com/login/oauth/access_token",
        access_token_params: { audience: "api" },
        refresh_token_url: "https://github.com/login/oauth/access_token",
        api_base_url: "https://api.github.com/",
        userinfo_endpoint: "https://api.github.com/user",
        issuer: "https://github.com/login/oauth",
        scope: "user:email read:org",
        code_challenge_method: none,
        token_endpoint_auth_method: client_secret_post,
        token_placement: body,
        leeway: 0,
        timeout: 300,
        user_agent: "my-app/1.0",
    },
    corp_sso {
        client_id: env("SSO_ID"),
        server_metadata_url: "https://sso.example.com/.well-known/openid-configuration",
        issuer: "https://sso.example.com",
        jwks_uri: "https://sso.example.com/jwks",
        end_session_endpoint: "https://sso.example.com/logout",
        scope: "openid email profile offline_access",
        code_challenge_method: "S256",
        token_endpoint_auth_method: none,
        token_placement: header,
        fetch_userinfo: always,
        leeway: 300,
        timeout: 1,
    },
    local {
        authorize_url: "http://127.0.0.1:8080/authorize",
        access_token_url: "http://localhost:8080/token",
        issuer: "http://[::1]:8080",
        jwks_uri: "http://127.0.0.1:8080/jwks",
        scope: "openid",
        token_endpoint_auth_method: client_secret_basic,
        fetch_userinfo: never,
    },
}

fn oidc<P: OpenIdProvider>() -> &'static str {
    P::NAME
}

fn main() {
    assert_eq!(Github::NAME, "github");
    assert!(!Github::OPENID);
    assert_eq!(oidc::<CorpSso>(), "corp_sso");
    assert_eq!(oidc::<Local>(), "local");
    let names: Vec<_> = Providers::list().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["github", "corp_sso", "local"]);
}
