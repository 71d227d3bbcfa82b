//! The reference suite's handler scenarios (PARITY.md, "handler" and
//! "async handler"), translated to `log`, against the log catcher decoding
//! every event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_std::handler::{FluentHandler, FluentRecordFormatter, FormatStyle, HandlerError, TemplateError};
use fluent_std::{AsyncSender, Sender};
use log::{Level, LevelFilter, Log};
use serde_json::{Map, Value, json};

mod common;

const WAIT: Duration = Duration::from_secs(20);

fn sync_handler(catcher: &TestCatcher, formatter: FluentRecordFormatter) -> FluentHandler {
    log::set_max_level(LevelFilter::Trace);
    let sender = Sender::builder("app.log").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    FluentHandler::new(sender).formatter(formatter)
}

fn async_handler(catcher: &TestCatcher, formatter: FluentRecordFormatter) -> FluentHandler {
    log::set_max_level(LevelFilter::Trace);
    let sender =
        AsyncSender::builder("app.log").sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port())).build();
    FluentHandler::new(sender).formatter(formatter)
}

/// The one record that arrived.
fn only(catcher: &TestCatcher) -> Map<String, Value> {
    let events = catcher.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].tag, "app.log");
    events[0].record.clone()
}

#[test]
fn default_fields_and_key_values() {
    for make in [sync_handler, async_handler] {
        let catcher = TestCatcher::start().unwrap();
        let handler = make(&catcher, FluentRecordFormatter::new());
        log::info!(logger: handler, user = "ada", attempts = 3, ok = true; "logged in");
        handler.flush();
        let r = only(&catcher);
        assert_eq!(r["sys_host"], gethostname());
        assert_eq!(r["sys_name"], module_path!(), "target defaults to the module path");
        assert_eq!(r["sys_module"], module_path!());
        assert_eq!((&r["level"], &r["file"]), (&json!("INFO"), &json!(file!())));
        assert!(r["line"].as_u64().unwrap() > 0);
        assert_eq!((&r["user"], &r["attempts"], &r["ok"]), (&json!("ada"), &json!(3), &json!(true)));
        assert_eq!(r["message"], "logged in");
    }
}

fn gethostname() -> String {
    std::process::Command::new("hostname")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap()
}

#[test]
fn custom_fmt_with_name_lineno_and_asctime() {
    let catcher = TestCatcher::start().unwrap();
    let formatter = FluentRecordFormatter::new().fmt([
        ("name", "%(name)s"),
        ("lineno", "%(lineno)d"),
        ("emitted_at", "%(asctime)s"),
    ]);
    let handler = sync_handler(&catcher, formatter);
    log::warn!(logger: handler, target: "app.db", "slow");
    let r = only(&catcher);
    assert_eq!(r["name"], "app.db");
    assert!(r["lineno"].as_str().unwrap().parse::<u32>().unwrap() > 0);
    let asctime = r["emitted_at"].as_str().unwrap();
    assert_eq!(asctime.len(), "2026-11-21 22:40:33,123".len(), "{asctime}");
    assert!(!r.contains_key("sys_host"), "custom fields replace the defaults");
    assert_eq!(r["message"], "slow");
}

#[test]
fn three_format_styles() {
    for (style, template) in [
        (FormatStyle::Percent, "%(levelname)s:%(name)s"),
        (FormatStyle::Brace, "{levelname}:{name}"),
        (FormatStyle::Dollar, "${levelname}:$name"),
    ] {
        let catcher = TestCatcher::start().unwrap();
        let handler = sync_handler(&catcher, FluentRecordFormatter::new().fmt([("where", template)]).style(style));
        log::error!(logger: handler, target: "svc", "boom");
        assert_eq!(only(&catcher)["where"], "ERROR:svc", "{style:?}");
    }
}

#[test]
fn exclude_attrs_with_and_without_exclusions_and_with_extra_fields() {
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new().exclude_attrs(Vec::<String>::new()));
    log::info!(logger: handler, "all");
    let all = only(&catcher);
    for attr in [
        "name",
        "levelname",
        "levelno",
        "module",
        "pathname",
        "filename",
        "lineno",
        "msg",
        "created",
        "thread",
        "process",
    ] {
        assert!(all.contains_key(attr), "{attr} in {all:?}");
    }

    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new().exclude_attrs(["created", "thread", "process"]));
    log::info!(logger: handler, request_id = 9; "some");
    let some = only(&catcher);
    assert!(!some.contains_key("created") && !some.contains_key("thread") && !some.contains_key("process"));
    assert_eq!(
        (&some["levelname"], &some["request_id"], &some["message"]),
        (&json!("INFO"), &json!(9), &json!("some"))
    );
}

#[test]
fn function_fmt() {
    let catcher = TestCatcher::start().unwrap();
    let formatter = FluentRecordFormatter::new()
        .fmt_fn(|a| Map::from_iter([("lvl".to_owned(), a.get("levelno").unwrap()), ("custom".to_owned(), json!("x"))]));
    let handler = sync_handler(&catcher, formatter);
    log::debug!(logger: handler, "fn");
    let r = only(&catcher);
    assert_eq!((&r["lvl"], &r["custom"], &r["message"]), (&json!(10), &json!("x"), &json!("fn")));
}

#[test]
fn missing_key_is_an_error_or_null() {
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new().fmt([("x", "%(no_such_attr)s")]));
    let record = log::Record::builder().level(Level::Info).args(format_args!("lost")).build();
    assert_eq!(handler.handle(&record), Err(HandlerError::Format(TemplateError::MissingKey("no_such_attr".into()))));
    assert_eq!(handler.format_errors(), 1);
    assert!(handler.last_error().is_some());

    let handler = sync_handler(
        &catcher,
        FluentRecordFormatter::new().fmt([("x", "%(no_such_attr)s")]).fill_missing_fmt_key(true),
    );
    log::info!(logger: handler, "kept");
    let r = only(&catcher);
    assert_eq!((&r["x"], &r["message"]), (&Value::Null, &json!("kept")));
}

#[test]
fn json_object_message_merged_or_kept_raw() {
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new());
    log::info!(logger: handler, r#"{{"key": "value", "n": [1, 2]}}"#);
    let r = only(&catcher);
    assert_eq!((&r["key"], &r["n"]), (&json!("value"), &json!([1, 2])));
    assert!(!r.contains_key("message"));

    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new().format_json(false));
    log::info!(logger: handler, r#"{{"key": "value"}}"#);
    let r = only(&catcher);
    assert_eq!(r["message"], r#"{"key": "value"}"#);
    assert!(!r.contains_key("key"));
}

#[test]
fn interpolation_and_non_object_messages_stay_under_message() {
    for (text, expected) in
        [("hello world", "hello world"), ("123", "123"), ("[1, 2]", "[1, 2]"), ("{not json", "{not json")]
    {
        let catcher = TestCatcher::start().unwrap();
        let handler = sync_handler(&catcher, FluentRecordFormatter::new());
        log::info!(logger: handler, "{}", text);
        assert_eq!(only(&catcher)["message"], expected);
    }
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new());
    log::info!(logger: handler, "hello {}", "world");
    assert_eq!(only(&catcher)["message"], "hello world");
}

#[derive(Debug)]
struct Outer(std::io::Error);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("saving the order failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn error_key_value_carries_its_chain_into_the_message() {
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new());
    let err = Outer(std::io::Error::other("disk full"));
    log::error!(logger: handler, err:err = err; "order 42");
    let r = only(&catcher);
    assert_eq!(r["message"], "order 42\nerr: saving the order failed\nCaused by: disk full");
    assert_eq!(r["err"], "saving the order failed");
}

#[test]
fn level_filter_applies_to_log_calls() {
    let catcher = TestCatcher::start().unwrap();
    let handler = sync_handler(&catcher, FluentRecordFormatter::new()).level(LevelFilter::Warn);
    log::info!(logger: handler, "dropped by the filter");
    log::warn!(logger: handler, "sent");
    assert_eq!(only(&catcher)["message"], "sent");
}

#[test]
fn async_circular_queue_of_three_delivers_at_least_three_and_never_blocks() {
    let catcher = TestCatcher::start().unwrap();
    log::set_max_level(LevelFilter::Trace);
    let sender = AsyncSender::builder("app.log")
        .sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port()))
        .queue_maxsize(3)
        .queue_circular(true)
        .build();
    let handler = FluentHandler::new(sender);
    for i in 0..5 {
        let result = handler.handle(&log::Record::builder().level(Level::Info).args(format_args!("{i}")).build());
        assert_eq!(result, Ok(()), "circular emits always succeed");
    }
    handler.close();
    assert!(catcher.wait_for_events(3, WAIT).len() >= 3);
}

#[test]
fn a_panicking_overflow_handler_does_not_crash_the_program() {
    log::set_max_level(LevelFilter::Trace);
    // No server at all: everything ends at the overflow handler at close.
    let sender = AsyncSender::builder("app.log")
        .sender(|s| s.host("unix:///nonexistent/fluent-test.sock"))
        .queue_maxsize(3)
        .queue_circular(true)
        .queue_overflow_handler(|_| panic!("overflow handler failure"))
        .close_timeout(Duration::from_millis(100))
        .build();
    let handler = FluentHandler::new(sender);
    for i in 0..10 {
        log::info!(logger: handler, "{i}");
    }
    handler.close();
    let fluent_std::RecordSender::Async(s) = handler.sender() else { panic!("built over an AsyncSender") };
    let stats = s.stats();
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.dropped_queue + stats.unsent_at_close, 10, "every record is accounted for: {stats:?}");
}

#[test]
fn logging_from_many_threads_during_shutdown_loses_nothing_accepted() {
    let catcher = TestCatcher::start().unwrap();
    let handler = Arc::new(async_handler(&catcher, FluentRecordFormatter::new()));
    let accepted = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let handler = handler.clone();
            let accepted = accepted.clone();
            std::thread::spawn(move || {
                for i in 0..u64::MAX {
                    match handler
                        .handle(&log::Record::builder().level(Level::Info).args(format_args!("t{t} {i}")).build())
                    {
                        Ok(()) => accepted.fetch_add(1, Ordering::Relaxed),
                        Err(HandlerError::Send(fluent_std::SendError::Closed)) => return,
                        Err(e) => panic!("{e}"),
                    };
                }
            })
        })
        .collect();
    while accepted.load(Ordering::Relaxed) < 20_000 {
        std::thread::sleep(Duration::from_millis(1));
    }
    handler.close(); // what `fluent_std::handler::shutdown` does
    for t in threads {
        t.join().unwrap();
    }
    let accepted = accepted.load(Ordering::Relaxed) as usize;
    let events = catcher.wait_for_events(accepted, WAIT);
    assert_eq!(events.len(), accepted, "every record accepted before close arrived");
    assert!(handler.send_errors() >= 1, "records after close are refused and counted");
}

#[test]
fn pythons_documented_template_with_hostname_and_serde_values() {
    // fluent-logger-python's README example template.
    let catcher = TestCatcher::start().unwrap();
    let formatter = FluentRecordFormatter::new().fmt([
        ("host", "%(hostname)s"),
        ("where", "%(module)s.%(funcName)s"),
        ("type", "%(levelname)s"),
        ("process", "%(processName)s"),
    ]);
    let handler = sync_handler(&catcher, formatter);
    #[derive(serde::Serialize)]
    struct Order {
        id: u32,
        items: Vec<&'static str>,
    }
    let order = Order { id: 7, items: vec!["tea", "cake"] };
    let kvs: [(&str, log::kv::Value<'_>); 2] =
        [("order", log::kv::Value::from_serde(&order)), ("tags", log::kv::Value::from_debug(&["a", "b"]))];
    let record = log::Record::builder()
        .level(Level::Info)
        .module_path(Some("svc"))
        .key_values(&kvs)
        .args(format_args!("placed"))
        .build();
    handler.handle(&record).unwrap();
    let got = only(&catcher);
    assert_eq!(got["host"], json!(gethostname()));
    assert_eq!(got["where"], json!("svc.None"), "no function name in `log`: None, as Python prints it");
    assert_eq!(got["type"], json!("INFO"));
    assert_eq!(got["process"], json!("MainProcess"));
    assert_eq!(got["order"], json!({"id": 7, "items": ["tea", "cake"]}), "a :serde value keeps its structure");
    assert_eq!(got["tags"], json!("[\"a\", \"b\"]"), "a ? (Debug) value is its Debug text");
}

#[test]
fn tee_writes_a_console_line_for_each_record_it_sends() {
    let catcher = TestCatcher::start().unwrap();
    let console = common::Captured::default();
    let handler = sync_handler(&catcher, FluentRecordFormatter::default()).env_filter("warn").tee(console.clone());
    let kvs = [("user", log::kv::Value::from("ada"))];
    let warn = log::Record::builder()
        .level(Level::Warn)
        .target("svc::db")
        .args(format_args!("slow query"))
        .key_values(&kvs)
        .build();
    handler.log(&warn);
    handler.log(&log::Record::builder().level(Level::Info).target("svc").args(format_args!("filtered")).build());
    assert_eq!(only(&catcher)["message"], "slow query");
    let printed = console.text();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "only what passes the filter: {printed}");
    assert!(lines[0].starts_with('[') && lines[0].ends_with("Z WARN  svc::db] slow query user=ada"), "{printed}");
}
