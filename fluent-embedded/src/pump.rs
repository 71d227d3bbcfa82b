//! The pump half: drains whole frames into a transport, one PackedForward
//! request per run of one tag, releasing frames only once their request is
//! written (and, in ack mode, acknowledged).

use core::ops::Deref;

use embedded_io::{Read, Write};
use fluent_proto::ChunkId;
use fluent_queue::{Consumer, ReadGrant, Storage};

use crate::error::PumpError;
use crate::frame;
use crate::request::{ACK_BUFFER, AckState, Framing, Run, ack_decoder, check_ack, chunk_id, plan};

/// What the pump did, cumulatively.
///
/// ```
/// assert_eq!(fluent_embedded::PumpCounters::default().events, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PumpCounters {
    /// Requests written completely (and acked, in ack mode).
    pub requests: u64,
    /// Events in those requests.
    pub events: u64,
    /// Bytes of those requests.
    pub bytes: u64,
    /// Requests cut by a transport error (their events stay queued and go
    /// out again on the next connection).
    pub failed_requests: u64,
    /// Connection resets ([`Pump::connection_reset`]).
    pub connections: u64,
    /// Frames that were not this crate's layout (skipped and released).
    pub invalid_frames: u64,
}

/// One call's work.
///
/// ```
/// assert_eq!(fluent_embedded::Pumped::default().requests, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Pumped {
    /// Requests written.
    pub requests: usize,
    /// Events in them.
    pub events: usize,
}

/// The pump half of the embedded sender: the std worker's job, without a
/// thread. Call [`pump`](Pump::pump) from the main loop (or a task) with a
/// connection; it sends every event queued so far and returns.
///
/// A transport error stops the call: the request that was being written is
/// not released (it goes out again, whole, on the next connection), and
/// the pump refuses the broken connection ([`PumpError::NeedsReconnect`])
/// until [`connection_reset`](Pump::connection_reset) says a new one is in
/// place. So within one connection no frame is lost or sent twice; across
/// a reconnect, a request cut mid-way is resent (at-least-once), and in ack
/// mode only unacknowledged requests are.
///
/// ```
/// use fluent_embedded::{FluentProducer, Pump};
/// use fluent_proto::EventTime;
/// use fluent_queue::{Mode, Ring};
///
/// static RING: Ring<1024, 16> = Ring::new(Mode::Block);
/// let (producer, consumer) = RING.try_split().unwrap();
/// let mut producer = FluentProducer::new(producer, "dev", || EventTime::new(1_700_000_000, 0));
/// let mut pump = Pump::new(consumer);
/// producer.emit("boot", &[("ok", true)].into_iter().collect::<std::collections::BTreeMap<_, _>>())?;
/// let mut wire = [0u8; 256];
/// let mut transport: &mut [u8] = &mut wire; // any embedded_io::Write
/// let done = pump.pump(&mut transport)?;
/// assert_eq!((done.requests, done.events), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pump<R> {
    consumer: Consumer<R>,
    max_events_per_request: usize,
    chunk_seed: [u8; 8],
    chunk_counter: u64,
    broken: bool,
    counters: PumpCounters,
}

impl<R> Pump<R>
where
    R: Deref,
    R::Target: Storage,
{
    /// A pump draining `consumer`; at most 256 events per request.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = p;
    /// let pump = fluent_embedded::Pump::new(c);
    /// assert_eq!(pump.counters().requests, 0);
    /// ```
    pub fn new(consumer: Consumer<R>) -> Self {
        Pump {
            consumer,
            max_events_per_request: 256,
            chunk_seed: [0; 8],
            chunk_counter: 0,
            broken: false,
            counters: PumpCounters::default(),
        }
    }

    /// At most `events` events per request (at least 1).
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<256, 4> = Ring::new(Mode::Block);
    /// # let (_p, c) = RING.try_split().unwrap();
    /// let _pump = fluent_embedded::Pump::new(c).max_events_per_request(32);
    /// ```
    pub fn max_events_per_request(mut self, events: usize) -> Self {
        self.max_events_per_request = events.max(1);
        self
    }

    /// The seed of ack-mode chunk ids (make it unique per device, e.g. from
    /// its serial number): ids are the seed and a counter, base64.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<256, 4> = Ring::new(Mode::Block);
    /// # let (_p, c) = RING.try_split().unwrap();
    /// let _pump = fluent_embedded::Pump::new(c).chunk_seed(*b"dev-0042");
    /// ```
    pub fn chunk_seed(mut self, seed: [u8; 8]) -> Self {
        self.chunk_seed = seed;
        self
    }

    /// Says the next call writes to a new connection.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = p;
    /// let mut pump = fluent_embedded::Pump::new(c);
    /// pump.connection_reset();
    /// assert!(!pump.is_broken());
    /// ```
    pub fn connection_reset(&mut self) {
        self.broken = false;
        self.counters.connections += 1;
    }

    /// Whether the last error broke the connection.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = p;
    /// assert!(!fluent_embedded::Pump::new(c).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Cumulative counters.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = p;
    /// assert_eq!(fluent_embedded::Pump::new(c).counters().failed_requests, 0);
    /// ```
    pub fn counters(&self) -> PumpCounters {
        self.counters
    }

    /// The ring's counters (committed, consumed, evicted, queued).
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// # let _ = p;
    /// assert_eq!(fluent_embedded::Pump::new(c).queue_counters().frames, 0);
    /// ```
    pub fn queue_counters(&self) -> fluent_queue::Counters {
        self.consumer.counters()
    }

    /// Sends every queued event through `transport`, without acks.
    ///
    /// ```
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// let mut pump = fluent_embedded::Pump::new(c);
    /// producer.emit("up", &std::collections::BTreeMap::from([("ok", true)]))?;
    /// let mut sink = Vec::new(); // any embedded_io::Write
    /// assert_eq!(pump.pump(&mut sink).unwrap().events, 1);
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    ///
    /// # Errors
    /// [`PumpError`]; see the type's docs for what stays queued.
    pub fn pump<W: Write>(&mut self, transport: &mut W) -> Result<Pumped, PumpError<W::Error>> {
        run_blocking(
            self.drain(false, async |grant, tag, run, framing, _chunk| {
                write_request(transport, grant, tag, run, framing)
            }),
        )
    }

    /// Sends every queued event through `transport`, one request at a time,
    /// each released only after the server's `{"ack": chunk}` is read back
    /// from the same transport (at-least-once delivery; a request that is
    /// not acknowledged is resent with the same chunk id on the next
    /// connection).
    ///
    /// In overwrite mode the request awaiting its ack stays in the ring and
    /// cannot be evicted: while it holds the oldest room, an emit that needs
    /// that room is refused with [`EmitError::Busy`](crate::EmitError::Busy)
    /// (counted), not given room by dropping unacked events.
    ///
    /// ```
    /// use fluent_embedded::{Pump, PumpError};
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// let mut pump = Pump::new(c);
    /// producer.emit("up", &std::collections::BTreeMap::from([("ok", true)]))?;
    /// /// A peer that reads but never answers.
    /// struct Mute(Vec<u8>);
    /// impl embedded_io::ErrorType for Mute { type Error = core::convert::Infallible; }
    /// impl embedded_io::Write for Mute {
    ///     fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> { self.0.extend_from_slice(b); Ok(b.len()) }
    ///     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// }
    /// impl embedded_io::Read for Mute {
    ///     fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> { Ok(0) }
    /// }
    /// assert_eq!(pump.pump_acked(&mut Mute(Vec::new())), Err(PumpError::NoAck));
    /// assert_eq!(pump.queue_counters().frames, 1, "not acked: still queued");
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    ///
    /// # Errors
    /// [`PumpError`]; see the type's docs for what stays queued.
    pub fn pump_acked<T: Read + Write>(&mut self, transport: &mut T) -> Result<Pumped, PumpError<T::Error>> {
        run_blocking(self.drain(true, async |grant, tag, run, framing, chunk| {
            write_request(transport, grant, tag, run, framing)?;
            match chunk {
                Some(chunk) => read_ack(transport, chunk),
                None => Ok(()),
            }
        }))
    }

    /// The loop every pump shares, blocking or async: plan a run, frame it,
    /// send it, release it; stop at the first error (marking the connection
    /// broken). `send` does the transport's I/O.
    pub(crate) async fn drain<E>(
        &mut self,
        acked: bool,
        mut send: impl AsyncFnMut(&ReadGrant<'_, R>, &str, &Run, &Framing, Option<&ChunkId>) -> Result<(), PumpError<E>>,
    ) -> Result<Pumped, PumpError<E>> {
        if self.broken {
            return Err(PumpError::NeedsReconnect);
        }
        let mut done = Pumped::default();
        loop {
            let chunk = acked.then(|| chunk_id(self.chunk_seed, self.chunk_counter));
            let Some((grant, run)) = next_run(&mut self.consumer, self.max_events_per_request, &mut self.counters)
            else {
                return Ok(done);
            };
            let tag = frame::split(grant.frame(0)).map(|(t, _)| t).unwrap_or_default();
            let framing = Framing::new(tag, &run, chunk.as_ref());
            let request_len = framing.request_len(tag, &run);
            match send(&grant, tag, &run, &framing, chunk.as_ref()).await {
                Ok(()) => {
                    grant.release_frames(run.frames);
                    record_sent(&mut self.counters, &mut done, &run, request_len);
                    self.chunk_counter += u64::from(acked);
                }
                Err(e) => {
                    // Dropping the grant releases nothing: the run stays
                    // queued for the next connection.
                    drop(grant);
                    self.broken = true;
                    self.counters.failed_requests += 1;
                    return Err(e);
                }
            }
        }
    }
}

/// Runs the shared loop for a blocking transport. Its `send` blocks inside
/// `poll` and never returns `Pending` (it awaits nothing that waits), so the
/// future completes in the first poll; no executor is needed.
fn run_blocking<T>(future: impl core::future::Future<Output = T>) -> T {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// The next valid run of frames and the grant holding them, skipping (and
/// counting) frames this crate did not write.
fn next_run<'c, R>(
    consumer: &'c mut Consumer<R>,
    max_events: usize,
    counters: &mut PumpCounters,
) -> Option<(ReadGrant<'c, R>, Run)>
where
    R: Deref,
    R::Target: Storage,
{
    loop {
        let grant = consumer.read()?;
        if plan(&grant, max_events).valid {
            break;
        }
        grant.release_frames(1);
        counters.invalid_frames += 1;
    }
    let grant = consumer.read()?;
    let run = plan(&grant, max_events);
    Some((grant, run))
}

fn record_sent(counters: &mut PumpCounters, done: &mut Pumped, run: &Run, request_len: usize) {
    counters.requests += 1;
    counters.events += run.frames as u64;
    counters.bytes += request_len as u64;
    done.requests += 1;
    done.events += run.frames;
}

/// Writes one request, piece by piece, the entries straight from the ring.
fn write_request<W: Write, R>(
    w: &mut W,
    grant: &ReadGrant<'_, R>,
    tag: &str,
    run: &Run,
    framing: &Framing,
) -> Result<(), PumpError<W::Error>>
where
    R: Deref,
    R::Target: Storage,
{
    write_all(w, framing.head())?;
    write_all(w, tag.as_bytes())?;
    write_all(w, framing.bin())?;
    for i in 0..run.frames {
        if let Some((_, entry)) = frame::split(grant.frame(i)) {
            write_all(w, entry)?;
        }
    }
    write_all(w, framing.options())?;
    w.flush().map_err(PumpError::Io)
}

/// Writes all of `bytes`; a write of zero bytes is `WriteZero` (the peer
/// is gone), never a panic.
pub(crate) fn write_all<W: Write>(w: &mut W, mut bytes: &[u8]) -> Result<(), PumpError<W::Error>> {
    while !bytes.is_empty() {
        match w.write(bytes) {
            Ok(0) => return Err(PumpError::WriteZero),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) => return Err(PumpError::Io(e)),
        }
    }
    Ok(())
}

/// Reads one msgpack value (the ack) and checks it names `chunk`.
fn read_ack<T: Read>(t: &mut T, chunk: &ChunkId) -> Result<(), PumpError<T::Error>> {
    let mut buf = [0u8; ACK_BUFFER];
    let mut len = 0;
    let mut decoder = ack_decoder();
    loop {
        let Some(dst) = buf.get_mut(len..) else { return Err(PumpError::BadAck) };
        match t.read(dst) {
            Ok(0) => return Err(PumpError::NoAck),
            Ok(n) => len += n,
            Err(e) => return Err(PumpError::Io(e)),
        }
        match check_ack(&mut decoder, buf.get(..len).unwrap_or_default(), chunk) {
            AckState::Incomplete => {}
            AckState::Matched => return Ok(()),
            AckState::Wrong => return Err(PumpError::BadAck),
        }
    }
}
