//! A tokio service logging through the `AsyncSender`: `emit` is synchronous
//! and never blocks the runtime; flushing and closing are awaited, so the
//! other tasks keep running meanwhile, even on a current-thread runtime.
//!
//! Run: `cargo run --example tokio_service`
//!
//! Sends to a log catcher started in this process on a free port and prints
//! what it wrote; with `FLUENT_HOST` (and `FLUENT_PORT`) set, sends there
//! instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod support;

use fluent_std::AsyncSender;

/// One request of the service: some work, then an access-log event.
async fn handle(sender: Arc<AsyncSender>, id: u32) {
    tokio::time::sleep(Duration::from_millis(u64::from(id % 5))).await;
    let record = BTreeMap::from([("request", id.to_string()), ("status", "200".to_owned())]);
    // Never blocks: the event goes into this thread's queue.
    let _ = sender.emit("access", &record);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (catcher, addr) = support::receiver()?;
    let (host, port) = (addr.ip().to_string(), addr.port());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let sender = Arc::new(AsyncSender::builder("example.tokio").sender(|s| s.host(host).port(port)).build());
        let requests: Vec<_> = (0..100).map(|id| tokio::spawn(handle(sender.clone(), id))).collect();
        for request in requests {
            request.await?;
        }
        // Awaiting the flush lets the runtime run other tasks meanwhile.
        let flushed = sender.flush_async(Duration::from_secs(10)).await;
        let stats = sender.close_async(true, Duration::from_secs(5)).await;
        println!("flushed: {flushed}; sent {} of {} events", stats.sent, stats.emitted);
        if let Some(catcher) = &catcher {
            let events = catcher.wait_for_events_async(100, Duration::from_secs(10)).await;
            println!("the catcher wrote {} events; the first: {}", events.len(), events[0].tag);
            if events.len() != 100 {
                return Err("events are missing".into());
            }
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
