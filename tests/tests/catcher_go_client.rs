//! The catcher receives fluent-logger-golang with `RequestAck` on: each
//! `Post` waits for the catcher's ack, so the Go program exiting cleanly
//! means every ack was accepted; every event arrives intact.

use std::process::Command;
use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_proto::{EventTime, Timestamp};
use fluent_tests::{build_go_program, run};

const PROGRAM: &str = r#"package main

import (
	"os"
	"strconv"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
)

func main() {
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		panic(err)
	}
	logger, err := fluent.New(fluent.Config{FluentHost: "127.0.0.1", FluentPort: port, RequestAck: true, SubSecondPrecision: true, Timeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 100; i++ {
		record := map[string]interface{}{"seq": i, "msg": "from go", "nested": map[string]interface{}{"ok": true}, "list": []interface{}{1, "two"}}
		if err := logger.PostWithTime("go.acked", time.Unix(1490061367, int64(i)), record); err != nil {
			panic(err)
		}
	}
	if err := logger.Close(); err != nil {
		panic(err)
	}
}
"#;

#[test]
fn go_client_with_request_ack_gets_every_ack_and_every_event_arrives() {
    let binary = build_go_program("catcher_ack", PROGRAM);
    let catcher = TestCatcher::start().unwrap();
    run(Command::new(&binary).arg(catcher.forward_addr().port().to_string()));
    let events = catcher.wait_for_events(100, Duration::from_secs(20));
    assert_eq!(events.len(), 100);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.tag, "go.acked");
        assert_eq!(e.time, Timestamp::Event(EventTime::new(1_490_061_367, i as u32)));
        assert_eq!(
            serde_json::Value::Object(e.record.clone()),
            serde_json::json!({"seq": i, "msg": "from go", "nested": {"ok": true}, "list": [1, "two"]})
        );
    }
    let acks = catcher.acks();
    assert_eq!(acks.len(), 100, "one ack per request");
    assert_eq!(acks.iter().collect::<std::collections::HashSet<_>>().len(), 100, "chunk ids are unique");
}
