//! TLS on both senders against the catcher's TLS listener: certificates
//! checked (CA, name, client certificates), the shared key inside TLS,
//! failures reported as `SendError::Tls` with nothing delivered, and
//! deadlines kept while a TLS handshake hangs.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use fluent_catcher::{Config, TestCatcher, TestCertificates};
use fluent_std::{AsyncSender, SendError, Sender, TlsConfig};

fn trusting(certs: &TestCertificates) -> TlsConfig {
    TlsConfig::builder().ca_pem(certs.ca_pem()).build().expect("tls config")
}

fn record(i: usize) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([("n", i)])
}

fn sync_sender(port: u16, tls: TlsConfig) -> Sender {
    Sender::builder("tls")
        .host("127.0.0.1")
        .port(port)
        .tls(tls)
        .timeout(Duration::from_secs(5))
        .reconnect_backoff(Duration::ZERO, Duration::ZERO)
        .build()
}

fn async_sender(port: u16, tls: TlsConfig, ack: bool) -> AsyncSender {
    AsyncSender::builder("tls")
        .sender(|s| {
            s.host("127.0.0.1")
                .port(port)
                .tls(tls)
                .shared_key("key")
                .self_hostname("tls-client")
                .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(50))
        })
        .require_ack_response(ack)
        .build()
}

fn tls_port(catcher: &TestCatcher) -> u16 {
    catcher.tls_forward_addr().expect("tls listener").port()
}

#[test]
fn the_sync_sender_delivers_over_tls_to_a_trusted_server() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let sender = sync_sender(tls_port(&catcher), trusting(&certs));
    for i in 0..50 {
        sender.emit("event", &record(i)).expect("emit over TLS");
    }
    let events = catcher.wait_for_events(50, Duration::from_secs(20));
    assert_eq!(events.len(), 50);
    assert_eq!(events[49].record["n"], 49);
    let tls = catcher.connections().into_iter().filter(|c| c.listener == fluent_catcher::Listener::ForwardTls).count();
    assert_eq!(tls, 0, "the connection is still open");
}

#[test]
fn the_async_sender_delivers_a_large_burst_with_acks_and_the_shared_key_inside_tls() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default().shared_key("key"), &certs).unwrap();
    let sender = async_sender(tls_port(&catcher), trusting(&certs), true);
    let n = 20_000;
    let pad = "x".repeat(200);
    for i in 0..n {
        let mut r = BTreeMap::from([("n", i.to_string())]);
        r.insert("pad", pad.clone());
        sender.emit("burst", &r).unwrap();
    }
    assert!(sender.flush(Duration::from_secs(60)), "flush: {:?} {:?}", sender.stats(), sender.last_error());
    let stats = sender.close_with(true, Duration::from_secs(5));
    assert_eq!(stats.acked, n as u64, "{stats:?}");
    assert_eq!(stats.connection_errors, 0, "{stats:?}");
    assert_eq!(catcher.wait_for_events(n, Duration::from_secs(30)).len(), n);
}

#[test]
fn the_async_sender_without_acks_delivers_every_event_over_tls() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default().shared_key("key"), &certs).unwrap();
    let sender = async_sender(tls_port(&catcher), trusting(&certs), false);
    let n = 100_000;
    for i in 0..n {
        sender.emit("burst", &record(i)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(60));
    assert_eq!(stats.sent, n as u64, "{stats:?}");
    assert_eq!(catcher.wait_for_events(n, Duration::from_secs(30)).len(), n);
}

#[test]
fn an_untrusted_certificate_is_a_tls_error_and_nothing_is_delivered() {
    let certs = TestCertificates::generate().unwrap();
    let other = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let sender = sync_sender(tls_port(&catcher), trusting(&other));
    let err = sender.emit("event", &record(1)).unwrap_err();
    let SendError::Tls(reason) = &err else { panic!("expected a TLS error, got {err:?}") };
    assert!(reason.contains("invalid peer certificate"), "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");

    let sender = async_sender(tls_port(&catcher), trusting(&other), false);
    sender.emit("event", &record(2)).unwrap();
    let stats = sender.close_with(true, Duration::from_millis(500));
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert!(stats.connection_errors >= 1, "{stats:?}");
    assert!(matches!(sender.last_error(), Some(SendError::Tls(_))), "{:?}", sender.last_error());
    assert_eq!(catcher.events().len(), 0);
}

#[test]
fn the_certificate_must_name_the_host_unless_a_server_name_is_given() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let port = tls_port(&catcher);
    let wrong = TlsConfig::builder().ca_pem(certs.ca_pem()).server_name("aggregator.example").build().unwrap();
    let err = sync_sender(port, wrong).emit("event", &record(1)).unwrap_err();
    assert!(matches!(&err, SendError::Tls(r) if r.contains("not valid for name")), "{err:?}");
    // The certificate names localhost: connecting by address with that name.
    let right = TlsConfig::builder().ca_pem(certs.ca_pem()).server_name("localhost").build().unwrap();
    sync_sender(port, right).emit("event", &record(2)).expect("named server");
    assert_eq!(catcher.wait_for_events(1, Duration::from_secs(10)).len(), 1);
}

#[test]
fn insecure_skip_verify_accepts_an_untrusted_certificate() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let insecure = TlsConfig::builder().insecure_skip_verify().build().unwrap();
    sync_sender(tls_port(&catcher), insecure).emit("event", &record(1)).expect("insecure");
    assert_eq!(catcher.wait_for_events(1, Duration::from_secs(10)).len(), 1);
}

#[test]
fn a_server_requiring_client_certificates_refuses_senders_without_one() {
    let certs = TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-tls-mutual-{}", std::process::id()));
    let files = certs.write_to(&dir).unwrap();
    let tls = certs.server_tls().unwrap().require_client_certs(&files.ca).unwrap();
    let catcher = TestCatcher::with_config(Config::default().tls_forward("127.0.0.1:0".parse().unwrap(), tls)).unwrap();
    let port = tls_port(&catcher);

    // Without a certificate: in ack mode nothing is acked, and the server's
    // refusal is the error.
    let sender = AsyncSender::builder("tls")
        .sender(|s| s.host("127.0.0.1").port(port).tls(trusting(&certs)))
        .require_ack_response(true)
        .build();
    sender.emit("event", &record(1)).unwrap();
    let stats = sender.close_with(true, Duration::from_secs(1));
    assert_eq!(stats.acked, 0, "{stats:?}");
    let err = sender.last_error();
    assert!(matches!(&err, Some(SendError::Tls(r)) if r.contains("CertificateRequired")), "{err:?}");

    let with_cert = TlsConfig::builder()
        .ca_file(&files.ca)
        .client_cert_files(&files.client_cert, &files.client_key)
        .build()
        .unwrap();
    let sender = AsyncSender::builder("tls")
        .sender(|s| s.host("127.0.0.1").port(port).tls(with_cert))
        .require_ack_response(true)
        .build();
    sender.emit("event", &record(2)).unwrap();
    let stats = sender.close_with(true, Duration::from_secs(10));
    assert_eq!(stats.acked, 1, "{stats:?}");
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].record["n"], 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_plain_client_on_the_tls_port_delivers_nothing_and_the_catcher_carries_on() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let port = tls_port(&catcher);
    let plain = Sender::builder("plain").host("127.0.0.1").port(port).build();
    let _ = plain.emit("event", &record(1));
    plain.close();
    let closed = catcher.wait_for_connections(1, Duration::from_secs(10));
    assert_eq!(closed.len(), 1);
    assert!(closed[0].close_reason.is_some(), "{:?}", closed[0]);
    sync_sender(port, trusting(&certs)).emit("event", &record(2)).unwrap();
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].record["n"], 2);
}

#[test]
fn a_server_that_never_answers_the_tls_handshake_does_not_hold_close_past_its_deadline() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let insecure = TlsConfig::builder().insecure_skip_verify().build().unwrap();
    let sender = AsyncSender::builder("tls")
        .sender(|s| s.host("127.0.0.1").port(port).tls(insecure).timeout(Duration::from_millis(300)))
        .build();
    for i in 0..100 {
        sender.emit("event", &record(i)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        matches!(&sender.last_error(), Some(SendError::Tls(r)) if r.contains("no TLS handshake")),
        "{:?}",
        sender.last_error()
    );
    let started = Instant::now();
    let stats = sender.close_with(true, Duration::from_millis(500));
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.unsent_at_close + stats.dropped_buffer, 100, "{stats:?}");
    drop(silent);
}
