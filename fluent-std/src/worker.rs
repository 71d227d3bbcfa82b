//! The asynchronous sender's worker thread: drains the rings into requests,
//! writes them on a non-blocking connection (waiting for acks in ack mode),
//! reconnects with backoff, and never waits past a deadline.
//!
//! The policy, in the order the loop applies it:
//! - **Drain.** While the server is *available* (it connected, took bytes
//!   or sent an ack in the last `stall_timeout`), queued events become
//!   requests up to `bufmax` pending (in ack mode, and to a server that
//!   takes one request per connection, once the connection has started on
//!   the previous request, so that events queued meanwhile go out
//!   together), and a blocking queue pushes back on a burst faster than the
//!   connection. While the
//!   server is unavailable (refused, unreachable, not reading, not acking),
//!   the worker drains everything, and the oldest requests beyond `bufmax`
//!   go to the buffer overflow handler, counted in `dropped_buffer`: emits
//!   never wait for the outage.
//! - **Write.** One request at a time, as far as the kernel takes it; in
//!   ack mode the next request waits for the front one's ack. A failed
//!   connection is retried after a capped exponential backoff, and the
//!   request is written whole again on the next one (at-least-once in ack
//!   mode). A server that closes an idle connection, or closes after an ack
//!   (Fluentd's `deny_keepalive`), is reconnected at once, without backoff.
//! - **Wait.** In `poll(2)` on the connection and the wake-up `eventfd`,
//!   never longer than the nearest deadline: name resolution (on a helper
//!   thread), connect, ack, stall, no bytes taken for `timeout` (the
//!   connection is then dropped), backoff, close. With nothing to do, it
//!   looks at the queues every [`DOZE`] on its own, so the emit after a
//!   pause need not wake it; only after [`DOZING_FOR`] with nothing to do
//!   does it sleep until the next emit wakes it.

use std::os::fd::AsFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use fluent_proto::{FrameDecoder, Limits, parse_ack};
use fluent_queue::{Consumer, HeapRing};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use socket2::SockAddr;

use crate::connection::{Connection, Dialing, Endpoint, PeerState};
use crate::error::SendError;
use crate::handshake::{ClientHandshake, Next, Security};
use crate::heartbeat::{DOWN, Heartbeats, UP};
use crate::in_flight::{InFlight, unacked_bytes};
use crate::loss_report::{Drops, LossReport};
use crate::packet::{self, Packet};
use crate::pending::Pending;
use crate::rings::RingEntry;
use crate::servers::{CLOSE_WAIT, ResetAfterRequest, ServerSet};
use crate::shared::{ASLEEP, AWAKE, CloseRequest, DOZING, Shared};
use crate::stats::Counters;

/// The longest wait when nothing else is due.
const IDLE: Duration = Duration::from_millis(100);

/// When the queue runs empty, the worker first naps this long, up to
/// [`NAPS`] times in a row, then dozes for [`DOZE`] at a time until it has
/// been idle for [`DOZING_FOR`], without asking emitters to wake it: during
/// a burst the next events arrive within a nap, an event after a pause is
/// picked up within a doze, and no emit pays for a wake-up system call
/// (under a hypervisor waking a thread on another core costs an emit
/// many microseconds). Only then does it sleep for [`IDLE`], woken by the next emit.
const NAP: Duration = Duration::from_micros(50);
const NAPS: u32 = 4;
/// The longest an event emitted after a pause waits for the worker to look
/// at the queues (but after [`DOZING_FOR`] without events).
const DOZE: Duration = Duration::from_millis(2);
const DOZING_FOR: Duration = Duration::from_secs(1);

/// How long after a thread took the spare ring the worker makes the next.
const SPARE_DELAY: Duration = Duration::from_millis(5);

/// A drain gives the queue's room back after at most this many bytes.
const RELEASE_EVERY: usize = 64 * 1024;

/// The most entry bytes one request carries (one larger event goes alone):
/// receivers cap requests (Fluent Bit's in_forward at 6 MB by default), and
/// a failed or unacked request costs less to send again.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Connection steps taken per loop turn before draining again.
const STEPS: u32 = 64;

/// The connection to the server.
enum Link {
    Down,
    /// A host name being resolved on a helper thread (the system's resolver
    /// cannot be given a deadline).
    Resolving {
        answer: Receiver<std::io::Result<Vec<SockAddr>>>,
        deadline: Instant,
    },
    Connecting {
        conn: Connection,
        rest: Vec<SockAddr>,
        deadline: Instant,
    },
    /// Connected; the TLS handshake runs (when TLS is configured).
    Securing {
        conn: Connection,
        deadline: Instant,
    },
    /// Connected; the shared-key handshake runs before any event is
    /// written (`outbox`: the part of PING not yet written).
    Handshaking {
        conn: Connection,
        handshake: ClientHandshake,
        outbox: Vec<u8>,
        deadline: Instant,
    },
    Up {
        conn: Connection,
        completed: u64,
    },
}

/// What one connection step did.
#[derive(PartialEq)]
enum Step {
    Progress,
    Blocked,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    /// The servers, each with its backoff; `current` is the one the link
    /// is (or was last) with.
    servers: ServerSet,
    current: usize,
    /// What the heartbeat thread found, when heartbeats are on.
    heartbeats: Option<Heartbeats>,
    link: Link,
    ever_connected: bool,
    pending: Pending,
    /// The last time the server showed it was available: a connection
    /// made, bytes taken, an ack received, or the first request queued
    /// after an idle spell.
    last_progress: Instant,
    /// The last connection (or attempt) failed, and no connection has taken
    /// bytes since.
    failing: bool,
    /// When the connection was made or last took bytes: one that takes
    /// none for the `timeout` while requests wait is abandoned.
    last_write: Instant,
    /// The requests written whole on the connection, to count those lost
    /// in flight when it fails.
    in_flight: InFlight,
    ack_buf: Vec<u8>,
    /// Scratch for one tag run.
    entries: Vec<u8>,
    lens: Vec<usize>,
    /// Scratch for the tag of the run being drained.
    run_tag: String,
    loss: LossReport,
    last_loss_check: Instant,
    /// The shared-key handshake's credentials, when one is configured.
    security: Option<Arc<Security>>,
    /// Naps taken since the queue last had events (see [`NAP`]).
    naps: u32,
    /// When the queues and the pending buffer last held anything.
    busy_at: Instant,
    /// When to make the next spare ring.
    spare_due: Option<Instant>,
}

impl Worker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let base = &shared.options.base;
        let loss_tag = shared.options.loss_report_tag.clone().map(|tag| {
            // Empty: the default, derived from the sender's tag.
            if tag.is_empty() { crate::sender::join_tag(&base.tag, "dropped") } else { tag }
        });
        Worker {
            servers: ServerSet::new(&base.server_list(), base.backoff_initial, base.backoff_max),
            current: 0,
            heartbeats: None,
            link: Link::Down,
            ever_connected: false,
            pending: Pending::default(),
            last_progress: Instant::now(),
            failing: false,
            last_write: Instant::now(),
            in_flight: InFlight::default(),
            ack_buf: Vec::new(),
            entries: Vec::new(),
            run_tag: String::new(),
            lens: Vec::new(),
            loss: LossReport::new(loss_tag),
            last_loss_check: Instant::now(),
            naps: 0,
            security: base.security().map(Arc::new),
            busy_at: Instant::now(),
            spare_due: None,
            shared,
        }
    }

    pub(crate) fn run(mut self) {
        if let Some(interval) = self.options().base.heartbeat_interval {
            let timeout = self.options().base.timeout.min(interval);
            self.heartbeats = Some(Heartbeats::start(self.servers.endpoints(), interval, timeout, self.shared.clone()));
        }
        loop {
            self.apply_heartbeats(Instant::now());
            let close = self.shared.close_request();
            let now = Instant::now();
            if close.is_none() {
                self.keep_a_spare_ring(now);
            }
            let drained = self.drain(now, close.is_some());
            let progressed = self.pump();
            if close.is_none() {
                self.shed_if_unavailable(Instant::now());
                self.report_losses(Instant::now());
            }
            self.publish();
            if let Some(CloseRequest { flush, deadline }) = close {
                // `closed` was set (and every emit finished) before the
                // request: this drain saw every committed event.
                if self.pending.is_empty() && self.queued_events() == 0 {
                    self.link = Link::Down;
                    return;
                }
                if !flush || Instant::now() >= deadline {
                    self.give_up();
                    return;
                }
            }
            if drained || progressed {
                self.naps = 0;
                self.busy_at = Instant::now();
            } else {
                self.wait(close.map(|c| c.deadline));
            }
        }
    }

    /// Takes in what the heartbeats found, except for the server the link
    /// is with or on its way to: the link itself tells about that one.
    fn apply_heartbeats(&mut self, now: Instant) {
        let Some(heartbeats) = &self.heartbeats else { return };
        let busy = !matches!(self.link, Link::Down);
        for i in 0..self.servers.len() {
            if busy && i == self.current {
                continue;
            }
            match heartbeats.states[i].load(Ordering::Relaxed) {
                UP => self.servers.heard(i, true, now),
                DOWN => self.servers.heard(i, false, now),
                _ => {}
            }
        }
    }

    fn options(&self) -> &crate::AsyncSenderBuilder {
        &self.shared.options
    }

    /// Makes the ring the next emitting thread will take, here rather than
    /// on that thread's first emit, a little after the last one was taken
    /// (not while that thread is in its first emits).
    fn keep_a_spare_ring(&mut self, now: Instant) {
        if self.shared.spare_taken.swap(false, Ordering::Relaxed) {
            self.spare_due = Some(now + SPARE_DELAY);
        }
        if self.spare_due.is_some_and(|due| now >= due) {
            self.spare_due = None;
            let ring = self.shared.new_ring();
            *self.shared.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(ring);
        }
    }

    /// Publishes what the worker holds, for `stats`.
    fn publish(&self) {
        let gauge = &self.shared.pending;
        gauge.events.store(self.pending.events(), Ordering::Relaxed);
        gauge.bytes.store(self.pending.bytes() as u64, Ordering::Relaxed);
    }

    /// Events waiting in all rings.
    fn queued_events(&self) -> u64 {
        self.shared.rings().iter().map(|r| r.consumer.counters().frames).sum()
    }

    /// Whether the server is unavailable: the last connection (or attempt)
    /// failed, or it has shown no sign of life for `stall_timeout` while
    /// requests wait. A first connect in progress counts as available for
    /// that long: a burst at start-up, larger than `bufmax` before the
    /// connection is up, is pushed back, not shed.
    fn unavailable(&self, now: Instant) -> bool {
        self.failing || now.saturating_duration_since(self.last_progress) >= self.options().stall_timeout
    }

    /// How many bytes of queued events may become requests now (see the
    /// module docs); `usize::MAX` for all.
    fn drain_budget(&self, now: Instant, closing: bool) -> usize {
        if closing || self.unavailable(now) {
            usize::MAX
        } else if self.pending.has_unstarted() && self.request_costs_a_round_trip() {
            // The server is busy with the front request: what is queued
            // meanwhile goes out as one request after it, not as many small
            // ones, each costing a round trip.
            0
        } else {
            self.options().base.bufmax.saturating_sub(self.pending.bytes())
        }
    }

    /// Whether the next request waits for the one before it to complete:
    /// its ack, or the close of a server that takes one request per
    /// connection (a new connection each).
    fn request_costs_a_round_trip(&self) -> bool {
        self.options().require_ack_response || self.servers.one_request_per_connection(self.current)
    }

    /// Drains every thread's ring within the budget, and drops the rings of
    /// exited threads once they are empty; true if anything moved.
    fn drain(&mut self, now: Instant, closing: bool) -> bool {
        let mut budget = self.drain_budget(now, closing);
        if budget == 0 {
            return false;
        }
        let was_empty = self.pending.is_empty();
        let shared = self.shared.clone();
        let mut rings = shared.rings();
        let mut moved = false;
        for ring in rings.iter_mut() {
            moved |= self.drain_ring(&mut ring.consumer, &mut budget);
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
        if moved && was_empty {
            // The server had nothing to do: its clock starts now.
            self.last_progress = now;
        }
        moved
    }

    /// Moves queued events into requests, oldest first, within `budget`
    /// bytes (at least one event when the budget is not 0); true if any
    /// moved.
    fn drain_ring(&mut self, consumer: &mut Consumer<Arc<HeapRing>>, budget: &mut usize) -> bool {
        if *budget == 0 {
            return false;
        }
        // The run's tag, owned: a run continues across the grants below.
        let mut tag = std::mem::take(&mut self.run_tag);
        tag.clear();
        self.entries.clear();
        self.lens.clear();
        let mut moved = false;
        loop {
            let Some(grant) = consumer.read() else { break };
            let (mut taken, mut copied) = (0, 0);
            let mut full = false;
            for frame in grant.iter() {
                if (moved || taken > 0) && frame.len() > *budget {
                    full = true;
                    break;
                }
                if copied >= RELEASE_EVERY {
                    break;
                }
                *budget = budget.saturating_sub(frame.len());
                taken += 1;
                copied += frame.len();
                let Some((frame_tag, entry)) = packet::split_frame(frame) else { continue };
                if !self.lens.is_empty() && (tag != frame_tag || self.entries.len() + entry.len() > MAX_REQUEST_BYTES) {
                    self.flush_run(&tag);
                    self.entries.clear();
                    self.lens.clear();
                }
                if tag != frame_tag {
                    tag.clear();
                    tag.push_str(frame_tag);
                }
                self.entries.extend_from_slice(entry);
                self.lens.push(entry.len());
            }
            // The borrow ends as soon as the bytes are copied out: a blocked
            // emit has room again (and circular mode can evict again) after
            // at most `RELEASE_EVERY` bytes, not after the whole queue.
            grant.release_frames(taken);
            moved |= taken > 0;
            if full {
                *budget = 0;
            }
            if taken == 0 || *budget == 0 {
                break;
            }
        }
        if !self.lens.is_empty() {
            self.flush_run(&tag);
        }
        self.run_tag = tag;
        moved
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
                    self.pending.push(p);
                }
            }
            Err(e) => {
                Counters::add_exclusive(&self.shared.counters.worker.dropped_buffer, self.lens.len() as u64);
                self.shared.set_last_error(SendError::Encode(e));
            }
        }
    }

    /// The server is unavailable: the oldest requests beyond `bufmax` go to
    /// the buffer overflow handler, counted.
    fn shed_if_unavailable(&mut self, now: Instant) {
        let bufmax = self.options().base.bufmax;
        if self.pending.bytes() <= bufmax || !self.unavailable(now) {
            return;
        }
        let mut shed = Vec::new();
        self.pending.shed_oldest(bufmax, |p| shed.push(p));
        for p in shed {
            self.hand_over(p, false);
        }
    }

    /// Hands a request the worker will not send to the buffer overflow
    /// handler, and counts its events (`unsent_at_close` at close, else
    /// `dropped_buffer`).
    fn hand_over(&mut self, p: Packet, at_close: bool) {
        if p.loss_report > 0 {
            self.loss.lost(&p);
            return;
        }
        let counters = &self.shared.counters.worker;
        let counter = if at_close { &counters.unsent_at_close } else { &counters.dropped_buffer };
        Counters::add_exclusive(counter, p.events);
        if let Some(handler) = &self.shared.options.base.buffer_overflow_handler {
            let _ = catch_unwind(AssertUnwindSafe(|| handler(&p.bytes)));
        }
    }

    /// Close gave up: everything still queued or pending goes to the
    /// buffer overflow handler, counted in `unsent_at_close`.
    fn give_up(&mut self) {
        self.drain(Instant::now(), true);
        let mut all = Vec::new();
        self.pending.take_all(|p| all.push(p));
        for p in all {
            self.hand_over(p, true);
        }
        self.link = Link::Down;
        self.publish();
    }

    /// Queues a loss report once the connection works again.
    fn report_losses(&mut self, now: Instant) {
        if now.duration_since(self.last_loss_check) < Duration::from_millis(100)
            || !matches!(self.link, Link::Up { completed: 1.., .. })
            || self.pending.bytes() >= self.options().base.bufmax / 2
        {
            return;
        }
        self.last_loss_check = now;
        let worker = &self.shared.counters.worker;
        let drops = Drops {
            queue: self.shared.queue_totals().dropped,
            buffer: worker.dropped_buffer.load(Ordering::Relaxed),
            in_flight: worker.lost_in_flight.load(Ordering::Relaxed),
        };
        if let Some(report) = self.loss.due(drops, self.options().require_ack_response, now) {
            self.pending.push(report);
        }
    }

    /// Takes connection steps until one would block (at most [`STEPS`]);
    /// true if any made progress.
    fn pump(&mut self) -> bool {
        let mut progressed = false;
        for _ in 0..STEPS {
            if self.step(Instant::now()) == Step::Blocked {
                break;
            }
            progressed = true;
        }
        progressed
    }

    /// One step of the connection: connect, write, or read an ack.
    fn step(&mut self, now: Instant) -> Step {
        match &mut self.link {
            Link::Down => {
                if self.pending.is_empty() {
                    return Step::Blocked;
                }
                let Some(server) = self.servers.pick(now) else { return Step::Blocked };
                self.current = server;
                match self.servers.endpoint(server).literal_addresses() {
                    Some(Ok(addrs)) => self.dial(addrs, now),
                    Some(Err(e)) => self.connect_failed(e, now),
                    None => self.resolve(now),
                }
            }
            Link::Resolving { answer, deadline } => match answer.try_recv() {
                Ok(Ok(addrs)) => self.dial(addrs, now),
                Ok(Err(e)) => self.connect_failed(e, now),
                Err(TryRecvError::Empty) if now < *deadline => Step::Blocked,
                Err(TryRecvError::Empty) => {
                    let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "name resolution timed out");
                    self.connect_failed(error, now)
                }
                Err(TryRecvError::Disconnected) => {
                    self.connect_failed(std::io::Error::other("the resolver thread ended without an answer"), now)
                }
            },
            Link::Connecting { conn, .. } => match conn.connect_result() {
                Ok(true) => {
                    let Link::Connecting { conn, .. } = std::mem::replace(&mut self.link, Link::Down) else {
                        return Step::Blocked;
                    };
                    self.connected(conn, now)
                }
                Ok(false) => {
                    let Link::Connecting { deadline, .. } = &self.link else { return Step::Blocked };
                    if now < *deadline {
                        return Step::Blocked;
                    }
                    let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
                    self.next_address_or_fail(error, now)
                }
                Err(e) => self.next_address_or_fail(e, now),
            },
            Link::Securing { conn, deadline } => match conn.tls_handshake() {
                Ok(_) => {
                    let Link::Securing { conn, .. } = std::mem::replace(&mut self.link, Link::Down) else {
                        return Step::Blocked;
                    };
                    self.authenticate(conn, now)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && now < *deadline => Step::Blocked,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let timeout = self.options().base.timeout;
                    self.link_failed(
                        SendError::Tls(format!("no TLS handshake from the server within {timeout:?}")),
                        now,
                    )
                }
                Err(e) => self.link_failed(e.into(), now),
            },
            Link::Handshaking { .. } => self.handshake_step(now),
            Link::Up { conn, .. } if conn.tls_backlog() => match conn.flush_tls() {
                // Records of requests already counted as written, waiting for
                // the socket (the ack wait needs them sent).
                Ok(()) => {
                    self.last_progress = now;
                    self.last_write = now;
                    Step::Progress
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.write_blocked(now),
                Err(e) => self.link_failed(e.into(), now),
            },
            Link::Up { .. } if self.pending.ack_due().is_some() => self.read_ack(now),
            Link::Up { .. }
                if self.pending.is_empty()
                    && self.shared.options.keepalive_timeout.is_some_and(|idle| now >= self.last_write + idle) =>
            {
                // Fluentd's keepalive_timeout: a normal close.
                self.link = Link::Down;
                Step::Progress
            }
            Link::Up { conn, completed } => {
                let Some(bytes) = self.pending.unwritten() else { return Step::Blocked };
                let reused = *completed > 0;
                // Before starting a request on a connection that has done one,
                // look whether the server closed it meanwhile (idle timeout,
                // `deny_keepalive`): that is a normal close, not a failure.
                if reused && self.pending.front_untouched() {
                    match conn.closed_while_idle() {
                        PeerState::Open => {}
                        PeerState::Closed => {
                            self.link_closed_normally();
                            return Step::Progress;
                        }
                        PeerState::Reset => return self.server_reset(now),
                    }
                }
                // A server that closes after each request: wait for its
                // close rather than write the next request into a
                // connection it is closing. Still open after the wait: it
                // keeps connections alive after all.
                if reused && self.pending.front_untouched() && self.servers.one_request_per_connection(self.current) {
                    if now < self.last_progress + CLOSE_WAIT {
                        return Step::Blocked;
                    }
                    self.servers.kept_open(self.current);
                }
                // On a standby, between requests: a primary is due for
                // another try, so make way for it.
                if self.pending.front_untouched() && self.servers.primary_due(self.current, now) {
                    self.link_closed_normally();
                    return Step::Progress;
                }
                match conn.write_some(bytes) {
                    Ok(n) => {
                        self.last_progress = now;
                        self.last_write = now;
                        self.failing = false;
                        self.in_flight.wrote(n);
                        if self.pending.wrote(n) {
                            self.written_whole(now);
                        }
                        Step::Progress
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.write_blocked(now),
                    // Closed by the server after an earlier request: the
                    // request goes again, whole, on a new connection.
                    Err(e) if reused && is_reset(&e) => self.server_reset(now),
                    Err(e) => self.link_failed(e.into(), now),
                }
            }
        }
    }

    /// The socket takes no bytes now: wait, unless it has taken none for the
    /// `timeout`.
    fn write_blocked(&mut self, now: Instant) -> Step {
        let timeout = self.options().base.timeout;
        if now.saturating_duration_since(self.last_write) < timeout {
            return Step::Blocked;
        }
        self.link_failed(timed_out(&format!("the server took no bytes for {timeout:?}")), now)
    }

    /// Resolves the host name on a helper thread, which wakes the worker
    /// when it has the answer; the wait is bounded by the connect timeout.
    fn resolve(&mut self, now: Instant) -> Step {
        let (tell, answer) = mpsc::channel();
        let endpoint = self.servers.endpoint(self.current).clone();
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new().name("fluent-resolver".into()).spawn(move || {
            let _ = tell.send(endpoint.addresses());
            shared.waker.wake();
        });
        match spawned {
            Ok(_) => {
                self.link = Link::Resolving { answer, deadline: now + self.options().base.timeout };
                Step::Blocked
            }
            Err(e) => self.connect_failed(e, now),
        }
    }

    /// Starts connecting to the first of `addrs`, keeping the rest.
    fn dial(&mut self, mut addrs: Vec<SockAddr>, now: Instant) -> Step {
        if addrs.is_empty() {
            return self.connect_failed(std::io::ErrorKind::NotFound.into(), now);
        }
        let addr = addrs.remove(0);
        match self.servers.endpoint(self.current).dial(&addr) {
            Ok(Dialing::Connected(conn)) => self.connected(conn, now),
            Ok(Dialing::InProgress(conn)) => {
                let deadline = now + self.options().base.timeout;
                self.link = Link::Connecting { conn, rest: addrs, deadline };
                Step::Blocked
            }
            Err(e) if !addrs.is_empty() => {
                self.shared.set_last_error(e.into());
                self.dial(addrs, now)
            }
            Err(e) => self.connect_failed(e, now),
        }
    }

    /// A connect attempt failed: try the next address, or back off.
    fn next_address_or_fail(&mut self, error: std::io::Error, now: Instant) -> Step {
        match std::mem::replace(&mut self.link, Link::Down) {
            Link::Connecting { rest, .. } if !rest.is_empty() => {
                self.shared.set_last_error(error.into());
                self.dial(rest, now)
            }
            _ => self.connect_failed(error, now),
        }
    }

    fn connect_failed(&mut self, error: std::io::Error, now: Instant) -> Step {
        self.link = Link::Down;
        self.failing = true;
        self.servers.failed(self.current, now, false);
        Counters::add_exclusive(&self.shared.counters.worker.connection_errors, 1);
        self.shared.set_last_error(error.into());
        Step::Blocked
    }

    /// A connection is made: TLS first, when configured (TCP only).
    fn connected(&mut self, mut conn: Connection, now: Instant) -> Step {
        let (Some(tls), Endpoint::Tcp { host, .. }) =
            (&self.shared.options.base.tls, self.servers.endpoint(self.current))
        else {
            return self.authenticate(conn, now);
        };
        match conn.start_tls(tls, host) {
            Ok(()) => {
                self.link = Link::Securing { conn, deadline: now + self.options().base.timeout };
                Step::Progress
            }
            Err(e) => self.link_failed(e.into(), now),
        }
    }

    /// The shared-key handshake, when a shared key is set; then the link is up.
    fn authenticate(&mut self, conn: Connection, now: Instant) -> Step {
        let Some(security) = self.security.clone() else {
            self.link_up(conn, now);
            return Step::Progress;
        };
        match ClientHandshake::new(security) {
            Ok(handshake) => {
                let deadline = now + self.options().base.timeout;
                self.link = Link::Handshaking { conn, handshake, outbox: Vec::new(), deadline };
                Step::Progress
            }
            Err(reason) => self.link_failed(SendError::Handshake(reason), now),
        }
    }

    /// One step of the handshake: write what is left of PING, or read the
    /// server's HELO or PONG.
    fn handshake_step(&mut self, now: Instant) -> Step {
        let Link::Handshaking { conn, handshake, outbox, deadline } = &mut self.link else { return Step::Blocked };
        if !outbox.is_empty() {
            return match conn.write_some(outbox) {
                Ok(n) => {
                    outbox.drain(..n);
                    Step::Progress
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && now < *deadline => Step::Blocked,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.handshake_timed_out(now),
                Err(e) => self.link_failed(e.into(), now),
            };
        }
        let mut read = [0u8; 4096];
        let next = match conn.read_some(&mut read) {
            Ok(0) => Err("the server closed the connection".to_owned()),
            Ok(n) => handshake.received(&read[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && now < *deadline => return Step::Blocked,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return self.handshake_timed_out(now),
            Err(e) => return self.link_failed(e.into(), now),
        };
        match next {
            Ok(Next::Read) => Step::Progress,
            Ok(Next::Send(ping)) => {
                *outbox = ping;
                Step::Progress
            }
            Ok(Next::Done) => {
                let Link::Handshaking { conn, .. } = std::mem::replace(&mut self.link, Link::Down) else {
                    return Step::Blocked;
                };
                self.link_up(conn, now);
                Step::Progress
            }
            Err(reason) => self.link_failed(SendError::Handshake(reason), now),
        }
    }

    fn handshake_timed_out(&mut self, now: Instant) -> Step {
        let timeout = self.options().base.timeout;
        self.link_failed(SendError::Handshake(format!("no handshake from the server within {timeout:?}")), now)
    }

    fn link_up(&mut self, conn: Connection, now: Instant) {
        self.servers.succeeded(self.current);
        if self.ever_connected {
            Counters::add_exclusive(&self.shared.counters.worker.reconnects, 1);
        }
        self.ever_connected = true;
        self.last_progress = now;
        self.last_write = now;
        self.in_flight.reset();
        self.pending.connection_lost();
        self.ack_buf.clear();
        self.link = Link::Up { conn, completed: 0 };
    }

    /// The connection failed: back off, then write the front request whole
    /// again on a new one.
    fn link_failed(&mut self, error: SendError, now: Instant) -> Step {
        self.count_lost_in_flight();
        self.link = Link::Down;
        self.failing = true;
        self.pending.connection_lost();
        let refused_us = matches!(error, SendError::Tls(_) | SendError::Handshake(_));
        self.servers.failed(self.current, now, refused_us);
        Counters::add_exclusive(&self.shared.counters.worker.connection_errors, 1);
        self.shared.set_last_error(error);
        Step::Blocked
    }

    /// Whether the next request waits for the server to close the
    /// connection that carried the last one (a server that closes after
    /// each request; see `ServerSet::reset_after_request`).
    fn awaiting_server_close(&self) -> bool {
        matches!(self.link, Link::Up { completed, .. } if completed > 0)
            && self.pending.front_untouched()
            && self.pending.unwritten().is_some()
            && self.servers.one_request_per_connection(self.current)
            && Instant::now() < self.last_progress + CLOSE_WAIT
    }

    /// The server reset a connection that had carried a request. What that
    /// means depends on what the server showed before (see
    /// `ServerSet::reset_after_request`): a close after a request (Fluentd's
    /// `deny_keepalive`) reconnects at once, without backoff; from a server
    /// that keeps connections alive it is a failure. Without acks, a reset
    /// may have cut requests the server had not read: requests written
    /// behind the first, or the one request of a connection that the server
    /// aborted rather than closed. That counts as a connection error, so
    /// the loss is not silent.
    fn server_reset(&mut self, now: Instant) -> Step {
        let since_request = now.saturating_duration_since(self.last_progress);
        let cut = match self.servers.reset_after_request(self.current, since_request) {
            ResetAfterRequest::Closed => (self.in_flight.requests() > 1).then_some("requests written behind it"),
            ResetAfterRequest::Aborted => (self.in_flight.requests() > 0).then_some("the request"),
            ResetAfterRequest::Failed => {
                let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the server reset the connection");
                return self.link_failed(error.into(), now);
            }
        };
        if let Some(what) = cut {
            Counters::add_exclusive(&self.shared.counters.worker.connection_errors, 1);
            self.shared.set_last_error(SendError::Io {
                kind: std::io::ErrorKind::ConnectionReset,
                message: format!("the server reset the connection after a request: without acks, {what} may be lost"),
            });
        }
        self.link_closed_normally();
        Step::Progress
    }

    /// The server closed a connection that had done its work, or we leave
    /// a standby for a primary: reconnect at once. Nothing counts as lost in
    /// flight: our close is graceful, so the kernel still delivers what it
    /// holds to a server that reads on.
    fn link_closed_normally(&mut self) {
        self.in_flight.reset();
        self.link = Link::Down;
        self.pending.connection_lost();
    }

    /// Before a connection is dropped: counts the events written whole on
    /// it whose bytes the peer's TCP has not acknowledged (when the kernel
    /// says). Ack mode sends those again, and records none.
    fn count_lost_in_flight(&mut self) {
        let Link::Up { conn, .. } = &self.link else { return };
        if self.in_flight.is_empty() {
            // Ack mode, or nothing written whole yet: no table to read.
            return;
        }
        let lost = unacked_bytes(&conn.as_fd()).map_or(0, |unacked| self.in_flight.lost(unacked));
        self.in_flight.reset();
        Counters::add_exclusive(&self.shared.counters.worker.lost_in_flight, lost);
    }

    /// The front request is written whole: done, or (ack mode) wait for
    /// its ack.
    fn written_whole(&mut self, now: Instant) {
        let Some(front) = self.pending.front() else { return };
        let counters = &self.shared.counters.worker;
        Counters::add_exclusive(&counters.written, front.events);
        Counters::add_exclusive(&counters.bytes_sent, front.bytes.len() as u64);
        if front.chunk.is_some() {
            self.pending.await_ack(now + self.options().ack_timeout);
        } else {
            self.in_flight.request_done(front.events);
            self.complete_front(now);
        }
    }

    /// The front request is delivered (written, or acknowledged).
    fn complete_front(&mut self, now: Instant) {
        let Some(done) = self.pending.pop_front() else { return };
        let counters = &self.shared.counters.worker;
        Counters::add_exclusive(&counters.sent, done.events);
        if done.chunk.is_some() {
            Counters::add_exclusive(&counters.acked, done.events);
        }
        if done.loss_report > 0 {
            Counters::add_exclusive(&counters.loss_reports, 1);
        }
        self.last_progress = now;
        self.failing = false;
        if let Link::Up { completed, .. } = &mut self.link {
            *completed += 1;
        }
    }

    /// Reads the server's replies until the front request's ack.
    fn read_ack(&mut self, now: Instant) -> Step {
        let Link::Up { conn, completed } = &mut self.link else { return Step::Blocked };
        let reused = *completed > 0;
        let mut read = [0u8; 512];
        match conn.read_some(&mut read) {
            Ok(0) if reused => {
                // Fluentd with `deny_keepalive` closes after each ack; the
                // close can overtake our check before the next request.
                self.link_closed_normally();
                Step::Progress
            }
            Ok(0) => self.link_failed(timed_out("the server closed the connection before acking"), now),
            Ok(n) => {
                self.ack_buf.extend_from_slice(&read[..n]);
                self.take_acks(now)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if self.pending.ack_due().is_some_and(|due| now >= due) {
                    return self.link_failed(timed_out("no ack for the chunk before the ack timeout"), now);
                }
                Step::Blocked
            }
            Err(e) if reused && is_reset(&e) => self.server_reset(now),
            Err(e) => self.link_failed(e.into(), now),
        }
    }

    /// Looks through the replies read so far for the front request's ack.
    fn take_acks(&mut self, now: Instant) -> Step {
        let mut decoder = FrameDecoder::new(Limits { max_frame_len: 64 * 1024, max_depth: 4 });
        loop {
            let next = match decoder.next_value_len(&self.ack_buf) {
                Ok(next) => next,
                Err(e) => return self.link_failed(timed_out(&format!("unreadable reply from the server: {e}")), now),
            };
            let Some(n) = next else { return Step::Progress };
            let reply: Vec<u8> = self.ack_buf.drain(..n).collect();
            let ours = self.pending.front().and_then(|p| p.chunk.as_ref()).map(|c| c.as_str().to_owned());
            if parse_ack(&reply).is_ok_and(|id| Some(id) == ours.as_deref()) {
                self.complete_front(now);
                return Step::Progress;
            }
            // A reply for another chunk: not ours; keep waiting.
        }
    }

    /// Waits until something can be done: an emit's wake-up, the
    /// connection's readiness, or the nearest deadline.
    fn wait(&mut self, close_deadline: Option<Instant>) {
        let now = Instant::now();
        let mut timeout = IDLE;
        let until = |timeout: &mut Duration, t: Instant| *timeout = (*timeout).min(t.saturating_duration_since(now));
        let (socket, interest) = match &self.link {
            Link::Down => {
                if !self.pending.is_empty() {
                    until(&mut timeout, now + self.servers.wait_left(now).unwrap_or(Duration::ZERO));
                }
                (None, PollFlags::empty())
            }
            Link::Resolving { deadline, .. } => {
                until(&mut timeout, *deadline);
                (None, PollFlags::empty())
            }
            Link::Connecting { conn, deadline, .. } => {
                until(&mut timeout, *deadline);
                (Some(conn), PollFlags::OUT)
            }
            Link::Securing { conn, deadline } => {
                until(&mut timeout, *deadline);
                (Some(conn), conn.interest(PollFlags::IN))
            }
            Link::Handshaking { conn, outbox, deadline, .. } => {
                until(&mut timeout, *deadline);
                (Some(conn), conn.interest(if outbox.is_empty() { PollFlags::IN } else { PollFlags::OUT }))
            }
            Link::Up { conn, .. } => match self.pending.ack_due() {
                Some(due) => {
                    until(&mut timeout, due);
                    if conn.tls_backlog() {
                        until(&mut timeout, self.last_write + self.options().base.timeout);
                    }
                    (Some(conn), conn.interest(PollFlags::IN))
                }
                None if self.awaiting_server_close() => {
                    until(&mut timeout, self.last_progress + CLOSE_WAIT);
                    (Some(conn), PollFlags::IN)
                }
                None if self.pending.unwritten().is_some() || conn.tls_backlog() => {
                    until(&mut timeout, self.last_write + self.options().base.timeout);
                    (Some(conn), PollFlags::OUT)
                }
                None => {
                    if let Some(idle) = self.options().keepalive_timeout {
                        until(&mut timeout, self.last_write + idle);
                    }
                    (None, PollFlags::empty())
                }
            },
        };
        if !self.pending.is_empty() && !self.unavailable(now) {
            // Draining resumes in full when the server counts as unavailable.
            until(&mut timeout, self.last_progress + self.options().stall_timeout);
        }
        if let Some(deadline) = close_deadline {
            until(&mut timeout, deadline);
        }
        if let Some(due) = self.spare_due {
            until(&mut timeout, due);
        }
        let idle = self.pending.is_empty();
        if idle && self.naps < NAPS {
            // Probably a pause within a burst: look again soon, unannounced.
            self.naps += 1;
            timeout = timeout.min(NAP);
        } else if idle && now.saturating_duration_since(self.busy_at) < DOZING_FOR {
            // A pause: look again within `DOZE`, woken early only by an emit
            // blocked for room (its heavy fence pairs with this light one,
            // `Shared::wake_for_room`).
            timeout = timeout.min(DOZE);
            self.shared.sleeping.store(DOZING, Ordering::Relaxed);
            crate::asymmetric_fence::light();
        } else {
            // Announce the wait, so that emits wake us. With nothing to do,
            // the heavy fence pairs with every emit's light one; otherwise
            // (waiting for the connection or a deadline) only with a blocked
            // emit's heavy one.
            self.shared.sleeping.store(ASLEEP, Ordering::Relaxed);
            if idle {
                crate::asymmetric_fence::heavy();
            } else {
                crate::asymmetric_fence::light();
            }
            if self.queued_events() > 0 && self.drain_budget(Instant::now(), close_deadline.is_some()) > 0 {
                timeout = Duration::ZERO;
            }
        }
        let waker = PollFd::from_borrowed_fd(self.shared.waker.fd(), PollFlags::IN);
        let mut fds = [waker, PollFd::from_borrowed_fd(self.shared.waker.fd(), PollFlags::empty())];
        let count = match socket {
            Some(conn) => {
                fds[1] = PollFd::new(conn, interest);
                2
            }
            None => 1,
        };
        let mut woken = false;
        if !timeout.is_zero() {
            let ts = Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
            woken = poll(&mut fds[..count], Some(&ts)).is_ok() && fds[0].revents().contains(PollFlags::IN);
        }
        if woken {
            // Woken by an emit: the scheduler may have put us on its core,
            // ahead of it (a young thread's first emit waited ~150 µs for our
            // whole turn). Let it finish its emit first.
            std::thread::yield_now();
        }
        self.shared.sleeping.store(AWAKE, Ordering::Relaxed);
        self.shared.waker.clear();
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe)
}

fn timed_out(message: &str) -> SendError {
    SendError::Io { kind: std::io::ErrorKind::TimedOut, message: message.to_owned() }
}
