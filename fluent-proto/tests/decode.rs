//! The decoder on hand-made inputs: every mode and time form a receiver meets
//! in the wild, and a clear error for each kind of malformed frame.

use fluent_proto::{
    DecodeError, Decoded, EventTime, Frame, FrameDecoder, Limits, Mode, Request, Timestamp, Value, parse_ack,
};

fn request(frame: &[u8]) -> Request<'_> {
    Request::parse(frame, 32).unwrap()
}

#[test]
fn ext8_event_time_is_accepted() {
    // [tag, ext8(len 8, type 0), {}]
    let frame = b"\x93\xa1t\xc7\x08\x00\x00\x00\x00\x05\x00\x00\x00\x06\x80";
    let e = request(frame).events().next().unwrap().unwrap();
    assert_eq!(e.time, Timestamp::Event(EventTime::new(5, 6)));
}

#[test]
fn fluent_bit_v2_time_metadata() {
    // [tag, [[[t, {"m": 1}], {"k": "v"}]]]
    let frame = b"\x92\xa1t\x91\x92\x92\xd7\x00\x00\x00\x00\x01\x00\x00\x00\x02\x81\xa1m\x01\x81\xa1k\xa1v";
    let e = request(frame).events().next().unwrap().unwrap();
    assert_eq!(e.time, Timestamp::Event(EventTime::new(1, 2)));
    assert_eq!(e.metadata.unwrap().get("m").unwrap(), Some(Value::UInt(1)));
    assert_eq!(e.record.get("k").unwrap(), Some(Value::Str("v")));
}

#[test]
// The literal exactly as PROTOCOL.md and Python write it.
#[allow(clippy::excessive_precision)]
fn nil_zero_and_float_times() {
    let mut float = vec![0xcb];
    float.extend_from_slice(&1490061367.8616468906402588f64.to_be_bytes());
    for (time, expected) in [
        (&b"\xc0"[..], Timestamp::Seconds(0)),
        (b"\x00", Timestamp::Seconds(0)),
        (&float[..], Timestamp::Event(EventTime::new(1490061367, 861646890))),
    ] {
        let mut frame = b"\x93\xa1t".to_vec();
        frame.extend_from_slice(time);
        frame.push(0x80);
        let e = request(&frame).events().next().unwrap().unwrap();
        assert_eq!(e.time, expected);
        if expected.seconds() == 0 {
            assert!(e.time.is_unset());
        }
    }
}

#[test]
fn unknown_options_are_ignored_and_known_ones_read() {
    // [tag, [], {"zzz": [1], "size": 0, "chunk": "c", "compressed": "text"}]
    let frame = b"\x93\xa1t\x90\x84\xa3zzz\x91\x01\xa4size\x00\xa5chunk\xa1c\xaacompressed\xa4text";
    let r = request(frame);
    assert_eq!(r.mode(), Mode::Forward);
    assert_eq!(r.options().chunk, Some("c"));
    assert_eq!(r.options().size, Some(0));
}

#[test]
fn bad_events_are_skipped_not_fatal() {
    // Forward with three entries: good, record-not-map, good.
    let frame = b"\x92\xa1t\x93\x92\x01\x80\x92\x01\x01\x92\x02\x80";
    let results: Vec<_> = request(frame).events().collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(DecodeError::RecordNotMap));
    assert!(results[2].is_ok());
}

#[test]
fn malformed_requests_have_clear_errors() {
    let cases: &[(&[u8], DecodeError)] = &[
        (b"\x91\xa1t", DecodeError::BadArity(1)),
        (b"\x92\x01\x90", DecodeError::TagNotString),
        (b"\x93\xa1t\x01\x01", DecodeError::RecordNotMap),
        (b"\x92\xa1t\xc3", DecodeError::BadEntries),
        (b"\x95\xa1t\x01\x80\x80\x80", DecodeError::BadArity(5)),
        (b"\x93\xa1t\x90\x01", DecodeError::BadOptions),
        (b"\x93\xa1t\xc4\x00\x81\xaacompressed\xa4zstd", DecodeError::UnsupportedCompression),
        (b"\x93\xa1t\xd6\x00\x00\x00\x00\x00\x80", DecodeError::BadTime),
        (b"\x93\xa1t\xff\x80", DecodeError::BadEntries),
        (b"\x93\xa2\xff\xfe\x01\x80", DecodeError::InvalidUtf8),
    ];
    for (frame, expected) in cases {
        assert_eq!(Request::parse(frame, 32).unwrap_err(), *expected, "{frame:02x?}");
    }
}

#[test]
fn stream_errors_come_early() {
    let mut d = FrameDecoder::new(Limits { max_frame_len: 1024, max_depth: 8 });
    // Not an array: refused on the first byte.
    assert_eq!(d.decode(b"\x01"), Err(DecodeError::NotAnArray));
    assert_eq!(d.decode(b"[\"json\"]"), Err(DecodeError::NotAnArray));
    // An absurd length prefix is refused before its bytes arrive.
    assert_eq!(d.decode(b"\x92\xa1t\xc6\xff\xff\xff\xff"), Err(DecodeError::FrameTooLarge { limit: 1024 }));
    // So is an array or map announcing more elements than the limit has
    // bytes for (each element takes at least one byte), nested or not.
    assert_eq!(d.decode(b"\xdd\xff\xff\xff\xff\xa1t"), Err(DecodeError::FrameTooLarge { limit: 1024 }));
    assert_eq!(d.decode(b"\x93\xa1t\x01\xdf\x00\x00\x02\x00"), Err(DecodeError::FrameTooLarge { limit: 1024 }));
    // ... while one that just fits is awaited and accepted.
    let mut fits = vec![0xdc, 0x03, 0xfd];
    fits.resize(1024, 0xc0);
    assert_eq!(d.next_value_len(&fits[..10]), Ok(None));
    assert_eq!(d.next_value_len(&fits), Ok(Some(1024)));
    // A frame that just keeps growing is refused at the limit.
    let mut growing = vec![0xdd, 0x00, 0x01, 0x00, 0x00];
    growing.resize(1024, 0xc0);
    assert_eq!(d.decode(&growing), Err(DecodeError::FrameTooLarge { limit: 1024 }));
    // Nesting bombs are refused.
    assert_eq!(d.decode(&[0x91; 100]), Err(DecodeError::TooDeep { limit: 8 }));
    assert_eq!(d.decode(b"\x92\xc1"), Err(DecodeError::InvalidMarker(0xc1)));
    assert_eq!(d.decode(b""), Ok(Decoded::NeedMore));
}

#[test]
fn heartbeats_and_back_to_back_frames() {
    let wire = b"\xc0\xc0\x93\xa1a\x01\x80\x93\xa1b\x02\x80";
    let mut d = FrameDecoder::new(Limits::default());
    let mut rest = &wire[..];
    let mut seen = Vec::new();
    while let Decoded::Frame { frame, consumed } = d.decode(rest).unwrap() {
        seen.push(match frame {
            Frame::Heartbeat => "hb".to_owned(),
            Frame::Request(r) => r.tag().to_owned(),
        });
        rest = &rest[consumed..];
    }
    assert_eq!(seen, ["hb", "hb", "a", "b"]);
}

#[test]
fn ack_replies() {
    assert_eq!(parse_ack(b"\x81\xa3ack\xa5id==\n").unwrap(), "id==\n");
    assert_eq!(parse_ack(b"\x81\xa3ack\x01"), Err(DecodeError::BadAck));
    assert_eq!(parse_ack(b"\x91\x01"), Err(DecodeError::BadAck));
    let mut out = Vec::new();
    fluent_proto::encode_ack(&mut out, "id==\n").unwrap();
    assert_eq!(parse_ack(&out).unwrap(), "id==\n");
}

#[test]
fn gzip_members_concatenated_and_bombs_capped() {
    use fluent_proto::gzip;
    let mut entries = Vec::new();
    for i in 0..10u64 {
        fluent_proto::encode_entry(&mut entries, Timestamp::Seconds(i), &std::collections::BTreeMap::from([("i", i)]))
            .unwrap();
    }
    let (a, b) = entries.split_at(entries.len() / 2);
    let mut members = gzip::compress(a, 6);
    members.extend(gzip::compress(b, 1));
    let mut frame = Vec::new();
    fluent_proto::msgpack::write_array_header(&mut frame, 3).unwrap();
    fluent_proto::msgpack::write_str(&mut frame, "t").unwrap();
    fluent_proto::msgpack::write_bin(&mut frame, &members).unwrap();
    fluent_proto::Options { compressed: Some(fluent_proto::Compression::Gzip), ..Default::default() }
        .write(&mut frame)
        .unwrap();
    let r = request(&frame);
    assert_eq!(r.mode(), Mode::CompressedPackedForward);
    assert_eq!(r.events().next(), Some(Err(DecodeError::Compressed)));
    let plain = r.decompress(1 << 20).unwrap();
    assert_eq!(plain, entries);
    assert_eq!(fluent_proto::Events::packed(&plain, 30).count(), 10);

    // A bomb: 64 MiB of zeros compresses to ~64 KiB; the cap stops it.
    let bomb = gzip::compress(&vec![0u8; 64 << 20], 9);
    assert!(bomb.len() < 1 << 20);
    assert_eq!(gzip::decompress(&bomb, 1 << 20), Err(gzip::GzipError::TooLarge { limit: 1 << 20 }));
    // Corruption is detected by the trailer.
    let mut bad = gzip::compress(b"hello world", 6);
    let n = bad.len();
    bad[n - 5] ^= 1;
    assert_eq!(gzip::decompress(&bad, 100), Err(gzip::GzipError::BadTrailer));
    assert_eq!(gzip::decompress(b"\x1f\x8b", 100), Err(gzip::GzipError::Truncated));
    assert_eq!(gzip::decompress(b"hello world", 100), Err(gzip::GzipError::BadHeader));
}

/// Depth of the deepest value a recursive walker reaches before an error.
fn walk_depth(value: Value<'_>) -> Result<usize, DecodeError> {
    match value {
        Value::Array(items) => {
            let mut deepest = 0;
            for item in items.iter() {
                deepest = deepest.max(walk_depth(item?)?);
            }
            Ok(deepest + 1)
        }
        Value::Map(map) => {
            let mut deepest = 0;
            for pair in map.iter() {
                let (_, v) = pair?;
                deepest = deepest.max(walk_depth(v)?);
            }
            Ok(deepest + 1)
        }
        _ => Ok(0),
    }
}

#[test]
fn nesting_inside_packed_entries_is_bounded_while_walking() {
    // [1, {"deep": [[[[...]]]]}] with 1,000 levels, as packed entries (the
    // frame scanner never looks inside a bin, so the budget must hold here).
    let mut entry = b"\x92\x01\x81\xa4deep".to_vec();
    entry.extend(std::iter::repeat_n(0x91, 1000));
    entry.push(0xc0);
    let event = fluent_proto::Events::packed(&entry, 30).next().unwrap().unwrap();
    let err = walk_depth(Value::Map(event.record)).unwrap_err();
    assert_eq!(err, DecodeError::TooDeep { limit: 0 });
    // A shallow record walks fine with the same budget.
    let ok = b"\x92\x01\x81\xa4deep\x91\x91\xc0";
    let event = fluent_proto::Events::packed(ok, 30).next().unwrap().unwrap();
    assert_eq!(walk_depth(Value::Map(event.record)), Ok(3));
}

#[test]
fn str_wrapped_entries_may_hold_any_bytes() {
    // Fluentd's out_forward wraps binary entries in str: 0xce is not UTF-8.
    let mut entries = Vec::new();
    fluent_proto::encode_entry(
        &mut entries,
        Timestamp::Seconds(0xdeadbeef),
        &std::collections::BTreeMap::from([("a", 1)]),
    )
    .unwrap();
    assert!(std::str::from_utf8(&entries).is_err());
    let mut frame = Vec::new();
    fluent_proto::encode_packed_forward(&mut frame, "t", &entries, fluent_proto::EntriesFormat::Str, None).unwrap();
    let r = request(&frame);
    assert_eq!(r.packed_entries(), Some((&entries[..], fluent_proto::EntriesFormat::Str)));
    assert_eq!(r.events().next().unwrap().unwrap().time, Timestamp::Seconds(0xdeadbeef));
    // Truncated str header in that position is an error, not a panic.
    assert_eq!(Request::parse(b"\x92\xa1t\xda\x00", 8).unwrap_err(), DecodeError::Truncated);
}
