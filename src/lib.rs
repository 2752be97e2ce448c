//! oncefetch: one logical user action, exactly one server-side effect.
//!
//! The WebAssembly core of the `oncefetch` npm package. The pure modules
//! (identity, retry timing, stored entries, the store's state machine) have no
//! browser dependency and are tested natively; `web` binds localStorage and
//! the CSPRNG; `client` is the engine the TypeScript facade drives, through
//! `abi` (the shipped module's exports).
#![deny(missing_docs)]
// The shipped wasm (feature `tiny`, set by scripts/build.sh) is `no_std` +
// `alloc`: std's panic machinery and formatting cost kilobytes the module
// does not need (no code path panics; clippy denies the ways to write one).
// Tests, wasm-bindgen-test and fuzzing build with std.
#![cfg_attr(all(target_arch = "wasm32", feature = "tiny"), no_std)]
// ASCII is appended with `push_str`: `String::push(char)` brings a UTF-8
// encoder into the module for characters that are one byte anyway.
#![allow(clippy::single_char_add_str)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

extern crate alloc;

/// What std's prelude would bring, for the `no_std` wasm build.
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}

#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
pub mod abi;
pub mod action;
pub mod client;
pub mod entry;
pub mod error;
pub use oncefetch_sha256 as hash;
pub mod key;
pub mod retry;
pub mod store;
pub mod validate;
pub mod web;

pub use client::Engine;

/// The parts joined, like `[..].concat()` but without its generic join code
/// and overflow panic path in the wasm.
pub(crate) fn cat(parts: &[&str]) -> prelude::String {
    // Plain loops, not map/sum (their iterator code in the wasm).
    let mut len = 0;
    for p in parts {
        len += p.len();
    }
    let mut out = prelude::String::with_capacity(len);
    for p in parts {
        out.push_str(p);
    }
    out
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod heap;

/// The wasm allocator: size classes with free lists (see `heap.rs`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: heap::Classes = heap::Classes::new();

/// Reached only if a bug slips past clippy's no-panic lints: trap at once
/// (the facade turns the trap into a rejected promise, SPEC B12).
#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
