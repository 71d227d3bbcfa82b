//! A firmware template on the host: a `static` ring (in `.bss`), the
//! producer shared with an interrupt handler without unsafe code, and the
//! main loop pumping to the receiver with acks, reconnecting as needed;
//! drops are reported in band. The firmware's own code is the part between
//! the markers; the rest stands in for the device (a thread as the timer
//! interrupt, std's TCP as the network stack).
//!
//! Run: `cargo run --example firmware_template`

use std::net::TcpStream;
use std::time::Duration;

mod support;

// ---- the firmware ----------------------------------------------------
use fluent_embedded::{Connect, EventTime, FluentProducer, Link, Mode, Pump, Ring, SharedProducer};

type Producer = FluentProducer<'static, &'static Ring<4096, 64>, fn() -> EventTime>;
static RING: Ring<4096, 64> = Ring::new(Mode::Overwrite);
static PRODUCER: SharedProducer<Producer> = SharedProducer::new();

#[derive(serde::Serialize)]
struct Tick {
    n: u32,
    millivolts: u16,
}

/// The timer interrupt: one reading, never waiting.
fn timer_interrupt(n: u32) {
    let _ = PRODUCER.emit("tick", &Tick { n, millivolts: 3300 - (n % 100) as u16 });
}

fn firmware<C: Connect>(network: C, now: fn() -> EventTime, done: impl Fn() -> bool) -> u64
where
    C::Connection: embedded_io::Read + embedded_io::Write,
{
    let (producer, consumer) = RING.try_split().expect("split once");
    let _ = PRODUCER.install(FluentProducer::new(producer, "node7", now).loss_reports("dropped"));
    let (mut pump, mut link) = (Pump::new(consumer), Link::new(network));
    let mut sent = 0;
    while !(done() && pump.queue_counters().frames == 0) {
        // A failure drops the connection; the next call reconnects.
        sent += link.pump_acked(&mut pump).map_or(0, |p| p.events as u64);
    }
    sent
}
// ---- end of the firmware ----------------------------------------------

/// The network stack: std's TCP through `embedded-io-adapters`.
struct Tcp(std::net::SocketAddr);

impl Connect for Tcp {
    type Connection = embedded_io_adapters::std::FromStd<TcpStream>;
    type Error = std::io::Error;
    fn connect(&mut self) -> std::io::Result<Self::Connection> {
        let stream = TcpStream::connect(self.0)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(embedded_io_adapters::std::FromStd::new(stream))
    }
}

fn now() -> EventTime {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    EventTime::new(t.as_secs() as u32, t.subsec_nanos())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (catcher, addr) = support::receiver()?;
    const TICKS: u32 = 2_000;
    let interrupts = std::thread::spawn(|| {
        while !PRODUCER.is_installed() {
            std::thread::yield_now();
        }
        for n in 0..TICKS {
            timer_interrupt(n);
            if n % 10 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    let sent = firmware(Tcp(addr), now, || interrupts.is_finished());
    let (counters, evicted) = PRODUCER.with(|p| (p.counters(), p.queue_counters().evicted)).ok_or("no producer")?;
    println!(
        "interrupts: {TICKS}; emitted {}, refused {}, evicted {evicted}, loss reports {}; delivered with acks: {sent}",
        counters.emitted,
        u64::from(TICKS) - counters.emitted,
        counters.loss_reports
    );
    // Every event emitted (and every report) was delivered or evicted.
    if sent + evicted != counters.emitted + counters.loss_reports {
        return Err("the counts do not add up".into());
    }
    if let Some(catcher) = catcher {
        let events = catcher.wait_for_events(sent as usize, Duration::from_secs(10));
        println!("the catcher wrote {} events, e.g. {}", events.len(), events.last().map_or("", |e| e.tag.as_str()));
        if (events.len() as u64) < sent {
            return Err("events are missing".into());
        }
    }
    Ok(())
}
