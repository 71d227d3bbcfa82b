//! `log` records to Fluentd through the async handler (Python's
//! `asynchandler.FluentHandler`), formatted like `FluentRecordFormatter`.
//!
//! Run: `cargo run --example log_handler`
//!
//! Sends to a log catcher started in this process on a free port and prints
//! what it wrote; with `FLUENT_HOST` (and `FLUENT_PORT`) set, sends there
//! instead.

use std::time::Duration;

mod support;

use fluent_std::AsyncSender;
use fluent_std::handler::{FluentHandler, FluentRecordFormatter, install};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (catcher, addr) = support::receiver()?;
    let (host, port) = (addr.ip().to_string(), addr.port());
    let sender = AsyncSender::builder("example.log").sender(|s| s.host(host).port(port)).build();
    // Default fields (sys_host, sys_name, sys_module, level, file, line);
    // key-values become fields.
    let formatter = FluentRecordFormatter::new().format_json(true);
    // The guard sends the last records when it is dropped (keep it named).
    let guard = install(FluentHandler::new(sender).formatter(formatter).level(log::LevelFilter::Info))?.guard();

    log::info!(user = "ada", attempts = 3; "logged in");
    log::warn!(target: "billing", invoice = 42; "payment retried");
    log::info!(r#"{{"order": 7, "state": "shipped"}}"#); // a JSON object message is merged
    log::debug!("not sent: below the handler's level");

    drop(guard); // the last records are sent before this returns
    if let Some(catcher) = catcher {
        let events = catcher.wait_for_events(3, Duration::from_secs(10));
        let caught = events.len();
        for event in events {
            println!("{} {} {}", event.tag, event.time, serde_json::Value::Object(event.record));
        }
        if caught != 3 {
            return Err(format!("{caught} of 3 events arrived").into());
        }
    }
    Ok(())
}
