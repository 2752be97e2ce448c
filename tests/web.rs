//! The browser edge of the engine, in headless Chromium (wasm-bindgen-test):
//! real localStorage, real `crypto.getRandomValues`, real storage faults.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use js_sys::Function;
use oncefetch::action::{identify, scope_prefix, storage_key};
use oncefetch::client::{Event, Kind, OP_CLEAR, OP_KEY_FOR};
use oncefetch::retry::Policy;
use oncefetch::Engine;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TTL: f64 = 86_400_000.0;
const SETTLE: f64 = 10_000.0;

/// Runs a snippet of JavaScript (test set-up only).
fn js(body: &str) -> JsValue {
    Function::new_no_args(body).call0(&JsValue::NULL).unwrap()
}

/// `Engine::begin` of a keyed call: (token, from storage, key).
fn begin(e: &mut Engine, id: &str, now: f64) -> (u32, bool, String) {
    let b = e.begin(id, true, false, None, now).unwrap();
    (b.token, b.from_storage, b.key)
}

/// The engine's queued events as "type:text:status" (the facade names them alike).
fn events(e: &mut Engine) -> Vec<String> {
    e.take_events()
        .into_iter()
        .map(|Event { kind, text, status, .. }| {
            let name = match kind {
                Kind::Check => "check",
                Kind::Hit => "hit",
                Kind::Miss => "miss",
                Kind::Conflict => "conflict",
                Kind::Store => "store",
                Kind::Retry => "retry",
                Kind::Settled => "settled",
                Kind::Released => "released",
                Kind::StorageFallback => "storage-fallback",
            };
            format!("{name}:{text}:{status}")
        })
        .collect()
}

fn engine(observed: bool) -> Engine {
    Engine::new(TTL, SETTLE, 1000, false, observed, 1_000.0)
}

fn ls_get(k: &str) -> Option<String> {
    let f = Function::new_with_args("k", "return localStorage.getItem(k)");
    f.call1(&JsValue::NULL, &k.into()).unwrap().as_string()
}

fn ident(scope: &str, action: &str) -> String {
    identify(scope, "POST", "http://127.0.0.1/api", Some(action), b"{}")
}

fn is_uuid_v4(k: &str) -> bool {
    let b = k.as_bytes();
    k.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && k.bytes().filter(|&c| c != b'-').all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

#[wasm_bindgen_test]
fn b1_keys_are_distinct_uuid_v4_from_the_csprng() {
    js("localStorage.clear()");
    let mut e = engine(false);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        // A keyed flight with no identity (a stream body) gets a fresh key, never stored.
        let b = e.begin("", true, false, None, 0.0).unwrap();
        e.finish(b.token);
        let k = b.key;
        assert!(is_uuid_v4(&k), "{k}");
        assert!(seen.insert(k));
    }
    assert_eq!(js("return localStorage.length").as_f64(), Some(0.0), "a stream's key is never stored");
}

#[wasm_bindgen_test]
fn b5_key_is_in_local_storage_before_begin_returns() {
    js("localStorage.clear()");
    let mut e = engine(true);
    let id = ident("user-1", "track:test.mp4");
    let (_, from_storage, key) = begin(&mut e, &id, 1_000.0);
    assert!(!from_storage, "a new key is not from storage");
    let sk = storage_key(&id).unwrap();
    let stored = ls_get(&sk).expect("entry written ahead of the send");
    assert!(stored.contains(&key), "{stored}");
    assert!(stored.contains("\"state\":\"pending\""), "{stored}");
    for clear in ["user-1", "track", "test.mp4", "127.0.0.1"] {
        assert!(!stored.contains(clear) && !sk.contains(clear), "{clear} stored in clear");
    }
    let kinds: Vec<String> = events(&mut e).iter().map(|e| e.split(':').next().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["check", "miss", "store"]);
}

#[wasm_bindgen_test]
fn b5_a_new_engine_after_reload_finds_the_same_key() {
    js("localStorage.clear()");
    let id = ident("default", "create:1");
    let mut first = engine(false);
    let (_, _, key) = begin(&mut first, &id, 1_000.0);
    drop(first); // the page goes away mid-flight
    let mut second = engine(true);
    let (_, from_storage, key2) = begin(&mut second, &id, 2_000.0);
    assert!(from_storage);
    assert_eq!(key2, key);
    let ev = events(&mut second);
    assert!(ev.iter().any(|e| e.starts_with(&format!("hit:{}", &key[..8]))), "{ev:?}");
}

#[wasm_bindgen_test]
fn b6_outcomes_update_the_stored_entry() {
    js("localStorage.clear()");
    let mut e = engine(false);
    let policy = Policy { attempts: 2, base_ms: 100.0, max_ms: 1000.0, max_retry_after_ms: 60_000.0, statuses: Policy::statuses(&[503]) };
    let run = |e: &mut Engine, action: &str, status: i32, attempt: u32| {
        let id = ident("s", action);
        let (t, _, _) = begin(e, &id, 1_000.0);
        let d = e.outcome(t, &policy, attempt, status, None, false, true, 1_000.0, 0.5);
        if d >= 0.0 {
            e.finish(t); // a retry verdict keeps the flight open; a final one ends it
        }
        (storage_key(&id).unwrap(), d)
    };
    let (sk, d) = run(&mut e, "ok", 201, 1);
    assert_eq!(d, -1.0);
    assert!(ls_get(&sk).unwrap().contains("\"state\":\"settled\""));
    assert!(ls_get(&sk).unwrap().contains(&format!("\"expiresAt\":{}", 1_000 + 10_000)));
    let (sk, d) = run(&mut e, "bad", 422, 1);
    assert_eq!(d, -1.0);
    assert_eq!(ls_get(&sk), None, "422 releases the key");
    let (sk, d) = run(&mut e, "busy", 503, 1);
    assert_eq!(d, 50.0, "full jitter: 0.5 * base");
    assert!(ls_get(&sk).unwrap().contains("pending"));
    let (sk, d) = run(&mut e, "busy2", 503, 2);
    assert_eq!(d, -1.0, "attempts spent");
    assert!(ls_get(&sk).unwrap().contains("pending"), "exhausted keeps the key pending");
    assert_eq!(e.flight_count(), 0);
}

#[wasm_bindgen_test]
fn b7_bounds_hold_in_real_storage() {
    js("localStorage.clear()");
    let mut e = Engine::new(TTL, SETTLE, 5, false, false, 0.0);
    for i in 0..40 {
        let id = ident("bounded", &format!("a{i}"));
        let (t, _, _) = begin(&mut e, &id, f64::from(i));
        e.finish(t);
    }
    let n = js(&format!("return Object.keys(localStorage).filter(k => k.startsWith('{}')).length", scope_prefix("bounded")));
    assert_eq!(n.as_f64(), Some(5.0));
    // Expired entries are pruned when an engine starts.
    js("localStorage.clear()");
    let mut short = Engine::new(10.0, SETTLE, 100, false, false, 0.0);
    let (t, _, _) = begin(&mut short, &ident("ttl", "a"), 0.0);
    short.finish(t);
    assert_eq!(js("return localStorage.length").as_f64(), Some(1.0));
    let _later = Engine::new(10.0, SETTLE, 100, false, false, 50.0);
    assert_eq!(js("return localStorage.length").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
fn b10_throwing_local_storage_falls_back_to_memory_once() {
    js("localStorage.clear()");
    js("window.__ls = Object.getOwnPropertyDescriptor(window, 'localStorage') || Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage');
        Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });");
    let mut e = Engine::new(TTL, SETTLE, 1000, false, false, 0.0);
    let id = ident("s", "a");
    let (_, _, key) = begin(&mut e, &id, 0.0);
    let (_, from_storage, key2) = begin(&mut e, &id, 1.0);
    js("Object.defineProperty(window, 'localStorage', window.__ls);");
    assert!(is_uuid_v4(&key));
    assert!(from_storage, "the memory fallback still remembers the key");
    assert_eq!(key2, key);
    let ev = events(&mut e);
    assert_eq!(ev.iter().filter(|e| e.starts_with("storage-fallback")).count(), 1, "{ev:?}");
    assert!(ev[0].contains("denied"), "{ev:?}");
}

#[wasm_bindgen_test]
fn b10_quota_exceeded_on_write_loses_nothing() {
    js("localStorage.clear()");
    js("window.__set = Storage.prototype.setItem;
        Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };");
    let mut e = Engine::new(TTL, SETTLE, 1000, false, false, 0.0);
    let id = ident("s", "q");
    let first = e.begin(&id, true, false, None, 0.0);
    js("Storage.prototype.setItem = window.__set;");
    let key = first.unwrap().key;
    assert!(is_uuid_v4(&key));
    let (_, _, key2) = begin(&mut e, &id, 1.0);
    assert_eq!(key2, key);
    assert_eq!(events(&mut e).iter().filter(|e| e.starts_with("storage-fallback")).count(), 1);
}

#[wasm_bindgen_test]
fn b10_corrupt_entry_falls_back() {
    js("localStorage.clear()");
    let sk = storage_key(&ident("s", "c")).unwrap();
    js(&format!("localStorage.setItem('{sk}', '{{\"key\": broken')"));
    let mut e = Engine::new(TTL, SETTLE, 1000, false, false, 0.0);
    let (_, _, key) = begin(&mut e, &ident("s", "c"), 0.0);
    assert!(is_uuid_v4(&key));
    assert_eq!(events(&mut e).iter().filter(|e| e.starts_with("storage-fallback")).count(), 1);
}

#[wasm_bindgen_test]
fn b13_clear_removes_only_its_scope() {
    js("localStorage.clear(); localStorage.setItem('app:theme', 'dark');");
    let mut e = engine(false);
    for scope in ["alice", "bob"] {
        for a in ["x", "y"] {
            let (t, _, _) = begin(&mut e, &ident(scope, a), 1_000.0);
            e.finish(t);
        }
    }
    e.admin(OP_CLEAR, "alice", "", 0.0).unwrap();
    assert_eq!(ls_get(&storage_key(&ident("alice", "x")).unwrap()), None);
    assert!(ls_get(&storage_key(&ident("bob", "x")).unwrap()).is_some());
    assert_eq!(ls_get("app:theme").as_deref(), Some("dark"));
}

#[wasm_bindgen_test]
fn b9_key_for_is_stable_and_shared_with_fetch() {
    js("localStorage.clear()");
    let mut e = engine(false);
    let k1 = e.admin(OP_KEY_FOR, "s", "wf-123:step:0", 1_000.0).unwrap();
    let k2 = e.admin(OP_KEY_FOR, "s", "wf-123:step:0", 2_000.0).unwrap();
    let other = e.admin(OP_KEY_FOR, "s", "wf-123:step:1", 2_000.0).unwrap();
    assert_eq!(k1, k2);
    assert_ne!(k1, other);
    // A fetch with the same explicit action reuses the keyFor key (unbound fingerprint).
    let (_, _, key) = begin(&mut e, &ident("s", "wf-123:step:0"), 3_000.0);
    assert_eq!(key, k1);
    assert!(e.admin(OP_KEY_FOR, "s", "bad\naction", 0.0).is_err());
}
