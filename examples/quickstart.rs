//! The quick start: encodes a burst of events in all four Forward-protocol
//! modes, decodes them back the way a receiver would (bytes arriving in small
//! reads), and prints what arrived and how fast.
//!
//! Run: `cargo run --release --example quickstart`
//!
//! With `FLUENT_HOST` (and optionally `FLUENT_PORT`, default 24224) set, the
//! same frames are also sent to that Forward receiver (Fluentd, Fluent Bit).
//! Until the sender and the catcher land, this is a codec demo.

use std::io::Write;
use std::time::Instant;

use fluent_proto::{
    Decoded, EntriesFormat, EventTime, Events, Frame, FrameDecoder, Limits, Mode, Options, Timestamp, Value,
    encode_compressed_packed_forward, encode_entry, encode_forward, encode_message, encode_packed_forward,
};

#[derive(serde::Serialize)]
struct Access<'a> {
    host: &'a str,
    status: u16,
    latency_ms: f64,
    cached: bool,
    path: String,
}

const EVENTS: usize = 100_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = EventTime::now()?;
    let record = |i: usize| Access {
        host: "web-1",
        status: if i.is_multiple_of(50) { 500 } else { 200 },
        latency_ms: (i % 97) as f64 * 0.25,
        cached: i.is_multiple_of(3),
        path: format!("/orders/{i}"),
    };
    let time = |i: usize| Timestamp::Event(EventTime::new(base.seconds(), (i as u32 * 9_973) % 1_000_000_000));

    // Encode: every event in each mode (PackedForward batches of 1,000).
    let mut wire = Vec::new();
    let started = Instant::now();
    for i in 0..EVENTS {
        encode_message(&mut wire, "quickstart.message", time(i), &record(i), None)?;
    }
    let message_bytes = wire.len();
    let records: Vec<Access<'_>> = (0..1000).map(record).collect();
    for batch in 0..EVENTS / 1000 {
        let pairs = records.iter().enumerate().map(|(i, r)| (time(batch * 1000 + i), r));
        let options = Options { size: Some(1000), ..Options::default() };
        encode_forward(&mut wire, "quickstart.forward", pairs, Some(&options))?;
    }
    let mut entries = Vec::new();
    for batch in 0..EVENTS / 1000 {
        entries.clear();
        for (i, r) in records.iter().enumerate() {
            encode_entry(&mut entries, time(batch * 1000 + i), r)?;
        }
        let options = Options { size: Some(1000), ..Options::default() };
        encode_packed_forward(&mut wire, "quickstart.packed", &entries, EntriesFormat::Bin, Some(&options))?;
        encode_compressed_packed_forward(&mut wire, "quickstart.gzip", &entries, &options, 6)?;
    }
    let encode_time = started.elapsed();

    // Decode, as a receiver would: 1,500-byte reads into a buffer.
    let started = Instant::now();
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut buf = Vec::new();
    let mut per_mode = [0usize; 4];
    let mut errors = 0usize;
    let mut sample = None;
    for read in wire.chunks(1500) {
        buf.extend_from_slice(read);
        let mut used = 0;
        while let Decoded::Frame { frame, consumed } = decoder.decode(&buf[used..])? {
            used += consumed;
            let Frame::Request(request) = frame else { continue };
            let slot = request.mode() as usize;
            let plain;
            let events = if request.mode() == Mode::CompressedPackedForward {
                plain = request.decompress(64 << 20)?;
                Events::packed(&plain, request.event_depth())
            } else {
                request.events()
            };
            for event in events {
                match event {
                    Ok(e) => {
                        per_mode[slot] += 1;
                        if sample.is_none() && e.record.get("status")? == Some(Value::UInt(500)) {
                            sample = Some(format!("{} {} {:?}", request.tag(), e.time_display(), Value::Map(e.record)));
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
        }
        buf.drain(..used);
    }
    let decode_time = started.elapsed();

    println!("fluent-proto quick start: {EVENTS} events in each of the four modes\n");
    println!("{:<26} {:>10}", "mode", "events");
    for (name, n) in ["Message", "Forward", "PackedForward", "CompressedPackedForward"].iter().zip(per_mode) {
        println!("{name:<26} {n:>10}");
    }
    println!("\nfirst status-500 event: {}", sample.unwrap_or_default());
    let total = per_mode.iter().sum::<usize>();
    println!(
        "\nencoded {} events ({:.1} MiB, Message mode {:.1} bytes/event) in {:.1} ms: {:.2} M events/s",
        total,
        wire.len() as f64 / 1048576.0,
        message_bytes as f64 / EVENTS as f64,
        encode_time.as_secs_f64() * 1e3,
        total as f64 / encode_time.as_secs_f64() / 1e6
    );
    println!(
        "decoded {} events in {:.1} ms: {:.2} M events/s, {} malformed",
        total,
        decode_time.as_secs_f64() * 1e3,
        total as f64 / decode_time.as_secs_f64() / 1e6,
        errors
    );
    if total != 4 * EVENTS || errors != 0 {
        return Err("not every event came back".into());
    }

    if let Ok(host) = std::env::var("FLUENT_HOST") {
        let port = std::env::var("FLUENT_PORT").unwrap_or_else(|_| "24224".into());
        let mut stream = std::net::TcpStream::connect(format!("{host}:{port}"))?;
        stream.write_all(&wire)?;
        stream.flush()?;
        println!("sent {} bytes to {host}:{port}", wire.len());
    }
    Ok(())
}

/// Formats an event's time for the demo's output.
trait TimeDisplay {
    fn time_display(&self) -> String;
}

impl TimeDisplay for fluent_proto::Event<'_> {
    fn time_display(&self) -> String {
        match self.time {
            Timestamp::Seconds(s) => s.to_string(),
            Timestamp::Event(t) => t.to_string(),
        }
    }
}
