//! Test helpers: a loopback receiver that decodes every frame with
//! fluent-proto, and small utilities.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

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
    let (events, rest) = decode_prefix(bytes);
    assert!(rest.is_empty(), "trailing bytes");
    events
}

/// The events of the complete frames at the start of `bytes`, and what follows them.
pub fn decode_prefix(bytes: &[u8]) -> (Vec<Event>, &[u8]) {
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
    (out, rest)
}

/// A TCP receiver on a free port: accepts `connections` connections, reads
/// each to EOF, and returns every event in arrival order.
pub struct Receiver {
    pub port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    handle: JoinHandle<()>,
}

impl Receiver {
    pub fn start(connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let handle = thread::spawn(move || {
            for _ in 0..connections {
                let (mut stream, _) = listener.accept().unwrap();
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    match stream.read(&mut chunk).unwrap() {
                        0 => break,
                        n => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
                    }
                }
            }
        });
        Receiver { port, received, handle }
    }

    /// Waits until at least `count` events have arrived; false if they have
    /// not within `within`.
    pub fn wait_for_events(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if decode_prefix(&self.received.lock().unwrap()).0.len() >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every event, once all connections have ended.
    pub fn events(self) -> Vec<Event> {
        self.handle.join().unwrap();
        decode_all(&self.received.lock().unwrap())
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

/// A loopback port that refuses connections: bound, not listening, and
/// held, so that no other test's socket takes it meanwhile.
pub struct DeadPort {
    pub port: u16,
    socket: socket2::Socket,
}

impl DeadPort {
    /// The server comes up on the same port.
    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).unwrap();
        self.socket.into()
    }
}

/// A [`DeadPort`]: connections to it are refused until it listens.
pub fn dead_port() -> DeadPort {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    DeadPort { port, socket }
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
