//! What every token-store backend must do, as one check: for the library's backends and
//! anyone's own.

use oauth_clients::store::{Record, TokenBackend};
use std::time::Duration;

/// Runs a token-store backend through the behaviour the library relies on, and panics (this is
/// a test) saying what went wrong: compare-and-swap (a first write, a stale writer losing),
/// leases (one holder at a time, taken over once expired, released only by their holder),
/// purging expired records, and deletes by user and provider. It uses the user keys
/// `backend-check-user` and `backend-check-other` of `provider`, and removes them first.
///
/// ```no_run
/// # async fn demo() {
/// oauth_clients_testing::check_token_backend(&oauth_clients::MemoryStore::new(), "github").await;
/// # }
/// ```
pub async fn check_token_backend(store: &dyn TokenBackend, provider: &str) {
    let record = |version: u64, expires_at| Record {
        version,
        sealed: vec![version as u8; 40],
        expires_at,
    };
    let user = "backend-check-user";
    let other = "backend-check-other";
    store.delete_user(user).await.unwrap();
    store.delete_user(other).await.unwrap();
    assert_eq!(store.load(provider, user).await.unwrap(), None);

    // The first write expects no record; a second first write loses.
    assert!(store
        .swap(provider, user, None, &record(1, None))
        .await
        .unwrap());
    assert!(!store
        .swap(provider, user, None, &record(1, None))
        .await
        .unwrap());
    assert_eq!(
        store.load(provider, user).await.unwrap(),
        Some(record(1, None))
    );
    // A stale writer loses; the current one wins.
    assert!(store
        .swap(provider, user, Some(1), &record(2, Some(5)))
        .await
        .unwrap());
    assert!(!store
        .swap(provider, user, Some(1), &record(3, None))
        .await
        .unwrap());
    assert_eq!(
        store.load(provider, user).await.unwrap(),
        Some(record(2, Some(5)))
    );

    // Leases: one holder at a time, taken over once expired, released only by its holder.
    assert!(!store.lease_held(provider, user).await.unwrap());
    let ttl = Duration::from_millis(600);
    assert!(store.acquire_lease(provider, user, "a", ttl).await.unwrap());
    assert!(store.lease_held(provider, user).await.unwrap());
    assert!(!store.acquire_lease(provider, user, "b", ttl).await.unwrap());
    store.release_lease(provider, user, "b").await.unwrap();
    assert!(store.lease_held(provider, user).await.unwrap());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!store.lease_held(provider, user).await.unwrap());
    assert!(store.acquire_lease(provider, user, "b", ttl).await.unwrap());
    store.release_lease(provider, user, "b").await.unwrap();
    assert!(!store.lease_held(provider, user).await.unwrap());

    // Purging: only records past their expiry.
    assert!(store
        .swap(provider, other, None, &record(1, Some(100)))
        .await
        .unwrap());
    assert_eq!(store.purge_expired(6).await.unwrap(), 1);
    assert_eq!(store.load(provider, user).await.unwrap(), None);
    assert!(store.load(provider, other).await.unwrap().is_some());

    // Deletes: one provider's record, then every record of a user.
    store.delete(provider, other).await.unwrap();
    assert_eq!(store.load(provider, other).await.unwrap(), None);
    assert!(store
        .swap(provider, user, None, &record(1, None))
        .await
        .unwrap());
    assert!(store
        .swap("backend_check_provider", user, None, &record(1, None))
        .await
        .unwrap());
    assert_eq!(store.delete_user(user).await.unwrap(), 2);
    assert_eq!(
        store.load("backend_check_provider", user).await.unwrap(),
        None
    );
}
