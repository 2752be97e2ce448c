//! The store's state machine (`oncefetch::store::Store`), driven by a sequence
//! of operations over a backend whose faults the fuzzer switches on and off,
//! and into which "another tab" writes whatever it likes: records
//! (`Entry::encode`, the form the engine's backends hold), records cut short,
//! or any text.
//!
//! Properties (SPEC B5, B7, B10, B13):
//! - no operation panics, whatever the backend does or holds;
//! - after a save, the scope holds at most `max_entries` entries (in the
//!   store's index, and in the backend while the store still uses it);
//! - a save is readable right after it (write-ahead), when no fault struck;
//! - a reload over healthy storage finds every live entry saved before it;
//! - `clear()` removes every key of its scope from a store it still uses, and
//!   never touches another scope's keys or anyone else's;
//! - the fall-back is reported once.
//!
//! With the `strict` feature, also the properties the library breaks today
//! (see tests/regressions.rs): entries stored before a fall-back stay
//! readable, a save is readable right after it even when a corrupt entry is
//! met while enforcing the bound, and `clear()` reaches localStorage after a
//! fall-back.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use arbitrary::Arbitrary;
use oncefetch::action::{identify_action, scope_prefix, storage_key};
use oncefetch::entry::{Entry, State};
use oncefetch::store::{Backend, Fault, Store};

use crate::entry::in_domain;

const SCOPES: [&str; 3] = ["user-1", "user-2", "a:b \u{e9}"];
const ACTIONS: usize = 12;
const START: f64 = 1_763_798_400_000.0;
const DAY: f64 = 86_400_000.0;

/// What the fake localStorage holds and which of its calls throw.
#[derive(Debug, Default)]
pub struct Shared {
    /// Insertion-ordered, like a real storage area's keys.
    pub items: Vec<(String, String)>,
    /// Bit 0: getItem throws; 1: setItem; 2: removeItem; 3: key(i).
    pub faults: u8,
    /// setItem of a new key throws QuotaExceededError at this many keys.
    pub quota: Option<usize>,
}

impl Shared {
    fn get(&self, k: &str) -> Option<String> {
        self.items.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    }
    pub fn set(&mut self, k: &str, v: &str) {
        match self.items.iter_mut().find(|(x, _)| x == k) {
            Some(slot) => slot.1 = v.to_owned(),
            None => self.items.push((k.to_owned(), v.to_owned())),
        }
    }
    fn remove(&mut self, k: &str) {
        self.items.retain(|(x, _)| x != k);
    }
    pub fn under(&self, prefix: &str) -> Vec<String> {
        self.items.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, _)| k.clone()).collect()
    }
}

/// A localStorage stand-in sharing [`Shared`] with the test, so faults can be
/// switched while the store owns it.
pub struct Faulty(pub Rc<RefCell<Shared>>);

fn security() -> Fault {
    Fault("SecurityError: access denied".into())
}

impl Backend for Faulty {
    fn get(&self, k: &str) -> Result<Option<String>, Fault> {
        let s = self.0.borrow();
        if s.faults & 1 != 0 { Err(security()) } else { Ok(s.get(k)) }
    }
    fn set(&mut self, k: &str, v: &str) -> Result<(), Fault> {
        let mut s = self.0.borrow_mut();
        if s.faults & 2 != 0 {
            return Err(security());
        }
        let new = s.get(k).is_none();
        if new && s.quota.is_some_and(|q| s.items.len() >= q) {
            return Err(Fault("QuotaExceededError".into()));
        }
        s.set(k, v);
        Ok(())
    }
    fn remove(&mut self, k: &str) -> Result<(), Fault> {
        let mut s = self.0.borrow_mut();
        if s.faults & 4 != 0 { Err(security()) } else { s.remove(k); Ok(()) }
    }
    fn keys(&self) -> Result<Vec<String>, Fault> {
        let s = self.0.borrow();
        if s.faults & 8 != 0 { Err(security()) } else { Ok(s.items.iter().map(|(k, _)| k.clone()).collect()) }
    }
}

/// One action of one scope.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct Slot {
    /// Index into the scopes.
    pub scope: u8,
    /// Index into the actions.
    pub action: u8,
}

impl Slot {
    fn scope(self) -> &'static str {
        SCOPES[usize::from(self.scope) % SCOPES.len()]
    }
    fn sk(self) -> String {
        let action = format!("act{}", usize::from(self.action) % ACTIONS);
        storage_key(&identify_action(self.scope(), &action)).unwrap_or_default()
    }
}

/// A key: a UUID like the ones minted, or a caller's arbitrary text.
#[derive(Debug, Clone, Arbitrary)]
pub enum KeyChoice {
    /// `8e03978e-40d5-43e8-bc93-0000000000NN`.
    Uuid(u8),
    /// Anything (the store takes what the engine has validated; this probes the rest).
    Any(String),
}

impl KeyChoice {
    fn text(&self) -> String {
        match self {
            KeyChoice::Uuid(n) => format!("8e03978e-40d5-43e8-bc93-{n:012}"),
            KeyChoice::Any(s) => s.clone(),
        }
    }
}

/// A time to live.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Ttl {
    /// 1..=65536 ms.
    Short(u16),
    /// 24 h (the default keyTtlMs).
    Day,
    /// Any finite keyTtlMs >= 1 a caller may pass, however large.
    Huge(f64),
}

impl Ttl {
    fn ms(self) -> f64 {
        match self {
            Ttl::Short(v) => f64::from(v) + 1.0,
            Ttl::Day => DAY,
            Ttl::Huge(v) if v.is_finite() => v.abs().max(1.0),
            Ttl::Huge(_) => f64::MAX,
        }
    }
}

/// What another tab (or script) writes under one of our storage keys.
#[derive(Debug, Clone, Arbitrary)]
pub enum Value {
    /// A well-formed record of an entry (its key valid or not).
    Entry {
        /// Its key.
        key: KeyChoice,
        /// Its TTL from now.
        ttl: Ttl,
        /// Settled or pending.
        settled: bool,
    },
    /// A record cut short (a crashed write, another version): always a
    /// proper prefix of a record, so always refused (every field, the key
    /// too, ends with a LF), whether the cut falls inside the key or not.
    Truncated(u8),
    /// Any text.
    Text(String),
}

impl Value {
    fn text(&self, now: f64) -> String {
        match self {
            Value::Entry { key, ttl, settled } => entry(key.text(), now, ttl.ms(), *settled, "").encode(),
            Value::Truncated(n) => {
                let full = entry("8e03978e-40d5-43e8-bc93-000000000001".into(), now, DAY, false, "0123456789abcdef").encode();
                full.chars().take(usize::from(*n) % full.len()).collect()
            }
            Value::Text(s) => s.clone(),
        }
    }
}

/// One step.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    /// `write_ahead` / `settle`: save an entry.
    Save {
        /// Where.
        slot: Slot,
        /// Its key.
        key: KeyChoice,
        /// Its TTL.
        ttl: Ttl,
        /// Settled or pending.
        settled: bool,
        /// Bound to a request fingerprint.
        bound: bool,
    },
    /// `begin` / `keyFor`: load an entry.
    Load(Slot),
    /// `release` / `forget`.
    Remove(Slot),
    /// `clear()` of one scope.
    Clear(u8),
    /// A page reload: a new store over the same storage.
    Reopen,
    /// Time passes (ms, times 16).
    Advance(u16),
    /// A day passes.
    NextDay,
    /// Which backend calls throw from now on (bit mask, see [`Shared`]).
    Faults(u8),
    /// The storage's capacity in keys, or none.
    Quota(Option<u8>),
    /// Another tab writes under one of our keys.
    External(Slot, Value),
    /// Another tab removes one of our keys.
    ExternalRemove(Slot),
    /// Another script writes any key (ours-looking, foreign, or unrelated).
    Foreign(String, String),
    /// The facade asks whether to emit `storage-fallback`.
    TakeFallback,
}

/// A whole run: the bound, what storage holds before the page opens, the steps.
#[derive(Debug, Clone, Arbitrary)]
pub struct StoreCase {
    /// `maxEntries` is 1 + this % 16.
    pub max_entries: u8,
    /// Storage content before the first open.
    pub initial: Vec<(Slot, Value)>,
    /// The steps.
    pub ops: Vec<Op>,
}

fn entry(key: String, now: f64, ttl: f64, settled: bool, fp: &str) -> Entry {
    Entry {
        key,
        fingerprint: fp.into(),
        created_at: now,
        expires_at: now + ttl,
        state: if settled { State::Settled } else { State::Pending },
    }
}

/// Whether the engine could have written `e` (a validated key; a finite TTL).
fn engine_could_write(e: &Entry) -> bool {
    oncefetch::validate::key(&e.key).is_ok() && e.created_at.is_finite() && e.expires_at.is_finite()
}

/// Whether every value under our prefix is an entry the store reads.
fn clean(shared: &Shared) -> bool {
    shared.items.iter().all(|(k, v)| !k.starts_with(oncefetch::action::STORAGE_PREFIX) || Entry::decode(v).is_some())
}

/// Runs one case, checking the properties after every step.
pub fn run(case: &StoreCase) {
    let max = 1 + usize::from(case.max_entries) % 16;
    let shared = Rc::new(RefCell::new(Shared::default()));
    let mut now = START;
    for (slot, v) in case.initial.iter().take(64) {
        shared.borrow_mut().set(&slot.sk(), &v.text(now - 1000.0));
    }
    let mut store = Store::open(Some(Faulty(shared.clone())), now);
    // What this page saved and may expect back: storage key -> (key, expiresAt).
    let mut saved: BTreeMap<String, (String, f64)> = BTreeMap::new();
    // Another writer touched our keys since the store last read everything.
    let mut external = false;
    // A write may have thrown since the store opened (setItem faults or a
    // quota): only then may its later writes have gone to memory only.
    let mut write_faults = false;
    let mut reported = store.take_fallback().is_some();

    for op in case.ops.iter().take(256) {
        let fell_back_before = store.fell_back();
        match op {
            Op::Save { slot, key, ttl, settled, bound } => {
                let sk = slot.sk();
                let e = entry(key.text(), now, ttl.ms(), *settled, if *bound { "0123456789abcdef" } else { "" });
                let scope = scope_prefix(slot.scope());
                // A scope can be over its bound before a save (entries found at start-up,
                // or written by other tabs); a save never makes that worse, and a save
                // within the bound keeps it.
                let (count_before, stored_before) = (store.count(&scope), shared.borrow().under(&scope).len());
                store.save(&sk, &e, max, now);
                let count = store.count(&scope);
                assert!(count <= max.max(count_before), "{count} entries in a scope of at most {max} (had {count_before})");
                if !store.fell_back() && !external {
                    let n = shared.borrow().under(&scope).len();
                    assert!(n <= max.max(stored_before), "storage holds {n} entries of a scope bounded to {max} (had {stored_before})");
                }
                let usable = engine_could_write(&e) && in_domain(e.expires_at) && !e.expired(now);
                if usable {
                    let got = store.load(&sk, now).map(|g| g.key);
                    // Unless a fault struck (the store then forgets what it had: strict mode).
                    let faultless = !store.fell_back() || fell_back_before;
                    if faultless || cfg!(feature = "strict") {
                        assert_eq!(got.as_deref(), Some(e.key.as_str()), "a save is not readable right after it");
                    }
                }
                if engine_could_write(&e) && !in_domain(e.expires_at) && cfg!(feature = "strict") {
                    assert!(store.load(&sk, now).is_some(), "an entry with expiresAt {} is lost", e.expires_at);
                }
                if usable && store.load(&sk, now).is_some() {
                    saved.insert(sk, (e.key.clone(), e.expires_at));
                } else {
                    saved.remove(&sk);
                }
                // A save at the bound may evict any older entry of the scope (the
                // index counts entries this test does not track, e.g. unusable ones):
                // only the bound is promised for them.
                if count_before >= max {
                    let keep = slot.sk();
                    saved.retain(|k, _| !k.starts_with(&scope) || *k == keep);
                }
            }
            Op::Load(slot) => {
                let got = store.load(&slot.sk(), now);
                if let Some(g) = &got {
                    assert!(!g.expired(now), "load returned an expired entry");
                }
            }
            Op::Remove(slot) => {
                store.remove(&slot.sk());
                saved.remove(&slot.sk());
                assert!(store.load(&slot.sk(), f64::NEG_INFINITY).is_none(), "removed, yet still loaded");
            }
            Op::Clear(s) => {
                let scope = scope_prefix(SCOPES[usize::from(*s) % SCOPES.len()]);
                let before: Vec<(String, String)> = shared.borrow().items.clone();
                store.clear_prefix(&scope);
                saved.retain(|k, _| !k.starts_with(&scope));
                let after = shared.borrow();
                for (k, v) in &before {
                    if !k.starts_with(&scope) {
                        assert_eq!(after.get(k).as_ref(), Some(v), "clear() of {scope} touched {k}");
                    }
                }
                if !store.fell_back() || cfg!(feature = "strict") && after.faults & 4 == 0 && after.faults & 8 == 0 {
                    assert_eq!(after.under(&scope), Vec::<String>::new(), "clear() left keys of its scope in storage");
                }
                drop(after);
                for slot_action in 0..ACTIONS {
                    let slot = Slot { scope: *s, action: slot_action as u8 };
                    assert!(store.load(&slot.sk(), f64::NEG_INFINITY).is_none(), "cleared, yet still loaded");
                }
            }
            Op::Reopen => {
                let healthy = {
                    let s = shared.borrow();
                    s.faults == 0 && clean(&s)
                };
                // Only a throwing write sends writes to memory: a read fault or a
                // corrupt entry must not cost a reload its pending keys (SPEC B5).
                let lost_to_memory = store.fell_back() && write_faults;
                store = Store::open(Some(Faulty(shared.clone())), now);
                reported = false;
                if healthy && !lost_to_memory {
                    // SPEC B5: after a reload, the same action finds its key.
                    for (sk, (key, expires)) in &saved {
                        if now < *expires {
                            let got = store.load(sk, now).map(|g| g.key);
                            assert_eq!(got.as_ref(), Some(key), "a key saved before the reload is gone");
                        }
                    }
                }
                if !store.fell_back() {
                    external = false;
                }
                if lost_to_memory {
                    saved.clear();
                }
                if shared.borrow().faults & (1 | 8) != 0 {
                    // A page whose storage cannot list its keys or read them at start-up
                    // never sees what it does not read: it is held to what it can read
                    // now (and then never forgets it).
                    saved.retain(|sk, _| store.load(sk, now).is_some());
                }
                let s = shared.borrow();
                write_faults = s.faults & 2 != 0 || s.quota.is_some();
            }
            Op::Advance(ms) => now += f64::from(*ms) * 16.0,
            Op::NextDay => now += DAY,
            Op::Faults(bits) => {
                shared.borrow_mut().faults = bits & 0x0f;
                write_faults |= bits & 2 != 0;
            }
            Op::Quota(q) => {
                shared.borrow_mut().quota = q.map(usize::from);
                write_faults |= q.is_some();
            }
            Op::External(slot, v) => {
                let text = v.text(now);
                if let Value::Truncated(_) = v {
                    // A crashed write is never an entry the store would read (as a shorter key, say).
                    assert_eq!(Entry::decode(&text), None, "a truncated record decodes: {text:?}");
                }
                shared.borrow_mut().set(&slot.sk(), &text);
                saved.remove(&slot.sk());
                external = true;
            }
            Op::ExternalRemove(slot) => {
                shared.borrow_mut().remove(&slot.sk());
                saved.remove(&slot.sk());
                external = true; // the index now counts a key storage no longer has
            }
            Op::Foreign(k, v) => {
                shared.borrow_mut().set(k, v);
                saved.remove(k);
                external = true;
            }
            Op::TakeFallback => {
                if store.take_fallback().is_some() {
                    assert!(!reported, "storage-fallback reported twice");
                    reported = true;
                }
            }
        }
        saved.retain(|_, (_, expires)| now < *expires);
        // Strict: a fall-back must not forget what was stored before it.
        if cfg!(feature = "strict") {
            for (sk, (key, _)) in &saved {
                let got = store.load(sk, now).map(|g| g.key);
                assert_eq!(got.as_ref(), Some(key), "an entry stored before a storage fault is forgotten");
            }
        }
    }
}
