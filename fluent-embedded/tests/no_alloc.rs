//! Emit and pump allocate nothing: the allocation-counter crate's global
//! allocator counts every allocation on this thread while they run.

use fluent_embedded::{FluentProducer, Pump, TimeMode};
use fluent_proto::EventTime;
use fluent_queue::{Mode, Ring};

#[derive(serde::Serialize)]
struct Telemetry<'a> {
    node: &'a str,
    battery_mv: u16,
    rssi: i8,
    temperature: f32,
    ok: bool,
}

static RING: Ring<16384, 256> = Ring::new(Mode::Overwrite);

#[test]
fn emit_and_pump_allocate_nothing() {
    let (producer, consumer) = RING.try_split().unwrap();
    let mut producer =
        FluentProducer::new(producer, "fleet", || EventTime::new(1_700_000_000, 5)).time_mode(TimeMode::EventTime);
    let mut pump = Pump::new(consumer).max_events_per_request(64);
    let mut wire = vec![0u8; 1 << 20];
    let record = Telemetry { node: "n-17", battery_mv: 3700, rssi: -60, temperature: 21.5, ok: true };
    let info = allocation_counter::measure(|| {
        for round in 0..50 {
            for _ in 0..100 {
                producer.emit("telemetry", &record).unwrap();
            }
            let mut transport: &mut [u8] = &mut wire[..];
            let done = pump.pump(&mut transport).unwrap();
            assert_eq!(done.events, 100, "round {round}");
        }
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(pump.counters().events, 5000);
}
