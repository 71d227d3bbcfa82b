//! fluent-logger-python's sender test scenarios (../shared/PARITY.md), for
//! the synchronous `Sender`, against a loopback receiver that decodes every
//! frame with fluent-proto.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{Receiver, bar_baz, dead_port, decode_all, fast_retry, unix_now};
use fluent_proto::Timestamp;
use fluent_std::{SendError, Sender};

#[test]
fn setup_defaults_and_arguments() {
    let s = Sender::builder("test").build();
    assert_eq!((s.tag(), s.host(), s.port(), s.timeout()), ("test", "localhost", 24224, Duration::from_secs(3)));
    let s = Sender::builder("test").host("127.0.0.1").port(24225).timeout(Duration::from_secs(7)).build();
    assert_eq!((s.host(), s.port(), s.timeout()), ("127.0.0.1", 24225, Duration::from_secs(7)));
}

#[test]
fn simple_emit_arrives_exactly() {
    let receiver = Receiver::start(1);
    let sender = Sender::builder("test").host("127.0.0.1").port(receiver.port).build();
    let before = unix_now();
    sender.emit("foo", &bar_baz()).unwrap();
    assert_eq!(sender.last_error(), None);
    drop(sender); // the scope guard closes
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    let (tag, time, record) = &events[0];
    assert_eq!(tag, "test.foo");
    let Timestamp::Seconds(t) = time else { panic!("integer time expected, got {time:?}") };
    // Whole seconds come from the coarse clock, which may trail by a tick.
    assert!(*t + 1 >= before && *t <= unix_now());
    assert_eq!(record, &[("bar".to_owned(), "baz".to_owned())]);
}

#[test]
fn nanosecond_precision_sends_event_time() {
    let receiver = Receiver::start(1);
    let sender = Sender::builder("test").host("127.0.0.1").port(receiver.port).nanosecond_precision(true).build();
    sender.emit("foo", &bar_baz()).unwrap();
    sender.emit_with_time("foo", Timestamp::Event(fluent_std::EventTime::new(5, 6)), &bar_baz()).unwrap();
    sender.close();
    let events = receiver.events();
    assert!(matches!(events[0].1, Timestamp::Event(_)), "{:?}", events[0].1);
    assert_eq!(events[1].1, Timestamp::Event(fluent_std::EventTime::new(5, 6)));
}

#[test]
fn last_error_is_settable_and_clearable() {
    let s = Sender::builder("test").build();
    assert_eq!(s.last_error(), None);
    s.set_last_error(SendError::Closed);
    assert_eq!(s.last_error(), Some(SendError::Closed));
    s.clear_last_error();
    assert_eq!(s.last_error(), None);
    s.clear_last_error();
    assert_eq!(s.last_error(), None);
    // Per thread, as in Python.
    s.set_last_error(SendError::Closed);
    let s = Arc::new(s);
    let other = s.clone();
    assert_eq!(thread::spawn(move || other.last_error()).join().unwrap(), None);
}

#[test]
fn unserializable_record_becomes_a_critical_record() {
    let receiver = Receiver::start(1);
    let sender = Sender::builder("test").host("127.0.0.1").port(receiver.port).build();
    // Not a map: cannot be a record. The CRITICAL record goes in its place,
    // and (unlike Python) the caller is told.
    assert!(matches!(sender.emit("foo", &[1, 2, 3]), Err(SendError::Encode(fluent_proto::EncodeError::RecordNotMap))));
    assert!(matches!(sender.last_error(), Some(SendError::Encode(_))));
    sender.close();
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    let record: BTreeMap<_, _> = events[0].2.iter().cloned().collect();
    assert_eq!(record["level"], "CRITICAL");
    assert_eq!(record["message"], "Can't output to log");
    assert!(record["traceback"].contains("map"), "{}", record["traceback"]);
}

#[test]
fn without_forward_packet_error_the_caller_gets_the_error() {
    let dead = dead_port();
    let sender = Sender::builder("test").port(dead.port).forward_packet_error(false).build();
    let err = sender.emit("foo", &"not a map").unwrap_err();
    assert!(matches!(err, SendError::Encode(fluent_proto::EncodeError::RecordNotMap)), "{err:?}");
    assert_eq!(sender.pending_len(), 0, "nothing was queued");
}

#[test]
fn emit_after_close_fails_and_only_earlier_events_arrive() {
    let receiver = Receiver::start(1);
    let sender = Sender::builder("test").host("127.0.0.1").port(receiver.port).build();
    sender.emit("foo", &bar_baz()).unwrap();
    sender.close();
    assert_eq!(sender.emit("foo", &BTreeMap::from([("after", "close")])), Err(SendError::Closed));
    sender.close(); // idempotent
    assert_eq!(receiver.events().len(), 1);
}

#[test]
fn pending_grows_while_the_server_is_down() {
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port)).build();
    assert!(matches!(sender.send_raw(b"123"), Err(SendError::Io { .. })));
    assert_eq!(sender.pending_len(), 3);
    assert!(sender.send_raw(b"456").is_err());
    assert_eq!(sender.pending_len(), 6);
}

#[test]
fn overflow_handler_fires_only_above_bufmax() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port))
        .bufmax(6)
        .buffer_overflow_handler(move |b| sink.lock().unwrap().push(b.to_vec()))
        .build();
    // The first failed packet is kept even when larger than bufmax.
    sender.send_raw(b"1234567").unwrap_err();
    assert_eq!(sender.pending_len(), 7);
    assert!(got.lock().unwrap().is_empty());
    // Pending existed and the total exceeds bufmax: all of it goes.
    sender.send_raw(b"8").unwrap_err();
    assert_eq!(sender.pending_len(), 0);
    assert_eq!(got.lock().unwrap().as_slice(), [b"12345678".to_vec()]);
    // Exactly bufmax stays; bufmax + 1 goes, as bufmax + 1 bytes.
    sender.send_raw(b"123").unwrap_err();
    sender.send_raw(b"456").unwrap_err();
    assert_eq!(sender.pending_len(), 6);
    sender.send_raw(b"7").unwrap_err();
    assert_eq!(sender.pending_len(), 0);
    assert_eq!(got.lock().unwrap().last().unwrap().len(), 7);
}

#[test]
fn pending_is_cleared_without_a_handler_or_when_it_panics() {
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port)).bufmax(2).build();
    sender.send_raw(b"12").unwrap_err();
    sender.send_raw(b"3").unwrap_err();
    assert_eq!(sender.pending_len(), 0);
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port))
        .bufmax(2)
        .buffer_overflow_handler(|_| panic!("handler failure must not reach the caller"))
        .build();
    sender.send_raw(b"12").unwrap_err();
    sender.send_raw(b"3").unwrap_err();
    assert_eq!(sender.pending_len(), 0);
}

#[test]
fn close_hands_leftovers_to_the_handler() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port))
        .buffer_overflow_handler(move |b| sink.lock().unwrap().push(b.to_vec()))
        .build();
    sender.send_raw(b"leftover").unwrap_err();
    sender.close();
    assert_eq!(got.lock().unwrap().as_slice(), [b"leftover".to_vec()]);
}

#[test]
fn pending_bytes_go_first_once_the_server_is_up() {
    let dead = dead_port();
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(dead.port)).build();
    sender.emit("a", &bar_baz()).unwrap_err();
    sender.emit("b", &bar_baz()).unwrap_err();
    let listener = dead.listen(); // up
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        decode_all(&bytes)
    });
    sender.emit("c", &bar_baz()).unwrap();
    sender.close();
    let tags: Vec<String> = reader.join().unwrap().into_iter().map(|e| e.0).collect();
    assert_eq!(tags, ["test.a", "test.b", "test.c"]);
}

#[test]
fn a_dead_server_is_not_retried_on_every_emit() {
    let dead = dead_port();
    let sender = Sender::builder("test")
        .host("127.0.0.1")
        .port(dead.port)
        .reconnect_backoff(Duration::from_secs(30), Duration::from_secs(60))
        .build();
    assert!(matches!(sender.emit("a", &bar_baz()), Err(SendError::Io { .. })));
    // Within the backoff: no connection attempt, the event just pends.
    for _ in 0..100 {
        assert!(matches!(sender.emit("a", &bar_baz()), Err(SendError::Backoff { .. })));
    }
    assert!(sender.pending_len() > 0);
}

#[test]
fn broken_connection_is_detected_and_server_data_ignored() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hung_up, wait_hang_up) = std::sync::mpsc::channel();
    let server = thread::spawn(move || {
        // First connection: read one event, talk back, hang up.
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        let first = decode_all(&buf[..n]);
        s.write_all(b"unexpected server bytes").unwrap();
        drop(s);
        hung_up.send(()).unwrap();
        // Second connection: everything else.
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        (first, decode_all(&bytes))
    });
    let sender = fast_retry(Sender::builder("test").host("127.0.0.1").port(port)).build();
    sender.emit("one", &bar_baz()).unwrap();
    wait_hang_up.recv().unwrap();
    thread::sleep(Duration::from_millis(50)); // let the FIN arrive
    sender.emit("two", &bar_baz()).unwrap();
    sender.close();
    let (first, second) = server.join().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["test.two"]);
}

#[cfg(unix)]
#[test]
fn unix_socket_delivery() {
    use std::os::unix::net::UnixListener;
    let path = std::env::temp_dir().join(format!("fluent-std-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        decode_all(&bytes)
    });
    let sender = Sender::builder("test").host(format!("unix://{}", path.display())).build();
    sender.emit("foo", &bar_baz()).unwrap();
    sender.close();
    let events = reader.join().unwrap();
    assert_eq!(events[0].0, "test.foo");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn many_threads_share_one_sender() {
    let receiver = Receiver::start(1);
    let sender = Arc::new(Sender::builder("test").host("127.0.0.1").port(receiver.port).build());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = sender.clone();
            thread::spawn(move || {
                for i in 0..100 {
                    s.emit("many", &BTreeMap::from([("thread", t), ("i", i)])).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    sender.close();
    assert_eq!(receiver.events().len(), 400);
}

#[test]
fn global_sender_setup_and_close() {
    let receiver = Receiver::start(1);
    fluent_std::setup(Sender::builder("global").host("127.0.0.1").port(receiver.port));
    fluent_std::global_sender().unwrap().emit("x", &bar_baz()).unwrap();
    fluent_std::close();
    assert!(fluent_std::global_sender().is_none());
    assert_eq!(receiver.events()[0].0, "global.x");
}

#[test]
fn event_emits_through_the_given_sender() {
    let receiver = Receiver::start(1);
    let sender = Sender::builder("app").host("127.0.0.1").port(receiver.port).build();
    fluent_std::event("follow", &bar_baz(), Some(&sender), Some(Timestamp::Seconds(7))).unwrap();
    fluent_std::event("follow", &bar_baz(), Some(&sender), None).unwrap();
    assert!(
        matches!(fluent_std::event("x", &5, Some(&sender), None), Err(SendError::Encode(_))),
        "a non-map becomes the CRITICAL record, and the caller is told"
    );
    sender.close();
    let events = receiver.events();
    assert_eq!(events.len(), 3);
    assert_eq!((events[0].0.as_str(), events[0].1), ("app.follow", Timestamp::Seconds(7)));
}
