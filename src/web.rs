//! The browser half: localStorage as a [`Backend`], and the CSPRNG.
//!
//! Bound through `js_namespace` rather than `window.localStorage`, so that a
//! page with no `window` (a worker, Node), a missing `localStorage` or a
//! getter that throws `SecurityError` all surface as a caught error — a
//! [`Fault`] — instead of a trap.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;

use crate::error::{describe, Error};
use crate::store::{Backend, Fault};

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

fn fault(e: JsValue) -> Fault {
    Fault(describe(&e))
}

/// `window.localStorage` (or whatever global `localStorage` is).
pub struct LocalStorage;

impl Backend for LocalStorage {
    fn get(&self, k: &str) -> Result<Option<String>, Fault> {
        ls_get(k).map_err(fault)
    }
    fn set(&mut self, k: &str, v: &str) -> Result<(), Fault> {
        ls_set(k, v).map_err(fault)
    }
    fn remove(&mut self, k: &str) -> Result<(), Fault> {
        ls_remove(k).map_err(fault)
    }
    fn keys(&self) -> Result<Vec<String>, Fault> {
        let mut out = Vec::new();
        let mut i = 0u32;
        while let Some(k) = ls_key(i).map_err(fault)? {
            out.push(k);
            i += 1;
        }
        Ok(out)
    }
}

/// Random bytes from `crypto.getRandomValues`, fetched 256 at a time to keep
/// boundary crossings off the per-call path.
#[derive(Default)]
pub struct Random {
    buf: Vec<u8>,
}

impl Random {
    /// Sixteen bytes for one UUID.
    pub fn bytes16(&mut self) -> Result<[u8; 16], Error> {
        if self.buf.len() < 16 {
            let mut fresh = vec![0u8; 256];
            get_random_values(&mut fresh).map_err(|e| Error::Random(describe(&e)))?;
            self.buf = fresh;
        }
        let at = self.buf.len().saturating_sub(16);
        let mut out = [0u8; 16];
        for (o, b) in out.iter_mut().zip(self.buf.get(at..).unwrap_or(&[])) {
            *o = *b;
        }
        self.buf.truncate(at);
        Ok(out)
    }
}
