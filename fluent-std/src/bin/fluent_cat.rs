//! `fluent-cat`: send JSON objects, one per line, as events under a tag,
//! like Fluentd's own `fluent-cat`, through the `AsyncSender`.
//!
//! ```text
//! cargo run -p fluent-std --features cli --bin fluent-cat -- app.access access.jsonl
//! ```
//!
//! First checks that the server accepts a connection (within
//! `--connect-timeout`), then reads the files (or stdin), sends each line's
//! object as one event, and ends with a summary, also on SIGINT and SIGTERM.
//! A malformed line is reported with its file and line number and skipped
//! (`--stop-on-error` stops the run instead). Numbers pass unchanged (floats
//! round-trip exactly).
//!
//! Exit codes:
//! - 0: every event was delivered: acknowledged with `--ack`; without it,
//!   written with no connection failing during the run.
//! - 1: an event was dropped or left unsent, or the summary cannot vouch for
//!   delivery (a connection failed without `--ack`: what the kernel had
//!   taken may be lost).
//! - 2: the run stopped at a malformed line, or could not read its input.
//! - 2 also: a `--tls-*` file could not be read or holds no usable
//!   certificate or key.
//! - 3: the server could not be reached within `--connect-timeout`, or
//!   refused the TLS or shared-key handshake (or we refused its certificate).
//! - 130: interrupted (SIGINT or SIGTERM), after the summary.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use fluent_std::{AsyncSender, BatchMode, Sender, SenderBuilder, Server, Stats, TlsConfig};
use indicatif::{ProgressBar, ProgressStyle};

/// The queue's bytes, and the pending buffer's (`bufmax`).
const QUEUE_BYTES: usize = 16 << 20;

const EXIT_CODES: &str = "Exit codes: 0 every event delivered (acknowledged with --ack; without it, written with no \
connection failing); 1 events dropped or unsent, or delivery cannot be vouched for; 2 malformed input with \
--stop-on-error, or unreadable input; 3 server unreachable within --connect-timeout; 130 interrupted.";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Message,
    Forward,
    Packed,
    Compressed,
}

/// Send JSON lines to a Fluentd Forward receiver.
#[derive(Parser, Debug)]
#[command(name = "fluent-cat", version, after_help = EXIT_CODES)]
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
    /// Seconds a line may wait for room in the queue, and the server may take
    /// no bytes before its outage drops events.
    #[arg(long, default_value_t = 10.0)]
    queue_timeout: f64,
    /// Seconds to wait for each connection; the run fails at once (exit
    /// code 3) when the server cannot be reached in that time.
    #[arg(long, default_value_t = 5.0)]
    connect_timeout: f64,
    /// Shared key of the server's handshake (Fluentd `<security>`, Fluent
    /// Bit `Shared_Key`). Better from the environment: FLUENT_SHARED_KEY.
    #[arg(long, value_name = "KEY")]
    shared_key: Option<String>,
    /// Hostname sent in the handshake (default: this machine's name).
    #[arg(long, value_name = "NAME")]
    self_hostname: Option<String>,
    /// User for a server that asks for user authentication.
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// Password of --username. Better from the environment: FLUENT_PASSWORD.
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// A server of a tier, optionally with ",weight=N" and ",standby" (repeatable;
    /// replaces --host and --port): each connection goes to a primary by
    /// weight, to a standby only while no primary can be reached.
    #[arg(long = "server", value_name = "HOST:PORT[,weight=N][,standby]")]
    servers: Vec<Server>,
    /// Connect with TLS, verifying the server against the system's root
    /// certificates (or --tls-ca-file). Implied by the other --tls flags.
    #[arg(long)]
    tls: bool,
    /// Trust the CA certificates in this PEM file instead of the system's.
    #[arg(long, value_name = "FILE")]
    tls_ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for a server requiring mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert-file.
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    tls_key_file: Option<PathBuf>,
    /// The name the server's certificate must carry (default: --host).
    #[arg(long, value_name = "NAME")]
    tls_server_name: Option<String>,
    /// INSECURE: accept any server certificate. The traffic is encrypted but
    /// anyone on the path can pose as the server. For trying things out.
    #[arg(long)]
    tls_insecure_skip_verify: bool,
}

impl Args {
    /// The TLS settings, when any --tls flag is given.
    fn tls(&self) -> Result<Option<TlsConfig>, fluent_std::TlsError> {
        let wanted = self.tls
            || self.tls_ca_file.is_some()
            || self.tls_cert_file.is_some()
            || self.tls_server_name.is_some()
            || self.tls_insecure_skip_verify;
        if !wanted {
            return Ok(None);
        }
        let mut tls = TlsConfig::builder();
        if let Some(ca) = &self.tls_ca_file {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert_file, &self.tls_key_file) {
            tls = tls.client_cert_files(cert, key);
        }
        if let Some(name) = &self.tls_server_name {
            tls = tls.server_name(name.clone());
        }
        if self.tls_insecure_skip_verify {
            eprintln!("fluent-cat: WARNING: --tls-insecure-skip-verify: the server's certificate is not checked");
            tls = tls.insecure_skip_verify();
        }
        tls.build().map(Some)
    }
}

/// What the input gave, shared with the signal handler.
#[derive(Default)]
struct Counts {
    read: AtomicU64,
    malformed: AtomicU64,
    refused: AtomicU64,
}

/// Connects once, so that a dead server fails the run before it reads
/// anything, with the reason.
fn probe(socket: Option<&PathBuf>, host: &str, port: u16, timeout: Duration) -> io::Result<()> {
    if let Some(path) = socket {
        return std::os::unix::net::UnixStream::connect(path).map(drop);
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host resolves to no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The summary line, and whether it vouches for every event read.
fn summary(stats: &Stats, counts: &Counts, ack: bool, seconds: f64, last_error: Option<String>) -> (String, bool) {
    let read = counts.read.load(Ordering::Relaxed);
    let lost = stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close;
    let delivered = if ack { stats.acked } else { stats.sent };
    let doubtful = !ack && stats.connection_errors > 0;
    let vouched = lost == 0 && counts.refused.load(Ordering::Relaxed) == 0 && delivered >= read && !doubtful;
    let mut line = format!(
        "fluent-cat: read {read} events ({} malformed lines skipped), sent {}, acked {}, dropped {}, unsent {}, in {seconds:.2} s ({:.0} events/s)",
        counts.malformed.load(Ordering::Relaxed),
        stats.sent,
        stats.acked,
        stats.dropped_queue + stats.dropped_buffer,
        stats.unsent_at_close,
        stats.sent as f64 / seconds.max(1e-9),
    );
    if doubtful {
        line += &format!(
            "; {} connection failures without --ack: events the kernel had taken may be lost",
            stats.connection_errors
        );
    }
    if let Some(e) = last_error {
        line += &format!("; last error: {e}");
    }
    (line, vouched)
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
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout.max(0.001));
    let queue_timeout = Duration::from_secs_f64(args.queue_timeout.max(0.0));
    let tls = match args.tls() {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("fluent-cat: {e}");
            return ExitCode::from(2);
        }
    };
    let shared_key = args.shared_key.clone().or_else(|| std::env::var("FLUENT_SHARED_KEY").ok());
    let password = args.password.clone().or_else(|| std::env::var("FLUENT_PASSWORD").ok()).unwrap_or_default();
    let configure = |s: SenderBuilder| {
        let mut s = s.host(host.clone()).port(args.port).timeout(connect_timeout);
        for server in &args.servers {
            s = s.server(server.clone());
        }
        if let Some(tls) = &tls {
            s = s.tls(tls.clone());
        }
        if let Some(key) = &shared_key {
            s = s.shared_key(key.clone());
        }
        if let Some(name) = &args.self_hostname {
            s = s.self_hostname(name.clone());
        }
        if let Some(user) = &args.username {
            s = s.user(user.clone(), password.clone());
        }
        s
    };
    let probed = if tls.is_some() || shared_key.is_some() || !args.servers.is_empty() {
        // Through TLS and the handshake too, so that a refused certificate
        // or key fails the run before it reads anything (and to whichever
        // server of a tier takes it).
        configure(Sender::builder("")).build().send_raw(&[]).map_err(|e| e.to_string())
    } else {
        probe(args.socket.as_ref(), &args.host, args.port, connect_timeout).map_err(|e| e.to_string())
    };
    if let Err(e) = probed {
        let target = match (&args.socket, args.servers.is_empty()) {
            (Some(path), _) => path.display().to_string(),
            (None, true) => format!("{}:{}", args.host, args.port),
            (None, false) => args.servers.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" or "),
        };
        eprintln!("fluent-cat: cannot connect to {target}: {e}");
        return ExitCode::from(3);
    }
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let interrupted = Arc::new(AtomicBool::new(false));
    let shared_sender: Arc<OnceLock<Arc<AsyncSender>>> = Arc::new(OnceLock::new());
    {
        let (sender, counts, interrupted, ack) = (shared_sender.clone(), counts.clone(), interrupted.clone(), args.ack);
        let handler = move || {
            interrupted.store(true, Ordering::Relaxed);
            let (stats, last) = match sender.get() {
                Some(s) => (s.close_with(true, Duration::from_secs(1)), s.last_error().map(|e| e.to_string())),
                None => (Stats::default(), None),
            };
            let (line, _) = summary(&stats, &counts, ack, started.elapsed().as_secs_f64(), last);
            eprintln!("{line}; interrupted");
            std::process::exit(130);
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            eprintln!("fluent-cat: cannot handle SIGINT/SIGTERM: {e}");
        }
    }
    let sender = Arc::new(
        AsyncSender::builder(args.tag.clone())
            .sender(|s| configure(s).nanosecond_precision(!args.time_as_integer).bufmax(QUEUE_BYTES))
            .queue_maxsize(args.queue_size)
            .queue_bytes(QUEUE_BYTES)
            .queue_circular(args.circular)
            .queue_timeout(queue_timeout)
            .stall_timeout(queue_timeout)
            .batch_mode(mode)
            .require_ack_response(args.ack)
            .build(),
    );
    let _ = shared_sender.set(sender.clone());

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
            if interrupted.load(Ordering::Relaxed) {
                break 'inputs;
            }
            progress.inc(line.len() as u64 + 1);
            if line.trim().is_empty() {
                continue;
            }
            let record = match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => {
                    progress.suspend(|| eprintln!("fluent-cat: {name}:{}: not a JSON object", number + 1));
                    counts.malformed.fetch_add(1, Ordering::Relaxed);
                    if args.stop_on_error {
                        stopped = true;
                        break 'inputs;
                    }
                    continue;
                }
                Err(e) => {
                    progress.suspend(|| eprintln!("fluent-cat: {name}:{}: {e}", number + 1));
                    counts.malformed.fetch_add(1, Ordering::Relaxed);
                    if args.stop_on_error {
                        stopped = true;
                        break 'inputs;
                    }
                    continue;
                }
            };
            counts.read.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = sender.emit("", &record) {
                counts.refused.fetch_add(1, Ordering::Relaxed);
                let cause =
                    sender.last_error().filter(|l| *l != e).map(|l| format!(" (server: {l})")).unwrap_or_default();
                progress.suspend(|| eprintln!("fluent-cat: {name}:{}: {e}{cause}", number + 1));
            }
        }
    }
    progress.finish_and_clear();
    if interrupted.load(Ordering::Relaxed) {
        // The signal handler prints the summary and exits.
        std::thread::park();
    }
    let stats = sender.close_with(true, Duration::from_secs(args.close_timeout));
    let last = sender.last_error().map(|e| e.to_string());
    let (line, vouched) = summary(&stats, &counts, args.ack, started.elapsed().as_secs_f64(), last);
    eprintln!("{line}");
    if stopped {
        ExitCode::from(2)
    } else if !vouched {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
