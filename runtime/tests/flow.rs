//! The authorization-code flow, API calls and refresh, end to end against the local provider.

use oauth_clients::{oauth_clients, Callback, Error, MemorySession, Registry, Settings, Token};
use oauth_clients_testing::{TestClient, TestProvider, TokenFormat};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

oauth_clients! {
    // A generic OAuth 2.0 provider (not a preset); the tests point it at the local provider
    // through settings.
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
    posting {
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
        token_endpoint_auth_method: client_secret_post,
        token_placement: body,
        scope: "read",
    },
    public_app {
        authorize_url: "https://idp.example/authorize",
        access_token_url: "https://idp.example/token",
        client_id: "public-app",
        token_endpoint_auth_method: none,
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";

struct Setup {
    provider: TestProvider,
    registry: Registry<Providers>,
}

async fn setup(change: impl FnOnce(Settings) -> Settings) -> Setup {
    let provider = TestProvider::builder()
        .client(TestClient {
            client_id: "public-app".into(),
            client_secret: None,
            redirect_uris: vec![REDIRECT_URI.into()],
        })
        .start()
        .await
        .unwrap();
    let settings = provider.settings_for("forge");
    let settings = provider.add_settings(settings, "posting");
    let settings = provider.add_endpoints(settings, "public_app");
    let settings = change(settings);
    let registry = Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    Setup { provider, registry }
}

/// `user` logs in with provider `P` of the setup's registry, through the provider's login
/// fixture; the login must succeed.
async fn login<P: oauth_clients::Provider<Set = Providers>>(s: &Setup, user: &str) -> Token {
    login_at(&s.registry.client::<P>(), &s.provider, user).await
}

/// The same, with a client of another registry pointed at the setup's provider.
async fn login_at<P: oauth_clients::Provider>(
    client: &oauth_clients::Client<P>,
    provider: &TestProvider,
    user: &str,
) -> Token {
    provider
        .log_in(client, &MemorySession::new(), REDIRECT_URI, user)
        .await
        .unwrap()
}

#[tokio::test]
async fn full_login_with_a_plain_oauth2_provider() {
    let s = setup(|s| s).await;
    let forge = s.registry.client::<Forge>();
    let session = MemorySession::new();
    let redirect = forge
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let url = redirect.location();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/authorize");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "test-client");
    assert_eq!(query["redirect_uri"], REDIRECT_URI);
    assert_eq!(query["scope"], "user:email");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert!(
        query["state"].len() >= 22,
        "state carries at least 128 bits"
    );
    assert!(
        !query.contains_key("nonce"),
        "no nonce for a plain OAuth 2.0 provider"
    );
    assert_eq!(session.keys(), ["oauth_clients.forge.logins"]);

    let back = s.provider.approve(url, "alice").await.unwrap();
    let token = forge
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    assert_eq!(token.token_type, "Bearer");
    assert!(token.refresh_token.is_some());
    assert_eq!(token.scope.as_deref(), Some("user:email"));
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_at = token.expires_at.unwrap();
    assert!(
        (now + 3599..=now + 3601).contains(&expires_at),
        "{expires_at} vs {now}"
    );
    assert_eq!(s.provider.count("token.authorization_code"), 1);
    assert_eq!(s.provider.count("token.auth.client_secret_basic"), 1);

    let user = forge.get("user", &token).await.unwrap();
    assert_eq!(user.status(), 200);
    let body: serde_json::Value = user.json().unwrap();
    assert_eq!(body["login"], "alice");
    assert!(user.new_token().is_none());

    // The token survives a round trip through storage.
    let stored = serde_json::to_string(&token).unwrap();
    assert_eq!(serde_json::from_str::<Token>(&stored).unwrap(), token);
}

#[tokio::test]
async fn several_tabs_can_log_in_at_once() {
    let s = setup(|s| s).await;
    let forge = s.registry.client::<Forge>();
    let session = MemorySession::new();
    let first = s
        .provider
        .approved_callback(&forge, &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    let second = s
        .provider
        .approved_callback(&forge, &session, REDIRECT_URI, "alice")
        .await
        .unwrap();
    // Finished in the other order: each state still finds its own verifier.
    forge
        .authorize_access_token(&session, &Callback::from_url(&second))
        .await
        .unwrap();
    forge
        .authorize_access_token(&session, &Callback::from_url(&first))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_error_callback_is_a_typed_error() {
    let s = setup(|s| s).await;
    let forge = s.registry.client::<Forge>();
    let session = MemorySession::new();
    let redirect = forge
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = s.provider.deny(redirect.location()).await.unwrap();
    let callback = Callback::from_url(&back);
    match forge.authorize_access_token(&session, &callback).await {
        Err(Error::Authorization {
            provider,
            error,
            description,
            ..
        }) => {
            assert_eq!(provider, "forge");
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("the user refused"));
        }
        other => panic!("expected an authorization error, got {other:?}"),
    }
    // The login is over: its state cannot be used again.
    let mut retry = callback.clone();
    retry.error = None;
    retry.code = Some("x".into());
    assert!(matches!(
        forge.authorize_access_token(&session, &retry).await,
        Err(Error::ReplayedState { .. })
    ));
    assert_eq!(s.provider.count("token"), 0);
}

#[tokio::test]
async fn the_provider_checks_the_pkce_verifier() {
    let s = setup(|s| s).await;
    let session = MemorySession::new();
    let callback = Callback::from_url(
        &s.provider
            .approved_callback(
                &s.registry.client::<Forge>(),
                &session,
                REDIRECT_URI,
                "alice",
            )
            .await
            .unwrap(),
    );
    // Swap the stored verifier for another: the provider must refuse the code.
    let key = "oauth_clients.forge.logins";
    let mut stored = session.value(key).unwrap();
    // Each entry is `[state, created_ms, [redirect_uri, code_verifier, nonce]]`.
    for entry in stored.as_array_mut().unwrap() {
        entry[2][1] = serde_json::json!("A".repeat(43));
    }
    session.set_value(key, stored);
    match s
        .registry
        .client::<Forge>()
        .authorize_access_token(&session, &callback)
        .await
    {
        Err(Error::TokenEndpoint {
            error,
            description,
            status,
            ..
        }) => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(description.as_deref(), Some("PKCE verification failed"));
            assert_eq!(status, 400);
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn client_secret_post_and_public_clients_authenticate_as_declared() {
    let s = setup(|s| s).await;
    let token = login::<Posting>(&s, "bob").await;
    assert_eq!(s.provider.count("token.auth.client_secret_post"), 1);
    assert_eq!(s.provider.count("token.auth.client_secret_basic"), 0);
    // token_placement: body sends the token as a form field.
    let user = s
        .registry
        .client::<Posting>()
        .post("user", &token)
        .await
        .unwrap();
    assert_eq!(user.json::<serde_json::Value>().unwrap()["login"], "bob");

    login::<PublicApp>(&s, "carol").await;
    assert_eq!(s.provider.count("token.auth.none"), 1);
}

#[tokio::test]
async fn form_encoded_and_json_token_responses_both_work() {
    let s = setup(|s| s).await;
    s.provider.configure(|b| {
        b.token_format = TokenFormat::Form;
        b.token_type = "bearer".into();
    });
    let form = login::<Forge>(&s, "alice").await;
    assert_eq!(form.token_type, "Bearer");
    assert_eq!(form.scope.as_deref(), Some("user:email"));
    assert!(form.expires_at.is_some());
    s.provider.configure(|b| {
        b.token_format = TokenFormat::Json;
        b.token_type = "bEARER".into();
        b.access_token_ttl = None;
    });
    let json = login::<Forge>(&s, "alice").await;
    assert_eq!(json.expires_at, None);
    assert_eq!(json.token_type, "Bearer");
}

#[tokio::test]
async fn per_call_parameters_are_added_and_owned_ones_refused() {
    let s = setup(|s| {
        s.set(
            "forge",
            "authorize_params",
            [("allow_signup", "false")]
                .into_iter()
                .collect::<oauth_clients::SettingValue>(),
        )
    })
    .await;
    let forge = s.registry.client::<Forge>();
    let (url, pending) = forge
        .authorize(REDIRECT_URI)
        .param("login", "octocat")
        .url()
        .await
        .unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(query.contains(&("allow_signup".into(), "false".into())));
    assert!(query.contains(&("login".into(), "octocat".into())));
    assert!(query.contains(&("state".into(), pending.state.clone())));
    let refused = forge
        .authorize(REDIRECT_URI)
        .param("state", "mine")
        .url()
        .await;
    match refused {
        Err(Error::InvalidRequest { message, .. }) => {
            assert_eq!(
                message,
                "an authorization request cannot set `state`: the flow sets it on every request"
            )
        }
        other => panic!("{other:?}"),
    }
    // The lower-level pair works without a session.
    let back = s.provider.approve(&url, "dave").await.unwrap();
    let token = forge
        .exchange_code(&pending, &Callback::from_url(&back))
        .await
        .unwrap();
    assert!(!token.access_token.is_empty());
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_before_the_call_and_hooks_are_awaited() {
    let s = setup(|s| s).await;
    type Seen = Vec<(String, String, Option<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let hook_seen = seen.clone();
    let registry = Providers::builder()
        .settings(s.provider.settings_for("forge"))
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |update| {
            let seen = hook_seen.clone();
            async move {
                // A slow store: the caller must still wait for it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                seen.lock().unwrap().push((
                    update.provider.to_string(),
                    update.token.access_token.clone(),
                    update.refresh_token.clone(),
                ));
                Ok(())
            }
        })
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let mut token = login_at(&registry.client::<Forge>(), &s.provider, "alice").await;
    // Expiring within the leeway (60 s): refreshed first.
    token.expires_at = Some(token.expires_at.unwrap() - 3590);
    let old_refresh = token.refresh_token.clone();
    let response = forge.get("user", &token).await.unwrap();
    assert_eq!(response.status(), 200);
    let new = response
        .new_token()
        .expect("the call refreshed the token")
        .clone();
    assert_ne!(new.access_token, token.access_token);
    assert_ne!(
        new.refresh_token, old_refresh,
        "the provider rotates refresh tokens"
    );
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [("forge".to_string(), new.access_token.clone(), old_refresh)]
    );
}

#[tokio::test]
async fn a_token_without_expiry_is_refreshed_once_on_401() {
    let s = setup(|s| s).await;
    s.provider.configure(|b| b.access_token_ttl = None);
    let mut token = login::<Forge>(&s, "alice").await;
    token.access_token = "revoked".into();
    let response = s
        .registry
        .client::<Forge>()
        .get("user", &token)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.new_token().is_some());
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    assert_eq!(s.provider.count("api"), 2, "one 401, one retry");

    // A refresh that fails ends the call with the provider's error: no loop, no second try.
    let mut stale = response.new_token().unwrap().clone();
    stale.refresh_token = Some("unknown".into());
    stale.access_token = "revoked".into();
    let outcome = s.registry.client::<Forge>().get("user", &stale).await;
    assert!(
        matches!(outcome, Err(Error::TokenEndpoint { ref error, .. }) if error == "invalid_grant"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_expired_token_without_refresh_token_is_a_typed_error() {
    let s = setup(|s| s).await;
    let mut token = login::<Forge>(&s, "alice").await;
    token.refresh_token = None;
    token.expires_at = Some(1);
    let outcome = s.registry.client::<Forge>().get("user", &token).await;
    assert!(
        matches!(outcome, Err(Error::TokenExpired { provider: "forge" })),
        "{outcome:?}"
    );
    assert_eq!(s.provider.count("api"), 0);
}

#[tokio::test]
async fn a_failing_hook_fails_the_call_but_keeps_the_new_token() {
    let s = setup(|s| s).await;
    let registry = Providers::builder()
        .settings(s.provider.settings_for("forge"))
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(|_| async { Err(std::io::Error::other("database is down").into()) })
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let mut token = login_at(&registry.client::<Forge>(), &s.provider, "alice").await;
    token.expires_at = Some(1);
    match forge.get("user", &token).await {
        Err(Error::TokenUpdateHook {
            provider,
            message,
            token: new,
        }) => {
            assert_eq!(provider, "forge");
            assert_eq!(message, "database is down");
            assert_ne!(new.access_token, token.access_token);
            // The new token works.
            let again = forge.get("user", &new).await.unwrap();
            assert_eq!(again.status(), 200);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.provider.count("token.refresh_token"), 1);
}

#[tokio::test]
async fn a_sentinel_secret_never_appears_in_debug_display_or_errors() {
    const SECRET: &str = "sentinel-client-secret-0451";
    let provider = TestProvider::builder()
        .client(TestClient {
            client_id: "sentinel-app".into(),
            client_secret: Some(SECRET.into()),
            redirect_uris: Vec::new(),
        })
        .start()
        .await
        .unwrap();
    let settings = provider
        .settings_for("forge")
        .set("forge", "client_id", "sentinel-app")
        .set("forge", "client_secret", SECRET);
    let registry = Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let session = MemorySession::new();
    let mut shown = Vec::new();
    let redirect = forge
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = provider
        .approve(redirect.location(), "alice")
        .await
        .unwrap();
    let callback = Callback::from_url(&back);
    let code = callback.code.clone().unwrap();
    shown.push(format!("{callback:?} {redirect:?}"));
    let token = forge
        .authorize_access_token(&session, &callback)
        .await
        .unwrap();
    let mut secrets = vec![
        SECRET.to_string(),
        code,
        token.access_token.clone(),
        token.refresh_token.clone().unwrap(),
    ];
    shown.push(format!(
        "{token:?} {forge:?} {registry:?} {:?}",
        forge.config().unwrap()
    ));
    // Errors on every path that handles credentials.
    shown.push(format!(
        "{:?}",
        forge.authorize_access_token(&session, &callback).await
    ));
    provider.configure(|b| {
        b.token_override = Some((
            400,
            "application/json".into(),
            r#"{"error":"invalid_grant","error_description":"nope"}"#.to_string(),
        ))
    });
    let mut expired = token.clone();
    expired.expires_at = Some(1);
    let failed = forge.get("user", &expired).await.unwrap_err();
    shown.push(format!("{failed} {failed:?}"));
    provider.configure(|b| {
        b.token_override = None;
        b.token_delay = Some(Duration::from_secs(5));
    });
    let session2 = MemorySession::new();
    let redirect2 = forge
        .authorize_redirect(&session2, REDIRECT_URI)
        .await
        .unwrap();
    let callback2 = Callback::from_url(
        &provider
            .approve(redirect2.location(), "alice")
            .await
            .unwrap(),
    );
    secrets.push(callback2.code.clone().unwrap());
    let registry_short = Providers::builder()
        .settings(
            provider
                .settings_for("forge")
                .set("forge", "client_id", "sentinel-app")
                .set("forge", "client_secret", SECRET)
                .set("forge", "timeout", 1),
        )
        .env_source(|_| None)
        .allow_unconfigured()
        .build()
        .unwrap();
    let timed_out = registry_short
        .client::<Forge>()
        .exchange_code(
            &serde_json::from_value(session_pending(&session2)).unwrap(),
            &callback2,
        )
        .await
        .unwrap_err();
    shown.push(format!("{timed_out} {timed_out:?}"));
    let all = shown.join("\n");
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "a secret leaked into:\n{all}"
        );
    }
    assert!(
        all.contains("invalid_grant") && all.contains("Timeout"),
        "{all}"
    );
}

/// The one pending login of a session, in the form `exchange_code` takes.
fn session_pending(session: &MemorySession) -> serde_json::Value {
    let stored = session.value("oauth_clients.forge.logins").unwrap();
    // `[[state, created_ms, [redirect_uri, code_verifier, nonce]]]`
    let entry = &stored[0];
    serde_json::json!({
        "state": entry[0],
        "redirect_uri": entry[2][0],
        "code_verifier": entry[2][1],
        "created_ms": entry[1],
    })
}

#[tokio::test]
async fn refresh_uses_refresh_token_url_keeps_a_non_rotated_token_and_runs_hooks_in_order() {
    let s = setup(|s| s).await;
    s.provider.configure(|b| b.rotate_refresh_tokens = false);
    let order: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let (first, second) = (order.clone(), order.clone());
    let registry = Providers::builder()
        .settings(s.provider.settings_for("forge").set(
            "forge",
            "refresh_token_url",
            s.provider.url("refresh"),
        ))
        .env_source(|_| None)
        .allow_unconfigured()
        .on_token_update(move |_| {
            first.lock().unwrap().push("persist");
            async { Ok(()) }
        })
        .on_token_update(move |_| {
            second.lock().unwrap().push("notify");
            async { Ok(()) }
        })
        .build()
        .unwrap();
    let forge = registry.client::<Forge>();
    let token = login_at(&registry.client::<Forge>(), &s.provider, "alice").await;
    let refreshed = forge.refresh(&token).await.unwrap();
    assert_eq!(s.provider.count("refresh_url"), 1);
    assert_eq!(s.provider.count("token.refresh_token"), 1);
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(
        refreshed.refresh_token, token.refresh_token,
        "kept: the provider sent none"
    );
    assert_eq!(*order.lock().unwrap(), ["persist", "notify"]);
}

#[tokio::test]
async fn api_paths_resolve_against_the_base_and_absolute_urls_are_checked() {
    let s = setup(|s| s).await;
    let token = login::<Forge>(&s, "alice").await;
    let forge = s.registry.client::<Forge>();
    // A leading slash is relative to the base too.
    assert_eq!(forge.get("/user", &token).await.unwrap().status(), 200);
    assert_eq!(
        forge
            .get(&s.provider.url("api/user"), &token)
            .await
            .unwrap()
            .status(),
        200
    );
    match forge.get("http://api.example/user", &token).await {
        Err(Error::InvalidRequest { message, .. }) => assert!(
            message.starts_with("the API URL must use `https://`"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.provider.count("api"),
        2,
        "the token was not sent to the refused URL"
    );
}
