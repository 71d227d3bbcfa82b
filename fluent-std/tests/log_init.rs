//! `handler::try_init` as env_logger users expect it: `RUST_LOG` in the
//! directive syntax (`warn,db=trace`), `FLUENT_HOST`/`FLUENT_PORT`, EventTime
//! times like the tracing layer, an error (not a panic) when a logger is
//! already installed. The environment is set for a child run of this same
//! test (setting it in-process is unsafe).

use std::process::Command;
use std::time::Duration;

use fluent_catcher::TestCatcher;

const CHILD: &str = "FLUENT_LOG_INIT_CHILD";

#[test]
fn try_init_reads_rust_log_directives_and_sends_event_time() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let catcher = TestCatcher::start().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "try_init_reads_rust_log_directives_and_sends_event_time", "--nocapture"])
        .env(CHILD, "1")
        .env("FLUENT_HOST", "127.0.0.1")
        .env("FLUENT_PORT", catcher.forward_addr().port().to_string())
        .env("RUST_LOG", "warn,db=trace")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = catcher.wait_for_events(2, Duration::from_secs(10));
    let messages: Vec<&str> = events.iter().map(|e| e.record["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["db detail", "web warning"]);
    assert!(events.iter().all(|e| matches!(e.time, fluent_std::Timestamp::Event(_))), "EventTime, as the layer");
}

fn child() {
    let handler = fluent_std::handler::try_init("svc").expect("first install");
    let guard = handler.guard();
    log::info!(target: "web", "web info: filtered out by warn");
    log::debug!(target: "db", "db detail");
    log::warn!(target: "web", "web warning");
    log::debug!(target: "cache", "cache detail: filtered out by warn");
    assert!(fluent_std::handler::try_init("again").is_err(), "an error, not a panic");
    drop(guard);
}
