//! Encoding a 5-field record, this crate vs rmp-serde, in one run.
//!
//! `cargo bench -p fluent-proto --features std --bench encode`, then
//! `python3 ci/bench_table.py encode` prints the ratios.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fluent_proto::{SliceSink, Timestamp, encode_entry, encode_message};

#[derive(serde::Serialize)]
struct Access<'a> {
    host: &'a str,
    status: u32,
    latency: f64,
    cached: bool,
    path: &'a str,
}

const RECORD: Access<'static> =
    Access { host: "web-7.example.internal", status: 200, latency: 0.01731, cached: true, path: "/api/v1/orders/42" };

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let time = Timestamp::Seconds(1_700_000_000);

    group.bench_function("rmp_serde::to_vec_named (record only)", |b| {
        b.iter(|| black_box(rmp_serde::to_vec_named(black_box(&RECORD)).unwrap()))
    });
    let mut reused = Vec::with_capacity(256);
    group.bench_function("rmp_serde::write_named, reused Vec (record only)", |b| {
        b.iter(|| {
            reused.clear();
            rmp_serde::encode::write_named(&mut reused, black_box(&RECORD)).unwrap();
            black_box(reused.len())
        })
    });
    let mut buf = [0u8; 256];
    group.bench_function("fluent-proto record into &mut [u8]", |b| {
        b.iter(|| {
            let mut sink = SliceSink::new(&mut buf);
            fluent_proto::encode_record(&mut sink, black_box(&RECORD)).unwrap();
            black_box(sink.written().len())
        })
    });
    group.bench_function("fluent-proto Message into &mut [u8]", |b| {
        b.iter(|| {
            let mut sink = SliceSink::new(&mut buf);
            encode_message(&mut sink, black_box("app.access"), time, black_box(&RECORD), None).unwrap();
            black_box(sink.written().len())
        })
    });
    group.bench_function("fluent-proto PackedForward entry into &mut [u8]", |b| {
        b.iter(|| {
            let mut sink = SliceSink::new(&mut buf);
            encode_entry(&mut sink, time, black_box(&RECORD)).unwrap();
            black_box(sink.written().len())
        })
    });
    let mut vec = Vec::with_capacity(256);
    group.bench_function("fluent-proto Message into reused Vec", |b| {
        b.iter(|| {
            vec.clear();
            encode_message(&mut vec, black_box("app.access"), time, black_box(&RECORD), None).unwrap();
            black_box(vec.len())
        })
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
