//! One ring per emitting thread: how the `AsyncSender` takes events from any
//! number of threads without a shared lock on the hot path.
//!
//! Each thread's first `emit` to a sender creates that thread's ring and
//! registers its consumer half with the worker; later emits find it in a
//! thread-local list (no allocation, no lock). The worker drains every
//! registered ring. A ring whose thread has exited is dropped once drained.
//!
//! `close` must see every event committed before it: each ring has an
//! `in_emit` flag. An emit stores `in_emit`, fences, then reads `closed`;
//! `close` stores `closed`, fences, then waits for every `in_emit` to clear.
//! With both fences, at least one side sees the other's store, so an emit
//! either sees `closed` and refuses, or `close` waits for its commit. The
//! fences are asymmetric (`asymmetric_fence`): the emit's costs nothing at
//! run time, close's is a `membarrier` system call.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use fluent_proto::{EncodeError, msgpack};
use fluent_queue::{Consumer, HeapRing, OnEvict, Producer};

use crate::sender::OverflowHandler;

/// Hands each evicted event to the overflow handler and counts it.
pub(crate) struct EvictedEvents {
    pub(crate) handler: Option<OverflowHandler>,
    pub(crate) scratch: Vec<u8>,
}

impl OnEvict for EvictedEvents {
    fn evicted(&mut self, frame: &[u8]) {
        // The ring counts evicted frames itself (`Stats::dropped_queue`
        // adds them up).
        let Some(handler) = &self.handler else { return };
        if let Some((tag, entry)) = crate::packet::split_frame(frame) {
            self.scratch.clear();
            if message_bytes(&mut self.scratch, tag, entry).is_ok() {
                let _ = catch_unwind(AssertUnwindSafe(|| handler(&self.scratch)));
            }
        }
    }
}

/// `[tag, time, record]` from a tag and an entry `[time, record]`.
pub(crate) fn message_bytes(out: &mut Vec<u8>, tag: &str, entry: &[u8]) -> Result<(), EncodeError> {
    msgpack::write_array_header(out, 3)?;
    msgpack::write_str(out, tag)?;
    out.extend_from_slice(entry.get(1..).unwrap_or_default());
    Ok(())
}

/// State of one ring, shared by its thread and the worker.
#[derive(Debug, Default)]
pub(crate) struct RingState {
    /// The owning thread is inside an emit (see the module docs).
    pub(crate) in_emit: AtomicBool,
    /// The owning thread has exited (its producer is gone).
    pub(crate) gone: AtomicBool,
    /// Events committed to this ring (written only by its thread).
    pub(crate) emitted: AtomicU64,
}

/// The worker's side of a ring.
pub(crate) struct RingEntry {
    pub(crate) consumer: Consumer<Arc<HeapRing>>,
    pub(crate) state: Arc<RingState>,
}

/// A thread's side of a ring.
pub(crate) struct LocalRing {
    pub(crate) sender_id: u64,
    /// The sender's `closed` flag, for dropping rings of closed senders.
    pub(crate) sender_closed: Arc<AtomicBool>,
    pub(crate) producer: Producer<Arc<HeapRing>, EvictedEvents>,
    pub(crate) state: Arc<RingState>,
    /// The last entry's encoded size: the first guess for the next one.
    pub(crate) size_hint: usize,
    /// This thread's wall clock (see `clock`).
    pub(crate) clock: crate::clock::ThreadClock,
}

impl Drop for LocalRing {
    fn drop(&mut self) {
        self.state.gone.store(true, Ordering::Release);
    }
}

thread_local! {
    static LOCAL: RefCell<Vec<LocalRing>> = const { RefCell::new(Vec::new()) };
}

/// Why the calling thread's ring is not available.
pub(crate) enum Unavailable {
    /// An emit to the same sender is already running on this thread (a
    /// `Serialize` impl or overflow handler that emits).
    Reentrant,
    /// The thread is exiting (thread-locals are being destroyed).
    ThreadExiting,
}

/// Runs `f` on this thread's ring for sender `id`, creating it with
/// `register` on first use.
#[inline]
pub(crate) fn with_local_ring<R>(
    id: u64,
    register: impl FnOnce() -> LocalRing,
    f: impl FnOnce(&mut LocalRing) -> R,
) -> Result<R, Unavailable> {
    LOCAL
        .try_with(|cell| {
            let Ok(mut rings) = cell.try_borrow_mut() else { return Err(Unavailable::Reentrant) };
            let at = match rings.iter().position(|r| r.sender_id == id) {
                Some(at) => at,
                None => {
                    // Forget rings of senders closed since (their worker drains
                    // or has drained them).
                    rings.retain(|r| !r.sender_closed.load(Ordering::Relaxed));
                    rings.push(register());
                    rings.len() - 1
                }
            };
            Ok(f(&mut rings[at]))
        })
        .unwrap_or(Err(Unavailable::ThreadExiting))
}
