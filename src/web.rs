//! The browser half: localStorage as a [`Backend`], and the CSPRNG.
//!
//! The shipped module (feature `tiny`) imports six small functions from the
//! facade (`js/engine.ts`, import module `"oncefetch"`) instead of using
//! wasm-bindgen: no glue, no externref table. Other builds (the browser tests
//! under wasm-bindgen-test) bind the same calls with wasm-bindgen. In both,
//! entries cross as records ([`Entry::encode`](crate::entry::Entry::encode))
//! and are stored as the SPEC's JSON by `js/codec.js`, and
//! a page with no `window` (a worker, Node), a missing `localStorage` or a
//! getter that throws `SecurityError` surfaces as a caught error — a
//! [`Fault`] — instead of a trap.

#[allow(unused_imports)]
use crate::prelude::*;

use crate::client::{Event, Kind};
use crate::error::Error;
use crate::store::{Backend, Fault};

#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
mod js {
    #[allow(unused_imports)]
    use crate::prelude::*;

    // Each returns >= 0 for a value (its length in UTF-16 code units, the
    // value waiting in the facade for `take`), -1 for null / done, and
    // -2 - n for a thrown error (its message, n code units, waiting likewise).
    #[link(wasm_import_module = "oncefetch")]
    extern "C" {
        /// The entry under `k`, as a record (`""`: not an entry).
        fn entry_get(k: *const u8, k_len: usize) -> i32;
        fn ls_key(i: u32) -> i32;
        /// Stores the record `v` as JSON under `k`.
        fn entry_set(k: *const u8, k_len: usize, v: *const u8, v_len: usize) -> i32;
        fn ls_remove(k: *const u8, k_len: usize) -> i32;
        fn get_random(p: *mut u8, n: usize) -> i32;
        /// Writes the waiting string as UTF-8 (TextEncoder.encodeInto) at `p`,
        /// at most `cap` bytes; returns the bytes written.
        fn take(p: *mut u8, cap: usize) -> usize;
        /// Queues an event in the facade (it cannot fail, and calls no page code).
        fn event(kind: u32, attempt: u32, status: i32, delay_ms: f64, text: *const u8, text_len: usize);
    }

    pub fn emit(kind: u32, attempt: u32, status: i32, delay_ms: f64, text: &str) {
        // SAFETY: `text` is live for the call; the facade copies it out.
        unsafe { event(kind, attempt, status, delay_ms, text.as_ptr(), text.len()) }
    }

    /// The string waiting in the facade, `units` UTF-16 code units long.
    fn taken(units: u32) -> String {
        // A UTF-16 code unit is at most 3 bytes of UTF-8.
        let cap = (units as usize).saturating_mul(3);
        let mut v: Vec<u8> = Vec::with_capacity(cap);
        // SAFETY: `take` writes at most `cap` bytes into the reserved capacity
        // and returns how many; encodeInto writes only valid UTF-8.
        unsafe {
            let n = take(v.as_mut_ptr(), cap);
            v.set_len(n.min(cap));
            String::from_utf8_unchecked(v)
        }
    }

    fn value(r: i32) -> Result<Option<String>, String> {
        match r {
            -1 => Ok(None),
            r if r >= 0 => Ok(Some(taken(r.unsigned_abs()))),
            r => Err(taken((-2 - r).unsigned_abs())),
        }
    }

    fn done(r: i32) -> Result<(), String> {
        value(r).map(|_| ())
    }

    pub fn get(k: &str) -> Result<Option<String>, String> {
        // SAFETY: the pointers and lengths describe live buffers for the call.
        value(unsafe { entry_get(k.as_ptr(), k.len()) })
    }
    pub fn key(i: u32) -> Result<Option<String>, String> {
        // SAFETY: no pointers.
        value(unsafe { ls_key(i) })
    }
    pub fn set(k: &str, v: &str) -> Result<(), String> {
        // SAFETY: as in `get`.
        done(unsafe { entry_set(k.as_ptr(), k.len(), v.as_ptr(), v.len()) })
    }
    pub fn remove(k: &str) -> Result<(), String> {
        // SAFETY: as in `get`.
        done(unsafe { ls_remove(k.as_ptr(), k.len()) })
    }
    pub fn random(buf: &mut [u8]) -> Result<(), String> {
        // SAFETY: `buf` is live and writable for the call.
        done(unsafe { get_random(buf.as_mut_ptr(), buf.len()) })
    }
}

#[cfg(all(not(all(target_arch = "wasm32", feature = "tiny")), feature = "bindgen"))]
mod js {
    #[allow(unused_imports)]
    use crate::prelude::*;

    use wasm_bindgen::prelude::*;

    // Through `js_namespace` rather than `window.localStorage`, so a missing
    // global is a caught ReferenceError.
    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = localStorage, js_name = getItem)]
        fn ls_get(k: &str) -> Result<Option<String>, JsValue>;
        #[wasm_bindgen(catch, js_namespace = localStorage, js_name = setItem)]
        fn ls_set(k: &str, v: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = localStorage, js_name = removeItem)]
        fn ls_remove(k: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = localStorage, js_name = key)]
        fn ls_key(i: u32) -> Result<Option<String>, JsValue>;
        #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
        fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
    }

    // The facade's own conversion, the same file the shipped module's imports use.
    #[wasm_bindgen(module = "/js/codec.js")]
    extern "C" {
        #[wasm_bindgen(js_name = toRecord)]
        fn to_record(json: &str) -> String;
        #[wasm_bindgen(js_name = toJson)]
        fn to_json(record: &str) -> String;
    }

    /// Any thrown value as text (scripts can throw strings, `null`, objects).
    fn describe(value: JsValue) -> String {
        if let Some(s) = value.as_string() {
            return s;
        }
        if let Some(e) = JsCast::dyn_ref::<js_sys::Error>(&value) {
            return String::from(e.message());
        }
        "non-Error value".into()
    }

    pub fn get(k: &str) -> Result<Option<String>, String> {
        ls_get(k).map(|v| v.map(|json| to_record(&json))).map_err(describe)
    }
    pub fn key(i: u32) -> Result<Option<String>, String> {
        ls_key(i).map_err(describe)
    }
    pub fn set(k: &str, v: &str) -> Result<(), String> {
        ls_set(k, &to_json(v)).map_err(describe)
    }
    pub fn remove(k: &str) -> Result<(), String> {
        ls_remove(k).map_err(describe)
    }
    pub fn random(buf: &mut [u8]) -> Result<(), String> {
        get_random_values(buf).map(|_| ()).map_err(describe)
    }
}

/// Neither binding (a native build without the `bindgen` feature): no browser.
#[cfg(all(not(all(target_arch = "wasm32", feature = "tiny")), not(feature = "bindgen")))]
mod js {
    #[allow(unused_imports)]
    use crate::prelude::*;

    fn none<T>() -> Result<T, String> {
        Err("no browser".into())
    }
    pub fn get(_: &str) -> Result<Option<String>, String> {
        none()
    }
    pub fn key(_: u32) -> Result<Option<String>, String> {
        none()
    }
    pub fn set(_: &str, _: &str) -> Result<(), String> {
        none()
    }
    pub fn remove(_: &str) -> Result<(), String> {
        none()
    }
    pub fn random(_: &mut [u8]) -> Result<(), String> {
        none()
    }
}

/// `localStorage` (whatever the global of that name is), entries stored as JSON.
pub struct LocalStorage;

impl Backend for LocalStorage {
    fn get(&self, k: &str) -> Result<Option<String>, Fault> {
        js::get(k).map_err(Fault)
    }
    fn set(&mut self, k: &str, v: &str) -> Result<(), Fault> {
        js::set(k, v).map_err(Fault)
    }
    fn remove(&mut self, k: &str) -> Result<(), Fault> {
        js::remove(k).map_err(Fault)
    }
    fn keys(&self) -> Result<Vec<String>, Fault> {
        let mut out = Vec::new();
        let mut i = 0u32;
        while let Some(k) = js::key(i).map_err(Fault)? {
            out.push(k);
            i += 1;
        }
        Ok(out)
    }
}

/// Where an engine's events go. In the shipped module, straight to the facade
/// through the `event` import: it queues them in JS and hands them to
/// listeners, with the call's label, once the engine call has returned — no
/// queue, no allocation and no drain export in wasm. In other builds (the
/// Rust tests), a queue the caller drains with [`Events::take`].
#[derive(Default)]
pub struct Events(#[cfg(not(all(target_arch = "wasm32", feature = "tiny")))] Vec<Event>);

impl Events {
    /// Emits (or queues) one event; `text` is the key's start or the fall-back's reason.
    pub fn push(&mut self, kind: Kind, text: &str, attempt: u32, status: i32, delay_ms: f64) {
        #[cfg(all(target_arch = "wasm32", feature = "tiny"))]
        js::emit(kind as u32, attempt, status, delay_ms, text);
        #[cfg(not(all(target_arch = "wasm32", feature = "tiny")))]
        self.0.push(Event { kind, text: text.to_owned(), attempt, status, delay_ms });
    }

    /// The events queued since the last call, oldest first (none in the
    /// shipped module: they went to the facade as they happened).
    pub fn take(&mut self) -> Vec<Event> {
        #[cfg(all(target_arch = "wasm32", feature = "tiny"))]
        return Vec::new();
        #[cfg(not(all(target_arch = "wasm32", feature = "tiny")))]
        core::mem::take(&mut self.0)
    }
}

/// Random bytes from `crypto.getRandomValues`, fetched 256 at a time: a
/// call for 16 bytes costs ~1.8 µs in Chromium, one for 256 ~0.1 µs per 16.
pub struct Random {
    buf: [u8; 256],
    /// Bytes of `buf` not handed out yet (its first `left`).
    left: usize,
}

impl Default for Random {
    fn default() -> Self {
        Random { buf: [0; 256], left: 0 }
    }
}

impl Random {
    /// Sixteen bytes for one UUID.
    pub fn bytes16(&mut self) -> Result<[u8; 16], Error> {
        if self.left < 16 {
            js::random(&mut self.buf).map_err(Error::Random)?;
            self.left = self.buf.len();
        }
        self.left -= 16;
        // (`left` ≤ 240 here: the chunk is always there.)
        Ok(self.buf.get(self.left..).and_then(|rest| rest.first_chunk()).copied().unwrap_or([0; 16]))
    }
}
