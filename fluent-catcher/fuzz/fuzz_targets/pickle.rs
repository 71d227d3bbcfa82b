//! A `SocketHandler` record's pickle: read as data and rendered, or
//! refused; never a panic, never past the record's limit.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fluent_catcher::fuzzing::pickle_record(bytes));
