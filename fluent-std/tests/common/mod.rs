//! Test helpers: a loopback receiver that decodes every frame with
//! fluent-proto, and small utilities.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use fluent_proto::{Decoded, Frame, FrameDecoder, Limits, Timestamp, Value};

/// One decoded event: (tag, time, record as `key=value` pairs).
pub type Event = (String, Timestamp, Vec<(String, String)>);

pub fn render(v: Value<'_>) -> String {
    match v {
        Value::Str(s) => s.to_owned(),
        other => format!("{other:?}"),
    }
}

pub fn decode_all(bytes: &[u8]) -> Vec<Event> {
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut rest = bytes;
    let mut out = Vec::new();
    while let Decoded::Frame { frame, consumed } = decoder.decode(rest).expect("valid frames") {
        if let Frame::Request(r) = frame {
            let plain;
            let events = if r.mode() == fluent_proto::Mode::CompressedPackedForward {
                plain = r.decompress(1 << 26).expect("gzip");
                fluent_proto::Events::packed(&plain, r.event_depth())
            } else {
                r.events()
            };
            for e in events {
                let e = e.expect("event");
                let record = e.record.iter().map(|p| p.expect("pair")).map(|(k, v)| (render(k), render(v))).collect();
                out.push((r.tag().to_owned(), e.time, record));
            }
        }
        rest = &rest[consumed..];
    }
    assert!(rest.is_empty(), "trailing bytes");
    out
}

/// A TCP receiver on a free port: accepts `connections` connections, reads
/// each to EOF, and returns every event in arrival order.
pub struct Receiver {
    pub port: u16,
    handle: JoinHandle<Vec<Event>>,
}

impl Receiver {
    pub fn start(connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let mut events = Vec::new();
            for _ in 0..connections {
                let (mut stream, _) = listener.accept().unwrap();
                let mut bytes = Vec::new();
                stream.read_to_end(&mut bytes).unwrap();
                events.extend(decode_all(&bytes));
            }
            events
        });
        Receiver { port, handle }
    }

    pub fn events(self) -> Vec<Event> {
        self.handle.join().unwrap()
    }
}

pub fn bar_baz() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([("bar", "baz")])
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

pub fn fast_retry(b: fluent_std::SenderBuilder) -> fluent_std::SenderBuilder {
    b.reconnect_backoff(Duration::ZERO, Duration::ZERO)
}

/// A port nothing listens on right now (another test may take it later:
/// use it only where that cannot change the outcome).
pub fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A writer whose bytes the test reads back (a console, a log file).
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
