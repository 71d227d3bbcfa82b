//! A firmware template on the host: a `static` ring (in `.bss`), the
//! producer shared with an interrupt handler without unsafe code, and an
//! async pump task delivering with acks through an `AsyncLink` that
//! authenticates each connection with the shared key and reconnects with
//! backoff; drops are reported in band. The firmware's own code is the
//! part between the markers; the rest stands in for the device (a thread as
//! the timer interrupt, tokio's TCP and timer as embassy-net and
//! embassy-time, in `support`).
//!
//! Run: `cargo run --example firmware_template`. It starts a catcher that
//! requires the shared key; with `FLUENT_HOST` (and `FLUENT_PORT`) set it
//! sends there, with the key in `FLUENT_SHARED_KEY`.

mod support;

// ---- the firmware ----------------------------------------------------
use core::time::Duration;

use embedded_io_async::{Read, Write};
use fluent_embedded::{
    AsyncConnect, AsyncLink, DelayNs, EventTime, FluentProducer, Mode, Pump, Ring, Security, SharedProducer,
};

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

/// Start-up: the ring split once, the producer handed to the interrupts.
fn init(now: fn() -> EventTime) -> Pump<&'static Ring<4096, 64>> {
    let (producer, consumer) = RING.try_split().expect("split once");
    let _ = PRODUCER.install(FluentProducer::new(producer, "node7", now).loss_reports("dropped"));
    Pump::new(consumer).chunk_seed(*b"node7-01") // unique per device (and boot)
}

/// The pump task: acked delivery, each connection authenticated, reconnects
/// with backoff. It looks at the ring every 2 ms when idle: the ring must
/// hold what the interrupts emit meanwhile (here about 20 events).
async fn pump_task<C, D>(pump: &mut Pump<&'static Ring<4096, 64>>, network: C, timer: D, key: &'static str) -> !
where
    C: AsyncConnect<Connection: Read + Write>,
    D: DelayNs,
{
    let security = Security::new(key, "node7", device_rng);
    let mut link = AsyncLink::new(network, timer).security(security).idle_interval(Duration::from_millis(2));
    link.run_acked(pump, |_error| { /* defmt::warn!("{}", error) */ }).await
}
// ---- end of the firmware ----------------------------------------------

/// The device's random number generator, for the handshake's salt.
fn device_rng() -> [u8; 16] {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos().to_le_bytes()
}

fn now() -> EventTime {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    EventTime::new(t.as_secs() as u32, t.subsec_nanos())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key: &'static str = std::env::var("FLUENT_SHARED_KEY").unwrap_or_else(|_| "template key".into()).leak();
    let (catcher, addr) =
        support::receiver_with(fluent_catcher::Config::default().shared_key(key).hostname("catcher"))?;
    const TICKS: u32 = 2_000;
    let mut pump = init(now);
    let interrupts = std::thread::spawn(|| {
        for n in 0..TICKS {
            timer_interrupt(n);
            if n % 10 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    // The device runs the pump task forever; here it stops once the
    // interrupts are over and the ring is empty (every request acked).
    let drained = async {
        while !(interrupts.is_finished() && PRODUCER.with(|p| p.queue_counters().frames) == Some(0)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        tokio::select! {
            never = pump_task(&mut pump, support::AsyncTcp(addr, None), support::TokioTimer, key) => match never {},
            () = drained => {}
        }
    });
    let sent = pump.counters().events;
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
