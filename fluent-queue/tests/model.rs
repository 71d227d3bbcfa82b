//! Model-based property tests: random operation sequences against a simple
//! reference model (a `VecDeque` of frames plus a byte-occupancy map that
//! places frames by the documented rule), in both modes, with capacities
//! near the frame sizes.

#![cfg(not(loom))]

use std::collections::VecDeque;

use fluent_queue::{HeapRing, Mode, PopError, ReserveError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Pop,
    /// Borrow everything, check it, release the first `n % (frames + 1)`.
    ReadRelease(usize),
    /// Reserve `len`, commit `used` of it (0 abandons).
    ReserveCommit(usize, usize),
    /// Push while a read borrow is held (overwrite: may be refused as Busy).
    PushWhileReading(usize),
}

struct Model {
    eviction_batch: usize,
    capacity: usize,
    max_frames: usize,
    mode: Mode,
    used: Vec<bool>,
    frames: VecDeque<(usize, Vec<u8>)>,
    wpos: usize,
    committed: u64,
    consumed: u64,
    evicted: u64,
    rejected: u64,
    evicted_frames: Vec<Vec<u8>>,
}

impl Model {
    fn fits_at(&self, at: usize, len: usize) -> bool {
        at + len <= self.capacity && self.used[at..at + len].iter().all(|u| !u)
    }

    /// The documented placement: right after the newest frame ever placed,
    /// else at 0.
    fn place(&self, len: usize) -> Option<usize> {
        if self.frames.len() >= self.max_frames {
            return None;
        }
        if self.fits_at(self.wpos, len) {
            Some(self.wpos)
        } else if self.fits_at(0, len) {
            Some(0)
        } else {
            None
        }
    }

    fn evict_oldest(&mut self) {
        let (at, data) = self.frames.pop_front().unwrap();
        self.used[at..at + data.len()].iter_mut().for_each(|u| *u = false);
        self.evicted += 1;
        self.evicted_frames.push(data);
    }

    /// Returns where the frame goes, or the error the ring must report.
    fn reserve(&mut self, len: usize, reading: bool) -> Result<usize, ReserveError> {
        if len == 0 {
            return Err(ReserveError::Empty);
        }
        if len > self.capacity {
            return Err(ReserveError::TooLarge { len, capacity: self.capacity });
        }
        if let Some(at) = self.place(len) {
            return Ok(at);
        }
        if self.mode == Mode::Block {
            return Err(ReserveError::Full);
        }
        if reading {
            return Err(ReserveError::Busy);
        }
        let mut evicted = 0;
        loop {
            self.evict_oldest();
            evicted += 1;
            if let Some(at) = self.place(len) {
                // At least the configured batch, while frames remain.
                while evicted < self.eviction_batch && !self.frames.is_empty() {
                    self.evict_oldest();
                    evicted += 1;
                }
                return Ok(self.place(len).unwrap_or(at));
            }
        }
    }

    fn commit(&mut self, at: usize, data: Vec<u8>) {
        self.used[at..at + data.len()].iter_mut().for_each(|u| *u = true);
        self.wpos = at + data.len();
        self.frames.push_back((at, data));
        self.committed += 1;
    }

    fn release(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..n {
            let (at, data) = self.frames.pop_front().unwrap();
            self.used[at..at + data.len()].iter_mut().for_each(|u| *u = false);
            out.push(data);
            self.consumed += 1;
        }
        out
    }
}

fn frame(seq: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

fn run(mode: Mode, capacity: usize, max_frames: usize, eviction_batch: usize, ops: Vec<Op>) {
    let evicted = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = evicted.clone();
    let (producer, mut consumer) = HeapRing::with_eviction_batch(mode, capacity, max_frames, eviction_batch);
    let mut producer = producer.on_evict(move |f: &[u8]| sink.borrow_mut().push(f.to_vec()));
    let mut model = Model {
        eviction_batch,
        capacity,
        max_frames,
        mode,
        used: vec![false; capacity],
        frames: VecDeque::new(),
        wpos: 0,
        committed: 0,
        consumed: 0,
        evicted: 0,
        rejected: 0,
        evicted_frames: Vec::new(),
    };
    let mut seq = 0u64;
    for op in ops {
        seq += 1;
        match op {
            Op::Push(len) => {
                let data = frame(seq, len);
                let expected = model.reserve(len, false);
                match (producer.push(&data), expected) {
                    (Ok(()), Ok(at)) => model.commit(at, data),
                    (Err(e), Err(m)) => {
                        assert_eq!(e.reason, m);
                        assert_eq!(e.frame, &data[..]);
                        model.rejected += 1;
                    }
                    (got, want) => panic!("push {len}: ring {got:?}, model {want:?}"),
                }
            }
            Op::PushWhileReading(len) => {
                let data = frame(seq, len);
                let grant = consumer.read();
                let reading = grant.is_some();
                let expected = model.reserve(len, reading);
                let got = producer.push(&data);
                drop(grant);
                match (got, expected) {
                    (Ok(()), Ok(at)) => model.commit(at, data),
                    (Err(e), Err(m)) => {
                        assert_eq!(e.reason, m);
                        model.rejected += 1;
                    }
                    (got, want) => panic!("push-while-reading {len}: ring {got:?}, model {want:?}"),
                }
            }
            Op::Pop => {
                let mut out = vec![0u8; capacity];
                match consumer.pop(&mut out) {
                    Ok(n) => assert_eq!(&out[..n], &model.release(1)[0][..]),
                    Err(PopError::Empty) => assert!(model.frames.is_empty()),
                    Err(e) => panic!("pop: {e:?}"),
                }
            }
            Op::ReadRelease(n) => match consumer.read() {
                None => assert!(model.frames.is_empty()),
                Some(grant) => {
                    assert_eq!(grant.frames(), model.frames.len());
                    let all: Vec<Vec<u8>> = grant.iter().map(<[u8]>::to_vec).collect();
                    let expected: Vec<Vec<u8>> = model.frames.iter().map(|(_, d)| d.clone()).collect();
                    assert_eq!(all, expected);
                    let (a, b) = grant.as_slices();
                    assert_eq!([a, b].concat(), expected.concat(), "two slices hold every byte in order");
                    assert!(!a.is_empty(), "the first slice holds data");
                    let k = n % (grant.frames() + 1);
                    grant.release_frames(k);
                    model.release(k);
                }
            },
            Op::ReserveCommit(len, used) => {
                let expected = model.reserve(len, false);
                match (producer.reserve(len), expected) {
                    (Ok(mut grant), Ok(at)) => {
                        let used = used % (len + 1);
                        let data = frame(seq, used);
                        grant.as_mut_slice()[..used].copy_from_slice(&data);
                        grant.commit(used);
                        if used > 0 {
                            model.commit(at, data);
                        }
                    }
                    (Err(e), Err(m)) => {
                        assert_eq!(e, m);
                        model.rejected += 1;
                    }
                    (got, want) => panic!("reserve {len}: ring {:?}, model {want:?}", got.map(|g| g.len())),
                }
            }
        }
        let c = producer.counters();
        assert_eq!(
            (c.committed, c.consumed, c.evicted, c.rejected, c.frames),
            (model.committed, model.consumed, model.evicted, model.rejected, model.frames.len() as u64)
        );
        assert_eq!(c.bytes, model.frames.iter().map(|(_, d)| d.len() as u64).sum::<u64>());
        assert_eq!(c.committed, c.consumed + c.evicted + c.frames);
        assert_eq!(*evicted.borrow(), model.evicted_frames, "evicted frames reach the handler, oldest first");
    }
}

fn ops(capacity: usize) -> impl Strategy<Value = Vec<Op>> {
    let len = 0..=capacity + 2;
    proptest::collection::vec(
        prop_oneof![
            4 => len.clone().prop_map(Op::Push),
            2 => Just(Op::Pop),
            1 => any::<usize>().prop_map(Op::ReadRelease),
            1 => (len.clone(), any::<usize>()).prop_map(|(l, u)| Op::ReserveCommit(l, u)),
            1 => len.prop_map(Op::PushWhileReading),
        ],
        1..120,
    )
}

fn config() -> impl Strategy<Value = (usize, usize)> {
    (1usize..40, 1usize..10)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn block_mode_matches_the_model(((capacity, max_frames), ops) in config().prop_flat_map(|c| (Just(c), ops(c.0)))) {
        run(Mode::Block, capacity, max_frames, 1, ops);
    }

    #[test]
    fn overwrite_mode_matches_the_model(((capacity, max_frames), ops) in config().prop_flat_map(|c| (Just(c), ops(c.0)))) {
        run(Mode::Overwrite, capacity, max_frames, 1, ops);
    }

    #[test]
    fn overwrite_mode_with_an_eviction_batch(
        ((capacity, max_frames), ops, batch) in config().prop_flat_map(|c| (Just(c), ops(c.0), 1usize..6)),
    ) {
        run(Mode::Overwrite, capacity, max_frames, batch, ops);
    }
}
