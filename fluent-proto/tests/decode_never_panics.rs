//! The decoder's promise: no input makes it panic. Random bytes, valid frames
//! with random mutations, and every prefix of a valid stream go through the
//! frame decoder, the request parser, every event, every value (walked
//! recursively with `Debug`), and gzip.

mod support;

use fluent_proto::{Decoded, Events, Frame, FrameDecoder, Limits, Options, Request, Timestamp, Value};
use proptest::prelude::*;

/// Pushes everything the decoder offers through every accessor.
fn exercise(bytes: &[u8]) {
    let mut decoder = FrameDecoder::new(Limits { max_frame_len: 1 << 16, max_depth: 16 });
    let mut rest = bytes;
    // Feed in two steps to exercise resumption too.
    let split = rest.len() / 2;
    let _ = decoder.decode(&rest[..split]);
    let mut decoder = FrameDecoder::new(Limits { max_frame_len: 1 << 16, max_depth: 16 });
    while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(rest) {
        if let Frame::Request(r) = frame {
            walk_request(&r);
        }
        rest = &rest[consumed..];
    }
    if let Ok(r) = Request::parse(bytes, 16) {
        walk_request(&r);
    }
    if let Ok((v, _)) = Value::read(bytes, 16) {
        let _ = format!("{v:?}");
    }
    let _ = fluent_proto::parse_ack(bytes);
    let _ = fluent_proto::gzip::decompress(bytes, 1 << 16);
    let _ = fluent_proto::handshake::Helo::parse(bytes);
    let _ = fluent_proto::handshake::Ping::parse(bytes);
    let _ = fluent_proto::handshake::Pong::parse(bytes);
    for e in Events::packed(bytes, 16) {
        let _ = format!("{e:?}");
    }
    // Head by head to the end, as a single-pass consumer walks.
    let mut at = 0;
    while let Ok((head, used)) = fluent_proto::Head::read(&bytes[at..]) {
        let _ = format!("{head:?}");
        at += used;
    }
}

fn walk_request(r: &Request<'_>) {
    let _ = (r.tag(), r.mode(), r.options(), r.packed_entries());
    for e in r.events() {
        let _ = format!("{e:?}");
    }
    if let Ok(plain) = r.decompress(1 << 16) {
        for e in Events::packed(&plain, r.event_depth()) {
            let _ = format!("{e:?}");
        }
    }
}

fn valid_stream() -> impl Strategy<Value = Vec<u8>> {
    (support::small_record(), any::<u32>()).prop_map(|(rec, t)| {
        let mut wire = vec![0xc0];
        let time = Timestamp::Seconds(u64::from(t));
        fluent_proto::encode_message(&mut wire, "a.b", time, &rec, None).unwrap();
        let mut entries = Vec::new();
        fluent_proto::encode_entry(&mut entries, time, &rec).unwrap();
        fluent_proto::encode_packed_forward(&mut wire, "a", &entries, Default::default(), None).unwrap();
        fluent_proto::encode_compressed_packed_forward(&mut wire, "a", &entries, &Options::default(), 1).unwrap();
        wire
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_after_an_array_header(tail in proptest::collection::vec(any::<u8>(), 0..256), n in 0u8..4) {
        let mut bytes = vec![0x90 | n, 0xa1, b't'];
        bytes.extend(tail);
        exercise(&bytes);
    }

    #[test]
    fn mutated_valid_frames(
        stream in valid_stream(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = stream;
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.insert(i, byte); }
                _ => { bytes.remove(i); }
            }
        }
        exercise(&bytes);
    }

    #[test]
    fn prefixes_of_a_valid_stream(stream in valid_stream()) {
        // Every prefix of short streams; 64 spread-out prefixes of long ones.
        let step = (stream.len() / 64).max(1);
        for end in (0..stream.len()).step_by(step) {
            exercise(&stream[..end]);
        }
    }
}
