//! The failure paths, side by side with fluent-logger-python's asyncsender
//! (default configuration both): emit latency while the server refuses,
//! never answers SYNs, or accepts and never reads; `close_with(500 ms)`;
//! and a thread's first emit at several queue sizes. A second table runs
//! fluent-std with the settings for programs that prefer dropping events
//! to any wait: a circular queue, or a 100 µs `queue_timeout`, beside the
//! timing loop alone (the machine's noise floor). A third table shows the
//! trade-off behind `stall_timeout`: a live server that pauses in the
//! middle of a burst. Printed as Markdown tables with ratios.
//!
//! Run: `cargo bench -p fluent-std --bench failure` (needs python3 with
//! `fluent-logger`: `ci/install-test-deps.sh`). Optional argument: emits per
//! row for fluent-std (default 100,000); Python gets 20,000, stopped after
//! 10 s.
#![allow(missing_docs)]

#[path = "../tests/faults/server.rs"]
#[allow(dead_code)]
mod server;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use fluent_std::{AsyncSender, AsyncSenderBuilder};
use server::{Fault, FaultServer};

#[path = "common/record.rs"]
mod record;
use record::RECORD;

const PYTHON_EVENTS: u64 = 20_000;
/// The deadline of `close_with` in the failure rows.
const CLOSE: Duration = Duration::from_millis(500);
const PYTHON_BUDGET_S: f64 = 10.0;

/// One row: emits done, total seconds, p50, p99.99, max (ns), and
/// `close_with(true, 500 ms)`'s seconds (ours).
struct Row {
    done: u64,
    seconds: f64,
    p50: u64,
    p9999: u64,
    max: u64,
    close: Option<f64>,
    /// Events the sender dropped (ours).
    dropped: u64,
}

fn pick(sorted: &[u64], q: f64) -> u64 {
    sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// `n` emits, then `close_with(true, close)`.
fn ours(port: u16, n: u64, close: Duration, configure: impl FnOnce(AsyncSenderBuilder) -> AsyncSenderBuilder) -> Row {
    let sender = configure(AsyncSender::builder("bench").sender(|s| s.host("127.0.0.1").port(port))).build();
    let mut lat = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let _ = sender.emit("access", &RECORD);
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let seconds = started.elapsed().as_secs_f64();
    let closing = Instant::now();
    let stats = sender.close_with(true, close);
    let close = Some(closing.elapsed().as_secs_f64());
    lat.sort_unstable();
    let dropped = stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close;
    Row { done: n, seconds, p50: pick(&lat, 0.5), p9999: pick(&lat, 0.9999), max: lat[lat.len() - 1], close, dropped }
}

/// The same timing loop with nothing inside, for as long as a circular
/// row takes (20 ms): this machine's noise floor, a thread preempted
/// between two clock readings.
fn timer_alone() -> Row {
    const SPAN: Duration = Duration::from_millis(20);
    let mut lat = Vec::with_capacity(1 << 20);
    let started = Instant::now();
    while started.elapsed() < SPAN {
        let t = Instant::now();
        std::hint::black_box(&lat);
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let seconds = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let done = lat.len() as u64;
    Row {
        done,
        seconds,
        p50: pick(&lat, 0.5),
        p9999: pick(&lat, 0.9999),
        max: lat[lat.len() - 1],
        close: None,
        dropped: 0,
    }
}

fn python(port: u16) -> Option<Row> {
    let output = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/python_failure.py"))
        .args([port.to_string(), PYTHON_EVENTS.to_string(), PYTHON_BUDGET_S.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!("python: {}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let get = |k: &str| v[k].as_u64().unwrap_or(0);
    Some(Row {
        done: get("done"),
        seconds: v["seconds"].as_f64()?,
        p50: get("p50"),
        p9999: get("p9999"),
        max: get("max"),
        close: None,
        dropped: 0,
    })
}

fn python_first_emit(port: u16) -> Option<u64> {
    let output = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/python_failure.py"))
        .args([port.to_string(), "1".into(), PYTHON_BUDGET_S.to_string()])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    v["first"].as_u64()
}

/// A new thread's first emit to a sender with a `bytes` ring; the median
/// and the worst of `runs`.
fn first_emit(port: u16, bytes: usize, runs: usize) -> (u64, u64) {
    let mut times: Vec<u64> = (0..runs)
        .map(|_| {
            let sender = AsyncSender::builder("bench")
                .sender(|s| s.host("127.0.0.1").port(port))
                .queue_bytes(bytes)
                .queue_maxsize(100_000)
                .build();
            // Let the worker start, as it would in a running program.
            thread::sleep(Duration::from_millis(20));
            let ns = thread::scope(|s| {
                s.spawn(|| {
                    let t = Instant::now();
                    let _ = sender.emit("access", &RECORD);
                    t.elapsed().as_nanos() as u64
                })
                .join()
                .unwrap()
            });
            sender.close_with(false, Duration::ZERO);
            ns
        })
        .collect();
    times.sort_unstable();
    (times[times.len() / 2], times[times.len() - 1])
}

/// A setting of the sender under test.
type Configure = fn(AsyncSenderBuilder) -> AsyncSenderBuilder;

const ROWS: [(&str, Fault); 3] =
    [("refuses", Fault::Refuse), ("never answers SYN", Fault::SynBlackhole), ("never reads", Fault::NeverRead)];

/// The trade-off behind `stall_timeout`: a live server that stops reading
/// for a while (Fluentd's garbage collection) in the middle of a burst. The
/// default pushes the burst back and loses nothing; the settings that never
/// wait shed what does not fit.
fn pause_table(n: u64) {
    const PAUSE: Duration = Duration::from_millis(200);
    let burst = n * 4;
    println!(
        "\n| live server pauses {} ms after 1 MB | fluent-std AsyncSender, {burst} emits | total | p50 | p99.99 | max | dropped |",
        PAUSE.as_millis()
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let settings: [(&str, Configure); 4] = [
        ("default (stall_timeout 250 ms)", |b| b),
        ("stall_timeout(20 ms)", |b| b.stall_timeout(Duration::from_millis(20))),
        ("queue_circular(true)", |b| b.queue_circular(true)),
        ("queue_timeout(100 µs)", |b| b.queue_timeout(Duration::from_micros(100))),
    ];
    for (setting, configure) in settings {
        let server = FaultServer::start(Fault::PauseAfter(1 << 20, PAUSE), usize::MAX);
        let r = ours(server.port, burst, Duration::from_secs(10), configure);
        println!(
            "| | {setting} | {:.3} s | {} | {} | {} | {} |",
            r.seconds,
            us(r.p50),
            us(r.p9999),
            us(r.max),
            r.dropped
        );
    }
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1e3)
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    println!(
        "Failure paths, default configuration: fluent-std {n} emits per row, fluent-logger-python {PYTHON_EVENTS} \
         (stopped after {PYTHON_BUDGET_S} s), {} cores",
        thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!(
        "\n| server | client | emits done | total | per emit | p50 | p99.99 | max | close_with(500 ms) | total time, python / ours per emit |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(name, fault) in &ROWS {
        let server = FaultServer::start(fault, usize::MAX);
        let mine = ours(server.port, n, CLOSE, |b| b);
        let theirs = python(server.port);
        let per = |r: &Row| r.seconds / r.done.max(1) as f64;
        let print = |client: &str, r: &Row, ratio: String| {
            println!(
                "| {name} | {client} | {} | {:.3} s | {:.0} ns | {} | {} | {} | {} | {ratio} |",
                r.done,
                r.seconds,
                per(r) * 1e9,
                us(r.p50),
                us(r.p9999),
                us(r.max),
                r.close.map_or("-".into(), |s| format!("{:.3} s", s)),
            )
        };
        print("fluent-std AsyncSender", &mine, "1x".into());
        match &theirs {
            Some(t) => print("fluent-logger-python asyncsender", t, format!("{:.0}x", per(t) / per(&mine))),
            None => println!("| {name} | fluent-logger-python asyncsender | not run (see stderr) | | | | | | | |"),
        }
    }

    println!(
        "\n| server | fluent-std AsyncSender, dropping rather than waiting | total | p50 | p99.99 | max | dropped of {n} |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let settings: [(&str, Configure); 2] = [
        ("queue_circular(true)", |b| b.queue_circular(true)),
        ("queue_timeout(100 µs)", |b| b.queue_timeout(Duration::from_micros(100))),
    ];
    for &(name, fault) in &ROWS {
        for (setting, configure) in settings {
            let server = FaultServer::start(fault, usize::MAX);
            let r = ours(server.port, n, CLOSE, configure);
            println!(
                "| {name} | {setting} | {:.3} s | {} | {} | {} | {} |",
                r.seconds,
                us(r.p50),
                us(r.p9999),
                us(r.max),
                r.dropped
            );
        }
    }

    let floor = timer_alone();
    println!(
        "| (none) | no emit: the timing loop alone, {} times | {:.3} s | {} | {} | {} | - |",
        floor.done,
        floor.seconds,
        us(floor.p50),
        us(floor.p9999),
        us(floor.max)
    );

    pause_table(n);

    let live = FaultServer::start(Fault::NeverAck, 0); // no connection faulty: a well-behaved server
    println!("\n| a thread's first emit (live server) | median of 9 | worst of 9 |");
    println!("|---|---:|---:|");
    for (label, bytes) in [("64 KiB", 64 << 10), ("1 MiB (default)", 1 << 20), ("16 MiB", 16 << 20)] {
        let (median, worst) = first_emit(live.port, bytes, 9);
        println!("| fluent-std AsyncSender, {label} queue | {} | {} |", us(median), us(worst));
    }
    match python_first_emit(live.port) {
        Some(ns) => println!("| fluent-logger-python asyncsender (one run) | {} | |", us(ns)),
        None => println!("| fluent-logger-python asyncsender | not run (see stderr) | |"),
    }
}
