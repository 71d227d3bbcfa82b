//! The one-call install: the global `log` macros reach the catcher, and
//! `shutdown` sends the last records before returning.

use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_std::handler::{FluentHandler, install, shutdown};

#[test]
fn installed_handler_receives_the_log_macros_and_shutdown_flushes() {
    let catcher = TestCatcher::start().unwrap();
    let sender = fluent_std::AsyncSender::builder("installed")
        .sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port()))
        .build();
    let handler = install(FluentHandler::new(sender).level(log::LevelFilter::Info)).unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    log::debug!("filtered out");
    for i in 0..1000 {
        log::info!(seq = i; "record {i}");
    }
    shutdown();
    // Everything was sent before shutdown returned.
    let fluent_std::RecordSender::Async(sender) = handler.sender() else { unreachable!() };
    assert_eq!((sender.stats().sent, sender.stats().unsent_at_close), (1000, 0));
    let events = catcher.wait_for_events(1000, Duration::from_secs(10));
    assert!(events.iter().enumerate().all(|(i, e)| e.record["seq"] == i as u64 && e.tag == "installed"));
    log::info!("after shutdown");
    assert_eq!(handler.send_errors(), 1, "refused and counted");
    assert!(install(FluentHandler::new(fluent_std::Sender::builder("x").build())).is_err(), "only one logger");
}
