//! The producer half: events encoded straight into the ring, from any
//! context, interrupt handlers included (no lock, no allocation, no wait).

use core::ops::Deref;

use fluent_proto::{CountingSink, EncodeError, SliceSink, Timestamp, encode_entry};
use fluent_queue::{OnEvict, Producer, ReserveError, Storage};
use serde::Serialize;

use crate::clock::{Clock, TimeMode};
use crate::error::EmitError;
use crate::frame::TAG_LEN_BYTES;

/// What the producer dropped, by reason (evictions are in the queue's own
/// counters, [`FluentProducer::queue_counters`]).
///
/// ```
/// assert_eq!(fluent_embedded::ProducerCounters::default().emitted, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ProducerCounters {
    /// Events committed to the ring.
    pub emitted: u64,
    /// Dropped: block mode, ring full.
    pub full: u64,
    /// Dropped: overwrite mode, the oldest event was being read.
    pub busy: u64,
    /// Dropped: larger than the ring.
    pub too_large: u64,
    /// Dropped: the record could not be encoded.
    pub encode_errors: u64,
    /// Loss reports committed to the ring (not in `emitted`; see
    /// [`FluentProducer::loss_reports`]).
    pub loss_reports: u64,
}

/// The producer half of the embedded sender (fluent-logger-python's
/// `asyncsender.FluentSender.emit`, without the thread).
///
/// `emit` joins the tag as Python does (`tag.label`), takes the time from
/// the [`Clock`], encodes `[time, record]` straight into a reserved slot of
/// the ring and commits it. In block mode a full ring returns
/// [`EmitError::Full`] at once; in overwrite mode (Python's circular queue)
/// the oldest events are evicted to make room and offered to the queue's
/// `on_evict` handler.
///
/// ```
/// use fluent_embedded::{FluentProducer, TimeMode};
/// use fluent_proto::EventTime;
/// use fluent_queue::{Mode, Ring};
///
/// static RING: Ring<1024, 16> = Ring::new(Mode::Overwrite);
/// let (producer, _consumer) = RING.try_split().unwrap();
/// let mut producer = FluentProducer::new(producer, "sensor", || EventTime::new(1_700_000_000, 0));
/// #[derive(serde::Serialize)]
/// struct Reading { celsius: f32 }
/// producer.emit("temp", &Reading { celsius: 21.5 })?;
/// assert_eq!(producer.counters().emitted, 1);
/// # Ok::<(), fluent_embedded::EmitError>(())
/// ```
pub struct FluentProducer<'t, R, C, H = ()> {
    inner: Producer<R, H>,
    tag: &'t str,
    clock: C,
    time_mode: TimeMode,
    counters: ProducerCounters,
    /// The loss report's label, when reports are on.
    loss_label: Option<&'t str>,
    /// Losses already reported, and when.
    reported: u64,
    reported_at: Option<u32>,
    /// This side's drops when last looked at, and the second the ring's
    /// evictions were last read (shared memory the emit's fast path
    /// otherwise never touches: read once a second, or after a local drop).
    local_seen: u64,
    checked_at: Option<u32>,
}

impl<'t, R, C, H> FluentProducer<'t, R, C, H>
where
    R: Deref,
    R::Target: Storage,
    C: Clock,
    H: OnEvict,
{
    /// Wraps the ring's producer; events are tagged `tag.label`.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(1, 0));
    /// assert_eq!(producer.counters().emitted, 0);
    /// ```
    pub fn new(inner: Producer<R, H>, tag: &'t str, clock: C) -> Self {
        FluentProducer {
            inner,
            tag,
            clock,
            time_mode: TimeMode::EventTime,
            counters: ProducerCounters::default(),
            loss_label: None,
            reported: 0,
            reported_at: None,
            local_seen: 0,
            checked_at: None,
        }
    }

    /// EventTime (default) or integer seconds.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<256, 4> = Ring::new(Mode::Block);
    /// # let (p, _c) = RING.try_split().unwrap();
    /// let producer = fluent_embedded::FluentProducer::new(p, "t", || fluent_proto::EventTime::new(1, 0))
    ///     .time_mode(fluent_embedded::TimeMode::Seconds);
    /// ```
    pub fn time_mode(mut self, mode: TimeMode) -> Self {
        self.time_mode = mode;
        self
    }

    /// The clock.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// assert_eq!(fluent_embedded::Clock::now(producer.clock()).seconds(), 7);
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Queues `record` under `tag.label` at the clock's time.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// producer.emit("boot", &std::collections::BTreeMap::from([("reset_cause", "watchdog")]))?;
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    ///
    /// # Errors
    /// [`EmitError`]: the event was dropped (and counted).
    pub fn emit<T: Serialize + ?Sized>(&mut self, label: &str, record: &T) -> Result<(), EmitError> {
        let now = self.clock.now();
        self.report_losses(now.seconds());
        let time = self.time_mode.stamp(now);
        self.emit_with_time(label, time, record)
    }

    /// Loss reports in band: when events were dropped (refused, too large,
    /// unencodable, or evicted from the ring), the next emit first puts one
    /// record under `tag.label` in the ring, at most once a second:
    /// `{"dropped": N, "total": T, "refused": r, "evicted": e, "too_large":
    /// l, "encode_errors": x}` (`N` since the last report). It travels with
    /// the events, through either pump, acks included, so the loss shows on
    /// the server. Off by default; reports are counted in
    /// `ProducerCounters::loss_reports`, not in `emitted`.
    ///
    /// ```
    /// use fluent_embedded::{EventTime, FluentProducer, Mode, Ring};
    /// static RING: Ring<256, 64> = Ring::new(Mode::Block);
    /// let (p, _c) = RING.try_split().unwrap();
    /// let mut producer = FluentProducer::new(p, "node7", || EventTime::new(1_700_000_000, 0)).loss_reports("dropped");
    /// let big = [("pad", "x".repeat(300))];
    /// assert!(producer.emit("log", &std::collections::BTreeMap::from(big)).is_err()); // too large: dropped
    /// producer.emit("log", &std::collections::BTreeMap::from([("ok", true)]))?;
    /// assert_eq!((producer.counters().loss_reports, producer.counters().emitted), (1, 1));
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    pub fn loss_reports(mut self, label: &'t str) -> Self {
        self.loss_label = Some(label);
        self
    }

    /// Every event dropped so far, on this side or evicted from the ring.
    fn losses(&self) -> (u64, u64, u64) {
        let c = &self.counters;
        let refused = c.full + c.busy;
        let evicted = self.inner.counters().evicted;
        (refused, evicted, refused + evicted + c.too_large + c.encode_errors)
    }

    /// Puts a loss report in the ring when there is something new to
    /// report and the last report is at least a second old.
    fn report_losses(&mut self, seconds: u32) {
        let Some(label) = self.loss_label else { return };
        let c = &self.counters;
        let local = c.full + c.busy + c.too_large + c.encode_errors;
        if local == self.local_seen && self.checked_at == Some(seconds) {
            return;
        }
        (self.local_seen, self.checked_at) = (local, Some(seconds));
        let (refused, evicted, total) = self.losses();
        if total == self.reported || self.reported_at.is_some_and(|at| seconds < at.saturating_add(1)) {
            return;
        }
        let report = LossReport([
            ("dropped", total - self.reported),
            ("total", total),
            ("refused", refused),
            ("evicted", evicted),
            ("too_large", self.counters.too_large),
            ("encode_errors", self.counters.encode_errors),
        ]);
        let time = self.time_mode.stamp(fluent_proto::EventTime::new(seconds, 0));
        if self.try_emit(label, time, &report).is_ok() {
            self.counters.loss_reports += 1;
            self.reported = total;
            self.reported_at = Some(seconds);
        }
    }

    /// Queues `record` under `tag.label` with an explicit time.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// producer.emit_with_time("boot", fluent_proto::Timestamp::Seconds(1), &std::collections::BTreeMap::from([("ok", true)]))?;
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    ///
    /// # Errors
    /// [`EmitError`]: the event was dropped (and counted).
    pub fn emit_with_time<T: Serialize + ?Sized>(
        &mut self,
        label: &str,
        time: Timestamp,
        record: &T,
    ) -> Result<(), EmitError> {
        let result = self.try_emit(label, time, record);
        let c = &mut self.counters;
        match &result {
            Ok(()) => c.emitted += 1,
            Err(EmitError::Full) => c.full += 1,
            Err(EmitError::Busy) => c.busy += 1,
            Err(EmitError::TooLarge) => c.too_large += 1,
            Err(EmitError::Encode(_)) => c.encode_errors += 1,
            // Only a SharedProducer without a producer says this.
            Err(EmitError::NotInstalled) => {}
        }
        result
    }

    fn try_emit<T: Serialize + ?Sized>(&mut self, label: &str, time: Timestamp, record: &T) -> Result<(), EmitError> {
        // Tag as Python joins it: "tag.label", or either alone when the
        // other is empty.
        let parts: [&str; 3] = match (self.tag.is_empty(), label.is_empty()) {
            (_, true) => [self.tag, "", ""],
            (true, false) => [label, "", ""],
            (false, false) => [self.tag, ".", label],
        };
        let tag_len: usize = parts.iter().map(|p| p.len()).sum();
        let tag_len16 = u16::try_from(tag_len).map_err(|_| EmitError::Encode(EncodeError::TooLong))?;
        let mut counter = CountingSink::default();
        let entry_len = encode_entry(&mut counter, time, record).map_err(EmitError::Encode)?;
        let total = TAG_LEN_BYTES + tag_len + entry_len;
        let mut grant = self.inner.reserve(total).map_err(|e| match e {
            ReserveError::TooLarge { .. } => EmitError::TooLarge,
            ReserveError::Busy => EmitError::Busy,
            _ => EmitError::Full,
        })?;
        let buf = grant.as_mut_slice();
        let (head, rest) = buf.split_at_mut(TAG_LEN_BYTES);
        head.copy_from_slice(&tag_len16.to_le_bytes());
        let (tag_buf, entry_buf) = rest.split_at_mut(tag_len);
        let mut at = 0;
        for part in parts {
            if let Some(dst) = tag_buf.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part.as_bytes());
            }
            at += part.len();
        }
        match encode_entry(&mut SliceSink::new(entry_buf), time, record) {
            Ok(n) if n == entry_len => {
                grant.commit(total);
                Ok(())
            }
            // A Serialize impl that wrote something else than it measured:
            // nothing is committed.
            Ok(_) => Err(EmitError::Encode(EncodeError::LengthMismatch)),
            Err(e) => Err(EmitError::Encode(e)),
        }
    }

    /// What this producer dropped, by reason.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// let huge = "x".repeat(2000);
    /// assert_eq!(producer.emit("big", &std::collections::BTreeMap::from([("k", huge)])), Err(fluent_embedded::EmitError::TooLarge));
    /// assert_eq!(producer.counters().too_large, 1);
    /// ```
    pub fn counters(&self) -> ProducerCounters {
        self.counters
    }

    /// The ring's counters (committed, consumed, evicted, queued).
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = c;
    /// let producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// assert_eq!(producer.queue_counters().frames, 0);
    /// ```
    pub fn queue_counters(&self) -> fluent_queue::Counters {
        self.inner.counters()
    }
}

/// A loss report's fields, written as a map.
struct LossReport([(&'static str, u64); 6]);

impl Serialize for LossReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
