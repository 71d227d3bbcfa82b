//! `tracing` events to Fluentd through the `FluentLayer`, next to the usual
//! `fmt` output on stderr.
//!
//! Run: `cargo run --example tracing_layer`
//!
//! Sends to a log catcher started in this process on a free port and prints
//! what it wrote; with `FLUENT_HOST` (and `FLUENT_PORT`) set, sends there
//! instead.

use std::io::IsTerminal;
use std::time::Duration;

mod support;

use fluent_std::AsyncSender;
use fluent_std::layer::FluentLayer;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (catcher, addr) = support::receiver()?;
    let (host, port) = (addr.ip().to_string(), addr.port());
    // The guard sends the last events when it is dropped (keep it named).
    let (layer, guard) =
        FluentLayer::with_guard(AsyncSender::builder("example.tracing").sender(|s| s.host(host).port(port)).build());
    tracing_subscriber::registry()
        // Colours only on a terminal, never into a pipe or a file.
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()))
        .with(layer)
        .init();

    let request = tracing::info_span!("request", id = 7, path = "/orders");
    request.in_scope(|| {
        tracing::info!(user = "ada", "order placed");
        tracing::warn!(latency_ms = 950u64, "slow response");
    });

    drop(guard); // the last events are sent before this returns
    if let Some(catcher) = catcher {
        let events = catcher.wait_for_events(2, Duration::from_secs(10));
        let caught = events.len();
        for event in events {
            println!("{} {} {}", event.tag, event.time, serde_json::Value::Object(event.record));
        }
        if caught != 2 {
            return Err(format!("{caught} of 2 events arrived").into());
        }
    }
    Ok(())
}
