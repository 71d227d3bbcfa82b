//! [`Pending`]: the worker's buffer of requests built from queued events and
//! not yet sent (acknowledged, in ack mode): fluent-logger-python's
//! `pendings`, kept as whole requests so that the oldest can be handed to
//! the buffer overflow handler without cutting one in two.

use std::collections::VecDeque;
use std::time::Instant;

use crate::packet::Packet;

/// Requests waiting for the server, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    requests: VecDeque<Packet>,
    bytes: usize,
    events: u64,
    /// Bytes of the front request the current connection has taken.
    front_written: usize,
    /// The front request was written whole; its ack is due by then.
    ack_due: Option<Instant>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    pub(crate) fn push(&mut self, packet: Packet) {
        self.bytes += packet.bytes.len();
        self.events += packet.events;
        self.requests.push_back(packet);
    }

    /// Whether a request waits that no connection has started on.
    pub(crate) fn has_unstarted(&self) -> bool {
        self.requests.len() > 1 || !self.requests.is_empty() && self.front_untouched()
    }

    /// The front request's bytes the connection has not taken yet, if it is
    /// not written whole.
    pub(crate) fn unwritten(&self) -> Option<&[u8]> {
        let front = self.requests.front()?;
        (self.ack_due.is_none() && self.front_written < front.bytes.len()).then(|| &front.bytes[self.front_written..])
    }

    /// Whether no byte of the front request has been written yet.
    pub(crate) fn front_untouched(&self) -> bool {
        self.front_written == 0 && self.ack_due.is_none()
    }

    /// The connection took `n` more bytes of the front request; returns
    /// whether it now has all of them.
    pub(crate) fn wrote(&mut self, n: usize) -> bool {
        self.front_written += n;
        self.requests.front().is_some_and(|p| self.front_written >= p.bytes.len())
    }

    pub(crate) fn front(&self) -> Option<&Packet> {
        self.requests.front()
    }

    /// The front request now waits for its ack until `due`.
    pub(crate) fn await_ack(&mut self, due: Instant) {
        self.ack_due = Some(due);
    }

    pub(crate) fn ack_due(&self) -> Option<Instant> {
        self.ack_due
    }

    /// The front request is done (written, or acknowledged).
    pub(crate) fn pop_front(&mut self) -> Option<Packet> {
        let packet = self.requests.pop_front()?;
        self.bytes -= packet.bytes.len();
        self.events -= packet.events;
        self.front_written = 0;
        self.ack_due = None;
        Some(packet)
    }

    /// The connection is gone: the front request goes out whole again on
    /// the next one (the server drops a request cut by a closed connection).
    pub(crate) fn connection_lost(&mut self) {
        self.front_written = 0;
        self.ack_due = None;
    }

    /// Removes the oldest requests no connection has started on, until at
    /// most `max` bytes are pending, handing each to `out`.
    pub(crate) fn shed_oldest(&mut self, max: usize, mut out: impl FnMut(Packet)) {
        // A request partly written (or waiting for its ack) stays: the
        // connection is in the middle of it.
        let first = usize::from(!self.front_untouched());
        while self.bytes > max && self.requests.len() > first {
            let Some(packet) = self.requests.remove(first) else { break };
            self.bytes -= packet.bytes.len();
            self.events -= packet.events;
            out(packet);
        }
    }

    /// Removes everything (close), handing each request to `out`.
    pub(crate) fn take_all(&mut self, out: impl FnMut(Packet)) {
        self.connection_lost();
        self.bytes = 0;
        self.events = 0;
        self.requests.drain(..).for_each(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(len: usize, events: u64) -> Packet {
        Packet { bytes: vec![0; len], events, chunk: None, loss_report: 0 }
    }

    #[test]
    fn shedding_keeps_the_request_in_progress_and_counts_what_it_removes() {
        let mut pending = Pending::default();
        for _ in 0..4 {
            pending.push(packet(100, 10));
        }
        assert!(!pending.wrote(30), "a partial write");
        let mut shed = Vec::new();
        pending.shed_oldest(150, |p| shed.push(p.events));
        assert_eq!(shed, vec![10, 10, 10], "the partly written front stays");
        assert_eq!((pending.bytes(), pending.events()), (100, 10));
        assert_eq!(pending.unwritten().map(<[u8]>::len), Some(70));
        pending.connection_lost();
        assert_eq!(pending.unwritten().map(<[u8]>::len), Some(100), "written whole again on the next connection");
    }

    #[test]
    fn a_request_waiting_for_its_ack_is_not_written_again() {
        let mut pending = Pending::default();
        pending.push(packet(10, 1));
        assert!(pending.wrote(10));
        pending.await_ack(Instant::now());
        assert_eq!(pending.unwritten(), None);
        let mut all = 0;
        pending.take_all(|p| all += p.events);
        assert_eq!((all, pending.bytes(), pending.events()), (1, 0, 0));
    }
}
