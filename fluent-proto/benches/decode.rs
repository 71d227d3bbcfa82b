//! Decoding a PackedForward request of 1,000 events, every field visited:
//! this crate (zero-copy, schema-less) vs what a receiver author would pick
//! instead: rmpv's generic values (owned, and zero-copy `ValueRef`), and, for
//! reference, rmp-serde into a struct whose schema is known in advance.
//!
//! `cargo bench -p fluent-proto --features std --bench decode`, then
//! `python3 ci/bench_table.py decode` prints the ratios.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fluent_proto::{Decoded, EntriesFormat, Frame, FrameDecoder, Limits, Options, Timestamp, Value};

#[derive(serde::Serialize, serde::Deserialize)]
struct Access {
    host: String,
    status: u32,
    latency: f64,
    cached: bool,
    path: String,
}

const EVENTS: usize = 1000;

fn request() -> (Vec<u8>, Vec<u8>) {
    let mut entries = Vec::new();
    for i in 0..EVENTS {
        let record = Access {
            host: format!("web-{}.example.internal", i % 7),
            status: 200 + (i % 5) as u32,
            latency: i as f64 / 1000.0,
            cached: i % 2 == 0,
            path: format!("/api/v1/orders/{i}"),
        };
        fluent_proto::encode_entry(&mut entries, Timestamp::Seconds(1_700_000_000 + i as u64), &record).unwrap();
    }
    let mut frame = Vec::new();
    let options = Options { size: Some(EVENTS as u64), ..Options::default() };
    fluent_proto::encode_packed_forward(&mut frame, "app.access", &entries, EntriesFormat::Bin, Some(&options))
        .unwrap();
    (frame, entries)
}

fn decode(c: &mut Criterion) {
    let (frame, entries) = request();
    let mut group = c.benchmark_group("decode_packed_forward");
    group.throughput(Throughput::Elements(EVENTS as u64));

    group.bench_function("fluent-proto FrameDecoder, every field visited", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new(Limits::default());
            let Ok(Decoded::Frame { frame: Frame::Request(r), .. }) = decoder.decode(black_box(&frame)) else {
                panic!("bad frame")
            };
            let mut fields = 0usize;
            for event in r.events() {
                for pair in event.unwrap().record.iter() {
                    let (k, v) = pair.unwrap();
                    fields += usize::from(matches!(k, Value::Str(_))) + usize::from(!matches!(v, Value::Nil));
                }
            }
            black_box(fields)
        })
    });
    group.bench_function("rmp_serde::from_slice into owned structs", |b| {
        b.iter(|| {
            let mut rest = black_box(&entries[..]);
            let mut n = 0usize;
            while !rest.is_empty() {
                let mut de = rmp_serde::Deserializer::new(&mut rest);
                let (_time, record): (u64, Access) = serde::Deserialize::deserialize(&mut de).unwrap();
                n += record.host.len();
            }
            black_box(n)
        })
    });
    group.bench_function("rmpv::decode::read_value (generic, owned)", |b| {
        b.iter(|| {
            let mut rest = black_box(&entries[..]);
            let mut fields = 0usize;
            while !rest.is_empty() {
                let value = rmpv::decode::read_value(&mut rest).unwrap();
                let record = value.as_array().unwrap()[1].as_map().unwrap();
                for (k, v) in record {
                    fields += usize::from(k.is_str()) + usize::from(!v.is_nil());
                }
            }
            black_box(fields)
        })
    });
    group.bench_function("rmpv::decode::read_value_ref (generic, zero-copy)", |b| {
        b.iter(|| {
            let mut rest = black_box(&entries[..]);
            let mut fields = 0usize;
            while !rest.is_empty() {
                let value = rmpv::decode::read_value_ref(&mut rest).unwrap();
                let rmpv::ValueRef::Array(items) = value else { panic!() };
                let rmpv::ValueRef::Map(record) = &items[1] else { panic!() };
                for (k, v) in record {
                    let is_str = matches!(k, rmpv::ValueRef::String(s) if s.as_str().is_some());
                    fields += usize::from(is_str) + usize::from(!matches!(v, rmpv::ValueRef::Nil));
                }
            }
            black_box(fields)
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
