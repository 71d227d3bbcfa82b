//! The async pump (`async` feature) over a tokio TCP stream through
//! `embedded-io-adapters`' `FromTokio`, into the log catcher, with acks.

use std::collections::BTreeMap;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use fluent_catcher::TestCatcher;
use fluent_embedded::{FluentProducer, Pump, PumpError};
use fluent_proto::EventTime;
use fluent_queue::{Mode, Ring};

#[tokio::test]
async fn async_pump_with_acks_into_the_catcher() {
    let catcher = TestCatcher::start().unwrap();
    let ring: &'static Ring<32768, 512> = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let mut producer = FluentProducer::new(producer, "async", || EventTime::new(1_700_000_000, 1));
    let mut pump = Pump::new(consumer).chunk_seed(*b"async-01").max_events_per_request(50);
    for seq in 0..500u32 {
        producer.emit("telemetry", &BTreeMap::from([("seq", seq)])).unwrap();
    }
    let stream = tokio::net::TcpStream::connect(catcher.forward_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut transport = FromTokio::new(stream);
    let done = pump.pump_acked_async(&mut transport).await.unwrap();
    assert_eq!((done.requests, done.events), (10, 500));
    let events = catcher.wait_for_events(500, Duration::from_secs(20));
    assert!(events.iter().enumerate().all(|(i, e)| e.tag == "async.telemetry" && e.record["seq"] == i as u64));
    assert_eq!(catcher.acks().len(), 10);

    // A transport whose peer is gone breaks the pump until it is told of
    // a new connection; the event stays queued and goes out on the next.
    producer.emit("telemetry", &BTreeMap::from([("seq", 500)])).unwrap();
    let (ours, theirs) = tokio::io::duplex(64);
    drop(theirs);
    let mut broken = FromTokio::new(ours);
    assert!(matches!(pump.pump_async(&mut broken).await, Err(PumpError::Io(_))));
    assert!(matches!(pump.pump_async(&mut broken).await, Err(PumpError::NeedsReconnect)));
    pump.connection_reset();
    let stream = tokio::net::TcpStream::connect(catcher.forward_addr()).await.unwrap();
    let mut transport = FromTokio::new(stream);
    assert_eq!(pump.pump_async(&mut transport).await.unwrap().events, 1);
    let events = catcher.wait_for_events(501, Duration::from_secs(20));
    assert_eq!(events.last().unwrap().record["seq"], 500);
    assert_eq!(pump.counters().failed_requests, 1);
}
