//! The login fixture: what it returns, and how it reports a login that went wrong.

use oauth_clients::{oauth_clients, Callback, Error, MemorySession, Registry};
use oauth_clients_testing::{LoginError, TestClient, TestProvider};

oauth_clients! {
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
    /// Answers in a form post, as Sign in with Apple does.
    poster {
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
        authorize_params: { response_mode: "form_post" },
    },
    strict {
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
        client_id: "strict-app",
        token_endpoint_auth_method: none,
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

async fn setup() -> (TestProvider, Registry<Providers>) {
    let provider = TestProvider::builder()
        .client(TestClient {
            client_id: "strict-app".into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT_URI.into()],
        })
        .start()
        .await
        .unwrap();
    let settings = provider.settings_for("forge");
    let settings = provider.add_endpoints(settings, "strict");
    let settings = provider.add_settings(settings, "poster");
    let registry = Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .build()
        .unwrap();
    (provider, registry)
}

#[tokio::test]
async fn log_in_returns_the_token_of_the_approving_user() {
    let (provider, registry) = setup().await;
    let forge = registry.client::<Forge>();
    let token = provider
        .log_in(&forge, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    let user: serde_json::Value = forge.get("user", &token).await.unwrap().json().unwrap();
    assert_eq!(user["login"], "alice");
    assert_eq!(provider.count("authorize"), 1);
    assert_eq!(provider.count("token.authorization_code"), 1);
}

#[tokio::test]
async fn approved_callback_returns_the_callback_without_redeeming_it() {
    let (provider, registry) = setup().await;
    let forge = registry.client::<Forge>();
    let session = MemorySession::new();
    let back = provider
        .approved_callback(&forge, &session, REDIRECT_URI, "bob")
        .await
        .unwrap();
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    let callback = Callback::from_url(&back);
    assert!(
        callback.code.is_some() && callback.state.is_some(),
        "{back}"
    );
    assert_eq!(provider.count("token"), 0);

    // The session holds the pending login: the callback redeems once.
    let token = forge
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();
    assert!(!token.access_token.is_empty());
    assert_eq!(provider.count("token.authorization_code"), 1);
}

#[tokio::test]
async fn a_login_the_provider_does_not_send_back_is_not_sent_back() {
    let (provider, registry) = setup().await;
    // `strict-app` allows only REDIRECT_URI: the provider shows an error page, no redirect.
    let other = "http://127.0.0.1:8080/elsewhere";
    let outcome = provider
        .log_in(
            &registry.client::<Strict>(),
            &MemorySession::new(),
            other,
            "alice",
        )
        .await;
    match outcome {
        Err(LoginError::NotSentBack { provider, reason }) => {
            assert_eq!(provider, "strict");
            assert!(reason.contains("without a redirect"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.count("token"), 0);
}

#[tokio::test]
async fn a_callback_to_another_uri_is_not_sent_back_and_its_code_not_shown() {
    let (provider, registry) = setup().await;
    let forge = registry.client::<Forge>();
    // The library sends the redirect URI normalised (without `a/..`): the provider redirects
    // to a URL that does not start with the one the fixture was given.
    let outcome = provider
        .approved_callback(
            &forge,
            &MemorySession::new(),
            "http://127.0.0.1:8080/a/../auth/callback",
            "alice",
        )
        .await;
    match outcome {
        Err(
            error @ LoginError::NotSentBack {
                provider: "forge", ..
            },
        ) => {
            let message = error.to_string();
            assert_eq!(
                message,
                "the test provider did not send the login at provider `forge` back to the \
                 redirect URI: it redirected to http://127.0.0.1:8080/auth/callback"
            );
        }
        other => panic!("{other:?}"),
    }
    // The provider did redirect, with a code: the message above has no query.
    assert_eq!(provider.count("authorize"), 1);
}

#[tokio::test]
async fn the_librarys_error_is_returned_as_it_is() {
    let (provider, registry) = setup().await;
    provider.configure(|b| {
        b.token_override = Some((
            400,
            "application/json".into(),
            r#"{"error":"invalid_grant"}"#.into(),
        ))
    });
    let outcome = provider
        .log_in(
            &registry.client::<Forge>(),
            &MemorySession::new(),
            REDIRECT_URI,
            "alice",
        )
        .await;
    match outcome {
        Err(LoginError::AuthorizeAccessToken(Error::TokenEndpoint {
            provider: "forge",
            ref error,
            status: 400,
            ..
        })) => assert_eq!(error, "invalid_grant"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_login_that_cannot_start_never_reaches_the_provider() {
    let (provider, registry) = setup().await;
    let outcome = provider
        .log_in(
            &registry.client::<Forge>(),
            &MemorySession::new(),
            "not a URL",
            "alice",
        )
        .await;
    match outcome {
        Err(LoginError::AuthorizeRedirect(Error::InvalidRequest {
            provider: "forge", ..
        })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.count("authorize"), 0);
}

const APPLE_USER: &str =
    r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.test"}"#;

#[tokio::test]
async fn a_form_post_approval_is_a_page_that_posts_the_callback_to_the_redirect_uri() {
    let (provider, registry) = setup().await;
    provider.configure(|b| {
        b.login = oauth_clients_testing::LoginMode::AutoApprove("ada".into());
        b.form_post_user = Some(APPLE_USER.into());
    });
    let poster = registry.client::<Poster>();
    let redirect = poster
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    assert!(redirect
        .location()
        .query_pairs()
        .any(|(k, v)| k == "response_mode" && v == "form_post"));
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(redirect.location().as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("location").is_none());
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<form method="post" action="{REDIRECT_URI}">"#)),
        "{html}"
    );
    assert!(
        html.contains(r#"<body onload="document.forms[0].submit()">"#),
        "{html}"
    );
    assert!(html.contains(r#"<input type="hidden" name="code" value=""#));
    assert!(html.contains(r#"<input type="hidden" name="state" value=""#));
    assert!(html.contains(&format!(
        r#"<input type="hidden" name="iss" value="{}">"#,
        provider.issuer()
    )));
    assert!(html.contains(
        r#"<input type="hidden" name="user" value="{&quot;name&quot;:{&quot;firstName&quot;:&quot;Ada&quot;,&quot;lastName&quot;:&quot;Lovelace&quot;},&quot;email&quot;:&quot;ada@example.test&quot;}">"#
    ), "{html}");
}

#[tokio::test]
async fn approve_reads_a_form_post_page_as_a_callback_url() {
    let (provider, registry) = setup().await;
    provider.configure(|b| b.form_post_user = Some(APPLE_USER.into()));
    let poster = registry.client::<Poster>();
    let session = MemorySession::new();
    let back = provider
        .approved_callback(&poster, &session, REDIRECT_URI, "ada")
        .await
        .unwrap();
    assert!(back.as_str().starts_with(&format!("{REDIRECT_URI}?code=")));
    let callback = Callback::from_url(&back);
    assert_eq!(callback.user.as_deref(), Some(APPLE_USER));
    assert_eq!(callback.iss.as_deref(), Some(provider.issuer()));
    assert!(callback.state.is_some());
    let token = poster.authorize_access_token(&session, &callback).await;
    assert!(token.is_ok(), "{token:?}");
    assert_eq!(provider.count("token.authorization_code"), 1);

    // A query redirect never carries `user`, and a refusal is posted too.
    let forge = registry.client::<Forge>();
    let back = provider
        .approved_callback(&forge, &MemorySession::new(), REDIRECT_URI, "ada")
        .await
        .unwrap();
    assert_eq!(Callback::from_url(&back).user, None);
    let redirect = poster
        .authorize_redirect(&MemorySession::new(), REDIRECT_URI)
        .await
        .unwrap();
    let refused = Callback::from_url(&provider.deny(redirect.location()).await.unwrap());
    assert_eq!(refused.error.as_deref(), Some("access_denied"));
    assert_eq!(refused.code, None);
}
