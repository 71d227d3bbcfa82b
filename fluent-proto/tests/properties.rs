//! Property tests: rmp-serde is the oracle for every record; whatever is
//! encoded decodes back to the same tree, in every mode, however the bytes
//! are split into reads.

mod support;

use fluent_proto::{
    Decoded, EntriesFormat, EventTime, Events, Frame, FrameDecoder, Limits, Options, Request, Timestamp, encode_entry,
    encode_forward, encode_message, encode_packed_forward, encode_record,
};
use proptest::prelude::*;
use support::{Tree, normalised, record, same, tree_of};

fn time() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        any::<u32>().prop_map(|s| Timestamp::Seconds(u64::from(s))),
        (any::<u32>(), 0u32..1_000_000_000).prop_map(|(s, n)| Timestamp::Event(EventTime::new(s, n))),
    ]
}

fn decode_all(wire: &[u8], chunk: usize) -> Vec<(String, Vec<(Timestamp, Tree)>)> {
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for piece in wire.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Decoded::Frame { frame, consumed } = decoder.decode(&buf).expect("valid stream") {
            if let Frame::Request(request) = frame {
                let events = match request.compressed_entries() {
                    None => request
                        .events()
                        .map(|e| {
                            let e = e.expect("event");
                            (e.time, tree_of(fluent_proto::Value::Map(e.record)))
                        })
                        .collect(),
                    Some(_) => {
                        let plain = request.decompress(1 << 26).expect("gzip");
                        Events::packed(&plain, request.event_depth())
                            .map(|e| {
                                let e = e.expect("event");
                                (e.time, tree_of(fluent_proto::Value::Map(e.record)))
                            })
                            .collect()
                    }
                };
                out.push((request.tag().to_owned(), events));
            }
            buf.drain(..consumed);
        }
    }
    assert!(buf.is_empty(), "bytes left over");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn records_match_rmp_serde(rec in record()) {
        let mut ours = Vec::new();
        encode_record(&mut ours, &rec).unwrap();
        prop_assert_eq!(ours, rmp_serde::to_vec_named(&rec).unwrap());
    }

    #[test]
    fn every_mode_round_trips(
        tag in "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}",
        events in proptest::collection::vec((time(), record()), 1..6),
        chunk in 1usize..64,
        str_entries in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        wire.push(0xc0); // heartbeat first
        let options = Options { size: Some(events.len() as u64), chunk: Some("Y2h1bms="), compressed: None };
        for (t, r) in &events {
            encode_message(&mut wire, &tag, *t, r, None).unwrap();
        }
        let refs: Vec<(Timestamp, &Tree)> = events.iter().map(|(t, r)| (*t, r)).collect();
        encode_forward(&mut wire, &tag, refs.iter().copied(), Some(&options)).unwrap();
        let mut entries = Vec::new();
        for (t, r) in &events {
            encode_entry(&mut entries, *t, r).unwrap();
        }
        // str-wrapped entries carry binary msgpack (Fluentd's out_forward), never
        // validated as UTF-8.
        let format = if str_entries { EntriesFormat::Str } else { EntriesFormat::Bin };
        encode_packed_forward(&mut wire, &tag, &entries, format, Some(&options)).unwrap();
        fluent_proto::encode_compressed_packed_forward(&mut wire, &tag, &entries, &options, 6).unwrap();

        let decoded = decode_all(&wire, chunk);
        prop_assert_eq!(decoded.len(), events.len() + 3);
        let expected: Vec<(Timestamp, Tree)> = events.iter().map(|(t, r)| (*t, normalised(r))).collect();
        let message_events: Vec<_> = decoded[..events.len()].iter().flat_map(|(_, e)| e.clone()).collect();
        for batch in [message_events, decoded[events.len()].1.clone(), decoded[events.len() + 1].1.clone(), decoded[events.len() + 2].1.clone()] {
            prop_assert_eq!(batch.len(), expected.len());
            for ((ta, ra), (tb, rb)) in batch.iter().zip(&expected) {
                prop_assert_eq!(ta, tb);
                prop_assert!(same(ra, rb), "{:?} != {:?}", ra, rb);
            }
        }
        for (t, _) in &decoded {
            prop_assert_eq!(t, &tag);
        }
    }

    #[test]
    fn request_parse_agrees_with_message_options(rec in record(), t in time()) {
        let mut wire = Vec::new();
        let options = Options { size: Some(1), chunk: Some("abc\n"), compressed: None };
        encode_message(&mut wire, "a.b", t, &rec, Some(&options)).unwrap();
        let request = Request::parse(&wire, 32).unwrap();
        prop_assert_eq!(request.options().chunk, Some("abc\n"));
        prop_assert_eq!(request.options().size, Some(1));
    }
}
