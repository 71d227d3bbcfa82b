//! [`Stats`]: what the asynchronous sender did with every event.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// Counters of an [`AsyncSender`](crate::AsyncSender), readable at any time.
///
/// Every emitted event ends in exactly one of `sent`, `dropped_queue`,
/// `dropped_buffer` and `unsent_at_close`, or is still on its way
/// (`queued_events` in the queue, `pending_events` with the worker). At any
/// quiescent point:
///
/// `emitted = sent + dropped_queue + dropped_buffer + unsent_at_close +
/// queued_events + pending_events`
///
/// ```
/// let sender = fluent_std::AsyncSender::builder("app")
///     .sender(|s| s.host("unix:///nonexistent/fluent.sock"))
///     .build();
/// sender.emit("x", &std::collections::BTreeMap::from([("k", 1)]))?;
/// let s = sender.close_with(false, std::time::Duration::ZERO);
/// assert_eq!(s.emitted, 1);
/// assert_eq!(s.emitted, s.sent + s.dropped_queue + s.dropped_buffer + s.unsent_at_close + s.queued_events + s.pending_events);
/// # Ok::<(), fluent_std::SendError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Events `emit` accepted, and events it refused for want of room
    /// (those are also in `dropped_queue`). Events refused because the
    /// sender was closed or the record could not be encoded are not
    /// counted: the call returned the error.
    pub emitted: u64,
    /// Events delivered: written whole to the connection (without ack mode),
    /// or acknowledged by the server (ack mode).
    pub sent: u64,
    /// Events written whole to a connection, resends in ack mode included.
    /// Without ack mode a write only means the kernel took the bytes.
    pub written: u64,
    /// Events acknowledged by the server (ack mode).
    pub acked: u64,
    /// Events lost to the queue: evicted (circular) or refused (full,
    /// larger than the queue, or re-entrant).
    pub dropped_queue: u64,
    /// Events handed to the buffer overflow handler while the server was
    /// unavailable (the oldest requests beyond `bufmax`), or that could not
    /// be turned into a request.
    pub dropped_buffer: u64,
    /// Events still unsent when `close` gave up (handed to the handler).
    pub unsent_at_close: u64,
    /// Events in the queue now.
    pub queued_events: u64,
    /// Bytes in the queue now.
    pub queued_bytes: u64,
    /// Events the worker holds now, in requests not yet sent (or acked).
    pub pending_events: u64,
    /// Bytes of those requests (at most `bufmax` while the server is
    /// unavailable).
    pub pending_bytes: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Connections that failed (refused, reset, timed out, no ack): each is
    /// retried after a backoff. A server closing an idle connection, or
    /// closing after an ack (Fluentd's `deny_keepalive`), is not a failure.
    /// Without acks, a reset that may have cut requests the server had not
    /// read counts here too, though the sender reconnects at once.
    pub connection_errors: u64,
    /// Bytes written to the server.
    pub bytes_sent: u64,
    /// Events counted in `sent` (without ack mode) that were lost in
    /// flight: written to a connection that then failed, or that the
    /// sender abandoned (no bytes taken for `timeout`), while the peer's
    /// TCP had not acknowledged their bytes. Linux only, and only while the
    /// kernel still knows the socket (not after a reset).
    ///
    /// An estimate, not a bound either way: a peer that resets loses
    /// mostly events its TCP had acknowledged (unread in its receive
    /// buffer), which no count on the sending side sees; and an abandoned
    /// connection is closed gracefully, so a server that reads again
    /// before the kernel gives up still gets its events. A connection the
    /// server or the sender closes normally counts none. Only ack mode
    /// knows what arrived, and sends the rest again.
    pub lost_in_flight: u64,
    /// Loss reports written (see `AsyncSenderBuilder::loss_report_tag`).
    pub loss_reports: u64,
}

/// Counters written by emitting threads.
#[derive(Debug, Default)]
pub(crate) struct EmitterCounters {
    /// Events refused for want of room (emitted and dropped at once).
    pub(crate) refused: AtomicU64,
}

/// Counters written by the worker thread.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) sent: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) dropped_buffer: AtomicU64,
    pub(crate) unsent_at_close: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) connection_errors: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) lost_in_flight: AtomicU64,
    pub(crate) loss_reports: AtomicU64,
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
    /// to its own ring's count, or the worker): no locked instruction.
    pub(crate) fn add_exclusive(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    /// The worker's counters; the emitters' and the queue's are added by
    /// `AsyncSender::stats`.
    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let w = &self.worker;
        Stats {
            sent: get(&w.sent),
            written: get(&w.written),
            acked: get(&w.acked),
            dropped_buffer: get(&w.dropped_buffer),
            unsent_at_close: get(&w.unsent_at_close),
            reconnects: get(&w.reconnects),
            connection_errors: get(&w.connection_errors),
            bytes_sent: get(&w.bytes_sent),
            lost_in_flight: get(&w.lost_in_flight),
            loss_reports: get(&w.loss_reports),
            ..Stats::default()
        }
    }
}
