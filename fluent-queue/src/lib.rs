//! A lock-free, fixed-capacity, single-producer single-consumer ring of
//! variable-length byte frames, with a **block** mode and an **overwrite**
//! mode whose producer is wait-free. `no_std`, no allocator (storage sized at
//! run time with `alloc`).
//!
//! An encoded event is a frame: it costs its own size, not a worst-case slot.
//! The producer reserves space and serializes straight into the ring; the
//! consumer borrows every committed frame as at most two contiguous slices and
//! can send them in one vectored write. These are the semantics of
//! fluent-logger-python's `queue_maxsize` (a frame limit), `queue_circular`
//! ([`Mode::Overwrite`]) and `queue_overflow_handler` ([`Producer::on_evict`]).
//!
//! ```
//! use fluent_queue::{Mode, Ring};
//!
//! static RING: Ring<4096, 64> = Ring::new(Mode::Overwrite);
//! let (mut producer, mut consumer) = RING.try_split().unwrap();
//!
//! let mut grant = producer.reserve(16)?;          // serialize in place...
//! grant.as_mut_slice()[..5].copy_from_slice(b"hello");
//! grant.commit(5);                                 // ...publish 5 bytes
//! producer.push(b"world")?;                        // or copy a frame in
//!
//! let batch = consumer.read().unwrap();            // borrow everything
//! assert_eq!(batch.as_slices(), (&b"helloworld"[..], &b""[..]));
//! batch.release();
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! - A byte array holds frame payloads only. Each frame is contiguous; when
//!   the end of the array is too short for the next frame, it starts at
//!   offset 0 and the end stays unused until the data wraps (as in bbqueue).
//!   So all queued bytes form at most two runs.
//! - A slot array holds one 8-byte word per frame, `len << 33 | lap << 32 |
//!   offset` (capacities are below 2^31; see "Targets" for the narrow
//!   layout's positions), indexed by the frame's sequence
//!   number modulo its length; its length bounds the frame count. `lap` is
//!   the parity of the number of wraps before the frame. Each side finds
//!   slots from an index it keeps incrementally, so finding a slot never
//!   divides.
//! - The **tail word** packs `(tail mod 2^31) << 33 | lap << 32 | end`: the
//!   next sequence number (fewer than 2^31 frames are ever queued, so 31 bits
//!   suffice; on top, it wraps without carrying into the rest), the newest
//!   frame's lap, and where it ends. The producer keeps its own copy, so a
//!   frame that does not wrap moves both the count and `end` with one add,
//!   and its slot is the tail word with `len` in place of the count. Beside
//!   it, the **watermark**: where the data ended when the producer last
//!   wrapped. Both are written only by the producer.
//! - `head`: `(oldest frame's sequence number << 1) | lock`, where `lock` is
//!   set while the consumer is reading. The consumer writes it; in overwrite
//!   mode the producer also moves it, by compare-and-swap only. Each side
//!   keeps the full sequence numbers itself and extends the word's low bits
//!   from its own (never newer) copy.
//!
//! # Targets
//!
//! The shared words are 64-bit atomics where the target has them (x86_64,
//! AArch64, 64-bit RISC-V, ARMv7-A). Targets with 32-bit atomics only
//! (Cortex-M3/M4/M7/M33, 32-bit RISC-V with the A extension, Xtensa) get
//! the same protocol on 32-bit words, the **narrow layout**: the tail word
//! is `(tail mod 2^15) << 17 | lap << 16 | end`, `head` keeps 31 bits of
//! the sequence number, a ring holds at most [`MAX_BYTES`] = 65535 bytes and
//! [`MAX_FRAMES`] = 32767 frames, and [`Counters`] count modulo 2^31. No
//! 64-bit atomic is used, so nothing falls back to a lock, and the producer
//! stays wait-free in an interrupt handler. Targets without compare-and-swap
//! (Cortex-M0/M0+ `thumbv6m`, RISC-V without the A extension) are not
//! supported.
//!
//! `--cfg fluent_narrow_atomics` selects the narrow layout on any target: the
//! test command runs the unit, property, stress and loom tests with it on the
//! host, and checks that the `no_std` staticlib built with it holds no 64-bit
//! atomic operation (no Cortex-M target is installed on the build machine).
//!
//! # Protocol
//!
//! **Commit** (producer): find room outside every queued frame, write the
//! bytes, write slot `tail` (outside `[head, tail)` because
//! `tail - head < max_frames <= slots`); if the frame wrapped to offset 0,
//! store the old end as the watermark (`Relaxed`) and flip the lap; then store
//! the tail word with `Release`.
//!
//! **Read** (consumer): in overwrite mode, set the lock bit with
//! `compare_exchange(h << 1, h << 1 | 1, Acquire)` (retrying if the producer
//! moved `head` meanwhile). Load the tail word with `Acquire` (pairs with the
//! commit's `Release`: the bytes, slots and watermark of `[h, tail)` are
//! visible). The consumer remembers where the oldest frame starts and on which
//! lap (`rpos`, `lap`); if the tail word's lap is the same, the frames are the
//! one run `[rpos, end)`, else `[rpos, watermark)` and `[0, end)`. No slot is
//! read for a batch, so the consumer does not pull the cache lines the
//! producer is writing. The producer can be at most one lap ahead (it cannot
//! wrap again before the consumer passes the watermark), so one lap bit is
//! enough and the watermark cannot change while the consumer uses it. After
//! reading, `head.store((h + n) << 1, Release)` releases `n` frames and clears
//! the lock. In block mode nobody else writes `head`, so there is no lock bit
//! and no CAS. When the producer has evicted frames since the consumer last
//! looked (overwrite mode), the consumer re-reads `rpos` and `lap` from the
//! new oldest frame's slot.
//!
//! **Room** (producer): the producer caches `head`, the oldest frame's offset
//! and lap, and its slot index, and reloads them with `head.load(Acquire)`
//! only when the cached view shows no room. From the cached view it keeps two
//! numbers, where the free run after the newest frame ends and the sequence
//! number at which the frame limit is reached, so a push's whole test is one
//! subtraction and two comparisons, and a push stores only the bytes, the
//! slot, its copy of the tail word and the tail word itself. The two numbers
//! are recomputed when the cached head moves or a frame wraps to offset 0.
//! A stale head only understates the room, and frame placement (after the
//! newest frame, else at offset 0) does not depend on it. The `Acquire`
//! pairs with the consumer's `Release` store: the consumer's reads of
//! released frames happen before the producer reuses their bytes.
//!
//! **Evict** (producer, overwrite mode, when no room): if the lock bit is
//! clear, compute the fewest oldest frames `k` whose removal makes room (at
//! least the configured eviction batch, default 1) and
//! `head.compare_exchange(h << 1, (h + k) << 1, AcqRel)`. Success means the
//! consumer was not reading and, since its lock CAS now fails on the old
//! value, never will read frames `[h, h + k)`: the producer owns their bytes,
//! hands each frame to the eviction handler (only if it wants them:
//! [`OnEvict::WANTS_FRAMES`]; the evicted byte count comes from the frames'
//! positions), then reuses the space. Failure means the consumer locked or
//! released at that moment; the producer looks again (the failed swap
//! returns the new `head`: room the consumer released is used first, even
//! if it has locked again), at most three swaps in all.
//!
//! **The one rule that drops a new frame**: if room can only be made by
//! evicting frames the consumer holds right now (lock bit set), the producer
//! does not wait: the new frame is refused ([`ReserveError::Busy`]), handed
//! back, and counted in [`Counters::rejected`]. So the producer is wait-free
//! (a bounded number of steps, never a loop on the consumer's progress), no
//! byte is ever written while the consumer may read it, and nothing is lost
//! silently. Consumers in overwrite mode should keep borrows short (copy
//! out, release, then do slow I/O). In the 32-bit layout (see "Targets")
//! the same rule covers a consumer that has not touched `head` while 2^30
//! frames were evicted: the consumer extends the head word's 31 bits from
//! the oldest frame it last saw, so the producer refuses new frames (`Busy`)
//! until the consumer locks or releases again.
//!
//! **Split again** ([`Ring::split`], after the handles are gone): the new
//! handles start from the shared words, so the ring keeps its frames, their
//! order and its counters. The head word alone does not tell which slot the
//! oldest frame has (its low bits do not fix the sequence number modulo the
//! slot count), so every release also stores, `Relaxed` on the consumer's
//! own cache line, the head it released to and that frame's slot index; the
//! head word is ahead of that pair only by evictions the consumer has not
//! seen, and the slot is counted on from the pair's. A split has the ring to
//! itself (`&mut`), so it also clears a lock bit left by a leaked read
//! borrow.
//!
//! **Counters**: frame counts come from `head`, the tail word and the
//! evicted count. Committed bytes are not counted per frame: frames lie back
//! to back from offset 0 within a lap, so they are the bytes of earlier laps
//! (stored with the lap bit at each wrap) plus the tail word's `end`.
//!
//! Every atomic operation's partner is named at the operation in the source.
//! A racy copy validated afterwards (a "seqlock" read) would be a data race
//! even if the result were discarded, so no byte is ever read while it may be
//! written: the lock bit makes eviction and reading mutually exclusive.
//!
//! # Verification
//!
//! loom models (`RUSTFLAGS="--cfg loom" cargo test -p fluent-queue --test
//! loom --release`) check push/pop, wrap-around, reserve/commit/abandon,
//! overwrite while the consumer reads, and the counters, under every
//! interleaving within a preemption bound; proptest compares random operation
//! sequences with a `VecDeque` model; a two-thread stress test checks that
//! every frame is delivered intact and in order or counted.
//!
//! # Cargo features
//! - `alloc`: `HeapRing`, sized at run time, handles shared through `Arc`.
//!
//! # Cargo features
//!
//! - `alloc`: `HeapRing`, storage sized at run time. Off by default: the
//!   bare crate is `no_std` without an allocator.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(loom, test))]
extern crate std;

mod consumer;
mod counters;
mod error;
mod producer;
mod resume;
mod ring;
mod sync;

pub use consumer::{Consumer, ReadGrant};
pub use counters::Counters;
pub use error::{PopError, PushError, ReserveError};
pub use producer::{Grant, OnEvict, Producer};
#[cfg(feature = "alloc")]
pub use ring::HeapRing;
pub use ring::{Mode, Ring, Storage};

/// The largest byte capacity of a ring: 2^31 - 1 on targets with 64-bit
/// atomics, 2^16 - 1 on targets with 32-bit atomics only (see "Targets"
/// above).
///
/// ```
/// assert!(fluent_queue::MAX_BYTES >= 65_535);
/// ```
pub const MAX_BYTES: usize = ring::MAX_BYTES;

/// The largest frame limit of a ring: 2^31 - 1 on targets with 64-bit
/// atomics, 2^15 - 1 on targets with 32-bit atomics only.
///
/// ```
/// assert!(fluent_queue::MAX_FRAMES >= 32_767);
/// ```
pub const MAX_FRAMES: usize = ring::MAX_FRAMES;
