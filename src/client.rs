//! The engine behind `client.fetch`: identity → stored key → verdict on each
//! answer. The facade (`js/index.ts`) performs the I/O it asks for — it sends,
//! waits and hands out responses — so every decision lives here, in one place,
//! and each call crosses the JS↔wasm boundary a fixed, small number of times.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::action::{fingerprint_of, identify_action, identify_hashed, scope_prefix, storage_key};
use crate::hash::Sha256;
use crate::entry::{Entry, State};
use crate::error::Error;
use crate::key::{short, uuid_v4};
use crate::retry::{Answer, Decision, Policy};
use crate::store::Store;
use crate::validate;
use crate::web::{Events, LocalStorage, Random};

/// What an event is about; the facade names them (`KINDS` in js/engine.ts, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A keyed call looks for its stored key.
    Check,
    /// A stored key was found and is reused.
    Hit,
    /// No stored key: a new one is minted.
    Miss,
    /// The same action with another payload, or a 409/422 answer.
    Conflict,
    /// A key was written ahead of the send.
    Store,
    /// The answer is retried after `delay_ms`.
    Retry,
    /// The action succeeded: its key is kept for the settle window.
    Settled,
    /// The key was forgotten (422, 4xx, `release`).
    Released,
    /// Storage failed and keys now live in memory; `text` says why.
    StorageFallback,
}

/// One event, handed to the facade as it happens (see [`Events`]); the facade
/// adds the call's label and hands it to listeners after the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: Kind,
    /// The key's first 8 characters, or the fall-back's reason.
    pub text: String,
    /// The attempt the answer was for (0 outside a send).
    pub attempt: u32,
    /// The answer's status (0 outside an answer, -1 for a network error).
    pub status: i32,
    /// The delay before a retry.
    pub delay_ms: f64,
}

/// What [`Engine::begin`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begun {
    /// The flight's token, for [`Engine::outcome`] and [`Engine::finish`].
    pub token: u32,
    /// Whether the key was found in storage (an earlier try of this action).
    pub from_storage: bool,
    /// The key (empty when unkeyed).
    pub key: String,
}

/// What the engine remembers of a request in flight.
struct Flight {
    storage_key: Option<String>,
    key: String,
}

/// One client's engine: its store, its flights, where its events go.
pub struct Engine {
    ttl_ms: f64,
    settle_ms: f64,
    max_entries: usize,
    store: Store<LocalStorage>,
    /// Flights by token: a slab, tokens of finished flights are reused.
    flights: Vec<Option<Flight>>,
    free_tokens: Vec<u32>,
    random: Random,
    events: Events,
    observed: bool,
}

impl Engine {
    /// Opens the store (pruning expired entries) and returns the engine;
    /// `memory`: never touch localStorage. `observed`: emit events (see
    /// [`Events`]); a storage fall-back is emitted regardless.
    pub fn new(ttl_ms: f64, settle_ms: f64, max_entries: u32, memory: bool, observed: bool, now: f64) -> Engine {
        let store = Store::open((!memory).then_some(LocalStorage), now);
        let mut e = Engine {
            // Bounded so that expiresAt stays a whole number storage can read back.
            ttl_ms: ttl_ms.clamp(1.0, 1e13),
            settle_ms,
            max_entries: usize::try_from(max_entries).unwrap_or(usize::MAX).max(1),
            store,
            flights: Vec::new(),
            free_tokens: Vec::new(),
            random: Random::default(),
            events: Events::default(),
            observed,
        };
        e.report_fallback();
        e
    }

    /// The identity of a call (see `action.rs`): the in-flight map key and,
    /// through [`Engine::begin`], the storage key. `body_hash` holds method,
    /// URL and the body fetch sends (a string's UTF-8, or the bytes): see
    /// [`crate::action::fingerprint_hasher`].
    pub fn identify(scope: &str, action: Option<&str>, body_hash: Sha256) -> Result<String, Error> {
        if let Some(a) = action {
            validate::action(a)?;
        }
        Ok(identify_hashed(scope, action, body_hash))
    }

    /// Starts a flight: finds or mints the key and writes it ahead of the
    /// send. `ident` is what [`Engine::identify`] returned, or empty for a
    /// body with no identity (a stream: sent once, never stored), which
    /// still gets a key when `keyed` — the caller's, or a fresh one.
    pub fn begin(&mut self, ident: &str, keyed: bool, fresh: bool, caller_key: Option<&str>, now: f64) -> Result<Begun, Error> {
        let r = self.start(ident, keyed, fresh, caller_key, now);
        // A storage fault met on the way is reported by this call, whether it
        // succeeded or not.
        self.report_fallback();
        r
    }

    fn start(&mut self, ident: &str, keyed: bool, fresh: bool, caller_key: Option<&str>, now: f64) -> Result<Begun, Error> {
        self.event(Kind::Check, "", 0, 0, 0.0);
        if !keyed || ident.is_empty() {
            let key = match (keyed, caller_key) {
                (false, _) => String::new(),
                (true, Some(k)) => {
                    validate::key(k)?;
                    k.to_owned()
                }
                (true, None) => self.mint()?,
            };
            let token = self.add_flight(Flight { storage_key: None, key: key.clone() });
            return Ok(Begun { token, from_storage: false, key });
        }
        let sk = storage_key(ident).ok_or_else(|| Error::invalid("action", "has an invalid identity"))?;
        let fp = fingerprint_of(ident);
        let stored = if fresh { None } else { self.store.load(&sk, now) };
        let (key, from_storage) = match (caller_key, stored) {
            (Some(k), _) => {
                validate::key(k)?;
                self.write_ahead(&sk, k, fp, now);
                (k.to_owned(), false)
            }
            (None, Some(mut e)) if e.fingerprint.is_empty() || e.fingerprint == fp => {
                self.event(Kind::Hit, &e.key, 0, 0, 0.0);
                if e.fingerprint.is_empty() {
                    // A keyFor key meets its first request: bind it to this payload,
                    // so the same action with another body gets another key.
                    e.fingerprint = fp.to_owned();
                    self.store.save(&sk, &e, self.max_entries, now);
                }
                (e.key, true)
            }
            (None, stored) => {
                // Same action, other payload: never resend a key with a different body.
                self.event(if stored.is_some() { Kind::Conflict } else { Kind::Miss }, "", 0, 0, 0.0);
                let k = self.mint()?;
                self.write_ahead(&sk, &k, fp, now);
                (k, false)
            }
        };
        let out = key.clone();
        let token = self.add_flight(Flight { storage_key: Some(sk), key });
        Ok(Begun { token, from_storage, key: out })
    }

    /// The verdict on one answer: a delay in ms before resending, or -1 when
    /// this answer is the caller's — then the flight is over and its token
    /// freed (no separate `finish`). `status` is -1 for a network error, 0 for
    /// an opaque response; `retry_after_ms` is its `Retry-After`, in
    /// milliseconds from now.
    #[allow(clippy::too_many_arguments)]
    pub fn outcome(&mut self, token: u32, policy: &Policy, attempt: u32, status: i32, retry_after_ms: Option<f64>, replayed: bool, resendable: bool, now: f64, rand: f64) -> f64 {
        let Some(f) = self.flight(token) else { return -1.0 };
        let decision = policy.decide(attempt, Answer { status, replayed, retry_after_ms }, resendable, rand);
        if self.observed {
            let key = f.key.clone();
            if !replayed && (status == 409 || status == 422) {
                self.event(Kind::Conflict, &key, attempt, status, 0.0);
            }
            if let Decision::Retry { delay_ms } = decision {
                self.event(Kind::Retry, &key, attempt, status, delay_ms);
            }
        }
        if let Decision::Retry { delay_ms } = decision {
            return delay_ms;
        }
        // A final verdict: the flight is over, taken out of its slot (no copies of its strings).
        let Some(f) = self.take_flight(token) else { return -1.0 };
        match decision {
            Decision::Settle => {
                if let Some(sk) = &f.storage_key {
                    self.settle(sk, &f.key, now);
                }
                self.event(Kind::Settled, &f.key, attempt, status, 0.0);
            }
            Decision::Release => {
                if let Some(sk) = &f.storage_key {
                    self.forget(sk, &f.key);
                }
                self.event(Kind::Released, &f.key, attempt, status, 0.0);
            }
            // Attempts spent: the entry stays pending so the next try resends the key.
            _ => {}
        }
        self.report_fallback();
        -1.0
    }

    /// Ends a flight that got no final answer (aborted, or failed in the facade).
    pub fn finish(&mut self, token: u32) {
        self.take_flight(token);
    }

    /// The client's less frequent operations, in one entry point (each export
    /// costs code in the wasm and in the facade): `op` is one of the `OP_*`
    /// constants; returns the key for [`OP_KEY_FOR`], else an empty string.
    pub fn admin(&mut self, op: u32, scope: &str, action: &str, now: f64) -> Result<String, Error> {
        let r = match op {
            OP_KEY_FOR => self.key_for(scope, action, now),
            OP_RELEASE => self.release(scope, action).map(|_| String::new()),
            OP_CLEAR => {
                self.clear(scope);
                Ok(String::new())
            }
            OP_OBSERVE | OP_UNOBSERVE => {
                self.observed = op == OP_OBSERVE;
                Ok(String::new())
            }
            _ => Err(Error::invalid("op", "is not an engine operation")),
        };
        self.report_fallback(); // as in `begin`
        r
    }

    /// The events queued since the last call, oldest first (see [`Events::take`]).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.take()
    }
}

/// [`Engine::admin`]: `client.keyFor(action)`.
pub const OP_KEY_FOR: u32 = 0;
/// [`Engine::admin`]: `client.release(action)`.
pub const OP_RELEASE: u32 = 1;
/// [`Engine::admin`]: `client.clear()` (of `scope`).
pub const OP_CLEAR: u32 = 2;
/// [`Engine::admin`]: events on (a listener or `debug`).
pub const OP_OBSERVE: u32 = 3;
/// [`Engine::admin`]: events off.
pub const OP_UNOBSERVE: u32 = 4;

/// The storage key of an explicit action (`keyFor`, `release`), checked first.
fn action_storage_key(scope: &str, action: &str) -> Result<String, Error> {
    validate::action(action)?;
    storage_key(&identify_action(scope, action)).ok_or_else(|| Error::invalid("action", "has an invalid identity"))
}

/// Reached through [`Engine::admin`], which reports the storage faults they meet.
impl Engine {
    /// `keyFor(action)`: the action's key, minted and persisted when absent (SPEC B9).
    fn key_for(&mut self, scope: &str, action: &str, now: f64) -> Result<String, Error> {
        let sk = action_storage_key(scope, action)?;
        let k = match self.store.load(&sk, now) {
            Some(e) => {
                self.event(Kind::Hit, &e.key, 0, 0, 0.0);
                e.key
            }
            None => {
                self.event(Kind::Miss, "", 0, 0, 0.0);
                let k = self.mint()?;
                self.write_ahead(&sk, &k, "", now);
                k
            }
        };
        Ok(k)
    }

    /// `release(action)`: forgets the action's key (SPEC B6, B8).
    fn release(&mut self, scope: &str, action: &str) -> Result<bool, Error> {
        let sk = action_storage_key(scope, action)?;
        let existed = self.store.load(&sk, f64::NEG_INFINITY).is_some();
        self.store.remove(&sk);
        self.event(Kind::Released, "", 0, 0, 0.0);
        Ok(existed)
    }

    /// `clear()`: drops every key of `scope` (SPEC B13).
    fn clear(&mut self, scope: &str) {
        self.store.clear_prefix(&scope_prefix(scope));
    }

    /// Flights not yet finished (tests assert it returns to 0).
    pub fn flight_count(&self) -> u32 {
        u32::try_from(self.flights.iter().filter(|f| f.is_some()).count()).unwrap_or(u32::MAX)
    }
}

impl Engine {
    fn add_flight(&mut self, f: Flight) -> u32 {
        if let Some(token) = self.free_tokens.pop() {
            if let Some(slot) = self.flights.get_mut(token as usize) {
                *slot = Some(f);
                return token;
            }
        }
        self.flights.push(Some(f));
        u32::try_from(self.flights.len() - 1).unwrap_or(u32::MAX)
    }

    /// Ends the flight of `token` and frees the token for reuse.
    fn take_flight(&mut self, token: u32) -> Option<Flight> {
        let f = self.flights.get_mut(token as usize)?.take()?;
        self.free_tokens.push(token);
        Some(f)
    }

    fn flight(&self, token: u32) -> Option<&Flight> {
        self.flights.get(token as usize).and_then(Option::as_ref)
    }

    fn mint(&mut self) -> Result<String, Error> {
        Ok(uuid_v4(self.random.bytes16()?))
    }

    fn write_ahead(&mut self, sk: &str, key: &str, fp: &str, now: f64) {
        let e = Entry { key: key.to_owned(), fingerprint: fp.to_owned(), created_at: now, expires_at: now + self.ttl_ms, state: State::Pending };
        self.store.save(sk, &e, self.max_entries, now);
        self.event(Kind::Store, key, 0, 0, 0.0);
    }

    /// Marks the entry settled for the settle window, if it still holds `key`
    /// (a `clear()` or a `fresh` call may have replaced it meanwhile).
    fn settle(&mut self, sk: &str, key: &str, now: f64) {
        if let Some(mut e) = self.store.load(sk, now).filter(|e| e.key == key) {
            e.state = State::Settled;
            e.expires_at = e.expires_at.min(now + self.settle_ms);
            self.store.save(sk, &e, self.max_entries, now);
        }
    }

    fn forget(&mut self, sk: &str, key: &str) {
        if self.store.load(sk, f64::NEG_INFINITY).is_some_and(|e| e.key == key) {
            self.store.remove(sk);
        }
    }

    fn report_fallback(&mut self) {
        if let Some(why) = self.store.take_fallback() {
            // Emitted even when unobserved at the time: a listener added right
            // after createClient must see it (the facade buffers it).
            self.events.push(Kind::StorageFallback, why, 0, 0, 0.0);
        }
    }

    /// Emits an event when observed; `key` is shortened to its first 8 characters.
    fn event(&mut self, kind: Kind, key: &str, attempt: u32, status: i32, delay_ms: f64) {
        if self.observed {
            self.events.push(kind, short(key), attempt, status, delay_ms);
        }
    }
}
