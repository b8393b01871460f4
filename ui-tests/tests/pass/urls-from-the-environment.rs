// URLs known only at run time come from the environment; the checks across keys count them as
// declared (endpoints present, a way to verify ID tokens, issuer derivable or declared).
use oauth_clients::{oauth_clients, OpenIdProvider, Provider};

oauth_clients! {
    corp_sso {
        server_metadata_url: env("CORP_DISCOVERY_URL"),
        scope: "openid email",
    },
    explicit {
        authorize_url: env("IDP_AUTHORIZE_URL"),
        access_token_url: env("IDP_TOKEN_URL"),
        issuer: env("IDP_ISSUER"),
        jwks_uri: env("IDP_JWKS_URI"),
        userinfo_endpoint: env("IDP_USERINFO_URL"),
        end_session_endpoint: env("IDP_LOGOUT_URL"),
        refresh_token_url: env("IDP_REFRESH_URL"),
        api_base_url: env("IDP_API_URL"),
        scope: "openid",
    },
    plain {
        authorize_url: env("PLAIN_AUTHORIZE_URL"),
        access_token_url: "https://plain.example/token",
    },
}

fn oidc<P: OpenIdProvider>() -> &'static str {
    P::NAME
}

fn main() {
    assert_eq!(oidc::<CorpSso>(), "corp_sso");
    assert_eq!(oidc::<Explicit>(), "explicit");
    assert!(!Plain::OPENID);
}
