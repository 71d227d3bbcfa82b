//! The `fluent-catcher` binary: the ready line, SIGUSR1 counters, and a
//! clean SIGTERM shutdown (exit 0, every event received is in the file).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{connect, message};
use fluent_proto::Timestamp;

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([format!("-{name}"), pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// The binary with `args`, its log, and the log's first line (where it
/// listens).
fn spawn_catcher<I, S>(args: I) -> (std::process::Child, BufReader<std::process::ChildStderr>, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_fluent-catcher")).args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    stderr.read_line(&mut ready).unwrap();
    (child, stderr, ready)
}

#[test]
fn ready_line_stats_on_sigusr1_and_clean_sigterm() {
    let out = std::env::temp_dir().join(format!("fluent-catcher-cli-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let (mut child, mut stderr, ready) = spawn_catcher([
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--pickle-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ready.starts_with("fluent-catcher: listening on forward tcp 127.0.0.1:"), "{ready}");
    let port: u16 = ready.split("127.0.0.1:").nth(1).unwrap().split([' ', ',']).next().unwrap().parse().unwrap();

    let mut stream = connect(([127, 0, 0, 1], port).into());
    let mut wire = Vec::new();
    for n in 0..500 {
        wire.extend(message("cli", Timestamp::Seconds(1), "c", n, None));
    }
    stream.write_all(&wire).unwrap();
    drop(stream);

    // The disconnect line, then the counters on SIGUSR1.
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("disconnected after 500 events"), "{line}");
    signal(child.id(), "USR1");
    line.clear();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("events received=500"), "{line}");

    signal(child.id(), "TERM");
    let status = child.wait_timeout(Duration::from_secs(20));
    assert_eq!(status, Some(0), "exit code 0 after SIGTERM");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("stopped;") && rest.contains("written=500"), "{rest}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 500, "flushed at shutdown");
    let _ = std::fs::remove_file(&out);
}

trait WaitTimeout {
    fn wait_timeout(&mut self, timeout: Duration) -> Option<i32>;
}

impl WaitTimeout for std::process::Child {
    fn wait_timeout(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.kill();
        None
    }
}

#[test]
fn help_lists_the_values_of_format_and_ack() {
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-catcher")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("[possible values: jsonl, fluentd]"), "{help}");
    assert!(help.contains("[possible values: written, synced]"), "{help}");
}

#[test]
fn a_tls_listener_from_flags_serves_tls_senders_only() {
    let certs = fluent_catcher::TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-catcher-cli-tls-{}", std::process::id()));
    let files = certs.write_to(&dir).unwrap();
    let out = dir.join("out.jsonl");
    let (mut child, mut stderr, ready) = spawn_catcher([
        "--no-plain".as_ref(),
        "--no-pickle".as_ref(),
        "--tls-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--tls-cert-file".as_ref(),
        files.server_cert.as_os_str(),
        "--tls-key-file".as_ref(),
        files.server_key.as_os_str(),
    ]);
    assert!(ready.starts_with("fluent-catcher: listening on forward tls 127.0.0.1:"), "{ready}");
    assert!(!ready.contains("forward tcp"), "--no-plain: {ready}");
    let port: u16 = ready.split("127.0.0.1:").nth(1).unwrap().split([' ', ',', ';']).next().unwrap().parse().unwrap();

    let tls = fluent_std::TlsConfig::builder().ca_file(&files.ca).build().unwrap();
    let sender = fluent_std::Sender::builder("cli").host("127.0.0.1").port(port).tls(tls).build();
    for n in 0..20 {
        sender.emit("tls", &std::collections::BTreeMap::from([("n", n)])).unwrap();
    }
    sender.close();
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("forward-tls") && line.contains("disconnected after 20 events"), "{line}");

    signal(child.id(), "TERM");
    assert_eq!(child.wait_timeout(Duration::from_secs(20)), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 20);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_tls_key_that_does_not_exist_is_an_error_naming_the_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-catcher"))
        .args(["--tls-listen", "127.0.0.1:0", "--tls-cert-file", "/nonexistent/server.pem"])
        .args(["--tls-key-file", "/nonexistent/server.key", "--listen", "127.0.0.1:0", "--no-pickle"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/server.pem"), "{stderr}");
}

#[test]
fn metrics_endpoint_counts_what_was_written() {
    let out = std::env::temp_dir().join(format!("fluent-catcher-cli-metrics-{}.jsonl", std::process::id()));
    let (mut child, _stderr, ready) = spawn_catcher([
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--no-pickle".as_ref(),
        "--metrics-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--quiet".as_ref(),
        "--flush-interval".as_ref(),
        "10".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let port = |n: usize| -> u16 {
        ready.split("127.0.0.1:").nth(n).unwrap().split([' ', ',', ';', '/']).next().unwrap().parse().unwrap()
    };
    let (forward, metrics) = (port(1), port(2));
    assert!(ready.contains(&format!("metrics http://127.0.0.1:{metrics}/metrics")), "{ready}");

    let mut stream = connect(([127, 0, 0, 1], forward).into());
    let mut wire = Vec::new();
    for n in 0..500 {
        wire.extend(message("m", Timestamp::Seconds(1), "c", n, None));
    }
    stream.write_all(&wire).unwrap();
    drop(stream);
    let scrape = || {
        let out = Command::new("curl").args(["-sS", &format!("http://127.0.0.1:{metrics}/metrics")]).output();
        String::from_utf8_lossy(&out.expect("curl").stdout).into_owned()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut text = scrape();
    while !text.contains("\nfluent_catcher_events_written_total 500\n") {
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(20));
        text = scrape();
    }
    assert!(text.contains("\nfluent_catcher_events_received_total 500\n"), "{text}");
    assert!(text.contains("# TYPE fluent_catcher_connections_active gauge"), "{text}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 500, "the file agrees");

    // Anything else is answered and closed; an endless header is cut off.
    let mut other = connect(([127, 0, 0, 1], metrics).into());
    other.write_all(b"POST /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut other, &mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
    let mut endless = connect(([127, 0, 0, 1], metrics).into());
    let _ = endless.write_all(&vec![b'a'; 20_000]);
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut endless, &mut rest);
    assert!(rest.is_empty(), "no answer to a request over 8 KiB");

    signal(child.id(), "TERM");
    assert_eq!(child.wait_timeout(Duration::from_secs(20)), Some(0));
    let _ = std::fs::remove_file(&out);
}
