//! What one `log::info!` with two fields costs the calling thread, through
//! the async Fluent handler, next to what a user would pick instead:
//! `env_logger` writing to a file and `tracing-subscriber`'s `fmt` layer
//! writing to a file (and the Fluent `tracing` layer for the same line).
//! One run, all side by side; every call is timed on its own, percentiles
//! reported (they include the ~20-40 ns of the two clock reads).
//!
//! `cargo bench -p fluent-std --features log,tracing --bench log_overhead`
//! (`LOG_BENCH_CALLS` to scale).

use std::io::Read;
use std::net::TcpListener;
use std::time::Instant;

use fluent_std::AsyncSender;
use fluent_std::handler::FluentHandler;
use log::LevelFilter;
use tracing_subscriber::prelude::*;

/// A Forward receiver that reads and discards (the caller's cost is what
/// is measured, not the receiver's).
fn drain() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

fn async_sender(port: u16, tag: &str) -> AsyncSender {
    AsyncSender::builder(tag).sender(|s| s.host("127.0.0.1").port(port)).queue_maxsize(1 << 20).build()
}

fn temp_file(name: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!("log-overhead-{name}-{}.log", std::process::id()));
    std::fs::File::create(path).unwrap()
}

struct Row {
    name: &'static str,
    p50: f64,
    p99: f64,
    p999: f64,
}

fn measure(name: &'static str, calls: usize, mut one: impl FnMut(usize)) -> Row {
    for i in 0..calls / 10 {
        one(i); // warm up
    }
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let t = Instant::now();
        one(i);
        samples.push(t.elapsed().as_nanos() as f64);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Row { name, p50: at(0.5), p99: at(0.99), p999: at(0.999) }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let calls: usize = std::env::var("LOG_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let port = drain();
    log::set_max_level(LevelFilter::Info);
    let mut rows = Vec::new();

    let fluent = FluentHandler::new(async_sender(port, "bench.log"));
    rows.push(measure("log -> fluent-std async FluentHandler", calls, |i| {
        log::info!(logger: fluent, user = "ada", seq = i; "request served");
    }));
    fluent.close();

    let env = env_logger::Builder::new()
        .target(env_logger::Target::Pipe(Box::new(temp_file("env_logger"))))
        .filter_level(LevelFilter::Info)
        .build();
    rows.push(measure("log -> env_logger, to a file", calls, |i| {
        log::info!(logger: env, user = "ada", seq = i; "request served");
    }));

    let fmt = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::sync::Mutex::new(temp_file("fmt"))).with_ansi(false));
    tracing::subscriber::with_default(fmt, || {
        rows.push(measure("tracing -> tracing-subscriber fmt, to a file", calls, |i| {
            tracing::info!(user = "ada", seq = i, "request served");
        }));
    });

    let layer = fluent_std::layer::FluentLayer::new(async_sender(port, "bench.tracing"));
    let sender = layer.sender().clone();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        rows.push(measure("tracing -> fluent-std FluentLayer (async)", calls, |i| {
            tracing::info!(user = "ada", seq = i, "request served");
        }));
    });
    sender.close();

    println!("one log line with two fields, {calls} calls each; nanoseconds on the calling thread, lower is better\n");
    println!("| path | p50 | p99 | p99.9 | p50 vs env_logger |");
    println!("|---|---:|---:|---:|---:|");
    let env_p50 = rows[1].p50;
    for r in &rows {
        println!("| {} | {:.0} | {:.0} | {:.0} | {:.2}x |", r.name, r.p50, r.p99, r.p999, r.p50 / env_p50);
    }
}
