//! A client connection's byte stream, whichever listener it came from, and
//! the read buffer every protocol handler shares.
//!
//! The buffer is allocated only while bytes are arriving and released when
//! the connection goes quiet with nothing pending, so ten thousand idle
//! connections cost little more than their sockets.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::memory::Lease;
use crate::server::Shared;

/// What [`Conn::fill`] ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filled {
    /// New bytes are in the buffer.
    Data,
    /// The peer closed its side.
    Eof,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// A frame was not completed within its time (see
    /// `Limits::frame_timeout`).
    Slow,
    /// The catcher is shutting down and no request is half received.
    Shutdown,
    /// The read buffer budget had no room for the frame in progress
    /// within the frame timeout.
    NoMemory,
}

/// A readable and writable client socket.
pub(crate) trait Stream: AsyncWrite + Unpin + Send + 'static {
    /// Waits until a read would not block.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads what is available into `buf`'s spare capacity.
    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize>;
    /// Whether the stream itself is part-way through something the client
    /// must finish (a TLS handshake): timed like a frame in progress.
    fn unfinished(&self) -> bool {
        false
    }
}

impl Stream for TcpStream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        TcpStream::readable(self)
    }

    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        TcpStream::try_read_buf(self, buf)
    }
}

impl Stream for UnixStream {
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        UnixStream::readable(self)
    }

    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        UnixStream::try_read_buf(self, buf)
    }
}

/// Bytes read per system call at most; also what each connection's buffer
/// may hold without leasing from `Limits::buffer_memory`.
const READ_CHUNK: usize = 64 * 1024;

/// One client connection: stream, buffer, counters.
pub(crate) struct Conn<S> {
    pub(crate) stream: S,
    /// Received bytes; `buf[pos..]` is not yet consumed.
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: u64,
    pub(crate) bytes: u64,
    pub(crate) acks: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The shutdown signal's sender is gone: treat as shutting down.
    orphaned: bool,
    /// When the frame in progress started (after the last complete one),
    /// and its bytes received so far.
    partial_since: Option<tokio::time::Instant>,
    partial_bytes: usize,
    /// What the buffer holds of `Limits::buffer_memory` (its capacity
    /// beyond [`READ_CHUNK`]).
    buffer_lease: Lease,
    /// What the connection holds of `Limits::decode_memory` between rounds
    /// (see [`crate::memory`]).
    pub(crate) lease: Lease,
}

impl<S: Stream> Conn<S> {
    pub(crate) fn new(stream: S, shared: Arc<Shared>) -> Self {
        let shutdown = shared.shutdown.clone();
        let (buffer_lease, lease) = (Lease::new(&shared.buffer_memory), Lease::new(&shared.decode_memory));
        Conn {
            stream,
            buf: Vec::new(),
            pos: 0,
            shared,
            events: 0,
            bytes: 0,
            acks: 0,
            shutdown,
            orphaned: false,
            partial_since: None,
            partial_bytes: 0,
            buffer_lease,
            lease,
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Marks `n` more bytes as consumed: a frame is complete, so the next
    /// one's time starts now.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        self.partial_since = None;
    }

    /// Reads more bytes, waiting as long as the idle timeout allows (or the
    /// shutdown grace, once shutdown has begun).
    pub(crate) async fn fill(&mut self) -> io::Result<Filled> {
        loop {
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.drain(..self.pos);
                self.pos = 0;
                if !self.make_room().await {
                    return Ok(Filled::NoMemory);
                }
            }
            match self.stream.try_read_buf(&mut self.buf) {
                Ok(0) => return Ok(Filled::Eof),
                Ok(n) => {
                    self.bytes += n as u64;
                    self.partial_bytes += n;
                    self.shared.stats.bytes_received.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    return Ok(Filled::Data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let partial = self.pos < self.buf.len() || self.stream.unfinished();
            if !partial {
                // Quiet and nothing pending: give the memory back (and the
                // next frame's time starts with its first byte).
                self.partial_since = None;
                self.buf = Vec::new();
                self.pos = 0;
                self.buffer_lease.shrink_to(0);
            }
            let shutting_down = self.orphaned || *self.shutdown.borrow();
            if shutting_down && !partial {
                return Ok(Filled::Shutdown);
            }
            let limits = &self.shared.config.limits;
            let now = tokio::time::Instant::now();
            // A frame's time runs from the end of the previous one, not
            // from its last byte: trickling bytes does not keep it alive.
            let frame_deadline = if partial {
                let since = *self.partial_since.get_or_insert_with(|| {
                    self.partial_bytes = self.buf.len() - self.pos;
                    now
                });
                let allowance = Duration::from_secs_f64(self.partial_bytes as f64 / limits.min_data_rate.max(1) as f64);
                Some(since + limits.frame_timeout + allowance)
            } else {
                None
            };
            let idle = now + if shutting_down { self.shared.config.shutdown_grace } else { limits.idle_timeout };
            let (deadline, outcome) = match frame_deadline {
                Some(frame) if frame < idle && !shutting_down => (frame, Filled::Slow),
                _ => (idle, Filled::Idle),
            };
            tokio::select! {
                ready = self.stream.readable() => ready?,
                () = tokio::time::sleep_until(deadline) => return Ok(outcome),
                changed = self.shutdown.changed(), if !shutting_down => self.orphaned |= changed.is_err(),
            }
        }
    }

    /// Makes room for one more read chunk, doubling the buffer (up to the
    /// largest frame) with its bytes beyond the first chunk leased first;
    /// waits at most the frame timeout for them. False when they did not
    /// come.
    async fn make_room(&mut self) -> bool {
        let want = self.buf.len() + READ_CHUNK;
        if want <= self.buf.capacity() {
            return true;
        }
        let limits = &self.shared.config.limits;
        let largest = limits.max_frame_len.max(limits.max_pickle_len.saturating_add(4)).saturating_add(READ_CHUNK);
        let target = self.buf.capacity().saturating_mul(2).min(largest).max(want);
        let lease = target - READ_CHUNK;
        if !self.buffer_lease.try_grow_to(lease) {
            let timeout = limits.frame_timeout;
            if !matches!(tokio::time::timeout(timeout, self.buffer_lease.grow_to(lease)).await, Ok(true)) {
                return false;
            }
        }
        self.buf.reserve_exact(target - self.buf.len());
        true
    }

    /// Writes a reply (ack, handshake message).
    pub(crate) async fn reply(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }
}
