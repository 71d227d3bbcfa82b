//! [`Shared`]: the state the emitting threads, the worker and the
//! [`AsyncSender`](crate::AsyncSender) handle share, and how emitters wake the
//! worker.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use fluent_queue::{Consumer, HeapRing, Mode, Producer};

use crate::async_sender::AsyncSenderBuilder;
use crate::error::SendError;
use crate::rings::RingEntry;
use crate::stats::Counters;
use crate::waker::Waker;

/// The worker is running, or waiting without being announced: it looks at
/// the queues again within a short interval on its own.
pub(crate) const AWAKE: u8 = 0;
/// The worker waits for its connection or a deadline, and looks at the
/// queues again within a short interval: only an emit blocked for room
/// wakes it.
pub(crate) const DOZING: u8 = 1;
/// The worker sleeps with nothing to do: the next commit wakes it.
pub(crate) const ASLEEP: u8 = 2;

/// A ring's two halves, before a thread takes them.
pub(crate) type RingHalves = (Producer<Arc<HeapRing>>, Consumer<Arc<HeapRing>>);

/// `close` asked the worker to stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CloseRequest {
    /// Keep sending until `deadline` (else hand everything over at once).
    pub(crate) flush: bool,
    pub(crate) deadline: Instant,
}

/// What the queues took and hold (see [`Shared::queue_totals`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct QueueTotals {
    /// Events emitted, refused ones included.
    pub(crate) emitted: u64,
    /// Events evicted or refused (`Stats::dropped_queue`).
    pub(crate) dropped: u64,
    /// Events and bytes queued now.
    pub(crate) events: u64,
    pub(crate) bytes: u64,
}

/// What the worker holds beyond the rings, published for `stats`.
#[derive(Debug, Default)]
pub(crate) struct PendingGauge {
    pub(crate) events: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

/// What the emitting threads and the worker share.
pub(crate) struct Shared {
    /// Identifies this sender in the threads' ring lists.
    pub(crate) id: u64,
    /// Every emitting thread's ring (the worker's side); locked by the
    /// worker while draining and by a thread registering its ring.
    pub(crate) rings: Mutex<Vec<RingEntry>>,
    /// A ring made (and its memory written) on the worker's thread, taken by
    /// the next thread's first emit so that it pays no page faults.
    pub(crate) spare: Mutex<Option<RingHalves>>,
    /// The spare was taken: the worker makes another.
    pub(crate) spare_taken: AtomicBool,
    /// Events emitted into rings the worker has since dropped.
    pub(crate) retired_emitted: AtomicU64,
    /// Events those rings evicted (circular mode).
    pub(crate) retired_evicted: AtomicU64,
    pub(crate) closed: Arc<AtomicBool>,
    pub(crate) close_request: Mutex<Option<CloseRequest>>,
    /// How the worker waits: [`AWAKE`], [`DOZING`] or [`ASLEEP`].
    pub(crate) sleeping: AtomicU8,
    pub(crate) waker: Waker,
    pub(crate) counters: Arc<Counters>,
    pub(crate) pending: PendingGauge,
    pub(crate) last_error: Mutex<Option<SendError>>,
    pub(crate) options: AsyncSenderBuilder,
}

impl Shared {
    /// The counters, as [`crate::AsyncSender::stats`] reports them.
    pub(crate) fn stats(&self) -> crate::Stats {
        let mut stats = self.counters.snapshot();
        let queues = self.queue_totals();
        stats.emitted = queues.emitted;
        stats.dropped_queue = queues.dropped;
        stats.queued_events = queues.events;
        stats.queued_bytes = queues.bytes;
        stats.pending_events = self.pending.events.load(Ordering::Relaxed);
        stats.pending_bytes = self.pending.bytes.load(Ordering::Relaxed);
        stats
    }

    pub(crate) fn new(id: u64, options: AsyncSenderBuilder) -> std::io::Result<Self> {
        let shared = Shared {
            id,
            rings: Mutex::new(Vec::new()),
            spare: Mutex::new(None),
            spare_taken: AtomicBool::new(false),
            retired_emitted: AtomicU64::new(0),
            retired_evicted: AtomicU64::new(0),
            closed: Arc::new(AtomicBool::new(false)),
            close_request: Mutex::new(None),
            sleeping: AtomicU8::new(AWAKE),
            waker: Waker::new()?,
            counters: Arc::new(Counters::default()),
            pending: PendingGauge::default(),
            last_error: Mutex::new(None),
            options,
        };
        *shared.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(shared.new_ring());
        Ok(shared)
    }

    /// Locks the ring registry.
    pub(crate) fn rings(&self) -> MutexGuard<'_, Vec<RingEntry>> {
        self.rings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new ring with this sender's sizes (its memory written: slow).
    pub(crate) fn new_ring(&self) -> RingHalves {
        let options = &self.options;
        let mode = if options.queue_circular { Mode::Overwrite } else { Mode::Block };
        HeapRing::new(mode, options.queue_bytes, options.queue_maxsize)
    }

    /// The prepared ring, if the worker has one ready.
    pub(crate) fn take_spare(&self) -> Option<RingHalves> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        if spare.is_some() {
            // Not a wake-up: the worker would run at once, often on this
            // core, and make the next ring while this emit waits for it.
            self.spare_taken.store(true, Ordering::Relaxed);
        }
        spare
    }

    /// The queues' counts, taken under the registry lock, which the worker
    /// holds while it retires a ring and moves its counts to `retired_*`:
    /// each ring is counted once.
    pub(crate) fn queue_totals(&self) -> QueueTotals {
        let rings = self.rings();
        let mut totals = QueueTotals::default();
        for ring in rings.iter() {
            let counters = ring.consumer.counters();
            totals.emitted += ring.state.emitted.load(Ordering::Relaxed);
            totals.dropped += counters.evicted;
            totals.events += counters.frames;
            totals.bytes += counters.bytes;
        }
        // Refused events are emitted and dropped at once; circular mode's
        // evictions are counted by each ring.
        let refused = self.counters.emitter.refused.load(Ordering::Relaxed);
        totals.emitted += self.retired_emitted.load(Ordering::Relaxed) + refused;
        totals.dropped += self.retired_evicted.load(Ordering::Relaxed) + refused;
        totals
    }

    /// The close request, if any.
    pub(crate) fn close_request(&self) -> Option<CloseRequest> {
        *self.close_request.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_last_error(&self, error: SendError) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// After a commit: wakes the worker if it sleeps. The fence pairs with
    /// the worker's before it sleeps with nothing to do (store `sleeping`,
    /// heavy fence, look at the rings): one of the two sides always sees the
    /// other's write, so no event waits for the idle timeout.
    #[inline]
    pub(crate) fn wake(&self) {
        crate::asymmetric_fence::light();
        if self.sleeping.load(Ordering::Relaxed) == ASLEEP {
            self.wake_sleeping();
        }
    }

    /// A blocked emit needs room: the heavy fence pairs with the worker's
    /// light one before any wait, so a worker that could drain is always
    /// woken (the rare side of the handshake pays for it).
    #[cold]
    pub(crate) fn wake_for_room(&self) {
        crate::asymmetric_fence::heavy();
        if self.sleeping.load(Ordering::Relaxed) != AWAKE {
            self.wake_sleeping();
        }
    }

    /// One wake-up per sleep: the first emit to see the flag clears it.
    #[cold]
    fn wake_sleeping(&self) {
        if self.sleeping.swap(AWAKE, Ordering::Relaxed) != AWAKE {
            self.waker.wake();
        }
    }
}
