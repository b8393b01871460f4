//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) with a real provider:
//! `oidc-provider` with `features.backchannelLogout`, and a client (`rp-bclogout`, in
//! `server.mjs`) whose `backchannel_logout_uri` is the library's axum handler, served by this
//! test on a loopback port. A user logs in, ends the session at the provider (RP-initiated
//! logout), and the provider's logout token must reach the handler, pass, and end the
//! application's session of that login, and only that one.

mod op_support;

use oauth_clients::integrations::axum::backchannel_logout;
use oauth_clients::{oauth_clients, BackchannelLogout, Callback, MemorySession, Settings};
use op_support::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

oauth_clients! {
    op_bcl {
        server_metadata_url: "https://op.example/.well-known/openid-configuration",
        scope: "openid email",
        authorize_params: { prompt: "consent" },
    },
}

const DAY: Duration = Duration::from_secs(86_400);

fn hidden_field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(r#"name="{name}" value=""#))? + name.len() + 15;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The application's sessions: its key → the user.
type Sessions = Arc<Mutex<HashMap<String, String>>>;

#[tokio::test]
async fn the_provider_logout_token_ends_the_app_session() {
    // The application's back-channel logout endpoint, on a loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!(
        "http://{}/backchannel-logout",
        listener.local_addr().unwrap()
    );
    let op = OidcProvider::start_with_options(&["--backchannel-logout-uri", &endpoint]).await;
    let registry = Providers::builder()
        .settings(
            Settings::new()
                .set("op_bcl", "server_metadata_url", op.discovery_url())
                .set("op_bcl", "client_id", "rp-bclogout")
                .set("op_bcl", "client_secret", "rp-bclogout-secret"),
        )
        .env_source(|_| None)
        .build()
        .unwrap();
    let client = registry.client::<OpBcl>();

    let sessions: Sessions = Arc::default();
    let received: Arc<Mutex<Vec<BackchannelLogout>>> = Arc::default();
    let (ended, app_sessions) = (received.clone(), sessions.clone());
    let router: axum::Router = axum::Router::new().route(
        "/backchannel-logout",
        backchannel_logout(client.clone(), move |event: BackchannelLogout| {
            let (ended, app_sessions) = (ended.clone(), app_sessions.clone());
            async move {
                let mut app_sessions = app_sessions.lock().unwrap();
                for key in &event.sessions {
                    app_sessions.remove(key);
                }
                ended.lock().unwrap().push(event);
                Ok(())
            }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // Two users log in, each in their own browser and application session.
    let mut logins = Vec::new();
    for (user, key) in [("alice", "app-session-alice"), ("bob", "app-session-bob")] {
        let session = MemorySession::new();
        let browser = Browser::new();
        let redirect = client
            .authorize_redirect(&session, REDIRECT_URI)
            .await
            .unwrap();
        let (back, _) = browser.authorize(redirect.location(), user, true).await;
        let token = client
            .authorize_access_token(&session, &Callback::from_url(&back))
            .await
            .unwrap();
        let info = token.userinfo.clone().unwrap();
        assert_eq!(info.sub(), user);
        let sid = info
            .get("sid")
            .and_then(|sid| sid.as_str())
            .map(String::from);
        assert!(
            sid.is_some(),
            "backchannel_logout_session_required: the ID token has a sid"
        );
        client.remember_session(&token, key, DAY).await.unwrap();
        sessions.lock().unwrap().insert(key.into(), user.into());
        logins.push((session, browser, sid));
    }

    // Alice ends her session at the provider (RP-initiated logout, confirmed on its page).
    let (session, browser, sid) = &logins[0];
    let logout = client
        .logout_redirect(session, Some(AFTER_LOGOUT))
        .await
        .unwrap();
    let page = browser.get(logout.location()).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let xsrf = hidden_field(&page, "xsrf")
        .unwrap_or_else(|| panic!("no xsrf field in the logout page:\n{page}"));
    let confirm = Url::parse(&op.url("/session/end/confirm")).unwrap();
    let response = browser
        .post(&confirm, &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    let returned = location(&confirm, response).await;
    assert_eq!(returned.as_str().split('?').next(), Some(AFTER_LOGOUT));

    // The provider delivers the logout token before it answers the confirmation.
    let events = received.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{}", op.log.text());
    let event = &events[0];
    assert_eq!(event.provider, "op_bcl");
    assert_eq!(event.iss, op.issuer());
    assert_eq!(event.sub.as_deref(), Some("alice"));
    assert_eq!(&event.sid, sid);
    assert_eq!(event.sessions, ["app-session-alice"]);
    // Alice's application session is over; Bob's is not.
    assert_eq!(
        *sessions.lock().unwrap(),
        HashMap::from([("app-session-bob".to_string(), "bob".to_string())])
    );
    assert!(
        !op.log.text().contains("backchannel.error"),
        "the provider saw our answer as a failure:\n{}",
        op.log.text()
    );
    server.abort();
}
