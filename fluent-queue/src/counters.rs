//! [`Counters`]: what happened to every frame.

/// A snapshot of a ring's counters, readable from either side.
///
/// Every frame offered to the producer is counted exactly once as
/// `committed` or `rejected`; every committed frame ends exactly once as
/// `consumed` or `evicted`, or is still queued. When both sides are idle:
/// `committed == consumed + evicted + frames`. On targets with 32-bit
/// atomics only, every count is kept modulo 2^31 (the identities then hold
/// modulo 2^31).
///
/// ```
/// let (mut p, mut c) = fluent_queue::HeapRing::new(fluent_queue::Mode::Block, 8, 4);
/// p.push(b"12345")?;
/// assert!(p.push(b"6789").is_err()); // does not fit: rejected
/// c.pop_with(|_| ());
/// let n = p.counters();
/// assert_eq!((n.committed, n.rejected, n.consumed, n.frames), (1, 1, 1, 0));
/// # Ok::<(), fluent_queue::PushError<'static>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Frames accepted into the ring.
    pub committed: u64,
    /// Frames the consumer released.
    pub consumed: u64,
    /// Frames overwrite mode removed to make room.
    pub evicted: u64,
    /// Frames refused: too large, no room in block mode, or (overwrite mode)
    /// no room because the consumer held the oldest frames.
    pub rejected: u64,
    /// Frames queued now.
    pub frames: u64,
    /// Payload bytes queued now.
    pub bytes: u64,
}
