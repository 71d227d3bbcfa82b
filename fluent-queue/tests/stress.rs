//! Two threads, hundreds of thousands of frames, exact accounting: every frame
//! offered is either consumed intact and in order, or counted as evicted or
//! rejected, exactly once. Each frame carries its sequence number, its length
//! and a checksum, so a torn or misplaced frame is detected.
#![cfg(not(loom))]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use fluent_queue::{HeapRing, Mode, ReserveError};

const FRAMES: u64 = 100_000;

fn frame(seq: u64) -> Vec<u8> {
    let len = 16 + (seq.wrapping_mul(2654435761) % 200) as usize;
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(&(len as u32).to_le_bytes());
    f.resize(len - 4, (seq % 251) as u8);
    let sum: u32 = f.iter().map(|&b| u32::from(b)).sum();
    f.extend_from_slice(&sum.to_le_bytes());
    f
}

/// Checks a frame's integrity and returns its sequence number.
fn check(f: &[u8]) -> u64 {
    assert!(f.len() >= 16, "short frame");
    let seq = u64::from_le_bytes(f[..8].try_into().unwrap());
    let len = u32::from_le_bytes(f[8..12].try_into().unwrap()) as usize;
    assert_eq!(len, f.len(), "frame {seq} has the wrong length");
    let sum: u32 = f[..len - 4].iter().map(|&b| u32::from(b)).sum();
    assert_eq!(sum.to_le_bytes(), f[len - 4..], "frame {seq} is torn");
    assert_eq!(f, &frame(seq)[..], "frame {seq} differs");
    seq
}

/// Runs producer and consumer threads; returns (consumed seqs, evicted seqs,
/// rejected seqs, counters).
fn run(mode: Mode, capacity: usize, max_frames: usize, slow_consumer: bool) {
    // One spinning pair at a time: several would thrash a 2-core machine.
    static SERIAL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (producer, mut consumer) = HeapRing::new(mode, capacity, max_frames);
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let sink = evicted.clone();
    let mut producer = producer.on_evict(move |f: &[u8]| sink.lock().unwrap().push(check(f)));

    let writer = thread::spawn(move || {
        let mut rejected = Vec::new();
        let mut attempts = 0u64;
        for seq in 0..FRAMES {
            let data = frame(seq);
            loop {
                attempts += 1;
                match producer.push(&data) {
                    Ok(()) => break,
                    // Block mode: the layer above waits; here, by yielding.
                    Err(e) if e.reason == ReserveError::Full => thread::yield_now(),
                    // Overwrite mode: the consumer held the oldest frames.
                    Err(e) if e.reason == ReserveError::Busy => {
                        rejected.push(seq);
                        break;
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        (rejected, attempts, producer)
    });

    let mut consumed = Vec::new();
    let mut round = 0u64;
    let mut out = vec![0u8; capacity];
    loop {
        round += 1;
        let got_any = match round % 3 {
            0 => match consumer.pop(&mut out) {
                Ok(n) => {
                    consumed.push(check(&out[..n]));
                    true
                }
                Err(_) => false,
            },
            _ => match consumer.read() {
                Some(grant) => {
                    for f in grant.iter() {
                        consumed.push(check(f));
                    }
                    let (a, b) = grant.as_slices();
                    assert_eq!(a.len() + b.len(), grant.iter().map(<[u8]>::len).sum::<usize>());
                    if round % 3 == 1 {
                        grant.release();
                    } else {
                        // Release only the first half; the rest is read again.
                        let keep = grant.frames() / 2;
                        let n = grant.frames() - keep;
                        consumed.truncate(consumed.len() - keep);
                        grant.release_frames(n);
                    }
                    true
                }
                None => false,
            },
        };
        if slow_consumer && round.is_multiple_of(64) {
            thread::sleep(Duration::from_micros(50));
        }
        if !got_any && writer.is_finished() && consumer.counters().frames == 0 {
            break;
        }
    }
    let (rejected, attempts, producer) = writer.join().unwrap();
    let evicted = evicted.lock().unwrap().clone();
    let c = producer.counters();

    // Order: consumed sequence numbers strictly increase.
    assert!(consumed.windows(2).all(|w| w[0] < w[1]), "frames out of order");
    // Exactly-once accounting over every frame offered.
    let mut all: Vec<u64> = consumed.iter().chain(&evicted).chain(&rejected).copied().collect();
    all.sort_unstable();
    let unique: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a frame was counted twice");
    assert_eq!(all.len() as u64, FRAMES, "a frame was lost");
    // The ring's own counters agree.
    assert_eq!(c.consumed, consumed.len() as u64);
    assert_eq!(c.evicted, evicted.len() as u64);
    assert_eq!(c.committed, c.consumed + c.evicted);
    assert_eq!(c.committed + c.rejected, attempts);
    assert_eq!((c.frames, c.bytes), (0, 0));
    if mode == Mode::Block {
        assert_eq!(consumed.len() as u64, FRAMES, "block mode loses nothing");
    }
    eprintln!(
        "{mode:?} cap={capacity} slow={slow_consumer}: consumed {} evicted {} rejected {} (attempts {attempts})",
        consumed.len(),
        evicted.len(),
        rejected.len()
    );
}

#[test]
fn block_mode_delivers_everything_in_order() {
    run(Mode::Block, 4096, 64, false);
}

#[test]
fn block_mode_small_ring() {
    run(Mode::Block, 300, 4, false);
}

#[test]
fn overwrite_mode_accounts_for_every_frame() {
    run(Mode::Overwrite, 4096, 64, true);
}

#[test]
fn overwrite_mode_small_ring_fast_consumer() {
    run(Mode::Overwrite, 600, 8, false);
}
