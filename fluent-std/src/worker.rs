//! The asynchronous sender's worker thread: drains the ring, packs batches,
//! sends them (waiting for acks in ack mode), reconnects with backoff.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use fluent_proto::{FrameDecoder, Limits, parse_ack};
use fluent_queue::{Consumer, HeapRing};

use crate::rings::RingEntry;

use crate::async_sender::Shared;
use crate::backoff::Backoff;
use crate::connection::{Connection, Endpoint};
use crate::error::SendError;
use crate::packet::{self, Packet};
use crate::stats::Counters;

/// How long the worker sleeps when idle before looking again (it is woken
/// earlier by every emit that finds it asleep).
const IDLE: Duration = Duration::from_millis(100);

/// When the queue runs empty, the worker first naps this long, up to
/// [`NAPS`] times in a row, without asking emitters to wake it: during a
/// burst the next events arrive within a nap, and no emit pays for a
/// wake-up system call. Only then does it sleep for [`IDLE`], woken by the
/// next emit. An application that logs rarely pays `NAPS` short wake-ups of
/// the worker per event.
const NAP: Duration = Duration::from_micros(50);
const NAPS: u32 = 4;

pub(crate) struct Worker {
    shared: Arc<Shared>,
    endpoint: Endpoint,
    connection: Option<Connection>,
    backoff: Backoff,
    ever_connected: bool,
    /// Requests built but not yet written (acknowledged, in ack mode).
    queue: VecDeque<Packet>,
    queued_bytes: usize,
    /// Scratch for one tag run.
    entries: Vec<u8>,
    lens: Vec<usize>,
    ack_buf: Vec<u8>,
    /// Naps taken since the queue last had events (see [`NAP`]).
    naps: u32,
}

impl Worker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let base = &shared.options.base;
        Worker {
            endpoint: Endpoint::new(&base.host, base.port),
            backoff: Backoff::new(base.backoff_initial, base.backoff_max),
            shared,
            connection: None,
            ever_connected: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            entries: Vec::new(),
            lens: Vec::new(),
            ack_buf: Vec::new(),
            naps: 0,
        }
    }

    pub(crate) fn run(mut self) {
        loop {
            // At most `bufmax` of requests wait for the server; the rest stay
            // in the queue, where blocking mode pushes back on emitters and
            // circular mode evicts the oldest events.
            let drained = self.drain(true);
            let sent = self.send_queued();
            let close = {
                let request = self.shared.close_request.lock().unwrap_or_else(|e| e.into_inner());
                request.as_ref().map(|r| (r.flush, r.deadline))
            };
            if let Some((flush, deadline)) = close {
                // `closed` was set under the producer lock before the request:
                // this drain sees every committed event.
                self.drain(false);
                if self.queue.is_empty() {
                    self.connection = None;
                    return;
                }
                if !flush || Instant::now() >= deadline {
                    self.give_up();
                    return;
                }
                if !sent {
                    let wait = self.backoff.wait_left(Instant::now()).unwrap_or(Duration::from_millis(1));
                    thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())).min(IDLE));
                }
                continue;
            }
            if drained || sent {
                self.naps = 0;
            } else {
                self.idle();
            }
        }
    }

    /// Sleeps when there is nothing to do: until woken by an emit (queue
    /// empty), until the next reconnect is due (server unreachable), or
    /// briefly otherwise. Never spins.
    fn idle(&mut self) {
        let closing = self.shared.close_request.lock().map(|r| r.is_some()).unwrap_or(true);
        if closing {
            return;
        }
        if self.queue.is_empty() && self.naps < NAPS {
            // Probably a pause within a burst: look again soon, unannounced.
            self.naps += 1;
            thread::park_timeout(NAP);
        } else if self.queue.is_empty() {
            // Waiting for events: advertise it, so the next emit wakes us.
            let shared = &self.shared;
            shared.sleeping.store(true, Ordering::Relaxed);
            // Pairs with the (light) fence in `Shared::wake`: either we see
            // the emitter's event or it sees us asleep.
            crate::asymmetric_fence::heavy();
            if self.queued_events() == 0 {
                thread::park_timeout(IDLE);
            }
            shared.sleeping.store(false, Ordering::Relaxed);
        } else {
            // Waiting for the server: emits cannot help, so they are not told
            // to wake us (no syscall on their path).
            let wait = self.backoff.wait_left(Instant::now()).unwrap_or(Duration::from_millis(1));
            thread::park_timeout(wait.min(IDLE));
        }
    }

    /// Events waiting in all rings.
    fn queued_events(&self) -> u64 {
        self.shared.rings().iter().map(|r| r.consumer.counters().frames).sum()
    }

    /// Drains every thread's ring (see `drain_ring`), and drops the rings
    /// of exited threads once they are empty; true if anything moved.
    fn drain(&mut self, respect_bufmax: bool) -> bool {
        let shared = self.shared.clone();
        let mut rings = shared.rings();
        let mut moved = false;
        for ring in rings.iter_mut() {
            moved |= self.drain_ring(&mut ring.consumer, respect_bufmax);
        }
        rings.retain(|ring: &RingEntry| {
            // `gone` is set when the thread's producer is dropped (Acquire
            // pairs with that Release): nothing more will be committed.
            let retire = ring.state.gone.load(Ordering::Acquire) && ring.consumer.counters().frames == 0;
            if retire {
                shared.retired_emitted.fetch_add(ring.state.emitted.load(Ordering::Relaxed), Ordering::Relaxed);
                shared.retired_evicted.fetch_add(ring.consumer.counters().evicted, Ordering::Relaxed);
            }
            !retire
        });
        moved
    }

    /// Moves queued events into requests, oldest first, while the unsent
    /// requests stay within `bufmax` (at least one event is taken when
    /// nothing is unsent); true if any moved. Events left in the queue are
    /// under the queue's policy: blocking or evicting the oldest.
    fn drain_ring(&mut self, consumer: &mut Consumer<Arc<HeapRing>>, respect_bufmax: bool) -> bool {
        let Some(grant) = consumer.read() else { return false };
        let bufmax = self.shared.options.base.bufmax;
        let mut current: Option<&str> = None;
        let mut taken = 0;
        let mut budget = self.queued_bytes;
        self.entries.clear();
        self.lens.clear();
        for frame in grant.iter() {
            if respect_bufmax && budget + frame.len() > bufmax && (taken > 0 || !self.queue.is_empty()) {
                break;
            }
            budget += frame.len();
            taken += 1;
            let Some((tag, entry)) = packet::split_frame(frame) else { continue };
            if current.is_some_and(|t| t != tag) {
                self.flush_run(current.unwrap_or_default());
                self.entries.clear();
                self.lens.clear();
            }
            current = Some(tag);
            self.entries.extend_from_slice(entry);
            self.lens.push(entry.len());
        }
        if let Some(tag) = current {
            self.flush_run(tag);
        }
        // The borrow ends as soon as the bytes are copied out, so circular
        // mode can evict again.
        grant.release_frames(taken);
        taken > 0
    }

    /// Turns the current tag run (`entries`, `lens`) into requests.
    fn flush_run(&mut self, tag: &str) {
        let options = &self.shared.options;
        let mut built = Vec::new();
        match packet::build(options.mode, tag, &self.entries, &self.lens, options.require_ack_response, &mut built) {
            Ok(()) => {
                for p in built {
                    if options.base.verbose {
                        crate::sender::print_packet(&p.bytes);
                    }
                    self.queued_bytes += p.bytes.len();
                    self.queue.push_back(p);
                }
            }
            Err(e) => {
                Counters::add_exclusive(&self.shared.counters.worker.dropped_buffer, self.lens.len() as u64);
                self.shared.set_last_error(SendError::Encode(e));
            }
        }
    }

    fn overflow(&self, bytes: &[u8]) {
        if let Some(handler) = &self.shared.options.base.buffer_overflow_handler {
            let _ = catch_unwind(AssertUnwindSafe(|| handler(bytes)));
        }
    }

    /// Hands everything unsent to the overflow handler at close.
    fn give_up(&mut self) {
        while let Some(p) = self.queue.pop_front() {
            Counters::add_exclusive(&self.shared.counters.worker.unsent_at_close, p.events);
            self.overflow(&p.bytes);
        }
        self.queued_bytes = 0;
        self.connection = None;
    }

    fn connect(&mut self) -> Result<(), SendError> {
        if let Some(c) = &mut self.connection
            && c.peer_closed()
        {
            self.connection = None;
        }
        if self.connection.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if let Some(retry_in) = self.backoff.wait_left(now) {
            return Err(SendError::Backoff { retry_in });
        }
        match self.endpoint.connect(self.shared.options.base.timeout) {
            Ok(c) => {
                self.backoff.reset();
                if self.ever_connected {
                    Counters::add_exclusive(&self.shared.counters.worker.reconnects, 1);
                }
                self.ever_connected = true;
                self.connection = Some(c);
                Ok(())
            }
            Err(e) => {
                self.backoff.failed(now);
                Err(e.into())
            }
        }
    }

    /// Sends queued requests in order until one fails; true if any went out.
    fn send_queued(&mut self) -> bool {
        let mut progressed = false;
        while let Some(front) = self.queue.front() {
            let (len, events, chunk) = (front.bytes.len(), front.events, front.chunk);
            let result = self.connect().and_then(|()| {
                let bytes = &self.queue.front().map(|p| &p.bytes[..]).unwrap_or_default();
                self.connection.as_mut().ok_or(SendError::Closed)?.write_all(bytes).map_err(SendError::from)
            });
            let result = result.and_then(|()| match chunk {
                Some(chunk) => self.wait_ack(chunk.as_str()),
                None => Ok(()),
            });
            match result {
                Ok(()) => {
                    let counters = &self.shared.counters;
                    Counters::add_exclusive(&counters.worker.sent, events);
                    Counters::add_exclusive(&counters.worker.bytes_sent, len as u64);
                    if chunk.is_some() {
                        Counters::add_exclusive(&counters.worker.acked, events);
                    }
                    self.queue.pop_front();
                    self.queued_bytes -= len;
                    progressed = true;
                }
                Err(e) => {
                    if !matches!(e, SendError::Backoff { .. }) {
                        // Resend the same request on a new connection later
                        // (at-least-once in ack mode).
                        self.connection = None;
                        if self.backoff.wait_left(Instant::now()).is_none() {
                            self.backoff.failed(Instant::now());
                        }
                    }
                    // `Backoff` only says the reconnect is not due yet; the
                    // error that caused it was recorded when it happened.
                    if !matches!(e, SendError::Backoff { .. }) {
                        self.shared.set_last_error(e);
                    }
                    break;
                }
            }
        }
        progressed
    }

    /// Reads the server's reply until it is `{"ack": chunk}`.
    fn wait_ack(&mut self, chunk: &str) -> Result<(), SendError> {
        let deadline = Instant::now() + self.shared.options.ack_timeout;
        let connection = self.connection.as_mut().ok_or(SendError::Closed)?;
        self.ack_buf.clear();
        let mut decoder = FrameDecoder::new(Limits { max_frame_len: 64 * 1024, max_depth: 4 });
        let mut read = [0u8; 512];
        loop {
            while let Some(n) = decoder.next_value_len(&self.ack_buf).map_err(|e| timed_out(&e.to_string()))? {
                let reply = self.ack_buf.drain(..n).collect::<Vec<u8>>();
                if parse_ack(&reply).is_ok_and(|id| id == chunk) {
                    return Ok(());
                }
                // A reply for another chunk: not ours; keep waiting.
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out("no ack for the chunk before the ack timeout"));
            }
            match connection.read_timeout(&mut read, left) {
                Ok(0) => return Err(timed_out("the server closed the connection before acking")),
                Ok(n) => self.ack_buf.extend_from_slice(&read[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(timed_out("no ack for the chunk before the ack timeout"));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn timed_out(message: &str) -> SendError {
    SendError::Io { kind: std::io::ErrorKind::TimedOut, message: message.to_owned() }
}
