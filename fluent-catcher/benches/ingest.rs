//! Ingest throughput and idle-connection memory of `fluent-catcher`, side
//! by side with what a user would run instead, in one run:
//!
//! - Forward PackedForward batches (pre-encoded, one connection) into the
//!   JSON-lines file: the catcher vs a Python asyncio + msgpack receiver;
//! - this project's `AsyncSender` end to end into the catcher's file;
//! - many Python processes logging through `logging.SocketHandler` at once:
//!   the catcher vs the Python logging cookbook's socket receiver;
//! - resident memory of the catcher holding 10,000 idle connections.
//!
//! Every receiver is its own process writing JSON lines to a file; a run is
//! timed from the first byte sent until the file holds every line.
//!
//! `cargo bench -p fluent-catcher --bench ingest` (`INGEST_EVENTS`,
//! `IDLE_CONNECTIONS` to scale).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fluent_proto::{EntriesFormat, EventTime, Options, Timestamp, encode_entry, encode_packed_forward};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers")
}

struct Receiver {
    child: Child,
    forward: u16,
    pickle: u16,
    out: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
    }
}

fn out_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ingest-{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn start_catcher(name: &str) -> Receiver {
    let out = out_file(name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fluent-catcher"))
        .args(["--listen", "127.0.0.1:0", "--pickle-listen", "127.0.0.1:0", "--no-udp", "--quiet"])
        // The idle-connection row opens them all from 127.0.0.1.
        .args(["--max-connections-per-peer", "16384"])
        .args(["--flush-interval", "10", "--out"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("fluent-catcher");
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("stderr")).read_line(&mut line).expect("ready line");
    // "... forward tcp 127.0.0.1:PORT, sockethandler tcp 127.0.0.1:PORT; ..."
    let ports: Vec<u16> =
        line.split([' ', ',', ';']).filter_map(|w| w.rsplit_once(':').and_then(|(_, p)| p.parse().ok())).collect();
    Receiver { child, forward: ports[0], pickle: ports[1], out }
}

fn start_python(script: &str, name: &str) -> Receiver {
    let out = out_file(name);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("python3")
        .arg(peers().join(script))
        .arg(port.to_string())
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready");
    Receiver { child, forward: port, pickle: port, out }
}

/// Waits until `path` holds `n` lines; panics after a minute.
fn wait_lines(path: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    let mut offset = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while seen < n {
        assert!(Instant::now() < deadline, "{}: {seen} of {n} lines", path.display());
        if let Ok(mut f) = std::fs::File::open(path) {
            use std::io::Seek;
            f.seek(std::io::SeekFrom::Start(offset)).unwrap();
            loop {
                let read = f.read(&mut buf).unwrap();
                if read == 0 {
                    break;
                }
                offset += read as u64;
                seen += buf[..read].iter().filter(|&&b| b == b'\n').count();
            }
        }
        if seen < n {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn record(i: usize) -> BTreeMap<&'static str, serde_json::Value> {
    BTreeMap::from([
        ("host", "web-1".into()),
        ("status", (if i.is_multiple_of(50) { 500 } else { 200 }).into()),
        ("latency_ms", ((i % 97) as f64 * 0.25).into()),
        ("path", ["/", "/orders", "/orders/42", "/login"][i % 4].into()),
        ("msg", "request served".into()),
    ])
}

/// PackedForward requests of 1,000 events each, as the AsyncSender sends them.
fn packed_requests(events: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut entries = Vec::new();
    for start in (0..events).step_by(1000) {
        entries.clear();
        let end = (start + 1000).min(events);
        for i in start..end {
            let time = Timestamp::Event(EventTime::new(1_700_000_000 + i as u32 / 1000, i as u32));
            encode_entry(&mut entries, time, &record(i)).unwrap();
        }
        let options = Options { size: Some((end - start) as u64), ..Default::default() };
        encode_packed_forward(&mut wire, "bench.packed", &entries, EntriesFormat::Bin, Some(&options)).unwrap();
    }
    wire
}

fn forward_packed(receiver: &Receiver, wire: &[u8], events: usize) -> f64 {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", receiver.forward)).unwrap();
    stream.write_all(wire).unwrap();
    wait_lines(&receiver.out, events);
    events as f64 / started.elapsed().as_secs_f64()
}

fn async_sender(receiver: &Receiver, events: usize) -> f64 {
    let sender = fluent_std::AsyncSender::builder("bench")
        .sender(|s| s.host("127.0.0.1").port(receiver.forward).nanosecond_precision(true))
        .queue_maxsize(100_000)
        .build();
    let started = Instant::now();
    for i in 0..events {
        sender.emit("sender", &record(i)).unwrap();
    }
    wait_lines(&receiver.out, events);
    let rate = events as f64 / started.elapsed().as_secs_f64();
    let stats = sender.close_with(true, Duration::from_secs(30));
    assert_eq!(stats.sent, events as u64);
    rate
}

fn socket_handler(receiver: &Receiver, clients: usize, per_client: usize) -> f64 {
    let mut child = Command::new("python3")
        .arg(peers().join("socket_handler_clients.py"))
        .args([receiver.pickle.to_string(), clients.to_string(), per_client.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started = Instant::now();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    wait_lines(&receiver.out, clients * per_client);
    let rate = (clients * per_client) as f64 / started.elapsed().as_secs_f64();
    assert!(child.wait().unwrap().success());
    rate
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = env_usize("INGEST_EVENTS", 1_000_000);
    let idle = env_usize("IDLE_CONNECTIONS", 10_000);
    let clients = 8;
    let per_client = env_usize("INGEST_PICKLE_PER_CLIENT", 12_500);
    let wire = packed_requests(events);
    println!("fluent-catcher ingest into a JSON-lines file; rates are events/s, higher is better\n");
    println!("| scenario | fluent-catcher | alternative | alternative's rate | ratio |");
    println!("|---|---:|---|---:|---:|");

    let ours = forward_packed(&start_catcher("packed"), &wire, events);
    let theirs = forward_packed(&start_python("asyncio_forward_receiver.py", "packed-py"), &wire, events);
    println!(
        "| PackedForward, {events} events, 1 connection | {:.2} M/s | Python asyncio + msgpack receiver | {:.3} M/s | {:.1}x |",
        ours / 1e6,
        theirs / 1e6,
        ours / theirs
    );

    let ours = async_sender(&start_catcher("sender"), events);
    println!(
        "| fluent-std AsyncSender end to end, {events} events | {:.2} M/s | (same process sends) | | |",
        ours / 1e6
    );

    let ours = socket_handler(&start_catcher("pickle"), clients, per_client);
    let theirs = socket_handler(&start_python("cookbook_receiver.py", "pickle-py"), clients, per_client);
    println!(
        "| SocketHandler, {clients} Python processes x {per_client} records | {:.3} M/s | Python logging cookbook receiver | {:.3} M/s | {:.1}x |",
        ours / 1e6,
        theirs / 1e6,
        ours / theirs
    );

    let catcher = start_catcher("idle");
    let pid = catcher.child.id();
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(pid);
    let base_fds = open_fds(pid);
    let conns: Vec<TcpStream> =
        (0..idle).map(|_| TcpStream::connect(("127.0.0.1", catcher.forward)).unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_fds(pid) < base_fds + idle && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(pid);
    println!(
        "\nfluent-catcher RSS: {:.1} MiB at start, {:.1} MiB holding {} idle connections ({:.2} KiB each)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        open_fds(pid) - base_fds,
        (after - before) as f64 / idle as f64
    );
    drop(conns);
}
