//! The producer in a `static` `SharedProducer`, emitting from a simulated
//! interrupt (another thread; the host's critical sections are a global
//! lock) while the main loop pumps to the catcher in ack mode: every event
//! arrives, and none of it needed unsafe code.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::Tcp;
use fluent_catcher::TestCatcher;
use fluent_embedded::{EmitError, EventTime, FluentProducer, Link, Mode, Pump, Ring, SharedProducer};

type Producer = FluentProducer<'static, &'static Ring<16384, 256>, fn() -> EventTime>;

static RING: Ring<16384, 256> = Ring::new(Mode::Block);
static PRODUCER: SharedProducer<Producer> = SharedProducer::new();

fn now() -> EventTime {
    EventTime::new(1_700_000_000, 0)
}

#[test]
fn an_interrupt_emits_through_the_shared_producer_while_the_main_loop_pumps() {
    let catcher = TestCatcher::start().unwrap();
    assert!(matches!(PRODUCER.emit("early", &BTreeMap::from([("n", 0)])), Err(EmitError::NotInstalled)));
    let (producer, consumer) = RING.try_split().unwrap();
    PRODUCER.install(FluentProducer::new(producer, "isr", now as fn() -> EventTime)).ok().unwrap();

    const EVENTS: u32 = 2_000;
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let interrupt = {
        let done = done.clone();
        std::thread::spawn(move || {
            for n in 0..EVENTS {
                // Block mode: the firmware decides to retry while full.
                while let Err(EmitError::Full) = PRODUCER.emit("tick", &BTreeMap::from([("n", n)])) {
                    std::thread::yield_now();
                }
            }
            done.store(true, Ordering::Release);
        })
    };
    let mut pump = Pump::new(consumer);
    let mut link = Link::new(Tcp(catcher.forward_addr()));
    let mut sent = 0;
    loop {
        let finished = done.load(Ordering::Acquire);
        sent += link.pump_acked(&mut pump).unwrap().events;
        if finished && pump.queue_counters().frames == 0 {
            break;
        }
    }
    interrupt.join().unwrap();
    assert_eq!(sent, EVENTS as usize);
    let counters = PRODUCER.with(|p| p.counters()).unwrap();
    assert_eq!(counters.emitted, u64::from(EVENTS));
    let events = catcher.wait_for_events(EVENTS as usize, Duration::from_secs(20));
    let ns: Vec<u64> = events.iter().map(|e| e.record["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, (0..u64::from(EVENTS)).collect::<Vec<_>>());
}
