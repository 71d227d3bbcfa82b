//! [`AsyncSender`]: fluent-logger-python's `asyncsender.FluentSender`. The
//! caller encodes the event straight into a `fluent-queue` ring and returns;
//! a worker thread sends the queued events in batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fluent_proto::{CountingSink, EncodeError, Sink, SliceSink, Timestamp, encode_entry};
use fluent_queue::ReserveError;
use serde::Serialize;

use crate::error::SendError;
use crate::packet::BatchMode;
use crate::rings::{EvictedEvents, LocalRing, RingEntry, RingState, Unavailable, with_local_ring};
use crate::sender::{CriticalRecord, OverflowHandler, SenderBuilder};
use crate::shared::{CloseRequest, Shared};
use crate::stats::{Counters, Stats};
use crate::worker::Worker;

/// Writes one entry `[time, record]` into any sink (statically dispatched:
/// the entry is written twice, once to measure, once in place).
struct Entry<'r, T: ?Sized> {
    time: Timestamp,
    record: &'r T,
}

impl<T: Serialize + ?Sized> Entry<'_, T> {
    #[inline]
    fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<usize, EncodeError> {
        encode_entry(sink, self.time, self.record)
    }
}

/// Writes a frame's `[u16 tag length][tag]` prefix at the start of `buf`
/// (which has room for it) and returns the rest, where the entry goes.
#[inline(always)]
fn write_tag<'b>(buf: &'b mut [u8], tag: [&str; 3], tag_len16: u16) -> &'b mut [u8] {
    let (header, rest) = buf.split_at_mut(2);
    header.copy_from_slice(&tag_len16.to_le_bytes());
    let (tag_bytes, entry_bytes) = rest.split_at_mut(usize::from(tag_len16));
    let mut at = 0;
    for part in tag {
        tag_bytes[at..at + part.len()].copy_from_slice(part.as_bytes());
        at += part.len();
    }
    entry_bytes
}

/// Python's `DEFAULT_QUEUE_MAXSIZE`: 100 events.
pub const DEFAULT_QUEUE_MAXSIZE: usize = 100;
/// Python's `DEFAULT_QUEUE_CIRCULAR`: blocking, not circular.
pub const DEFAULT_QUEUE_CIRCULAR: bool = false;
/// How long a connection may make no progress before the server counts as
/// unavailable (see [`AsyncSenderBuilder::stall_timeout`]): longer than the
/// pauses of a live server (a garbage collection in Fluentd, a loaded
/// machine), whose events must be pushed back, not shed.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_millis(250);

/// Options of [`AsyncSender`]: those of [`SenderBuilder`] plus the queue's.
#[derive(Clone)]
pub struct AsyncSenderBuilder {
    pub(crate) base: SenderBuilder,
    pub(crate) queue_maxsize: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) queue_circular: bool,
    pub(crate) queue_timeout: Duration,
    pub(crate) queue_overflow_handler: Option<OverflowHandler>,
    pub(crate) mode: BatchMode,
    pub(crate) require_ack_response: bool,
    pub(crate) ack_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) stall_timeout: Duration,
    pub(crate) keepalive_timeout: Option<Duration>,
    pub(crate) loss_report_tag: Option<String>,
}

impl std::fmt::Debug for AsyncSenderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSenderBuilder")
            .field("base", &self.base)
            .field("queue_maxsize", &self.queue_maxsize)
            .field("queue_bytes", &self.queue_bytes)
            .field("queue_circular", &self.queue_circular)
            .field("mode", &self.mode)
            .field("require_ack_response", &self.require_ack_response)
            .finish_non_exhaustive()
    }
}

impl AsyncSenderBuilder {
    /// Applies the shared options (host, port, bufmax, timeout, ...) through
    /// a [`SenderBuilder`].
    ///
    /// ```
    /// let b = fluent_std::AsyncSender::builder("app").sender(|s| s.host("127.0.0.1").port(24225));
    /// # let _ = b;
    /// ```
    pub fn sender(mut self, configure: impl FnOnce(SenderBuilder) -> SenderBuilder) -> Self {
        self.base = configure(self.base);
        self
    }

    /// `queue_maxsize`: events the queue holds (default 100), per emitting
    /// thread (each has its own ring); at most [`fluent_queue::MAX_FRAMES`].
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").queue_maxsize(10_000);
    /// ```
    pub fn queue_maxsize(mut self, events: usize) -> Self {
        self.queue_maxsize = events;
        self
    }

    /// Bytes the queue holds (default 1 MiB), per emitting thread; an event
    /// costs its encoded size; at most [`fluent_queue::MAX_BYTES`].
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").queue_bytes(8 << 20);
    /// ```
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// `queue_circular`: when full, drop the oldest events instead of waiting.
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").queue_circular(true);
    /// ```
    pub fn queue_circular(mut self, circular: bool) -> Self {
        self.queue_circular = circular;
        self
    }

    /// Blocking mode: how long `emit` waits for room before dropping the
    /// event (default 1 s; Python waits forever, which hangs the application
    /// when the server is down).
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").queue_timeout(std::time::Duration::from_millis(50));
    /// ```
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// `queue_overflow_handler`: receives each event the queue drops, as the
    /// Message-mode bytes `[tag, time, record]`.
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").queue_overflow_handler(|bytes| eprintln!("dropped {} bytes", bytes.len()));
    /// ```
    pub fn queue_overflow_handler(mut self, handler: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.queue_overflow_handler = Some(Arc::new(handler));
        self
    }

    /// How events are packed into requests (default PackedForward per tag).
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").batch_mode(fluent_std::BatchMode::Message);
    /// ```
    pub fn batch_mode(mut self, mode: BatchMode) -> Self {
        self.mode = mode;
        self
    }

    /// `require_ack_response`: every request carries a `chunk` and is resent
    /// (on a new connection) until the server acknowledges it.
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").require_ack_response(true);
    /// ```
    pub fn require_ack_response(mut self, on: bool) -> Self {
        self.require_ack_response = on;
        self
    }

    /// How long to wait for an ack before resending (default 5 s).
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").ack_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long the connection may take no bytes (or, in ack mode, send no
    /// ack) while requests wait before the server counts as unavailable
    /// (default 250 ms); a failed connection makes it unavailable at once.
    /// While it is available and the pending buffer holds
    /// `bufmax`, the worker leaves events in the queue, so a blocking queue
    /// pushes back on a burst faster than the connection. Once it is
    /// unavailable the worker keeps draining the queue, and the oldest
    /// requests beyond `bufmax` go to the buffer overflow handler, counted
    /// in `Stats::dropped_buffer`: emits never wait for the length of an
    /// outage. The trade-off: a shorter stall timeout shortens the one
    /// wait at the onset of an outage (when the queue and `bufmax` are
    /// full), and sheds the events of a live server that pauses longer.
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").stall_timeout(std::time::Duration::from_millis(100));
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// The tag of the loss report (default `"{tag}.dropped"`, `None` turns
    /// it off): after events were dropped, once the connection is back, the
    /// worker sends one record `{"dropped": N, "dropped_queue": q,
    /// "dropped_buffer": b, "reason": ..., "since": T}` (at most one a
    /// second), so a loss shows where the logs are read, not only in local
    /// counters. Reports are not events: they are not in `Stats::emitted`
    /// but in `Stats::loss_reports`.
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").loss_report_tag(Some("ops.fluent_loss"));
    /// let _ = fluent_std::AsyncSender::builder("app").loss_report_tag(None::<String>);
    /// ```
    pub fn loss_report_tag(mut self, tag: Option<impl Into<String>>) -> Self {
        self.loss_report_tag = tag.map(Into::into);
        self
    }

    /// Closes the connection once it has been idle this long (Fluentd
    /// `out_forward`'s `keepalive_timeout`); the next event opens a new one.
    /// Default `None`: kept open, and a server that closed it while idle is
    /// noticed before the next request (no error, no backoff).
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").keepalive_timeout(Some(std::time::Duration::from_secs(60)));
    /// ```
    pub fn keepalive_timeout(mut self, idle: Option<Duration>) -> Self {
        self.keepalive_timeout = idle;
        self
    }

    /// How long `close` (and drop) keeps flushing (default 5 s).
    ///
    /// ```
    /// let _ = fluent_std::AsyncSender::builder("app").close_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Starts the worker thread and returns the sender.
    ///
    /// # Panics
    /// When `queue_maxsize` or the queue's byte size is 0, or the worker
    /// thread (or its wake-up pipe) cannot be created.
    ///
    /// Sizes beyond the ring's limits are clamped to them. The first
    /// emitting thread's ring is made here (its memory written), so that the
    /// first emit pays no page faults; the worker makes the next one ahead
    /// of time, so a sender holds one spare ring.
    ///
    /// ```
    /// let sender = fluent_std::AsyncSender::builder("app").build();
    /// assert!(sender.queue_blocking());
    /// ```
    pub fn build(mut self) -> AsyncSender {
        assert!(self.queue_maxsize > 0 && self.queue_bytes > 0, "the queue must hold something");
        // The ring's own limits (2^31 - 1 on targets with 64-bit atomics).
        self.queue_maxsize = self.queue_maxsize.min(fluent_queue::MAX_FRAMES);
        self.queue_bytes = self.queue_bytes.min(fluent_queue::MAX_BYTES);
        // Once per process, before any emit or worker runs: the clock's
        // calibration and the choice of fence (both sides must agree).
        crate::clock::warm_up();
        crate::asymmetric_fence::init();
        let id = NEXT_SENDER.fetch_add(1, Ordering::Relaxed);
        let shared = Shared::new(id, self).unwrap_or_else(|e| panic!("cannot create the worker's wake-up pipe: {e}"));
        let shared = Arc::new(shared);
        let worker = Worker::new(shared.clone());
        let handle = thread::Builder::new()
            .name("fluent-async-sender".into())
            .spawn(move || worker.run())
            .unwrap_or_else(|e| panic!("cannot start the sender's worker thread: {e}"));
        AsyncSender { shared, worker: Mutex::new(Some(handle)) }
    }
}

static NEXT_SENDER: AtomicU64 = AtomicU64::new(1);

/// Blocking mode with a full queue: wakes the worker (it drains unless the
/// connection is taking bytes while `bufmax` is pending), then waits a
/// little: yields first (the worker usually frees room within
/// microseconds), then sleeps in short steps, waking it again now and then.
#[cold]
fn wait_for_room(shared: &Shared, rounds: &mut u32) {
    if rounds.is_multiple_of(16) {
        shared.wake_for_room();
    }
    *rounds += 1;
    if *rounds < 64 {
        thread::yield_now();
    } else {
        thread::sleep(Duration::from_micros(50));
    }
}

/// Circular mode: how many times an emit looks again while the worker holds
/// the oldest events (bounded: emit never waits for the worker).
const BUSY_RETRIES: u32 = 256;

/// An asynchronous Forward-protocol sender: `emit` encodes the event into a
/// bounded lock-free ring on the caller's thread (no allocation per event in
/// steady state, no lock) and returns; a worker thread sends batches.
/// `Send + Sync`.
///
/// Each emitting thread gets its own lock-free ring (created on its first
/// emit), so threads never wait for each other; the worker drains all rings.
/// Ordering: events from one thread arrive in emit order; events from
/// different threads are not ordered with each other. `queue_maxsize` and
/// `queue_bytes` apply per emitting thread. This design was chosen by
/// measurement over one ring behind a lock (`cargo bench -p fluent-std
/// --bench producer_design`).
///
/// Differences from fluent-logger-python, on purpose: blocking mode waits at
/// most `queue_timeout`; worker errors and counters are visible
/// ([`last_error`](AsyncSender::last_error), [`stats`](AsyncSender::stats));
/// `close` flushes with a deadline and hands what is still unsent to the
/// overflow handler, counted.
///
/// ```no_run
/// use std::collections::BTreeMap;
/// let sender = fluent_std::AsyncSender::builder("app").queue_maxsize(10_000).build();
/// sender.emit("follow", &BTreeMap::from([("from", "userA"), ("to", "userB")]))?;
/// sender.close();
/// println!("{:?}", sender.stats());
/// # Ok::<(), fluent_std::SendError>(())
/// ```
pub struct AsyncSender {
    pub(crate) shared: Arc<Shared>,
    pub(crate) worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AsyncSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSender").field("options", &self.shared.options).finish_non_exhaustive()
    }
}

/// Where a tag and a label go when joined (without allocating).
fn tag_parts<'a>(tag: &'a str, label: &'a str) -> [&'a str; 3] {
    match (tag.is_empty(), label.is_empty()) {
        (_, true) => [tag, "", ""],
        (true, false) => [label, "", ""],
        (false, false) => [tag, ".", label],
    }
}

impl AsyncSender {
    /// A builder with fluent-logger-python's defaults for `tag`.
    ///
    /// ```
    /// let sender = fluent_std::AsyncSender::builder("app").build();
    /// assert_eq!(sender.queue_maxsize(), fluent_std::DEFAULT_QUEUE_MAXSIZE);
    /// ```
    pub fn builder(tag: impl Into<String>) -> AsyncSenderBuilder {
        AsyncSenderBuilder {
            base: crate::Sender::builder(tag),
            queue_maxsize: DEFAULT_QUEUE_MAXSIZE,
            queue_bytes: 1024 * 1024,
            queue_circular: DEFAULT_QUEUE_CIRCULAR,
            queue_timeout: Duration::from_secs(1),
            queue_overflow_handler: None,
            mode: BatchMode::default(),
            require_ack_response: false,
            ack_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            keepalive_timeout: None,
            loss_report_tag: Some(String::new()),
        }
    }

    /// `queue_maxsize`.
    ///
    /// ```
    /// assert_eq!(fluent_std::AsyncSender::builder("a").queue_maxsize(3).build().queue_maxsize(), 3);
    /// ```
    pub fn queue_maxsize(&self) -> usize {
        self.shared.options.queue_maxsize
    }

    /// `queue_blocking` (not circular).
    ///
    /// ```
    /// assert!(fluent_std::AsyncSender::builder("a").build().queue_blocking());
    /// ```
    pub fn queue_blocking(&self) -> bool {
        !self.shared.options.queue_circular
    }

    /// `queue_circular`.
    ///
    /// ```
    /// assert!(fluent_std::AsyncSender::builder("a").queue_circular(true).build().queue_circular());
    /// ```
    pub fn queue_circular(&self) -> bool {
        self.shared.options.queue_circular
    }

    /// The counters.
    ///
    /// ```
    /// assert_eq!(fluent_std::AsyncSender::builder("a").build().stats().emitted, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The last error of the connection or the queue, from any thread,
    /// including the worker's (Python hides the worker's). An encoding error
    /// is returned by `emit` only, never kept here.
    ///
    /// ```
    /// assert_eq!(fluent_std::AsyncSender::builder("a").build().last_error(), None);
    /// ```
    pub fn last_error(&self) -> Option<SendError> {
        self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Clears the last error.
    ///
    /// ```
    /// fluent_std::AsyncSender::builder("a").build().clear_last_error();
    /// ```
    pub fn clear_last_error(&self) {
        *self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Queues `record` under `tag.label`, timed now.
    ///
    /// `record` must encode as a map (see the crate's "Records" section).
    ///
    /// ```no_run
    /// let sender = fluent_std::AsyncSender::builder("app").build();
    /// sender.emit("event", &std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// [`SendError::Closed`], [`SendError::QueueFull`],
    /// [`SendError::EventTooLarge`], or [`SendError::Encode`] when
    /// `forward_packet_error` is off.
    pub fn emit<T: Serialize + ?Sized>(&self, label: &str, record: &T) -> Result<(), SendError> {
        self.emit_at(label, None, record)
    }

    /// Queues `record` under `tag.label` with an explicit time.
    ///
    /// ```no_run
    /// use fluent_std::{EventTime, Timestamp};
    /// let sender = fluent_std::AsyncSender::builder("app").build();
    /// sender.emit_with_time("event", Timestamp::Event(EventTime::new(1, 2)), &std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// As [`emit`](AsyncSender::emit).
    pub fn emit_with_time<T: Serialize + ?Sized>(
        &self,
        label: &str,
        time: Timestamp,
        record: &T,
    ) -> Result<(), SendError> {
        self.emit_at(label, Some(time), record)
    }

    /// `emit` (time `None`: read the calling thread's clock once the ring is
    /// at hand) or `emit_with_time`.
    #[inline]
    fn emit_at<T: Serialize + ?Sized>(
        &self,
        label: &str,
        mut time: Option<Timestamp>,
        record: &T,
    ) -> Result<(), SendError> {
        let tag = tag_parts(&self.shared.options.base.tag, label);
        // The error comes back through `error`, not in a returned `Result`:
        // the success path then never copies a 64-byte `Result` from one
        // stack slot to the next (each copy of a value written byte-wise is a
        // store-forwarding stall, about a tenth of an emit).
        let mut error = None;
        if self.enqueue(tag, &mut time, record, &mut error) {
            return Ok(());
        }
        self.after_failure(tag, &mut time, error)
    }

    /// An emit failed with `error`: an encoding error becomes the CRITICAL
    /// fallback record when `forward_packet_error` is on (Python's
    /// behaviour), and is returned all the same (the record was not sent as
    /// given); anything else is returned.
    #[cold]
    #[inline(never)]
    fn after_failure(
        &self,
        tag: [&str; 3],
        time: &mut Option<Timestamp>,
        error: Option<SendError>,
    ) -> Result<(), SendError> {
        match error {
            Some(SendError::Encode(e)) if self.shared.options.base.forward_packet_error => {
                let critical =
                    CriticalRecord { level: "CRITICAL", message: "Can't output to log", traceback: e.to_string() };
                // The same time as the record it replaces.
                let mut error = None;
                if self.enqueue(tag, time, &critical, &mut error) {
                    return Err(SendError::Encode(e));
                }
                Err(error.unwrap_or(SendError::Encode(e)))
            }
            Some(e) => Err(e),
            // `enqueue` always says why it failed.
            None => Err(SendError::QueueFull),
        }
    }

    /// A new ring for the calling thread, registered with the worker.
    /// Takes the ring the worker prepared (its memory already written, so
    /// this emit pays no page faults); makes one here only when two threads'
    /// first emits come faster than the worker replaces it.
    fn register(&self) -> LocalRing {
        let options = &self.shared.options;
        let (producer, consumer) = self.shared.take_spare().unwrap_or_else(|| self.shared.new_ring());
        let on_evict = EvictedEvents { handler: options.queue_overflow_handler.clone(), scratch: Vec::new() };
        let state = Arc::new(RingState::default());
        self.shared.rings().push(RingEntry { consumer, state: state.clone() });
        LocalRing {
            sender_id: self.shared.id,
            sender_closed: self.shared.closed.clone(),
            producer: producer.on_evict(on_evict),
            state,
            size_hint: 0,
            clock: crate::clock::ThreadClock::new(),
        }
    }

    /// Encodes one frame `[u16 tag length][tag][entry]` straight into the
    /// calling thread's ring. Fast path: reserve the previous entry's size
    /// plus slack and encode once in place. If that is too small, the entry's
    /// exact size is measured first (a counting pass, no buffer), then it is
    /// written in place.
    ///
    /// `time`: the event's time, or `None` to read the thread's clock (the
    /// reading is stored back, for a fallback record). Returns whether the
    /// event was queued; if not, `error` says why.
    #[inline]
    fn enqueue<T: Serialize + ?Sized>(
        &self,
        tag: [&str; 3],
        time: &mut Option<Timestamp>,
        record: &T,
        error: &mut Option<SendError>,
    ) -> bool {
        let tag_len: usize = tag.iter().map(|p| p.len()).sum();
        let Ok(tag_len16) = u16::try_from(tag_len) else {
            *error = Some(SendError::Encode(EncodeError::TooLong));
            return false;
        };
        let precision = self.shared.options.base.nanosecond_precision;
        let result = with_local_ring(
            self.shared.id,
            || self.register(),
            |ring| {
                let time = *time.get_or_insert_with(|| ring.clock.timestamp(precision));
                let entry = &Entry { time, record };
                if self.try_fast(ring, tag, tag_len16, entry) {
                    return true;
                }
                // No guess yet, the guess was too small, the queue has no room
                // for it, or something failed: take the exact path (which
                // waits, drops or reports for the real size).
                match self.enqueue_exact(ring, tag, tag_len16, entry) {
                    Ok(()) => true,
                    Err(e) => {
                        *error = Some(e);
                        false
                    }
                }
            },
        );
        match result {
            Ok(done) => done,
            Err(Unavailable::Reentrant | Unavailable::ThreadExiting) => {
                *error = Some(self.drop_event(SendError::Reentrant));
                false
            }
        }
    }

    /// `enqueue` for the exact size: measures the entry (a counting pass, no
    /// buffer), then reserves that much and writes it in place.
    #[inline(never)]
    fn enqueue_exact<T: Serialize + ?Sized>(
        &self,
        ring: &mut LocalRing,
        tag: [&str; 3],
        tag_len16: u16,
        entry: &Entry<'_, T>,
    ) -> Result<(), SendError> {
        let mut counter = CountingSink::default();
        let written = match entry.write(&mut counter) {
            Ok(entry_len) => self
                .try_reserve_and_write(ring, tag, tag_len16, entry_len, |buf| entry.write(&mut SliceSink::new(buf)))?,
            // A map or sequence of unknown length needs a buffer to narrow
            // its header: encode once into a scratch vector (rare).
            Err(EncodeError::UnknownLength) => {
                let mut bytes = Vec::new();
                entry.write(&mut bytes).map_err(|e| self.fail(SendError::Encode(e)))?;
                self.try_reserve_and_write(ring, tag, tag_len16, bytes.len(), |buf| {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                })?
            }
            Err(e) => return Err(self.fail(SendError::Encode(e))),
        };
        match written {
            Some(()) => Ok(()),
            // A Serialize impl that wrote more than it measured.
            None => Err(self.fail(SendError::Encode(EncodeError::LengthMismatch))),
        }
    }

    /// The common case, kept small and inlined: reserve the previous entry's
    /// size plus slack, write the frame in place, commit. Returns false, with
    /// nothing committed, whenever anything else happens (no guess yet, the
    /// guess too small, no room, closed, an encoding error); the exact path
    /// then deals with it.
    #[inline(always)]
    fn try_fast<T: Serialize + ?Sized>(
        &self,
        ring: &mut LocalRing,
        tag: [&str; 3],
        tag_len16: u16,
        entry: &Entry<'_, T>,
    ) -> bool {
        if ring.size_hint == 0 {
            return false;
        }
        let tag_len = usize::from(tag_len16);
        let frame_room = 2 + tag_len + ring.size_hint + ring.size_hint / 4 + 16;
        // The emit/close handshake (see `rings`): announce, fence, look.
        ring.state.in_emit.store(true, Ordering::Relaxed);
        crate::asymmetric_fence::light();
        let mut committed = false;
        if !self.shared.closed.load(Ordering::Relaxed)
            && let Ok(mut grant) = ring.producer.reserve(frame_room)
        {
            let entry_bytes = write_tag(grant.as_mut_slice(), tag, tag_len16);
            // On an error the grant is dropped: the reservation is abandoned.
            if let Ok(n) = entry.write(&mut SliceSink::new(entry_bytes)) {
                grant.commit(2 + tag_len + n);
                // Only this thread writes its ring's count.
                Counters::add_exclusive(&ring.state.emitted, 1);
                ring.size_hint = n;
                committed = true;
            }
        }
        // Release pairs with `close`'s Acquire load of `in_emit`.
        ring.state.in_emit.store(false, Ordering::Release);
        if committed {
            self.shared.wake();
        }
        committed
    }

    /// Reserves room for the tag and `entry_room` bytes of entry in `ring`,
    /// writes the tag and then the entry with `write`, and commits what was
    /// used. `Ok(None)`: the entry did not fit in `entry_room`, or (`guess`)
    /// the queue had no room for the guess; nothing was committed.
    #[allow(clippy::too_many_arguments)]
    fn try_reserve_and_write(
        &self,
        ring: &mut LocalRing,
        tag: [&str; 3],
        tag_len16: u16,
        entry_room: usize,
        write: impl Fn(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<Option<()>, SendError> {
        let tag_len = usize::from(tag_len16);
        let frame_room = 2 + tag_len + entry_room;
        let mut deadline = None;
        let mut busy_retries = 0;
        let mut full_rounds = 0;
        loop {
            // The emit/close handshake (see `rings`): announce, fence, look.
            ring.state.in_emit.store(true, Ordering::Relaxed);
            crate::asymmetric_fence::light();
            if self.shared.closed.load(Ordering::Relaxed) {
                ring.state.in_emit.store(false, Ordering::Release);
                return Err(self.fail(SendError::Closed));
            }
            let outcome = match ring.producer.reserve(frame_room) {
                Ok(mut grant) => {
                    let entry_bytes = write_tag(grant.as_mut_slice(), tag, tag_len16);
                    match write(entry_bytes) {
                        Ok(n) => {
                            grant.commit(2 + tag_len + n);
                            // Only this thread writes its ring's count.
                            Counters::add_exclusive(&ring.state.emitted, 1);
                            ring.size_hint = n;
                            Ok(Some(()))
                        }
                        // Dropping the grant abandons the reservation.
                        Err(EncodeError::BufferFull) => Ok(None),
                        Err(e) => Err(self.fail(SendError::Encode(e))),
                    }
                }
                Err(ReserveError::Full) => {
                    ring.state.in_emit.store(false, Ordering::Release);
                    let now = Instant::now();
                    let deadline = *deadline.get_or_insert_with(|| now + self.shared.options.queue_timeout);
                    if now >= deadline {
                        return Err(self.drop_event(SendError::QueueFull));
                    }
                    wait_for_room(&self.shared, &mut full_rounds);
                    continue;
                }
                Err(ReserveError::Busy) if busy_retries < BUSY_RETRIES => {
                    // Circular mode: the worker is copying the oldest events
                    // out at this instant (a short memcpy); look again a
                    // bounded number of times before dropping this event.
                    busy_retries += 1;
                    ring.state.in_emit.store(false, Ordering::Release);
                    std::hint::spin_loop();
                    continue;
                }
                Err(ReserveError::Busy) => Err(self.drop_event(SendError::QueueFull)),
                Err(ReserveError::TooLarge { len, capacity }) => {
                    Err(self.drop_event(SendError::EventTooLarge { len, capacity }))
                }
                Err(_) => Err(self.drop_event(SendError::QueueFull)),
            };
            // Release pairs with `close`'s Acquire load of `in_emit`.
            ring.state.in_emit.store(false, Ordering::Release);
            if matches!(outcome, Ok(Some(()))) {
                self.shared.wake();
            }
            return outcome;
        }
    }

    /// An emit's error: kept as `last_error` too, except an encoding error,
    /// which is the caller's alone (`last_error` speaks of the connection
    /// and the queue, so the worker's errors cannot hide the caller's).
    fn fail(&self, error: SendError) -> SendError {
        if !matches!(error, SendError::Encode(_)) {
            self.shared.set_last_error(error.clone());
        }
        error
    }

    /// An event refused for want of room (or re-entered): emitted and
    /// dropped at once, so the counters still add up.
    fn drop_event(&self, error: SendError) -> SendError {
        Counters::add(&self.shared.counters.emitter.refused, 1);
        self.fail(error)
    }

    /// Waits until every event emitted before the call has been written to
    /// the server (acknowledged, in ack mode), or `timeout` passes; the
    /// sender stays open. Returns true only when they all were: false when
    /// the deadline passed first, the sender is closed, or an event was
    /// dropped (queue, buffer overflow) meanwhile. `log::Log::flush` on the
    /// async log handler calls this.
    ///
    /// ```
    /// let sender = fluent_std::AsyncSender::builder("a").build();
    /// assert!(sender.flush(std::time::Duration::from_millis(10)), "nothing emitted, nothing to wait for");
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        let alive = || self.worker.lock().map(|w| w.is_some()).unwrap_or(false);
        flush_shared(&self.shared, &alive, timeout)
    }

    /// Closes with flush and the configured deadline (also done on drop).
    ///
    /// ```
    /// let sender = fluent_std::AsyncSender::builder("a").build();
    /// sender.close();
    /// sender.close();
    /// assert_eq!(sender.emit("x", &std::collections::BTreeMap::from([("k", 1)])), Err(fluent_std::SendError::Closed));
    /// ```
    pub fn close(&self) {
        self.close_with(true, self.shared.options.close_timeout);
    }

    /// Closes: with `flush`, the worker keeps sending what is queued (and
    /// pending) until `timeout`; whatever is still unsent then, or everything
    /// without `flush`, goes to the buffer overflow handler and is counted in
    /// `Stats::unsent_at_close`. Returns the final counters.
    ///
    /// ```
    /// let sender = fluent_std::AsyncSender::builder("a").build();
    /// let stats = sender.close_with(false, std::time::Duration::ZERO);
    /// assert_eq!(stats.unsent_at_close, 0);
    /// ```
    pub fn close_with(&self, flush: bool, timeout: Duration) -> Stats {
        let handle = self.begin_close(flush, timeout);
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        self.stats()
    }

    /// Asks the worker to close (see [`close_with`](Self::close_with)) and
    /// hands back its thread, to be joined, unless another close took it.
    pub(crate) fn begin_close(&self, flush: bool, timeout: Duration) -> Option<JoinHandle<()>> {
        // The emit/close handshake (see `rings`): announce, fence, then wait
        // for every emit that did not see `closed` to finish its commit.
        self.shared.closed.store(true, Ordering::Relaxed);
        crate::asymmetric_fence::heavy();
        for ring in self.shared.rings().iter() {
            while ring.state.in_emit.load(Ordering::Acquire) {
                thread::yield_now();
            }
        }
        {
            let mut request = self.shared.close_request.lock().unwrap_or_else(|e| e.into_inner());
            if request.is_none() {
                *request = Some(CloseRequest { flush, deadline: Instant::now() + timeout });
            }
        }
        self.shared.waker.wake();
        self.worker.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// [`AsyncSender::flush`] on the shared state: true once every event
/// emitted before the call is sent; false when one was dropped meanwhile,
/// the worker is gone (`alive`), or at the deadline.
pub(crate) fn flush_shared(shared: &Shared, alive: &dyn Fn() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let start = shared.stats();
    let target = start.emitted;
    let lost = |s: &Stats| s.dropped_queue + s.dropped_buffer + s.unsent_at_close;
    loop {
        let s = shared.stats();
        if lost(&s) != lost(&start) {
            return false;
        }
        if s.sent + lost(&s) >= target {
            return true;
        }
        if Instant::now() >= deadline || !alive() {
            return false;
        }
        shared.waker.wake();
        thread::sleep(Duration::from_micros(200).min(deadline.saturating_duration_since(Instant::now())));
    }
}

impl Drop for AsyncSender {
    fn drop(&mut self) {
        self.close();
    }
}
