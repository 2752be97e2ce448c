//! The shipped module's exports: a small C-like interface the facade
//! (`js/engine.ts`) calls directly — numbers in and out, strings through two
//! buffers in wasm memory — instead of wasm-bindgen's generated glue.
//!
//! Strings in: the facade writes each argument's UTF-8 one after another into
//! the *input* buffer — `TextEncoder.encodeInto`, which writes only valid
//! UTF-8, or byte by byte for short ASCII — and passes their byte lengths, -1
//! for an absent one. Strings out: written to the *output* buffer; the export
//! returns their length, or a negative code for an error whose message is in
//! the output buffer ([`TYPE_ERROR`]: a `TypeError`; [`ERROR`]: an `Error`).
//! The buffers' addresses are published in [`Regs`], at a fixed address the
//! facade reads after each call (a buffer moves when it grows). A body larger
//! than one input buffer's worth is hashed in pieces ([`body_start`],
//! [`body_more`]), so wasm memory never holds a whole large body.
//!
//! wasm runs one thread, and the facade refuses to call in while a call is
//! running (an import may run page code — a patched `localStorage.getItem`,
//! an error's `message` getter — that calls the client back: that call
//! throws instead), so the state below is never aliased.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::vec;
use core::cell::UnsafeCell;

use crate::action::fingerprint_hasher;
use crate::client::Engine;
use crate::error::Error;
use crate::hash::Sha256;
use crate::retry::{Policy, STATUS_BYTES};

/// An export failed with an `Error::Invalid`: throw a `TypeError` with the output text.
pub const TYPE_ERROR: i32 = -1;
/// An export failed otherwise: throw an `Error` with the output text.
pub const ERROR: i32 = -2;

/// What the facade reads after a call, at the address [`regs`] returns.
#[repr(C)]
pub struct Regs {
    /// The input buffer and its size in bytes.
    in_ptr: u32,
    in_len: u32,
    /// The output buffer and the length of what the last call wrote there.
    out_ptr: u32,
    out_len: u32,
}

/// The two buffers and their registers.
struct Io {
    regs: Regs,
    /// Zero-filled when grown; the facade writes the arguments into it.
    input: Vec<u8>,
    out: Vec<u8>,
}

struct Global {
    io: Io,
    /// Engines by handle; a freed handle's slot is reused.
    engines: Vec<Option<Engine>>,
    /// The hash of a body being fed in pieces (between [`body_start`] and [`identify`]).
    body: Option<Sha256>,
}

struct Cell(UnsafeCell<Global>);
// SAFETY: wasm32 without atomics is single-threaded.
unsafe impl Sync for Cell {}

static STATE: Cell = Cell(UnsafeCell::new(Global {
    io: Io { regs: Regs { in_ptr: 0, in_len: 0, out_ptr: 0, out_len: 0 }, input: Vec::new(), out: Vec::new() },
    engines: Vec::new(),
    body: None,
}));

fn state() -> &'static mut Global {
    // SAFETY: one thread, and no export runs while another is running (module
    // docs): one live borrow at a time.
    unsafe { &mut *STATE.0.get() }
}

/// The [`Regs`], at an address that never changes.
#[no_mangle]
pub extern "C" fn regs() -> *const Regs {
    &state().io.regs
}

/// Makes the input buffer hold at least `n` bytes.
#[no_mangle]
pub extern "C" fn reserve(n: usize) {
    let io = &mut state().io;
    if io.input.len() < n {
        io.input = Vec::new(); // freed before the larger one is taken
        io.input = vec![0; n];
    }
    io.regs.in_ptr = io.input.as_ptr() as u32;
    io.regs.in_len = io.input.len() as u32;
}

/// The input buffer cut into the arguments of the given byte lengths (-1:
/// absent); the arguments past `lens` are absent. (One function for every
/// arity: one copy in the wasm.)
fn args<'a>(input: &'a [u8], lens: &[i32]) -> [Option<&'a [u8]>; 5] {
    let mut out = [None; 5];
    let mut at = 0usize;
    // A plain loop, not `zip` (its iterator code in the wasm).
    let mut i = 0;
    while let (Some(o), Some(&len)) = (out.get_mut(i), lens.get(i)) {
        if let Ok(len) = usize::try_from(len) {
            let end = at.saturating_add(len);
            *o = input.get(at..end);
            at = end;
        }
        i += 1;
    }
    out
}

/// Bytes the facade wrote as UTF-8 (module docs), as text.
fn text(b: Option<&[u8]>) -> Option<&str> {
    // SAFETY: the facade writes only valid UTF-8 (module docs).
    b.map(|b| unsafe { core::str::from_utf8_unchecked(b) })
}

impl Io {
    /// Publishes `parts`, one after another, in the output buffer; returns the length.
    fn put(&mut self, parts: &[&[u8]]) -> i32 {
        self.out.clear();
        for p in parts {
            self.out.extend_from_slice(p);
        }
        self.publish()
    }

    /// Publishes the output buffer's address and length; returns the length.
    fn publish(&mut self) -> i32 {
        self.regs.out_ptr = self.out.as_ptr() as u32;
        self.regs.out_len = self.out.len() as u32;
        i32::try_from(self.out.len()).unwrap_or(i32::MAX)
    }

    /// The answer of an export returning a string (its length), or the
    /// error's code (its message in the output buffer).
    fn answer(&mut self, r: Result<String, Error>) -> i32 {
        match r {
            Ok(s) => self.put(&[s.as_bytes()]),
            Err(e) => {
                self.put(&[e.message().as_bytes()]);
                if matches!(e, Error::Invalid { .. }) {
                    TYPE_ERROR
                } else {
                    ERROR
                }
            }
        }
    }

}

fn no_engine(io: &mut Io) -> i32 {
    io.answer(Err(Error::invalid("engine", "is not an engine")))
}

/// A new engine (see [`Engine::new`]); returns its handle.
#[no_mangle]
pub extern "C" fn engine_new(ttl_ms: f64, settle_ms: f64, max_entries: u32, memory: u32, observed: u32, now: f64) -> u32 {
    let engines = &mut state().engines;
    let engine = Engine::new(ttl_ms, settle_ms, max_entries, memory != 0, observed != 0, now);
    // A plain loop, not enumerate().find (its iterator code in the wasm).
    let mut i = 0;
    while let Some(slot) = engines.get_mut(i) {
        if slot.is_none() {
            *slot = Some(engine);
            return i as u32;
        }
        i += 1;
    }
    engines.push(Some(engine));
    i as u32
}

/// Frees engine `e` (its client was garbage-collected).
#[no_mangle]
pub extern "C" fn engine_free(e: u32) {
    if let Some(slot) = state().engines.get_mut(e as usize) {
        *slot = None;
    }
}

fn engine(engines: &mut [Option<Engine>], e: u32) -> Option<&mut Engine> {
    engines.get_mut(e as usize).and_then(Option::as_mut)
}

/// Starts hashing a body fed in pieces: input method and URL (see [`identify`]).
#[no_mangle]
pub extern "C" fn body_start(method: i32, url: i32) {
    let Global { io, body, .. } = state();
    let [m, u, ..] = args(&io.input, &[method, url]);
    *body = Some(fingerprint_hasher(text(m).unwrap_or(""), text(u).unwrap_or("")));
}

/// Feeds the next `len` bytes of the body (the input buffer's start).
#[no_mangle]
pub extern "C" fn body_more(len: i32) {
    let Global { io, body, .. } = state();
    if let (Some(h), [Some(piece), ..]) = (body.as_mut(), args(&io.input, &[len])) {
        h.update(piece);
    }
}

/// [`Engine::identify`]: input scope, method, URL, action and body; output
/// the identity. With `streamed`, the body's start was fed by [`body_start`]
/// and [`body_more`] (method and URL with it), and `body` is its last piece.
#[no_mangle]
pub extern "C" fn identify(scope: i32, method: i32, url: i32, action: i32, body: i32, streamed: u32) -> i32 {
    let Global { io, body: started, .. } = state();
    let [s, m, u, a, b] = args(&io.input, &[scope, method, url, action, body]);
    let mut h = match (started.take(), streamed != 0) {
        (Some(h), true) => h,
        (None, false) | (Some(_), false) => fingerprint_hasher(text(m).unwrap_or(""), text(u).unwrap_or("")),
        (None, true) => return io.answer(Err(Error::invalid("body", "was streamed without body_start"))),
    };
    h.update(b.unwrap_or(&[]));
    let r = Engine::identify(text(s).unwrap_or(""), text(a), h);
    io.answer(r)
}

/// [`Engine::begin`]: input the identity and the caller's key; returns the
/// token (or an error code), output `1` or `0` (key from storage) then the key.
#[no_mangle]
pub extern "C" fn begin(e: u32, ident: i32, keyed: u32, fresh: u32, caller_key: i32, now: f64) -> i32 {
    let Global { io, engines, .. } = state();
    let Some(engine) = engine(engines, e) else { return no_engine(io) };
    let [i, k, ..] = args(&io.input, &[ident, caller_key]);
    let r = engine.begin(text(i).unwrap_or(""), keyed != 0, fresh != 0, text(k), now);
    match r {
        Ok(b) => {
            io.put(&[if b.from_storage { b"1" } else { b"0" }, b.key.as_bytes()]);
            i32::try_from(b.token).unwrap_or(i32::MAX)
        }
        Err(x) => io.answer(Err(x)),
    }
}

/// [`Engine::outcome`] under the retry policy given by the numbers and, in
/// the input, its statuses (the [`STATUS_BYTES`]-byte bitset of
/// [`Policy::statuses`]). `retry_after_ms` is the answer's `Retry-After` in
/// milliseconds from now (read by the facade, js/retry-after.js), negative
/// when absent. `flags`: 1 replayed, 2 resendable. Returns the delay or -1.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn outcome(e: u32, token: u32, attempt: u32, status: i32, retry_after_ms: f64, flags: u32, now: f64, rand: f64, attempts: u32, base_ms: f64, max_ms: f64, max_retry_after_ms: f64) -> f64 {
    let Global { io, engines, .. } = state();
    let Some(engine) = engine(engines, e) else { return -1.0 };
    let [bits, ..] = args(&io.input, &[STATUS_BYTES as i32]);
    // (`bits` is exactly STATUS_BYTES long, or absent: no statuses.)
    let statuses = bits.and_then(|b| b.first_chunk()).copied().unwrap_or([0; STATUS_BYTES]);
    let policy = Policy { attempts: attempts.max(1), base_ms, max_ms, max_retry_after_ms, statuses };
    // `>=` is false for NaN as well.
    let retry_after_ms = (retry_after_ms >= 0.0).then_some(retry_after_ms);
    engine.outcome(token, &policy, attempt, status, retry_after_ms, flags & 1 != 0, flags & 2 != 0, now, rand)
}

/// [`Engine::finish`].
#[no_mangle]
pub extern "C" fn finish(e: u32, token: u32) {
    if let Some(engine) = engine(&mut state().engines, e) {
        engine.finish(token);
    }
}

/// [`Engine::admin`]: input scope and action; output the key or nothing.
#[no_mangle]
pub extern "C" fn admin(e: u32, op: u32, scope: i32, action: i32, now: f64) -> i32 {
    let Global { io, engines, .. } = state();
    let Some(engine) = engine(engines, e) else { return no_engine(io) };
    let [s, a, ..] = args(&io.input, &[scope, action]);
    let r = engine.admin(op, text(s).unwrap_or(""), text(a).unwrap_or(""), now);
    io.answer(r)
}
