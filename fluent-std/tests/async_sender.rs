//! The asynchronous sender: fluent-logger-python's asyncsender scenarios,
//! every batch mode, and faults with exact accounting (every event is sent,
//! or counted as dropped or unsent, never silently lost).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Receiver, dead_port, decode_all, render};
use fluent_proto::{Decoded, Frame, FrameDecoder, Limits, encode_ack};
use fluent_std::{AsyncSender, AsyncSenderBuilder, BatchMode, SendError, Stats};

/// A server address nobody can listen on (a TCP port freed by one test may
/// be taken by another running in parallel).
fn nowhere(s: fluent_std::SenderBuilder) -> fluent_std::SenderBuilder {
    s.host("unix:///nonexistent-fluent-test-dir/fluent.sock")
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

fn to(port: u16) -> impl FnOnce(fluent_std::SenderBuilder) -> fluent_std::SenderBuilder {
    move |s| s.host("127.0.0.1").port(port).reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

fn numbered(i: usize) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([("n", i)])
}

fn numbers(events: &[common::Event]) -> Vec<usize> {
    events.iter().map(|(_, _, r)| r.iter().find(|(k, _)| k == "n").map(|(_, v)| v.parse().unwrap()).unwrap()).collect()
}

/// Every event ended somewhere: the counters add up.
fn assert_accounted(stats: &Stats, attempts: u64) {
    assert_eq!(
        stats.sent + stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close,
        attempts,
        "every attempt is sent, dropped or unsent: {stats:?}"
    );
}

#[test]
fn default_properties() {
    let s = AsyncSender::builder("test").build();
    assert!(s.queue_blocking());
    assert!(!s.queue_circular());
    assert!(s.queue_maxsize() > 0);
    assert_eq!(s.queue_maxsize(), fluent_std::DEFAULT_QUEUE_MAXSIZE);
}

#[test]
fn simple_emit_arrives() {
    let receiver = Receiver::start(1);
    let sender = AsyncSender::builder("test").sender(to(receiver.port)).build();
    sender.emit("foo", &common::bar_baz()).unwrap();
    let stats = sender.close_with(true, Duration::from_secs(10));
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "test.foo");
    assert_eq!(events[0].2, [("bar".to_owned(), "baz".to_owned())]);
    assert_eq!((stats.emitted, stats.sent), (1, 1));
}

#[test]
fn every_batch_mode_delivers_in_order() {
    for mode in [BatchMode::Message, BatchMode::Forward, BatchMode::PackedForward, BatchMode::CompressedPackedForward] {
        let receiver = Receiver::start(1);
        let sender =
            AsyncSender::builder("test").sender(to(receiver.port)).queue_maxsize(1000).batch_mode(mode).build();
        for i in 0..300 {
            // Two tags interleaved in runs, to exercise per-tag batching.
            sender.emit(if (i / 7) % 2 == 0 { "a" } else { "b" }, &numbered(i)).unwrap();
        }
        sender.close_with(true, Duration::from_secs(10));
        let events = receiver.events();
        assert_eq!(numbers(&events), (0..300).collect::<Vec<_>>(), "{mode:?}");
        assert!(events.iter().all(|(t, _, _)| t == "test.a" || t == "test.b"));
    }
}

#[test]
fn close_without_flush_discards_the_queue_and_counts_it() {
    let handed = Arc::new(Mutex::new(0usize));
    let sink = handed.clone();
    let sender = AsyncSender::builder("test")
        .sender(|s| nowhere(s).buffer_overflow_handler(move |_| *sink.lock().unwrap() += 1))
        .build();
    for i in 0..5 {
        sender.emit("foo", &numbered(i)).unwrap();
    }
    let stats = sender.close_with(false, Duration::ZERO);
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.unsent_at_close, 5);
    assert!(*handed.lock().unwrap() >= 1, "the unsent requests reach the handler");
    assert_accounted(&stats, 5);
}

#[test]
fn circular_queue_of_three_never_fails_and_delivers_at_least_three() {
    let receiver = Receiver::start(1);
    let sender = AsyncSender::builder("test").sender(to(receiver.port)).queue_maxsize(3).queue_circular(true).build();
    for i in 0..5 {
        // Python's circular emit always succeeds. Here it succeeds unless
        // the worker holds the oldest events for the whole bounded retry
        // (then the new event is dropped, counted: the documented rule).
        let _ = sender.emit("foo", &numbered(i));
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    let got = numbers(&receiver.events());
    assert!(got.len() >= 3, "{got:?}");
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert_accounted(&stats, 5);
}

#[test]
fn blocking_queue_of_three_delivers_all_in_order() {
    let receiver = Receiver::start(1);
    let sender = AsyncSender::builder("test").sender(to(receiver.port)).queue_maxsize(3).build();
    for i in 0..5 {
        sender.emit("foo", &numbered(i)).unwrap();
    }
    sender.close_with(true, Duration::from_secs(10));
    assert_eq!(numbers(&receiver.events()), [0, 1, 2, 3, 4]);
}

#[test]
fn a_large_queue_delivers_a_thousand_in_order() {
    let receiver = Receiver::start(1);
    let sender = AsyncSender::builder("test").sender(to(receiver.port)).queue_maxsize(1_000_000).build();
    for i in 0..1000 {
        sender.emit("foo", &numbered(i)).unwrap();
    }
    sender.close_with(true, Duration::from_secs(10));
    assert_eq!(numbers(&receiver.events()), (0..1000).collect::<Vec<_>>());
}

#[test]
fn many_threads_keep_per_thread_order() {
    let receiver = Receiver::start(1);
    let sender = Arc::new(AsyncSender::builder("test").sender(to(receiver.port)).queue_maxsize(100_000).build());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = sender.clone();
            thread::spawn(move || {
                for i in 0..1000 {
                    s.emit("many", &BTreeMap::from([("t", t), ("i", i)])).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    sender.close_with(true, Duration::from_secs(10));
    let events = receiver.events();
    assert_eq!(events.len(), 4000);
    for t in 0..4 {
        let seq: Vec<usize> = events
            .iter()
            .filter(|(_, _, r)| r.iter().any(|(k, v)| k == "t" && v == &t.to_string()))
            .map(|(_, _, r)| r.iter().find(|(k, _)| k == "i").unwrap().1.parse().unwrap())
            .collect();
        assert_eq!(seq, (0..1000).collect::<Vec<_>>(), "thread {t}");
    }
}

#[test]
fn server_down_at_start_then_up() {
    let dead = dead_port();
    let sender = AsyncSender::builder("test").sender(to(dead.port)).queue_maxsize(1000).build();
    for i in 0..50 {
        sender.emit("foo", &numbered(i)).unwrap();
    }
    thread::sleep(Duration::from_millis(100));
    assert!(sender.last_error().is_some(), "the worker's connection error is visible to the caller");
    let listener = dead.listen();
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        decode_all(&bytes)
    });
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!(numbers(&reader.join().unwrap()), (0..50).collect::<Vec<_>>());
    assert_eq!(stats.sent, 50);
    assert_accounted(&stats, 50);
}

#[test]
fn circular_mode_never_blocks_with_the_server_down() {
    let sender = AsyncSender::builder("test")
        .sender(|s| nowhere(s).bufmax(4096))
        .queue_maxsize(100)
        .queue_circular(true)
        .build();
    let mut refused = 0u64;
    for i in 0..20_000 {
        if sender.emit("foo", &numbered(i)).is_err() {
            refused += 1;
        }
    }
    let stats = sender.close_with(false, Duration::ZERO);
    assert_eq!(stats.emitted, 20_000, "refused events are emitted and dropped ({refused} refused)");
    // At most the queue plus `bufmax` of requests are held; the rest were
    // evicted (oldest first), refused, or handed to the buffer overflow
    // handler (the worker keeps draining while the server is down).
    assert!(stats.dropped_queue + stats.dropped_buffer >= 20_000 - 100 - 4096, "{stats:?}");
    assert_accounted(&stats, 20_000);
}

#[test]
fn blocking_mode_gives_up_after_its_deadline() {
    // A server that accepts and never reads, and a stall timeout longer than
    // the test: the server counts as available, so the worker leaves events
    // in the queue once `bufmax` is pending and the blocking queue pushes
    // back, for at most `queue_timeout` per emit.
    let (port, _holder) = never_reading_server(Duration::from_secs(5));
    let sender = AsyncSender::builder("test")
        .sender(|s| to(port)(s).bufmax(64))
        .queue_maxsize(10)
        .queue_timeout(Duration::from_millis(20))
        .stall_timeout(Duration::from_secs(60))
        .build();
    let pad = "x".repeat(64 * 1024);
    let mut full = 0;
    for i in 0..200 {
        match sender.emit("foo", &BTreeMap::from([("n", i.to_string()), ("pad", pad.clone())])) {
            Ok(()) => {}
            Err(SendError::QueueFull) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(full > 0, "a full queue refuses after the deadline instead of hanging");
    let started = Instant::now();
    let stats = sender.close_with(true, Duration::from_millis(100));
    assert!(started.elapsed() < Duration::from_millis(1100), "close keeps its deadline: {:?}", started.elapsed());
    assert_accounted(&stats, 200);
}

/// Accepts connections for `for_how_long` and never reads from them.
fn never_reading_server(for_how_long: Duration) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let holder = thread::spawn(move || {
        let mut conns = Vec::new();
        let until = Instant::now() + for_how_long;
        while Instant::now() < until {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            thread::sleep(Duration::from_millis(5));
        }
        drop(conns);
    });
    (port, holder)
}

/// A Forward server that answers acks: `mode` decides how.
#[derive(Clone, Copy, PartialEq)]
enum Acks {
    Correct,
    Never,
    WrongChunk,
}

/// Accepts connections until `stop`; decodes requests and answers acks.
/// With `kill_first_after`, the first connection is dropped (reset) after
/// that many requests, without acking the last one.
fn ack_server(acks: Acks, kill_first_after: Option<usize>) -> (u16, Arc<AtomicBool>, thread::JoinHandle<Vec<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let handle = thread::spawn(move || {
        let mut received = Vec::new();
        let mut first = true;
        while !stop_flag.load(Ordering::Relaxed) {
            let Ok((stream, _)) = listener.accept() else {
                thread::sleep(Duration::from_millis(5));
                continue;
            };
            let limit = if first { kill_first_after } else { None };
            first = false;
            serve(stream, acks, limit, &stop_flag, &mut received);
        }
        received
    });
    (port, stop, handle)
}

fn serve(mut stream: TcpStream, acks: Acks, limit: Option<usize>, stop: &AtomicBool, received: &mut Vec<usize>) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut buf = Vec::new();
    let mut requests = 0;
    let mut read = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut read) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&read[..n]),
            Err(_) => continue,
        }
        while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(&buf) {
            let mut reply = Vec::new();
            if let Frame::Request(r) = frame {
                requests += 1;
                if limit.is_some_and(|l| requests > l) {
                    // Hard reset, without acking this request.
                    let _ = socket_reset(&stream);
                    return;
                }
                for e in r.events().flatten() {
                    if let Ok(Some(n)) = e.record.get("n") {
                        received.push(render(n).parse().unwrap());
                    }
                }
                if let Some(chunk) = r.options().chunk {
                    match acks {
                        Acks::Correct => encode_ack(&mut reply, chunk).map(|_| ()).unwrap(),
                        Acks::WrongChunk => encode_ack(&mut reply, "not-your-chunk").map(|_| ()).unwrap(),
                        Acks::Never => {}
                    }
                }
            }
            buf.drain(..consumed);
            if !reply.is_empty() {
                let _ = stream.write_all(&reply);
            }
        }
    }
}

/// Closes with SO_LINGER 0: the peer sees a connection reset.
fn socket_reset(stream: &TcpStream) -> std::io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    socket.set_linger(Some(Duration::ZERO))?;
    socket.shutdown(std::net::Shutdown::Both)
}

fn ack_sender(port: u16) -> AsyncSenderBuilder {
    AsyncSender::builder("test")
        .sender(to(port))
        .queue_maxsize(10_000)
        .require_ack_response(true)
        .ack_timeout(Duration::from_millis(200))
}

#[test]
fn ack_mode_counts_acknowledged_events() {
    let (port, stop, server) = ack_server(Acks::Correct, None);
    let sender = ack_sender(port).build();
    for i in 0..200 {
        sender.emit("foo", &numbered(i)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    let mut got = server.join().unwrap();
    assert_eq!(stats.acked, 200);
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

#[test]
fn connection_reset_mid_stream_resends_the_unacked_chunk() {
    let (port, stop, server) = ack_server(Acks::Correct, Some(2));
    let sender = ack_sender(port).build();
    for i in 0..100 {
        sender.emit("foo", &numbered(i)).unwrap();
        if i % 10 == 0 {
            thread::sleep(Duration::from_millis(5)); // several requests
        }
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    let mut got = server.join().unwrap();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, (0..100).collect::<Vec<_>>(), "at least once: nothing lost");
    assert_eq!(stats.acked, 100);
    assert!(stats.reconnects >= 1);
}

#[test]
fn ack_never_sent_or_wrong_chunk_ends_unsent_and_counted() {
    for acks in [Acks::Never, Acks::WrongChunk] {
        let (port, stop, server) = ack_server(acks, None);
        let lost = Arc::new(Mutex::new(0usize));
        let sink = lost.clone();
        let sender =
            ack_sender(port).sender(|s| s.buffer_overflow_handler(move |b| *sink.lock().unwrap() += b.len())).build();
        for i in 0..20 {
            sender.emit("foo", &numbered(i)).unwrap();
        }
        let stats = sender.close_with(true, Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
        assert_eq!(stats.acked, 0);
        assert_eq!(stats.unsent_at_close, 20, "{stats:?}");
        assert!(*lost.lock().unwrap() > 0);
        assert_accounted(&stats, 20);
    }
}

#[test]
fn a_server_that_never_reads_does_not_block_the_application() {
    // Accepts, never reads: the kernel buffers fill, writes time out.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let holder = thread::spawn(move || {
        let mut conns = Vec::new();
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            thread::sleep(Duration::from_millis(5));
        }
        drop(conns);
    });
    let sender = AsyncSender::builder("test")
        .sender(|s| to(port)(s).timeout(Duration::from_millis(200)).bufmax(256 * 1024))
        .queue_maxsize(1000)
        .queue_timeout(Duration::from_millis(5))
        .build();
    let big = "x".repeat(2000);
    let started = Instant::now();
    let mut attempts = 0;
    while started.elapsed() < Duration::from_millis(800) {
        let _ = sender.emit("foo", &BTreeMap::from([("pad", big.as_str())]));
        attempts += 1;
    }
    let stats = sender.close_with(true, Duration::from_millis(300));
    assert_accounted(&stats, attempts);
    assert!(stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close > 0, "{stats:?}");
    holder.join().unwrap();
}

#[test]
fn unserializable_record_becomes_a_critical_record() {
    let receiver = Receiver::start(1);
    let sender = AsyncSender::builder("test").sender(to(receiver.port)).build();
    // The caller learns the record was not sent as given; the CRITICAL
    // record goes in its place; last_error is left to connection errors.
    assert!(matches!(sender.emit("foo", &[1, 2, 3]), Err(SendError::Encode(fluent_std::EncodeError::RecordNotMap))));
    assert_eq!(sender.last_error(), None);
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!((stats.emitted, stats.sent), (1, 1), "{stats:?}");
    let events = receiver.events();
    let record: BTreeMap<_, _> = events[0].2.iter().cloned().collect();
    assert_eq!((record["level"].as_str(), record["message"].as_str()), ("CRITICAL", "Can't output to log"));
    let off = AsyncSender::builder("test").sender(|s| nowhere(s).forward_packet_error(false)).build();
    assert!(matches!(off.emit("foo", &"not a map"), Err(SendError::Encode(_))));
}

#[test]
fn nanosecond_time_emit_after_close_and_unix_socket() {
    let path = std::env::temp_dir().join(format!("fluent-async-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        decode_all(&bytes)
    });
    let sender = AsyncSender::builder("test")
        .sender(|s| s.host(format!("unix://{}", path.display())).nanosecond_precision(true))
        .build();
    sender.emit("foo", &common::bar_baz()).unwrap();
    sender.close();
    assert_eq!(sender.emit("foo", &common::bar_baz()), Err(SendError::Closed));
    let events = reader.join().unwrap();
    assert_eq!(events.len(), 1, "only the event before close arrives");
    assert!(matches!(events[0].1, fluent_proto::Timestamp::Event(_)));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn module_level_async_sender() {
    let receiver = Receiver::start(1);
    fluent_std::asynchronous::setup(AsyncSender::builder("global").sender(to(receiver.port)));
    fluent_std::asynchronous::global_sender().unwrap().emit("x", &common::bar_baz()).unwrap();
    fluent_std::asynchronous::close();
    assert!(fluent_std::asynchronous::global_sender().is_none());
    assert_eq!(receiver.events()[0].0, "global.x");
}

#[test]
fn emitting_from_the_overflow_handler_is_refused_not_a_panic() {
    let slot: Arc<Mutex<Option<Arc<AsyncSender>>>> = Arc::new(Mutex::new(None));
    let inner = slot.clone();
    let results = Arc::new(Mutex::new(Vec::new()));
    let seen = results.clone();
    let sender = Arc::new(
        AsyncSender::builder("test")
            // A tiny bufmax keeps the worker from draining: the queue fills
            // and evicts, so the handler runs.
            .sender(|s| nowhere(s).bufmax(1))
            .queue_maxsize(2)
            .queue_circular(true)
            .queue_overflow_handler(move |_| {
                if let Some(s) = inner.lock().unwrap().as_ref() {
                    seen.lock().unwrap().push(s.emit("from-handler", &numbered(0)));
                }
            })
            .build(),
    );
    *slot.lock().unwrap() = Some(sender.clone());
    for i in 0..10 {
        let _ = sender.emit("foo", &numbered(i));
    }
    assert!(results.lock().unwrap().iter().any(|r| *r == Err(SendError::Reentrant)));
    *slot.lock().unwrap() = None;
    sender.close_with(false, Duration::ZERO);
}

#[test]
fn requests_stay_within_a_mebibyte_however_much_is_queued() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let sender = AsyncSender::builder("big")
        .sender(|s| nowhere(s).buffer_overflow_handler(move |bytes| seen.lock().unwrap().push(bytes.len())))
        .queue_bytes(16 << 20)
        .queue_maxsize(1_000_000)
        .build();
    let pad = "x".repeat(200);
    for n in 0..20_000 {
        sender.emit("e", &BTreeMap::from([("n", n.to_string()), ("pad", pad.clone())])).unwrap();
    }
    let stats = sender.close_with(false, Duration::ZERO);
    assert_eq!(stats.emitted, 20_000);
    let sizes = sizes.lock().unwrap();
    assert!(sizes.len() >= 4, "{} requests for about 4.6 MB", sizes.len());
    assert!(sizes.iter().all(|&s| s <= (1 << 20) + 1024), "{sizes:?}");
}
