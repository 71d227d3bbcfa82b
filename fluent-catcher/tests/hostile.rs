//! The `fluent-catcher` binary under hostile clients, inside a 1 GiB
//! address-space cap (`prlimit --as`), so that a regression that asks for
//! memory fails this test instead of the machine. While the attackers run,
//! a steady client sends events asking for acks: the catcher must stay up
//! and every acked event must be in the file.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use common::{connect, message, packed_with_tag, read_value};
use fluent_proto::{Options, Timestamp};

const CAP: &str = "--as=1073741824";
/// The catcher's memory budgets in this test.
const DECODE_MEMORY: usize = 32 << 20;
const BUFFER_MEMORY: usize = 32 << 20;

/// The catcher with `listeners` in a child process under the cap, the
/// budgets of this test, writing to `out`: the process, its log, and the
/// log's first line (where it listens).
fn spawn_capped(listeners: &[&std::ffi::OsStr], out: &std::path::Path) -> (Child, BufReader<ChildStderr>, String) {
    let mut child = Command::new("prlimit")
        .arg(CAP)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_fluent-catcher"))
        .args(listeners)
        .args(["--quiet", "--decode-memory", &DECODE_MEMORY.to_string(), "--buffer-memory", &BUFFER_MEMORY.to_string()])
        // Slow clients are closed within the test's time.
        .args(["--frame-timeout", "2"])
        .arg("--out")
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the catcher");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    stderr.read_line(&mut ready).unwrap();
    (child, stderr, ready)
}

/// The catcher in a child process under the cap: its Forward and
/// SocketHandler addresses, and its log (read to the end on a helper
/// thread).
fn start(out: &std::path::Path) -> (Child, SocketAddr, SocketAddr, std::thread::JoinHandle<String>) {
    let listeners = ["--listen", "127.0.0.1:0", "--pickle-listen", "127.0.0.1:0"].map(std::ffi::OsStr::new);
    let (child, stderr, ready) = spawn_capped(&listeners, out);
    assert!(ready.starts_with("fluent-catcher: listening on forward tcp 127.0.0.1:"), "{ready}");
    let port = |n: usize| -> u16 {
        ready.split("127.0.0.1:").nth(n).unwrap().split([' ', ',', ';']).next().unwrap().parse().unwrap()
    };
    let (forward, pickle) = (port(1), port(2));
    // Keep draining its log so that it never blocks on a full pipe.
    let log = std::thread::spawn(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (child, ([127, 0, 0, 1], forward).into(), ([127, 0, 0, 1], pickle).into(), log)
}

/// A `SocketHandler` record: length prefix and pickle.
fn record(pickle: &[u8]) -> Vec<u8> {
    let mut out = (pickle.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(pickle);
    out
}

/// Each attack on its own connection; errors (the catcher closing on us)
/// are expected.
fn attacks(addr: SocketAddr, pickle: SocketAddr) -> Vec<std::thread::JoinHandle<()>> {
    let send_to = |addr: SocketAddr, bytes: Vec<u8>| {
        std::thread::spawn(move || {
            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                let _ = s.write_all(&bytes);
                let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                let _ = std::io::Read::read(&mut s, &mut [0u8; 64]);
            }
        })
    };
    let send = move |bytes: Vec<u8>| send_to(addr, bytes);
    let json_entries = vec!["[1,{}]"; 30_000].join(",");
    let mut handles = vec![
        // A 200 KB tag on 30,000 tiny entries: 6.5 GB of lines.
        send(packed_with_tag(200_000, 30_000)),
        // The longest tag allowed on 30,000 tiny entries: 120 MB of lines.
        send(packed_with_tag(4096, 30_000)),
        send(format!("[\"{}\",[{json_entries}]]", "t".repeat(4096)).into_bytes()),
    ];
    // Six at once of a 3 MB gzip request of tiny entries (a few KB on the
    // wire), each rendering to more than the whole decode budget.
    let mut gzip = Vec::new();
    let entries = b"\x92\x01\x80".repeat(1_000_000);
    fluent_proto::encode_compressed_packed_forward(&mut gzip, "g", &entries, &Options::default(), 1).unwrap();
    for _ in 0..6 {
        handles.push(send(gzip.clone()));
    }
    // A request asking for an ack with a malformed event in it: not acked.
    let mut bad_event = Vec::new();
    let options = Options { chunk: Some("bad"), ..Default::default() };
    let entries = [&b"\x92\x01\x81\xa1k\x01"[..], b"\x92\x01\x01"].concat();
    fluent_proto::encode_packed_forward(
        &mut bad_event,
        "bad",
        &entries,
        fluent_proto::EntriesFormat::Bin,
        Some(&options),
    )
    .unwrap();
    handles.push(send(bad_event));
    // A tag that would forge a line in a line-based format.
    let mut forged = Vec::new();
    let tag = "x\n2026-01-01T00:00:00+00:00\tadmin.audit\t{}";
    fluent_proto::encode_message(
        &mut forged,
        tag,
        fluent_proto::Timestamp::Seconds(1),
        &[("k", 1)].into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        None,
    )
    .unwrap();
    handles.push(send(forged));
    // Pickles: code, a memo bomb (set(list) through memo references), and
    // a 40 KB integer (quadratic to print), then a plain record after them
    // on the same connection.
    let mut bomb = b"(".to_vec();
    bomb.extend(std::iter::repeat_n(b'N', 1000));
    bomb.extend_from_slice(b"lq\x00(");
    for _ in 0..10_000 {
        bomb.extend_from_slice(b"c__builtin__\nset\nh\x00\x85R");
    }
    bomb.extend_from_slice(b"l.");
    let mut long = b"\x80\x02\x8b".to_vec();
    long.extend_from_slice(&40_000u32.to_le_bytes());
    long.extend(std::iter::repeat_n(0x7f, 40_000));
    long.push(b'.');
    let plain = b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x07\x00\x00\x00pickledq\x02X\x03\x00\x00\x00msgq\x03X\x02\x00\x00\x00okq\x04u.";
    let pickles = [record(b"cposix\nsystem\nq\x00."), record(&bomb), record(&long), record(plain)].concat();
    handles.push(send_to(pickle, pickles));
    // Slowloris: 20 connections trickling a frame a byte at a time.
    for _ in 0..20 {
        handles.push(std::thread::spawn(move || {
            let Ok(mut s) = std::net::TcpStream::connect(addr) else { return };
            for &b in b"\x93\xa4slow\x01\x81\xa1k" {
                if s.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }));
    }
    // Unfinished JSON, then a byte every 20 ms: each byte used to re-parse
    // the whole buffer.
    handles.push(std::thread::spawn(move || {
        let Ok(mut s) = std::net::TcpStream::connect(addr) else { return };
        let mut start = b"[\"slow\",[".to_vec();
        start.extend(b"[1,{\"k\":\"v\"}],".repeat(200_000));
        if s.write_all(&start).is_err() {
            return;
        }
        for _ in 0..100 {
            if s.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }));
    handles
}

#[test]
fn hostile_clients_neither_crash_the_catcher_nor_cost_an_acked_event() {
    let out = std::env::temp_dir().join(format!("fluent-catcher-hostile-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let (mut child, addr, pickle, log) = start(&out);
    let attackers = attacks(addr, pickle);

    let mut good = connect(addr);
    let mut acked = 0u64;
    for n in 0..300u64 {
        let chunk = format!("good-{n}");
        let options = Options { chunk: Some(&chunk), ..Default::default() };
        good.write_all(&message("good", Timestamp::Seconds(1), "good", n, Some(&options))).unwrap();
        let ack = read_value(&mut good);
        assert_eq!(fluent_proto::parse_ack(&ack).unwrap(), chunk);
        acked += 1;
        if n % 50 == 0 {
            assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(good);
    for a in attackers {
        a.join().unwrap();
    }
    assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
    let peak = peak_rss(child.id());
    // The formula in the README: both budgets, 64 KiB per connection, one
    // entry per worker thread, and a constant (runtime, code, output).
    let formula = DECODE_MEMORY + BUFFER_MEMORY + 16 * (64 << 10) + (64 << 20);
    assert!(peak < formula, "peak RSS {} MiB over the formula's {} MiB", peak >> 20, formula >> 20);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the catcher did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = log.join().unwrap();
    let stopped = log.lines().find(|l| l.contains("stopped;")).unwrap_or_default();
    eprintln!("{stopped}");
    for reason in ["tag-too-long", "amplification", "memory", "bad-event", "pickle", "slow"] {
        assert!(stopped.contains(&format!(" {reason}=")), "{reason} counted: {stopped}");
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let good_lines = text.lines().filter(|l| l.contains("\"good\"")).count() as u64;
    assert_eq!(good_lines, acked, "every acked event is in the file");
    assert!(text.lines().any(|l| l.contains("\"pickled\"")), "the plain record after the hostile pickles");
    assert!(!text.lines().any(|l| l.starts_with("2026-01-01")), "no forged line");
    assert!(!text.contains("\"bad\""), "nothing of the request that lost an event");
    let _ = std::fs::remove_file(&out);
}

/// The process's peak resident set (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    eprintln!("catcher peak RSS: {} MiB", kib >> 10);
    kib << 10
}

/// A child process killed when the test ends, pass or fail (a failed
/// assertion must not leave the catcher running).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The catcher with a TLS listener only, under the cap, and its TLS
/// address.
fn start_tls(out: &std::path::Path, files: &fluent_catcher::TestCertificateFiles) -> (Reaped, SocketAddr) {
    let listeners = [
        "--no-plain".as_ref(),
        "--no-pickle".as_ref(),
        "--tls-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--tls-cert-file".as_ref(),
        files.server_cert.as_os_str(),
        "--tls-key-file".as_ref(),
        files.server_key.as_os_str(),
    ];
    let (child, stderr, ready) = spawn_capped(&listeners, out);
    assert!(ready.starts_with("fluent-catcher: listening on forward tls 127.0.0.1:"), "{ready}");
    let port: u16 = ready.split("127.0.0.1:").nth(1).unwrap().split([' ', ',', ';']).next().unwrap().parse().unwrap();
    std::thread::spawn(move || stderr.lines().map_while(Result::ok).count());
    (Reaped(child), ([127, 0, 0, 1], port).into())
}

#[test]
fn hostile_tls_clients_neither_crash_the_catcher_nor_hold_it() {
    let certs = fluent_catcher::TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-catcher-hostile-tls-{}", std::process::id()));
    let files = certs.write_to(&dir).unwrap();
    let out = dir.join("out.jsonl");
    let (mut catcher, addr) = start_tls(&out, &files);
    let child = &mut catcher.0;

    // Stalled handshakes: a record header announcing 16 KiB, then nothing.
    let stalled: Vec<_> = (0..100)
        .filter_map(|_| {
            let mut s = std::net::TcpStream::connect(addr).ok()?;
            s.write_all(&[0x16, 0x03, 0x01, 0x40, 0x00, 0x01]).ok()?;
            Some(s)
        })
        .collect();
    // Garbage records, an oversized record, plaintext Forward.
    for junk in [vec![0x16, 0x03, 0x01, 0xff, 0xff], vec![0x17; 70_000], b"\x93\xa4junk\x01\x80".to_vec()] {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = s.write_all(&junk);
        }
    }
    // A client that completes the handshake and then trickles a frame.
    let tls = fluent_std::TlsConfig::builder().ca_file(&files.ca).build().unwrap();
    let trickler = fluent_std::Sender::builder("t").host("127.0.0.1").port(addr.port()).tls(tls.clone()).build();
    trickler.send_raw(b"\x93\xa1t").unwrap();

    let sender = fluent_std::AsyncSender::builder("good")
        .sender(|s| s.host("127.0.0.1").port(addr.port()).tls(tls))
        .require_ack_response(true)
        .build();
    for n in 0..300u64 {
        sender.emit("good", &std::collections::BTreeMap::from([("n", n)])).unwrap();
        if n % 100 == 0 {
            assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!(stats.acked, 300, "{stats:?}");
    // The stalled handshakes were closed after the frame timeout (2 s),
    // not held until the idle timeout.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut closed = 0;
    for mut s in stalled {
        s.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))
            .unwrap();
        let mut byte = [0u8; 1];
        if matches!(std::io::Read::read(&mut s, &mut byte), Ok(0) | Err(_)) && Instant::now() < deadline {
            closed += 1;
        }
    }
    assert_eq!(closed, 100, "stalled TLS handshakes still open");
    assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
    let peak = peak_rss(child.id());
    let formula = DECODE_MEMORY + BUFFER_MEMORY + 16 * (64 << 10) + (64 << 20);
    assert!(peak < formula, "peak RSS {} MiB over the formula's {} MiB", peak >> 20, formula >> 20);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    drop(catcher);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("\"good.good\"")).count(), 300);
    let _ = std::fs::remove_dir_all(dir);
}
