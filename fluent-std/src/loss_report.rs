//! The loss report: after events were dropped, one record under its own tag,
//! sent once the connection is back, so a loss shows where the logs are
//! read and not only in the sender's counters.

use std::time::{Duration, Instant, SystemTime};

use fluent_proto::{EventTime, Timestamp, encode_entry};
use serde::Serialize;

use crate::packet::{self, BatchMode, Packet};

/// At most one report in this interval.
const EVERY: Duration = Duration::from_secs(1);

/// The record (field names are part of the documented format).
#[derive(Serialize)]
struct Record<'a> {
    dropped: u64,
    dropped_queue: u64,
    dropped_buffer: u64,
    /// Written to a connection that then failed before the peer's TCP
    /// acknowledged them (Linux; see `Stats::lost_in_flight`).
    lost_in_flight: u64,
    reason: &'a str,
    /// When the worker first saw these drops (Unix seconds).
    since: f64,
}

/// The loss counters, cumulative.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Drops {
    pub(crate) queue: u64,
    pub(crate) buffer: u64,
    pub(crate) in_flight: u64,
}

/// Drops seen and reported so far.
#[derive(Debug)]
pub(crate) struct LossReport {
    tag: Option<String>,
    /// Drops in reports written or on their way, by cause.
    reported_queue: u64,
    reported_buffer: u64,
    reported_in_flight: u64,
    /// When unreported drops were first seen.
    since: Option<SystemTime>,
    last: Option<Instant>,
}

impl LossReport {
    /// `tag`: `None` for no reports.
    pub(crate) fn new(tag: Option<String>) -> Self {
        LossReport { tag, reported_queue: 0, reported_buffer: 0, reported_in_flight: 0, since: None, last: None }
    }

    /// Notes the drop counters; returns a report request when drops are
    /// unreported and none went out in the last second.
    pub(crate) fn due(&mut self, drops: Drops, ack: bool, now: Instant) -> Option<Packet> {
        let tag = self.tag.as_deref()?;
        let queue = drops.queue.saturating_sub(self.reported_queue);
        let buffer = drops.buffer.saturating_sub(self.reported_buffer);
        let in_flight = drops.in_flight.saturating_sub(self.reported_in_flight);
        if queue + buffer + in_flight == 0 {
            return None;
        }
        let since = *self.since.get_or_insert_with(SystemTime::now);
        if self.last.is_some_and(|t| now.duration_since(t) < EVERY) {
            return None;
        }
        let reason = match (queue > 0, buffer > 0 || in_flight > 0) {
            (true, true) => "queue full and server unavailable",
            (true, false) => "queue full",
            _ => "server unavailable",
        };
        let record = Record {
            dropped: queue + buffer + in_flight,
            dropped_queue: queue,
            dropped_buffer: buffer,
            lost_in_flight: in_flight,
            reason,
            since: since.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64(),
        };
        let time = Timestamp::Event(EventTime::now().ok()?);
        let mut entry = Vec::new();
        encode_entry(&mut entry, time, &record).ok()?;
        let mut built = Vec::new();
        packet::build(BatchMode::Message, tag, &entry, &[entry.len()], ack, &mut built).ok()?;
        let mut report = built.pop()?;
        report.events = 0;
        report.loss_report = queue + buffer + in_flight;
        self.reported_queue += queue;
        self.reported_buffer += buffer;
        self.reported_in_flight += in_flight;
        self.since = None;
        self.last = Some(now);
        Some(report)
    }

    /// A report was dropped before it went out: its drops count as
    /// unreported again (reported with the next one).
    pub(crate) fn lost(&mut self, report: &Packet) {
        // The split by cause is not kept per report: count them as the
        // buffer's, the cause a lost report itself has.
        self.reported_buffer = self.reported_buffer.saturating_sub(report.loss_report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_report_per_interval_with_what_is_new() {
        let mut report = LossReport::new(Some("app.dropped".into()));
        let now = Instant::now();
        let drops = |queue, buffer, in_flight| Drops { queue, buffer, in_flight };
        assert!(report.due(drops(0, 0, 0), false, now).is_none(), "nothing dropped");
        let first = report.due(drops(3, 4, 1), false, now).expect("a report");
        assert_eq!((first.events, first.loss_report), (0, 8));
        assert!(report.due(drops(5, 4, 1), false, now).is_none(), "not twice a second");
        let second = report.due(drops(5, 4, 1), true, now + EVERY).expect("the new drops");
        assert_eq!(second.loss_report, 2);
        assert!(second.chunk.is_some(), "ack mode asks for an ack");
        report.lost(&second);
        assert_eq!(report.due(drops(5, 4, 1), false, now + EVERY * 2).map(|p| p.loss_report), Some(2));
        assert!(report.due(drops(5, 4, 3), false, now + EVERY * 3).is_some_and(|p| p.loss_report == 2), "in flight");
        assert!(LossReport::new(None).due(drops(1, 1, 1), false, now).is_none(), "off");
    }
}
