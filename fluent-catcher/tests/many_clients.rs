//! 1,000 client connections open at once, writing interleaved events: every
//! event arrives, and each connection's count is right.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{connect, message};
use fluent_catcher::TestCatcher;
use fluent_proto::Timestamp;

const CLIENTS: usize = 1000;
const EVENTS_PER_CLIENT: u64 = 20;

#[test]
fn a_thousand_concurrent_clients() {
    let catcher = TestCatcher::start().unwrap();
    let mut streams: Vec<_> = (0..CLIENTS).map(|_| connect(catcher.forward_addr())).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while catcher.stats().connections_accepted < CLIENTS as u64 {
        assert!(std::time::Instant::now() < deadline, "accepted only {:?}", catcher.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(catcher.stats().connections_active, CLIENTS as u64, "all open at once");
    // Round-robin: event n of every client before event n+1 of any.
    for n in 0..EVENTS_PER_CLIENT {
        for (client, stream) in streams.iter_mut().enumerate() {
            stream.write_all(&message("many", Timestamp::Seconds(n), &format!("c{client}"), n, None)).unwrap();
        }
    }
    drop(streams);
    let total = CLIENTS * EVENTS_PER_CLIENT as usize;
    let events = catcher.wait_for_events(total, Duration::from_secs(60));
    assert_eq!(events.len(), total);
    let mut per_client = vec![Vec::new(); CLIENTS];
    for event in &events {
        let client: usize = event.record["client"].as_str().unwrap()[1..].parse().unwrap();
        per_client[client].push(event.record["n"].as_u64().unwrap());
    }
    for (client, ns) in per_client.iter().enumerate() {
        assert_eq!(*ns, (0..EVENTS_PER_CLIENT).collect::<Vec<_>>(), "client {client}: all events, in its order");
    }
    let connections = catcher.wait_for_connections(CLIENTS, Duration::from_secs(60));
    assert_eq!(connections.len(), CLIENTS);
    assert!(connections.iter().all(|c| c.events == EVENTS_PER_CLIENT && c.close_reason.is_none()));
    let stats = catcher.stop();
    assert_eq!((stats.events_received, stats.events_written), (total as u64, total as u64));
}
