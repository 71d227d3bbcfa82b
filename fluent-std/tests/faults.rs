//! The asynchronous sender against a fault-injecting server, in blocking,
//! circular and ack modes: emits never wait for the outage, `close_with`
//! keeps its deadline, every event ends in exactly one counter, the buffer
//! overflow handler receives exactly the events counted as handed to it,
//! and ack mode loses nothing.
//!
//! The only timings asserted are promised deadlines, with a second of
//! margin. "Emits never wait for the outage" is asserted by counts: the
//! queue timeout is 10 s, so an emit that waited for the server would be
//! refused (`dropped_queue`) or take the whole test's budget.

#[path = "common/mod.rs"]
mod common;
#[path = "faults/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fluent_std::{AsyncSender, AsyncSenderBuilder, BatchMode, Stats};
use server::{Fault, FaultServer};

const EVENTS: u64 = 20_000;
const CLOSE: Duration = Duration::from_millis(500);
const MARGIN: Duration = Duration::from_secs(1);
/// The emits of one case must finish well within this (they take
/// milliseconds); an emit that waited for the server takes the queue
/// timeout, 10 s.
const EMIT_BUDGET: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy, PartialEq)]
enum QueueMode {
    Block,
    Circular,
    Ack,
}

/// The default configuration, but for the port, a 10 s queue timeout (see
/// the module docs) and a buffer overflow handler that counts the events it
/// receives.
fn sender(mode: QueueMode, port: u16, handed_over: &Arc<AtomicU64>) -> AsyncSenderBuilder {
    let counted = handed_over.clone();
    let builder = AsyncSender::builder("fault")
        .sender(move |s| {
            s.host("127.0.0.1").port(port).buffer_overflow_handler(move |bytes| {
                counted.fetch_add(common::decode_all(bytes).len() as u64, Ordering::Relaxed);
            })
        })
        .queue_timeout(Duration::from_secs(10));
    match mode {
        QueueMode::Block => builder,
        QueueMode::Circular => builder.queue_circular(true),
        QueueMode::Ack => builder.require_ack_response(true),
    }
}

/// About 230 bytes encoded: 20,000 of them are 4.5 times the default
/// `bufmax`, so every outage overflows the pending buffer.
#[derive(serde::Serialize)]
struct Record {
    n: u64,
    pad: &'static str,
}

fn record(n: u64) -> Record {
    Record { n, pad: PAD }
}

const PAD: &str = concat!(
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef",
);

/// Every event ended in exactly one counter (after close nothing is queued
/// or pending), and the handler got exactly the events counted as handed
/// to it.
fn assert_accounted(stats: &Stats, handed_over: u64, what: &str) {
    assert_eq!(stats.emitted, EVENTS, "{what}: {stats:?}");
    assert_eq!((stats.queued_events, stats.pending_events), (0, 0), "{what}: {stats:?}");
    assert_eq!(
        stats.sent + stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close,
        stats.emitted,
        "{what}: every event ends in exactly one counter: {stats:?}"
    );
    assert_eq!(handed_over, stats.dropped_buffer + stats.unsent_at_close, "{what}: {stats:?}");
}

/// Emits `EVENTS` against `fault`, then closes with a 500 ms deadline.
fn run(fault: Fault, mode: QueueMode) {
    let what = format!("{fault:?} / {mode:?}");
    let server = FaultServer::start(fault, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(mode, server.port, &handed_over).build();
    let started = Instant::now();
    let mut attempted = 0;
    // Bounded, so that a regression fails instead of hanging.
    while attempted < EVENTS && started.elapsed() < EMIT_BUDGET {
        let _ = sender.emit("x", &record(attempted));
        attempted += 1;
    }
    let emitting = started.elapsed();
    assert_eq!(attempted, EVENTS, "{what}: emits waited for the server ({emitting:?})");
    let closing = Instant::now();
    let stats = sender.close_with(true, CLOSE);
    let closing = closing.elapsed();
    assert!(closing < CLOSE + MARGIN, "{what}: close_with(500 ms) took {closing:?}");
    if mode != QueueMode::Circular {
        assert_eq!(stats.dropped_queue, 0, "{what}: no emit waited out the queue timeout: {stats:?}");
    }
    assert_accounted(&stats, handed_over.load(Ordering::Relaxed), &what);
    if mode == QueueMode::Ack {
        assert_eq!(stats.sent, stats.acked, "{what}");
        assert!(server.distinct() as u64 >= stats.acked, "{what}: an acked event was received");
    }
    drop(sender);
}

macro_rules! fault_cases {
    ($($name:ident: $fault:expr;)*) => {$(
        mod $name {
            use super::*;
            #[test]
            fn block() {
                run($fault, QueueMode::Block);
            }
            #[test]
            fn circular() {
                run($fault, QueueMode::Circular);
            }
            #[test]
            fn ack() {
                run($fault, QueueMode::Ack);
            }
        }
    )*};
}

fault_cases! {
    refused: Fault::Refuse;
    syn_unanswered: Fault::SynBlackhole;
    never_reads: Fault::NeverRead;
    reads_1kb_a_second: Fault::SlowRead;
    blackhole_after_30kb: Fault::BlackholeAfter(30_000);
    reset_mid_write: Fault::ResetAfter(3_000);
    half_close: Fault::HalfClose;
    close_after_each_ack: Fault::CloseAfterEachAck;
    never_acks: Fault::NeverAck;
    acks_the_wrong_chunk: Fault::WrongChunk;
    floods_the_sender: Fault::Flood;
}

/// Ack mode after a fault on the first connection: every event arrives, at
/// least once, and is counted as sent (with a `bufmax` that holds them all:
/// beyond it, the `run` cases show them handed to the overflow handler).
fn recovers(fault: Fault, batch: BatchMode, events: u64) {
    let what = format!("{fault:?} / {batch:?}");
    let server = FaultServer::start(fault, 1);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Ack, server.port, &handed_over)
        .batch_mode(batch)
        .ack_timeout(Duration::from_millis(300))
        .sender(|s| s.bufmax(16 << 20).reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build();
    for n in 0..events {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!((stats.emitted, stats.sent, stats.acked), (events, events, events), "{what}: {stats:?}");
    assert_eq!(server.distinct() as u64, events, "{what}: every event arrived");
    assert_eq!(handed_over.load(Ordering::Relaxed), 0, "{what}");
}

#[test]
fn ack_mode_loses_nothing_after_a_reset_mid_write() {
    recovers(Fault::ResetAfter(3_000), BatchMode::PackedForward, 5_000);
}

#[test]
fn ack_mode_loses_nothing_after_a_blackhole() {
    recovers(Fault::BlackholeAfter(30_000), BatchMode::PackedForward, 5_000);
}

#[test]
fn ack_mode_loses_nothing_after_missing_or_wrong_acks() {
    recovers(Fault::NeverAck, BatchMode::Forward, 2_000);
    recovers(Fault::WrongChunk, BatchMode::Message, 500);
}

#[test]
fn a_server_closing_after_each_ack_is_a_normal_close() {
    // Fluentd's `deny_keepalive`: Message mode with acks, one connection per
    // event. No backoff, no error: the events go at connection speed.
    let server = FaultServer::start(Fault::CloseAfterEachAck, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Ack, server.port, &handed_over).batch_mode(BatchMode::Message).build();
    for n in 0..300 {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!((stats.sent, stats.acked), (300, 300), "{stats:?}");
    assert_eq!(stats.connection_errors, 0, "a close after an ack is not an error: {stats:?}");
    assert_eq!(server.distinct(), 300);
}

#[test]
fn a_server_that_closes_after_each_request_gets_one_request_per_connection() {
    // Without acks, against a server that reads one request and closes
    // (as Fluentd's `deny_keepalive` does), requests written behind it on
    // the same connection are lost unseen. This one resets the connection
    // after its request, which shows the sender at once what it is; from
    // then on each connection carries one request and the sender waits for
    // the server's close before the next, so a burst all arrives.
    let server = FaultServer::start(Fault::ResetAfterEachRequest, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(Duration::from_secs(10)).build();
    for n in 0..10 {
        sender.emit("x", &record(n)).unwrap();
    }
    assert!(sender.flush(Duration::from_secs(10)));
    // The server resets the connection after that first request.
    std::thread::sleep(Duration::from_millis(100));
    for n in 10..10 + EVENTS {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    // Only one request was ever written per connection, so nothing was
    // lost; but a reset where a close was due may have cut that request,
    // which, without acks, only the server knows: each one is an error.
    assert_eq!((stats.dropped_buffer, stats.unsent_at_close), (0, 0), "{stats:?}");
    assert!(stats.connection_errors > 0 && stats.connection_errors <= stats.reconnects, "{stats:?}");
    assert_eq!(server.await_distinct_from(10, EVENTS, Duration::from_secs(30)), EVENTS, "{stats:?}");
}

#[test]
fn requests_lost_behind_a_close_after_a_request_are_not_lost_silently() {
    // A burst at once into a server that reads one request, then closes
    // with the rest unread: what was written behind the first request on
    // that connection is lost, and without acks the sender cannot count
    // it, but it says so with a connection error.
    let server = FaultServer::start(Fault::CloseAfterEachAck, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(Duration::from_secs(10)).build();
    for n in 0..EVENTS {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    let received = server.await_distinct(stats.sent, Duration::from_secs(5));
    assert!(received == stats.sent || stats.connection_errors > 0, "{received} received, silently: {stats:?}");
}

#[test]
fn a_server_cutting_every_request_is_not_taken_for_one_that_closes_after_each() {
    // Each connection takes 3,000 bytes and resets, in the middle of a
    // request: a reset where a server closing after each request would
    // close. Without acks the sender cannot know what was cut, but every
    // such connection counts an error.
    let server = FaultServer::start(Fault::ResetAfter(3_000), usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(Duration::from_secs(10)).build();
    for n in 0..EVENTS {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    assert!(stats.reconnects > 10, "{stats:?}");
    assert!(stats.connection_errors * 2 >= stats.reconnects, "cuts went uncounted: {stats:?}");
}

#[test]
fn a_server_resetting_after_acks_is_failing_not_closing_after_each_request() {
    // Each connection acks the requests in its first 3,000 bytes, then
    // resets in the middle of the next. An ack before each reset makes it
    // look like a server closing after each request, but it kept the
    // connection open past the close it was given time for: the resets
    // are failures (errors, backoff), and ack mode still loses nothing.
    let server = FaultServer::start(Fault::ResetAfter(3_000), usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Ack, server.port, &handed_over)
        .batch_mode(BatchMode::Message)
        .sender(|s| s.reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build();
    for n in 0..100 {
        sender.emit("x", &record(n)).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    assert_eq!((stats.sent, stats.acked), (100, 100), "{stats:?}");
    assert_eq!(server.distinct(), 100, "{stats:?}");
    assert!(stats.connection_errors * 3 >= stats.reconnects, "resets taken for closes: {stats:?}");
}

#[test]
fn events_queued_while_a_server_closes_go_out_as_one_request() {
    // A server that takes 50 ms to close after each request: each
    // connection carries one request, so what the program logs meanwhile
    // waits and goes out together, not as a request (and a connection) per
    // event.
    let server = FaultServer::start(Fault::SlowCloseAfterEachAck(Duration::from_millis(50)), usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(Duration::from_secs(10)).build();
    // Two requests on one connection, the second written while the server
    // waits to close (after it read the first): unread at the close, it
    // draws a reset, which shows the sender what the server is.
    sender.emit("x", &record(0)).unwrap();
    assert_eq!(server.await_distinct(1, Duration::from_secs(10)), 1);
    sender.emit("x", &record(1)).unwrap();
    assert!(sender.flush(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300));
    let marked = sender.stats();
    for n in 2..202 {
        sender.emit("x", &record(n)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    let connections = stats.reconnects - marked.reconnects;
    assert!(connections <= 40, "200 events, one every 2 ms, took {connections} connections: {stats:?}");
    // The burst arrives whole (the second event of the marking may not),
    // or, when a starved server took longer than the sender waits for its
    // close, the loss is reported.
    let burst = server.await_distinct_from(2, 200, Duration::from_secs(10));
    assert!(burst == 200 || stats.connection_errors > marked.connection_errors, "{burst} arrived: {stats:?}");
}

#[test]
fn a_server_that_closed_once_after_a_request_keeps_its_connection_after_all() {
    // The first connection closes after its first request (a restart,
    // say); the next keeps connections alive. The sender waits for a close
    // that does not come, then writes on: one reconnect in all.
    let server = FaultServer::start(Fault::CloseAfterEachAck, 1);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).build();
    sender.emit("x", &record(0)).unwrap();
    assert!(sender.flush(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(100));
    for round in 0..5 {
        for n in 1 + round * 1_000..1 + (round + 1) * 1_000 {
            sender.emit("x", &record(n)).unwrap();
        }
        assert!(sender.flush(Duration::from_secs(10)));
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!((stats.sent, stats.reconnects, stats.connection_errors), (5_001, 1, 0), "{stats:?}");
    server.await_distinct(5_001, Duration::from_secs(30));
    assert_eq!(server.distinct(), 5_001, "{stats:?}");
}

#[test]
fn flush_is_true_only_when_everything_was_written() {
    let server = FaultServer::start(Fault::Refuse, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).build();
    let started = Instant::now();
    for n in 0..EVENTS {
        let _ = sender.emit("x", &record(n));
        assert!(started.elapsed() < EMIT_BUDGET, "emits waited for the server");
    }
    let started = Instant::now();
    assert!(!sender.flush(Duration::from_millis(300)), "nothing was written: {:?}", sender.stats());
    assert!(started.elapsed() < Duration::from_millis(300) + MARGIN);
    drop(server);
    let live = FaultServer::start(Fault::HalfClose, 0);
    let sender = sender_to(live.port);
    for n in 0..1_000 {
        sender.emit("x", &record(n)).unwrap();
    }
    assert!(sender.flush(Duration::from_secs(10)), "{:?}", sender.stats());
    assert_eq!(sender.stats().sent, 1_000);
}

fn sender_to(port: u16) -> AsyncSender {
    AsyncSender::builder("fault").sender(|s| s.host("127.0.0.1").port(port)).build()
}

#[test]
fn dropping_a_sender_keeps_the_close_timeout() {
    let server = FaultServer::start(Fault::NeverAck, usize::MAX);
    let sender = AsyncSender::builder("fault")
        .sender(|s| s.host("127.0.0.1").port(server.port))
        .require_ack_response(true)
        .close_timeout(CLOSE)
        .build();
    for n in 0..1_000 {
        sender.emit("x", &record(n)).unwrap();
    }
    let started = Instant::now();
    drop(sender);
    assert!(started.elapsed() < CLOSE + MARGIN, "drop took {:?}", started.elapsed());
}

#[test]
fn a_loss_report_follows_the_outage() {
    // Drops while nothing listens; then a server comes up on the same port
    // and receives the report under `fault.dropped`.
    let parked = FaultServer::start(Fault::Refuse, usize::MAX);
    let port = parked.port;
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, port, &handed_over)
        .sender(|s| s.bufmax(1024).reconnect_backoff(Duration::from_millis(10), Duration::from_millis(20)))
        .build();
    let started = Instant::now();
    for n in 0..5_000 {
        let _ = sender.emit("x", &record(n));
        assert!(started.elapsed() < EMIT_BUDGET, "emits waited for the server");
    }
    // Let the worker see the outage and shed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sender.stats().dropped_buffer == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let dropped = sender.stats().dropped_buffer;
    assert!(dropped > 0, "{:?}", sender.stats());
    drop(parked);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        common::decode_all(&bytes)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while sender.stats().loss_reports == 0 && Instant::now() < deadline {
        let _ = sender.emit("x", &record(99_999));
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = sender.close_with(true, Duration::from_secs(5));
    assert_eq!(stats.loss_reports, 1, "{stats:?}");
    let events = reader.join().unwrap();
    let report = events.iter().find(|(tag, _, _)| tag == "fault.dropped").expect("a report under fault.dropped");
    let fields: BTreeMap<_, _> = report.2.iter().cloned().collect();
    let reported: u64 = fields["dropped"].parse().unwrap();
    assert!(reported >= dropped, "{fields:?}, dropped {dropped}");
    assert_eq!(reported, stats.dropped_buffer + stats.dropped_queue, "{fields:?} {stats:?}");
    assert!(fields.contains_key("since") && fields.contains_key("reason"), "{fields:?}");
}

#[test]
fn a_host_name_is_resolved_off_the_emitting_path_and_every_address_is_tried() {
    // "localhost" goes through the resolver thread; it may list ::1 first,
    // where nothing listens: the next address is tried.
    let server = FaultServer::start(Fault::NeverAck, 0);
    let sender = AsyncSender::builder("fault")
        .sender(|s| s.host("localhost").port(server.port))
        .require_ack_response(true) // acked: the server has them when close returns
        .build();
    for n in 0..10 {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!(stats.sent, 10, "{stats:?}");
    assert_eq!(server.distinct(), 10);
}

#[test]
fn a_connection_that_takes_no_bytes_is_abandoned_and_its_unacknowledged_events_counted() {
    // The first connection reads 30 KB and then nothing; the next is
    // well-behaved. After the `timeout` (300 ms here) without taking bytes,
    // the sender drops the first connection and counts the events whose
    // bytes the peer's TCP never acknowledged.
    let server = FaultServer::start(Fault::BlackholeAfter(30_000), 1);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender =
        sender(QueueMode::Block, server.port, &handed_over).sender(|s| s.timeout(Duration::from_millis(300))).build();
    for n in 0..EVENTS {
        let _ = sender.emit("x", &record(n));
    }
    let started = Instant::now();
    while sender.stats().reconnects == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "never abandoned: {:?}", sender.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_accounted(&stats, handed_over.load(Ordering::Relaxed), "blackhole");
    assert!(stats.connection_errors >= 1, "{stats:?}");
    if cfg!(target_os = "linux") {
        assert!(stats.lost_in_flight > 0, "{stats:?}");
        let received = server.distinct() as u64;
        assert!(
            received + stats.lost_in_flight <= stats.sent,
            "an event counted lost in flight was not received: {received} received, {stats:?}"
        );
    }
}

#[test]
fn a_burst_at_start_up_is_pushed_back_not_shed() {
    // A 16 MiB queue takes megabytes before the worker first looks (it
    // dozes 2 ms at a time once idle) and connects; the server is fine, so
    // nothing may be shed while the connection comes up.
    let server = FaultServer::start(Fault::HalfClose, 0);
    let handed_over = Arc::new(AtomicU64::new(0));
    // A long stall_timeout: on a loaded machine the server's reader can
    // pause past the default, and that (a stalled server) is shed by
    // design; what is tested here is the first connect.
    let sender = sender(QueueMode::Block, server.port, &handed_over)
        .queue_bytes(16 << 20)
        .queue_maxsize(1_000_000)
        .stall_timeout(Duration::from_secs(10))
        .build();
    // The program starts up; the worker goes from naps to dozes.
    std::thread::sleep(Duration::from_millis(20));
    for n in 0..EVENTS * 5 {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    assert_eq!((stats.sent, stats.dropped_buffer, stats.dropped_queue), (EVENTS * 5, 0, 0), "{stats:?}");
    // Written to the kernel is not yet read by the server: on a loaded
    // machine its reader can take a while.
    server.await_distinct(EVENTS * 5, Duration::from_secs(60));
    let received = server.received.lock().unwrap().len();
    assert_eq!(server.distinct() as u64, EVENTS * 5, "{received} received in all");
}

/// A burst of 100,000 events (about 23 MB, more than the kernel's socket
/// buffers, `bufmax` and the queue together) into a live server that takes
/// 30 KB and then pauses, as Fluentd does in a garbage collection. Returns
/// the stats after close, the events handed to the overflow handler, and
/// the distinct events the server received.
fn burst_over_a_pause(pause: Duration, stall_timeout: Duration) -> (Stats, u64, u64) {
    const BURST: u64 = EVENTS * 5;
    let server = FaultServer::start(Fault::PauseAfter(30_000, pause), usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(stall_timeout).build();
    for n in 0..BURST {
        let _ = sender.emit("x", &record(n));
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    server.await_distinct(stats.sent, Duration::from_secs(60));
    assert_eq!(stats.emitted, BURST, "{stats:?}");
    assert_eq!(stats.sent + stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close, BURST, "{stats:?}");
    (stats, handed_over.load(Ordering::Relaxed), server.distinct() as u64)
}

#[test]
fn a_live_servers_pause_within_the_stall_timeout_is_pushed_back_not_shed() {
    // The stall timeout (10 s here, 250 ms by default) is longer than the
    // pause: the blocking queue holds the program back, nothing is shed.
    let (stats, handed_over, received) = burst_over_a_pause(Duration::from_millis(300), Duration::from_secs(10));
    assert_eq!((stats.dropped_queue, stats.dropped_buffer, handed_over), (0, 0, 0), "{stats:?}");
    assert_eq!(received, stats.emitted, "{stats:?}");
}

#[test]
fn a_live_servers_pause_beyond_the_stall_timeout_is_shed_and_counted() {
    // The other side of the trade-off: with a stall timeout shorter than
    // the pause, the server counts as unavailable, emits stop waiting, and
    // what does not fit in `bufmax` goes to the overflow handler. The pause
    // is long enough for the burst to overflow it on a loaded machine too.
    let (stats, handed_over, received) = burst_over_a_pause(Duration::from_millis(1500), Duration::from_millis(20));
    assert!(stats.dropped_buffer > 0, "{stats:?}");
    assert_eq!(handed_over, stats.dropped_buffer + stats.unsent_at_close, "{stats:?}");
    assert_eq!(received, stats.sent, "{stats:?}");
}

#[test]
fn a_server_that_only_shuts_down_its_sending_side_gets_every_event_and_none_counts_lost() {
    // The server sends its FIN at once and reads on. The sender takes the
    // FIN for a close and reconnects between requests; what it wrote on
    // the old connection still arrives (its close is graceful), so none of
    // it may count as lost in flight or be reported lost.
    const BURST: u64 = EVENTS * 5;
    let server = FaultServer::start(Fault::HalfClose, usize::MAX);
    let handed_over = Arc::new(AtomicU64::new(0));
    // A long stall_timeout: this is about closes, not a starved reader.
    let sender = sender(QueueMode::Block, server.port, &handed_over).stall_timeout(Duration::from_secs(10)).build();
    for n in 0..BURST {
        sender.emit("x", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(30));
    server.await_distinct(BURST, Duration::from_secs(60));
    assert_eq!(stats.sent, BURST, "{stats:?}");
    assert_eq!(server.distinct() as u64, BURST, "{stats:?}");
    assert!(stats.reconnects > 0, "the half-close was taken for a close: {stats:?}");
    assert_eq!((stats.lost_in_flight, stats.loss_reports), (0, 0), "{stats:?}");
}
