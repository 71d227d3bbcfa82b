//! `fluent-catcher`: a local Fluentd Forward receiver and a safe receiver for
//! Python's `logging.SocketHandler`, writing every event to one log.
//!
//! ```text
//! cargo run --release -p fluent-catcher -- --out events.jsonl
//! ```
//!
//! A line on stderr says where it listens once it is ready. SIGINT/SIGTERM
//! stop it cleanly (connections finish their current request, the output is
//! flushed, exit code 0); SIGUSR1 prints the counters on stderr.

mod allocator;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use fluent_catcher::{AckWhen, Catcher, Config, Limits, Output, OutputFormat};

/// Catch Fluentd Forward-protocol and Python SocketHandler logs from many
/// clients into one file.
#[derive(Parser, Debug)]
#[command(name = "fluent-catcher", version)]
struct Args {
    /// Forward protocol TCP address (UDP heartbeats on the same port).
    #[arg(long, value_name = "ADDR", default_value = fluent_catcher::DEFAULT_FORWARD_ADDR, value_parser = parse_addr)]
    listen: SocketAddr,
    /// Do not serve the plain (non-TLS) Forward protocol over TCP.
    #[arg(long)]
    no_plain: bool,
    /// Serve the Forward protocol over TLS on this address (with
    /// --tls-cert-file and --tls-key-file).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    tls_listen: Option<SocketAddr>,
    /// The TLS listener's certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "tls_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// The TLS listener's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    tls_key_file: Option<PathBuf>,
    /// Require TLS clients to present a certificate signed by a CA in this
    /// PEM file (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    tls_client_ca_file: Option<PathBuf>,
    /// Serve the counters at http://ADDR/metrics (Prometheus text format).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    metrics_listen: Option<SocketAddr>,
    /// Also serve the Forward protocol on this Unix socket.
    #[arg(long, value_name = "PATH")]
    unix: Option<PathBuf>,
    /// Python logging.SocketHandler (pickle) TCP address.
    #[arg(long, value_name = "ADDR", default_value = fluent_catcher::DEFAULT_PICKLE_ADDR, value_parser = parse_addr)]
    pickle_listen: SocketAddr,
    /// Do not serve the SocketHandler protocol.
    #[arg(long)]
    no_pickle: bool,
    /// Do not answer UDP heartbeats.
    #[arg(long)]
    no_udp: bool,
    /// The central log file (appended to); stdout when absent.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Line format: jsonl (one JSON object per line: tag, time, record) or
    /// fluentd (out_file's `time<TAB>tag<TAB>json`).
    #[arg(long, default_value = "jsonl", value_parser = PossibleValuesParser::new(["jsonl", "fluentd"])
        .try_map(|s| s.parse::<OutputFormat>()))]
    format: OutputFormat,
    /// Require the shared-key handshake on Forward connections.
    #[arg(long, value_name = "KEY")]
    shared_key: Option<String>,
    /// A user for the handshake's user authentication, NAME:PASSWORD
    /// (repeatable; needs --shared-key).
    #[arg(long, value_name = "NAME:PASSWORD", value_parser = parse_user)]
    user: Vec<(String, String)>,
    /// The hostname the handshake's PONG gives (default: this machine's).
    /// Fluentd refuses a server whose name equals its own `self_hostname`.
    #[arg(long, value_name = "NAME")]
    self_hostname: Option<String>,
    /// When acks are sent: written (once written to the output) or synced
    /// (once written and fsynced).
    #[arg(long, default_value = "written", value_parser = PossibleValuesParser::new(["written", "synced"])
        .try_map(|s| s.parse::<AckWhen>()))]
    ack: AckWhen,
    /// Connections open at once; more are closed on accept.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Largest Forward frame, in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_len)]
    max_frame_len: usize,
    /// Most a gzip request may inflate to, in bytes.
    #[arg(long, default_value_t = Limits::default().max_decompressed_len)]
    max_decompressed_len: usize,
    /// Largest SocketHandler record, in bytes.
    #[arg(long, default_value_t = Limits::default().max_pickle_len)]
    max_pickle_len: usize,
    /// Longest tag, in bytes; a longer one closes the connection.
    #[arg(long, default_value_t = Limits::default().max_tag_len)]
    max_tag_len: usize,
    /// What one request may render to, as a multiple of its bytes (plus
    /// 64 KiB); more closes the connection.
    #[arg(long, default_value_t = Limits::default().max_output_ratio)]
    max_output_ratio: usize,
    /// Bytes of inflated requests and rendered lines held at once, all
    /// connections together (acquired before they are allocated).
    #[arg(long, default_value_t = Limits::default().decode_memory)]
    decode_memory: usize,
    /// Bytes of read buffers held at once, all connections together,
    /// beyond the first 64 KiB of each.
    #[arg(long, default_value_t = Limits::default().buffer_memory)]
    buffer_memory: usize,
    /// Connections open at once from one IP address.
    #[arg(long, default_value_t = Limits::default().max_connections_per_peer)]
    max_connections_per_peer: usize,
    /// Seconds a frame may take from the end of the previous one (plus one
    /// per 16 KiB of it received): closes clients that trickle bytes.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().frame_timeout.as_secs())]
    frame_timeout: u64,
    /// Close connections silent this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout: u64,
    /// Flush the output at least this often, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    flush_interval: u64,
    /// Print the counters on stderr every this many seconds (0: never; SIGUSR1 always works).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    stats_interval: u64,
    /// No per-connection lines on stderr.
    #[arg(long)]
    quiet: bool,
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs().map_err(|e| format!("{text}: {e}"))?.next().ok_or_else(|| format!("{text}: no address"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    allocator::fix_mmap_threshold();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fluent-catcher: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fluent-catcher: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let limits = Limits::default()
        .max_connections(args.max_connections)
        .max_frame_len(args.max_frame_len)
        .max_decompressed_len(args.max_decompressed_len)
        .max_pickle_len(args.max_pickle_len)
        .max_tag_len(args.max_tag_len)
        .max_output_ratio(args.max_output_ratio)
        .decode_memory(args.decode_memory)
        .buffer_memory(args.buffer_memory)
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .max_connections_per_peer(args.max_connections_per_peer)
        .frame_timeout(Duration::from_secs(args.frame_timeout));
    let output = args.out.clone().map_or(Output::Stdout, Output::File);
    let mut config = Config::default()
        .udp_heartbeat(!args.no_udp)
        .output(output)
        .format(args.format)
        .ack(args.ack)
        .limits(limits)
        .flush_interval(Duration::from_millis(args.flush_interval.max(1)))
        .log_connections(!args.quiet);
    config = if args.no_plain { config.no_forward() } else { config.forward(args.listen) };
    config = if args.no_pickle { config.no_pickle() } else { config.pickle(args.pickle_listen) };
    if let Some(tls) = tls_config(&args)? {
        let addr = args.tls_listen.ok_or_else(|| std::io::Error::other("--tls-cert-file needs --tls-listen ADDR"))?;
        config = config.tls_forward(addr, tls);
    } else if args.tls_listen.is_some() {
        return Err(std::io::Error::other("--tls-listen needs --tls-cert-file and --tls-key-file"));
    }
    if let Some(path) = &args.unix {
        config = config.unix(path);
    }
    if let Some(addr) = args.metrics_listen {
        config = config.metrics(addr);
    }
    if let Some(name) = &args.self_hostname {
        config = config.hostname(name);
    }
    if !args.user.is_empty() && args.shared_key.is_none() {
        return Err(std::io::Error::other("--user needs --shared-key (user authentication is part of the handshake)"));
    }
    for (name, password) in &args.user {
        config = config.user(name, password);
    }
    if let Some(key) = &args.shared_key {
        config = config.shared_key(key);
    }
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;

    let catcher = Catcher::bind(config).await?;
    let mut listening = Vec::new();
    if let Some(addr) = catcher.forward_addr() {
        listening.push(format!("forward tcp {addr}{}", if args.no_udp { "" } else { " (+udp heartbeat)" }));
    }
    if let Some(addr) = catcher.tls_forward_addr() {
        let mutual = if args.tls_client_ca_file.is_some() { ", client certificates required" } else { "" };
        listening.push(format!("forward tls {addr}{mutual}"));
    }
    if let Some(addr) = catcher.metrics_addr() {
        listening.push(format!("metrics http://{addr}/metrics"));
    }
    if let Some(path) = catcher.unix_path() {
        listening.push(format!("forward unix {}", path.display()));
    }
    if let Some(addr) = catcher.pickle_addr() {
        listening.push(format!("sockethandler tcp {addr}"));
    }
    let out = args.out.as_ref().map_or("stdout".to_owned(), |p| p.display().to_string());
    eprintln!(
        "fluent-catcher: listening on {}; writing {} lines to {out}",
        listening.join(", "),
        if args.format == OutputFormat::Fluentd { "fluentd out_file" } else { "JSON" }
    );

    let handle = catcher.handle();
    let stats_every = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    tokio::spawn(async move {
        let mut ticker = stats_every.map(tokio::time::interval);
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                _ = usr1.recv() => eprintln!("fluent-catcher: {}", handle.stats()),
                _ = async {
                    match ticker.as_mut() {
                        Some(t) => { t.tick().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    eprintln!("fluent-catcher: {}", handle.stats());
                }
            }
        }
        eprintln!("fluent-catcher: shutting down");
        handle.shutdown();
    });
    let totals = catcher.run().await?;
    eprintln!("fluent-catcher: stopped; {totals}");
    Ok(())
}

/// The TLS listener's settings, when a certificate is given.
fn tls_config(args: &Args) -> std::io::Result<Option<fluent_catcher::TlsServerConfig>> {
    let (Some(cert), Some(key)) = (&args.tls_cert_file, &args.tls_key_file) else { return Ok(None) };
    let tls = fluent_catcher::TlsServerConfig::from_pem_files(cert, key)?;
    Ok(Some(match &args.tls_client_ca_file {
        Some(ca) => tls.require_client_certs(ca)?,
        None => tls,
    }))
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.to_owned(), password.to_owned())),
        _ => Err("expected NAME:PASSWORD".to_owned()),
    }
}
