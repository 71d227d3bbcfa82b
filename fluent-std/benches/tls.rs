//! TLS against plain TCP, end to end into the catcher, in one run: the
//! AsyncSender's events/s and its callers' emit latency (encryption runs on
//! the worker, so emit should not change), and npm's `@fluent-org/logger`
//! client over the same two listeners. Printed as a Markdown table with
//! ratios.
//!
//! Run: `cargo bench -p fluent-std --bench tls` (the node rows need
//! `ci/install-test-deps.sh`). Optional argument: events per fluent-std run
//! (default 1,000,000; the median of five runs is shown); the node client
//! sends a tenth of that, once.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fluent_catcher::{Catcher, CatcherHandle, Config, Output, TestCertificates};
use fluent_std::{AsyncSender, TlsConfig};

#[path = "common/record.rs"]
mod record;
use record::RECORD;

/// A catcher writing to /dev/null, plain and TLS listeners.
struct Sink {
    handle: CatcherHandle,
    plain: u16,
    tls: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    fn start(certs: &TestCertificates) -> Sink {
        let config = Config::default()
            .forward("127.0.0.1:0".parse().unwrap())
            .tls_forward("127.0.0.1:0".parse().unwrap(), certs.server_tls().unwrap())
            .no_pickle()
            .udp_heartbeat(false)
            .output(Output::File("/dev/null".into()))
            .log_connections(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let catcher = Catcher::bind(config).await.unwrap();
                let ports = (catcher.forward_addr().unwrap().port(), catcher.tls_forward_addr().unwrap().port());
                ready_tx.send((ports, catcher.handle())).unwrap();
                catcher.run().await.unwrap();
            });
        });
        let ((plain, tls), handle) = ready_rx.recv().unwrap();
        Sink { handle, plain, tls, thread: Some(thread) }
    }

    /// Waits until `n` events in all have been written.
    fn wait_written(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.handle.stats().events_written < n {
            assert!(Instant::now() < deadline, "the catcher wrote {} of {n}", self.handle.stats().events_written);
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Row {
    events: u64,
    seconds: f64,
    p50: Option<u64>,
    p99: Option<u64>,
}

const ROUNDS: usize = 5;

/// The round with the median rate.
fn median(mut rows: Vec<Row>) -> Row {
    rows.sort_by(|a, b| (a.seconds / a.events as f64).total_cmp(&(b.seconds / b.events as f64)));
    rows.swap_remove(rows.len() / 2)
}

fn pick(sorted: &[u64], q: f64) -> u64 {
    sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// The AsyncSender, default options, from the first emit until the
/// catcher has written the last event.
fn ours(sink: &Sink, port: u16, tls: Option<TlsConfig>, n: u64, before: u64) -> Row {
    let sender = AsyncSender::builder("bench")
        .sender(|s| {
            let s = s.host("127.0.0.1").port(port);
            match tls {
                Some(tls) => s.tls(tls),
                None => s,
            }
        })
        .build();
    let mut latencies = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        sender.emit("access", &RECORD).unwrap();
        latencies.push(t.elapsed().as_nanos() as u64);
    }
    sink.wait_written(before + n);
    let seconds = started.elapsed().as_secs_f64();
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!(stats.sent, n, "{stats:?}");
    latencies.sort_unstable();
    Row { events: n, seconds, p50: Some(pick(&latencies, 0.5)), p99: Some(pick(&latencies, 0.99)) }
}

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node")
}

/// npm's client, until the catcher has written the last event; `None`
/// when node or the package is missing.
fn node(sink: &Sink, port: u16, ca: Option<&std::path::Path>, n: u64, before: u64) -> Option<Row> {
    if !node_dir().join("node_modules/@fluent-org/logger").exists() {
        return None;
    }
    let mut command = Command::new("node");
    command.arg(node_dir().join("bench_client.js")).args([port.to_string(), n.to_string()]).current_dir(node_dir());
    if let Some(ca) = ca {
        command.env("TLS_CA", ca);
    }
    let started = Instant::now();
    let out = command.output().ok()?;
    if !out.status.success() {
        eprintln!("node client failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    sink.wait_written(before + n);
    // The process's start-up is not the client's cost: count from its own
    // clock when that is shorter.
    let own: f64 = serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()?["seconds"].as_f64()?;
    let seconds = started.elapsed().as_secs_f64().min(own.max(0.0) + 0.05);
    Some(Row { events: n, seconds, p50: None, p99: None })
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let certs = TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-bench-tls-{}", std::process::id()));
    let files = certs.write_to(&dir).unwrap();
    let sink = Sink::start(&certs);
    let tls = TlsConfig::builder().ca_pem(certs.ca_pem()).build().unwrap();

    // Each row waits for the catcher's running total to include it. The
    // machine is noisy: five rounds, alternating which goes first, and the
    // median round of each.
    let warm_up = ours(&sink, sink.plain, None, n / 10, 0);
    let mut written = warm_up.events;
    let (mut plains, mut secureds) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for tls_first in [round % 2 == 1, round % 2 == 0] {
            let row = if tls_first {
                ours(&sink, sink.tls, Some(tls.clone()), n, written)
            } else {
                ours(&sink, sink.plain, None, n, written)
            };
            written += row.events;
            if tls_first { secureds.push(row) } else { plains.push(row) }
        }
    }
    let plain = median(plains);
    let secured = median(secureds);
    let node_plain = node(&sink, sink.plain, None, n / 10, written);
    written += node_plain.as_ref().map_or(0, |r| r.events);
    let node_tls = node(&sink, sink.tls, Some(&files.ca), n / 10, written);

    let rate = |r: &Row| r.events as f64 / r.seconds;
    let base = rate(&plain);
    println!(
        "TLS against plain TCP, end to end into fluent-catcher (output /dev/null), {} cores; fluent-std: median of {ROUNDS} runs",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!("\n| client | transport | events | events/s | emit p50 | emit p99 | vs AsyncSender over plain TCP |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let print = |client: &str, transport: &str, r: &Row| {
        let ns = |v: Option<u64>| v.map_or("-".to_owned(), |v| format!("{v} ns"));
        println!(
            "| {client} | {transport} | {} | {:.0} | {} | {} | {:.2}x |",
            r.events,
            rate(r),
            ns(r.p50),
            ns(r.p99),
            rate(r) / base
        );
    };
    print("fluent-std AsyncSender", "TCP", &plain);
    print("fluent-std AsyncSender", "TLS 1.3", &secured);
    match (&node_plain, &node_tls) {
        (Some(p), Some(t)) => {
            print("@fluent-org/logger", "TCP", p);
            print("@fluent-org/logger", "TLS 1.3", t);
        }
        _ => println!("| @fluent-org/logger | - | not installed (ci/install-test-deps.sh) | | | | |"),
    }
    println!("\nThe AsyncSender over TLS runs at {:.2}x its plain end-to-end rate.", rate(&secured) / base);
    let _ = std::fs::remove_dir_all(dir);
}
