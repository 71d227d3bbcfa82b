//! The senders' shared-key handshake (and user authentication) against
//! real servers: this project's catcher and npm's `@fluent-org/logger`
//! `FluentServer`. With the right credentials every event arrives; with a
//! wrong key or password, or a server that does not speak the handshake,
//! nothing is written to the connection and the error says why.

use std::io::{BufReader, Lines};
use std::process::{Child, ChildStdout};
use std::time::{Duration, Instant};

use fluent_catcher::{Config, TestCatcher};
use fluent_std::{AsyncSender, SendError, Sender};
use fluent_tests::node_forward_server;

fn record(n: u64) -> std::collections::BTreeMap<&'static str, u64> {
    std::collections::BTreeMap::from([("n", n)])
}

fn secured_catcher() -> TestCatcher {
    TestCatcher::with_config(Config::default().shared_key("the key").hostname("catcher.test").user("fluent", "pw 1"))
        .unwrap()
}

fn async_sender(port: u16, key: &str, password: &str) -> AsyncSender {
    AsyncSender::builder("hs")
        .sender(|s| {
            s.host("127.0.0.1")
                .port(port)
                .timeout(Duration::from_millis(500))
                .shared_key(key)
                .self_hostname("sender.test")
                .user("fluent", password)
        })
        .require_ack_response(true)
        .build()
}

#[test]
fn both_senders_pass_the_catchers_handshake_with_the_right_credentials() {
    let catcher = secured_catcher();
    let port = catcher.forward_addr().port();
    let sync = Sender::builder("hs")
        .host("127.0.0.1")
        .port(port)
        .shared_key("the key")
        .self_hostname("sender.test")
        .user("fluent", "pw 1")
        .build();
    for n in 0..10 {
        sync.emit("sync", &record(n)).unwrap();
    }
    let sender = async_sender(port, "the key", "pw 1");
    for n in 0..1_000 {
        sender.emit("async", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!((stats.acked, stats.connection_errors), (1_000, 0), "{stats:?}");
    drop(sync);
    let events = catcher.wait_for_events(1_010, Duration::from_secs(20));
    assert_eq!(events.len(), 1_010);
}

/// Waits until the sender reports a connection error; its last error.
fn first_error(sender: &AsyncSender) -> SendError {
    sender.emit("x", &record(0)).unwrap();
    let started = Instant::now();
    while sender.stats().connection_errors == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no error: {:?}", sender.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    sender.last_error().expect("an error")
}

#[test]
fn a_wrong_key_or_password_is_a_handshake_error_and_nothing_is_written() {
    let catcher = secured_catcher();
    let port = catcher.forward_addr().port();
    for (key, password) in [("wrong key", "pw 1"), ("the key", "wrong")] {
        let sender = async_sender(port, key, password);
        let error = first_error(&sender);
        assert!(
            matches!(&error, SendError::Handshake(reason) if reason.contains("refused")),
            "{key}/{password}: {error}"
        );
        let text = error.to_string();
        assert!(!text.contains(key) && !text.contains(password), "no secret in the error: {text}");
        let stats = sender.close_with(false, Duration::ZERO);
        assert_eq!(stats.sent, 0, "{stats:?}");
    }
    assert_eq!(catcher.stop().events_written, 0);
}

#[test]
fn a_server_without_the_handshake_is_an_error_not_a_silent_write() {
    // A catcher with no shared key waits for events and never greets.
    let catcher = TestCatcher::start().unwrap();
    let sender = async_sender(catcher.forward_addr().port(), "the key", "pw 1");
    let error = first_error(&sender);
    assert!(matches!(&error, SendError::Handshake(r) if r.contains("no handshake")), "{error}");
    sender.close_with(false, Duration::ZERO);
    assert_eq!(catcher.stop().events_written, 0);
}

fn node_server() -> (Child, Lines<BufReader<ChildStdout>>, u16) {
    node_forward_server(&[])
}

#[test]
fn the_async_sender_passes_the_node_servers_handshake() {
    let (mut server, mut lines, port) = node_server();
    let sender = AsyncSender::builder("hs")
        .sender(|s| {
            s.host("127.0.0.1").port(port).shared_key("node key").self_hostname("sender.test").user("fluent", "pw 2")
        })
        .build();
    for n in 0..100 {
        sender.emit("node", &record(n)).unwrap();
    }
    let stats = sender.close_with(true, Duration::from_secs(20));
    assert_eq!((stats.sent, stats.connection_errors), (100, 0), "{stats:?}");
    let mut ns = Vec::new();
    for line in lines.by_ref().take(100) {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(event["tag"], "hs.node");
        ns.push(event["record"]["n"].as_u64().unwrap());
    }
    assert_eq!(ns, (0..100).collect::<Vec<_>>());
    drop(server.stdin.take());
    let _ = server.wait();
}

#[test]
fn the_node_server_refuses_a_wrong_key_and_the_sender_says_so() {
    let (mut server, lines, port) = node_server();
    for (key, password) in [("wrong key", "pw 2"), ("node key", "wrong")] {
        let sender = async_sender(port, key, password);
        let error = first_error(&sender);
        // "shared key mismatch", "username/password mismatch": the node
        // server's PONG reason, passed on.
        assert!(
            matches!(&error, SendError::Handshake(r) if r.contains("refused") && r.contains("mismatch")),
            "{error}"
        );
        let stats = sender.close_with(false, Duration::ZERO);
        assert_eq!(stats.sent, 0, "{stats:?}");
    }
    drop(server.stdin.take());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.is_empty(), "the node server received events: {rest:?}");
    let _ = server.wait();
}
