//! A bounded, in-process memory of identifiers already accepted (a logout token's `jti`),
//! each until a time after which it could not be accepted again anyway.
//!
//! Bounded in time: an entry is kept only until its own deadline (the token's `exp` and the
//! leeway), and expired entries are dropped as new ones arrive. Bounded in size: at
//! [`CAPACITY`] entries, the one whose deadline comes first makes room. Only tokens that
//! passed every other check (the provider's signature among them) are remembered, so filling
//! it takes tokens the provider signed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// The most identifiers remembered at once.
pub(crate) const CAPACITY: usize = 10_000;

#[derive(Default)]
struct Entries {
    /// Each identifier's deadline (seconds since the epoch).
    until: HashMap<String, u64>,
    /// The same entries ordered by deadline, to drop the expired ones and make room.
    by_deadline: BTreeSet<(u64, String)>,
}

/// Identifiers seen, each until its deadline.
#[derive(Default)]
pub(crate) struct ReplayCache {
    entries: Mutex<Entries>,
}

impl ReplayCache {
    /// Remembers `id` until `until`, at `now` (seconds since the epoch): `true` when it is new
    /// (or its previous entry expired), `false` when it was seen and has not expired (a replay).
    pub(crate) fn first_use(&self, id: &str, until: u64, now: u64) -> bool {
        // A panic cannot leave the maps half-updated in a way that breaks the next caller:
        // at worst one entry is in one map only, and is then dropped or replaced.
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Entries {
            until: map,
            by_deadline,
        } = &mut *entries;
        while let Some((deadline, expired)) = by_deadline.first().cloned() {
            if deadline >= now {
                break;
            }
            by_deadline.pop_first();
            map.remove(&expired);
        }
        if map.get(id).is_some_and(|&deadline| deadline >= now) {
            return false;
        }
        while map.len() >= CAPACITY {
            let Some((_, first)) = by_deadline.pop_first() else {
                break;
            };
            map.remove(&first);
        }
        if let Some(previous) = map.insert(id.to_string(), until) {
            by_deadline.remove(&(previous, id.to_string()));
        }
        by_deadline.insert((until, id.to_string()));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_is_refused_until_its_deadline() {
        let cache = ReplayCache::default();
        assert!(cache.first_use("a", 100, 10));
        assert!(!cache.first_use("a", 100, 50));
        assert!(!cache.first_use("a", 100, 100));
        assert!(cache.first_use("b", 100, 50));
        // Past its deadline, it is forgotten (the token it came with has expired too).
        assert!(cache.first_use("a", 300, 101));
        assert!(!cache.first_use("a", 300, 200));
    }

    #[test]
    fn expired_entries_are_dropped_and_the_size_is_bounded() {
        let cache = ReplayCache::default();
        for i in 0..CAPACITY {
            assert!(cache.first_use(&format!("id{i}"), 1_000 + i as u64, 0));
        }
        assert_eq!(cache.len(), CAPACITY);
        // Full: the entry closest to its deadline makes room; the others are still refused.
        assert!(cache.first_use("new", 50_000, 0));
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.first_use("id0", 1_000, 0), "evicted first");
        assert!(!cache.first_use(&format!("id{}", CAPACITY - 1), 0, 0));
        // Once their deadlines pass, entries go on the next use.
        assert!(cache.first_use("later", 30_000, 20_000));
        assert_eq!(cache.len(), 2, "only `new` and `later` are left");
    }
}
