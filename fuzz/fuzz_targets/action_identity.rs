#![no_main]
libfuzzer_sys::fuzz_target!(|case: oncefetch_fuzz::identity::IdentityCase| oncefetch_fuzz::identity::check(&case));
