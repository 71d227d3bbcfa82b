//! Helpers shared by the catcher's integration tests: raw clients that
//! speak the wire protocols byte by byte.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use fluent_proto::{Options, Timestamp, encode_message};

/// A blocking TCP client with a read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    stream
}

/// One Message frame `[tag, time, {"n": n, "client": client}, option?]`.
pub fn message(tag: &str, time: Timestamp, client: &str, n: u64, options: Option<&Options<'_>>) -> Vec<u8> {
    let mut out = Vec::new();
    let record = BTreeMap::from([("client", Field::Text(client.to_owned())), ("n", Num(n))]);
    encode_message(&mut out, tag, time, &record, options).expect("encode");
    out
}

#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum Field {
    Text(String),
    Num(u64),
}
pub use Field::Num;

/// Reads until the peer closes (or resets) the connection; true if it did
/// within the read timeout.
pub fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Reads exactly one msgpack value from the stream (acks, handshake).
pub fn read_value(stream: &mut TcpStream) -> Vec<u8> {
    let mut decoder = fluent_proto::FrameDecoder::new(Default::default());
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Some(n) = decoder.next_value_len(&buf).expect("valid msgpack") {
            assert_eq!(n, buf.len());
            return buf;
        }
        stream.read_exact(&mut byte).expect("reply");
        buf.push(byte[0]);
    }
}

/// Sends `bytes` and shuts the write side.
pub fn send_all(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("write");
}

/// A PackedForward request of `entries` tiny entries `[1, {}]` under a tag
/// of `tag_len` bytes (the shape of a tag-amplification attack).
pub fn packed_with_tag(tag_len: usize, entries: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let entries = b"\x92\x01\x80".repeat(entries);
    fluent_proto::encode_packed_forward(
        &mut wire,
        &"t".repeat(tag_len),
        &entries,
        fluent_proto::EntriesFormat::Bin,
        None,
    )
    .unwrap();
    wire
}
