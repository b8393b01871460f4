//! The token store: tokens kept per user, sealed at rest, and refreshed once across several
//! registries sharing one backend, as several processes share one database.

use oauth_clients::store::{Record, TokenBackend};
use oauth_clients::{
    oauth_clients, Error, LoginRequired, MemorySession, MemoryStore, Registry, Token,
};
use oauth_clients_testing::{check_token_backend, TestProvider};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

oauth_clients! {
    forge {
        authorize_url: "https://forge.com/login/oauth/authorize",
        access_token_url: "https://forge.com/login/oauth/access_token",
        api_base_url: "https://api.forge.com/",
        scope: "user:email",
    },
    legacy {
        request_token_url: "http://127.0.0.1/x",
        authorize_url: "http://127.0.0.1/x",
        access_token_url: "http://127.0.0.1/x",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/auth/callback";
const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW_KEY: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// One "process": a registry of its own (its own caches, locks and single-flight map) on the
/// shared backend.
fn process(
    provider: &TestProvider,
    store: &Arc<MemoryStore>,
    keys: &str,
    login_required: Option<Arc<Mutex<Vec<String>>>>,
) -> Registry<Providers> {
    let settings = provider.settings_for("forge");
    let settings = provider.add_oauth1_settings(settings, "legacy");
    let mut builder = Providers::builder()
        .settings(settings)
        .env_source(|_| None)
        .token_store(store.clone())
        .token_keys(keys)
        .refresh_lease(Duration::from_secs(2));
    if let Some(seen) = login_required {
        builder = builder.on_login_required(move |event: LoginRequired| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push(format!("{} {} {}", event.provider, event.user, event.error));
            }
        });
    }
    builder.build().unwrap()
}

async fn start() -> TestProvider {
    TestProvider::builder()
        .auto_approve("alice")
        .start()
        .await
        .unwrap()
}

/// Logs alice in with `registry` and keeps her token under `alice`.
async fn log_in_and_save(provider: &TestProvider, registry: &Registry<Providers>) -> Token {
    let forge = registry.forge();
    let token = provider
        .log_in(&forge, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    forge.save_token("alice", &token).await.unwrap();
    token
}

#[tokio::test]
async fn the_memory_store_behaves_as_a_backend_must() {
    check_token_backend(&MemoryStore::new(), "forge").await;
}

#[tokio::test]
async fn api_calls_for_a_user_use_and_refresh_the_stored_token() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let registry = process(&provider, &store, KEYS, None);
    let saved = log_in_and_save(&provider, &registry).await;
    let forge = registry.forge();

    let answer = forge.for_user("alice").get("user").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.new_token().is_none());
    assert_eq!(provider.count("token.refresh_token"), 0);

    // The access token expires: the next call refreshes it once and stores the new one.
    provider.configure(|b| b.access_token_ttl = Some(Duration::from_secs(3600)));
    let mut expired = saved.clone();
    expired.expires_at = Some(1);
    forge.save_token("alice", &expired).await.unwrap();
    let answer = forge.for_user("alice").get("user").await.unwrap();
    assert_eq!(answer.status(), 200);
    let refreshed = answer.new_token().unwrap().clone();
    assert_ne!(refreshed.refresh_token, saved.refresh_token);
    assert_eq!(provider.count("token.refresh_token"), 1);
    assert_eq!(forge.for_user("alice").token().await.unwrap(), refreshed);
    // The stored token is the newest: it works, and no other refresh happens.
    assert_eq!(
        forge.for_user("alice").get("user").await.unwrap().status(),
        200
    );
    assert_eq!(provider.count("token.refresh_token"), 1);

    assert_eq!(forge.load_token("alice").await.unwrap(), Some(refreshed));
    assert_eq!(forge.load_token("nobody").await.unwrap(), None);
    // Logout: gone, and a call says the user must log in.
    forge.delete_token("alice").await.unwrap();
    let error = forge.for_user("alice").get("user").await.unwrap_err();
    assert!(
        matches!(error, Error::NoStoredToken { provider: "forge" }),
        "{error:?}"
    );
    assert!(error.needs_login());
}

/// Three "processes" sharing one store, 300 calls at once with an expired token: one refresh
/// at the provider, every call succeeds, and the stored token is the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_in_several_processes_refresh_once() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let processes: Vec<_> = (0..3)
        .map(|_| process(&provider, &store, KEYS, None))
        .collect();
    let mut token = log_in_and_save(&provider, &processes[0]).await;
    token.expires_at = Some(1);
    processes[0]
        .forge()
        .save_token("alice", &token)
        .await
        .unwrap();

    let calls = (0..300).map(|i| {
        let registry = processes[i % 3].clone();
        async move {
            let forge = registry.forge();
            forge
                .for_user("alice")
                .get("user")
                .await
                .map(|r| r.status())
        }
    });
    let statuses = futures_join_all(calls).await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, Ok(s) if s.as_u16() == 200)),
        "{statuses:?}"
    );
    assert_eq!(provider.count("token.refresh_token"), 1);
    let stored = processes[2]
        .forge()
        .for_user("alice")
        .token()
        .await
        .unwrap();
    assert_ne!(stored.refresh_token, token.refresh_token);
    assert!(stored.expires_at.unwrap() > 1);
}

/// A process that took the lease and died before refreshing holds the others up for the
/// lease at most; then one of them refreshes.
#[tokio::test]
async fn a_lease_left_by_a_dead_process_delays_the_others_only_until_it_expires() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let registry = process(&provider, &store, KEYS, None);
    let mut token = log_in_and_save(&provider, &registry).await;
    token.expires_at = Some(1);
    registry.forge().save_token("alice", &token).await.unwrap();
    // The dead process's lease, as it left it.
    assert!(store
        .acquire_lease("forge", "alice", "dead-process", Duration::from_secs(1))
        .await
        .unwrap());
    let started = Instant::now();
    let answer = registry
        .forge()
        .for_user("alice")
        .get("user")
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(provider.count("token.refresh_token"), 1);
    assert!(!store.lease_held("forge", "alice").await.unwrap());
}

/// The provider refuses the stored refresh token: reported once, to one process's hook; the
/// record says so, and no process asks the provider again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_is_reported_once_and_not_retried() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let processes: Vec<_> = (0..3)
        .map(|_| process(&provider, &store, KEYS, Some(seen.clone())))
        .collect();
    let mut token = log_in_and_save(&provider, &processes[0]).await;
    // Spent by another process, which then died: the provider rotated it, so the stored one
    // is refused now.
    process(&provider, &store, KEYS, None)
        .forge()
        .refresh(&token)
        .await
        .unwrap();
    token.expires_at = Some(1);
    processes[0]
        .forge()
        .save_token("alice", &token)
        .await
        .unwrap();
    let refreshes = provider.count("token.refresh_token");

    let calls = (0..30).map(|i| {
        let registry = processes[i % 3].clone();
        async move {
            registry
                .forge()
                .for_user("alice")
                .get("user")
                .await
                .map(|r| r.status())
        }
    });
    for outcome in futures_join_all(calls).await {
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, Error::LoginRequired { provider: "forge" }),
            "{error:?}"
        );
        assert!(error.needs_login());
    }
    assert_eq!(provider.count("token.refresh_token"), refreshes + 1);
    let reports = seen.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].starts_with("forge alice "), "{reports:?}");
    assert!(reports[0].contains("invalid_grant"), "{reports:?}");
    // A new login replaces the mark.
    log_in_and_save(&provider, &processes[1]).await;
    assert_eq!(
        processes[2]
            .forge()
            .for_user("alice")
            .get("user")
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A record changed in the store, or copied into another user's row, fails authentication:
/// reported as tampered, never used, never replaced by a refresh.
#[tokio::test]
async fn a_tampered_or_copied_record_is_reported_and_left_alone() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let registry = process(&provider, &store, KEYS, None);
    let mut token = log_in_and_save(&provider, &registry).await;
    token.expires_at = Some(1);
    registry.forge().save_token("alice", &token).await.unwrap();
    let original = store.load("forge", "alice").await.unwrap().unwrap();
    // No token in clear in the store.
    let text = String::from_utf8_lossy(&original.sealed);
    assert!(
        !text.contains(&token.access_token)
            && !text.contains(token.refresh_token.as_deref().unwrap())
    );

    let mut changed = original.clone();
    let last = changed.sealed.len() - 1;
    changed.sealed[last] ^= 0x01;
    assert!(store
        .swap(
            "forge",
            "alice",
            Some(original.version),
            &Record {
                version: original.version,
                ..changed.clone()
            }
        )
        .await
        .unwrap());
    let error = registry
        .forge()
        .for_user("alice")
        .get("user")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TamperedToken { provider: "forge" }),
        "{error:?}"
    );
    assert_eq!(
        store.load("forge", "alice").await.unwrap().unwrap(),
        changed
    );
    assert_eq!(provider.count("token.refresh_token"), 0);

    // Alice's genuine record copied into bob's row.
    assert!(store.swap("forge", "bob", None, &original).await.unwrap());
    let error = registry.forge().for_user("bob").token().await.unwrap_err();
    assert!(matches!(error, Error::TamperedToken { .. }), "{error:?}");
}

/// Keys rotate: a new key first seals new records, the old one still opens old records; a
/// record under a key no longer configured is reported by its key id.
#[tokio::test]
async fn sealing_keys_rotate() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let old = process(&provider, &store, KEYS, None);
    log_in_and_save(&provider, &old).await;

    let only_new = process(&provider, &store, NEW_KEY, None);
    let error = only_new
        .forge()
        .for_user("alice")
        .token()
        .await
        .unwrap_err();
    match &error {
        Error::TokenStore { reason, .. } => assert!(reason.contains("key `k1`"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let rotated = process(&provider, &store, &format!("{NEW_KEY},{KEYS}"), None);
    let token = rotated.forge().for_user("alice").token().await.unwrap();
    rotated.forge().save_token("alice", &token).await.unwrap();
    // Written again under the new key: the registry with only the new key reads it now.
    assert_eq!(
        only_new.forge().for_user("alice").token().await.unwrap(),
        token
    );
}

#[tokio::test]
async fn a_shared_store_needs_keys_and_users_can_be_removed() {
    // A store that is not in-memory, without keys: the registry says what to set.
    struct Shared(MemoryStore);
    impl TokenBackend for Shared {
        fn load<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
        ) -> oauth_clients::store::StoreFuture<'a, Option<Record>> {
            self.0.load(p, u)
        }
        fn swap<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
            e: Option<u64>,
            r: &'a Record,
        ) -> oauth_clients::store::StoreFuture<'a, bool> {
            self.0.swap(p, u, e, r)
        }
        fn delete<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
        ) -> oauth_clients::store::StoreFuture<'a, ()> {
            self.0.delete(p, u)
        }
        fn delete_user<'a>(&'a self, u: &'a str) -> oauth_clients::store::StoreFuture<'a, u64> {
            self.0.delete_user(u)
        }
        fn purge_expired(&self, now: u64) -> oauth_clients::store::StoreFuture<'_, u64> {
            self.0.purge_expired(now)
        }
        fn acquire_lease<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
            h: &'a str,
            t: Duration,
        ) -> oauth_clients::store::StoreFuture<'a, bool> {
            self.0.acquire_lease(p, u, h, t)
        }
        fn release_lease<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
            h: &'a str,
        ) -> oauth_clients::store::StoreFuture<'a, ()> {
            self.0.release_lease(p, u, h)
        }
        fn lease_held<'a>(
            &'a self,
            p: &'a str,
            u: &'a str,
        ) -> oauth_clients::store::StoreFuture<'a, bool> {
            self.0.lease_held(p, u)
        }
    }
    let error = Providers::builder()
        .env_source(|_| None)
        .allow_unconfigured()
        .token_store(Shared(MemoryStore::new()))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("OAUTH_CLIENTS_TOKEN_KEYS"),
        "{error}"
    );
    // From the environment, they are found.
    let registry = Providers::builder()
        .env_source(|name| (name == "OAUTH_CLIENTS_TOKEN_KEYS").then(|| KEYS.to_string()))
        .allow_unconfigured()
        .token_store(Shared(MemoryStore::new()))
        .build();
    assert!(registry.is_ok());

    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let registry = process(&provider, &store, KEYS, None);
    let token = log_in_and_save(&provider, &registry).await;
    registry.forge().save_token("bob", &token).await.unwrap();
    assert_eq!(registry.delete_user("alice").await.unwrap(), 1);
    assert!(registry.forge().for_user("bob").token().await.is_ok());
    // A token that expired with no refresh token is of no more use: purged.
    let mut dead = token.clone();
    dead.refresh_token = None;
    dead.expires_at = Some(1);
    registry.forge().save_token("bob", &dead).await.unwrap();
    assert_eq!(registry.purge_expired_tokens().await.unwrap(), 1);
    assert!(store.load("forge", "bob").await.unwrap().is_none());
}

/// OAuth 1.0a tokens are stored too, and sign calls made for their user.
#[tokio::test]
async fn oauth1_tokens_are_stored_and_sign_calls_for_their_user() {
    let provider = start().await;
    let store = Arc::new(MemoryStore::new());
    let registry = process(&provider, &store, KEYS, None);
    let legacy = registry.legacy();
    let session = MemorySession::new();
    let redirect = legacy
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = provider
        .approve_oauth1(redirect.location(), "carol")
        .await
        .unwrap();
    let token = legacy
        .authorize_access_token(&session, &oauth_clients::Callback::from_url(&back))
        .await
        .unwrap();
    legacy.save_token("carol", &token).await.unwrap();
    let answer = legacy.for_user("carol").get("user").await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().unwrap();
    assert_eq!(body["user"], "carol");
    assert_eq!(provider.count("oauth1.api"), 1);
}

/// Runs every future as its own task (in parallel on a multi-threaded runtime); their
/// outputs, in any order.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for future in futures {
        tasks.spawn(future);
    }
    let mut outputs = Vec::new();
    while let Some(output) = tasks.join_next().await {
        outputs.push(output.expect("a task panicked"));
    }
    outputs
}
