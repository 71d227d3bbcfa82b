//! Several servers: two primaries and a standby (three catchers), killed
//! and restarted during a run in ack mode. Every event lands at least once
//! and none is reported lost; the standby carries traffic only while both
//! primaries are down; the sync sender fails over too. And a connection
//! idle past `keepalive_timeout` is closed, then reopened by the next event.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fluent_catcher::{Catcher, CatcherHandle, CaughtEvent, Config, MemoryOutput, Output};
use fluent_std::{AsyncSender, Sender, Server};

/// A catcher that can be killed and started again on the same port,
/// keeping what it wrote.
struct Node {
    addr: SocketAddr,
    memory: MemoryOutput,
    running: Option<(CatcherHandle, std::thread::JoinHandle<()>)>,
}

impl Node {
    fn start() -> Node {
        let mut node = Node { addr: ([127, 0, 0, 1], 0).into(), memory: MemoryOutput::default(), running: None };
        node.up();
        node
    }

    fn up(&mut self) {
        let config = Config::default()
            .forward(self.addr)
            .no_pickle()
            .udp_heartbeat(false)
            .output(Output::Memory(self.memory.clone()))
            .log_connections(false)
            .flush_interval(Duration::from_millis(5))
            .shutdown_grace(Duration::ZERO);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            runtime.block_on(async move {
                let catcher = Catcher::bind(config).await.expect("bind");
                ready_tx.send((catcher.forward_addr().unwrap(), catcher.handle())).unwrap();
                catcher.run().await.unwrap();
            });
        });
        let (addr, handle) = ready_rx.recv().unwrap();
        self.addr = addr;
        self.running = Some((handle, thread));
    }

    /// Stops at once: open connections are closed, unacked requests lost.
    fn kill(&mut self) {
        if let Some((handle, thread)) = self.running.take() {
            handle.shutdown();
            thread.join().unwrap();
        }
    }

    fn numbers(&self) -> Vec<u64> {
        String::from_utf8(self.memory.contents())
            .unwrap()
            .lines()
            .map(|line| CaughtEvent::parse_line(line).unwrap().record["n"].as_u64().unwrap())
            .collect()
    }

    fn server(&self) -> Server {
        Server::new("127.0.0.1", self.addr.port())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn two_primaries_and_a_standby_killed_and_restarted_in_ack_mode_lose_nothing() {
    let (mut a, mut b, c) = (Node::start(), Node::start(), Node::start());
    let sender = Arc::new(
        AsyncSender::builder("failover")
            .sender(|s| {
                s.server(a.server())
                    .server(b.server())
                    .server(c.server().as_standby())
                    .timeout(Duration::from_millis(500))
                    .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
            })
            .require_ack_response(true)
            .ack_timeout(Duration::from_secs(2))
            .build(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let emitted = Arc::new(AtomicU64::new(0));
    let producer = {
        let (sender, stop, emitted) = (sender.clone(), stop.clone(), emitted.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = emitted.load(Ordering::Relaxed);
                sender.emit("event", &BTreeMap::from([("n", n)])).unwrap();
                emitted.store(n + 1, Ordering::Relaxed);
                if n % 10 == 0 {
                    sleep_ms(1);
                }
            }
        })
    };

    sleep_ms(400);
    a.kill();
    sleep_ms(400);
    assert!(c.numbers().is_empty(), "the standby took traffic while primary b was up");
    b.kill();
    sleep_ms(600);
    let standby_took = c.numbers().len();
    assert!(standby_took > 0, "nothing reached the standby while both primaries were down");
    a.up();
    // Back to the primary once its backoff (at most 200 ms) has run out.
    sleep_ms(1000);
    let standby_after_recovery = c.numbers().len();
    sleep_ms(600);
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    let stats = sender.close_with(true, Duration::from_secs(20));
    // Acked means written by the catcher: nothing more to wait for.

    let n = emitted.load(Ordering::Relaxed);
    assert_eq!(stats.emitted, n, "{stats:?}");
    assert_eq!(stats.acked, n, "every event acked: {stats:?}");
    assert_eq!(stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close, 0, "{stats:?}");
    let mut landed: BTreeSet<u64> = a.numbers().into_iter().collect();
    landed.extend(b.numbers());
    landed.extend(c.numbers());
    let missing: Vec<u64> = (0..n).filter(|i| !landed.contains(i)).take(10).collect();
    assert!(missing.is_empty(), "{} of {n} events never landed, e.g. {missing:?}", n - landed.len() as u64);
    assert_eq!(c.numbers().len(), standby_after_recovery, "the standby kept traffic after a primary came back");
    assert!(a.numbers().len() > standby_took, "{} {standby_took}", a.numbers().len());
    assert!(stats.connection_errors > 0, "{stats:?}");
}

#[test]
fn the_sync_sender_moves_to_the_next_server_within_the_same_emit() {
    let (mut a, b) = (Node::start(), Node::start());
    let sender = Sender::builder("failover")
        .server(a.server())
        .server(b.server().as_standby())
        .timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_secs(5), Duration::from_secs(5))
        .build();
    sender.emit("event", &BTreeMap::from([("n", 0)])).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while a.numbers().is_empty() && std::time::Instant::now() < deadline {
        sleep_ms(10);
    }
    a.kill();
    // The first write after the kill may still be taken by the kernel;
    // from then on every emit goes to the standby without an error.
    let mut errors = 0;
    for n in 1..=20u64 {
        if sender.emit("event", &BTreeMap::from([("n", n)])).is_err() {
            errors += 1;
        }
    }
    assert!(errors <= 1, "{errors} emits failed");
    sender.close();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.numbers().len() < 19 && std::time::Instant::now() < deadline {
        sleep_ms(10);
    }
    let on_b: BTreeSet<u64> = b.numbers().into_iter().collect();
    assert!((2..=20).all(|n| on_b.contains(&n)), "{on_b:?}");
    assert_eq!(a.numbers(), [0]);
}

#[test]
fn keepalive_timeout_closes_an_idle_connection_and_the_next_event_reconnects() {
    let catcher = fluent_catcher::TestCatcher::start().unwrap();
    let sender = AsyncSender::builder("keepalive")
        .sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port()))
        .keepalive_timeout(Some(Duration::from_millis(200)))
        .build();
    sender.emit("event", &BTreeMap::from([("n", 0)])).unwrap();
    assert!(sender.flush(Duration::from_secs(10)));
    // The server sees the connection end without another event.
    let closed = catcher.wait_for_connections(1, Duration::from_secs(10));
    assert_eq!((closed.len(), closed[0].events), (1, 1), "{closed:?}");
    sender.emit("event", &BTreeMap::from([("n", 1)])).unwrap();
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!((stats.sent, stats.reconnects, stats.connection_errors), (2, 1, 0), "{stats:?}");
    assert_eq!(catcher.wait_for_events(2, Duration::from_secs(10)).len(), 2);
}

#[test]
fn heartbeats_bring_traffic_back_to_a_primary_long_before_its_backoff_ends() {
    let (mut a, b) = (Node::start(), Node::start());
    let sender = AsyncSender::builder("heartbeat")
        .sender(|s| {
            s.server(a.server())
                .server(b.server().as_standby())
                .timeout(Duration::from_millis(300))
                // Without heartbeats the primary would be retried only
                // after 20 s.
                .reconnect_backoff(Duration::from_secs(20), Duration::from_secs(20))
                .heartbeat_interval(Some(Duration::from_millis(50)))
        })
        .require_ack_response(true)
        .build();
    let emit = |n: u64| sender.emit("event", &BTreeMap::from([("n", n)])).unwrap();
    emit(0);
    assert!(sender.flush(Duration::from_secs(10)));
    a.kill();
    for n in 1..=10 {
        emit(n);
    }
    assert!(sender.flush(Duration::from_secs(10)), "{:?}", sender.stats());
    assert!(b.numbers().contains(&10), "the standby took over: {:?}", b.numbers());
    a.up();
    // The heartbeat sees the primary back within 50 ms; the standby
    // connection makes way between two requests.
    let started = std::time::Instant::now();
    let mut n = 11;
    while !a.numbers().iter().any(|&k| k > 10) {
        assert!(started.elapsed() < Duration::from_secs(10), "never back on the primary: {:?}", sender.stats());
        emit(n);
        n += 1;
        sleep_ms(20);
    }
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!(stats.acked, n, "{stats:?}");
}
