//! The consumer half: borrow every committed frame in place, then release.

use core::cell::Cell;
use core::marker::PhantomData;
use core::ops::Deref;

use crate::counters::Counters;
use crate::error::PopError;
use crate::resume::{self, Resume, resume};
use crate::ring::{HEAD_MASK, Mode, Parts, SEQ_MASK, Slot, Storage, extend, narrow, slot_after, unpack_tail, widen};
use crate::sync::{Ordering, copy_out};

/// The consuming half of a ring. `Send`, not `Sync`: one thread consumes.
///
/// ```
/// use fluent_queue::{HeapRing, Mode};
/// let (mut producer, mut consumer) = HeapRing::new(Mode::Block, 64, 8);
/// producer.push(b"one")?;
/// producer.push(b"two")?;
/// let batch = consumer.read().expect("two frames");
/// let (first, second) = batch.as_slices();
/// assert_eq!((first, second), (&b"onetwo"[..], &b""[..])); // one contiguous run
/// batch.release();
/// # Ok::<(), fluent_queue::PushError<'static>>(())
/// ```
pub struct Consumer<R> {
    ring: R,
    /// The oldest frame as we left it (the producer moves it past evicted
    /// frames in overwrite mode; we notice when we lock).
    head: u64,
    /// Byte offset where frame `head` starts, unless the producer wrapped
    /// (then it starts at 0 of the next lap).
    rpos: usize,
    /// The lap `rpos` is on.
    lap: bool,
    /// `head % slots`, kept incrementally (no division per frame).
    head_slot: usize,

    _not_sync: PhantomData<Cell<()>>,
}

impl<R> core::fmt::Debug for Consumer<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Consumer").finish_non_exhaustive()
    }
}

impl<R: Deref> Consumer<R>
where
    R::Target: Storage,
{
    pub(crate) fn new(ring: R) -> Self {
        let Resume { head, head_slot, rpos, lap, .. } = resume(crate::ring::private::Sealed::parts(&*ring));
        Consumer { ring, head, rpos, lap, head_slot, _not_sync: PhantomData }
    }

    fn parts(&self) -> Parts<'_> {
        crate::ring::private::Sealed::parts(&*self.ring)
    }

    /// The counters.
    ///
    /// ```
    /// let (_p, c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 8, 2);
    /// assert_eq!(c.counters().consumed, 0);
    /// ```
    pub fn counters(&self) -> Counters {
        self.parts().shared.counters()
    }

    /// Takes the oldest frames out of the producer's reach: in overwrite mode
    /// sets the lock bit on `head` (retrying while the producer evicts);
    /// returns the oldest frame's sequence number.
    fn lock(&self) -> u64 {
        let head = &self.parts().shared.head;
        if self.parts().shared.mode == Mode::Block {
            // Only we write `head` in block mode.
            return self.head_of(head.load(Ordering::Relaxed));
        }
        loop {
            let word = head.load(Ordering::Relaxed);
            debug_assert_eq!(word & 1, 0, "the consumer is the only one to lock");
            // Acquire pairs with the producer's eviction CAS (AcqRel): a frame
            // evicted before we lock is never read. On failure the producer
            // just evicted; read the new head and try again.
            if head.compare_exchange_weak(word, word | 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return self.head_of(word);
            }
        }
    }

    /// Releases the lock, making `new_head` the oldest frame.
    fn unlock(&self, new_head: u64) {
        // Release pairs with the producer's Acquire loads of `head`: our reads
        // of released frames happen before the producer reuses their bytes.
        self.parts().shared.head.store(narrow(new_head << 1), Ordering::Release);
    }

    /// The oldest frame's full sequence number from a head word: ours is not
    /// newer, and fewer frames than the word's bits tell apart lie between
    /// (the producer evicts at most `MAX_UNSEEN_EVICTIONS` frames without
    /// seeing us touch `head`).
    fn head_of(&self, head_word: crate::ring::Word) -> u64 {
        extend(self.head, widen(head_word >> 1), HEAD_MASK)
    }

    fn slot(&self, seq: u64) -> Slot {
        let slots = self.parts().slots;
        // Slot `seq % len` counted on from `head_slot`: `seq` is queued, so
        // `seq - head < max_frames <= len`.
        let ahead = (seq - self.head) as usize;
        debug_assert!(ahead < slots.len());
        let index = self.head_slot + ahead;
        let cell = &slots[if index >= slots.len() { index - slots.len() } else { index }];
        // SAFETY: `seq` is in [head, tail): its slot was written before `tail`
        // was published (Release/Acquire) and is not written again while the
        // frame is queued.
        cell.with(|p| unsafe { *p })
    }

    /// Borrows every committed frame, oldest first, or `None` when empty. The
    /// frames stay queued until [`ReadGrant::release`]; in overwrite mode the
    /// producer cannot evict them meanwhile (it drops new frames instead, see
    /// the crate docs), so keep the borrow short: copy out, then release.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// assert!(c.read().is_none());
    /// p.push(b"a")?;
    /// assert_eq!(c.read().map(|g| g.frames()), Some(1));
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    #[inline]
    pub fn read(&mut self) -> Option<ReadGrant<'_, R>> {
        let head = self.lock();
        // Acquire pairs with the producer's Release store of the tail word.
        let word = self.parts().shared.tail.word.load(Ordering::Acquire);
        let (end, tail_lap, tail_low) = unpack_tail(word);
        let frames = tail_low.wrapping_sub(head) & SEQ_MASK;
        if frames == 0 {
            self.unlock(head);
            return None;
        }
        if head != self.head {
            // Overwrite mode evicted frames since we last looked: resync from
            // the new oldest frame's slot, counted on from ours (sequence
            // numbers are only ours up to a multiple of the word's range:
            // see `resume`).
            self.head_slot = slot_after(self.head_slot, head - self.head, self.parts().slots.len());
            self.head = head;
            let slot = self.slot(head);
            self.rpos = slot.offset() as usize;
            self.lap = slot.lap();
        }
        let runs = if tail_lap == self.lap {
            Runs { start: self.rpos, end, second_end: 0 }
        } else {
            // Relaxed: published by the tail word's Release (see `commit`).
            let watermark = self.parts().shared.tail.watermark.load(Ordering::Relaxed) as usize;
            Runs { start: self.rpos, end: watermark, second_end: end }
        };
        Some(ReadGrant { consumer: self, head, tail: head + frames, tail_end: (end, tail_lap), runs, done: false })
    }

    /// Copies the oldest frame into `out` and releases it; returns its length.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"abc")?;
    /// let mut small = [0u8; 2];
    /// assert!(c.pop(&mut small).is_err()); // stays queued
    /// let mut out = [0u8; 8];
    /// assert_eq!(c.pop(&mut out), Ok(3));
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    ///
    /// # Errors
    /// [`PopError::Empty`], or [`PopError::BufferTooSmall`] (the frame stays).
    pub fn pop(&mut self, out: &mut [u8]) -> Result<usize, PopError> {
        let grant = self.read().ok_or(PopError::Empty)?;
        let slot = grant.consumer.slot(grant.head);
        let len = slot.len() as usize;
        let Some(out) = out.get_mut(..len) else {
            return Err(PopError::BufferTooSmall { needed: len });
        };
        // SAFETY: as in `ReadGrant::copy_frame`: the frame is queued and
        // locked (or, in block mode, only we release it).
        unsafe { copy_out(grant.consumer.parts().bytes, slot.offset() as usize, out) };
        grant.release_frames(1);
        Ok(len)
    }

    /// Passes the oldest frame to `f` in place and releases it.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"abc")?;
    /// assert_eq!(c.pop_with(|frame| frame.len()), Some(3));
    /// assert_eq!(c.pop_with(|frame| frame.len()), None);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    #[cfg(not(loom))]
    pub fn pop_with<T>(&mut self, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let grant = self.read()?;
        let value = f(grant.frame(0));
        grant.release_frames(1);
        Some(value)
    }
}

/// Where a batch of frames lies in the byte array.
#[derive(Debug, Clone, Copy)]
struct Runs {
    start: usize,
    end: usize,
    second_end: usize,
}

impl Runs {
    fn bytes(&self) -> u64 {
        (self.end - self.start + self.second_end) as u64
    }
}

/// Committed frames borrowed in place. Dropping it releases nothing.
pub struct ReadGrant<'c, R: Deref>
where
    R::Target: Storage,
{
    consumer: &'c mut Consumer<R>,
    head: u64,
    tail: u64,
    /// End offset and lap of the newest borrowed frame.
    tail_end: (usize, bool),
    runs: Runs,
    done: bool,
}

impl<R: Deref> core::fmt::Debug for ReadGrant<'_, R>
where
    R::Target: Storage,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadGrant").field("head", &self.head).field("tail", &self.tail).finish()
    }
}

impl<R: Deref> ReadGrant<'_, R>
where
    R::Target: Storage,
{
    /// How many frames are borrowed.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"a")?; p.push(b"b")?;
    /// assert_eq!(c.read().unwrap().frames(), 2);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn frames(&self) -> usize {
        (self.tail - self.head) as usize
    }

    /// The length of frame `index` (0 is the oldest).
    ///
    /// # Panics
    /// When `index >= self.frames()`.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"abc")?;
    /// assert_eq!(c.read().unwrap().frame_len(0), 3);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn frame_len(&self, index: usize) -> usize {
        assert!(index < self.frames(), "frame index out of range");
        self.consumer.slot(self.head + index as u64).len() as usize
    }

    /// Copies frame `index` into `out` (which must be exactly its length).
    ///
    /// # Panics
    /// When `index` is out of range or `out.len() != self.frame_len(index)`.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"abc")?;
    /// let g = c.read().unwrap();
    /// let mut out = [0u8; 3];
    /// g.copy_frame(0, &mut out);
    /// assert_eq!(&out, b"abc");
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn copy_frame(&self, index: usize, out: &mut [u8]) {
        assert!(index < self.frames(), "frame index out of range");
        let slot = self.consumer.slot(self.head + index as u64);
        assert_eq!(out.len(), slot.len() as usize, "output length must equal the frame's");
        // SAFETY: the frame is queued and locked (or, in block mode, only we
        // release it): the producer does not write its bytes meanwhile.
        unsafe { copy_out(self.consumer.parts().bytes, slot.offset() as usize, out) }
    }

    /// Frame `index`, in place.
    ///
    /// # Panics
    /// When `index >= self.frames()`.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"abc")?;
    /// assert_eq!(c.read().unwrap().frame(0), b"abc");
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    #[cfg(not(loom))]
    pub fn frame(&self, index: usize) -> &[u8] {
        assert!(index < self.frames(), "frame index out of range");
        let slot = self.consumer.slot(self.head + index as u64);
        let range = slot.offset() as usize..(slot.offset() + slot.len()) as usize;
        // SAFETY: as in `copy_frame`, for as long as the grant lives.
        unsafe { crate::sync::bytes(self.consumer.parts().bytes, range) }
    }

    /// The borrowed frames, oldest first.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"a")?; p.push(b"bc")?;
    /// let g = c.read().unwrap();
    /// assert_eq!(g.iter().collect::<Vec<_>>(), [&b"a"[..], &b"bc"[..]]);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    #[cfg(not(loom))]
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.frames()).map(|i| self.frame(i))
    }

    /// Every borrowed frame's bytes as at most two contiguous slices (the
    /// first is never empty; the second is empty unless the data wraps around
    /// the end of the ring), so a transport can send the whole batch in one
    /// vectored write.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 8, 8);
    /// p.push(b"12345")?; // bytes 0..5
    /// p.push(b"67")?; // bytes 5..7
    /// c.pop_with(|_| ()); // frees 0..5
    /// p.push(b"89a")?; // 1 byte left at the end: wraps to 0..3
    /// let g = c.read().unwrap();
    /// assert_eq!(g.as_slices(), (&b"67"[..], &b"89a"[..]));
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    #[cfg(not(loom))]
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        let Runs { start, end, second_end } = self.runs;
        let bytes = self.consumer.parts().bytes;
        // SAFETY: both ranges cover only queued, locked frames (see `frame`).
        let (first, second) =
            unsafe { (crate::sync::bytes(bytes, start..end), crate::sync::bytes(bytes, 0..second_end)) };
        // After a wrap the first run can be empty: keep the data in front.
        if first.is_empty() { (second, first) } else { (first, second) }
    }

    /// Releases every borrowed frame (consumed).
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"a")?;
    /// c.read().unwrap().release();
    /// assert!(c.read().is_none());
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn release(self) {
        let n = self.frames();
        self.release_frames(n);
    }

    /// Releases the oldest `count` borrowed frames; the rest stay queued.
    ///
    /// # Panics
    /// When `count > self.frames()`.
    ///
    /// ```
    /// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 64, 8);
    /// p.push(b"a")?; p.push(b"b")?;
    /// c.read().unwrap().release_frames(1);
    /// assert_eq!(c.read().unwrap().frames(), 1);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn release_frames(mut self, count: usize) {
        let frames = self.frames();
        assert!(count <= frames, "cannot release more frames than borrowed");
        let consumer = &mut *self.consumer;
        let (rpos, lap, bytes) = if count == frames {
            let (end, lap) = self.tail_end;
            (end, lap, self.runs.bytes())
        } else {
            // The next frame's slot says where it starts, and on which lap.
            let next = consumer.slot(self.head + count as u64);
            let start = next.offset() as usize;
            let bytes = if next.lap() == consumer.lap {
                start - consumer.rpos
            } else {
                (self.runs.end - consumer.rpos) + start
            };
            (start, next.lap(), bytes as u64)
        };
        // Only the consumer writes this counter (frame counts come from head
        // and the producer's commit count).
        let c = &consumer.parts().shared.consumed.consumed_bytes;
        c.store(c.load(Ordering::Relaxed).wrapping_add(narrow(bytes)), Ordering::Relaxed);
        consumer.head = self.head + count as u64;
        let slots = consumer.parts().slots.len();
        consumer.head_slot += count;
        if consumer.head_slot >= slots {
            consumer.head_slot -= slots;
        }
        consumer.rpos = rpos;
        consumer.lap = lap;
        resume::leave(consumer.parts(), consumer.head, consumer.head_slot);
        consumer.unlock(consumer.head);
        self.done = true;
    }
}

impl<R: Deref> Drop for ReadGrant<'_, R>
where
    R::Target: Storage,
{
    fn drop(&mut self) {
        if !self.done {
            self.consumer.unlock(self.head);
        }
    }
}
