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
# The refused record is skipped by its length: the same connection goes on.
plain = pickle.dumps({{"name": "bad-conn", "msg": "same connection", "levelname": "INFO"}}, 1)
bad.sendall(struct.pack(">L", len(plain)) + plain)
bad.close()
log.error("after")
handler.close()
"#,
        marker = marker.display(),
        port = catcher.pickle_addr().port()
    );
    run(Command::new(python()).args(["-c", &script]));
    let events = catcher.wait_for_events(3, Duration::from_secs(20));
    let mut msgs: Vec<_> = events.iter().map(|e| e.record["msg"].as_str().unwrap().to_owned()).collect();
    msgs.sort();
    assert_eq!(msgs, ["after", "before", "same connection"]);
    assert!(!marker.exists(), "the pickle's code never ran");
    assert_eq!(catcher.stats().rejected.get("pickle"), Some(&1));
}

#[test]
fn socket_handler_records_with_datetime_uuid_and_tz_extras_and_protocol_0_text_arrive() {
    require_python_modules(&["fluent"]);
    let catcher = TestCatcher::start().unwrap();
    let script = format!(
        r#"
import datetime, decimal, logging, logging.handlers, pickle, socket, struct, uuid
handler = logging.handlers.SocketHandler("127.0.0.1", {port})
log = logging.getLogger("py.extras")
log.propagate = False
log.addHandler(handler)
log.error("with extras", extra={{"when": datetime.datetime(2026, 12, 6, 4, 5, 6, 789),
    "day": datetime.date(2026, 2, 28), "took": datetime.timedelta(seconds=90), "price": decimal.Decimal("1.10"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "at": datetime.datetime(2026, 12, 6, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=-8))),
    "utc": datetime.datetime(2026, 12, 6, 12, 5, 6, tzinfo=datetime.timezone.utc)}})
log.error("plain after")
handler.close()
raw = socket.create_connection(("127.0.0.1", {port}))
text = pickle.dumps({{"name": "py.proto0", "msg": "café ☕", "levelname": "INFO"}}, 0)
raw.sendall(struct.pack(">L", len(text)) + text)
raw.close()
"#,
        port = catcher.pickle_addr().port()
    );
    run(Command::new(python()).args(["-c", &script]));
    let events = catcher.wait_for_events(3, Duration::from_secs(20));
    let find =
        |msg: &str| events.iter().find(|e| e.record["msg"] == msg).unwrap_or_else(|| panic!("{msg}: {events:?}"));
    let extras = &find("with extras").record;
    assert_eq!(extras["when"], "2026-12-06T04:05:06.000789");
    assert_eq!(extras["day"], "2026-02-28");
    assert_eq!(extras["took"], "0:01:30");
    assert_eq!(extras["price"], "1.10");
    assert_eq!(extras["id"], "12345678-1234-5678-1234-567812345678");
    assert_eq!(extras["at"], "2026-12-06T04:05:06-08:00");
    assert_eq!(extras["utc"], "2026-12-06T12:05:06+00:00");
    find("plain after");
    assert_eq!(find("café ☕").tag, "py.proto0");
    assert_eq!(catcher.stop().events_rejected, 0);
}
