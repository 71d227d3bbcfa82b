//! JSON Forward requests, whole and split in two at the first byte's
//! position: the same lines either way, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let split = bytes.first().map_or(0, |&b| usize::from(b));
    fluent_catcher::fuzzing::json_requests(bytes, split);
});
