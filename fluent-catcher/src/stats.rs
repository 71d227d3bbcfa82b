//! Counters: connections, events, bytes, acks, rejections by reason.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters, shared by every task. Read them with [`Stats::snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_active: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) events_received: AtomicU64,
    pub(crate) events_written: AtomicU64,
    pub(crate) events_rejected: AtomicU64,
    pub(crate) events_lost: AtomicU64,
    pub(crate) acks_sent: AtomicU64,
    pub(crate) heartbeats: AtomicU64,
    pub(crate) memory_waits: AtomicU64,
    rejected: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts one refused frame or connection under a short reason.
    pub(crate) fn reject(&self, reason: &str) {
        let mut map = self.rejected.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(reason.to_owned()).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections_accepted: self.connections_accepted.load(Relaxed),
            connections_active: self.connections_active.load(Relaxed),
            connections_refused: self.connections_refused.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            events_received: self.events_received.load(Relaxed),
            events_written: self.events_written.load(Relaxed),
            events_rejected: self.events_rejected.load(Relaxed),
            events_lost: self.events_lost.load(Relaxed),
            acks_sent: self.acks_sent.load(Relaxed),
            heartbeats: self.heartbeats.load(Relaxed),
            memory_waits: self.memory_waits.load(Relaxed),
            rejected: self.rejected.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }
}

/// The counters at one moment.
///
/// ```
/// let stats = fluent_catcher::StatsSnapshot::default();
/// assert_eq!(stats.events_written, 0);
/// assert!(stats.to_string().starts_with("connections"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Connections accepted since start (all listeners).
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_active: u64,
    /// Connections closed at once because `max_connections` were open.
    pub connections_refused: u64,
    /// Bytes read from clients.
    pub bytes_received: u64,
    /// Events decoded and handed to the writer.
    pub events_received: u64,
    /// Events written to the output.
    pub events_written: u64,
    /// Events dropped because they were malformed (their request's other
    /// events were kept, as Fluentd does).
    pub events_rejected: u64,
    /// Events the writer could not write (an output error); their acks were
    /// withheld, so an ack-mode client resends them.
    pub events_lost: u64,
    /// `{"ack": chunk}` replies sent.
    pub acks_sent: u64,
    /// Heartbeats answered or ignored (TCP `nil`, UDP `0x00`).
    pub heartbeats: u64,
    /// Times a connection waited for room in the decode memory budget
    /// before decoding a request (`Limits::decode_memory`).
    pub memory_waits: u64,
    /// Frames and connections refused, by reason.
    pub rejected: BTreeMap<String, u64>,
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connections accepted={} active={} refused={}; bytes={}; events received={} written={} rejected={} lost={}; acks={}; heartbeats={}; memory waits={}",
            self.connections_accepted,
            self.connections_active,
            self.connections_refused,
            self.bytes_received,
            self.events_received,
            self.events_written,
            self.events_rejected,
            self.events_lost,
            self.acks_sent,
            self.heartbeats,
            self.memory_waits
        )?;
        if !self.rejected.is_empty() {
            f.write_str("; rejected")?;
            for (reason, n) in &self.rejected {
                write!(f, " {reason}={n}")?;
            }
        }
        Ok(())
    }
}
