//! `AsyncSender::emit` allocates nothing per event in steady state. The
//! allocation-counter crate's global allocator counts the allocations made
//! on the measuring (emitting) thread only, so the worker's are not counted.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(serde::Serialize)]
struct Access<'a> {
    host: &'a str,
    status: u16,
    latency: f64,
    cached: bool,
    path: &'a str,
}

#[test]
fn emit_does_not_allocate_in_steady_state() {
    let sender = fluent_std::AsyncSender::builder("app")
        .sender(|s| s.host("unix:///nonexistent-fluent-test-dir/fluent.sock"))
        .queue_circular(true)
        .queue_maxsize(1000)
        .build();
    let record = Access { host: "web-1", status: 200, latency: 0.25, cached: true, path: "/index.html" };
    let map = BTreeMap::from([("a", 1), ("b", 2)]);
    // Warm-up: first-use allocations (thread-locals, the clock) happen here.
    for _ in 0..1000 {
        let _ = sender.emit("access", &record);
        let _ = sender.emit("map", &map);
    }
    let info = allocation_counter::measure(|| {
        for _ in 0..10_000 {
            let _ = sender.emit("access", &record);
            let _ = sender.emit("map", &map);
        }
    });
    // A per-event allocation would show 20,000 or more here. One rare
    // allocation was seen once in dozens of runs under load (cause not yet
    // found), so the bound is one per thousand events, not zero.
    eprintln!("allocations on the emitting thread for 20,000 emits: {}", info.count_total);
    assert!(info.count_total <= 20, "emit allocates on the caller's thread: {info:?}");
    let stats = sender.close_with(false, Duration::ZERO);
    assert!(stats.emitted >= 20_000, "{stats:?}");
}
