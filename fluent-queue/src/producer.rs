//! The producer half: reserve space, write a frame in place, commit it.

use core::cell::Cell;
use core::marker::PhantomData;
use core::ops::Deref;

use crate::counters::Counters;
use crate::error::{PushError, ReserveError};
use crate::resume::{Resume, resume};
use crate::ring::{
    END_MASK, HEAD_MASK, LAP_BIT, MAX_UNSEEN_EVICTIONS, Mode, Parts, SEQ_MASK, SEQ_SHIFT, Slot, Storage, Word, extend,
    narrow, pack_tail, unpack_tail, widen,
};
use crate::sync::{Ordering, copy_in};

/// What to do with each frame overwrite mode evicts: called with the frame's
/// bytes just before they are reused. Implemented by `()` (ignore) and by
/// any `FnMut(&[u8])`.
pub trait OnEvict {
    /// Whether [`evicted`](OnEvict::evicted) wants to see the frames; when
    /// false, eviction does not visit them one by one (only counts them).
    ///
    /// ```
    /// use fluent_queue::OnEvict;
    /// assert!(!<() as OnEvict>::WANTS_FRAMES); // ignoring: no walk
    /// fn count(_: &[u8]) {}
    /// assert!(<fn(&[u8]) as OnEvict>::WANTS_FRAMES);
    /// ```
    const WANTS_FRAMES: bool = true;

    /// Called once per evicted frame, oldest first.
    fn evicted(&mut self, frame: &[u8]);
}

impl OnEvict for () {
    const WANTS_FRAMES: bool = false;

    #[inline]
    fn evicted(&mut self, _frame: &[u8]) {}
}

impl<F: FnMut(&[u8])> OnEvict for F {
    #[inline]
    fn evicted(&mut self, frame: &[u8]) {
        self(frame)
    }
}

/// How many times overwrite mode tries its eviction compare-and-swap before
/// dropping the new frame: each failure means the consumer moved at that very
/// moment, so the bound keeps the producer wait-free.
const EVICT_ATTEMPTS: usize = 3;

/// The producing half of a ring. `Send`, not `Sync`: one thread produces.
///
/// ```
/// use fluent_queue::{HeapRing, Mode};
/// let (mut producer, _consumer) = HeapRing::new(Mode::Block, 64, 8);
/// let mut grant = producer.reserve(5)?;
/// grant.as_mut_slice().copy_from_slice(b"hello");
/// grant.commit(5);
/// assert_eq!(producer.counters().committed, 1);
/// # Ok::<(), fluent_queue::ReserveError>(())
/// ```
pub struct Producer<R, H = ()> {
    ring: R,
    on_evict: H,
    /// Our copy of the packed tail word (only we write it): the low bits of
    /// `tail`, the lap, and `wpos`, where the next frame's bytes go. One
    /// field, updated with one add per frame, keeps the fast path's
    /// loop-carried state small (see `commit`).
    word: Word,
    /// The oldest frame as last seen. Never newer than the real `head`, so
    /// room computed from it is never more than the real room: it is only
    /// reloaded when it says "no room" (the consumer's cache line is not
    /// touched on every push).
    cached_head: u64,
    /// The byte offset of frame `cached_head`, so the slow path reads no slot
    /// for it. While it equals `tail` (an empty view) this is where the next
    /// frame goes unless it wraps (`wpos`), and a wrapping commit sets it to
    /// 0: exact from the commit that creates that frame.
    cached_rpos: usize,
    /// The lap of frame `cached_head` (meaningful as `cached_rpos` is).
    cached_lap: bool,
    /// The ring's fixed shape, copied here so that the hot paths read no
    /// shared memory for it.
    capacity: usize,
    max_frames: u64,
    eviction_batch: u64,
    mode: Mode,
    /// `cached_head % slots`, kept incrementally (no division), from which
    /// the next frame's slot is found (no per-commit store).
    cached_slot: usize,
    /// By the cached head: where the free run starting at `wpos` ends, and
    /// the low bits of the sequence number at which the frame limit is
    /// reached (the fast path's whole test). Recomputed whenever the cached
    /// head moves or a frame wraps to offset 0.
    room_end: usize,
    seq_limit: u64,
    /// Frames evicted since the producer last saw the consumer release
    /// frames or hold the lock: a bound on how far the consumer's own view
    /// of `head` lags (see `MAX_UNSEEN_EVICTIONS`).
    unseen_evictions: u64,
    _not_sync: PhantomData<Cell<()>>,
}

impl<R, H> core::fmt::Debug for Producer<R, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (wpos, _, tail_low) = unpack_tail(self.word);
        f.debug_struct("Producer").field("tail_low", &tail_low).field("wpos", &wpos).finish_non_exhaustive()
    }
}

impl<R: Deref> Producer<R, ()>
where
    R::Target: Storage,
{
    pub(crate) fn new(ring: R) -> Self {
        let Resume { head, head_slot, rpos, lap, tail_word } = resume(Self::parts_of(&ring));
        Producer {
            ring,
            on_evict: (),
            word: tail_word,
            cached_head: head,
            cached_rpos: rpos,
            cached_lap: lap,
            capacity: 0,
            max_frames: 0,
            eviction_batch: 0,
            mode: Mode::Block,
            cached_slot: head_slot,
            room_end: 0,
            seq_limit: 0,
            unseen_evictions: 0,
            _not_sync: PhantomData,
        }
        .with_room()
    }
}

impl<R: Deref, H: OnEvict> Producer<R, H>
where
    R::Target: Storage,
{
    /// Installs the handler that receives every frame overwrite mode evicts
    /// (Python's `queue_overflow_handler`).
    ///
    /// ```
    /// use fluent_queue::{HeapRing, Mode};
    /// let (producer, _consumer) = HeapRing::new(Mode::Overwrite, 8, 4);
    /// let mut lost = Vec::new();
    /// let mut producer = producer.on_evict(move |frame: &[u8]| lost.push(frame.to_vec()));
    /// producer.push(b"old!").unwrap(); // bytes 0..4
    /// producer.push(b"new!").unwrap(); // bytes 4..8
    /// producer.push(b"abc").unwrap(); // evicts "old!", goes to 0..3
    /// assert_eq!(producer.counters().evicted, 1);
    /// ```
    pub fn on_evict<H2: OnEvict>(self, handler: H2) -> Producer<R, H2> {
        Producer {
            ring: self.ring,
            on_evict: handler,
            word: self.word,
            cached_head: self.cached_head,
            cached_rpos: self.cached_rpos,
            cached_lap: self.cached_lap,
            capacity: self.capacity,
            max_frames: self.max_frames,
            eviction_batch: self.eviction_batch,
            mode: self.mode,
            cached_slot: self.cached_slot,
            room_end: self.room_end,
            seq_limit: self.seq_limit,
            unseen_evictions: self.unseen_evictions,
            _not_sync: PhantomData,
        }
    }

    fn parts(&self) -> Parts<'_> {
        Self::parts_of(&self.ring)
    }

    /// The ring's parts, borrowing only the `ring` field (so that other fields
    /// can be borrowed mutably at the same time).
    fn parts_of(ring: &R) -> Parts<'_> {
        crate::ring::private::Sealed::parts(&**ring)
    }

    /// The ring's byte capacity.
    ///
    /// ```
    /// let (p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 100, 4);
    /// assert_eq!(p.capacity(), 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The ring's mode.
    ///
    /// ```
    /// let (p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Overwrite, 100, 4);
    /// assert_eq!(p.mode(), fluent_queue::Mode::Overwrite);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The counters.
    ///
    /// ```
    /// let (p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 100, 4);
    /// assert_eq!(p.counters().frames, 0);
    /// ```
    pub fn counters(&self) -> Counters {
        self.parts().shared.counters()
    }

    /// Reserves `len` contiguous bytes for one frame. Write into the grant,
    /// then [`commit`](Grant::commit) it (or drop it to abandon it). In
    /// overwrite mode the reservation may already have evicted old frames;
    /// abandoning does not bring them back.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// let mut grant = p.reserve(8)?;
    /// grant.as_mut_slice()[..3].copy_from_slice(b"abc");
    /// grant.commit(3); // may commit less than reserved
    /// assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"abc".to_vec()));
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    ///
    /// # Errors
    /// See [`ReserveError`]; each error counts one rejected frame.
    #[inline]
    pub fn reserve(&mut self, len: usize) -> Result<Grant<'_, R, H>, ReserveError> {
        // Fast path, inlined into the caller.
        if let Some(at) = self.fast_room(len) {
            return Ok(Grant { producer: self, at, len });
        }
        self.reserve_slow(len)
    }

    /// `reserve` when the cached view shows no room (or `len` is invalid).
    #[inline(never)]
    fn reserve_slow(&mut self, len: usize) -> Result<Grant<'_, R, H>, ReserveError> {
        match self.find_space(len) {
            Ok(at) => Ok(Grant { producer: self, at, len }),
            Err(e) => {
                self.count_rejected();
                Err(e)
            }
        }
    }

    /// Copies `frame` into the ring as one frame.
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 4, 4);
    /// p.push(b"abc")?;
    /// let err = p.push(b"de").unwrap_err();
    /// assert_eq!(err.frame, b"de"); // handed back
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    ///
    /// # Errors
    /// As [`reserve`](Producer::reserve), with the frame handed back.
    #[inline(always)]
    pub fn push<'f>(&mut self, frame: &'f [u8]) -> Result<(), PushError<'f>> {
        if let Some(at) = self.fast_room(frame.len()) {
            // SAFETY: `fast_room` returned bytes outside every queued frame,
            // which the consumer does not read; we are the only producer.
            unsafe { copy_in(self.parts().bytes, at, frame) };
            self.commit_in_place(frame.len());
            return Ok(());
        }
        self.push_slow(frame)
    }

    /// `push` when the fast path has no room (or the frame is invalid).
    #[inline(never)]
    fn push_slow<'f>(&mut self, frame: &'f [u8]) -> Result<(), PushError<'f>> {
        match self.find_space(frame.len()) {
            Ok(at) => {
                // SAFETY: as in `push`: `find_space` returned bytes outside
                // every queued frame.
                unsafe { copy_in(self.parts().bytes, at, frame) };
                self.commit(at, frame.len());
                Ok(())
            }
            Err(reason) => {
                self.count_rejected();
                Err(PushError { reason, frame })
            }
        }
    }

    /// The fast path's whole test: room right after the newest frame by the
    /// cached (possibly stale, hence conservative) head; no shared memory is
    /// read. `len - 1 < room` is `1 <= len <= room`.
    #[inline(always)]
    fn fast_room(&self, len: usize) -> Option<usize> {
        let wpos = self.wpos();
        (len.wrapping_sub(1) < self.room_end - wpos && widen(self.word >> SEQ_SHIFT) != self.seq_limit).then_some(wpos)
    }

    /// Where the next frame's bytes go (unless it wraps to 0).
    #[inline(always)]
    fn wpos(&self) -> usize {
        (self.word & END_MASK) as usize
    }

    /// The lap of the newest frame.
    #[inline(always)]
    fn lap(&self) -> bool {
        self.word & LAP_BIT != 0
    }

    /// `tail % slots`: the cached head's slot plus the frames queued after it.
    #[inline(always)]
    fn tail_slot(&self, slots: usize) -> usize {
        let index =
            self.cached_slot + (widen(self.word >> SEQ_SHIFT).wrapping_sub(self.cached_head) & SEQ_MASK) as usize;
        if index >= slots { index - slots } else { index }
    }

    /// Moves the cached head to `head` (not older), and its slot index.
    #[inline(always)]
    fn set_cached_head(&mut self, head: u64) {
        let slots = Self::parts_of(&self.ring).slots.len();
        // `head - cached_head <= max_frames <= slots`: one subtraction.
        let index = self.cached_slot + (head - self.cached_head) as usize;
        self.cached_slot = if index >= slots { index - slots } else { index };
        self.cached_head = head;
    }

    /// The next frame's sequence number, in full: the tail word holds its low
    /// bits, and fewer frames are queued after the cached head than those
    /// bits tell apart.
    #[inline]
    fn tail(&self) -> u64 {
        extend(self.cached_head, widen(self.word >> SEQ_SHIFT), SEQ_MASK)
    }

    /// The oldest frame's full sequence number from a head word: the cached
    /// head is not newer, and fewer frames than the word's bits tell apart
    /// lie between them.
    #[inline]
    fn head_of(&self, head_word: Word) -> u64 {
        extend(self.cached_head, widen(head_word >> 1), HEAD_MASK)
    }

    fn count_rejected(&self) {
        let c = &self.parts().shared.produced.rejected;
        // Only the producer writes this counter: a plain add is enough.
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// Reads slot `seq`. The producer wrote every slot itself and the
    /// consumer only reads them, so this read races with nothing.
    fn slot(&self, seq: u64) -> Slot {
        let slots = self.parts().slots;
        // Slot `seq % len`, found back from the tail's without a division:
        // `seq` is queued (or was just evicted), so
        // `1 <= tail - seq <= max_frames <= len`.
        let back = (self.tail() - seq) as usize;
        debug_assert!(back >= 1 && back <= slots.len());
        let tail_slot = self.tail_slot(slots.len());
        let index = if back <= tail_slot { tail_slot - back } else { tail_slot + slots.len() - back };
        let cell = &slots[index];
        // SAFETY: slots are written only by this producer (in `commit`), never
        // concurrently with this read; concurrent consumer reads are fine.
        cell.with(|p| unsafe { *p })
    }

    /// Where a frame of `len` bytes fits if the oldest frame is `head` (at
    /// byte offset `rpos`), or `None`. Frames are contiguous: if the end of
    /// the array is too short, the frame starts at 0 and the end stays unused
    /// until the data wraps.
    #[inline]
    fn fit(&self, head: u64, rpos: usize, len: usize) -> Option<usize> {
        let (capacity, wpos, tail) = (self.capacity, self.wpos(), self.tail());
        if head == tail {
            // Empty: the same rule as below with no data in the way. Not
            // restarting at 0 keeps placement independent of how stale
            // `head` is (a stale head never changes where a frame goes).
            return Some(if capacity - wpos >= len { wpos } else { 0 });
        }
        if tail - head >= self.max_frames {
            return None;
        }
        if wpos > rpos {
            // Data is [rpos, wpos): room at the end, else at the start.
            if capacity - wpos >= len {
                Some(wpos)
            } else if rpos >= len {
                Some(0)
            } else {
                None
            }
        } else {
            // Data has wrapped: [rpos, end of its run) and [0, wpos).
            (rpos - wpos >= len).then_some(wpos)
        }
    }

    /// Where frame `seq` starts and on which lap, for a queued frame or for
    /// `tail` itself (then: where the next frame goes unless it wraps).
    fn position(&self, seq: u64, tail: u64) -> (usize, bool) {
        if seq == tail {
            (self.wpos(), self.lap())
        } else {
            let slot = self.slot(seq);
            (slot.offset() as usize, slot.lap())
        }
    }

    /// Moves the cached head (and its offset) to `head`. For an empty view
    /// the offset is where the next frame goes unless it wraps, and
    /// `commit_wrapped` corrects it if it does.
    fn cache_head(&mut self, head: u64) {
        let tail = self.tail();
        (self.cached_rpos, self.cached_lap) = self.position(head, tail);
        self.set_cached_head(head);
        self.refresh_room();
    }

    /// The fast path's view of `fit` for frames placed at `wpos`: the same
    /// answers while the cached head stays put (placing at 0 after a wrap
    /// is left to `fit` itself).
    fn refresh_room(&mut self) {
        (self.room_end, self.seq_limit) = self.room(self.cached_head, self.cached_rpos, self.tail());
    }

    /// `room_end` and `seq_limit` for a cached head `head` starting at
    /// `rpos`.
    #[inline(always)]
    fn room(&self, head: u64, rpos: usize, tail: u64) -> (usize, u64) {
        let room_end = if head == tail || self.wpos() > rpos { self.capacity } else { rpos };
        // `tail` never passes `head + max_frames`: the fast path stops there
        // (max_frames <= SEQ_MASK, so the low bits tell them apart).
        (room_end, (head + self.max_frames) & SEQ_MASK)
    }

    /// Copies the ring's shape and computes the first room.
    fn with_room(mut self) -> Self {
        let parts = Self::parts_of(&self.ring);
        (self.capacity, self.max_frames) = (parts.bytes.len(), parts.shared.max_frames(parts.slots.len()));
        (self.eviction_batch, self.mode) = (parts.shared.eviction_batch(), parts.shared.mode);
        self.refresh_room();
        self
    }

    #[inline]
    fn find_space(&mut self, len: usize) -> Result<usize, ReserveError> {
        let (capacity, mode) = (self.capacity, self.mode);
        if len == 0 {
            return Err(ReserveError::Empty);
        }
        if len > capacity {
            return Err(ReserveError::TooLarge { len, capacity });
        }
        // Fast path: room by the cached (possibly stale, hence conservative)
        // head; no shared memory is read.
        if let Some(at) = self.fit(self.cached_head, self.cached_rpos, len) {
            return Ok(at);
        }
        // Acquire pairs with the consumer's Release store of `head` in
        // `Consumer::unlock`: its reads of the frames it released happen
        // before we reuse their bytes.
        let head_word = self.parts().shared.head.load(Ordering::Acquire);
        let head = self.head_of(head_word);
        if head != self.cached_head {
            // The consumer released frames: its view of `head` is this one
            // or newer.
            self.unseen_evictions = 0;
            self.cache_head(head);
            if let Some(at) = self.fit(head, self.cached_rpos, len) {
                return Ok(at);
            }
        }
        if mode == Mode::Block {
            return Err(ReserveError::Full);
        }
        if head_word & 1 == 1 {
            // The consumer holds the oldest frames (so it has seen this
            // head): they cannot be evicted.
            self.unseen_evictions = 0;
            return Err(ReserveError::Busy);
        }
        self.evict_for(head_word, len)
    }

    /// Overwrite mode, no room with the oldest frame `head_word >> 1` (just
    /// cached): evicts the fewest oldest frames that make room (at least the
    /// eviction batch) with one compare-and-swap on `head`, and returns where
    /// the frame goes. A failed swap means the consumer moved at that moment:
    /// look again, at most `EVICT_ATTEMPTS` times in all.
    #[inline]
    fn evict_for(&mut self, mut head_word: Word, len: usize) -> Result<usize, ReserveError> {
        for _ in 0..EVICT_ATTEMPTS {
            let head = self.head_of(head_word);
            let tail = self.tail();
            // The fewest frames to evict: the new oldest frame, where it
            // starts, and where the new frame then goes. Evicting everything
            // (`new_head == tail`) always makes room.
            let mut new_head = head;
            let (mut start, mut at);
            loop {
                new_head += 1;
                start = self.position(new_head, tail);
                at = self.fit(new_head, start.0, len);
                if at.is_some() {
                    break;
                }
            }
            // At least the configured batch, never more than is queued.
            let least = head + self.eviction_batch.min(tail - head);
            if new_head < least {
                new_head = least;
                start = self.position(new_head, tail);
                at = self.fit(new_head, start.0, len);
            }
            if self.unseen_evictions + (new_head - head) > MAX_UNSEEN_EVICTIONS {
                // The consumer has not touched `head` for that many
                // evictions (32-bit layout only): evicting more could put
                // the oldest frame out of reach of its 31-bit view.
                return Err(ReserveError::Busy);
            }
            // Everything the eviction changes is computed before the swap
            // and stored once after it.
            let bytes = self.bytes_between((self.cached_rpos, self.cached_lap), start);
            let (room_end, seq_limit) = self.room(new_head, start.0, tail);
            // AcqRel: Acquire pairs with the consumer's Release store of
            // `head` in `Consumer::unlock` (its reads of frames it released or
            // looked at happen before we reuse their bytes); Release is not
            // needed by the consumer, which reads nothing the producer wrote
            // here, but keeps the RMW chain on `head` simple to reason about.
            // Fails if the consumer locked or released meanwhile.
            let new_word = narrow(new_head << 1);
            match self.parts().shared.head.compare_exchange(head_word, new_word, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    self.unseen_evictions += new_head - head;
                    self.set_cached_head(new_head);
                    (self.cached_rpos, self.cached_lap) = start;
                    (self.room_end, self.seq_limit) = (room_end, seq_limit);
                    self.hand_over_evicted(head, new_head - head, bytes);
                    if let Some(at) = at {
                        return Ok(at);
                    }
                    head_word = new_word;
                }
                Err(actual) => {
                    // The consumer locked or released.
                    self.unseen_evictions = 0;
                    // Acquire (the failure ordering) pairs with the
                    // consumer's Release store of `head` in `Consumer::unlock`:
                    // its reads of frames it released happen before we reuse
                    // their bytes. Frames it released may already make room,
                    // even while it holds the lock again.
                    let head = self.head_of(actual);
                    self.cache_head(head);
                    if let Some(at) = self.fit(head, self.cached_rpos, len) {
                        return Ok(at);
                    }
                    if actual & 1 == 1 {
                        // The consumer holds the oldest frames: they cannot be
                        // evicted.
                        return Err(ReserveError::Busy);
                    }
                    head_word = actual;
                }
            }
        }
        Err(ReserveError::Busy)
    }

    /// The payload bytes from a frame starting at `from` (offset, lap) up to
    /// one starting at `to` (or, for `tail`, to where the newest frame ends),
    /// around the wrap if one lies between. Queued frames span at most one
    /// wrap, the latest, so `watermark` is its.
    #[inline(always)]
    fn bytes_between(&self, (from, from_lap): (usize, bool), (to, to_lap): (usize, bool)) -> u64 {
        (if to_lap == from_lap {
            to - from
        } else {
            // Relaxed: we wrote it ourselves.
            self.parts().shared.tail.watermark.load(Ordering::Relaxed) as usize - from + to
        }) as u64
    }

    /// Offers frames `[head, head + count)`, which the eviction CAS made ours,
    /// to the handler (if it wants them), and counts them and their `bytes`.
    #[inline(always)]
    fn hand_over_evicted(&mut self, head: u64, count: u64, bytes: u64) {
        if H::WANTS_FRAMES {
            self.offer_evicted(head, count, bytes);
        }
        let p = &self.parts().shared.produced;
        // Only the producer writes these counters: plain adds are enough.
        p.evicted.store(p.evicted.load(Ordering::Relaxed).wrapping_add(narrow(count)), Ordering::Relaxed);
        p.evicted_bytes.store(p.evicted_bytes.load(Ordering::Relaxed).wrapping_add(narrow(bytes)), Ordering::Relaxed);
    }

    /// Passes evicted frames `[head, head + count)` to the handler, oldest
    /// first.
    #[inline(never)]
    fn offer_evicted(&mut self, head: u64, count: u64, bytes: u64) {
        let mut walked = 0u64;
        for seq in head..head + count {
            let slot = self.slot(seq);
            walked += u64::from(slot.len());
            let range = slot.offset() as usize..(slot.offset() + slot.len()) as usize;
            #[cfg(not(loom))]
            {
                // SAFETY: the successful CAS moved `head` past this frame
                // while the consumer did not hold the lock, so the consumer
                // can never read it again; we write it only after this call.
                let frame = unsafe { crate::sync::bytes(Self::parts_of(&self.ring).bytes, range) };
                self.on_evict.evicted(frame);
            }
            #[cfg(loom)]
            {
                let mut copy = std::vec![0u8; range.len()];
                // SAFETY: as above.
                unsafe { crate::sync::copy_out(Self::parts_of(&self.ring).bytes, range.start, &mut copy) };
                self.on_evict.evicted(&copy);
            }
        }
        debug_assert_eq!(walked, bytes, "evicted bytes by position and by walking differ");
    }

    /// Publishes a frame of `len` bytes written at `at` (which is `wpos`, or
    /// 0 when the frame wraps).
    #[inline(always)]
    fn commit(&mut self, at: usize, len: usize) {
        if at == self.wpos() { self.commit_in_place(len) } else { self.commit_wrapped(len) }
    }

    /// Publishes a frame of `len` bytes written at `wpos`: the fast path's
    /// commit, which stores only the slot, two fields and two words.
    #[inline(always)]
    fn commit_in_place(&mut self, len: usize) {
        let parts = Self::parts_of(&self.ring);
        let word = self.word;
        let slots = parts.slots;
        let cell = &slots[self.tail_slot(slots.len())];
        let slot = Slot::at_tail(word, len);
        // SAFETY: this slot is not in [head, tail) (`fit` kept tail - head
        // below max_frames <= slots.len()), so the consumer does not read it.
        cell.with_mut(|p| unsafe { *p = slot });
        // One add moves the sequence number (its top bit falls off the word)
        // and the end offset (`wpos + len <= capacity <= MAX_BYTES`, below
        // the lap bit: no carry).
        self.word = word.wrapping_add((1 << SEQ_SHIFT) + len as Word);
        // Release pairs with the consumer's Acquire load of the tail word: the
        // frame's bytes, its slot and the watermark are visible before the
        // frame is.
        parts.shared.tail.word.store(self.word, Ordering::Release);
    }

    /// Publishes a frame of `len` bytes written at offset 0, starting a new
    /// lap.
    #[inline(never)]
    fn commit_wrapped(&mut self, len: usize) {
        let (wpos, lap, tail) = (self.wpos(), !self.lap(), self.tail());
        // The data before the wrap ends at `wpos`. Relaxed: published by the
        // Release store of the tail word in `commit_in_place`. The consumer
        // reads it only while it is behind by this lap, and the producer
        // cannot wrap again before the consumer has passed it, so it does not
        // change under the consumer.
        let shared = Self::parts_of(&self.ring).shared;
        shared.tail.watermark.store(wpos as Word, Ordering::Relaxed);
        // The bytes of the lap that ends here join the earlier laps' (see
        // `Shared::counters`). Relaxed: only we write it, and the tail word's
        // Release store publishes it with the new lap.
        let before = &shared.produced.before_lap;
        let bytes = (before.load(Ordering::Relaxed) >> 1).wrapping_add(wpos as Word);
        before.store(bytes << 1 | Word::from(lap), Ordering::Relaxed);
        self.word = pack_tail(0, lap, tail);
        if tail == self.cached_head {
            // The cached view was empty and guessed `wpos`: this frame, its
            // oldest, starts at 0 on the new lap.
            (self.cached_rpos, self.cached_lap) = (0, lap);
        }
        self.commit_in_place(len);
        self.refresh_room();
    }
}

/// Space reserved for one frame; commit it, or drop it to abandon it.
pub struct Grant<'p, R: Deref, H: OnEvict>
where
    R::Target: Storage,
{
    producer: &'p mut Producer<R, H>,
    at: usize,
    len: usize,
}

impl<R: Deref, H: OnEvict> core::fmt::Debug for Grant<'_, R, H>
where
    R::Target: Storage,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Grant").field("at", &self.at).field("len", &self.len).finish()
    }
}

impl<R: Deref, H: OnEvict> Grant<'_, R, H>
where
    R::Target: Storage,
{
    /// The reserved length.
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// assert_eq!(p.reserve(5)?.len(), 5);
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: reservations hold at least one byte.
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// assert!(!p.reserve(1)?.is_empty());
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The reserved bytes, to write the frame into in place (their previous
    /// contents are unspecified).
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// let mut g = p.reserve(2)?;
    /// g.as_mut_slice().copy_from_slice(b"ok");
    /// g.commit(2);
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    #[cfg(not(loom))]
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let range = self.at..self.at + self.len;
        // SAFETY: `find_space` returned bytes outside every queued frame; the
        // consumer reads only queued frames; the grant borrows the producer
        // mutably, so this is the only view.
        unsafe { crate::sync::bytes_mut(self.producer.parts().bytes, range) }
    }

    /// Copies `bytes` into the reservation at `offset`.
    ///
    /// # Panics
    /// When `offset + bytes.len()` exceeds the reservation.
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// let mut g = p.reserve(4)?;
    /// g.write_at(0, b"ab");
    /// g.write_at(2, b"cd");
    /// g.commit(4);
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    #[inline]
    pub fn write_at(&mut self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len, "write past the reservation");
        // SAFETY: as in `as_mut_slice`.
        unsafe { copy_in(self.producer.parts().bytes, self.at + offset, bytes) }
    }

    /// Publishes the first `used` bytes as one frame (`used == 0` abandons).
    ///
    /// # Panics
    /// When `used` exceeds the reservation.
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// let mut g = p.reserve(4)?;
    /// g.write_at(0, b"x");
    /// g.commit(1);
    /// assert_eq!(p.counters().bytes, 1);
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    #[inline(always)]
    pub fn commit(self, used: usize) {
        assert!(used <= self.len, "commit past the reservation");
        if used > 0 {
            self.producer.commit(self.at, used);
        }
    }

    /// Gives the reservation up (as dropping the grant does).
    ///
    /// ```
    /// let (mut p, _c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 16, 4);
    /// p.reserve(4)?.abandon();
    /// assert_eq!(p.counters().committed, 0);
    /// # Ok::<(), fluent_queue::ReserveError>(())
    /// ```
    pub fn abandon(self) {}
}

#[cfg(all(test, feature = "alloc", not(loom)))]
mod tests {
    use crate::ring::MAX_UNSEEN_EVICTIONS;
    use crate::{HeapRing, Mode, ReserveError};

    /// Overwrite mode stops evicting once the consumer has not touched the
    /// ring for `MAX_UNSEEN_EVICTIONS` evictions (2^30 in the 32-bit layout,
    /// where the consumer's 31-bit view of the oldest frame would otherwise
    /// become ambiguous), and resumes as soon as the consumer reads.
    #[test]
    fn evictions_pause_until_the_consumer_looks_again() {
        let (mut p, mut c) = HeapRing::new(Mode::Overwrite, 16, 4);
        for _ in 0..4 {
            p.push(b"abcd").unwrap();
        }
        p.unseen_evictions = MAX_UNSEEN_EVICTIONS - 2;
        p.push(b"efgh").unwrap(); // evicts one
        p.push(b"ijkl").unwrap(); // evicts one: at the bound
        let err = p.push(b"mnop").unwrap_err();
        assert_eq!(err.reason, ReserveError::Busy);
        let n = p.counters();
        assert_eq!((n.evicted, n.rejected, n.frames), (2, 1, 4));
        // The consumer reads one frame: it has seen the head again.
        let mut out = [0u8; 4];
        assert_eq!(c.pop(&mut out), Ok(4));
        assert_eq!(&out, b"abcd");
        p.push(b"mnop").unwrap(); // fits in the room the consumer freed
        p.push(b"qrst").unwrap(); // evicts again
        assert_eq!(p.counters().evicted, 3);
    }
}
