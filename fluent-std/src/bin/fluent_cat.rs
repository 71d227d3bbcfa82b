//! `fluent-cat`: send JSON objects, one per line, as events under a tag,
//! like Fluentd's own `fluent-cat`, through the `AsyncSender`.
//!
//! ```text
//! cargo run -p fluent-std --features cli --bin fluent-cat -- app.access access.jsonl
//! ```
//!
//! Reads the files (or stdin), sends each line's object as one event, and
//! ends with a summary. A malformed line is reported with its file and line
//! number and skipped (`--stop-on-error` stops the run instead). Exit code:
//! 0 when every event was sent, 1 when any was dropped or left unsent, 2
//! when the run stopped at a malformed line or could not read its input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use fluent_std::{AsyncSender, BatchMode};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Message,
    Forward,
    Packed,
    Compressed,
}

/// Send JSON lines to a Fluentd Forward receiver.
#[derive(Parser, Debug)]
#[command(name = "fluent-cat", version)]
struct Args {
    /// The tag of every event.
    tag: String,
    /// Files of JSON objects, one per line; stdin when none.
    files: Vec<PathBuf>,
    /// Receiver host.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// Receiver port.
    #[arg(long, default_value_t = 24224)]
    port: u16,
    /// Unix socket path (instead of host and port).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// How events are packed into requests.
    #[arg(long, value_enum, default_value_t = ModeArg::Packed)]
    mode: ModeArg,
    /// Ask for acks and resend until acknowledged.
    #[arg(long)]
    ack: bool,
    /// Send whole-second times instead of EventTime.
    #[arg(long)]
    time_as_integer: bool,
    /// Events the queue holds.
    #[arg(long, default_value_t = 10_000)]
    queue_size: usize,
    /// Drop the oldest queued events instead of waiting when full.
    #[arg(long)]
    circular: bool,
    /// Stop at the first malformed line instead of skipping it.
    #[arg(long)]
    stop_on_error: bool,
    /// Seconds to keep flushing at the end.
    #[arg(long, default_value_t = 30)]
    close_timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let host = match &args.socket {
        Some(path) => format!("unix://{}", path.display()),
        None => args.host.clone(),
    };
    let mode = match args.mode {
        ModeArg::Message => BatchMode::Message,
        ModeArg::Forward => BatchMode::Forward,
        ModeArg::Packed => BatchMode::PackedForward,
        ModeArg::Compressed => BatchMode::CompressedPackedForward,
    };
    let sender = AsyncSender::builder(args.tag.clone())
        .sender(|s| s.host(host).port(args.port).nanosecond_precision(!args.time_as_integer))
        .queue_maxsize(args.queue_size)
        .queue_bytes(64 << 20)
        .queue_circular(args.circular)
        .queue_timeout(Duration::from_secs(60))
        .batch_mode(mode)
        .require_ack_response(args.ack)
        .build();

    let inputs: Vec<(String, Box<dyn BufRead>, u64)> = if args.files.is_empty() {
        vec![("<stdin>".to_owned(), Box::new(BufReader::new(io::stdin())), 0)]
    } else {
        let mut inputs = Vec::new();
        for path in &args.files {
            match File::open(path) {
                Ok(f) => {
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    inputs.push((path.display().to_string(), Box::new(BufReader::new(f)) as Box<dyn BufRead>, len));
                }
                Err(e) => {
                    eprintln!("fluent-cat: cannot open {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        }
        inputs
    };
    let total: u64 = inputs.iter().map(|(_, _, len)| len).sum();
    let progress = if total > 0 && io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let started = Instant::now();
    let (mut read, mut malformed, mut refused) = (0u64, 0u64, 0u64);
    let mut stopped = false;
    'inputs: for (name, reader, _) in inputs {
        for (number, line) in reader.lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("fluent-cat: {name}: read error: {e}");
                    stopped = true;
                    break 'inputs;
                }
            };
            progress.inc(line.len() as u64 + 1);
            if line.trim().is_empty() {
                continue;
            }
            let record = match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => {
                    progress.suspend(|| eprintln!("fluent-cat: {name}:{}: not a JSON object", number + 1));
                    malformed += 1;
                    if args.stop_on_error {
                        stopped = true;
                        break 'inputs;
                    }
                    continue;
                }
                Err(e) => {
                    progress.suspend(|| eprintln!("fluent-cat: {name}:{}: {e}", number + 1));
                    malformed += 1;
                    if args.stop_on_error {
                        stopped = true;
                        break 'inputs;
                    }
                    continue;
                }
            };
            read += 1;
            if let Err(e) = sender.emit("", &record) {
                refused += 1;
                progress.suspend(|| eprintln!("fluent-cat: {name}:{}: {e}", number + 1));
            }
        }
    }
    progress.finish_and_clear();
    let stats = sender.close_with(true, Duration::from_secs(args.close_timeout));
    let seconds = started.elapsed().as_secs_f64();
    let lost = stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close;
    eprintln!(
        "fluent-cat: read {read} events ({malformed} malformed lines skipped), sent {}, dropped {}, unsent {}, in {seconds:.2} s ({:.0} events/s){}",
        stats.sent,
        stats.dropped_queue + stats.dropped_buffer,
        stats.unsent_at_close,
        stats.sent as f64 / seconds.max(1e-9),
        sender.last_error().map(|e| format!("; last error: {e}")).unwrap_or_default()
    );
    if stopped {
        ExitCode::from(2)
    } else if lost > 0 || refused > 0 || stats.sent < read {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
