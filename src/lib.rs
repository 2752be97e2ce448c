//! oncefetch: one logical user action, exactly one server-side effect.
//!
//! The WebAssembly core of the `oncefetch` npm package. The pure modules
//! (identity, retry timing, stored entries, the store's state machine) have no
//! browser dependency and are tested natively; `web` binds localStorage and
//! the CSPRNG; `client` is the engine the TypeScript facade drives.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod action;
pub mod client;
pub mod entry;
pub mod error;
pub mod hash;
pub mod key;
pub mod retry;
pub mod store;
pub mod validate;
pub mod web;

pub use client::{Engine, RetryPolicy};

/// The wasm allocator: talc is about a third of dlmalloc's size in this module, and faster.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
