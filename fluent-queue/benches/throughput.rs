//! fluent-queue side by side with the queues a user would pick instead, in
//! one run, printed as Markdown tables with ratios.
//!
//! Run: `cargo bench -p fluent-queue --bench throughput`
//!
//! 1. Cross-thread throughput, 64- and 256-byte frames, block mode (the
//!    producer spins while full): vs rtrb (a byte ring moving the same bytes
//!    through its chunk API), crossbeam `ArrayQueue<[u8; N]>` and heapless
//!    `spsc::Queue<[u8; N]>`. Every consumer takes all that is available and
//!    pauses briefly after a small take (`backoff`). Median of 9 runs,
//!    interleaved (one run of each queue per round).
//! 2. Overwrite mode under a slow consumer vs `ArrayQueue::force_push`:
//!    producer throughput (median of 9 interleaved rounds; the ratio is the
//!    median of each round's own ratio, with its range), and push latency
//!    p50/p99/p99.9 while the consumer works and while it stalls (sleeps).
//! 3. Single-threaded push + pop per frame (rounds interleaved, median of
//!    9).
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use fluent_queue::{HeapRing, Mode};

const RING_BYTES: usize = 64 * 1024;
const RUNS: usize = 9;

/// Every consumer uses the same strategy: take what is there; if that was
/// fewer than 16 frames, pause briefly before polling again (so the consumer
/// does not hammer the producer's cache line for one frame at a time).
#[inline]
fn backoff(frames_taken: usize) {
    if frames_taken < 16 {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Runs `producer` and `consumer` on two threads; returns frames/s.
fn cross_thread(frames: u64, producer: impl FnOnce() + Send + 'static, consumer: impl FnOnce() -> u64) -> f64 {
    let start = Instant::now();
    let handle = thread::spawn(producer);
    let checksum = consumer();
    handle.join().unwrap();
    black_box(checksum);
    frames as f64 / start.elapsed().as_secs_f64()
}

fn ours<const N: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = HeapRing::new(Mode::Block, RING_BYTES, RING_BYTES / N);
    cross_thread(
        frames,
        move || {
            let frame = [7u8; N];
            for _ in 0..frames {
                while p.push(&frame).is_err() {
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < frames {
                let taken = match c.read() {
                    Some(batch) => {
                        let (a, b) = batch.as_slices();
                        sum += u64::from(a[0]) + b.len() as u64;
                        let n = batch.frames();
                        batch.release();
                        n
                    }
                    None => 0,
                };
                got += taken as u64;
                backoff(taken);
            }
            sum
        },
    )
}

fn rtrb<const N: usize>(frames: u64) -> f64 {
    let (mut p, mut c) = rtrb::RingBuffer::<u8>::new(RING_BYTES);
    cross_thread(
        frames,
        move || {
            let frame = [7u8; N];
            for _ in 0..frames {
                loop {
                    if let Ok(mut chunk) = p.write_chunk(N) {
                        let (a, b) = chunk.as_mut_slices();
                        a.copy_from_slice(&frame[..a.len()]);
                        b.copy_from_slice(&frame[a.len()..]);
                        chunk.commit_all();
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let total = frames * N as u64;
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < total {
                let n = c.slots();
                if n > 0 {
                    let chunk = c.read_chunk(n).unwrap();
                    let (a, b) = chunk.as_slices();
                    sum += u64::from(a[0]) + b.len() as u64;
                    got += n as u64;
                    chunk.commit_all();
                }
                backoff(n / N);
            }
            sum
        },
    )
}

fn array_queue<const N: usize>(frames: u64) -> f64 {
    let q = Arc::new(ArrayQueue::<[u8; N]>::new(RING_BYTES / N));
    let qp = q.clone();
    cross_thread(
        frames,
        move || {
            for _ in 0..frames {
                let mut frame = [7u8; N];
                while let Err(back) = qp.push(frame) {
                    frame = back;
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < frames {
                let mut taken = 0;
                while let Some(f) = q.pop() {
                    sum += u64::from(f[0]);
                    taken += 1;
                }
                got += taken as u64;
                backoff(taken);
            }
            sum
        },
    )
}

fn heapless_spsc<const N: usize, const SLOTS: usize>(frames: u64) -> f64 {
    let queue: &'static mut heapless::spsc::Queue<[u8; N], SLOTS> = Box::leak(Box::new(heapless::spsc::Queue::new()));
    let (mut p, mut c) = queue.split();
    cross_thread(
        frames,
        move || {
            for _ in 0..frames {
                let mut frame = [7u8; N];
                while let Err(back) = p.enqueue(frame) {
                    frame = back;
                    std::hint::spin_loop();
                }
            }
        },
        move || {
            let mut got = 0u64;
            let mut sum = 0u64;
            while got < frames {
                let mut taken = 0;
                while let Some(f) = c.dequeue() {
                    sum += u64::from(f[0]);
                    taken += 1;
                }
                got += taken as u64;
                backoff(taken);
            }
            sum
        },
    )
}

fn throughput_table() {
    for (size, frames) in [(64usize, 4_000_000u64), (256, 1_000_000)] {
        type Bench = (&'static str, fn(u64) -> f64);
        let benches: [Bench; 4] = if size == 64 {
            [
                ("fluent-queue Ring (block mode, batch read)", ours::<64>),
                ("rtrb 0.3 byte ring, chunk API", rtrb::<64>),
                ("crossbeam ArrayQueue<[u8; 64]>", array_queue::<64>),
                ("heapless spsc::Queue<[u8; 64], 1024>", heapless_spsc::<64, 1024>),
            ]
        } else {
            [
                ("fluent-queue Ring (block mode, batch read)", ours::<256>),
                ("rtrb 0.3 byte ring, chunk API", rtrb::<256>),
                ("crossbeam ArrayQueue<[u8; 256]>", array_queue::<256>),
                ("heapless spsc::Queue<[u8; 256], 256>", heapless_spsc::<256, 256>),
            ]
        };
        // Rounds interleave the queues, so that a change in the machine's
        // load during the run affects them alike.
        let mut rates = vec![Vec::new(); benches.len()];
        for _ in 0..RUNS {
            for (i, (_, bench)) in benches.iter().enumerate() {
                rates[i].push(bench(frames));
            }
        }
        let rows: Vec<(&str, f64)> = benches.iter().zip(rates).map(|((name, _), r)| (*name, median(r))).collect();
        let ours = rows[0].1;
        println!("\n| cross-thread, {size}-byte frames, 64 KiB | frames/s | MB/s | fluent-queue / this |");
        println!("|---|---:|---:|---:|");
        for (name, rate) in &rows {
            println!("| {name} | {:.2} M | {:.0} | {:.2}x |", rate / 1e6, rate * size as f64 / 1e6, ours / rate);
        }
    }
}

/// Percentiles of push latencies in ns.
fn percentiles(mut ns: Vec<u32>) -> (u32, u32, u32) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    (at(0.50), at(0.99), at(0.999))
}

/// Producer pushes `frames` 64-byte frames as fast as it can; the consumer
/// pops one frame per ~2 µs of busy work, and stalls (sleeps) for the second
/// half of the run. Returns (push rate, latencies consumer working,
/// latencies consumer stalled).
fn overwrite_run(
    frames: usize,
    timed: bool,
    mut push: impl FnMut(),
    pop: impl FnMut() -> bool + Send + 'static,
) -> (f64, Vec<u32>, Vec<u32>) {
    let stall = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (stall_c, stop_c) = (stall.clone(), stop.clone());
    let mut pop = pop;
    let consumer = thread::spawn(move || {
        while !stop_c.load(Ordering::Relaxed) {
            if stall_c.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            pop();
            let until = Instant::now() + Duration::from_micros(2);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    });
    let mut working = Vec::with_capacity(if timed { frames / 2 } else { 0 });
    let mut stalled = Vec::with_capacity(if timed { frames / 2 } else { 0 });
    let start = Instant::now();
    for i in 0..frames {
        if i == frames / 2 {
            stall.store(true, Ordering::Relaxed);
        }
        // One call site for `push`, so that it is inlined alike in timed and
        // untimed runs.
        let t = timed.then(Instant::now);
        push();
        if let Some(t) = t {
            let ns = t.elapsed().as_nanos() as u32;
            if i < frames / 2 { working.push(ns) } else { stalled.push(ns) }
        }
    }
    let rate = frames as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    consumer.join().unwrap();
    (rate, working, stalled)
}

fn overwrite_table() {
    // Throughput runs are long (about 40 ms for the fastest queue), so that
    // the consumer thread's start-up, which overlaps the producer's timed
    // loop, is a small part of every run; latency runs time every push.
    const THROUGHPUT_FRAMES: usize = 10_000_000;
    const LATENCY_FRAMES: usize = 2_000_000;
    let frame = [7u8; 64];
    // Each push's outcome goes through `black_box` as the caller would look
    // at it (did it succeed, did it evict), not as a whole return value
    // copied to memory: `Result<(), PushError>` is 40 bytes and
    // `Option<[u8; 64]>` 65, and copying them cost about as much as our
    // whole push.
    let ours_run = |frames: usize, timed: bool, batch: usize| {
        let (mut p, mut c) = HeapRing::with_eviction_batch(Mode::Overwrite, RING_BYTES, RING_BYTES / 64, batch);
        let mut out = [0u8; 64];
        overwrite_run(frames, timed, || _ = black_box(p.push(&frame).is_ok()), move || c.pop(&mut out).is_ok())
    };
    let theirs_run = |frames: usize, timed: bool| {
        let q = Arc::new(ArrayQueue::<[u8; 64]>::new(RING_BYTES / 64));
        let qc = q.clone();
        overwrite_run(frames, timed, || _ = black_box(q.force_push(frame).is_none()), move || qc.pop().is_some())
    };
    // Throughput: rounds interleave the three, as in the first table, and
    // each round's ratios compare runs made moments apart, so a slow spell
    // of this shared machine that spans a round cancels out of its ratios.
    let (mut batch1, mut batch32, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        batch1.push(ours_run(THROUGHPUT_FRAMES, false, 1).0);
        batch32.push(ours_run(THROUGHPUT_FRAMES, false, 32).0);
        theirs.push(theirs_run(THROUGHPUT_FRAMES, false).0);
    }
    let mut rows = Vec::new();
    for (name, batch, rates) in [
        ("fluent-queue Ring, Mode::Overwrite (eviction batch 1, Python's semantics)", 1, batch1),
        ("fluent-queue Ring, Mode::Overwrite, eviction batch 32", 32, batch32),
    ] {
        let ratios: Vec<f64> = rates.iter().zip(&theirs).map(|(ours, theirs)| ours / theirs).collect();
        let (_, working, stalled) = ours_run(LATENCY_FRAMES, true, batch);
        rows.push((name, median(rates), ratio_summary(ratios), percentiles(working), percentiles(stalled)));
    }
    let (_, working, stalled) = theirs_run(LATENCY_FRAMES, true);
    rows.push((
        "crossbeam ArrayQueue::force_push",
        median(theirs),
        (1.0, 1.0, 1.0),
        percentiles(working),
        percentiles(stalled),
    ));

    println!(
        "\n| overwrite, 64-byte frames, slow then stalled consumer | pushes/s | this / force_push, median (min-max) of {RUNS} rounds | push p50 / p99 / p99.9 ns, consumer working | push p50 / p99 / p99.9 ns, consumer stalled |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, rate, (ratio, low, high), w, s) in &rows {
        println!(
            "| {name} | {:.2} M | {ratio:.2}x ({low:.2}-{high:.2}) | {} / {} / {} | {} / {} / {} |",
            rate / 1e6,
            w.0,
            w.1,
            w.2,
            s.0,
            s.1,
            s.2
        );
    }
    println!("(latencies include one `Instant::now()` pair, about 20-40 ns on this machine)");
}

/// Median, lowest and highest of per-round ratios.
fn ratio_summary(ratios: Vec<f64>) -> (f64, f64, f64) {
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(0.0, f64::max);
    (median(ratios), low, high)
}

fn single_thread_table() {
    const OPS: u64 = 10_000_000;
    let frame = [7u8; 64];
    let mut out = [0u8; 64];

    let (mut p, mut c) = HeapRing::new(Mode::Block, RING_BYTES, 1024);
    let ours = move |out: &mut [u8; 64]| {
        for _ in 0..OPS {
            p.push(black_box(&frame)).unwrap();
            black_box(c.pop(out).unwrap());
        }
    };
    let (mut p, mut c) = HeapRing::new(Mode::Overwrite, RING_BYTES, 1024);
    let ours_overwrite = move |out: &mut [u8; 64]| {
        for _ in 0..OPS {
            p.push(black_box(&frame)).unwrap();
            black_box(c.pop(out).unwrap());
        }
    };
    let (mut rp, mut rc) = rtrb::RingBuffer::<u8>::new(RING_BYTES);
    let rtrb = move |out: &mut [u8; 64]| {
        for _ in 0..OPS {
            let mut chunk = rp.write_chunk(64).unwrap();
            let (a, b) = chunk.as_mut_slices();
            a.copy_from_slice(&frame[..a.len()]);
            b.copy_from_slice(&frame[a.len()..]);
            chunk.commit_all();
            let chunk = rc.read_chunk(64).unwrap();
            let (a, b) = chunk.as_slices();
            out[..a.len()].copy_from_slice(a);
            out[a.len()..].copy_from_slice(b);
            chunk.commit_all();
            black_box(&out);
        }
    };
    let q = ArrayQueue::<[u8; 64]>::new(1024);
    let array_queue = move |_: &mut [u8; 64]| {
        for _ in 0..OPS {
            q.push(black_box(frame)).unwrap();
            black_box(q.pop().unwrap());
        }
    };
    let hq: &'static mut heapless::spsc::Queue<[u8; 64], 1024> = Box::leak(Box::new(heapless::spsc::Queue::new()));
    let (mut hp, mut hc) = hq.split();
    let heapless = move |_: &mut [u8; 64]| {
        for _ in 0..OPS {
            hp.enqueue(black_box(frame)).unwrap();
            black_box(hc.dequeue().unwrap());
        }
    };
    type Bench = (&'static str, Box<dyn FnMut(&mut [u8; 64])>);
    let mut benches: [Bench; 5] = [
        ("fluent-queue push + pop (copy out)", Box::new(ours)),
        ("fluent-queue push + pop, Mode::Overwrite", Box::new(ours_overwrite)),
        ("rtrb write_chunk + read_chunk", Box::new(rtrb)),
        ("crossbeam ArrayQueue push + pop", Box::new(array_queue)),
        ("heapless spsc enqueue + dequeue", Box::new(heapless)),
    ];
    // Rounds interleave the queues, as in the other tables.
    let mut times = vec![Vec::new(); benches.len()];
    for _ in 0..RUNS {
        for (i, (_, bench)) in benches.iter_mut().enumerate() {
            let t = Instant::now();
            bench(&mut out);
            times[i].push(t.elapsed().as_nanos() as f64 / OPS as f64);
        }
    }
    let rows: Vec<(&str, f64)> = benches.iter().zip(times).map(|((name, _), t)| (*name, median(t))).collect();
    let ours = rows[0].1;
    println!("\n| single thread, 64-byte frame | ns per push + pop | this / fluent-queue |");
    println!("|---|---:|---:|");
    for (name, ns) in &rows {
        println!("| {name} | {ns:.1} | {:.2}x |", ns / ours);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter selects a table.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
    println!("fluent-queue benchmarks ({} cores available)", thread::available_parallelism().map_or(0, |n| n.get()));
    if "throughput".contains(&filter) || filter.is_empty() {
        throughput_table();
    }
    if "overwrite".contains(&filter) || filter.is_empty() {
        overwrite_table();
    }
    if "single".contains(&filter) || filter.is_empty() {
        single_thread_table();
    }
}
