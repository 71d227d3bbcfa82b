//! The `AsyncLink` against the log catcher over tokio TCP: reconnects
//! with a doubling backoff that a delivered request resets, and the
//! shared-key handshake (right key: delivered; wrong key: refused, the
//! events kept for the next attempt).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use fluent_catcher::TestCatcher;
use fluent_embedded::{
    AsyncConnect, AsyncLink, DelayNs, EventTime, FluentProducer, HandshakeError, LinkError, Mode, Pump, Ring, Security,
};

/// Dials whatever address the test points it at.
struct Dialer {
    target: Arc<Mutex<SocketAddr>>,
    open: Option<FromTokio<tokio::net::TcpStream>>,
}

impl AsyncConnect for Dialer {
    type Connection = FromTokio<tokio::net::TcpStream>;
    type Error = std::io::Error;
    async fn connect(&mut self) -> Result<(), std::io::Error> {
        let target = *self.target.lock().unwrap();
        let stream = tokio::net::TcpStream::connect(target).await?;
        stream.set_nodelay(true)?;
        self.open = Some(FromTokio::new(stream));
        Ok(())
    }
    fn connection(&mut self) -> Option<&mut Self::Connection> {
        self.open.as_mut()
    }
    async fn disconnect(&mut self) {
        self.open = None;
    }
}

/// A timer that records each wait (in ms) and returns at once.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<u32>>>);

impl DelayNs for Recorded {
    async fn delay_ns(&mut self, _ns: u32) {}
    async fn delay_ms(&mut self, ms: u32) {
        self.0.lock().unwrap().push(ms);
    }
}

fn dead_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

type TestRing = &'static Ring<16384, 64>;
type Producer = FluentProducer<'static, TestRing, fn() -> EventTime>;

fn ring() -> (Producer, Pump<TestRing>) {
    let ring: TestRing = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let clock: fn() -> EventTime = || EventTime::new(1_700_000_000, 0);
    (FluentProducer::new(producer, "fw", clock), Pump::new(consumer).chunk_seed(*b"link-001"))
}

fn salt() -> [u8; 16] {
    // A device would read its random number generator.
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos().to_le_bytes()
}

#[tokio::test]
async fn reconnects_with_a_doubling_backoff_that_delivery_resets() {
    let catcher = TestCatcher::start().unwrap();
    let target = Arc::new(Mutex::new(dead_addr()));
    let waits = Recorded::default();
    let mut link = AsyncLink::new(Dialer { target: target.clone(), open: None }, waits.clone())
        .backoff(Duration::from_millis(100), Duration::from_millis(350));
    let (mut producer, mut pump) = ring();
    for n in 0..20u32 {
        producer.emit("up", &BTreeMap::from([("n", n)])).unwrap();
    }
    for _ in 0..4 {
        assert!(matches!(link.pump_acked(&mut pump).await, Err(LinkError::Connect(_))));
    }
    assert_eq!(*waits.0.lock().unwrap(), [100, 200, 350], "doubled, capped, waited before each new attempt");
    assert_eq!(link.retry_in(), Duration::from_millis(350));
    assert_eq!(pump.queue_counters().frames, 20, "kept while down");

    *target.lock().unwrap() = catcher.forward_addr();
    assert_eq!(link.pump_acked(&mut pump).await.unwrap().events, 20);
    assert!(link.is_connected());
    assert_eq!(catcher.wait_for_events_async(20, Duration::from_secs(10)).await.len(), 20);

    // The server goes away: the first failure after a delivery waits the
    // initial 100 ms again.
    *target.lock().unwrap() = dead_addr();
    link.disconnect().await;
    assert!(link.pump_acked(&mut pump).await.is_err());
    assert!(link.pump_acked(&mut pump).await.is_err());
    assert_eq!(waits.0.lock().unwrap().last(), Some(&100), "reset by the delivery");
    assert_eq!(pump.counters().connections, 1);
}

#[tokio::test]
async fn the_handshake_passes_with_the_right_key_and_keeps_the_events_otherwise() {
    let config = fluent_catcher::Config::default().shared_key("fw key").hostname("catcher.test").user("node", "pw");
    let catcher = TestCatcher::with_config(config).unwrap();
    let target = Arc::new(Mutex::new(catcher.forward_addr()));
    let (mut producer, mut pump) = ring();
    for n in 0..5u32 {
        producer.emit("up", &BTreeMap::from([("n", n)])).unwrap();
    }
    for (key, password) in [("wrong key", "pw"), ("fw key", "wrong")] {
        let security = Security::new(key, "node7", salt).user("node", password);
        let mut link =
            AsyncLink::new(Dialer { target: target.clone(), open: None }, Recorded::default()).security(security);
        let err = link.pump_acked(&mut pump).await.unwrap_err();
        assert!(matches!(err, LinkError::Handshake(HandshakeError::Refused)), "{err:?}");
        assert!(!link.is_connected() && link.retry_in() > Duration::ZERO, "backs off");
        assert!(matches!(link.pump(&mut pump).await, Err(LinkError::HandshakeNeedsRead)));
    }
    assert_eq!(pump.queue_counters().frames, 5, "nothing sent");
    let security = Security::new("fw key", "node7", salt).user("node", "pw");
    let mut link = AsyncLink::new(Dialer { target, open: None }, Recorded::default()).security(security);
    assert_eq!(link.pump_acked(&mut pump).await.unwrap().events, 5);
    producer.emit("up", &BTreeMap::from([("n", 5)])).unwrap();
    assert_eq!(link.pump_acked(&mut pump).await.unwrap().events, 1, "the same authenticated connection");
    assert_eq!(catcher.wait_for_events_async(6, Duration::from_secs(10)).await.len(), 6);
    assert_eq!(pump.counters().connections, 1);
    assert_eq!(catcher.stop().events_written, 6);
}
