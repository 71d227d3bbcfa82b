//! Every receiving-side entry point on arbitrary bytes: the frame decoder
//! (fed in two pieces, then whole), requests, events, values walked
//! recursively, gzip, acks and handshake messages. Any panic is a bug.
#![no_main]

use fluent_proto::{Decoded, Events, Frame, FrameDecoder, Limits, Request, Value};
use libfuzzer_sys::fuzz_target;

fn walk(value: Value<'_>) -> usize {
    match value {
        Value::Array(items) => items.iter().map(|v| v.map_or(1, walk)).sum(),
        Value::Map(map) => map.iter().map(|p| p.map_or(1, |(k, v)| walk(k) + walk(v))).sum(),
        _ => 1,
    }
}

fn request(r: &Request<'_>) {
    let _ = (r.tag(), r.mode(), r.options(), r.packed_entries(), r.compressed_entries());
    for e in r.events().flatten() {
        walk(Value::Map(e.record));
        if let Some(m) = e.metadata {
            walk(Value::Map(m));
        }
    }
    if let Ok(plain) = r.decompress(1 << 20) {
        for e in Events::packed(&plain, r.event_depth()).flatten() {
            walk(Value::Map(e.record));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_frame_len: 1 << 20, max_depth: 32 };
    let mut decoder = FrameDecoder::new(limits);
    let _ = decoder.decode(&data[..data.len() / 2]);
    let mut rest = data;
    while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(rest) {
        if let Frame::Request(r) = frame {
            request(&r);
        }
        rest = &rest[consumed..];
    }
    if let Ok((v, _)) = Value::read(data, 32) {
        walk(v);
    }
    let _ = fluent_proto::parse_ack(data);
    let _ = fluent_proto::gzip::decompress(data, 1 << 20);
    let _ = fluent_proto::handshake::Helo::parse(data);
    let _ = fluent_proto::handshake::Ping::parse(data);
    let _ = fluent_proto::handshake::Pong::parse(data);
});
