//! Where new handles pick up: a split reads the oldest frame, its slot and
//! its position from the shared words, so that a ring keeps its frames,
//! their order and its counters across [`Ring::split`](crate::Ring::split).
//!
//! The head word holds only the low bits of the oldest frame's sequence
//! number (all but one bit of a shared word), and a frame's slot is its
//! sequence number modulo the slot count, which those bits alone do not
//! determine. So the consumer leaves a pair behind at every release: the head
//! it released to (low bits) and that frame's slot index. The head word can
//! only be ahead of that pair by evictions the consumer has not seen, fewer
//! than the word's bits tell apart (`MAX_UNSEEN_EVICTIONS`), so the pair
//! extends it, and the slot is found by counting on from the pair's. The
//! numbering the new handles use may differ from the old one by a multiple
//! of the word's range; both handles only ever compare and subtract
//! sequence numbers, so that does not matter.

use crate::ring::{HEAD_MASK, Parts, SEQ_MASK, Slot, Word, extend, narrow, slot_after, unpack_tail, widen};
use crate::sync::Ordering;

/// The state both handles start from.
#[derive(Debug)]
pub(crate) struct Resume {
    /// The oldest frame's sequence number.
    pub(crate) head: u64,
    /// `head`'s slot index.
    pub(crate) head_slot: usize,
    /// Where frame `head` starts, or where the next frame goes when none is
    /// queued (as the producer's empty cached view has it).
    pub(crate) rpos: usize,
    /// The lap `rpos` is on.
    pub(crate) lap: bool,
    /// The packed tail word: the producer's copy starts as this.
    pub(crate) tail_word: Word,
}

/// Records where the consumer released to, for a later split: called with
/// every release, before `head` is stored.
#[inline(always)]
pub(crate) fn leave(parts: Parts<'_>, head: u64, head_slot: usize) {
    let left = &parts.shared.consumed;
    // Relaxed: read only by a split, which has the ring to itself (after the
    // handles are dropped, or leaked: then the pair is as of their last
    // release, and still names a frame and its slot).
    left.left_head.store(narrow(head), Ordering::Relaxed);
    left.left_slot.store(head_slot as Word, Ordering::Relaxed);
}

/// Reads where new handles start. Only call with no other handle alive.
pub(crate) fn resume(parts: Parts<'_>) -> Resume {
    let shared = parts.shared;
    let left = widen(shared.consumed.left_head.load(Ordering::Relaxed));
    let left_slot = widen(shared.consumed.left_slot.load(Ordering::Relaxed)) as usize;
    // The lock bit is ignored: a leaked read borrow can leave it set, and a
    // split clears it.
    let head = extend(left, widen(shared.head.load(Ordering::Acquire) >> 1), HEAD_MASK);
    let head_slot = slot_after(left_slot, head - left, parts.slots.len());
    let tail_word = shared.tail.word.load(Ordering::Acquire);
    let (end, tail_lap, tail_low) = unpack_tail(tail_word);
    let (rpos, lap) = if extend(head, tail_low, SEQ_MASK) == head {
        (end, tail_lap)
    } else {
        // SAFETY: no other handle exists, so nothing writes the slot.
        let slot: Slot = parts.slots[head_slot].with(|p| unsafe { *p });
        (slot.offset() as usize, slot.lap())
    };
    Resume { head, head_slot, rpos, lap, tail_word }
}
