//! The embedded sender's footprint and throughput, next to the std
//! `AsyncSender` on the same records, in one run:
//!
//! - bytes of memory a minimal sender needs besides its ring (producer and
//!   pump handles, and the ring's own bookkeeping);
//! - events/s through emit + pump into an in-memory `embedded_io::Write`,
//!   and the same records through `fluent_std::AsyncSender` to a loopback
//!   receiver that discards them.
//!
//! `cargo bench -p fluent-embedded --bench pump` (`PUMP_EVENTS` to scale).

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use fluent_embedded::{FluentProducer, Pump};
use fluent_proto::EventTime;
use fluent_queue::{Mode, Ring};

#[derive(serde::Serialize)]
struct Telemetry<'a> {
    node: &'a str,
    battery_mv: u16,
    rssi: i8,
    temperature: f32,
    seq: u32,
}

fn record(seq: u32) -> Telemetry<'static> {
    Telemetry { node: "n-17", battery_mv: 3700, rssi: -60, temperature: 21.5, seq }
}

type Clock = fn() -> EventTime;

fn now() -> EventTime {
    EventTime::new(1_700_000_000, 0)
}

static RING: Ring<16384, 256> = Ring::new(Mode::Overwrite);

fn drain() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events: u32 = std::env::var("PUMP_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000_000);

    let producer_size = std::mem::size_of::<FluentProducer<'static, &'static Ring<16384, 256>, Clock>>();
    let pump_size = std::mem::size_of::<Pump<&'static Ring<16384, 256>>>();
    let ring_overhead = std::mem::size_of::<Ring<16384, 256>>() - 16384;
    let ring_per_frame = (std::mem::size_of::<Ring<16384, 512>>() - std::mem::size_of::<Ring<16384, 256>>()) / 256;
    let layout = if cfg!(fluent_narrow_atomics) {
        "the 32-bit-atomics layout of microcontrollers (--cfg fluent_narrow_atomics)"
    } else {
        "the 64-bit-atomics layout"
    };
    println!("static memory of a minimal sender, {layout}, x86_64 (pointers are half as wide on a 32-bit MCU):\n");
    println!("| part | bytes |");
    println!("|---|---:|");
    println!("| FluentProducer (handle, tag, clock, counters) | {producer_size} |");
    println!("| Pump (handle, options, counters) | {pump_size} |");
    println!("| Ring bookkeeping besides its BYTES (FRAMES = 256) | {ring_overhead} |");
    println!("| ... of which per frame slot | {ring_per_frame} |");

    // Embedded: emit 100, pump them into a buffer, repeat.
    let (producer, consumer) = RING.try_split().unwrap();
    let mut producer = FluentProducer::new(producer, "fleet", now as Clock);
    let mut pump = Pump::new(consumer).max_events_per_request(128);
    let mut wire = vec![0u8; 1 << 20];
    let (mut emit_time, mut pump_time) = (Duration::ZERO, Duration::ZERO);
    let mut seq = 0;
    while seq < events {
        let t = Instant::now();
        for _ in 0..100 {
            producer.emit("telemetry", &record(seq)).unwrap();
            seq += 1;
        }
        let t2 = Instant::now();
        let mut transport: &mut [u8] = &mut wire[..];
        pump.pump(&mut transport).unwrap();
        let t3 = Instant::now();
        emit_time += t2 - t;
        pump_time += t3 - t2;
    }
    assert_eq!(pump.counters().events, u64::from(events));
    let embedded_rate = f64::from(events) / (emit_time + pump_time).as_secs_f64();

    // std AsyncSender: the same records to a discarding receiver.
    let port = drain();
    let sender = fluent_std::AsyncSender::builder("fleet")
        .sender(|s| s.host("127.0.0.1").port(port).nanosecond_precision(true))
        .queue_maxsize(100_000)
        .build();
    let start = Instant::now();
    for seq in 0..events {
        sender.emit("telemetry", &record(seq)).unwrap();
    }
    let std_emit = start.elapsed();
    let stats = sender.close_with(true, Duration::from_secs(60));
    let std_total = start.elapsed();
    assert_eq!(stats.sent, u64::from(events));
    let std_rate = f64::from(events) / std_total.as_secs_f64();

    println!("\n{events} events of the same record; higher events/s is better\n");
    println!("| sender | emit ns/event | pump/worker | events/s end to end | ratio |");
    println!("|---|---:|---|---:|---:|");
    println!(
        "| fluent-embedded, emit + pump into an in-memory embedded_io::Write (one thread) | {:.0} | {:.0} ns/event | {:.2} M | {:.2}x |",
        emit_time.as_nanos() as f64 / f64::from(events),
        pump_time.as_nanos() as f64 / f64::from(events),
        embedded_rate / 1e6,
        embedded_rate / std_rate
    );
    println!(
        "| fluent-std AsyncSender, to a loopback receiver (worker thread) | {:.0} | own thread | {:.2} M | 1.00x |",
        std_emit.as_nanos() as f64 / f64::from(events),
        std_rate / 1e6
    );
}
