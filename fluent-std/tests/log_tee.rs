//! Our handler inside the user's own logger (a tee: `log` allows one
//! logger per process): `shutdown` still sends the last records, and a
//! guard does the same when dropped.

use std::time::Duration;

use fluent_catcher::TestCatcher;
use fluent_std::handler::{FluentHandler, shutdown};

/// The user's logger: console output plus our handler.
struct Tee {
    fluent: FluentHandler,
    lines: std::sync::atomic::AtomicU64,
}

impl log::Log for Tee {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.lines.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        log::Log::log(&self.fluent, record);
    }

    fn flush(&self) {}
}

fn handler(catcher: &TestCatcher, tag: &str) -> FluentHandler {
    let sender = fluent_std::AsyncSender::builder(tag)
        .sender(|s| s.host("127.0.0.1").port(catcher.forward_addr().port()))
        .build();
    FluentHandler::new(sender)
}

#[test]
fn shutdown_and_guards_send_the_last_records_of_a_handler_that_was_not_installed() {
    let catcher = TestCatcher::start().unwrap();
    let tee: &'static Tee = Box::leak(Box::new(Tee { fluent: handler(&catcher, "tee"), lines: Default::default() }));
    log::set_logger(tee).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    for i in 0..500 {
        log::info!(seq = i; "record {i}");
    }
    shutdown();
    let fluent_std::RecordSender::Async(sender) = tee.fluent.sender() else { unreachable!() };
    assert_eq!((sender.stats().sent, sender.stats().unsent_at_close), (500, 0), "sent before shutdown returned");

    // A guard: the same, for a handler used directly.
    let other = handler(&catcher, "guarded");
    let guard = other.guard();
    let record = log::Record::builder().level(log::Level::Warn).args(format_args!("last words")).build();
    for _ in 0..300 {
        other.handle(&record).unwrap();
    }
    drop(guard);
    let fluent_std::RecordSender::Async(sender) = other.sender() else { unreachable!() };
    assert_eq!(sender.stats().sent, 300, "sent before the guard's drop returned");
    assert_eq!(catcher.wait_for_events(800, Duration::from_secs(10)).len(), 800);
}
