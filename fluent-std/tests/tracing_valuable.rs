//! `valuable` field values through the layer arrive as maps and arrays
//! (built with `RUSTFLAGS="--cfg tracing_unstable"`, as `tracing` requires
//! for them; `ci/test.sh` runs it so).
#![cfg(tracing_unstable)]

use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_std::Sender;
use fluent_std::layer::FluentLayer;
use serde_json::json;
use tracing_subscriber::prelude::*;
use valuable::Valuable;

#[derive(Valuable)]
struct Order {
    id: u64,
    items: Vec<String>,
    paid: bool,
}

#[test]
fn valuable_values_arrive_structured() {
    let catcher = TestCatcher::start().unwrap();
    let sender = Sender::builder("traced").host("127.0.0.1").port(catcher.forward_addr().port()).build();
    let order = Order { id: 7, items: vec!["tea".into(), "cake".into()], paid: true };
    tracing::subscriber::with_default(tracing_subscriber::registry().with(FluentLayer::new(sender)), || {
        let span = tracing::info_span!("checkout", order = order.as_value());
        let _s = span.enter();
        tracing::info!(tags = vec!["a", "b"].as_value(), "placed");
    });
    let events = catcher.wait_for_events(1, Duration::from_secs(10));
    let r = &events[0].record;
    assert_eq!(r["order"], json!({"id": 7, "items": ["tea", "cake"], "paid": true}));
    assert_eq!(r["tags"], json!(["a", "b"]));
}
