//! fluent-embedded's shared-key handshake (with user authentication)
//! against a real peer, npm's `@fluent-org/logger` `FluentServer`: through
//! the blocking `Link` and the `AsyncLink`, every event arrives with the
//! right credentials; a wrong key or password is refused, nothing arrives,
//! and the events stay queued.

use std::collections::BTreeMap;
use std::io::{BufReader, Lines};
use std::net::{SocketAddr, TcpStream};
use std::process::ChildStdout;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use embedded_io_adapters::tokio_1::FromTokio;
use fluent_embedded::{
    AsyncConnect, AsyncLink, Connect, DelayNs, EventTime, FluentProducer, HandshakeError, Link, LinkError, Mode, Pump,
    Ring, Security,
};
use fluent_tests::node_forward_server;

struct Tcp(SocketAddr);

impl Connect for Tcp {
    type Connection = FromStd<TcpStream>;
    type Error = std::io::Error;
    fn connect(&mut self) -> Result<Self::Connection, std::io::Error> {
        let stream = TcpStream::connect(self.0)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(FromStd::new(stream))
    }
}

struct AsyncTcp(SocketAddr, Option<FromTokio<tokio::net::TcpStream>>);

impl AsyncConnect for AsyncTcp {
    type Connection = FromTokio<tokio::net::TcpStream>;
    type Error = std::io::Error;
    async fn connect(&mut self) -> Result<(), std::io::Error> {
        let stream = tokio::net::TcpStream::connect(self.0).await?;
        stream.set_nodelay(true)?;
        self.1 = Some(FromTokio::new(stream));
        Ok(())
    }
    fn connection(&mut self) -> Option<&mut Self::Connection> {
        self.1.as_mut()
    }
    async fn disconnect(&mut self) {
        self.1 = None;
    }
}

struct Sleep;

impl DelayNs for Sleep {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(ns.into())).await;
    }
}

fn salt() -> [u8; 16] {
    // A device would read its random number generator.
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos().to_le_bytes()
}

type TestRing = &'static Ring<16384, 64>;
type Producer = FluentProducer<'static, TestRing, fn() -> EventTime>;

/// A queue holding `events` events, its pump's chunk ids seeded with
/// `seed` (unique per device and boot, as a device would make them).
fn queue(events: u32, seed: [u8; 8]) -> (Producer, Pump<TestRing>) {
    let ring: TestRing = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let clock: fn() -> EventTime = || EventTime::new(1_700_000_000, 0);
    let mut producer = FluentProducer::new(producer, "fw", clock);
    for n in 0..events {
        producer.emit("node", &BTreeMap::from([("n", n)])).unwrap();
    }
    (producer, Pump::new(consumer).chunk_seed(seed))
}

fn received(lines: &mut Lines<BufReader<ChildStdout>>, n: usize) -> Vec<u64> {
    let mut ns = Vec::new();
    for line in lines.by_ref().take(n) {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(event["tag"], "fw.node");
        ns.push(event["record"]["n"].as_u64().unwrap());
    }
    ns
}

#[test]
fn the_blocking_and_async_links_pass_the_node_servers_handshake() {
    let (mut server, mut lines, port) = node_forward_server(&[]);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let security = Security::new("node key", "node7", salt).user("fluent", "pw 2");

    let (_producer, mut pump) = queue(50, *b"blocking");
    let mut link = Link::new(Tcp(addr)).security(security);
    assert_eq!(link.pump_acked(&mut pump).unwrap().events, 50);
    assert_eq!(received(&mut lines, 50), (0..50).collect::<Vec<_>>());
    drop(link); // the node server's close waits for its connections

    let (_producer, mut pump) = queue(50, *b"async-01");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let delivered = runtime.block_on(async {
        let mut link = AsyncLink::new(AsyncTcp(addr, None), Sleep).security(security);
        link.pump_acked(&mut pump).await.map(|p| p.events)
    });
    assert_eq!(delivered.unwrap(), 50);
    assert_eq!(received(&mut lines, 50), (0..50).collect::<Vec<_>>());
    drop(server.stdin.take());
    let _ = server.wait();
}

#[test]
fn the_node_server_refuses_a_wrong_key_or_password_and_the_events_stay_queued() {
    let (mut server, lines, port) = node_forward_server(&[]);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let (_producer, mut pump) = queue(5, *b"refused1");
    for (key, password) in [("wrong key", "pw 2"), ("node key", "wrong")] {
        let security = Security::new(key, "node7", salt).user("fluent", password);
        let mut link = Link::new(Tcp(addr)).security(security);
        let err = link.pump_acked(&mut pump).unwrap_err();
        assert!(matches!(err, LinkError::Handshake(HandshakeError::Refused)), "{key}/{password}: {err:?}");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let err = runtime.block_on(async {
            let mut link = AsyncLink::new(AsyncTcp(addr, None), Sleep).security(security);
            link.pump_acked(&mut pump).await.unwrap_err()
        });
        assert!(matches!(err, LinkError::Handshake(HandshakeError::Refused)), "{key}/{password}: {err:?}");
    }
    assert_eq!(pump.queue_counters().frames, 5, "kept for the next attempt");
    drop(server.stdin.take());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.is_empty(), "the node server received events: {rest:?}");
    let _ = server.wait();
}
