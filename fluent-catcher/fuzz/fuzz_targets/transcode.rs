//! PackedForward entries: the single-pass transcoder writes exactly what
//! the general decoder path writes.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fluent_catcher::fuzzing::packed_entries(bytes));
