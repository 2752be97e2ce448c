#![no_main]
libfuzzer_sys::fuzz_target!(|case: oncefetch_fuzz::store::StoreCase| oncefetch_fuzz::store::run(&case));
