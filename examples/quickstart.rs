//! The quick start: sends a burst of events through the `AsyncSender` to a
//! Forward receiver and prints what arrived and how fast.
//!
//! Run: `cargo run --release --example quickstart`
//!
//! By default the receiver runs in this process on a free local port (no
//! Fluentd needed): it decodes every request with fluent-proto and counts
//! the events. With `FLUENT_HOST` (and optionally `FLUENT_PORT`, default
//! 24224) set, the events go to that server instead (Fluentd, Fluent Bit);
//! then only the sender's own counters are printed. Until the log catcher
//! lands, the in-process receiver is this example's own small loop.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use fluent_proto::{Decoded, Events, Frame, FrameDecoder, Limits, Mode, Value};
use fluent_std::AsyncSender;

#[derive(serde::Serialize)]
struct Access<'a> {
    host: &'a str,
    status: u16,
    latency_ms: f64,
    cached: bool,
    path: &'a str,
}

const EVENTS: u64 = 200_000;

/// What the in-process receiver saw.
#[derive(Default)]
struct Received {
    events: AtomicU64,
    requests: AtomicU64,
    samples: Mutex<Vec<String>>,
}

fn receive(listener: TcpListener, seen: Arc<Received>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let seen = seen.clone();
        thread::spawn(move || {
            let mut decoder = FrameDecoder::new(Limits::default());
            let (mut buf, mut read) = (Vec::new(), vec![0u8; 64 * 1024]);
            loop {
                let n = match stream.read(&mut read) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&read[..n]);
                let mut used = 0;
                while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(&buf[used..]) {
                    used += consumed;
                    let Frame::Request(request) = frame else { continue };
                    seen.requests.fetch_add(1, Ordering::Relaxed);
                    let plain;
                    let events = if request.mode() == Mode::CompressedPackedForward {
                        plain = request.decompress(64 << 20).unwrap_or_default();
                        Events::packed(&plain, request.event_depth())
                    } else {
                        request.events()
                    };
                    for event in events.flatten() {
                        let n = seen.events.fetch_add(1, Ordering::Relaxed);
                        if n.is_multiple_of(EVENTS / 4) {
                            let line = format!("{} {:?} {:?}", request.tag(), event.time, Value::Map(event.record));
                            seen.samples.lock().unwrap().push(line);
                        }
                    }
                }
                buf.drain(..used);
            }
        });
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let external = std::env::var("FLUENT_HOST").ok();
    let seen = Arc::new(Received::default());
    let (host, port) = match &external {
        Some(host) => (host.clone(), std::env::var("FLUENT_PORT").map_or(Ok(24224), |p| p.parse())?),
        None => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let port = listener.local_addr()?.port();
            let seen = seen.clone();
            thread::spawn(move || receive(listener, seen));
            ("127.0.0.1".to_owned(), port)
        }
    };
    println!("sending {EVENTS} events to {host}:{port} through fluent_std::AsyncSender (PackedForward batches)");

    let sender = AsyncSender::builder("quickstart")
        .sender(|s| s.host(host.as_str()).port(port).nanosecond_precision(true))
        .queue_maxsize(100_000)
        .build();
    let started = Instant::now();
    for i in 0..EVENTS {
        let path = ["/", "/orders", "/orders/42", "/login"][(i % 4) as usize];
        let record = Access {
            host: "web-1",
            status: if i % 50 == 0 { 500 } else { 200 },
            latency_ms: (i % 97) as f64 * 0.25,
            cached: i % 3 == 0,
            path,
        };
        sender.emit("access", &record)?;
    }
    let emitted_in = started.elapsed();
    let stats = sender.close_with(true, Duration::from_secs(30));
    let total = started.elapsed();

    if external.is_none() {
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.events.load(Ordering::Relaxed) < stats.sent && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        println!(
            "\nthe receiver decoded {} events in {} requests; a few of them:",
            seen.events.load(Ordering::Relaxed),
            seen.requests.load(Ordering::Relaxed)
        );
        for line in seen.samples.lock().unwrap().iter() {
            println!("  {line}");
        }
    }
    println!(
        "\nemit: {:.1} ms for {EVENTS} events ({:.0} ns per event on the caller's thread)",
        emitted_in.as_secs_f64() * 1e3,
        emitted_in.as_nanos() as f64 / EVENTS as f64
    );
    println!(
        "end to end: {:.1} ms, {:.2} M events/s",
        total.as_secs_f64() * 1e3,
        stats.sent as f64 / total.as_secs_f64() / 1e6
    );
    println!("sender stats: {stats:?}");
    let lost = stats.dropped_queue + stats.dropped_buffer + stats.unsent_at_close;
    if stats.sent != EVENTS || lost > 0 {
        return Err(format!("{lost} events were not delivered").into());
    }
    Ok(())
}
