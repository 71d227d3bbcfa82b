//! Awaited flush and close keep a current-thread tokio runtime running:
//! a timer task beside them keeps ticking while they wait for a server
//! that is down, where the blocking calls would hold the runtime's only
//! thread for their whole timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fluent_std::AsyncSender;

mod common;

/// Runs `wait` beside a 5 ms ticker on a current-thread runtime; returns
/// the ticker's longest gap and how long `wait` took.
fn beside_a_ticker<F: Future>(wait: impl FnOnce() -> F) -> (Duration, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let longest_gap_us = Arc::new(AtomicU64::new(0));
        let gap = longest_gap_us.clone();
        let ticker = tokio::spawn(async move {
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now = Instant::now();
                gap.fetch_max(now.duration_since(last).as_micros() as u64, Ordering::Relaxed);
                last = now;
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        wait().await;
        let took = started.elapsed();
        tokio::time::sleep(Duration::from_millis(20)).await;
        ticker.abort();
        (Duration::from_micros(longest_gap_us.load(Ordering::Relaxed)), took)
    })
}

/// The port is held (and refuses) for as long as the returned guard lives.
fn sender_to_a_dead_server() -> (Arc<AsyncSender>, common::DeadPort) {
    let dead = common::dead_port();
    let port = dead.port;
    let sender = AsyncSender::builder("app").sender(|s| s.host("127.0.0.1").port(port)).build();
    for i in 0..100 {
        sender.emit("tick", &BTreeMap::from([("i", i)])).unwrap();
    }
    (Arc::new(sender), dead)
}

#[test]
fn awaited_flush_and_close_leave_the_runtime_free() {
    let (sender, _dead) = sender_to_a_dead_server();
    let s = sender.clone();
    let (gap, took) = beside_a_ticker(|| async move {
        assert!(!s.flush_async(Duration::from_secs(1)).await, "nothing can be sent");
        let stats = s.close_async(true, Duration::from_secs(1)).await;
        assert_eq!(stats.sent, 0);
        assert_eq!(stats.emitted, 100);
    });
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "both waited their deadline: {took:?}");
    // The blocking calls would stop the ticker for 2 s; awaited, it runs on.
    assert!(gap < Duration::from_millis(500), "the ticker was held up for {gap:?}");
}

#[test]
fn the_blocking_flush_would_hold_the_runtime() {
    // The control: the same wait through the blocking call stops the
    // ticker, so the test above can tell the two apart.
    let (sender, _dead) = sender_to_a_dead_server();
    let s = sender.clone();
    let (gap, _) = beside_a_ticker(|| async move {
        assert!(!s.flush(Duration::from_secs(1)));
    });
    assert!(gap >= Duration::from_millis(900), "the ticker ran during a blocking flush: {gap:?}");
    sender.close_with(false, Duration::ZERO);
}
