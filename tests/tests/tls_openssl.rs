//! TLS against OpenSSL (Debian's `openssl`), the library under Fluentd and
//! Fluent Bit: `s_client` checks which protocol versions the catcher's TLS
//! listener speaks, and `s_server` takes our senders' TLS 1.2 and 1.3
//! sessions, with and without a client certificate. Plaintext on the TLS
//! port is refused.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use fluent_catcher::{Config, TestCatcher, TestCertificateFiles, TestCertificates};
use fluent_std::{Sender, TlsConfig};

fn require_openssl() {
    let found = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    assert!(found, "openssl is missing: run ci/install-test-deps.sh");
}

fn cert_files(name: &str) -> (TestCertificates, TestCertificateFiles) {
    let certs = TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-tls-openssl-{name}-{}", std::process::id()));
    let files = certs.write_to(dir).unwrap();
    (certs, files)
}

/// `openssl s_client` with `args`: whether the handshake completed, and its
/// output.
fn s_client(port: u16, ca: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-brief", "-CAfile"])
        .arg(ca)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (text.contains("CONNECTION ESTABLISHED"), text)
}

#[test]
fn the_catchers_tls_listener_speaks_tls_1_2_and_1_3_only() {
    require_openssl();
    let (certs, files) = cert_files("versions");
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let port = catcher.tls_forward_addr().unwrap().port();
    let (ok, text) = s_client(port, &files.ca, &["-tls1_3"]);
    assert!(ok && text.contains("Protocol version: TLSv1.3"), "{text}");
    assert!(text.contains("Verification: OK"), "{text}");
    let (ok, text) = s_client(port, &files.ca, &["-tls1_2"]);
    assert!(ok && text.contains("Protocol version: TLSv1.2"), "{text}");
    // TLS 1.1 (allowed on OpenSSL's side at security level 0) is refused.
    let (ok, text) = s_client(port, &files.ca, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert!(!ok, "{text}");
    assert!(text.contains("alert protocol version") || text.contains("alert handshake failure"), "{text}");
}

#[test]
fn plaintext_on_the_tls_port_is_refused() {
    let (certs, _) = cert_files("plaintext");
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let mut stream = TcpStream::connect(catcher.tls_forward_addr().unwrap()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A plain Forward message: ["plain", 1, {"a": 1}].
    stream.write_all(b"\x93\xa5plain\x01\x81\xa1a\x01").unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    // The server closes, at most with a TLS alert (content type 21).
    assert!(reply.is_empty() || reply[0] == 21, "{reply:02x?}");
    let closed = catcher.wait_for_connections(1, Duration::from_secs(10));
    let reason = closed[0].close_reason.clone().unwrap_or_default();
    assert!(reason.contains("TLS"), "{reason}");
    assert_eq!(catcher.stop().events_written, 0);
}

/// `openssl s_server` on a free port with `args`, for one connection,
/// printing what it receives to stdout; returned once it accepts.
fn s_server(files: &TestCertificateFiles, args: &[&str]) -> (Child, BufReader<ChildStdout>, u16) {
    require_openssl();
    // Port 0: s_server takes a free port itself, so no other test's socket
    // can take the port between a choice and s_server's bind.
    let mut server = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-brief", "-cert"])
        .arg(&files.server_cert)
        .arg("-key")
        .arg(&files.server_key)
        .args(args)
        // Open and silent: at the end of its input s_server stops.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_server");
    let stdout = BufReader::new(server.stdout.take().unwrap());
    // Connecting to see whether it listens would use up its one accept:
    // look for its listening socket instead.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Some(port) = listening_port(server.id()) {
            break port;
        }
        assert!(std::time::Instant::now() < deadline, "s_server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    (server, stdout, port)
}

/// The port of the IPv4 loopback socket that process `pid` listens on.
fn listening_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
        let port = local.strip_prefix("0100007F:")?;
        (*state == "0A" && inodes.iter().any(|i| i == inode)).then(|| u16::from_str_radix(port, 16).ok())?
    })
}

/// What s_server printed: the data it received, and (`-brief`) the
/// session's summary. It exits after the one connection.
fn received(mut server: Child, mut stdout: BufReader<ChildStdout>) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).unwrap();
    let mut err = String::new();
    server.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = server.wait();
    (out, err)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn our_sender_talks_tls_1_2_and_1_3_to_openssl() {
    let (_, files) = cert_files("server");
    for version in ["-tls1_2", "-tls1_3"] {
        let (server, stdout, port) = s_server(&files, &[version]);
        let tls = TlsConfig::builder().ca_file(&files.ca).build().unwrap();
        let sender = Sender::builder("openssl").host("127.0.0.1").port(port).tls(tls).build();
        for n in 0..10u32 {
            sender.emit("ok", &std::collections::BTreeMap::from([("n", n)])).expect(version);
        }
        sender.close();
        let (bytes, err) = received(server, stdout);
        assert_eq!(count(&bytes, b"openssl.ok"), 10, "{version}: {err} {}", String::from_utf8_lossy(&bytes));
        let protocol = if version == "-tls1_2" { "TLSv1.2" } else { "TLSv1.3" };
        assert!(err.contains(&format!("Protocol version: {protocol}")), "{version}: {err}");
    }
}

#[test]
fn our_client_certificate_satisfies_openssl_requiring_one() {
    let (_, files) = cert_files("mutual");
    let ca = files.ca.to_str().unwrap().to_owned();
    let (server, stdout, port) = s_server(&files, &["-Verify", "1", "-verify_return_error", "-CAfile", &ca]);
    let tls = TlsConfig::builder()
        .ca_file(&files.ca)
        .client_cert_files(&files.client_cert, &files.client_key)
        .build()
        .unwrap();
    let sender = Sender::builder("openssl").host("127.0.0.1").port(port).tls(tls).build();
    sender.emit("mutual", &std::collections::BTreeMap::from([("n", 1)])).unwrap();
    sender.close();
    let (bytes, err) = received(server, stdout);
    assert_eq!(count(&bytes, b"openssl.mutual"), 1, "{err}");
    assert!(err.contains("CN = fluent-client") || err.contains("CN=fluent-client"), "{err}");
}
