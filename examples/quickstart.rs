//! The quick start: starts the log catcher in this process on a free local
//! port, sends a burst of events to it through the `AsyncSender` and a
//! burst of `log` records through the async log handler, and prints what
//! arrived in the catcher's JSON-lines file and how fast.
//!
//! Run: `cargo run --release --example quickstart`
//!
//! No Fluentd is needed. With `FLUENT_HOST` (and optionally `FLUENT_PORT`,
//! default 24224) set, the events go to that server instead (Fluentd,
//! Fluent Bit, a `fluent-catcher` you started); then only the sender's own
//! counters are printed. The example fails (exit code 1) if any event is
//! lost.

use std::io::BufRead;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fluent_catcher::{Catcher, CatcherHandle, Config, Output};
use fluent_std::AsyncSender;
use fluent_std::handler::FluentHandler;

#[derive(serde::Serialize)]
struct Access<'a> {
    host: &'a str,
    status: u16,
    latency_ms: f64,
    cached: bool,
    path: &'a str,
}

const EVENTS: u64 = 200_000;
const LOG_RECORDS: u64 = 1_000;

/// Starts the catcher on a free loopback port, writing JSON lines to `path`.
fn start_catcher(
    runtime: &tokio::runtime::Runtime,
    path: &std::path::Path,
) -> std::io::Result<(SocketAddr, CatcherHandle, tokio::task::JoinHandle<std::io::Result<fluent_catcher::StatsSnapshot>>)>
{
    let config = Config::default()
        .forward(SocketAddr::from(([127, 0, 0, 1], 0)))
        .no_pickle()
        .udp_heartbeat(false)
        .output(Output::File(path.to_owned()))
        .log_connections(false);
    let catcher = runtime.block_on(Catcher::bind(config))?;
    let addr = catcher.forward_addr().ok_or_else(|| std::io::Error::other("no forward listener"))?;
    let handle = catcher.handle();
    Ok((addr, handle, runtime.spawn(catcher.run())))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let external = std::env::var("FLUENT_HOST").ok();
    let runtime = tokio::runtime::Runtime::new()?;
    let log_path = std::env::temp_dir().join(format!("quickstart-{}.jsonl", std::process::id()));
    let mut catcher = None;
    let (host, port) = match &external {
        Some(host) => (host.clone(), std::env::var("FLUENT_PORT").map_or(Ok(24224), |p| p.parse())?),
        None => {
            let (addr, handle, server) = start_catcher(&runtime, &log_path)?;
            println!("fluent-catcher listening on {addr}, writing {}", log_path.display());
            catcher = Some((handle, server));
            ("127.0.0.1".to_owned(), addr.port())
        }
    };
    println!("sending {EVENTS} events to {host}:{port} through fluent_std::AsyncSender (PackedForward batches)");

    let sender = AsyncSender::builder("quickstart")
        .sender(|s| s.host(host.as_str()).port(port).nanosecond_precision(true))
        .queue_maxsize(100_000)
        .build();
    let started = Instant::now();
    for i in 0..EVENTS {
        let path = ["/", "/orders", "/orders/42", "/login"][(i % 4) as usize];
        let record = Access {
            host: "web-1",
            status: if i % 50 == 0 { 500 } else { 200 },
            latency_ms: (i % 97) as f64 * 0.25,
            cached: i % 3 == 0,
            path,
        };
        // Never blocks for a server outage: what cannot be sent is counted.
        let _ = sender.emit("access", &record);
    }
    let emitted_in = started.elapsed();
    let stats = sender.close_with(true, Duration::from_secs(10));
    let sent_in = started.elapsed();

    // The same server through `log`: Python's asynchandler.FluentHandler.
    let log_sender = AsyncSender::builder("quickstart.log").sender(|s| s.host(host.as_str()).port(port)).build();
    fluent_std::handler::install(FluentHandler::new(log_sender).level(log::LevelFilter::Info))?;
    for i in 0..LOG_RECORDS {
        log::info!(request = i, user = "ada"; "order {i} placed");
    }
    fluent_std::handler::shutdown(); // sends the last records before returning
    println!("logged {LOG_RECORDS} records through fluent_std::handler (the `log` facade)");

    let mut written = stats.sent;
    if let Some((handle, server)) = catcher {
        let deadline = Instant::now() + Duration::from_secs(30);
        while handle.stats().events_written < stats.sent + LOG_RECORDS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let caught_in = started.elapsed();
        handle.shutdown();
        let totals = runtime.block_on(server)??;
        let file = std::io::BufReader::new(std::fs::File::open(&log_path)?);
        let (mut lines, mut log_lines) = (0u64, 0u64);
        let mut samples = Vec::new();
        for line in file.lines() {
            let line = line?;
            let event: serde_json::Value = serde_json::from_str(&line)?;
            if event["tag"] == "quickstart.log" {
                if log_lines == 0 {
                    samples.push(line);
                }
                log_lines += 1;
                continue;
            }
            if lines.is_multiple_of(EVENTS / 4) {
                samples.push(line);
            }
            lines += 1;
        }
        println!(
            "\nthe catcher wrote {lines} sender events and {log_lines} log records ({} connections); a few lines of its log:",
            totals.connections_accepted
        );
        for line in &samples {
            println!("  {line}");
        }
        println!(
            "\nsent and written: {:.1} ms end to end, {:.2} M events/s",
            caught_in.as_secs_f64() * 1e3,
            lines as f64 / caught_in.as_secs_f64() / 1e6
        );
        println!("catcher: {totals}");
        std::fs::remove_file(&log_path)?;
        written = lines;
        if log_lines != LOG_RECORDS {
            return Err(format!("{} log records were not delivered", LOG_RECORDS - log_lines.min(LOG_RECORDS)).into());
        }
    }
    println!(
        "emit: {:.1} ms for {EVENTS} events ({:.0} ns per event on the caller's thread); sender flushed in {:.1} ms",
        emitted_in.as_secs_f64() * 1e3,
        emitted_in.as_nanos() as f64 / EVENTS as f64,
        sent_in.as_secs_f64() * 1e3
    );
    println!(
        "sender: emitted {}, sent {} ({} bytes), dropped {} in the queue, {} beyond bufmax, {} unsent at close; \
         {} connection errors, {} reconnects",
        stats.emitted,
        stats.sent,
        stats.bytes_sent,
        stats.dropped_queue,
        stats.dropped_buffer,
        stats.unsent_at_close,
        stats.connection_errors,
        stats.reconnects
    );
    let lost = stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close;
    if stats.sent != EVENTS || lost > 0 || written != EVENTS {
        let cause = sender.last_error().map(|e| format!(" (last error: {e})")).unwrap_or_default();
        return Err(format!("{} events were not delivered{cause}", EVENTS - written.min(EVENTS).max(stats.sent)).into());
    }
    Ok(())
}
