//! TLS with a real peer, npm's `@fluent-org/logger`, both ways: our senders
//! over TLS (with the shared key and user authentication inside it) to its
//! `FluentServer` with `tlsOptions`, with and without client certificates;
//! and its client over TLS to the catcher's TLS listener.

use std::io::{BufReader, Lines};
use std::process::{Child, ChildStdout};
use std::time::Duration;

use fluent_catcher::{Config, TestCatcher, TestCertificateFiles, TestCertificates};
use fluent_std::{AsyncSender, SendError, Sender, TlsConfig};
use fluent_tests::{node_forward_server, require_node};

fn record(n: u64) -> std::collections::BTreeMap<&'static str, u64> {
    std::collections::BTreeMap::from([("n", n)])
}

fn cert_files(name: &str) -> (TestCertificates, TestCertificateFiles) {
    let certs = TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-tls-node-{name}-{}", std::process::id()));
    let files = certs.write_to(dir).unwrap();
    (certs, files)
}

/// npm's `FluentServer` over TLS with key "node key" and user fluent /
/// "pw 2"; `mutual`: client certificates required.
fn node_tls_server(files: &TestCertificateFiles, mutual: bool) -> (Child, Lines<BufReader<ChildStdout>>, u16) {
    let mut env = vec![("TLS_CERT", files.server_cert.as_path()), ("TLS_KEY", files.server_key.as_path())];
    if mutual {
        env.push(("TLS_CA", files.ca.as_path()));
    }
    node_forward_server(&env)
}

fn secured(s: fluent_std::SenderBuilder, port: u16, tls: TlsConfig) -> fluent_std::SenderBuilder {
    s.host("127.0.0.1")
        .port(port)
        .tls(tls)
        .shared_key("node key")
        .self_hostname("sender.test")
        .user("fluent", "pw 2")
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
}

fn received(lines: &mut Lines<BufReader<ChildStdout>>, n: usize) -> Vec<u64> {
    lines
        .by_ref()
        .take(n)
        .map(|line| serde_json::from_str::<serde_json::Value>(&line.unwrap()).unwrap()["record"]["n"].as_u64().unwrap())
        .collect()
}

#[test]
fn both_senders_deliver_over_tls_with_the_handshake_to_the_node_server() {
    let (_, files) = cert_files("plain");
    let (mut server, mut lines, port) = node_tls_server(&files, false);
    let tls = TlsConfig::builder().ca_file(&files.ca).build().unwrap();

    let sync = secured(Sender::builder("tls"), port, tls.clone()).build();
    for n in 0..10 {
        sync.emit("node", &record(n)).expect("sync emit over TLS");
    }
    // The node server passes on events that arrive right behind its PONG
    // only once more bytes, or the close, follow: close first.
    sync.close();
    assert_eq!(received(&mut lines, 10), (0..10).collect::<Vec<_>>());

    let sender = AsyncSender::builder("tls").sender(|s| secured(s, port, tls)).build();
    for n in 10..1010 {
        sender.emit("node", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!((stats.sent, stats.connection_errors), (1000, 0), "{stats:?}");
    assert_eq!(received(&mut lines, 1000), (10..1010).collect::<Vec<_>>());
    drop(server.stdin.take());
    let _ = server.wait();
}

#[test]
fn the_node_server_requiring_client_certificates_takes_ours_and_refuses_none() {
    let (_, files) = cert_files("mutual");
    let (mut server, mut lines, port) = node_tls_server(&files, true);

    let without = TlsConfig::builder().ca_file(&files.ca).build().unwrap();
    let sender = AsyncSender::builder("tls").sender(|s| secured(s, port, without)).build();
    sender.emit("node", &record(1)).unwrap();
    let stats = sender.close_with(true, Duration::from_secs(2));
    assert_eq!(stats.sent, 0, "{stats:?}");
    // The refusal arrives as a TLS alert or as the server closing the
    // connection before the handshake's HELO.
    let err = sender.last_error();
    assert!(matches!(err, Some(SendError::Tls(_) | SendError::Handshake(_) | SendError::Io { .. })), "{err:?}");

    let with = TlsConfig::builder()
        .ca_file(&files.ca)
        .client_cert_files(&files.client_cert, &files.client_key)
        .build()
        .unwrap();
    let sender = AsyncSender::builder("tls").sender(|s| secured(s, port, with)).require_ack_response(true).build();
    for n in 0..100 {
        sender.emit("node", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!(stats.acked, 100, "{stats:?}");
    assert_eq!(received(&mut lines, 100), (0..100).collect::<Vec<_>>());
    drop(server.stdin.take());
    let _ = server.wait();
}

#[test]
fn a_sender_not_trusting_the_node_servers_certificate_or_name_sends_nothing() {
    let (_, files) = cert_files("untrusted");
    let (mut server, lines, port) = node_tls_server(&files, false);
    let (other, _) = cert_files("other");
    let tls = TlsConfig::builder().ca_pem(other.ca_pem()).build().unwrap();
    let err = secured(Sender::builder("tls"), port, tls).build().emit("node", &record(1)).unwrap_err();
    assert!(matches!(&err, SendError::Tls(r) if r.contains("UnknownIssuer")), "{err:?}");
    // Its own CA, but a name its certificate does not carry.
    let misnamed = TlsConfig::builder().ca_file(&files.ca).server_name("aggregator.example").build().unwrap();
    let err = secured(Sender::builder("tls"), port, misnamed).build().emit("node", &record(2)).unwrap_err();
    assert!(matches!(&err, SendError::Tls(r) if r.contains("not valid for name")), "{err:?}");
    drop(server.stdin.take());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.is_empty(), "the node server received events: {rest:?}");
    let _ = server.wait();
}

#[test]
fn the_node_client_delivers_over_tls_to_the_catcher_with_acks() {
    require_node();
    let (certs, files) = cert_files("client");
    let config = Config::default().shared_key("node-key").hostname("catcher.test").user("fluent", "s3cret pass");
    let catcher = TestCatcher::with_tls(config, &certs).unwrap();
    let port = catcher.tls_forward_addr().unwrap().port();
    let out = fluent_tests::node_client(port, "node-key", Some(("fluent", "s3cret pass")), 50, Some(&files.ca));
    fluent_tests::assert_node_client_delivered(&out, &catcher, 50);
    let tls_connections = catcher.wait_for_connections(1, Duration::from_secs(10));
    assert!(tls_connections.iter().any(|c| c.listener == fluent_catcher::Listener::ForwardTls));
}
