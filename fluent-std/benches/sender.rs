//! The AsyncSender side by side with fluent-logger-python's asyncsender and
//! fluent-logger-golang's async mode, in one run, printed as Markdown tables
//! with ratios.
//!
//! Run: `cargo bench -p fluent-std --bench sender` (needs python3 with
//! `fluent-logger`, and Go with fluent-logger-golang: `ci/install-test-deps.sh`).
//! Optional argument: the number of events (default 1,000,000).
//!
//! Every client sends N events of the same 5-field record to one in-process
//! receiver that decodes each request and counts events. End-to-end time runs
//! from the first emit until the receiver has counted all N (the client has
//! flushed and closed); emit time is the caller's loop alone.
#![allow(missing_docs)]

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use fluent_proto::{Decoded, Frame, FrameDecoder, Limits};
use fluent_std::AsyncSender;

#[path = "common/record.rs"]
mod record;
use record::RECORD;

/// A receiver that counts events of every request, on every connection.
struct Counter {
    port: u16,
    events: Arc<AtomicU64>,
}

impl Counter {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let events = Arc::new(AtomicU64::new(0));
        let count = events.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let count = count.clone();
                thread::spawn(move || {
                    let mut decoder = FrameDecoder::new(Limits { max_frame_len: 256 << 20, max_depth: 32 });
                    let mut buf = Vec::new();
                    let mut read = vec![0u8; 256 * 1024];
                    loop {
                        let n = match stream.read(&mut read) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&read[..n]);
                        let mut used = 0;
                        while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(&buf[used..]) {
                            used += consumed;
                            if let Frame::Request(r) = frame {
                                let n = r.options().size.unwrap_or_else(|| r.events().count() as u64);
                                count.fetch_add(n, Ordering::Relaxed);
                            }
                        }
                        buf.drain(..used);
                    }
                });
            }
        });
        Counter { port, events }
    }

    fn wait_for(&self, n: u64, since: u64) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.events.load(Ordering::Relaxed) < since + n {
            assert!(Instant::now() < deadline, "events did not all arrive");
            thread::sleep(Duration::from_micros(200));
        }
    }
}

const RUNS: usize = 3;

/// Each percentile's median over several runs.
fn median_percentiles(runs: Vec<(u32, u32, u32)>) -> (u32, u32, u32) {
    let median = |pick: fn(&(u32, u32, u32)) -> u32| {
        let mut xs: Vec<u32> = runs.iter().map(pick).collect();
        xs.sort_unstable();
        xs[xs.len() / 2]
    };
    (median(|r| r.0), median(|r| r.1), median(|r| r.2))
}

fn percentiles(mut ns: Vec<u32>) -> (u32, u32, u32) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    (at(0.50), at(0.99), at(0.999))
}

/// Ours: `threads` emitting threads share one AsyncSender. Returns
/// (end-to-end events/s, emit-loop seconds, latencies if timed).
fn ours(counter: &Counter, n: u64, threads: usize, timed: bool) -> (f64, f64, Vec<u32>) {
    let sender = Arc::new(
        AsyncSender::builder("bench")
            .sender(|s| s.host("127.0.0.1").port(counter.port))
            .queue_maxsize(100_000)
            .queue_bytes(16 << 20)
            .build(),
    );
    let before = counter.events.load(Ordering::Relaxed);
    let barrier = Arc::new(Barrier::new(threads));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (sender, barrier) = (sender.clone(), barrier.clone());
            thread::spawn(move || {
                let per = n / threads as u64;
                let mut lat = Vec::with_capacity(if timed { per as usize } else { 0 });
                barrier.wait();
                for _ in 0..per {
                    if timed {
                        let t = Instant::now();
                        sender.emit("access", &RECORD).unwrap();
                        lat.push(t.elapsed().as_nanos() as u32);
                    } else {
                        sender.emit("access", &RECORD).unwrap();
                    }
                }
                lat
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.join().unwrap());
    }
    let emit_seconds = start.elapsed().as_secs_f64();
    sender.close();
    counter.wait_for(n / threads as u64 * threads as u64, before);
    (n as f64 / start.elapsed().as_secs_f64(), emit_seconds, latencies)
}

/// Ours with the server down, circular queue: the caller's latency only.
fn ours_server_down(n: u64) -> Vec<u32> {
    let sender = AsyncSender::builder("bench")
        .sender(|s| s.host("unix:///nonexistent-fluent-bench/fluent.sock"))
        .queue_circular(true)
        .queue_maxsize(100_000)
        .build();
    let mut lat = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        let _ = sender.emit("access", &RECORD);
        lat.push(t.elapsed().as_nanos() as u32);
    }
    sender.close_with(false, Duration::ZERO);
    lat
}

fn peer(counter: &Counter, n: u64, command: &mut Command) -> Option<(f64, f64)> {
    let before = counter.events.load(Ordering::Relaxed);
    let start = Instant::now();
    let output = match command.output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("{command:?} failed: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        Err(e) => {
            eprintln!("{command:?}: {e}");
            return None;
        }
    };
    counter.wait_for(n, before);
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let emit_seconds: f64 = String::from_utf8_lossy(&output.stdout).trim().parse().ok()?;
    Some((rate, emit_seconds))
}

fn go_binary() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("fluent-bench-go-{}", std::process::id()));
    let src = dir.join("src/benchgo");
    std::fs::create_dir_all(&src).ok()?;
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/go_async.go"), src.join("main.go")).ok()?;
    let binary = dir.join("benchgo");
    let ok = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:/usr/share/gocode", dir.display()))
        .env("GOCACHE", std::env::temp_dir().join("fluent-go-cache"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then_some(binary)
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let counter = Counter::start();
    println!(
        "AsyncSender benchmarks: {n} events of a 5-field record, one in-process receiver, {} cores",
        thread::available_parallelism().map_or(0, |c| c.get())
    );

    let (rate1, emit1, _) = ours(&counter, n, 1, false);
    let (rate4, emit4, _) = ours(&counter, n, 4, false);
    // Latency: each row is run RUNS times; each percentile is the median
    // of the runs' (this machine is a noisy 2-core VM).
    let runs = |f: &dyn Fn() -> Vec<u32>| median_percentiles((0..RUNS).map(|_| percentiles(f())).collect());
    let lat1 = runs(&|| ours(&counter, n, 1, true).2);
    let lat2 = runs(&|| ours(&counter, n, 2, true).2);
    let lat4 = runs(&|| ours(&counter, n, 4, true).2);
    let down = runs(&|| ours_server_down(n));

    let python = peer(
        &counter,
        n,
        Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/python_async.py"))
            .arg(counter.port.to_string())
            .arg(n.to_string()),
    );
    let go = go_binary()
        .and_then(|bin| peer(&counter, n, Command::new(bin).arg(counter.port.to_string()).arg(n.to_string())));

    // What the timing itself costs: an empty `Instant::now()` pair.
    let timer: Vec<u32> = (0..200_000)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u32
        })
        .collect();
    println!("\n| emit latency (ns, includes an `Instant::now()` pair; median of {RUNS} runs) | p50 | p99 | p99.9 |");
    println!("|---|---:|---:|---:|");
    let (t50, t99, t999) = percentiles(timer);
    println!("| (an empty `Instant::now()` pair, for reference) | {t50} | {t99} | {t999} |");
    for (name, lat) in [
        ("AsyncSender, 1 thread", lat1),
        ("AsyncSender, 2 threads", lat2),
        ("AsyncSender, 4 threads", lat4),
        ("AsyncSender, 1 thread, server down, circular", down),
    ] {
        let (p50, p99, p999) = lat;
        println!("| {name} | {p50} | {p99} | {p999} |");
    }

    println!("\n| end to end, {n} events | events/s | mean caller cost per event | AsyncSender (1 thread) / this |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, rate: f64, emit: f64| {
        println!("| {name} | {:.0} | {:.0} ns | {:.1}x |", rate, emit / n as f64 * 1e9, rate1 / rate);
    };
    row("fluent-std AsyncSender, 1 thread", rate1, emit1);
    row("fluent-std AsyncSender, 4 threads", rate4, emit4);
    match python {
        Some((rate, emit)) => row("fluent-logger-python 0.11 asyncsender", rate, emit),
        None => println!("| fluent-logger-python asyncsender | not run (see stderr) | | |"),
    }
    match go {
        Some((rate, emit)) => row("fluent-logger-golang 1.9, Async", rate, emit),
        None => println!("| fluent-logger-golang async | not run (see stderr) | | |"),
    }
}
