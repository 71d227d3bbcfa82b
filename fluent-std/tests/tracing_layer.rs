//! The `tracing` layer against the catcher: event and span fields, span
//! names, level and target, EventTime, and composition with `fmt`.

use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_std::layer::FluentLayer;
use fluent_std::{AsyncSender, Sender, Timestamp};
use serde_json::json;
use tracing_subscriber::prelude::*;

mod common;

use common::Captured;

#[test]
fn events_with_span_fields_arrive_and_fmt_still_prints() {
    let catcher = TestCatcher::start().unwrap();
    let sender = Sender::builder("traced").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()).with_ansi(false))
        .with(FluentLayer::new(sender));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("request", id = 7, user = "ada");
        let _o = outer.enter();
        let inner = tracing::debug_span!("db", table = "orders", user = "bob");
        let _i = inner.enter();
        inner.record("table", "invoices");
        tracing::warn!(rows = 3u64, slow = true, ratio = 0.5, "query took {}ms", 250);
    });
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    let e = &events[0];
    assert_eq!(e.tag, "traced");
    assert!(matches!(e.time, Timestamp::Event(_)), "EventTime from the event's time");
    let r = serde_json::Value::Object(e.record.clone());
    assert_eq!(r["message"], "query took 250ms");
    assert_eq!(
        (&r["level"], &r["sys_name"], &r["sys_module"]),
        (&json!("WARNING"), &json!(module_path!()), &json!(module_path!()))
    );
    assert_eq!((&r["rows"], &r["slow"], &r["ratio"]), (&json!(3), &json!(true), &json!(0.5)));
    assert_eq!((&r["id"], &r["table"]), (&json!(7), &json!("invoices")), "span fields, updated by record()");
    assert_eq!(r["user"], "bob", "the inner span wins");
    assert_eq!(r["spans"], json!(["request", "db"]));
    assert_eq!(r["file"], file!());
    let printed = captured.text();
    assert!(printed.contains("query took 250ms"), "the fmt layer printed too: {printed}");
}

#[test]
fn async_sender_layer_and_flush() {
    let catcher = TestCatcher::start().unwrap();
    let sender = AsyncSender::builder("traced.async")
        .sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port()))
        .build();
    let layer = FluentLayer::new(sender);
    let target = layer.sender().clone();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..500u64 {
            tracing::info!(seq = i, "event");
        }
    });
    assert!(target.flush(Duration::from_secs(10)));
    let events = catcher.wait_for_events(500, Duration::from_secs(10));
    assert!(events.iter().enumerate().all(|(i, e)| e.record["seq"] == i as u64));
    target.close();
}

#[test]
fn fields_named_like_the_records_own_keys_go_under_fields() {
    let catcher = TestCatcher::start().unwrap();
    let sender = Sender::builder("traced").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    let subscriber = tracing_subscriber::registry().with(FluentLayer::new(sender));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", sys_host = "spoofed");
        let _s = span.enter();
        tracing::info!(file = 42, level = "fake", user = "ada", "hello");
    });
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    let r = serde_json::Value::Object(events[0].record.clone());
    assert_eq!((&r["file"], &r["level"]), (&json!(file!()), &json!("INFO")), "the real ones stay");
    assert_ne!(r["sys_host"], "spoofed");
    assert_eq!(r["fields"], json!({"sys_host": "spoofed", "file": 42, "level": "fake"}));
    assert_eq!(r["user"], "ada");
}

#[test]
fn tag_by_target_and_span_ids() {
    let catcher = TestCatcher::start().unwrap();
    let sender = Sender::builder("traced").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    let subscriber = tracing_subscriber::registry().with(FluentLayer::new(sender).tag_by_target(true).span_ids(true));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("request");
        let _o = outer.enter();
        let inner = tracing::info_span!("db");
        let _i = inner.enter();
        tracing::info!(target: "billing", span_id = "mine", "charged");
        drop(_i);
        tracing::info!("outer only");
    });
    let events = catcher.wait_for_events(2, Duration::from_secs(10));
    assert_eq!(events[0].tag, "traced.billing");
    assert_eq!(events[1].tag, "traced.tracing_layer", "the target: this test's module");
    let (first, second) = (&events[0].record, &events[1].record);
    let ids = first["span_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(first["span_id"], ids[1], "the innermost");
    assert_eq!(second["span_ids"].as_array().unwrap(), &ids[..1], "the same outer span");
    assert_eq!(first["fields"]["span_id"], "mine", "a field of that name does not replace it");
}

#[test]
fn python_names_and_tracing_level_names() {
    let catcher = TestCatcher::start().unwrap();
    let port = catcher.forward_addr().port();
    let python = FluentLayer::new(Sender::builder("py").host("127.0.0.1").port(port).build()).python_names(true);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(python), || {
        tracing::warn!(lineno = 1, level = "mine", "careful");
    });
    let tracing_names = FluentLayer::new(Sender::builder("tr").host("127.0.0.1").port(port).build())
        .level_names(fluent_std::layer::LevelNames::Tracing);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(tracing_names), || {
        tracing::warn!("careful");
    });
    let events = catcher.wait_for_events(2, Duration::from_secs(10));
    let py = serde_json::Value::Object(events.iter().find(|e| e.tag == "py").unwrap().record.clone());
    assert_eq!((&py["levelname"], &py["pathname"]), (&json!("WARNING"), &json!(file!())));
    assert!(py["lineno"].as_u64().unwrap() > 1, "the real line: {py}");
    assert!(py.get("level").is_none_or(|l| l == "mine") && py.get("file").is_none() && py.get("line").is_none());
    assert_eq!(py["fields"], json!({"lineno": 1}), "the record's own key is protected under its Python name");
    assert_eq!(py["level"], "mine", "no longer a key of the record's own");
    let tr = &events.iter().find(|e| e.tag == "tr").unwrap().record;
    assert_eq!(tr["level"], "WARN");
}

#[test]
fn refused_events_are_counted_after_the_layer_moved() {
    let sender = AsyncSender::builder("traced").sender(|s| s.host("unix:///nonexistent/fluent.sock")).build();
    let layer = FluentLayer::new(sender);
    let target = layer.sender().clone();
    let errors = layer.send_error_counter();
    target.close();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!("after close");
        tracing::info!("after close");
    });
    assert_eq!(errors.get(), 2, "a plain count, read through the handle");
}

#[test]
fn colliding_fields_can_be_prefixed_instead_of_nested() {
    use fluent_std::layer::CollidingFields;
    let catcher = TestCatcher::start().unwrap();
    let sender = Sender::builder("traced").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    let layer = FluentLayer::new(sender).colliding_fields(CollidingFields::Prefix("field_"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(file = 42, level = "fake", user = "ada", "hello");
    });
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    let r = serde_json::Value::Object(events[0].record.clone());
    assert_eq!((&r["file"], &r["level"]), (&json!(file!()), &json!("INFO")), "the real ones stay");
    assert_eq!((&r["field_file"], &r["field_level"], &r["user"]), (&json!(42), &json!("fake"), &json!("ada")));
    assert!(r.get("fields").is_none());
}
