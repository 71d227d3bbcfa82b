//! loom models of the ring's protocol: every interleaving of producer and
//! consumer (within a preemption bound) for push/pop, wrap-around,
//! reserve/commit/abandon, overwrite while the consumer reads, and the
//! counters. loom also flags any byte or slot accessed by both threads
//! without a happens-before edge.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p fluent-queue --test loom --release`
#![cfg(loom)]

use loom::thread;

use fluent_queue::{HeapRing, Mode, ReserveError};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Pops until `want` frames arrived; returns them.
fn drain(consumer: &mut fluent_queue::Consumer<std::sync::Arc<HeapRing>>, want: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    while got.len() < want {
        let mut out = [0u8; 8];
        match consumer.pop(&mut out) {
            Ok(n) => got.push(out[..n].to_vec()),
            Err(_) => thread::yield_now(),
        }
    }
    got
}

#[test]
fn push_pop_with_wrap_around() {
    model(|| {
        // 7 bytes, three 3-byte frames: the third must wrap to offset 0.
        let (mut producer, mut consumer) = HeapRing::new(Mode::Block, 7, 2);
        let writer = thread::spawn(move || {
            for frame in [b"abc", b"def", b"ghi"] {
                while producer.push(frame).is_err() {
                    thread::yield_now();
                }
            }
            producer
        });
        let got = drain(&mut consumer, 3);
        assert_eq!(got, [b"abc".to_vec(), b"def".to_vec(), b"ghi".to_vec()]);
        let producer = writer.join().unwrap();
        let c = producer.counters();
        assert_eq!((c.committed, c.consumed, c.frames, c.bytes), (3, 3, 0, 0));
    });
}

#[test]
fn reserve_commit_and_abandon() {
    model(|| {
        let (mut producer, mut consumer) = HeapRing::new(Mode::Block, 8, 3);
        let writer = thread::spawn(move || {
            let mut g = producer.reserve(4).unwrap();
            g.write_at(0, b"xy");
            g.commit(2);
            producer.reserve(3).unwrap().abandon();
            let mut g = producer.reserve(2).unwrap();
            g.write_at(0, b"zz");
            g.commit(2);
            producer
        });
        let got = drain(&mut consumer, 2);
        assert_eq!(got, [b"xy".to_vec(), b"zz".to_vec()]);
        let c = writer.join().unwrap().counters();
        assert_eq!((c.committed, c.consumed, c.rejected), (2, 2, 0));
    });
}

#[test]
fn overwrite_while_the_consumer_reads() {
    model(|| {
        // Room for two 3-byte frames; the producer writes three, so it must
        // evict, while the consumer borrows and copies in place.
        let (producer, mut consumer) = HeapRing::new(Mode::Overwrite, 6, 2);
        let evicted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = evicted.clone();
        let mut producer = producer.on_evict(move |f: &[u8]| sink.lock().unwrap().push(f.to_vec()));
        let writer = thread::spawn(move || {
            let mut rejected = Vec::new();
            for frame in [b"aaa", b"bbb", b"ccc"] {
                match producer.push(frame) {
                    Ok(()) => {}
                    Err(e) => {
                        assert_eq!(e.reason, ReserveError::Busy);
                        rejected.push(frame.to_vec());
                    }
                }
            }
            (producer, rejected)
        });
        let mut consumed = Vec::new();
        if let Some(grant) = consumer.read() {
            for i in 0..grant.frames() {
                let mut out = vec![0u8; grant.frame_len(i)];
                grant.copy_frame(i, &mut out);
                consumed.push(out);
            }
            grant.release();
        }
        let (producer, rejected) = writer.join().unwrap();
        // Whatever is left after the writer is done.
        while let Some(grant) = consumer.read() {
            let mut out = vec![0u8; grant.frame_len(0)];
            grant.copy_frame(0, &mut out);
            consumed.push(out);
            grant.release_frames(1);
        }
        let evicted = evicted.lock().unwrap().clone();
        // Every frame exactly once, intact: consumed, evicted or rejected.
        let mut all: Vec<Vec<u8>> = consumed.iter().chain(&evicted).chain(&rejected).cloned().collect();
        all.sort();
        assert_eq!(all, [b"aaa".to_vec(), b"bbb".to_vec(), b"ccc".to_vec()]);
        // Consumed frames keep their order.
        let mut sorted = consumed.clone();
        sorted.sort();
        assert_eq!(consumed, sorted);
        let c = producer.counters();
        assert_eq!(c.committed, c.consumed + c.evicted);
        assert_eq!(c.committed + c.rejected, 3);
        assert_eq!(
            (c.consumed, c.evicted, c.rejected),
            (consumed.len() as u64, evicted.len() as u64, rejected.len() as u64)
        );
    });
}

#[test]
fn counters_read_from_the_other_side() {
    model(|| {
        let (mut producer, consumer) = HeapRing::new(Mode::Block, 4, 2);
        let writer = thread::spawn(move || {
            producer.push(b"ab").unwrap();
            producer.push(b"cd").unwrap();
        });
        let c = consumer.counters();
        // A snapshot may be taken mid-stream but is never inconsistent.
        assert!(c.frames <= 2 && c.committed <= 2 && c.bytes <= 4);
        writer.join().unwrap();
        let c = consumer.counters();
        assert_eq!((c.committed, c.frames, c.bytes), (2, 2, 4));
    });
}
