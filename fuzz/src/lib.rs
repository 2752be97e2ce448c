//! The properties the fuzz targets check, as plain functions.
//!
//! Each `fuzz_targets/<name>.rs` is one line that feeds libFuzzer's input to a
//! function here, so the same checks also run on stable Rust, without
//! libFuzzer: `cargo test` in this directory replays every seed in
//! `corpus/<target>/` and the regression inputs in `tests/` through them.
//!
//! A property that fails panics with a message naming it; libFuzzer saves the
//! input in `artifacts/<target>/`.

pub mod entry;
pub mod identity;
pub mod store;
pub mod validate;

/// Runs the check of `target` on raw fuzzer input, exactly as its fuzz target
/// does (structured targets decode the bytes with `arbitrary`'s
/// `arbitrary_take_rest`, as `libfuzzer-sys` does). Unknown names panic.
pub fn run_target(target: &str, data: &[u8]) {
    use arbitrary::{Arbitrary, Unstructured};
    fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
        T::arbitrary_take_rest(Unstructured::new(data)).ok()
    }
    match target {
        "entry_parse" => entry::parse(data),
        "entry_roundtrip" => {
            if let Some(case) = decode(data) {
                entry::roundtrip(&case)
            }
        }
        "validate" => validate::check(data),
        "action_identity" => {
            if let Some(case) = decode(data) {
                identity::check(&case)
            }
        }
        "store_ops" => {
            if let Some(case) = decode(data) {
                store::run(&case)
            }
        }
        other => panic!("no fuzz target named {other}"),
    }
}

/// Every fuzz target, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: [&str; 5] = ["entry_parse", "entry_roundtrip", "validate", "action_identity", "store_ops"];
