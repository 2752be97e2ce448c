//! The key store (SPEC B5, B7, B10, B13): entries under namespaced storage
//! keys, TTL and per-scope bounds, and the fall-back to memory on any fault.
//!
//! The logic is generic over [`Backend`], a string map holding entries as
//! records ([`Entry::encode`]); the browser's localStorage is one backend
//! (see `web.rs`: the facade stores the records as the SPEC's JSON); the
//! tests' backends are plain maps with switchable faults, so everything here
//! is covered by plain `cargo test`.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::action::STORAGE_PREFIX;
use crate::entry::Entry;

/// A storage operation failed (missing storage, SecurityError, quota, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

/// A string map; every call may fail. Values under our prefix are records
/// ([`Entry::encode`]): a backend that stores another form converts, and
/// reads what is not an entry as `""` (or any text that is not a record).
pub trait Backend {
    /// The value under `k`.
    fn get(&self, k: &str) -> Result<Option<String>, Fault>;
    /// Stores `v` under `k`.
    fn set(&mut self, k: &str, v: &str) -> Result<(), Fault>;
    /// Removes `k`.
    fn remove(&mut self, k: &str) -> Result<(), Fault>;
    /// Every key (ours and others').
    fn keys(&self) -> Result<Vec<String>, Fault>;
}

/// A map from string keys, sorted by key: lookups by binary search, and the
/// keys sharing a prefix (one scope's entries) are one contiguous run. Small
/// in wasm (a B-tree costs ~10 KB) and fast at the sizes we hold (≤ maxEntries
/// per scope).
#[derive(Debug)]
pub struct SortedMap<V>(Vec<(String, V)>);

impl<V> Default for SortedMap<V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<V> SortedMap<V> {
    fn find(&self, k: &str) -> Result<usize, usize> {
        // (The binary search of `with_prefix`: one instance in the wasm.)
        let i = self.bound(0, k, false);
        match self.0.get(i) {
            Some((key, _)) if key == k => Ok(i),
            _ => Err(i),
        }
    }
    /// The value under `k`.
    pub fn get(&self, k: &str) -> Option<&V> {
        self.find(k).ok().and_then(|i| self.0.get(i)).map(|(_, v)| v)
    }
    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, k: &str, v: V) -> Option<V> {
        match self.find(k) {
            Ok(i) => self.0.get_mut(i).map(|slot| core::mem::replace(&mut slot.1, v)),
            Err(i) => {
                let item = (k.to_owned(), v);
                let len = self.0.len();
                if i <= len {
                    // `Vec::insert` without its panic path (and the message and
                    // formatting it keeps in the wasm): `i <= len` is checked.
                    self.0.reserve(1);
                    // SAFETY: room for one more; the tail moves up one slot, within capacity.
                    unsafe {
                        let p = self.0.as_mut_ptr().add(i);
                        core::ptr::copy(p, p.add(1), len - i);
                        core::ptr::write(p, item);
                        self.0.set_len(len + 1);
                    }
                }
                None
            }
        }
    }
    /// Removes `k`.
    pub fn remove(&mut self, k: &str) {
        let len = self.0.len();
        if let Some(i) = self.find(k).ok().filter(|i| *i < len) {
            // `Vec::remove` without its panic path (see `insert`).
            // SAFETY: `i < len`: the item is read out, the tail moved down one
            // slot, and the length shortened before the item is dropped.
            unsafe {
                let p = self.0.as_mut_ptr().add(i);
                let item = core::ptr::read(p);
                core::ptr::copy(p.add(1), p, len - i - 1);
                self.0.set_len(len - 1);
                drop(item);
            }
        }
    }
    /// Removes everything.
    pub fn clear(&mut self) {
        self.0.clear();
    }
    /// The entries whose key starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> &[(String, V)] {
        let start = self.bound(0, prefix, false);
        let end = self.bound(start, prefix, true);
        self.0.get(start..end).unwrap_or(&[])
    }
    /// The first index from `lo` whose key is not below `prefix` (`run`:
    /// does not start with it), by binary search: from `lo`, the keys below
    /// it (starting with it) come first. (One loop for both ends of a prefix's run,
    /// not two instances of `partition_point`.)
    fn bound(&self, mut lo: usize, prefix: &str, run: bool) -> usize {
        let mut hi = self.0.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let holds = match self.0.get(mid) {
                Some((k, _)) if run => k.starts_with(prefix),
                Some((k, _)) => k.as_str() < prefix,
                None => false,
            };
            if holds {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// What the store knows of one entry: its times, so bounds and expiry are
/// enforced without reading storage back, and its record. An empty record is
/// a tombstone: storage refused to remove the entry, and its copy there is
/// hidden (no record we write is ever empty).
#[derive(Debug, Clone, Default)]
pub struct Slot {
    created_at: f64,
    expires_at: f64,
    text: String,
    /// The memory is the truth for this key: written after a fault (or
    /// without storage), or a tombstone. Otherwise the record mirrors
    /// storage, which answers while it can be read (another tab may have
    /// changed or removed the entry since), and the mirror when it cannot.
    own: bool,
}

impl Slot {
    fn live(&self) -> bool {
        !self.text.is_empty()
    }
}

/// Entries of every scope: in storage (`primary`) and in memory.
pub struct Store<B: Backend> {
    primary: Option<B>,
    /// Every entry this page read or wrote, by storage key: the index bounds
    /// and expiry are enforced with, the mirror of `primary` a later fault
    /// must not lose, and the whole store without `primary` (storage
    /// "memory").
    memory: SortedMap<Slot>,
    /// A write threw (see `fall_back`): new writes go to memory.
    writes_to_memory: bool,
    /// getItem calls that threw in a row; from `READ_FAULTS_MAX` on, storage
    /// is not read again (a throwing call on every fetch), and the memory
    /// answers.
    read_faults: u8,
    /// removeItem threw: not asked again for expiry or bounds (see
    /// `drop_entry`); a removal storage refuses leaves a tombstone.
    unremovable: bool,
    /// Scopes (storage-key prefixes) whose keys `clear()` could not list in
    /// storage: what it may have missed there is not read back.
    unlisted: Vec<String>,
    fallback: Option<String>,
    fallback_reported: bool,
}

impl<B: Backend> Store<B> {
    /// Opens the store over `primary` (`None`: memory only) and prunes what
    /// expired: every entry under our prefix, of every scope.
    pub fn open(primary: Option<B>, now: f64) -> Self {
        let mut s = Store {
            primary,
            memory: SortedMap::default(),
            writes_to_memory: false,
            read_faults: 0,
            unremovable: false,
            unlisted: Vec::new(),
            fallback: None,
            fallback_reported: false,
        };
        s.scan(now);
        s
    }

    /// Why the store fell back to memory, once: the first call after the
    /// fault returns it, later calls return `None`.
    /// (Borrowed, not a copy: the caller only passes it on.)
    pub fn take_fallback(&mut self) -> Option<&str> {
        if self.fallback_reported {
            return None;
        }
        let why = self.fallback.as_deref()?;
        self.fallback_reported = true;
        Some(why)
    }

    /// Whether entries now live in memory only because of a fault.
    pub fn fell_back(&self) -> bool {
        self.fallback.is_some()
    }

    /// A storage fault (SPEC B10): full, throwing, or holding a corrupt or
    /// foreign entry; the first one is reported. What failed falls back to
    /// memory, which keeps a copy of every record this page read or wrote:
    /// a read that throws (or finds a corrupt entry) is answered by that copy,
    /// and a write that throws sends every later write to memory
    /// (`writes_to_memory`). What still works keeps working: reads and
    /// removals still reach storage, and so do writes after a read fault — a
    /// pending key must outlive a reload (SPEC B5), and one foreign entry
    /// must not turn write-ahead off for good.
    fn fall_back(&mut self, why: Fault) {
        if self.fallback.is_none() {
            self.fallback = Some(why.0);
        }
    }

    /// The record under `k`, and whether it was read from storage: the
    /// memory's own record, else storage's (the truth: other tabs write there
    /// too), else the mirror when storage cannot be read.
    fn get_raw(&mut self, k: &str) -> Option<(String, bool)> {
        // An own record (or tombstone) answers below, with the mirror's code.
        let own = self.memory.get(k).is_some_and(|s| s.own);
        if !own && !self.unlisted(k) {
            match self.read_primary(k) {
                Some(Some(v)) => return Some((v, true)),
                Some(None) => {
                    // Gone from storage (another tab released it): so is the copy.
                    self.memory.remove(k);
                    return None;
                }
                None => {} // no storage, or it failed: the mirror answers
            }
        }
        self.memory.get(k).filter(|s| s.live()).map(|s| (s.text.clone(), false))
    }

    /// Whether `k` is in a scope [`Store::clear_prefix`] could not list (a
    /// plain loop, not `iter().any`).
    fn unlisted(&self, k: &str) -> bool {
        for p in &self.unlisted {
            if k.starts_with(p.as_str()) {
                return true;
            }
        }
        false
    }

    /// Storage's value under `k`; `None` without storage, or when the read
    /// fails (the store then falls back to memory).
    fn read_primary(&mut self, k: &str) -> Option<Option<String>> {
        if self.read_faults >= READ_FAULTS_MAX {
            return None;
        }
        match self.primary.as_ref()?.get(k) {
            Ok(v) => {
                self.read_faults = 0;
                Some(v)
            }
            Err(f) => {
                self.fall_back(f);
                self.read_faults += 1;
                None
            }
        }
    }

    /// The keys in storage (ours and others'); `None` when listing fails.
    fn stored_keys(&mut self) -> Option<Vec<String>> {
        match self.primary.as_ref().map(|p| p.keys()) {
            Some(Ok(keys)) => Some(keys),
            Some(Err(f)) => {
                self.fall_back(f);
                None
            }
            None => Some(Vec::new()),
        }
    }

    /// Reads every entry under our prefix in storage, at start-up: prunes
    /// expired ones; the others are in memory once read. A corrupt or foreign
    /// one (another script writes into our namespace) makes the store fall
    /// back, but the valid ones around it are still read: a pending key
    /// written before the reload is sent again (SPEC B5, B10).
    fn scan(&mut self, now: f64) {
        let Some(keys) = self.stored_keys() else { return };
        for k in &keys {
            if k.starts_with(STORAGE_PREFIX) && self.read(k).is_some_and(|e| e.expired(now)) {
                self.drop_entry(k);
            }
        }
    }

    /// Reads and parses `k`, keeping what storage answered in memory; a
    /// corrupt value triggers the fall-back.
    fn read(&mut self, k: &str) -> Option<Entry> {
        let (text, stored) = self.get_raw(k)?;
        match Entry::decode(&text) {
            Some(e) => {
                if stored {
                    self.memory.insert(k, Slot { created_at: e.created_at, expires_at: e.expires_at, text, own: false });
                }
                Some(e)
            }
            None if self.primary.is_some() => {
                self.fall_back(Fault(crate::cat(&["corrupt or foreign entry under ", k])));
                None
            }
            None => None,
        }
    }

    /// The live entry under `k`; an expired one is removed and not returned.
    pub fn load(&mut self, k: &str, now: f64) -> Option<Entry> {
        let e = self.read(k)?;
        if !e.expired(now) {
            return Some(e);
        }
        self.drop_entry(k);
        // With this page's copy gone, storage may hold another tab's newer entry.
        self.read(k).filter(|e| !e.expired(now))
    }

    /// Writes `e` under `k` (write-ahead: callers send only after this
    /// returns) to storage until a fault, and always to memory; then keeps at
    /// most `max_entries` in the scope of `k`, dropping expired entries
    /// first, then the oldest.
    pub fn save(&mut self, k: &str, e: &Entry, max_entries: usize, now: f64) {
        let text = e.encode();
        let mut own = true;
        if !self.writes_to_memory {
            match self.primary.as_mut().map(|p| p.set(k, &text)) {
                Some(Ok(())) => own = false,
                Some(Err(f)) => {
                    self.fall_back(f); // full (QuotaExceededError), or throwing
                    self.writes_to_memory = true;
                }
                None => {}
            }
        }
        self.memory.insert(k, Slot { created_at: e.created_at, expires_at: e.expires_at, text, own });
        // (On every save: an entry read from storage, another tab's, may be
        // in memory yet not have been counted when it was written.)
        self.enforce_bounds(k, max_entries, now);
    }

    fn enforce_bounds(&mut self, k: &str, max_entries: usize, now: f64) {
        let Some(scope) = scope_prefix_of(k) else { return };
        if self.memory.with_prefix(scope).len() <= max_entries {
            return; // (tombstones counted too: the exact count comes below)
        }
        // Over the bound: expired entries go first (lazy pruning), then the oldest.
        // (Times are compared before keys: one pass over a full scope costs
        // a number comparison per entry, not a string comparison.)
        let mut expired: Vec<String> = Vec::new();
        for (key, s) in self.memory.with_prefix(scope) {
            if now >= s.expires_at && s.live() && key != k {
                expired.push(key.clone());
            }
        }
        for key in &expired {
            if !self.refreshed(key) {
                self.drop_entry(key);
            }
        }
        while self.count(scope) > max_entries {
            let mut oldest: Option<(&String, f64)> = None;
            for (key, s) in self.memory.with_prefix(scope) {
                if oldest.is_none_or(|(_, c)| s.created_at.total_cmp(&c).is_lt()) && s.live() && key != k {
                    oldest = Some((key, s.created_at));
                }
            }
            match oldest.map(|(key, _)| key.clone()) {
                Some(old) if self.refreshed(&old) => {}
                Some(old) => self.drop_entry(&old),
                None => break,
            }
        }
    }

    /// Removes the entry under `k` (`release`, `clear()`, a final 4xx): from
    /// storage (even after a fault, and even if it refused a removal before:
    /// a key this page dropped must not come back after a reload) and from
    /// memory.
    pub fn remove(&mut self, k: &str) {
        if let Some(Err(f)) = self.primary.as_mut().map(|p| p.remove(k)) {
            self.fall_back(f);
            self.unremovable = true;
            // Storage refused: hide its copy from this page.
            self.memory.insert(k, Slot { own: true, ..Slot::default() });
        } else {
            self.unremovable = false; // removals work (again)
            self.memory.remove(k);
        }
    }

    /// Whether `k` mirrors an entry another tab has since written anew in
    /// storage (its times were stale: it may be that tab's live pending key,
    /// not one to evict); the mirror is refreshed by the read.
    fn refreshed(&mut self, k: &str) -> bool {
        let Some(created_at) = self.memory.get(k).filter(|s| !s.own).map(|s| s.created_at) else { return false };
        self.read(k).is_some_and(|e| e.created_at != created_at)
    }

    /// Removes `k` for expiry or bounds. Storage that refused a removal is
    /// not asked again here (a throwing call on every fetch); what it keeps
    /// of a mirrored entry is read back like any other. A key this page
    /// rewrote in memory only is checked against storage first: another
    /// tab's newer entry there stays (it is the one read from now on), and
    /// this page's older copy that cannot be removed is hidden behind a
    /// tombstone.
    fn drop_entry(&mut self, k: &str) {
        let own = self.memory.get(k).filter(|s| s.own).map(|s| s.created_at);
        // What storage holds under an own key: `None` when it cannot be told.
        let stored = if own.is_some() { self.read_primary(k) } else { None };
        if let Some(mine) = own {
            let gone_or_newer = match &stored {
                Some(None) => true,
                Some(Some(text)) => Entry::decode(text).is_some_and(|e| e.created_at > mine),
                None => false,
            };
            if gone_or_newer {
                self.memory.remove(k);
                return;
            }
        }
        let mut kept = self.unremovable;
        if !kept {
            if let Some(Err(f)) = self.primary.as_mut().map(|p| p.remove(k)) {
                self.fall_back(f);
                self.unremovable = true;
                kept = true;
            }
        }
        if own.is_none() || !kept || self.primary.is_none() || self.read_faults >= READ_FAULTS_MAX {
            self.memory.remove(k); // nothing left that this page would read
        } else if stored.is_some() {
            // This page's older copy stays in storage: hidden.
            self.memory.insert(k, Slot { own: true, ..Slot::default() });
        }
        // Else storage's copy could not be read this time: the slot stays, and
        // the next expiry or eviction of it decides.
    }

    /// Removes every entry whose storage key starts with `prefix` (one scope),
    /// in storage — including ones other tabs wrote since start-up — and in
    /// memory. Values are never read: a storage whose reads fail may still
    /// accept removals (SPEC B13).
    pub fn clear_prefix(&mut self, prefix: &str) {
        let stored = match self.stored_keys() {
            Some(keys) => keys,
            None => {
                // What storage holds of the scope cannot be found: never read it.
                if !self.unlisted(prefix) {
                    self.unlisted.push(prefix.to_owned());
                }
                Vec::new()
            }
        };
        // The scope's keys in memory, as they are before any removal.
        let mut mine: Vec<String> = Vec::new();
        for (k, _) in self.memory.with_prefix(prefix) {
            mine.push(k.clone());
        }
        // A key in both lists is removed twice: the second time is a no-op.
        // (No merge of the two lists: that was quadratic in the scope's size.)
        for k in &stored {
            if k.starts_with(prefix) {
                self.remove(k);
            }
        }
        for k in &mine {
            self.remove(k);
        }
    }

    /// Number of entries of the scope with storage-key prefix `prefix` (the
    /// bound the fuzzer and the tests check).
    pub fn count(&self, prefix: &str) -> usize {
        // A plain loop, not filter/count (their iterator code in the wasm).
        let mut n = 0;
        for (_, s) in self.memory.with_prefix(prefix) {
            if s.live() {
                n += 1;
            }
        }
        n
    }
}

/// getItem calls that may throw in a row before storage is no longer read.
const READ_FAULTS_MAX: u8 = 3;

/// The `oncefetch:1:<tag>:` part of one of our storage keys.
fn scope_prefix_of(k: &str) -> Option<&str> {
    k.get(..STORAGE_PREFIX.len() + 9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{identify, scope_prefix, storage_key};
    use crate::entry::State;

    /// A plain string map.
    #[derive(Default)]
    struct Map(SortedMap<String>);

    impl Backend for Map {
        fn get(&self, k: &str) -> Result<Option<String>, Fault> {
            Ok(self.0.get(k).cloned())
        }
        fn set(&mut self, k: &str, v: &str) -> Result<(), Fault> {
            self.0.insert(k, v.to_owned());
            Ok(())
        }
        fn remove(&mut self, k: &str) -> Result<(), Fault> {
            self.0.remove(k);
            Ok(())
        }
        fn keys(&self) -> Result<Vec<String>, Fault> {
            Ok(self.0.0.iter().map(|(k, _)| k.clone()).collect())
        }
    }

    /// The tests' localStorage: faults the test switches on (through [`ls`]
    /// once the store owns it), and the calls made. `map` is the storage
    /// itself: what another tab writes or removes there bypasses the faults.
    #[derive(Default)]
    struct Flaky {
        map: Map,
        /// getItem and key(i) throw.
        fail_get: bool,
        /// getItem alone throws.
        fail_read: bool,
        /// key(i) alone throws.
        fail_keys: bool,
        fail_set: bool,
        fail_remove: bool,
        /// The next this-many getItem calls throw (a transient fault).
        get_throws: std::cell::Cell<usize>,
        /// The next this-many removeItem calls throw.
        remove_throws: usize,
        /// getItem and removeItem calls made.
        gets: std::cell::Cell<usize>,
        removes: usize,
    }
    impl Backend for Flaky {
        fn get(&self, k: &str) -> Result<Option<String>, Fault> {
            self.gets.set(self.gets.get() + 1);
            let transient = self.get_throws.get() > 0;
            if transient {
                self.get_throws.set(self.get_throws.get() - 1);
            }
            if self.fail_get || self.fail_read || transient { Err(Fault("SecurityError".into())) } else { self.map.get(k) }
        }
        fn set(&mut self, k: &str, v: &str) -> Result<(), Fault> {
            if self.fail_set { Err(Fault("QuotaExceededError".into())) } else { self.map.set(k, v) }
        }
        fn remove(&mut self, k: &str) -> Result<(), Fault> {
            self.removes += 1;
            let transient = self.remove_throws > 0;
            if transient {
                self.remove_throws -= 1;
            }
            if self.fail_remove || transient { Err(Fault("refused".into())) } else { self.map.remove(k) }
        }
        fn keys(&self) -> Result<Vec<String>, Fault> {
            if self.fail_get || self.fail_keys { Err(Fault("SecurityError".into())) } else { self.map.keys() }
        }
    }
    impl Flaky {
        /// Another tab (or an earlier page) writes `e` under `k`.
        fn write(&mut self, k: &str, e: &Entry) {
            let _ = self.map.set(k, &e.encode());
        }
        fn has(&self, k: &str) -> bool {
            self.map.get(k).ok().flatten().is_some()
        }
        /// SecurityError on every call.
        fn throw_everything(&mut self) {
            (self.fail_get, self.fail_set, self.fail_remove) = (true, true, true);
        }
    }

    /// The store's storage.
    fn ls(s: &mut Store<Flaky>) -> &mut Flaky {
        s.primary.as_mut().expect("a store over storage")
    }

    /// What `Engine::settle` does on a 2xx.
    fn settle(s: &mut Store<Flaky>, k: &str, key: &str, settle_ms: f64, max: usize, now: f64) {
        if let Some(mut e) = s.load(k, now).filter(|e| e.key == key) {
            e.state = State::Settled;
            e.expires_at = e.expires_at.min(now + settle_ms);
            s.save(k, &e, max, now);
        }
    }

    fn sk(scope: &str, action: &str) -> String {
        storage_key(&identify(scope, "POST", "u", Some(action), b"")).unwrap_or_default()
    }

    fn entry(key: &str, created: f64, ttl: f64) -> Entry {
        Entry { key: key.into(), fingerprint: String::new(), created_at: created, expires_at: created + ttl, state: State::Pending }
    }

    #[test]
    fn b5_save_then_load() {
        let mut s: Store<Flaky> = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        assert_eq!(s.load(&sk("a", "x"), 1.0).map(|e| e.key), Some("k1".into()));
        assert!(!s.fell_back());
    }

    #[test]
    fn b7_expired_entries_are_pruned_at_open_and_lazily() {
        let mut b = Flaky::default();
        let _ = b.set(&sk("a", "old"), &entry("k1", 0.0, 10.0).encode());
        let _ = b.set(&sk("a", "new"), &entry("k2", 0.0, 1000.0).encode());
        let _ = b.set("unrelated", "kept");
        let mut s = Store::open(Some(b), 50.0);
        assert_eq!(s.count(&scope_prefix("a")), 1);
        assert_eq!(s.primary.as_ref().and_then(|p| p.get(&sk("a", "old")).ok().flatten()), None);
        assert_eq!(s.primary.as_ref().and_then(|p| p.get("unrelated").ok().flatten()), Some("kept".into()));
        assert_eq!(s.load(&sk("a", "new"), 2000.0), None); // lazily expired
        assert_eq!(s.count(&scope_prefix("a")), 0);
    }

    #[test]
    fn b7_at_most_max_entries_per_scope_oldest_first() {
        let mut s: Store<Flaky> = Store::open(Some(Flaky::default()), 0.0);
        for i in 0..10 {
            s.save(&sk("a", &format!("x{i}")), &entry(&format!("k{i}"), f64::from(i), 1e9), 3, 0.0);
            s.save(&sk("b", &format!("x{i}")), &entry(&format!("k{i}"), f64::from(i), 1e9), 100, 0.0);
        }
        assert_eq!(s.count(&scope_prefix("a")), 3);
        assert_eq!(s.count(&scope_prefix("b")), 10);
        assert!(s.load(&sk("a", "x9"), 0.0).is_some());
        assert!(s.load(&sk("a", "x6"), 0.0).is_none());
        assert_eq!(s.primary.as_ref().and_then(|p| p.keys().ok()).map(|k| k.len()), Some(13));
    }

    #[test]
    fn b7_over_the_bound_expired_entries_go_before_live_ones() {
        let mut s: Store<Flaky> = Store::open(Some(Flaky::default()), 0.0);
        // Oldest first but long-lived; then two short-lived ones.
        s.save(&sk("a", "old-live"), &entry("k0", 0.0, 1e9), 3, 0.0);
        s.save(&sk("a", "short1"), &entry("k1", 1.0, 10.0), 3, 1.0);
        s.save(&sk("a", "short2"), &entry("k2", 2.0, 10.0), 3, 2.0);
        // At t=100 both short ones have expired: adding a fourth prunes them, not the oldest.
        s.save(&sk("a", "new"), &entry("k3", 100.0, 1e9), 3, 100.0);
        assert_eq!(s.count(&scope_prefix("a")), 2);
        assert!(s.load(&sk("a", "old-live"), 100.0).is_some());
        assert!(s.load(&sk("a", "new"), 100.0).is_some());
    }

    #[test]
    fn sorted_map_prefix_runs() {
        let mut m: SortedMap<u32> = SortedMap::default();
        for (i, k) in ["b:2", "a:1", "b:1", "c:1", "b:3"].iter().enumerate() {
            assert_eq!(m.insert(k, i as u32), None);
        }
        assert_eq!(m.insert("b:1", 9), Some(2));
        assert_eq!(m.get("b:1"), Some(&9));
        let keys: Vec<&str> = m.with_prefix("b:").iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b:1", "b:2", "b:3"]);
        assert!(m.with_prefix("d:").is_empty());
        m.remove("b:2");
        assert_eq!(m.with_prefix("b:").len(), 2);
    }

    /// `insert` and `remove` move the map's items by hand (no `Vec` panic
    /// path): checked against a `BTreeMap` over a long pseudo-random run,
    /// with values that own memory (a slot dropped twice aborts the test;
    /// a leak shows only under a leak checker, e.g. the fuzzer's sanitizer).
    #[test]
    fn sorted_map_matches_a_btree_map() {
        use std::collections::BTreeMap;
        let mut m: SortedMap<String> = SortedMap::default();
        let mut model: BTreeMap<String, String> = BTreeMap::new();
        let mut x: u32 = 1;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let k = format!("{}:{}", ["a", "ab", "b"][(x % 3) as usize], (x >> 8) % 64);
            if x % 5 < 3 {
                let v = format!("v{step}");
                assert_eq!(m.insert(&k, v.clone()), model.insert(k.clone(), v));
            } else {
                m.remove(&k);
                model.remove(&k);
            }
            assert_eq!(m.get(&k), model.get(&k));
            for p in ["a", "ab", "b", "c", ""] {
                let got: Vec<&str> = m.with_prefix(p).iter().map(|(k, _)| k.as_str()).collect();
                let want: Vec<&str> = model.keys().filter(|k| k.starts_with(p)).map(String::as_str).collect();
                assert_eq!(got, want, "prefix {p:?} at step {step}");
            }
        }
    }

    #[test]
    fn b10_quota_on_write_falls_back_and_loses_nothing() {
        let mut s = Store::open(Some(Flaky { fail_set: true, ..Flaky::default() }), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        assert!(s.fell_back());
        assert_eq!(s.load(&sk("a", "x"), 0.0).map(|e| e.key), Some("k1".into()));
        assert_eq!(s.take_fallback(), Some("QuotaExceededError"));
        assert_eq!(s.take_fallback(), None); // reported once
    }

    #[test]
    fn b10_after_a_quota_fault_keys_already_stored_stay_readable() {
        let mut s = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "pay:1"), &entry("k1", 0.0, 100.0), 10, 0.0);
        if let Some(p) = s.primary.as_mut() {
            p.fail_set = true;
        }
        s.save(&sk("a", "other"), &entry("k2", 0.0, 100.0), 10, 0.0);
        assert_eq!(s.take_fallback(), Some("QuotaExceededError"));
        assert_eq!(s.load(&sk("a", "pay:1"), 1.0).map(|e| e.key), Some("k1".into()), "the pending key is not lost");
        assert_eq!(s.load(&sk("a", "other"), 1.0).map(|e| e.key), Some("k2".into()));
        // A newer write (in memory) wins over the stored one.
        s.save(&sk("a", "pay:1"), &entry("k3", 0.0, 100.0), 10, 0.0);
        assert_eq!(s.load(&sk("a", "pay:1"), 1.0).map(|e| e.key), Some("k3".into()));
        s.remove(&sk("a", "pay:1"));
        assert_eq!(s.load(&sk("a", "pay:1"), 1.0), None, "removed from both");
        s.clear_prefix(&scope_prefix("a"));
        assert_eq!(s.load(&sk("a", "other"), 1.0), None);
        assert_eq!(s.count(&scope_prefix("a")), 0);
    }

    #[test]
    fn b13_a_removal_storage_refuses_after_a_quota_fault_still_hides_the_key() {
        let mut s = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        if let Some(p) = s.primary.as_mut() {
            p.fail_set = true;
            p.fail_remove = true;
        }
        s.save(&sk("a", "y"), &entry("k2", 0.0, 100.0), 10, 0.0); // meets the quota fault
        s.clear_prefix(&scope_prefix("a"));
        assert_eq!(s.load(&sk("a", "x"), 0.0), None, "cleared, although storage kept its copy");
        assert_eq!(s.load(&sk("a", "y"), 0.0), None);
        s.save(&sk("a", "x"), &entry("k3", 0.0, 100.0), 10, 0.0);
        assert_eq!(s.load(&sk("a", "x"), 0.0).map(|e| e.key), Some("k3".into()), "a new write shows again");
    }

    #[test]
    fn b10_storage_that_starts_throwing_forgets_nothing_this_page_read_or_wrote() {
        let mut b = Flaky::default();
        let _ = b.set(&sk("a", "old"), &entry("k0", 0.0, 100.0).encode()); // from an earlier page
        let mut s = Store::open(Some(b), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        if let Some(p) = s.primary.as_mut() {
            p.fail_get = true; // getItem and key() throw from now on
        }
        assert_eq!(s.load(&sk("a", "x"), 1.0).map(|e| e.key), Some("k1".into()), "written before the fault");
        assert!(s.fell_back());
        assert_eq!(s.load(&sk("a", "old"), 1.0).map(|e| e.key), Some("k0".into()), "read at start-up");
        assert_eq!(s.count(&scope_prefix("a")), 2, "still counted against the bound");
    }

    #[test]
    fn b10_throwing_storage_falls_back_at_open() {
        let mut s = Store::open(Some(Flaky { fail_get: true, ..Flaky::default() }), 0.0);
        assert!(s.fell_back());
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        assert_eq!(s.load(&sk("a", "x"), 0.0).map(|e| e.key), Some("k1".into()));
    }

    #[test]
    fn b10_corrupt_or_foreign_entries_fall_back() {
        for (k, v) in [(sk("a", "x"), "{not json".to_owned()), (format!("{STORAGE_PREFIX}zz"), "x".to_owned())] {
            let mut b = Flaky::default();
            let _ = b.set(&k, &v);
            let mut s = Store::open(Some(b), 0.0);
            assert!(s.fell_back(), "{k}");
            assert!(s.take_fallback().is_some());
            s.save(&sk("a", "y"), &entry("k1", 0.0, 100.0), 10, 0.0);
            assert!(s.load(&sk("a", "y"), 0.0).is_some());
        }
    }

    #[test]
    fn memory_only_store_is_not_a_fallback() {
        let mut s: Store<Flaky> = Store::open(None, 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        assert!(s.load(&sk("a", "x"), 0.0).is_some());
        assert_eq!(s.take_fallback(), None);
    }

    #[test]
    fn b13_clear_removes_one_scope_only() {
        let mut s: Store<Flaky> = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        s.save(&sk("a", "y"), &entry("k2", 0.0, 100.0), 10, 0.0);
        s.save(&sk("b", "x"), &entry("k3", 0.0, 100.0), 10, 0.0);
        s.clear_prefix(&scope_prefix("a"));
        assert!(s.load(&sk("a", "x"), 0.0).is_none());
        assert!(s.load(&sk("b", "x"), 0.0).is_some());
        assert_eq!(s.primary.as_ref().and_then(|p| p.keys().ok()).map(|k| k.len()), Some(1));
    }

    #[test]
    fn b13_clear_reaches_storage_whose_reads_fail() {
        let mut s: Store<Flaky> = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
        s.save(&sk("a", "y"), &entry("k2", 0.0, 100.0), 10, 0.0);
        if let Some(p) = s.primary.as_mut() {
            p.fail_read = true; // getItem throws; key() and removeItem still work
        }
        s.clear_prefix(&scope_prefix("a"));
        let left = s.primary.as_ref().map(|p| p.map.keys().map(|k| k.len()).unwrap_or(99));
        assert_eq!(left, Some(0), "every key of the scope left storage");
    }

    #[test]
    fn b13_removals_reach_storage_after_a_corrupt_entry_fall_back() {
        let mut b = Flaky::default();
        let _ = b.set(&sk("a", "x"), &entry("k1", 0.0, 100.0).encode());
        let _ = b.set(&sk("b", "x"), &entry("k3", 0.0, 100.0).encode());
        let _ = b.set(&format!("{STORAGE_PREFIX}zz"), "foreign");
        let mut s = Store::open(Some(b), 0.0);
        assert!(s.fell_back());
        let stored = |s: &Store<Flaky>| s.primary.as_ref().map(|d| d.map.keys().unwrap_or_default()).unwrap_or_default();
        s.remove(&sk("b", "x")); // `release`
        assert!(!stored(&s).contains(&sk("b", "x")), "a released key stays in storage");
        if let Some(p) = s.primary.as_mut() {
            let _ = p.set(&sk("a", "z"), &entry("k4", 0.0, 100.0).encode()); // another tab's, since start-up
        }
        s.clear_prefix(&scope_prefix("a"));
        let left = stored(&s);
        assert!(!left.iter().any(|k| k.starts_with(&scope_prefix("a"))), "clear() left keys of its scope: {left:?}");
        assert!(left.contains(&format!("{STORAGE_PREFIX}zz")), "clear() removed what is not in its scope");
    }

    #[test]
    fn b10_a_corrupt_entry_does_not_hide_the_valid_ones() {
        // The reload after a pending key was written, and another script (or
        // a crashed write) left something else under our prefix.
        let mut b = Flaky::default();
        let _ = b.set(&format!("{STORAGE_PREFIX}00"), "foreign"); // scanned first
        let _ = b.set(&sk("a", "x"), &entry("k1", 0.0, 100.0).encode());
        let mut s = Store::open(Some(b), 0.0);
        assert!(s.fell_back());
        assert_eq!(s.load(&sk("a", "x"), 1.0).map(|e| e.key), Some("k1".into()), "the pending key is lost");
        assert_eq!(s.count(&scope_prefix("a")), 1, "the valid entry is not indexed");
        s.save(&sk("a", "y"), &entry("k2", 0.0, 100.0), 10, 0.0);
        let stored = s.primary.as_ref().map(|p| p.map.keys().unwrap_or_default()).unwrap_or_default();
        assert!(stored.contains(&sk("a", "y")), "one foreign entry turned write-ahead off");
        assert!(s.load(&sk("a", "y"), 1.0).is_some());
    }

    #[test]
    fn b13_a_clear_that_cannot_list_keys_hides_its_scope_only() {
        // Scope b's pending key from an earlier page, and another tab's since start-up.
        let mut b = Flaky::default();
        b.write(&sk("b", "pay"), &entry("k-b", 0.0, 100.0));
        b.fail_keys = true; // key(i) throws, getItem works
        let mut s = Store::open(Some(b), 1.0);
        ls(&mut s).write(&sk("b", "tab"), &entry("k-t", 0.0, 100.0));
        ls(&mut s).write(&sk("a", "x"), &entry("k-a", 0.0, 100.0));
        s.clear_prefix(&scope_prefix("a"));
        assert_eq!(s.load(&sk("a", "x"), 1.0), None, "cleared, yet still loaded");
        assert_eq!(s.load(&sk("b", "pay"), 1.0).map(|e| e.key), Some("k-b".into()), "clear() of a hid b's pending key");
        assert_eq!(s.load(&sk("b", "tab"), 1.0).map(|e| e.key), Some("k-t".into()), "clear() of a hid b's key of another tab");
        for _ in 0..100 {
            s.clear_prefix(&scope_prefix("a"));
        }
        assert_eq!(s.unlisted.len(), 1, "the scope is remembered once");
    }

    #[test]
    fn b7_an_entry_read_from_another_tab_counts_toward_the_bound() {
        let mut s = Store::open(Some(Flaky::default()), 0.0);
        s.save(&sk("a", "x0"), &entry("k0", 0.0, 1e9), 2, 0.0);
        s.save(&sk("a", "x1"), &entry("k1", 1.0, 1e9), 2, 1.0);
        ls(&mut s).write(&sk("a", "x2"), &entry("k2", 2.0, 1e9)); // another tab's action
        let mut e = s.load(&sk("a", "x2"), 3.0).expect("read");
        e.state = State::Settled;
        s.save(&sk("a", "x2"), &e, 2, 3.0); // this tab settles it
        assert_eq!(s.count(&scope_prefix("a")), 2);
        assert_eq!(ls(&mut s).map.keys().unwrap_or_default().len(), 2, "storage holds more than the bound");
    }

    #[test]
    fn b13_a_key_another_tab_removed_or_cleared_does_not_come_back_after_a_fault() {
        for read_between in [true, false] {
            let mut s = Store::open(Some(Flaky::default()), 0.0);
            s.save(&sk("a", "x"), &entry("k1", 0.0, 100.0), 10, 0.0);
            let _ = ls(&mut s).map.remove(&sk("a", "x")); // another tab: release or clear()
            if read_between {
                assert_eq!(s.load(&sk("a", "x"), 1.0), None);
            }
            ls(&mut s).fail_set = true;
            s.save(&sk("a", "y"), &entry("k2", 1.0, 100.0), 10, 1.0); // quota fault
            assert_eq!(s.load(&sk("a", "x"), 2.0).map(|e| e.key), None, "a removed key is back");
            assert_eq!(s.load(&sk("a", "y"), 2.0).map(|e| e.key), Some("k2".into()), "the write after the fault is lost");
        }
    }

    #[test]
    fn b10_storage_that_keeps_throwing_is_not_asked_on_every_call() {
        let mut b = Flaky::default();
        b.throw_everything();
        let mut s = Store::open(Some(b), 0.0);
        assert!(s.fell_back());
        for i in 0..100 {
            let k = sk("a", &format!("x{i}"));
            assert_eq!(s.load(&k, 0.0), None);
            s.save(&k, &entry("k", 0.0, 100.0), 1000, 0.0);
            assert!(s.load(&k, 0.0).is_some());
            assert_eq!(s.load(&k, 100.0), None); // expired: removed
        }
        let b = ls(&mut s);
        assert_eq!((b.gets.get(), b.removes), (3, 1), "(getItem, removeItem) calls, each of which throws");
        // At start-up too: three throwing reads, not one per key.
        let mut b = Flaky::default();
        for i in 0..50 {
            b.write(&sk("a", &format!("x{i}")), &entry("k", 0.0, 100.0));
        }
        b.fail_read = true;
        let mut s = Store::open(Some(b), 0.0);
        assert_eq!(ls(&mut s).gets.get(), 3);
    }

    #[test]
    fn b5_one_transient_read_fault_at_start_up_loses_no_pending_key() {
        let mut b = Flaky::default();
        for a in ["pay:1", "pay:2", "pay:3"] {
            b.write(&sk("u", a), &entry(&format!("k-{a}"), 0.0, 1e9));
        }
        b.get_throws.set(1); // the page's first getItem throws, then storage works
        let mut s = Store::open(Some(b), 1.0);
        let found: Vec<Option<String>> = ["pay:1", "pay:2", "pay:3"].iter().map(|a| s.load(&sk("u", a), 2.0).map(|e| e.key)).collect();
        assert_eq!(found, [Some("k-pay:1".into()), Some("k-pay:2".into()), Some("k-pay:3".into())]);
    }

    #[test]
    fn b14_one_transient_read_fault_does_not_hide_other_tabs_for_good() {
        let mut s = Store::open(Some(Flaky::default()), 0.0);
        ls(&mut s).get_throws.set(1);
        assert_eq!(s.load(&sk("u", "x"), 1.0), None); // the one throw
        ls(&mut s).write(&sk("u", "pay"), &entry("k-other-tab", 2.0, 1e9)); // another tab's pending key
        assert_eq!(s.load(&sk("u", "pay"), 3.0).map(|e| e.key), Some("k-other-tab".into()), "a second key would be sent");
    }

    #[test]
    fn b5_a_transient_read_fault_does_not_stop_write_ahead() {
        let mut s = Store::open(Some(Flaky::default()), 0.0);
        ls(&mut s).get_throws.set(1);
        assert_eq!(s.load(&sk("u", "other"), 1.0), None); // one getItem throws
        assert!(s.fell_back(), "the fault is reported");
        let x = sk("u", "pay");
        assert_eq!(s.load(&x, 2.0), None);
        s.save(&x, &entry("k1", 2.0, 1e9), 10, 2.0); // write-ahead, then send
        let mut reloaded = Store::open(s.primary.take(), 3.0);
        assert_eq!(reloaded.load(&x, 3.0).map(|e| e.key), Some("k1".into()), "pending key not persisted");
    }

    #[test]
    fn b7_evictions_leave_no_slots_when_storage_refuses_or_throws() {
        for throw_everything in [false, true] {
            let mut s = Store::open(Some(Flaky::default()), 0.0);
            if throw_everything {
                ls(&mut s).throw_everything(); // SecurityError mid-session
            } else {
                ls(&mut s).fail_remove = true;
            }
            for i in 0..500 {
                let t = f64::from(i);
                s.save(&sk("u", &format!("a{i}")), &entry("k", t, 1e9), 10, t);
            }
            assert_eq!(s.count(&scope_prefix("u")), 10);
            assert_eq!(s.memory.with_prefix(&scope_prefix("u")).len(), 10, "memory keeps slots of evicted entries");
        }
    }

    #[test]
    fn b6_a_settled_key_held_in_memory_does_not_come_back_pending_after_its_window() {
        // Removals refused throughout, once only, or refused and the check of
        // what storage holds throwing once.
        for (fail_remove, remove_throws, get_throws) in [(true, 0, 0), (false, 1, 0), (true, 0, 1)] {
            let mut s = Store::open(Some(Flaky::default()), 0.0);
            let x = sk("u", "x");
            s.save(&sk("u", "a"), &entry("ka", 0.0, 1e9), 2, 0.0);
            s.save(&x, &entry("k1", 1.0, 1e9), 2, 1.0); // write-ahead, in storage
            (ls(&mut s).fail_remove, ls(&mut s).remove_throws) = (fail_remove, remove_throws);
            s.save(&sk("u", "b"), &entry("kb", 2.0, 1e9), 2, 2.0); // evicts a
            ls(&mut s).fail_set = true; // storage full
            settle(&mut s, &x, "k1", 10.0, 2, 3.0); // settled in memory only
            assert_eq!(s.load(&x, 5.0).map(|e| e.state), Some(State::Settled));
            ls(&mut s).get_throws.set(get_throws);
            assert_eq!(s.load(&x, 20.0), None, "window over");
            let later: Vec<_> = [21.0, 22.0].iter().map(|t| s.load(&x, *t).map(|e| (e.key, e.state))).collect();
            assert_eq!(later, [None, None], "settled key reused after its window ({fail_remove}, {remove_throws}, {get_throws})");
        }
    }

    #[test]
    fn b14_bounds_do_not_evict_another_tabs_newer_entry_on_stale_times() {
        // Whether this page's copy mirrors storage or is held in memory only.
        for memory_only in [false, true] {
            let mut s = Store::open(Some(Flaky::default()), 0.0);
            let x = sk("u", "x");
            ls(&mut s).fail_set = memory_only; // a quota fault: writes go to memory for good
            s.save(&x, &entry("k1", 0.0, 10.0), 2, 0.0); // this tab's, expires at 10
            ls(&mut s).fail_set = false;
            ls(&mut s).write(&x, &entry("k2", 50.0, 1e9)); // another tab runs the action again
            s.save(&sk("u", "y"), &entry("ky", 50.0, 1e9), 2, 50.0);
            s.save(&sk("u", "z"), &entry("kz", 51.0, 1e9), 2, 51.0); // over the bound
            assert!(ls(&mut s).has(&x), "another tab's pending key k2 removed as 'expired' ({memory_only})");
            assert_eq!(s.count(&scope_prefix("u")), 2);
        }
    }

    #[test]
    fn b14_the_expiry_of_a_memory_only_entry_does_not_hide_another_tabs_newer_key() {
        // Removals refused, and the check of what storage holds throwing once or not.
        for get_throws in [0, 1] {
            let mut s = Store::open(Some(Flaky::default()), 0.0);
            let x = sk("u", "x");
            (ls(&mut s).fail_set, ls(&mut s).fail_remove) = (true, true);
            s.save(&x, &entry("k1", 0.0, 10.0), 10, 0.0); // memory only, expires at 10
            ls(&mut s).write(&x, &entry("k2", 50.0, 1e9)); // another tab's pending key
            ls(&mut s).get_throws.set(get_throws);
            let first = s.load(&x, 51.0).map(|e| e.key); // storage unreadable once: nothing to go on
            assert_eq!(first, (get_throws == 0).then(|| "k2".to_string()));
            let later: Vec<_> = [52.0, 53.0].iter().map(|t| s.load(&x, *t).map(|e| e.key)).collect();
            assert_eq!(later, [Some("k2".to_string()), Some("k2".to_string())], "another tab's live key hidden ({get_throws})");
        }
    }
}
