//! Ring storage: the byte array, the frame index, and the shared atomics;
//! [`Ring`] (const-generic, `static`-friendly) and [`HeapRing`] (sized at run
//! time, `alloc`).

use core::ops::Deref;

use crate::consumer::Consumer;
use crate::counters::Counters;
use crate::producer::Producer;
use crate::sync::{AtomicBool, Ordering, UnsafeCell};

/// What the producer does when a frame does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The push fails and hands the frame back; waiting is the caller's choice
    /// (fluent-logger-python's default blocking queue).
    Block = 1,
    /// The oldest whole frames are evicted to make room (Python's
    /// `queue_circular=True`); the producer never waits for the consumer.
    /// Stored as zero, so that a `static` overwrite ring is all zeros: its
    /// image is in `.bss`, costing no flash.
    Overwrite = 0,
}

/// The width of the shared words, and the field sizes packed into them.
/// Wide (64-bit atomics): 31-bit sequence numbers in the tail word, offsets
/// and capacities below 2^31. Narrow (32-bit atomics only: Cortex-M3/M4/M7/
/// M33, 32-bit RISC-V, Xtensa; or any target with `--cfg
/// fluent_narrow_atomics`, so that the host's tests, loom included, run it):
/// 15-bit sequence numbers, offsets and capacities below 2^16, which suits
/// the RAM of those microcontrollers.
#[cfg(all(target_has_atomic = "64", not(fluent_narrow_atomics)))]
mod layout {
    /// One shared word.
    pub(crate) type Word = u64;
    pub(crate) type AtomicWord = crate::sync::atomic::AtomicU64;
    /// Bits of the end offset in the tail word (31 used, below the lap bit).
    pub(crate) const END_BITS: u32 = 32;
    /// The largest byte capacity.
    pub(crate) const MAX_BYTES: usize = (1 << 31) - 1;
}

#[cfg(not(all(target_has_atomic = "64", not(fluent_narrow_atomics))))]
mod layout {
    /// One shared word.
    pub(crate) type Word = u32;
    pub(crate) type AtomicWord = crate::sync::atomic::AtomicU32;
    /// Bits of the end offset in the tail word.
    pub(crate) const END_BITS: u32 = 16;
    /// The largest byte capacity.
    pub(crate) const MAX_BYTES: usize = (1 << 16) - 1;
}

pub(crate) use layout::{AtomicWord, MAX_BYTES, Word};

/// Bits of the packed tail word: `seq << SEQ_SHIFT | lap << END_BITS | end`.
/// The sequence number sits on top, so that it wraps without carrying into
/// the other fields, and one add moves both it and `end` for a frame that
/// does not wrap.
pub(crate) const LAP_BIT: Word = 1 << layout::END_BITS;
pub(crate) const END_MASK: Word = LAP_BIT - 1;
pub(crate) const SEQ_SHIFT: u32 = layout::END_BITS + 1;
/// The sequence number bits the tail word keeps (31 wide, 15 narrow).
pub(crate) const SEQ_MASK: u64 = (1 << (Word::BITS - SEQ_SHIFT)) - 1;
/// The largest frame limit: the tail word tells apart fewer than 2^bits
/// queued frames.
pub(crate) const MAX_FRAMES: usize = SEQ_MASK as usize;
/// The sequence number bits the head word keeps (above the lock bit).
pub(crate) const HEAD_MASK: u64 = (1 << (Word::BITS - 1)) - 1;
/// The counters' range: they count modulo `COUNT_MASK + 1` (2^63 wide,
/// 2^31 narrow), the width of the head word's sequence number.
pub(crate) const COUNT_MASK: u64 = HEAD_MASK;
/// The most frames overwrite mode evicts without seeing the consumer touch
/// `head`: the consumer extends the head word's bits from the oldest frame
/// it last saw, which is then fewer than 2^30 frames behind (2^62 wide,
/// which never binds).
pub(crate) const MAX_UNSEEN_EVICTIONS: u64 = HEAD_MASK / 2;

/// A shared word as a `u64` (the identity on wide targets).
#[inline(always)]
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
pub(crate) const fn widen(word: Word) -> u64 {
    word as u64
}

/// The low bits of `value` that fit a shared word.
#[inline(always)]
#[allow(clippy::unnecessary_cast)]
pub(crate) const fn narrow(value: u64) -> Word {
    value as Word
}

/// The full sequence number whose low bits (`mask`) are `low`, counting on
/// from `base`, which is not newer than it and fewer than `mask` behind.
#[inline(always)]
pub(crate) fn extend(base: u64, low: u64, mask: u64) -> u64 {
    base + (low.wrapping_sub(base) & mask)
}

/// `a - b` in the counters' modular range, 0 when `b` reads ahead of `a`
/// (a snapshot taken while the other side moves).
#[inline]
pub(crate) fn count_sub(a: u64, b: u64) -> u64 {
    let d = a.wrapping_sub(b) & COUNT_MASK;
    if d > COUNT_MASK / 2 { 0 } else { d }
}

/// Where one committed frame lives in the byte array, and on which lap
/// (parity of the number of wraps to offset 0 before it), in one 8-byte
/// word laid out like the tail word: `len << SEQ_SHIFT | lap << END_BITS |
/// offset`. A slot for a frame at `wpos` is the tail word with `len` in
/// place of the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(u64);

impl Slot {
    pub(crate) const EMPTY: Slot = Slot(0);

    /// The slot of a frame of `len` bytes at the end offset and on the lap
    /// that the tail word `word` holds.
    #[inline(always)]
    pub(crate) fn at_tail(word: Word, len: usize) -> Self {
        Slot((len as u64) << SEQ_SHIFT | widen(word & (LAP_BIT | END_MASK)))
    }

    #[inline]
    pub(crate) fn offset(self) -> u32 {
        (self.0 & widen(END_MASK)) as u32
    }

    #[inline]
    pub(crate) fn len(self) -> u32 {
        (self.0 >> SEQ_SHIFT) as u32
    }

    #[inline]
    pub(crate) fn lap(self) -> bool {
        self.0 & widen(LAP_BIT) != 0
    }
}

/// Packs the tail word: the low bits of the next sequence number, the
/// newest frame's lap, and its end offset.
#[inline]
pub(crate) fn pack_tail(end: usize, lap: bool, seq: u64) -> Word {
    narrow(seq << SEQ_SHIFT) | if lap { LAP_BIT } else { 0 } | end as Word
}

/// Unpacks the tail word into (end offset, lap, low bits of tail).
#[inline]
pub(crate) fn unpack_tail(word: Word) -> (usize, bool, u64) {
    ((word & END_MASK) as usize, word & LAP_BIT != 0, widen(word >> SEQ_SHIFT))
}

/// The producer-written words the consumer polls.
#[derive(Debug)]
pub(crate) struct TailWords {
    /// See [`pack_tail`].
    pub(crate) word: AtomicWord,
    /// Where the data ended when the producer last wrapped to offset 0.
    pub(crate) watermark: AtomicWord,
}

/// Aligns its contents to 128 bytes so that the producer's and the
/// consumer's hot atomics do not share a cache line (128: adjacent-line
/// prefetching on x86 pulls pairs of 64-byte lines).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Counters written only by the producer.
#[derive(Debug)]
pub(crate) struct ProducerCounters {
    /// `(bytes committed on earlier laps << 1) | the current lap`, stored at
    /// each wrap: frames lie back to back from 0 within a lap, so the bytes
    /// committed so far are this plus the tail word's end (the fast path
    /// counts nothing).
    pub(crate) before_lap: AtomicWord,
    pub(crate) rejected: AtomicWord,
    pub(crate) evicted: AtomicWord,
    pub(crate) evicted_bytes: AtomicWord,
}

/// The slot index `distance` frames after slot `base` (`base < slots`), with
/// one division: for jumps of any length (evictions unseen, a split).
pub(crate) fn slot_after(base: usize, distance: u64, slots: usize) -> usize {
    let index = base as u64 + distance % slots as u64;
    (if index >= slots as u64 { index - slots as u64 } else { index }) as usize
}

/// Counters written only by the consumer, and where it last released to
/// (see `resume`).
#[derive(Debug)]
pub(crate) struct ConsumerCounters {
    pub(crate) consumed_bytes: AtomicWord,
    /// The head of the consumer's last release (low bits).
    pub(crate) left_head: AtomicWord,
    /// `left_head`'s slot index.
    pub(crate) left_slot: AtomicWord,
}

/// The atomics both sides share. See the crate docs for the protocol.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `(oldest frame's sequence number << 1) | consumer-lock bit`.
    pub(crate) head: CachePadded<AtomicWord>,
    /// The packed tail word and the watermark.
    pub(crate) tail: CachePadded<TailWords>,
    pub(crate) produced: CachePadded<ProducerCounters>,
    pub(crate) consumed: CachePadded<ConsumerCounters>,
    pub(crate) mode: Mode,
    /// Slots beyond `max_frames` (0 when the ring uses all it has). Every
    /// field of a new ring is zero this way (see `Mode::Overwrite`).
    pub(crate) unused_slots: u64,
    /// Overwrite mode: the fewest frames one eviction removes, less one
    /// (0 = exactly as many as the new frame needs, Python's behaviour).
    pub(crate) eviction_extra: u64,
    pub(crate) split: AtomicBool,
}

macro_rules! new_shared {
    ($mode:expr, $max_frames:expr, $slots:expr) => {
        Shared {
            head: CachePadded(AtomicWord::new(0)),
            tail: CachePadded(TailWords { word: AtomicWord::new(0), watermark: AtomicWord::new(0) }),
            produced: CachePadded(ProducerCounters {
                before_lap: AtomicWord::new(0),
                rejected: AtomicWord::new(0),
                evicted: AtomicWord::new(0),
                evicted_bytes: AtomicWord::new(0),
            }),
            consumed: CachePadded(ConsumerCounters {
                consumed_bytes: AtomicWord::new(0),
                left_head: AtomicWord::new(0),
                left_slot: AtomicWord::new(0),
            }),
            mode: $mode,
            unused_slots: ($slots - $max_frames) as u64,
            eviction_extra: 0,
            split: AtomicBool::new(false),
        }
    };
}

impl Shared {
    /// The most frames held at once, of `slots`.
    pub(crate) fn max_frames(&self, slots: usize) -> u64 {
        slots as u64 - self.unused_slots
    }

    /// Overwrite mode: the fewest frames one eviction removes.
    pub(crate) fn eviction_batch(&self) -> u64 {
        self.eviction_extra + 1
    }

    /// A snapshot of the counters (exact when both sides are idle), modulo
    /// `COUNT_MASK + 1`.
    pub(crate) fn counters(&self) -> Counters {
        // `head` counts every frame that left (consumed or evicted). While an
        // eviction is in flight (head moved, `evicted` not yet bumped)
        // `consumed` reads high by that many frames: the snapshot is exact
        // when the producer is idle. Head before tail, so tail >= head.
        let p = &self.produced;
        let c = &self.consumed;
        let evicted = widen(p.evicted.load(Ordering::Relaxed));
        let head = widen(self.head.load(Ordering::Acquire) >> 1);
        // Fewer frames are ever queued than the tail word's sequence bits
        // tell apart, so its low bits of the commit count extend `head` to
        // the full count.
        let (end, lap, tail_low) = unpack_tail(self.tail.word.load(Ordering::Acquire));
        let committed = extend(head, tail_low, SEQ_MASK) & COUNT_MASK;
        // Relaxed: stored before the tail word that starts its lap (Release,
        // paired with the Acquire above), so it is at least as new as `lap`.
        // Newer (a wrap in flight) means it already holds the bytes up to
        // `end`.
        let before_lap = widen(p.before_lap.load(Ordering::Relaxed));
        let this_lap = if (before_lap & 1 == 1) == lap { end as u64 } else { 0 };
        let committed_bytes = (before_lap >> 1) + this_lap;
        let gone = widen(c.consumed_bytes.load(Ordering::Relaxed))
            .wrapping_add(widen(p.evicted_bytes.load(Ordering::Relaxed)));
        Counters {
            committed,
            consumed: count_sub(head, evicted),
            evicted: evicted & COUNT_MASK,
            rejected: widen(p.rejected.load(Ordering::Relaxed)) & COUNT_MASK,
            frames: count_sub(committed, head),
            bytes: count_sub(committed_bytes, gone),
        }
    }
}

/// The parts of a ring the handles work on (public only inside this private
/// module, for the sealed trait).
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    pub(crate) bytes: &'a [UnsafeCell<u8>],
    pub(crate) slots: &'a [UnsafeCell<Slot>],
    pub(crate) shared: &'a Shared,
}

pub(crate) mod private {
    /// Seals [`Storage`](super::Storage): only this crate's rings implement it.
    pub trait Sealed {
        /// The ring's storage and shared state.
        fn parts(&self) -> super::Parts<'_>;
    }
}

/// Storage a [`Producer`] and [`Consumer`] can work on: [`Ring`] and
/// `HeapRing` (with `alloc`). Sealed.
pub trait Storage: private::Sealed {
    /// The counters, readable at any time.
    ///
    /// ```
    /// use fluent_queue::{Mode, Ring, Storage};
    /// let ring: Ring<64, 4> = Ring::new(Mode::Block);
    /// assert_eq!(ring.counters().committed, 0);
    /// ```
    fn counters(&self) -> Counters {
        self.parts().shared.counters()
    }
}

/// A ring with `BYTES` bytes of frame storage and room for `FRAMES` frames,
/// in one value: put it in a `static`, on the stack, or in a `Box`.
///
/// ```
/// use fluent_queue::{Mode, Ring};
///
/// static RING: Ring<1024, 32> = Ring::new(Mode::Overwrite);
/// let (mut producer, mut consumer) = RING.try_split().expect("split once");
/// producer.push(b"event")?;
/// let mut out = [0u8; 16];
/// let n = consumer.pop(&mut out)?;
/// assert_eq!(&out[..n], b"event");
/// assert!(RING.try_split().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Ring<const BYTES: usize, const FRAMES: usize> {
    bytes: [UnsafeCell<u8>; BYTES],
    slots: [UnsafeCell<Slot>; FRAMES],
    shared: Shared,
}

// SAFETY: the cells are only reached through the one `Producer` and the one
// `Consumer` that `split`/`try_split` hand out (at most once), and those
// follow the protocol in the crate docs: no byte or slot is written while the
// other side may read it. The atomics are `Sync` themselves.
unsafe impl<const BYTES: usize, const FRAMES: usize> Sync for Ring<BYTES, FRAMES> {}

impl<const BYTES: usize, const FRAMES: usize> core::fmt::Debug for Ring<BYTES, FRAMES> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ring").field("bytes", &BYTES).field("frames", &FRAMES).field("shared", &self.shared).finish()
    }
}

impl<const BYTES: usize, const FRAMES: usize> Ring<BYTES, FRAMES> {
    const CHECK: () = {
        assert!(BYTES > 0 && BYTES <= MAX_BYTES, "BYTES must be in 1..=MAX_BYTES");
        assert!(FRAMES > 0 && FRAMES <= MAX_FRAMES, "FRAMES must be in 1..=MAX_FRAMES");
    };

    /// An empty ring holding at most `FRAMES` frames.
    ///
    /// ```
    /// let ring: fluent_queue::Ring<256, 8> = fluent_queue::Ring::new(fluent_queue::Mode::Block);
    /// # let _ = ring;
    /// ```
    #[cfg(not(loom))]
    pub const fn new(mode: Mode) -> Self {
        Self::with_max_frames(mode, FRAMES)
    }

    /// An empty ring holding at most `max_frames` frames (at most `FRAMES`;
    /// Python's `queue_maxsize` counts events, not bytes).
    ///
    /// # Panics
    /// When `max_frames` is 0 or more than `FRAMES` (at compile time in a
    /// `const` or `static`).
    ///
    /// ```
    /// use fluent_queue::{Mode, Ring};
    /// static RING: Ring<4096, 128> = Ring::with_max_frames(Mode::Block, 100);
    /// # let _ = &RING;
    /// ```
    #[cfg(not(loom))]
    pub const fn with_max_frames(mode: Mode, max_frames: usize) -> Self {
        let () = Self::CHECK;
        assert!(max_frames > 0 && max_frames <= FRAMES, "max_frames must be in 1..=FRAMES");
        Ring {
            bytes: [const { UnsafeCell::new(0) }; BYTES],
            slots: [const { UnsafeCell::new(Slot::EMPTY) }; FRAMES],
            shared: new_shared!(mode, max_frames, FRAMES),
        }
    }

    /// Overwrite mode: evict at least `frames` of the oldest frames whenever
    /// an eviction is needed (default 1: exactly what the new frame needs,
    /// as Python's circular queue does). A larger batch makes the following
    /// pushes take the fast path, at the price of dropping up to
    /// `frames - 1` old frames earlier than strictly necessary, which a
    /// consumer that catches up at that moment would have read.
    ///
    /// # Panics
    /// When `frames` is 0.
    ///
    /// ```
    /// use fluent_queue::{Mode, Ring};
    /// static RING: Ring<16384, 256> = Ring::new(Mode::Overwrite).with_eviction_batch(32);
    /// # let _ = &RING;
    /// ```
    pub const fn with_eviction_batch(mut self, frames: usize) -> Self {
        assert!(frames > 0, "the eviction batch must be at least 1");
        self.shared.eviction_extra = frames as u64 - 1;
        self
    }

    /// Loom build of the constructor (loom's cells are not `const`).
    #[cfg(loom)]
    pub fn new(mode: Mode) -> Self {
        Self::with_max_frames(mode, FRAMES)
    }

    /// Loom build of the constructor.
    #[cfg(loom)]
    pub fn with_max_frames(mode: Mode, max_frames: usize) -> Self {
        let () = Self::CHECK;
        assert!(max_frames > 0 && max_frames <= FRAMES);
        Ring {
            bytes: core::array::from_fn(|_| UnsafeCell::new(0)),
            slots: core::array::from_fn(|_| UnsafeCell::new(Slot::EMPTY)),
            shared: new_shared!(mode, max_frames, FRAMES),
        }
    }

    /// The producer and consumer handles, the first time only (for rings in
    /// `static`s); `None` afterwards.
    ///
    /// ```
    /// let ring: fluent_queue::Ring<64, 4> = fluent_queue::Ring::new(fluent_queue::Mode::Block);
    /// assert!(ring.try_split().is_some());
    /// assert!(ring.try_split().is_none());
    /// ```
    pub fn try_split(&self) -> Option<(Producer<&Self>, Consumer<&Self>)> {
        // Relaxed: the flag only arbitrates who gets the handles; the handles
        // synchronise through head/tail.
        if self.shared.split.swap(true, Ordering::Relaxed) {
            return None;
        }
        Some((Producer::new(self), Consumer::new(self)))
    }

    /// The producer and consumer handles, borrowing the ring exclusively
    /// (heapless-style); the ring keeps its frames and counters across
    /// splits, and the new handles pick up where the old ones left off.
    ///
    /// ```
    /// let mut ring: fluent_queue::Ring<64, 4> = fluent_queue::Ring::new(fluent_queue::Mode::Block);
    /// let (mut p, mut c) = ring.split();
    /// p.push(b"x")?;
    /// p.push(b"y")?;
    /// assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"x".to_vec()));
    ///
    /// let (_p, mut c) = ring.split(); // the first handles are gone
    /// assert_eq!(c.pop_with(|f| f.to_vec()), Some(b"y".to_vec()));
    /// assert_eq!(c.counters().committed, 2);
    /// # Ok::<(), fluent_queue::PushError<'static>>(())
    /// ```
    pub fn split(&mut self) -> (Producer<&Self>, Consumer<&Self>) {
        self.shared.split.store(true, Ordering::Relaxed);
        // A read borrow leaked with `mem::forget` leaves the lock bit set; no
        // handle is alive now, so nobody holds it.
        let head = self.shared.head.load(Ordering::Relaxed);
        self.shared.head.store(head & !1, Ordering::Relaxed);
        let this: &Self = self;
        (Producer::new(this), Consumer::new(this))
    }
}

impl<const BYTES: usize, const FRAMES: usize> private::Sealed for Ring<BYTES, FRAMES> {
    fn parts(&self) -> Parts<'_> {
        Parts { bytes: &self.bytes, slots: &self.slots, shared: &self.shared }
    }
}

impl<const BYTES: usize, const FRAMES: usize> Storage for Ring<BYTES, FRAMES> {}

/// What a new `HeapRing`'s bytes are filled with (see `HeapRing::new`).
#[cfg(feature = "alloc")]
const PREFAULT_FILL: u8 = 0xa5;

/// A ring whose sizes are chosen at run time (`alloc` feature), shared by its
/// two handles through an `Arc`. Its memory is written once at creation, so
/// that the producer never takes a page fault on a fresh page.
///
/// ```
/// let (mut producer, mut consumer) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 1 << 15, 100);
/// std::thread::spawn(move || producer.push(b"from another thread").map(|_| ())).join().unwrap()?;
/// assert_eq!(consumer.pop_with(|f| f.len()), Some(19));
/// # Ok::<(), fluent_queue::PushError<'static>>(())
/// ```
#[cfg(feature = "alloc")]
pub struct HeapRing {
    bytes: alloc::boxed::Box<[UnsafeCell<u8>]>,
    slots: alloc::boxed::Box<[UnsafeCell<Slot>]>,
    shared: Shared,
}

#[cfg(feature = "alloc")]
// SAFETY: as for `Ring`: the cells are only reached through the one pair of
// handles `HeapRing::new` returns, which follow the protocol.
unsafe impl Sync for HeapRing {}

// SAFETY: the cells hold plain bytes and slots; ownership may move between
// threads (the handles share it through an `Arc`).
#[cfg(feature = "alloc")]
unsafe impl Send for HeapRing {}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for HeapRing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeapRing").field("bytes", &self.bytes.len()).field("frames", &self.slots.len()).finish()
    }
}

#[cfg(feature = "alloc")]
impl HeapRing {
    /// A ring of `bytes` bytes holding at most `max_frames` frames, and its
    /// two handles.
    ///
    /// # Panics
    /// When `bytes` is 0 or above [`MAX_BYTES`](crate::MAX_BYTES), or
    /// `max_frames` is 0 or above [`MAX_FRAMES`](crate::MAX_FRAMES).
    ///
    /// ```
    /// let (p, c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Overwrite, 4096, 64);
    /// assert_eq!(p.capacity(), 4096);
    /// # drop(c);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn new(
        mode: Mode,
        bytes: usize,
        max_frames: usize,
    ) -> (Producer<alloc::sync::Arc<HeapRing>>, Consumer<alloc::sync::Arc<HeapRing>>) {
        Self::with_eviction_batch(mode, bytes, max_frames, 1)
    }

    /// As [`HeapRing::new`], with an eviction batch (see
    /// [`Ring::with_eviction_batch`]).
    ///
    /// # Panics
    /// As [`HeapRing::new`], and when `eviction_batch` is 0.
    ///
    /// ```
    /// let (p, _c) = fluent_queue::HeapRing::with_eviction_batch(fluent_queue::Mode::Overwrite, 4096, 64, 8);
    /// assert_eq!(p.capacity(), 4096);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn with_eviction_batch(
        mode: Mode,
        bytes: usize,
        max_frames: usize,
        eviction_batch: usize,
    ) -> (Producer<alloc::sync::Arc<HeapRing>>, Consumer<alloc::sync::Arc<HeapRing>>) {
        assert!(eviction_batch > 0, "the eviction batch must be at least 1");
        assert!(bytes > 0 && bytes <= MAX_BYTES, "bytes must be in 1..=MAX_BYTES");
        assert!(max_frames > 0 && max_frames <= MAX_FRAMES, "max_frames must be in 1..=MAX_FRAMES");
        let ring = alloc::sync::Arc::new(HeapRing {
            // A non-zero fill: a zero fill may become a lazily mapped
            // allocation (calloc), whose pages would then fault one by one
            // on the producer's hot path. Written now, every page is
            // resident before the first frame.
            bytes: (0..bytes).map(|_| UnsafeCell::new(PREFAULT_FILL)).collect(),
            slots: (0..max_frames).map(|_| UnsafeCell::new(Slot::EMPTY)).collect(),
            shared: Shared { eviction_extra: eviction_batch as u64 - 1, ..new_shared!(mode, max_frames, max_frames) },
        });
        ring.shared.split.store(true, Ordering::Relaxed);
        (Producer::new(ring.clone()), Consumer::new(ring))
    }
}

#[cfg(feature = "alloc")]
impl private::Sealed for HeapRing {
    fn parts(&self) -> Parts<'_> {
        Parts { bytes: &self.bytes, slots: &self.slots, shared: &self.shared }
    }
}

#[cfg(feature = "alloc")]
impl Storage for HeapRing {}

#[cfg(all(test, feature = "alloc", not(loom)))]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use std::vec::Vec;

    type Handles = (Producer<Arc<HeapRing>>, Consumer<Arc<HeapRing>>);

    /// A ring and its handles with sequence numbers starting at `seq`.
    fn starting_at(mode: Mode, bytes: usize, max_frames: usize, seq: u64) -> Handles {
        starting_at_with_ring(mode, bytes, max_frames, seq).1
    }

    fn starting_at_with_ring(mode: Mode, bytes: usize, max_frames: usize, seq: u64) -> (Arc<HeapRing>, Handles) {
        let ring = Arc::new(HeapRing {
            bytes: (0..bytes).map(|_| UnsafeCell::new(0)).collect(),
            slots: (0..max_frames).map(|_| UnsafeCell::new(Slot::EMPTY)).collect(),
            shared: new_shared!(mode, max_frames, max_frames),
        });
        ring.shared.head.store(narrow(seq << 1), Ordering::Relaxed);
        ring.shared.consumed.left_head.store(narrow(seq), Ordering::Relaxed);
        ring.shared.consumed.left_slot.store((seq % max_frames as u64) as Word, Ordering::Relaxed);
        ring.shared.tail.word.store(pack_tail(0, false, seq), Ordering::Relaxed);
        // The handles resume from the shared words, as after a split.
        (ring.clone(), (Producer::new(ring.clone()), Consumer::new(ring)))
    }

    /// Handles made again, as `Ring::split` makes them, pick up where the
    /// old ones left off, across the wrap of the head word's and the tail
    /// word's low bits (2^31), and of the 32 bits the consumer leaves behind
    /// in the narrow layout (2^32): a twin ring whose handles are never
    /// remade pushes, pops, evicts and counts the same.
    #[test]
    fn remade_handles_resume_across_the_wrap() {
        for (mode, start) in
            [Mode::Block, Mode::Overwrite].into_iter().flat_map(|m| [(m, (1u64 << 31) - 7), (m, (1 << 32) - 7)])
        {
            let (ring, (mut p, mut c)) = starting_at_with_ring(mode, 64, 5, start);
            let (mut twin_p, mut twin_c) = starting_at(mode, 64, 5, start);
            let (mut out, mut twin_out) = ([0u8; 16], [0u8; 16]);
            for i in 0..200u32 {
                let frame: Vec<u8> = (0..1 + i % 13).map(|b| (b ^ i) as u8).collect();
                assert_eq!(p.push(&frame).is_ok(), twin_p.push(&frame).is_ok(), "{mode:?} push {i}");
                if i % 3 == 0 {
                    let (got, want) = (c.pop(&mut out), twin_c.pop(&mut twin_out));
                    assert_eq!(got, want, "{mode:?} pop {i}");
                    if let Ok(n) = got {
                        assert_eq!(out[..n], twin_out[..n], "{mode:?} frame {i}");
                    }
                }
                if i % 7 == 0 {
                    drop((p, c));
                    (p, c) = (Producer::new(ring.clone()), Consumer::new(ring.clone()));
                }
                assert_eq!(p.counters(), twin_p.counters(), "{mode:?} after {i}");
            }
            while let Ok(n) = twin_c.pop(&mut twin_out) {
                assert_eq!(c.pop(&mut out), Ok(n));
                assert_eq!(out[..n], twin_out[..n]);
            }
            assert_eq!(c.pop(&mut out), Err(crate::PopError::Empty));
            let pushed = p.counters().committed.wrapping_sub(start) & COUNT_MASK;
            assert!(start + pushed > start.next_power_of_two(), "the run crossed the wrap");
        }
    }

    /// The tail word keeps 31 bits of the sequence number (15 narrow), the
    /// head word 63 (31 narrow): frames pushed and popped across the wrap at
    /// 2^31 keep their order, contents and counts.
    #[test]
    fn sequence_numbers_wrap_past_2_pow_31() {
        for mode in [Mode::Block, Mode::Overwrite] {
            let start = (1u64 << 31) - 7;
            let (mut p, mut c) = starting_at(mode, 64, 5, start);
            let mut expected = std::collections::VecDeque::new();
            let (mut pushed, mut popped) = (0u64, 0u64);
            let mut out = [0u8; 16];
            for i in 0..60u8 {
                let frame: Vec<u8> = (0..1 + i % 13).map(|b| b ^ i).collect();
                if p.push(&frame).is_ok() {
                    pushed += 1;
                    expected.push_back(frame);
                }
                if mode == Mode::Overwrite {
                    // Only what is still queued can come out.
                    while expected.len() as u64 > p.counters().frames {
                        expected.pop_front();
                    }
                }
                if i % 3 == 0 {
                    let n = c.pop(&mut out).expect("a frame is queued");
                    assert_eq!(&out[..n], &expected.pop_front().unwrap()[..], "{mode:?} frame {i}");
                    popped += 1;
                }
            }
            while let Ok(n) = c.pop(&mut out) {
                assert_eq!(&out[..n], &expected.pop_front().unwrap()[..]);
                popped += 1;
            }
            assert!(expected.is_empty());
            let n = c.counters();
            // Narrow rings count modulo 2^31: the head word wrapped too.
            assert_eq!(n.committed.wrapping_sub(start) & COUNT_MASK, pushed, "{mode:?}");
            assert_eq!(n.consumed.wrapping_sub(start) & COUNT_MASK, popped, "{mode:?}");
            assert_eq!((n.frames, n.bytes), (0, 0), "{mode:?}");
            assert!(start + pushed > 1 << 31, "the run crossed the wrap");
        }
    }
}
