//! The producer on one thread (standing in for an interrupt handler), the
//! pump on another, over transports that fail at chosen points: partial
//! writes, errors mid-request, a peer that stops reading, lost and wrong
//! acks. Every frame is accounted for exactly, through the blocking `Link`
//! and (with the `async` feature) the `AsyncLink` with its backoff.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::thread;

use embedded_io::ErrorKind;
use fluent_embedded::{Connect, EmitError, FluentProducer, Link, Pump};
use fluent_proto::{Decoded, EventTime, Frame, FrameDecoder, Timestamp, Value};
use fluent_queue::{Mode, Ring};

const EVENTS: u64 = 20_000;

/// A tiny deterministic generator for fault plans.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// How one connection misbehaves.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Most bytes one `write` accepts (partial writes).
    max_write: usize,
    /// After this many bytes, writes fail (an error mid-request).
    fail_after: Option<usize>,
    /// After this many bytes, writes return 0 (the peer stopped reading).
    stall_after: Option<usize>,
    /// Ack mode: the nth request gets no ack / a wrong ack.
    drop_ack_at: Option<usize>,
    wrong_ack_at: Option<usize>,
}

/// What one connection received.
type Received = Arc<Mutex<Vec<u8>>>;

/// A connection recording what it received; a fake peer in ack mode.
struct Faulty {
    plan: Plan,
    received: Received,
    decoder: FrameDecoder,
    decoded_to: usize,
    requests: usize,
    replies: Vec<u8>,
}

impl embedded_io::ErrorType for Faulty {
    type Error = ErrorKind;
}

impl embedded_io::Write for Faulty {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let mut received = self.received.lock().unwrap();
        let len = received.len();
        if self.plan.fail_after.is_some_and(|n| len >= n) {
            return Err(ErrorKind::BrokenPipe);
        }
        if self.plan.stall_after.is_some_and(|n| len >= n) {
            return Ok(0);
        }
        let room = [self.plan.fail_after, self.plan.stall_after].into_iter().flatten().map(|n| n - len).min();
        let n = buf.len().min(self.plan.max_write).min(room.unwrap_or(usize::MAX));
        received.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl embedded_io::Read for Faulty {
    /// The peer's side of ack mode: acks every complete request (except
    /// where the plan says otherwise).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let received = self.received.lock().unwrap().clone();
        while let Ok(Decoded::Frame { frame: Frame::Request(r), consumed }) =
            self.decoder.decode(&received[self.decoded_to..])
        {
            self.decoded_to += consumed;
            let index = self.requests;
            self.requests += 1;
            let chunk = r.options().chunk.expect("ack mode sends a chunk").to_owned();
            if self.plan.drop_ack_at == Some(index) {
                return Ok(0); // closes without acking
            }
            let chunk = if self.plan.wrong_ack_at == Some(index) { "not-yours".to_owned() } else { chunk };
            fluent_proto::encode_ack(&mut self.replies, &chunk).unwrap();
        }
        if self.replies.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(self.replies.len());
        buf[..n].copy_from_slice(&self.replies[..n]);
        self.replies.drain(..n);
        Ok(n)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Faulty {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Faulty {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        embedded_io::Read::read(self, buf)
    }
}

/// The same connections for the `AsyncLink`, which leaves the open one
/// with its connector.
#[cfg(feature = "async")]
struct AsyncConnector {
    inner: Connector,
    open: Option<Faulty>,
}

#[cfg(feature = "async")]
impl fluent_embedded::AsyncConnect for AsyncConnector {
    type Connection = Faulty;
    type Error = ErrorKind;
    async fn connect(&mut self) -> Result<(), ErrorKind> {
        self.open = Some(self.inner.connect()?);
        Ok(())
    }
    fn connection(&mut self) -> Option<&mut Faulty> {
        self.open.as_mut()
    }
    async fn disconnect(&mut self) {
        self.open = None;
    }
}

/// The async link's timer: tokio's.
#[cfg(feature = "async")]
struct TokioDelay;

#[cfg(feature = "async")]
impl fluent_embedded::DelayNs for TokioDelay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(std::time::Duration::from_nanos(ns.into())).await;
    }
}

/// Which link drives the pump.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Driver {
    Blocking,
    #[cfg(feature = "async")]
    Async,
}

/// Every driver this build has.
const DRIVERS: &[Driver] = &[
    Driver::Blocking,
    #[cfg(feature = "async")]
    Driver::Async,
];

/// Opens `Faulty` connections with random plans, keeping what each got.
struct Connector {
    rng: Lcg,
    connections: Arc<Mutex<Vec<Received>>>,
    fail_connects: u64,
}

impl Connect for Connector {
    type Connection = Faulty;
    type Error = ErrorKind;
    fn connect(&mut self) -> Result<Faulty, ErrorKind> {
        if self.rng.next(10) == 0 {
            self.fail_connects += 1;
            return Err(ErrorKind::ConnectionRefused);
        }
        let r = &mut self.rng;
        // Every connection ends in a failure or a stall within 30 kB, so
        // a run goes through dozens of reconnects; some also lose or
        // garble an ack.
        let stall = r.next(2) == 0;
        let end = r.next(30_000) as usize;
        let ack_fault = r.next(3);
        let plan = Plan {
            max_write: [1, 7, 64, 4096][r.next(4) as usize],
            fail_after: (!stall).then_some(end),
            stall_after: stall.then_some(end),
            drop_ack_at: (ack_fault == 1).then(|| r.next(40) as usize),
            wrong_ack_at: (ack_fault == 2).then(|| r.next(40) as usize),
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        self.connections.lock().unwrap().push(received.clone());
        Ok(Faulty {
            plan,
            received,
            decoder: FrameDecoder::new(Default::default()),
            decoded_to: 0,
            requests: 0,
            replies: Vec::new(),
        })
    }
}

/// The event ids in the complete requests of one connection's bytes (a
/// request cut by a failure is incomplete and ignored, as a receiver would).
fn ids_in(bytes: &[u8]) -> Vec<u64> {
    let mut decoder = FrameDecoder::new(Default::default());
    let mut at = 0;
    let mut ids = Vec::new();
    while let Ok(Decoded::Frame { frame: Frame::Request(r), consumed }) = decoder.decode(&bytes[at..]) {
        at += consumed;
        assert_eq!(r.tag(), "dev.reading");
        for event in r.events() {
            let event = event.unwrap();
            assert!(matches!(event.time, Timestamp::Event(_)));
            let Some(Value::UInt(id)) = event.record.get("id").unwrap() else { panic!("no id") };
            ids.push(id);
        }
    }
    ids
}

struct Outcome {
    per_connection: Vec<Vec<u64>>,
    /// Refused (`Busy`) and evicted.
    dropped: Vec<u64>,
    /// Refused alone.
    busy: Vec<u64>,
}

/// Runs a producer thread and a pump thread until every event is
/// delivered or dropped.
fn run(mode: Mode, acked: bool, seed: u64, driver: Driver) -> Outcome {
    let ring: &'static Ring<8192, 256> = Box::leak(Box::new(Ring::new(mode)));
    let (producer, consumer) = ring.try_split().unwrap();
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let sink = evicted.clone();
    let producer = producer.on_evict(move |frame: &[u8]| {
        // The id is the record's last value: a u16/u32 after "id".
        sink.lock().unwrap().push(frame.to_vec());
    });
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer_done = done.clone();
    let producer = thread::spawn(move || {
        let mut producer = FluentProducer::new(producer, "dev", || EventTime::new(1_700_000_000, 1));
        let mut busy = Vec::new();
        for id in 0..EVENTS {
            let record = BTreeMap::from([("id", id)]);
            loop {
                match producer.emit("reading", &record) {
                    Ok(()) => break,
                    Err(EmitError::Full) => thread::yield_now(), // block mode: firmware retries
                    Err(EmitError::Busy) => {
                        busy.push(id);
                        break;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        producer_done.store(true, std::sync::atomic::Ordering::Release);
        (producer.counters(), busy)
    });
    let connections = Arc::new(Mutex::new(Vec::new()));
    let connector = Connector { rng: Lcg(seed), connections: connections.clone(), fail_connects: 0 };
    let mut pump = Pump::new(consumer).max_events_per_request(40).chunk_seed(*b"test0001");
    let finished = || done.load(std::sync::atomic::Ordering::Acquire);
    match driver {
        Driver::Blocking => {
            let mut link = Link::new(connector);
            loop {
                let finished = finished();
                let result = if acked { link.pump_acked(&mut pump) } else { link.pump(&mut pump) };
                if finished && result.is_ok() && pump.queue_counters().frames == 0 {
                    break;
                }
                if result.is_err() {
                    continue; // the link reconnects on the next call
                }
                thread::yield_now();
            }
        }
        #[cfg(feature = "async")]
        Driver::Async => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            runtime.block_on(async {
                let connector = AsyncConnector { inner: connector, open: None };
                let backoff = (std::time::Duration::from_millis(1), std::time::Duration::from_millis(2));
                let mut link = fluent_embedded::AsyncLink::new(connector, TokioDelay).backoff(backoff.0, backoff.1);
                loop {
                    let finished = finished();
                    let result = if acked { link.pump_acked(&mut pump).await } else { link.pump(&mut pump).await };
                    if finished && result.is_ok() && pump.queue_counters().frames == 0 {
                        break;
                    }
                    if result.is_err() {
                        assert!(!link.is_connected() && link.retry_in() > std::time::Duration::ZERO);
                        continue; // the next call waits the backoff, then reconnects
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
    }
    let (counters, busy) = producer.join().unwrap();
    let evicted_ids: Vec<u64> = evicted
        .lock()
        .unwrap()
        .iter()
        .map(|frame| {
            let entry = &frame[2 + "dev.reading".len()..];
            let event = fluent_proto::Event::read(entry, 8).unwrap();
            match event.record.get("id").unwrap() {
                Some(Value::UInt(id)) => id,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(counters.busy, busy.len() as u64);
    assert_eq!(pump.queue_counters().evicted, evicted_ids.len() as u64);
    let mut dropped = busy.clone();
    dropped.extend(evicted_ids);
    let per_connection = connections.lock().unwrap().iter().map(|c| ids_in(&c.lock().unwrap())).collect();
    Outcome { per_connection, dropped, busy }
}

fn assert_no_duplicates_within_a_connection(outcome: &Outcome) {
    for (i, ids) in outcome.per_connection.iter().enumerate() {
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "connection {i} got a frame twice");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "connection {i}: in order");
    }
}

#[test]
fn block_mode_over_failing_transports_delivers_every_event_exactly_once() {
    for (seed, &driver) in (1..=4).flat_map(|seed| DRIVERS.iter().map(move |d| (seed, d))) {
        let outcome = run(Mode::Block, false, seed, driver);
        assert!(outcome.per_connection.len() > 1, "faults forced reconnects");
        assert_no_duplicates_within_a_connection(&outcome);
        let all: Vec<u64> = outcome.per_connection.concat();
        // Without acks a request is released once fully written, and a
        // request cut by a failure is never complete at the receiver: so
        // every event arrives exactly once overall.
        assert_eq!(all, (0..EVENTS).collect::<Vec<_>>(), "seed {seed} {driver:?}");
        assert!(outcome.dropped.is_empty());
    }
}

#[test]
fn overwrite_mode_accounts_for_every_event() {
    for (seed, &driver) in (1..=4).flat_map(|seed| DRIVERS.iter().map(move |d| (seed, d))) {
        let outcome = run(Mode::Overwrite, false, seed, driver);
        assert_no_duplicates_within_a_connection(&outcome);
        let delivered: Vec<u64> = outcome.per_connection.concat();
        let delivered_set: HashSet<_> = delivered.iter().copied().collect();
        assert_eq!(delivered_set.len(), delivered.len(), "no event delivered twice");
        let dropped: HashSet<_> = outcome.dropped.iter().copied().collect();
        assert_eq!(dropped.len(), outcome.dropped.len(), "no event dropped twice");
        assert!(delivered_set.is_disjoint(&dropped), "an event is delivered or dropped, not both");
        assert_eq!(
            delivered_set.len() + dropped.len(),
            EVENTS as usize,
            "seed {seed} {driver:?}: every event accounted for"
        );
    }
}

#[test]
fn ack_mode_delivers_every_event_at_least_once_and_resends_only_unacked_requests() {
    for (seed, &driver) in (1..=4).flat_map(|seed| DRIVERS.iter().map(move |d| (seed, d))) {
        let outcome = run(Mode::Block, true, seed, driver);
        assert_no_duplicates_within_a_connection(&outcome);
        let delivered: HashSet<u64> = outcome.per_connection.iter().flatten().copied().collect();
        assert_eq!(delivered.len(), EVENTS as usize, "seed {seed} {driver:?}: every event arrives");
        // Duplicates across connections are whole requests that were
        // written but not acknowledged, so at most 40 events per failed
        // connection.
        let total: usize = outcome.per_connection.iter().map(Vec::len).sum();
        assert!(total - delivered.len() <= 40 * outcome.per_connection.len(), "seed {seed} {driver:?}");
    }
}

#[test]
fn overwrite_mode_with_acks_accounts_for_every_event_and_never_delivers_a_refused_one() {
    // The documented policy: frames awaiting their ack cannot be evicted,
    // so while they are the oldest a new event that needs their room is
    // refused (`Busy`, counted) instead of evicting them; every other
    // eviction still drops the oldest. Every event is delivered or dropped,
    // none is missing; a refused event never reached the ring, so it is
    // never delivered. (An evicted one may have been: written on a
    // connection that failed before its ack came back, then evicted before
    // the resend. The sender cannot know, and counts it dropped.)
    let mut busy_total = 0;
    for (seed, &driver) in (1..=4).flat_map(|seed| DRIVERS.iter().map(move |d| (seed, d))) {
        let outcome = run(Mode::Overwrite, true, seed, driver);
        assert_no_duplicates_within_a_connection(&outcome);
        let delivered: HashSet<u64> = outcome.per_connection.iter().flatten().copied().collect();
        let dropped: HashSet<u64> = outcome.dropped.iter().copied().collect();
        let busy: HashSet<u64> = outcome.busy.iter().copied().collect();
        assert_eq!(dropped.len(), outcome.dropped.len(), "no event dropped twice");
        assert!(delivered.is_disjoint(&busy), "seed {seed} {driver:?}: a refused event was delivered");
        assert_eq!(
            delivered.union(&dropped).count(),
            EVENTS as usize,
            "seed {seed} {driver:?}: every event accounted for"
        );
        busy_total += busy.len();
    }
    eprintln!("refused while the unacked request held the oldest room: {busy_total}");
}
