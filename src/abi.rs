//! The shipped module's exports: a small C-like interface the facade
//! (`js/engine.ts`) calls directly — numbers in and out, strings through two
//! buffers in wasm memory — instead of wasm-bindgen's generated glue.
//!
//! Strings in: the facade writes each argument's UTF-8 one after another into
//! the *input* buffer — `TextEncoder.encodeInto`, which writes only valid
//! UTF-8, or byte by byte for short ASCII — and passes their byte lengths, -1
//! for an absent one. Strings out: written to the
//! *output* buffer; the export returns their length, or a negative code for an
//! error whose message is in the output buffer ([`TYPE_ERROR`]: a `TypeError`;
//! [`ERROR`]: an `Error`). The buffers' addresses are published in [`Regs`],
//! at a fixed address the facade reads after each call (a buffer moves when
//! it grows).
//!
//! wasm runs one thread and the facade never calls in while a call is running
//! (its imports do not call back), so the state below is never aliased.

#[allow(unused_imports)]
use crate::prelude::*;

use core::cell::UnsafeCell;

use crate::client::{Engine, Event};
use crate::error::Error;
use crate::retry::{Policy, STATUS_BYTES};

/// An export failed with an `Error::Invalid`: throw a `TypeError` with the output text.
pub const TYPE_ERROR: i32 = -1;
/// An export failed otherwise: throw an `Error` with the output text.
pub const ERROR: i32 = -2;

/// What the facade reads after a call, at the address [`regs`] returns.
#[repr(C)]
pub struct Regs {
    /// The input buffer and its capacity in bytes.
    in_ptr: u32,
    in_cap: u32,
    /// The output buffer and the length of what the last call wrote there.
    out_ptr: u32,
    out_len: u32,
    /// Non-zero when the engine just called queued events (drain with [`events`]).
    events: u32,
}

struct Global {
    regs: Regs,
    input: Vec<u8>,
    out: Vec<u8>,
    /// Engines by handle; a freed handle's slot is reused.
    engines: Vec<Option<Engine>>,
}

struct Cell(UnsafeCell<Global>);
// SAFETY: wasm32 without atomics is single-threaded.
unsafe impl Sync for Cell {}

static STATE: Cell = Cell(UnsafeCell::new(Global {
    regs: Regs { in_ptr: 0, in_cap: 0, out_ptr: 0, out_len: 0, events: 0 },
    input: Vec::new(),
    out: Vec::new(),
    engines: Vec::new(),
}));

fn state() -> &'static mut Global {
    // SAFETY: single thread, no re-entrant calls (module docs): one live borrow at a time.
    unsafe { &mut *STATE.0.get() }
}

/// The [`Regs`], at an address that never changes.
#[no_mangle]
pub extern "C" fn regs() -> *const Regs {
    &state().regs
}

/// Makes the input buffer hold at least `n` bytes.
#[no_mangle]
pub extern "C" fn reserve(n: usize) {
    let g = state();
    if g.input.capacity() < n {
        g.input = Vec::with_capacity(n);
    }
    g.regs.in_ptr = g.input.as_ptr() as u32;
    g.regs.in_cap = g.input.capacity() as u32;
}

/// The input buffer cut into the arguments of the given byte lengths (-1: absent).
fn args<const N: usize>(input: &[u8], lens: [i32; N]) -> [Option<&[u8]>; N] {
    let mut out = [None; N];
    let mut at = 0usize;
    for (o, len) in out.iter_mut().zip(lens) {
        if let Ok(len) = usize::try_from(len) {
            *o = input.get(at..at.saturating_add(len));
            at = at.saturating_add(len);
        }
    }
    out
}

/// The input buffer as the facade left it: `cap` bytes from its start.
fn input(g: &Global) -> &'static [u8] {
    // SAFETY: wasm memory is always initialised (zeroed, then written), and the
    // facade wrote the arguments within the capacity before the call; `args`
    // reads only the lengths it was given.
    unsafe { core::slice::from_raw_parts(g.input.as_ptr(), g.input.capacity()) }
}

/// Bytes the facade wrote as UTF-8 (module docs), as text.
fn text(b: Option<&[u8]>) -> Option<&str> {
    // SAFETY: the facade writes only valid UTF-8 (module docs).
    b.map(|b| unsafe { core::str::from_utf8_unchecked(b) })
}

/// Publishes `parts`, one after another, in the output buffer; returns the length.
fn put(g: &mut Global, parts: &[&[u8]]) -> i32 {
    g.out.clear();
    for p in parts {
        g.out.extend_from_slice(p);
    }
    publish(g)
}

/// Publishes the output buffer's address and length; returns the length.
fn publish(g: &mut Global) -> i32 {
    g.regs.out_ptr = g.out.as_ptr() as u32;
    g.regs.out_len = g.out.len() as u32;
    i32::try_from(g.out.len()).unwrap_or(i32::MAX)
}

/// The answer of an export returning a string (its length), or the error's
/// code (its message in the output buffer).
fn answer(g: &mut Global, r: Result<String, Error>) -> i32 {
    match r {
        Ok(s) => put(g, &[s.as_bytes()]),
        Err(e) => {
            put(g, &[e.message().as_bytes()]);
            if matches!(e, Error::Invalid { .. }) {
                TYPE_ERROR
            } else {
                ERROR
            }
        }
    }
}

/// Raises the events flag when engine `e` has queued events.
fn flag(g: &mut Global, e: u32) {
    if g.engines.get(e as usize).and_then(Option::as_ref).is_some_and(|x| !x.events_empty()) {
        g.regs.events = 1;
    }
}

fn no_engine(g: &mut Global) -> i32 {
    answer(g, Err(Error::invalid("engine", "is not an engine")))
}

/// A new engine (see [`Engine::new`]); returns its handle.
#[no_mangle]
pub extern "C" fn engine_new(ttl_ms: f64, settle_ms: f64, max_entries: u32, memory: u32, observed: u32, now: f64) -> u32 {
    let g = state();
    let engine = Some(Engine::new(ttl_ms, settle_ms, max_entries, memory != 0, observed != 0, now));
    let e = match g.engines.iter_mut().enumerate().find(|(_, slot)| slot.is_none()) {
        Some((i, slot)) => {
            *slot = engine;
            i as u32
        }
        None => {
            g.engines.push(engine);
            (g.engines.len() - 1) as u32
        }
    };
    flag(g, e); // a storage fall-back may be queued already
    e
}

/// Frees engine `e` (its client was garbage-collected).
#[no_mangle]
pub extern "C" fn engine_free(e: u32) {
    if let Some(slot) = state().engines.get_mut(e as usize) {
        *slot = None;
    }
}

fn engine(g: &mut Global, e: u32) -> Option<&mut Engine> {
    g.engines.get_mut(e as usize).and_then(Option::as_mut)
}

/// [`Engine::identify`]: input scope, method, URL, action, body; output the identity.
#[no_mangle]
pub extern "C" fn identify(scope: i32, method: i32, url: i32, action: i32, body: i32) -> i32 {
    let g = state();
    let [s, m, u, a, b] = args(input(g), [scope, method, url, action, body]);
    let r = Engine::identify(text(s).unwrap_or(""), text(m).unwrap_or(""), text(u).unwrap_or(""), text(a), b.unwrap_or(&[]));
    answer(g, r)
}

/// [`Engine::begin`]: input the identity and the caller's key; returns the
/// token (or an error code), output `1` or `0` (key from storage) then the key.
#[no_mangle]
pub extern "C" fn begin(e: u32, ident: i32, keyed: u32, fresh: u32, caller_key: i32, now: f64) -> i32 {
    let g = state();
    let input = input(g);
    let [i, k] = args(input, [ident, caller_key]);
    let Some(engine) = engine(g, e) else { return no_engine(g) };
    let r = engine.begin(text(i).unwrap_or(""), keyed != 0, fresh != 0, text(k), now);
    flag(g, e);
    match r {
        Ok(b) => {
            put(g, &[if b.from_storage { b"1" } else { b"0" }, b.key.as_bytes()]);
            i32::try_from(b.token).unwrap_or(i32::MAX)
        }
        Err(x) => answer(g, Err(x)),
    }
}

/// [`Engine::outcome`] under the retry policy given by the numbers and, in
/// the input, its statuses (the [`STATUS_BYTES`]-byte bitset of
/// [`Policy::statuses`]) then the Retry-After header. `flags`: 1 replayed,
/// 2 resendable. Returns the delay or -1.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn outcome(e: u32, token: u32, attempt: u32, status: i32, retry_after: i32, flags: u32, now: f64, rand: f64, attempts: u32, base_ms: f64, max_ms: f64, max_retry_after_ms: f64) -> f64 {
    let g = state();
    let [bits, ra] = args(input(g), [STATUS_BYTES as i32, retry_after]);
    let mut statuses = [0u8; STATUS_BYTES];
    for (s, b) in statuses.iter_mut().zip(bits.unwrap_or(&[])) {
        *s = *b;
    }
    let policy = Policy { attempts: attempts.max(1), base_ms, max_ms, max_retry_after_ms, statuses };
    let Some(engine) = engine(g, e) else { return -1.0 };
    let d = engine.outcome(token, &policy, attempt, status, text(ra), flags & 1 != 0, flags & 2 != 0, now, rand);
    flag(g, e);
    d
}

/// [`Engine::finish`].
#[no_mangle]
pub extern "C" fn finish(e: u32, token: u32) {
    if let Some(engine) = engine(state(), e) {
        engine.finish(token);
    }
}

/// [`Engine::admin`]: input scope and action; output the key or nothing.
#[no_mangle]
pub extern "C" fn admin(e: u32, op: u32, scope: i32, action: i32, now: f64) -> i32 {
    let g = state();
    let input = input(g);
    let [s, a] = args(input, [scope, action]);
    let Some(engine) = engine(g, e) else { return no_engine(g) };
    let r = engine.admin(op, text(s).unwrap_or(""), text(a).unwrap_or(""), now);
    flag(g, e);
    answer(g, r)
}

/// The queued events of engine `e`, drained into the output buffer as
/// 24-byte records — kind u32, attempt u32, status i32, text length u32,
/// delay f64 (little-endian) — each followed by its text padded to 8 bytes;
/// returns the output length.
#[no_mangle]
pub extern "C" fn events(e: u32) -> i32 {
    let g = state();
    let list = engine(g, e).map(Engine::take_events).unwrap_or_default();
    g.regs.events = 0;
    g.out.clear();
    for Event { kind, text, attempt, status, delay_ms } in list {
        let len = u32::try_from(text.len()).unwrap_or(0);
        for word in [kind as u32, attempt, status as u32, len] {
            g.out.extend_from_slice(&word.to_le_bytes());
        }
        g.out.extend_from_slice(&delay_ms.to_le_bytes());
        g.out.extend_from_slice(text.as_bytes());
        while !g.out.len().is_multiple_of(8) {
            g.out.push(0);
        }
    }
    publish(g)
}
