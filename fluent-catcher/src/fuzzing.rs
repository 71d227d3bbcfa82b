//! The parsers a client's bytes reach, on bytes alone: for the fuzz targets
//! (`fluent-catcher/fuzz`, feature `fuzzing`) and the property tests. Each
//! function panics only on a bug: a malformed input is an error, never a
//! panic, and rendering stays within its bounds.

use std::sync::Arc;

use fluent_proto::EventTime;
use tokio::sync::Semaphore;

use crate::format::{OutputFormat, write_event_line};
use crate::handoff::Pending;
use crate::memory::{Guard, Lease};

const FORMATS: [OutputFormat; 2] = [OutputFormat::JsonLines, OutputFormat::Fluentd];

/// A `SocketHandler` record's pickle: read as data and rendered, or refused.
///
/// ```
/// fluent_catcher::fuzzing::pickle_record(b"\x80\x02}q\x00.");
/// ```
pub fn pickle_record(bytes: &[u8]) {
    for format in FORMATS {
        let mut out = Vec::new();
        let limit = 64 << 10;
        if crate::log_record::write_log_record_line(&mut out, format, bytes, EventTime::new(9, 0), limit).is_ok() {
            assert!(out.ends_with(b"\n"), "a rendered record is one line");
        }
        assert!(out.len() <= limit + 4096, "a record renders within its limit (and its line head)");
    }
}

/// JSON Forward requests, fed in two pieces split at `split` (as they may
/// arrive): the framer must find the same requests as when fed whole.
///
/// ```
/// fluent_catcher::fuzzing::json_requests(br#"["t", 1, {"k": 1}]"#, 3);
/// ```
pub fn json_requests(bytes: &[u8], split: usize) {
    let limits = crate::Limits::default().max_frame_len(1 << 20);
    let budget = Arc::new(Semaphore::new(64 << 20));
    let decode = |pieces: &[&[u8]]| {
        let mut framer = crate::json_input::Framer::default();
        let mut pending = Pending::detached(&budget);
        let mut buf = Vec::new();
        let mut consumed = 0;
        for piece in pieces {
            buf.extend_from_slice(piece);
            let now = EventTime::new(9, 0);
            let d = crate::json_input::decode_bytes(
                &buf[consumed..],
                &mut framer,
                &limits,
                OutputFormat::JsonLines,
                now,
                &mut pending,
            );
            consumed += d.consumed;
            if d.outcome.is_err() {
                return (pending.lines, pending.events, false);
            }
        }
        (pending.lines, pending.events, true)
    };
    let split = split.min(bytes.len());
    let whole = decode(&[bytes]);
    let pieces = decode(&[&bytes[..split], &bytes[split..]]);
    if whole.2 && pieces.2 {
        assert_eq!(whole, pieces, "the same lines whether the bytes come whole or in two pieces");
    }
}

/// PackedForward entries: the single-pass transcoder must write exactly
/// what the general path writes, and count the same events.
///
/// ```
/// fluent_catcher::fuzzing::packed_entries(b"\x92\x01\x81\xa1k\x01");
/// ```
pub fn packed_entries(entries: &[u8]) {
    let budget = Arc::new(Semaphore::new(1 << 30));
    for format in FORMATS {
        let mut lease = Lease::new(&budget);
        let mut guard = Guard { cap: usize::MAX, lease: &mut lease, other: 0 };
        let mut out = Vec::new();
        let fast = crate::transcode::write_packed_entries(
            &mut out,
            format,
            "t",
            entries,
            EventTime::new(9, 0),
            30,
            &mut guard,
        );
        let (good, bad, _) = fast.expect("no cap, room to spare");
        let (mut expected, mut egood, mut ebad) = (Vec::new(), 0, 0);
        for event in fluent_proto::Events::packed(entries, 30) {
            match event
                .and_then(|e| write_event_line(&mut expected, format, "t", e.time, e.record, EventTime::new(9, 0)))
            {
                Ok(()) => egood += 1,
                Err(_) => ebad += 1,
            }
        }
        assert_eq!((good, bad), (egood, ebad), "the same events counted");
        assert_eq!(out, expected, "the same lines");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pickles Python's `SocketHandler` sends (protocol 2 and 0 dicts).
    const PICKLES: [&[u8]; 3] = [
        b"\x80\x02}q\x00(X\x03\x00\x00\x00msgq\x01X\x02\x00\x00\x00hiq\x02X\x07\x00\x00\x00createdq\x03G@\x00\x00\x00\x00\x00\x00\x00u.",
        b"(dp0\nVmsg\np1\nVcaf\\u00e9\np2\nsVlevelno\np3\nI20\ns.",
        b"\x80\x02}q\x00X\x04\x00\x00\x00argsq\x01]q\x02(K\x01K\x02e\x85q\x03s.",
    ];

    fn mutate(seed: &[u8], at: prop::sample::Index, byte: u8, cut: prop::sample::Index) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] ^= byte;
            bytes.truncate(cut.index(bytes.len() + 1).max(1));
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn pickles_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            pickle_record(&bytes);
        }

        #[test]
        fn pickles_mutated(seed in 0..PICKLES.len(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
            pickle_record(&mutate(PICKLES[seed], at, byte, cut));
        }

        #[test]
        fn json_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), split in any::<usize>()) {
            json_requests(&bytes, split);
        }

        #[test]
        fn json_mutated_requests(
            n in 1..20usize,
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
            split in any::<usize>(),
        ) {
            let one = r#"["t", 1, {"k": "v\"]}", "n": [1, 2.5, null]}, {"chunk": "c"}] ["u", [[1, {}], [2, {"a": {}}]]]"#;
            let requests = one.repeat(n);
            json_requests(requests.as_bytes(), split);
            json_requests(&mutate(requests.as_bytes(), at, byte, cut), split);
        }

        #[test]
        fn packed_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            packed_entries(&bytes);
        }
    }

    #[test]
    fn the_seeds_are_read() {
        for seed in PICKLES {
            let mut out = Vec::new();
            crate::log_record::write_log_record_line(
                &mut out,
                OutputFormat::JsonLines,
                seed,
                EventTime::new(9, 0),
                1 << 16,
            )
            .unwrap();
        }
    }
}
