//! The AsyncSender's producer design, measured: one ring behind a short
//! mutex (what the AsyncSender does) versus one ring per emitting thread
//! drained round-robin by one consumer (the Quill/NanoLog design). Both
//! encode the same 5-field record in place into fluent-queue rings; one
//! consumer thread drains and discards. 1, 2 and 4 emitting threads.
//!
//! Run: `cargo bench -p fluent-std --bench producer_design`
#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Instant;

use fluent_proto::{CountingSink, SliceSink, Timestamp, encode_entry};
use fluent_queue::{Consumer, HeapRing, Mode, Producer};

#[path = "common/record.rs"]
mod record;
use record::RECORD;
const TOTAL: usize = 1_000_000;
const RING_BYTES: usize = 4 << 20;
const RING_FRAMES: usize = 65_536;

type P = Producer<Arc<HeapRing>>;

/// Encodes one event into `producer`, spinning while full.
fn emit(producer: &mut P) {
    let time = Timestamp::Seconds(1_700_000_000);
    let mut count = CountingSink::default();
    let len = encode_entry(&mut count, time, &RECORD).unwrap();
    loop {
        if let Ok(mut grant) = producer.reserve(len) {
            encode_entry(&mut SliceSink::new(grant.as_mut_slice()), time, &RECORD).unwrap();
            grant.commit(len);
            break;
        }
        std::hint::spin_loop();
    }
}

fn drain(consumers: &mut [Consumer<Arc<HeapRing>>], stop: &AtomicBool) {
    loop {
        let mut took = 0;
        for c in consumers.iter_mut() {
            if let Some(batch) = c.read() {
                took += batch.frames();
                std::hint::black_box(batch.as_slices());
                batch.release();
            }
        }
        if took == 0 {
            if stop.load(Ordering::Relaxed) && consumers.iter().all(|c| c.counters().frames == 0) {
                return;
            }
            std::hint::spin_loop();
        }
    }
}

fn percentiles(mut ns: Vec<u32>) -> (u32, u32, u32) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    (at(0.50), at(0.99), at(0.999))
}

/// Returns (events/s over all threads, latencies).
fn run(threads: usize, per_thread_rings: bool) -> (f64, Vec<u32>) {
    let per = TOTAL / threads;
    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut consumers = Vec::new();
    let mut own: Vec<Option<P>> = Vec::new();
    let shared: Option<Arc<Mutex<P>>> = if per_thread_rings {
        for _ in 0..threads {
            let (p, c) = HeapRing::new(Mode::Block, RING_BYTES / threads, RING_FRAMES / threads);
            own.push(Some(p));
            consumers.push(c);
        }
        None
    } else {
        let (p, c) = HeapRing::new(Mode::Block, RING_BYTES, RING_FRAMES);
        consumers.push(c);
        Some(Arc::new(Mutex::new(p)))
    };
    let stop_c = stop.clone();
    let drainer = thread::spawn(move || drain(&mut consumers, &stop_c));
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = barrier.clone();
            let shared = shared.clone();
            let mut mine = own.get_mut(i).and_then(Option::take);
            thread::spawn(move || {
                let mut lat = Vec::with_capacity(per);
                barrier.wait();
                for _ in 0..per {
                    // Timed the same way for both designs.
                    let t = Instant::now();
                    match (&mut mine, &shared) {
                        (Some(p), _) => emit(p),
                        (None, Some(lock)) => emit(&mut lock.lock().unwrap()),
                        (None, None) => unreachable!(),
                    }
                    lat.push(t.elapsed().as_nanos() as u32);
                }
                lat
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.join().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    drainer.join().unwrap();
    ((per * threads) as f64 / start.elapsed().as_secs_f64(), latencies)
}

fn main() {
    println!("producer design: {TOTAL} events, {} cores", thread::available_parallelism().map_or(0, |c| c.get()));
    println!(
        "\n| threads | design | events/s | emit p50 ns | p99 ns | p99.9 ns | per-thread rings / lock (events/s) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for threads in [1, 2, 4] {
        let (lock_rate, lock_lat) = run(threads, false);
        let (rings_rate, rings_lat) = run(threads, true);
        let (a, b, c) = percentiles(lock_lat);
        println!("| {threads} | one ring, short lock | {lock_rate:.0} | {a} | {b} | {c} | |");
        let (a, b, c) = percentiles(rings_lat);
        println!(
            "| {threads} | per-thread rings | {rings_rate:.0} | {a} | {b} | {c} | {:.2}x |",
            rings_rate / lock_rate
        );
    }
    println!("(latencies include one `Instant::now()` pair)");
}
