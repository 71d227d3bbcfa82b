//! The senders' real output, checked by a receiver no one in this project
//! wrote: msgpack-python (with Python's gzip) decodes everything `Sender` and
//! `AsyncSender` put on the wire, in every batch mode, into the expected
//! events.

use std::io::Read;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use fluent_proto::{EventTime, Timestamp};
use fluent_std::{AsyncSender, BatchMode, Sender};
use fluent_tests::{Val, canonical_time, coverage_records, require_python_modules};
use serde_json::{Value as Json, json};

/// Runs `send(port)` and returns every byte received, over all connections.
fn capture(send: impl FnOnce(u16)) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    let reader = thread::spawn(move || {
        let mut all = Vec::new();
        let mut streams = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept() {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                streams.push(s);
            }
            let mut progressed = false;
            for s in &mut streams {
                let mut buf = [0u8; 65536];
                if let Ok(n) = s.read(&mut buf)
                    && n > 0
                {
                    all.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
            }
            if !progressed && stopping.load(std::sync::atomic::Ordering::Relaxed) {
                return all;
            }
        }
    });
    send(port);
    thread::sleep(Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap()
}

/// Every event msgpack-python finds in the stream, as `[tag, time, record]`.
fn python_events(wire: &[u8]) -> Vec<Json> {
    let mut events = Vec::new();
    for frame in fluent_tests::decode_with_msgpack_python(wire) {
        for e in frame["events"].as_array().unwrap() {
            events.push(json!([frame["tag"], e[0], e[1]]));
        }
    }
    events
}

fn expected(records: &[Val], times: &[Timestamp]) -> Vec<Json> {
    records.iter().zip(times).map(|(r, t)| json!(["app.rec", canonical_time(*t), r.canonical()])).collect()
}

#[test]
fn msgpack_python_reads_both_senders_in_every_mode() {
    require_python_modules(&["msgpack"]);
    let records: Vec<Val> = coverage_records().into_iter().map(Val::Map).collect();
    let times: Vec<Timestamp> = (0..records.len() as u32)
        .map(|i| {
            if i % 2 == 0 {
                Timestamp::Seconds(1_700_000_000 + u64::from(i))
            } else {
                Timestamp::Event(EventTime::new(1_700_000_000 + i, i * 1000))
            }
        })
        .collect();
    let want = expected(&records, &times);

    let wire = capture(|port| {
        let sender = Sender::builder("app").host("127.0.0.1").port(port).build();
        for (r, t) in records.iter().zip(&times) {
            sender.emit_with_time("rec", *t, r).unwrap();
        }
        sender.close();
    });
    assert_eq!(python_events(&wire), want, "Sender");

    for mode in [BatchMode::Message, BatchMode::Forward, BatchMode::PackedForward, BatchMode::CompressedPackedForward] {
        let wire = capture(|port| {
            let sender = AsyncSender::builder("app")
                .sender(|s| s.host("127.0.0.1").port(port))
                .queue_bytes(4 << 20)
                .batch_mode(mode)
                .build();
            for (r, t) in records.iter().zip(&times) {
                sender.emit_with_time("rec", *t, r).unwrap();
            }
            let stats = sender.close_with(true, Duration::from_secs(10));
            assert_eq!(stats.sent, records.len() as u64);
        });
        assert_eq!(python_events(&wire), want, "AsyncSender {mode:?}");
    }
}
