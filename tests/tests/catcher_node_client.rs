//! The catcher's handshake against a real peer, npm's `@fluent-org/logger`
//! client, with `security: {clientHostname, sharedKey, username,
//! password}`: with the right credentials every event is acked and
//! written; with a wrong password or key the client is refused with a
//! `PONG false` and nothing is written.

use fluent_catcher::{Config, TestCatcher};
use fluent_tests::{node_client, require_node};

fn secured() -> TestCatcher {
    let config = Config::default().shared_key("node-key").hostname("catcher.test").user("fluent", "s3cret pass");
    TestCatcher::with_config(config).unwrap()
}

#[test]
fn the_node_client_passes_the_shared_key_and_user_handshake() {
    require_node();
    let catcher = secured();
    let out = node_client(catcher.forward_addr().port(), "node-key", Some(("fluent", "s3cret pass")), 50, None);
    let events = fluent_tests::assert_node_client_delivered(&out, &catcher, 50);
    assert!(events.iter().all(|e| e.tag == "node.event" && e.record["text"] == "from node"));
    assert_eq!(catcher.stats().acks_sent, 50);
}

#[test]
fn the_node_client_is_refused_with_a_wrong_password_or_key() {
    require_node();
    let catcher = secured();
    let port = catcher.forward_addr().port();
    for (key, user) in [("node-key", ("fluent", "wrong")), ("wrong-key", ("fluent", "s3cret pass"))] {
        let out = node_client(port, key, Some(user), 1, None);
        assert!(!out.status.success(), "{key} / {user:?} was admitted: {}", String::from_utf8_lossy(&out.stdout));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("refused"), "a PONG false, not another failure: {stderr}");
    }
    let stats = catcher.stop();
    assert_eq!(stats.events_written, 0);
    assert!(stats.rejected.get("handshake").copied().unwrap_or(0) >= 2, "{:?}", stats.rejected);
}
