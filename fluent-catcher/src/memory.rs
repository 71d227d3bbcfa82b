//! Memory as a budget: a connection acquires bytes from a shared budget
//! *before* it allocates them, and gives them back when it frees them.
//!
//! Two budgets, so that one cannot starve the other into a deadlock:
//! - `Limits::buffer_memory`: read buffers, beyond the first read chunk of
//!   each connection. A connection that cannot get room for a frame waits
//!   (its client feels TCP backpressure), at most the frame timeout.
//! - `Limits::decode_memory`: inflated gzip requests, lines being rendered,
//!   and lines queued for the writer (the lease travels with them and is
//!   returned once they are written). Rendering takes room in steps
//!   ([`Guard::room`]); when the budget is spent, the request is dropped
//!   from memory, the connection waits for what it needs, and decodes the
//!   request again.
//!
//! What is not counted: one entry's rendering past its step (a worker
//! thread renders one request at a time), the first read chunk of each
//! connection, and the pickle reader's working memory (bounded per record
//! by `Limits::max_pickle_len`).

use std::sync::Arc;

use tokio::sync::Semaphore;

/// The step in which rendered lines take room: the most one entry can
/// write past its lease is its own rendering.
pub(crate) const GRAIN: usize = 64 << 10;

/// Bytes held from a budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    budget: Arc<Semaphore>,
    held: usize,
}

impl Lease {
    pub(crate) fn new(budget: &Arc<Semaphore>) -> Self {
        Lease { budget: budget.clone(), held: 0 }
    }

    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Grows the lease to `bytes` if the budget has them now.
    pub(crate) fn try_grow_to(&mut self, bytes: usize) -> bool {
        let Some(more) = bytes.checked_sub(self.held).filter(|&n| n > 0) else { return true };
        let Ok(n) = u32::try_from(more) else { return false };
        match self.budget.try_acquire_many(n) {
            Ok(permit) => {
                permit.forget();
                self.held = bytes;
                true
            }
            Err(_) => false,
        }
    }

    /// Grows the lease to `bytes`, waiting for them (in turn with the other
    /// waiters). `false` when they can never come: more than the budget.
    pub(crate) async fn grow_to(&mut self, bytes: usize) -> bool {
        let Some(more) = bytes.checked_sub(self.held).filter(|&n| n > 0) else { return true };
        let Ok(n) = u32::try_from(more) else { return false };
        match self.budget.acquire_many(n).await {
            Ok(permit) => {
                permit.forget();
                self.held = bytes;
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back what is held beyond `bytes`.
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        if let Some(extra) = self.held.checked_sub(bytes).filter(|&n| n > 0) {
            self.budget.add_permits(extra);
            self.held = bytes;
        }
    }

    /// Moves `bytes` of this lease (at most what it holds) into a new one.
    pub(crate) fn split(&mut self, bytes: usize) -> Lease {
        let moved = bytes.min(self.held);
        self.held -= moved;
        Lease { budget: self.budget.clone(), held: moved }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.shrink_to(0);
    }
}

/// Why rendering stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    /// The request's lines would pass what its size allows
    /// (`Limits::max_output_ratio`).
    Cap,
    /// The decode budget has not this many bytes free for the connection
    /// now: wait for them, then decode the request again.
    Memory(usize),
}

/// Bounds one request's rendering: its output cap, and the decode lease
/// that must cover the lines' capacity plus `other` bytes (an inflated
/// request) before they are allocated.
pub(crate) struct Guard<'a> {
    pub(crate) cap: usize,
    pub(crate) lease: &'a mut Lease,
    pub(crate) other: usize,
}

impl Guard<'_> {
    /// Before rendering more into `out`: fails past the cap, and makes sure
    /// `out` has at least [`GRAIN`] bytes of room, leased before they are
    /// allocated.
    #[inline]
    pub(crate) fn room(&mut self, out: &mut Vec<u8>) -> Result<(), Over> {
        if out.len() > self.cap {
            return Err(Over::Cap);
        }
        if out.capacity() - out.len() >= GRAIN {
            return Ok(());
        }
        self.grow(out)
    }

    #[cold]
    fn grow(&mut self, out: &mut Vec<u8>) -> Result<(), Over> {
        // Double (few reallocations); near the end of the budget, what is
        // left of it.
        let want = out.capacity().saturating_mul(2).max(out.len() + GRAIN);
        let total = want.saturating_add(self.other);
        if self.lease.try_grow_to(total.max(self.lease.held())) {
            out.reserve_exact(want - out.len());
            return Ok(());
        }
        // Doubling does not fit: take what the budget has left now, if that
        // is at least a grain.
        let left = self.lease.held().saturating_add(self.lease.budget.available_permits());
        let most = left.saturating_sub(self.other);
        if most >= out.len() + GRAIN && self.lease.try_grow_to(most.saturating_add(self.other).max(self.lease.held())) {
            out.reserve_exact(most - out.len());
            return Ok(());
        }
        Err(Over::Memory(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_takes_before_and_gives_back_on_drop() {
        let budget = Arc::new(Semaphore::new(100));
        let mut a = Lease::new(&budget);
        assert!(a.try_grow_to(60));
        let mut b = Lease::new(&budget);
        assert!(!b.try_grow_to(50), "only 40 left");
        assert!(b.try_grow_to(40));
        let moved = a.split(20);
        assert_eq!((a.held(), moved.held()), (40, 20));
        drop(moved);
        assert_eq!(budget.available_permits(), 20);
        a.shrink_to(0);
        drop(b);
        assert_eq!(budget.available_permits(), 100);
    }

    #[test]
    fn the_guard_leases_room_before_the_lines_grow_and_stops_at_the_cap() {
        let budget = Arc::new(Semaphore::new(GRAIN + GRAIN / 2));
        let mut lease = Lease::new(&budget);
        let mut out = Vec::new();
        let mut guard = Guard { cap: GRAIN * 4, lease: &mut lease, other: 0 };
        guard.room(&mut out).unwrap();
        assert_eq!((out.capacity(), guard.lease.held()), (GRAIN, GRAIN));
        out.resize(GRAIN / 2, b'x');
        guard.room(&mut out).unwrap();
        assert_eq!(
            (out.capacity(), guard.lease.held()),
            (GRAIN + GRAIN / 2, GRAIN + GRAIN / 2),
            "what is left of the budget when doubling does not fit"
        );
        out.resize(out.capacity() - 10, b'x');
        let before = out.capacity();
        assert_eq!(guard.room(&mut out), Err(Over::Memory(2 * before)), "the budget is spent");
        assert_eq!(out.capacity(), before, "nothing allocated without its lease");
        let mut guard = Guard { cap: 10, lease: &mut lease, other: 0 };
        assert_eq!(guard.room(&mut out), Err(Over::Cap));
    }
}
