//! The pump talking to a real Forward receiver (the log catcher) over TCP
//! through `embedded-io-adapters`' `FromStd`, with and without acks: every
//! event arrives intact, and in ack mode every request is acknowledged.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Tcp;
use fluent_catcher::TestCatcher;
use fluent_embedded::{FluentProducer, Link, Pump, TimeMode};
use fluent_proto::{EventTime, Timestamp};
use fluent_queue::{Mode, Ring};

#[test]
fn events_arrive_at_the_catcher_with_and_without_acks() {
    for acked in [false, true] {
        let catcher = TestCatcher::start().unwrap();
        // 65535: the largest ring on targets with 32-bit atomics only.
        let ring: &'static Ring<65535, 1024> = Box::leak(Box::new(Ring::new(Mode::Block)));
        let (producer, consumer) = ring.try_split().unwrap();
        // Ack mode with EventTime, the other with integer seconds.
        let mode = if acked { TimeMode::EventTime } else { TimeMode::Seconds };
        let mut producer = FluentProducer::new(producer, "mcu", || EventTime::new(1_700_000_000, 7)).time_mode(mode);
        let mut pump = Pump::new(consumer).chunk_seed(*b"mcu-0001");
        let mut link = Link::new(Tcp(catcher.forward_addr()));
        for i in 0..1000u32 {
            let label = if i % 2 == 0 { "sensor" } else { "status" };
            producer.emit(label, &BTreeMap::from([("seq", i)])).unwrap();
        }
        let done = if acked { link.pump_acked(&mut pump) } else { link.pump(&mut pump) }.unwrap();
        assert_eq!(done.events, 1000);
        let events = catcher.wait_for_events(1000, Duration::from_secs(20));
        assert_eq!(events.len(), 1000);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.tag, if i % 2 == 0 { "mcu.sensor" } else { "mcu.status" });
            let time = if acked {
                Timestamp::Event(EventTime::new(1_700_000_000, 7))
            } else {
                Timestamp::Seconds(1_700_000_000)
            };
            assert_eq!(e.time, time);
            assert_eq!(e.record["seq"], i as u64);
        }
        // Alternating tags: one request per event.
        if acked {
            assert_eq!(catcher.acks().len(), 1000);
        }
    }
}

#[test]
fn a_loss_report_reaches_the_catcher_with_the_events() {
    let catcher = TestCatcher::start().unwrap();
    let ring: &'static Ring<4096, 16> = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let mut producer =
        FluentProducer::new(producer, "mcu", || EventTime::new(1_700_000_000, 0)).loss_reports("dropped");
    let mut pump = Pump::new(consumer);
    let mut link = Link::new(Tcp(catcher.forward_addr()));
    // 16 frames fit; the next 4 are refused (block mode, nobody pumping).
    let refused = (0..20u32).filter(|&i| producer.emit("sensor", &BTreeMap::from([("seq", i)])).is_err()).count();
    assert_eq!(refused, 4);
    link.pump_acked(&mut pump).unwrap();
    // The next emit puts the report in first.
    producer.emit("sensor", &BTreeMap::from([("seq", 20u32)])).unwrap();
    link.pump_acked(&mut pump).unwrap();
    let events = catcher.wait_for_events(18, Duration::from_secs(20));
    let reports: Vec<_> = events.iter().filter(|e| e.tag == "mcu.dropped").collect();
    assert_eq!(reports.len(), 1, "{events:?}");
    assert_eq!(reports[0].record["dropped"], 4);
    assert_eq!(reports[0].record["refused"], 4);
    assert_eq!(producer.counters().loss_reports, 1);
    assert_eq!(producer.counters().emitted, 17, "reports are not events");
}

#[cfg(feature = "handshake")]
#[test]
fn the_handshake_passes_with_the_right_key_and_user_and_nothing_is_written_otherwise() {
    use fluent_embedded::{HandshakeError, LinkError, Security};
    let config = fluent_catcher::Config::default().shared_key("fw key").hostname("catcher.test").user("node", "pw");
    let catcher = TestCatcher::with_config(config).unwrap();
    fn salt() -> [u8; 16] {
        // A device would read its random number generator.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        t.to_le_bytes()
    }
    let ring: &'static Ring<4096, 16> = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let mut producer = FluentProducer::new(producer, "fw", || EventTime::new(1_700_000_000, 0));
    let mut pump = Pump::new(consumer);
    for n in 0..5u32 {
        producer.emit("up", &BTreeMap::from([("n", n)])).unwrap();
    }
    for (key, password) in [("wrong key", "pw"), ("fw key", "wrong")] {
        let mut link =
            Link::new(Tcp(catcher.forward_addr())).security(Security::new(key, "node7", salt).user("node", password));
        let err = link.pump_acked(&mut pump).unwrap_err();
        assert!(matches!(err, LinkError::Handshake(HandshakeError::Refused)), "{err:?}");
        assert!(matches!(link.pump(&mut pump), Err(LinkError::HandshakeNeedsRead)));
    }
    assert_eq!(pump.queue_counters().frames, 5, "nothing sent");
    let mut link =
        Link::new(Tcp(catcher.forward_addr())).security(Security::new("fw key", "node7", salt).user("node", "pw"));
    assert_eq!(link.pump_acked(&mut pump).unwrap().events, 5);
    let events = catcher.wait_for_events(5, Duration::from_secs(10));
    assert_eq!(events.len(), 5);
    assert_eq!(catcher.stop().events_written, 5);
}
