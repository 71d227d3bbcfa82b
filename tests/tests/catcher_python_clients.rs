//! The catcher receives real Python clients: fluent-logger's sync sender
//! (integer and nanosecond time), its async sender, and the stdlib
//! `logging.handlers.SocketHandler`. Every event arrives intact.

use std::process::Command;
use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_proto::{EventTime, Timestamp};
use fluent_tests::{py_dir, python, require_python_modules, run};

#[test]
fn python_clients_events_all_arrive_intact() {
    require_python_modules(&["fluent", "msgpack"]);
    let catcher = TestCatcher::start().unwrap();
    let stdout = run(Command::new(python())
        .arg(py_dir().join("catcher_clients.py"))
        .arg(catcher.forward_addr().port().to_string())
        .arg(catcher.pickle_addr().port().to_string()));
    let sent: Vec<serde_json::Value> =
        String::from_utf8(stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let forward_sent: Vec<_> = sent.iter().filter(|l| l["client"] != "sockethandler").collect();
    let total = forward_sent.len() + 50;
    let events = catcher.wait_for_events(total, Duration::from_secs(30));
    assert_eq!(events.len(), total);

    // Forward clients: exact tag, time and record, each client's in the
    // order it sent them (connections are served concurrently, so clients
    // interleave in the file).
    let mut forward: Vec<_> = events.iter().filter(|e| !e.tag.starts_with("py.logging")).collect();
    forward.sort_by_key(|e| ["py.sync.int", "py.nano.evt", "py.async.bulk"].iter().position(|t| *t == e.tag));
    assert_eq!(forward.len(), forward_sent.len());
    for (got, want) in forward.iter().zip(&forward_sent) {
        assert_eq!(got.tag, want["tag"]);
        let time = match &want["time"] {
            serde_json::Value::Array(p) => {
                Timestamp::Event(EventTime::new(p[0].as_u64().unwrap() as u32, p[1].as_u64().unwrap() as u32))
            }
            t => Timestamp::Seconds(t.as_u64().unwrap()),
        };
        assert_eq!(got.time, time, "{}", want["tag"]);
        assert_eq!(serde_json::Value::Object(got.record.clone()), want["record"], "{}", want["tag"]);
    }

    // SocketHandler: the LogRecord's fields, tag from the logger name,
    // time from `created` (converted as fluent-logger-python converts).
    let logged: Vec<_> = events.iter().filter(|e| e.tag == "py.logging").collect();
    assert_eq!(logged.len(), 50);
    for (i, e) in logged.iter().enumerate() {
        let r = &e.record;
        assert_eq!(r["msg"], format!("record {i} of fifty"));
        assert_eq!((&r["levelname"], &r["levelno"], &r["name"]), (&"WARNING".into(), &30.into(), &"py.logging".into()));
        assert_eq!((&r["seq"], &r["user"], &r["tags"]), (&i.into(), &"ada".into(), &serde_json::json!(["a", "b"])));
        assert_eq!(r["args"], serde_json::Value::Null, "SocketHandler merges args into msg");
        let created = r["created"].as_f64().unwrap();
        assert_eq!(e.time, Timestamp::Event(EventTime::from_f64(created).unwrap()));
    }
    let connections = catcher.wait_for_connections(4, Duration::from_secs(10));
    let pickle = connections.iter().find(|c| c.listener == fluent_catcher::Listener::SocketHandler).unwrap();
    assert_eq!(pickle.events, 50);
    let stats = catcher.stop();
    assert_eq!(stats.events_rejected, 0);
    assert!(stats.rejected.is_empty(), "{:?}", stats.rejected);
}

#[test]
fn hostile_pickle_runs_nothing_and_other_clients_are_unaffected() {
    require_python_modules(&["fluent"]);
    let catcher = TestCatcher::start().unwrap();
    let marker = std::env::temp_dir().join(format!("fluent-catcher-pwned-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let script = format!(
        r#"
import logging, logging.handlers, os, pickle, socket, struct
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
payload = pickle.dumps({{"name": "evil", "msg": Evil()}}, 1)
bad = socket.create_connection(("127.0.0.1", {port}))
handler = logging.handlers.SocketHandler("127.0.0.1", {port})
log = logging.getLogger("good")
log.propagate = False
log.addHandler(handler)
log.error("before")
bad.sendall(struct.pack(">L", len(payload)) + payload)
assert bad.recv(1) == b"", "the hostile connection is closed"
log.error("after")
handler.close()
"#,
        marker = marker.display(),
        port = catcher.pickle_addr().port()
    );
    run(Command::new(python()).args(["-c", &script]));
    let events = catcher.wait_for_events(2, Duration::from_secs(20));
    let msgs: Vec<_> = events.iter().map(|e| e.record["msg"].as_str().unwrap().to_owned()).collect();
    assert_eq!(msgs, ["before", "after"]);
    assert!(!marker.exists(), "the pickle's code never ran");
    assert_eq!(catcher.stats().rejected.get("pickle"), Some(&1));
}
