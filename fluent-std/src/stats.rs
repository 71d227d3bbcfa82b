//! [`Stats`]: what the asynchronous sender did with every event.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// Counters of an [`AsyncSender`](crate::AsyncSender), readable at any time.
///
/// Every emitted event ends in exactly one of: `sent`, `dropped_queue`,
/// `dropped_buffer`, `unsent_at_close`, or is still on its way.
///
/// ```
/// let stats = fluent_std::Stats::default();
/// assert_eq!(stats.emitted, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Events accepted by `emit`.
    pub emitted: u64,
    /// Events written to the server (acknowledged, in ack mode).
    pub sent: u64,
    /// Events acknowledged by the server (ack mode).
    pub acked: u64,
    /// Events lost to the queue: evicted (circular) or refused (full).
    pub dropped_queue: u64,
    /// Events the worker could not turn into a request (an encoding error).
    /// Unsent requests never exceed `bufmax`: beyond it, events wait in the
    /// queue, where the queue's policy applies (`dropped_queue`).
    pub dropped_buffer: u64,
    /// Events still unsent when `close` gave up (handed to the handler).
    pub unsent_at_close: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Bytes written to the server.
    pub bytes_sent: u64,
}

/// Counters written by emitting threads (under the producer lock).
#[derive(Debug, Default)]
pub(crate) struct EmitterCounters {
    pub(crate) emitted: AtomicU64,
    pub(crate) dropped_queue: AtomicU64,
}

/// Counters written by the worker thread.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) sent: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) dropped_buffer: AtomicU64,
    pub(crate) unsent_at_close: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
}

/// Emitter and worker counters on separate cache lines, so that an emit
/// does not pull the line the worker writes after every request.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) emitter: CachePadded<EmitterCounters>,
    pub(crate) worker: CachePadded<WorkerCounters>,
}

impl Counters {
    /// Adds `n` with a read-modify-write (any thread).
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` when the caller is the only writer at this moment (an emitter
    /// holding the producer lock, or the worker): no locked instruction.
    pub(crate) fn add_exclusive(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (e, w) = (&self.emitter, &self.worker);
        Stats {
            emitted: get(&e.emitted),
            sent: get(&w.sent),
            acked: get(&w.acked),
            dropped_queue: get(&e.dropped_queue),
            dropped_buffer: get(&w.dropped_buffer),
            unsent_at_close: get(&w.unsent_at_close),
            reconnects: get(&w.reconnects),
            bytes_sent: get(&w.bytes_sent),
        }
    }
}
