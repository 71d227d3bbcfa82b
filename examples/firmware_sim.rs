//! A firmware simulation on the host: a static ring, an "interrupt" thread
//! emitting telemetry through `fluent_embedded::FluentProducer`, and the
//! main loop pumping it out three ways:
//!
//! 1. blocking TCP (`embedded-io-adapters`' `FromStd<TcpStream>`) with acks,
//!    reconnecting through `fluent_embedded::Link`;
//! 2. async (`embedded-io-async` over a tokio `TcpStream`, `FromTokio`),
//!    as on embassy-net, through `fluent_embedded::AsyncLink`;
//! 3. a serial line: a pseudo-terminal, with a host-side reader turning the
//!    byte stream back into events.
//!
//! Run: `cargo run --example firmware_sim`
//!
//! The TCP phases send to a log catcher started in this process (or to
//! `FLUENT_HOST`/`FLUENT_PORT`). Exits with an error if any event is lost.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use embedded_io_adapters::std::FromStd;
use fluent_embedded::{AsyncLink, Connect, EmitError, FluentProducer, Link, OffsetClock, Pump};
use fluent_proto::{Decoded, Frame, FrameDecoder};
use fluent_queue::{Mode, Ring};

#[derive(serde::Serialize)]
struct Telemetry {
    seq: u32,
    battery_mv: u16,
    rssi: i8,
    temperature: f32,
}

const PER_PHASE: u32 = 2_000;

/// The device's memory: rings in statics, as firmware would have them.
static TCP_RING: Ring<8192, 128> = Ring::new(Mode::Block);
static ASYNC_RING: Ring<8192, 128> = Ring::new(Mode::Block);
static SERIAL_RING: Ring<8192, 128> = Ring::new(Mode::Block);

/// A millisecond tick counter since boot, as a hardware timer would give.
fn ticks_ms() -> u64 {
    static BOOT: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BOOT.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The "interrupt handler": emits `PER_PHASE` readings, retrying while the
/// ring is full (block mode), like a sensor task that waits for room.
fn sensor_task(
    ring: &'static Ring<8192, 128>,
    tag: &'static str,
    done: &'static AtomicBool,
) -> fluent_queue::Consumer<&'static Ring<8192, 128>> {
    let (producer, consumer) = ring.try_split().expect("split once");
    std::thread::spawn(move || {
        let clock = OffsetClock::new(ticks_ms, 1000);
        // The device learns the wall-clock time (say, from SNTP).
        clock.sync_unix_ms(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64);
        let mut producer = FluentProducer::new(producer, tag, clock);
        for seq in 0..PER_PHASE {
            let reading = Telemetry { seq, battery_mv: 3700 - (seq % 100) as u16, rssi: -60, temperature: 21.5 };
            while let Err(EmitError::Full) = producer.emit("telemetry", &reading) {
                std::thread::yield_now();
            }
        }
        done.store(true, Ordering::Release);
    });
    consumer
}

struct Tcp(SocketAddr);

impl Connect for Tcp {
    type Connection = FromStd<TcpStream>;
    type Error = std::io::Error;
    fn connect(&mut self) -> Result<Self::Connection, std::io::Error> {
        let stream = TcpStream::connect_timeout(&self.0, Duration::from_secs(3))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(FromStd::new(stream))
    }
}

/// A pump's counters as a person reads them.
fn summary(c: fluent_embedded::PumpCounters, connections: bool) -> String {
    let mut line = format!("{} events in {} requests ({} bytes)", c.events, c.requests, c.bytes);
    if connections {
        line.push_str(&format!(" over {} connection(s)", c.connections));
    }
    line + &format!(", {} failed requests", c.failed_requests)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (catcher, addr) = support::receiver()?;

    // 1. Blocking TCP with acks, the main loop pumping until the sensor is done.
    static TCP_DONE: AtomicBool = AtomicBool::new(false);
    let mut pump = Pump::new(sensor_task(&TCP_RING, "sim.tcp", &TCP_DONE)).chunk_seed(*b"sim-0001");
    let mut link = Link::new(Tcp(addr));
    loop {
        let finished = TCP_DONE.load(Ordering::Acquire);
        match link.pump_acked(&mut pump) {
            Ok(_) if finished && pump.queue_counters().frames == 0 => break,
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            // Connection policy is ours: wait a little, try again.
            Err(e) => {
                eprintln!("pump: {e}; reconnecting");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    println!("tcp (blocking, acked): {}", summary(pump.counters(), true));

    // 2. Async, as on embassy-net: the same pump over a tokio stream,
    //    through an `AsyncLink` (connect, reconnect with backoff).
    static ASYNC_DONE: AtomicBool = AtomicBool::new(false);
    let mut pump = Pump::new(sensor_task(&ASYNC_RING, "sim.async", &ASYNC_DONE));
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
        let mut link = AsyncLink::new(support::AsyncTcp(addr, None), support::TokioTimer);
        loop {
            let finished = ASYNC_DONE.load(Ordering::Acquire);
            match link.pump(&mut pump).await {
                Ok(_) if finished && pump.queue_counters().frames == 0 => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => eprintln!("pump: {e}; reconnecting after {:?}", link.retry_in()),
            }
        }
    });
    println!("tcp (async): {}", summary(pump.counters(), true));

    // 3. A serial line: a pseudo-terminal in raw mode; the pump writes to
    //    the device side, the host reads the other side and decodes.
    let pty = nix::pty::openpty(None, None)?;
    let mut termios = nix::sys::termios::tcgetattr(&pty.slave)?;
    nix::sys::termios::cfmakeraw(&mut termios);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &termios)?;
    let reader = std::thread::spawn({
        let master: OwnedFd = pty.master;
        move || serial_host_reader(std::fs::File::from(master))
    });
    static SERIAL_DONE: AtomicBool = AtomicBool::new(false);
    let mut pump = Pump::new(sensor_task(&SERIAL_RING, "sim.serial", &SERIAL_DONE));
    let mut uart = FromStd::new(std::fs::File::from(pty.slave));
    loop {
        let finished = SERIAL_DONE.load(Ordering::Acquire);
        pump.pump(&mut uart).map_err(|e| format!("{e}"))?;
        if finished && pump.queue_counters().frames == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("serial: {}", summary(pump.counters(), false));
    let serial_events = reader.join().map_err(|_| "serial reader panicked")??;
    println!("the host side of the serial line decoded {serial_events} events");

    let mut lost = u64::from(PER_PHASE).saturating_sub(serial_events);
    if let Some(catcher) = catcher {
        let events = catcher.wait_for_events(2 * PER_PHASE as usize, Duration::from_secs(20));
        for tag in ["sim.tcp.telemetry", "sim.async.telemetry"] {
            let got = events.iter().filter(|e| e.tag == tag).count() as u64;
            println!("the catcher wrote {got} events tagged {tag}; e.g. {}", sample(&events, tag));
            lost += u64::from(PER_PHASE).saturating_sub(got);
        }
    }
    if lost > 0 {
        return Err(format!("{lost} events lost").into());
    }
    Ok(())
}

fn sample(events: &[fluent_catcher::CaughtEvent], tag: &str) -> String {
    events
        .iter()
        .find(|e| e.tag == tag)
        .map(|e| format!("{} {}", e.time, serde_json::Value::Object(e.record.clone())))
        .unwrap_or_default()
}

/// The host side of the serial line: reads bytes, decodes Forward
/// requests, counts events, until all of them arrived.
fn serial_host_reader(mut port: std::fs::File) -> Result<u64, String> {
    let mut decoder = FrameDecoder::new(Default::default());
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
    let mut events = 0u64;
    let mut first = None;
    while events < u64::from(PER_PHASE) {
        let n = port.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(&buf[used..]) {
            used += consumed;
            if let Frame::Request(request) = frame {
                for event in request.events().flatten() {
                    events += 1;
                    first.get_or_insert_with(|| {
                        format!("{} {} {:?}", request.tag(), event.time, fluent_proto::Value::Map(event.record))
                    });
                }
            }
        }
        buf.drain(..used);
    }
    println!("serial sample: {}", first.unwrap_or_default());
    Ok(events)
}
