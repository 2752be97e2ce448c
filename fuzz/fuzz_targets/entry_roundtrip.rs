#![no_main]
libfuzzer_sys::fuzz_target!(|case: oncefetch_fuzz::entry::EntryCase| oncefetch_fuzz::entry::roundtrip(&case));
