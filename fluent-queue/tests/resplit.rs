//! `Ring::split` again after the handles are gone keeps the ring's frames,
//! their order and its counters: the new handles pick up where the old ones
//! left off.

#![cfg(not(loom))]

use fluent_queue::{Mode, PopError, Ring};
use proptest::prelude::*;

#[test]
fn a_second_split_keeps_the_queued_frames() {
    for mode in [Mode::Block, Mode::Overwrite] {
        let mut ring: Ring<64, 8> = Ring::new(mode);
        {
            let (mut p, mut c) = ring.split();
            for frame in [b"a", b"b", b"c"] {
                p.push(frame).unwrap();
            }
            assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"a".to_vec()));
        }
        let (mut p, mut c) = ring.split();
        p.push(b"d").unwrap();
        let mut got = Vec::new();
        while let Some(frame) = c.pop_with(|f| f.to_vec()) {
            got.push(frame);
        }
        assert_eq!(got, [b"b", b"c", b"d"], "{mode:?}");
        let n = c.counters();
        assert_eq!((n.committed, n.consumed, n.frames, n.bytes), (4, 4, 0, 0), "{mode:?}");
    }
}

/// A read borrow leaked with `mem::forget` keeps overwrite mode's lock bit
/// set, so the producer refuses frames it would have to evict for; a split
/// (no handle can hold the lock then) clears it.
#[test]
fn a_split_clears_the_lock_of_a_leaked_read_borrow() {
    let mut ring: Ring<8, 8> = Ring::new(Mode::Overwrite);
    {
        let (mut p, mut c) = ring.split();
        p.push(b"1234").unwrap();
        p.push(b"5678").unwrap();
        core::mem::forget(c.read());
        assert!(p.push(b"9").is_err(), "evicting would take a locked frame");
    }
    let (mut p, mut c) = ring.split();
    p.push(b"9").unwrap();
    assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"5678".to_vec()));
    assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"9".to_vec()));
    let n = c.counters();
    assert_eq!((n.committed, n.consumed, n.evicted, n.rejected), (3, 2, 1, 1));
}

#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Pop,
    /// Borrow everything, release the first `n % (frames + 1)`.
    ReadRelease(usize),
    Split,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            4 => (0usize..=20).prop_map(Op::Push),
            2 => Just(Op::Pop),
            1 => any::<usize>().prop_map(Op::ReadRelease),
            1 => Just(Op::Split),
        ],
        1..150,
    )
}

/// Runs `ops` on a ring that is split again at every `Split` and on a twin
/// that is split once: every push, pop, borrow and counter must agree.
fn twins(mode: Mode, ops: Vec<Op>) {
    let mut ring: Ring<48, 6> = Ring::new(mode);
    let twin: Ring<48, 6> = Ring::new(mode);
    let (mut twin_p, mut twin_c) = twin.try_split().unwrap();
    let mut handles = Some(ring.split());
    for (i, op) in ops.into_iter().enumerate() {
        if let Op::Split = op {
            // The old handles are dropped before the ring is split again.
            handles.take();
            handles = Some(ring.split());
            continue;
        }
        let (p, c) = handles.as_mut().unwrap();
        match op {
            Op::Push(len) => {
                let frame: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
                assert_eq!(p.push(&frame).map_err(|e| e.reason), twin_p.push(&frame).map_err(|e| e.reason), "op {i}");
            }
            Op::Pop => {
                let (mut out, mut twin_out) = ([0u8; 48], [0u8; 48]);
                let (got, want) = (c.pop(&mut out), twin_c.pop(&mut twin_out));
                assert_eq!(got, want, "op {i}");
                if let Ok(n) = got {
                    assert_eq!(out[..n], twin_out[..n], "op {i}");
                }
                if want == Err(PopError::Empty) {
                    assert_eq!(c.counters().frames, 0);
                }
            }
            Op::ReadRelease(n) => match (c.read(), twin_c.read()) {
                (None, None) => {}
                (Some(got), Some(want)) => {
                    assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>(), "op {i}");
                    let k = n % (got.frames() + 1);
                    got.release_frames(k);
                    want.release_frames(k);
                }
                (got, want) => {
                    panic!("op {i}: read {:?}, twin {:?}", got.map(|g| g.frames()), want.map(|g| g.frames()))
                }
            },
            Op::Split => unreachable!(),
        }
        assert_eq!(p.counters(), twin_p.counters(), "op {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn block_mode_is_the_same_across_splits(ops in ops()) {
        twins(Mode::Block, ops);
    }

    #[test]
    fn overwrite_mode_is_the_same_across_splits(ops in ops()) {
        twins(Mode::Overwrite, ops);
    }
}
