//! Golden bytes from the Forward protocol spec and the real peers, and the
//! integer/str/bin/container width boundaries msgpack-python and rmp choose.

use std::collections::BTreeMap;

use fluent_proto::{
    EncodeError, EntriesFormat, EventTime, Options, SliceSink, Timestamp, encode_entry, encode_message,
    encode_packed_forward, encode_record, msgpack, to_sink,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
// The literal exactly as PROTOCOL.md and Python write it.
#[allow(clippy::excessive_precision)]
fn python_float_event_time_golden() {
    // PROTOCOL.md: 1490061367.8616468906402588 -> 58 d0 88 37 33 5b b0 2a
    let t = EventTime::from_f64(1490061367.8616468906402588).unwrap();
    assert_eq!(hex(&t.to_payload()), "58d08837335bb02a");
}

#[test]
fn golang_event_time_message_prefix() {
    // fluent-logger-golang: 94 a3 't' 'a' 'g' d7 00 4b 92 1e 65 00 00 01 00 ...
    let mut out = Vec::new();
    let time = Timestamp::Event(EventTime::new(1267867237, 256));
    encode_message(&mut out, "tag", time, &BTreeMap::from([("a", "b")]), Some(&Options::default())).unwrap();
    assert_eq!(&out[..15], b"\x94\xa3tag\xd7\x00\x4b\x92\x1e\x65\x00\x00\x01\x00");
}

#[test]
fn reference_simple_emit() {
    // The reference test suite: ["test.foo", <int>, {"bar": "baz"}]
    let mut out = Vec::new();
    encode_message(&mut out, "test.foo", Timestamp::Seconds(1490061367), &BTreeMap::from([("bar", "baz")]), None)
        .unwrap();
    assert_eq!(hex(&out), "93a8746573742e666f6fce58d0883781a3626172a362617a");
}

#[test]
fn integer_widths_match_msgpack_python() {
    let cases: &[(i64, &str)] = &[
        (0, "00"),
        (127, "7f"),
        (128, "cc80"),
        (255, "ccff"),
        (256, "cd0100"),
        (65535, "cdffff"),
        (65536, "ce00010000"),
        (4294967295, "ceffffffff"),
        (4294967296, "cf0000000100000000"),
        (-1, "ff"),
        (-32, "e0"),
        (-33, "d0df"),
        (-128, "d080"),
        (-129, "d1ff7f"),
        (-32768, "d18000"),
        (-32769, "d2ffff7fff"),
        (-2147483648, "d280000000"),
        (-2147483649, "d3ffffffff7fffffff"),
    ];
    for (value, expected) in cases {
        let mut out = Vec::new();
        msgpack::write_int(&mut out, *value).unwrap();
        assert_eq!(hex(&out), *expected, "int {value}");
        let mut rmp = Vec::new();
        rmp::encode::write_sint(&mut rmp, *value).unwrap();
        assert_eq!(out, rmp, "rmp disagrees on {value}");
    }
}

#[test]
fn str_bin_and_container_widths() {
    for (len, head) in [(0usize, "a0"), (31, "bf"), (32, "d920"), (255, "d9ff"), (256, "da0100"), (65536, "db00010000")]
    {
        let mut out = Vec::new();
        msgpack::write_str(&mut out, &"x".repeat(len)).unwrap();
        assert!(hex(&out).starts_with(head), "str {len}");
    }
    for (len, head) in [(0usize, "c400"), (255, "c4ff"), (256, "c50100"), (65536, "c600010000")] {
        let mut out = Vec::new();
        msgpack::write_bin(&mut out, &vec![0; len]).unwrap();
        assert!(hex(&out).starts_with(head), "bin {len}");
    }
    for (len, head) in [(15usize, "9f"), (16, "dc0010"), (65536, "dd00010000")] {
        let mut out = Vec::new();
        msgpack::write_array_header(&mut out, len).unwrap();
        assert_eq!(hex(&out), head, "array {len}");
    }
}

#[test]
fn ext_widths() {
    for (len, head) in
        [(1usize, "d401"), (2, "d501"), (4, "d601"), (8, "d701"), (16, "d801"), (3, "c70301"), (300, "c8012c01")]
    {
        let mut out = Vec::new();
        msgpack::write_ext(&mut out, 1, &vec![0; len]).unwrap();
        assert!(hex(&out).starts_with(head), "ext {len}: {}", hex(&out[..4]));
    }
}

#[test]
fn non_map_records_are_refused() {
    let mut out = Vec::new();
    assert_eq!(encode_record(&mut out, &[1, 2]), Err(EncodeError::RecordNotMap));
    assert_eq!(encode_record(&mut out, "text"), Err(EncodeError::RecordNotMap));
    assert_eq!(encode_record(&mut out, &Option::<u8>::None), Err(EncodeError::RecordNotMap));
    assert_eq!(encode_record(&mut out, &BTreeMap::from([(1, 2)])), Err(EncodeError::KeyNotString));
    assert!(out.is_empty(), "a refused record leaves nothing behind");
    let err = encode_message(&mut out, "t", Timestamp::Seconds(1), &42u8, None).unwrap_err();
    assert_eq!(err, EncodeError::RecordNotMap);
    assert!(out.is_empty());
}

#[test]
fn event_time_out_of_range() {
    assert_eq!(EventTime::from_f64(-1.0), Err(EncodeError::TimeOutOfRange));
    assert_eq!(EventTime::from_f64(f64::NAN), Err(EncodeError::TimeOutOfRange));
    assert_eq!(EventTime::from_f64(4294967296.0), Err(EncodeError::TimeOutOfRange));
    assert_eq!(EventTime::from_unix_nanos(u64::MAX), Err(EncodeError::TimeOutOfRange));
    assert!(EventTime::from_f64(4294967295.5).is_ok());
}

#[derive(serde::Serialize)]
struct Five<'a> {
    host: &'a str,
    status: u16,
    latency: f64,
    cached: bool,
    path: &'a str,
}

#[test]
fn full_slice_is_an_error_never_a_truncated_frame() {
    let record = Five { host: "web-1", status: 200, latency: 0.25, cached: false, path: "/index.html" };
    let mut reference = Vec::new();
    let full_len = encode_message(&mut reference, "app.access", Timestamp::Seconds(7), &record, None).unwrap();
    assert_eq!(full_len, reference.len());
    for cap in 0..full_len {
        let mut storage = vec![0u8; cap];
        let mut sink = SliceSink::new(&mut storage);
        let err = encode_message(&mut sink, "app.access", Timestamp::Seconds(7), &record, None).unwrap_err();
        assert_eq!(err, EncodeError::BufferFull, "capacity {cap}");
        assert_eq!(sink.written(), b"", "capacity {cap} left a partial frame");
    }
    let mut storage = vec![0u8; full_len];
    let mut sink = SliceSink::new(&mut storage);
    encode_message(&mut sink, "app.access", Timestamp::Seconds(7), &record, None).unwrap();
    assert_eq!(sink.written(), &reference[..]);
}

#[test]
fn heapless_vec_sink_rolls_back() {
    let record = Five { host: "h", status: 1, latency: 1.0, cached: true, path: "p" };
    let mut small: heapless::Vec<u8, 16> = heapless::Vec::new();
    small.extend_from_slice(b"keep").unwrap();
    assert_eq!(encode_entry(&mut small, Timestamp::Seconds(1), &record), Err(EncodeError::BufferFull));
    assert_eq!(&small[..], b"keep");
    let mut big: heapless::Vec<u8, 128> = heapless::Vec::new();
    let n = encode_entry(&mut big, Timestamp::Seconds(1), &record).unwrap();
    assert_eq!(n, big.len());
}

#[test]
fn io_sink_streams_into_embedded_io_writer() {
    let mut out = [0u8; 64];
    let mut sink = fluent_proto::IoSink::new(&mut out[..]);
    let n = encode_message(&mut sink, "t", Timestamp::Seconds(1), &BTreeMap::from([("a", 1)]), None).unwrap();
    let mut expect = Vec::new();
    encode_message(&mut expect, "t", Timestamp::Seconds(1), &BTreeMap::from([("a", 1)]), None).unwrap();
    assert_eq!(&out[..n], &expect[..]);
}

#[derive(serde::Serialize)]
struct WithFlatten {
    id: u32,
    #[serde(flatten)]
    extra: BTreeMap<String, u32>,
}

#[test]
fn unknown_length_maps_are_narrowed_in_place() {
    for n in [0usize, 1, 14, 15, 16, 300, 70_000] {
        let extra: BTreeMap<String, u32> = (0..n as u32).map(|i| (format!("k{i}"), i)).collect();
        let value = WithFlatten { id: 1, extra };
        let mut ours = Vec::new();
        encode_record(&mut ours, &value).unwrap();
        let rmp = rmp_serde::to_vec_named(&value).unwrap();
        assert_eq!(ours, rmp, "flatten with {n} extra keys");
    }
    // A stream cannot go back to fix a length: a clear error instead.
    let mut out = [0u8; 64];
    let mut sink = fluent_proto::IoSink::new(&mut out[..]);
    let value = WithFlatten { id: 1, extra: BTreeMap::new() };
    assert_eq!(encode_record(&mut sink, &value), Err(EncodeError::UnknownLength));
}

#[derive(serde::Serialize)]
enum Kind {
    Unit,
    New(u8),
    Tuple(u8, i8),
    Struct { a: bool },
}

#[derive(serde::Serialize)]
struct Everything {
    unit: (),
    unit_struct: UnitStruct,
    newtype: Newtype,
    kinds: Vec<Kind>,
    tuple: (u8, &'static str),
    opt: Option<i32>,
    none: Option<i32>,
    ch: char,
    f32: f32,
    nested: BTreeMap<&'static str, Vec<u64>>,
    time: EventTime,
}

#[derive(serde::Serialize)]
struct UnitStruct;

#[derive(serde::Serialize)]
struct Newtype(i16);

#[test]
fn agrees_with_rmp_serde_on_the_serde_data_model() {
    let value = Everything {
        unit: (),
        unit_struct: UnitStruct,
        newtype: Newtype(-300),
        kinds: vec![Kind::Unit, Kind::New(7), Kind::Tuple(1, -1), Kind::Struct { a: true }],
        tuple: (9, "nine"),
        opt: Some(-5),
        none: None,
        ch: 'é',
        f32: 1.25,
        nested: BTreeMap::from([("xs", vec![1, 300, 70000, u64::MAX])]),
        time: EventTime::new(1490061367, 861646890),
    };
    let mut ours = Vec::new();
    encode_record(&mut ours, &value).unwrap();
    assert_eq!(hex(&ours), hex(&rmp_serde::to_vec_named(&value).unwrap()));
}

#[test]
fn wide_integers_fit_or_fail() {
    let mut out = Vec::new();
    to_sink(&mut out, &(u64::MAX as u128)).unwrap();
    assert_eq!(out, b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff");
    assert_eq!(to_sink(&mut out, &(u64::MAX as u128 + 1)), Err(EncodeError::IntegerTooLarge));
    assert_eq!(to_sink(&mut out, &(i64::MIN as i128 - 1)), Err(EncodeError::IntegerTooLarge));
}

#[test]
fn packed_forward_str_and_bin() {
    let mut entries = Vec::new();
    encode_entry(&mut entries, Timestamp::Seconds(1), &BTreeMap::from([("a", 1)])).unwrap();
    let mut bin = Vec::new();
    encode_packed_forward(&mut bin, "t", &entries, EntriesFormat::Bin, None).unwrap();
    assert_eq!(bin[3], 0xc4);
    let mut s = Vec::new();
    encode_packed_forward(&mut s, "t", &entries, EntriesFormat::Str, None).unwrap();
    assert_eq!(s[3], 0xa0 | entries.len() as u8);
}

#[test]
fn custom_errors_carry_their_text() {
    struct Fails;
    impl serde::Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("socket closed while serializing a long message"))
        }
    }
    let mut out = Vec::new();
    let err = encode_record(&mut out, &BTreeMap::from([("x", Fails)])).unwrap_err();
    let EncodeError::Custom(text) = &err else { panic!("{err:?}") };
    assert!(text.starts_with("socket closed"));
    assert!(out.is_empty());
}
