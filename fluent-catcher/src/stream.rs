//! A client connection's byte stream, whichever listener it came from, and
//! the read buffer every protocol handler shares.
//!
//! The buffer is allocated only while bytes are arriving and released when
//! the connection goes quiet with nothing pending, so ten thousand idle
//! connections cost little more than their sockets.

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

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
    /// The catcher is shutting down and no request is half received.
    Shutdown,
}

/// A readable and writable client socket.
pub(crate) trait Stream: AsyncWrite + Unpin + Send + 'static {
    /// Waits until a read would not block.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads what is available into `buf`'s spare capacity.
    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize>;
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

/// Bytes read per system call at most.
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
}

impl<S: Stream> Conn<S> {
    pub(crate) fn new(stream: S, shared: Arc<Shared>) -> Self {
        let shutdown = shared.shutdown.clone();
        Conn { stream, buf: Vec::new(), pos: 0, shared, events: 0, bytes: 0, acks: 0, shutdown, orphaned: false }
    }

    /// The unconsumed bytes.
    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Marks `n` more bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Reads more bytes, waiting as long as the idle timeout allows (or the
    /// shutdown grace, once shutdown has begun).
    pub(crate) async fn fill(&mut self) -> io::Result<Filled> {
        loop {
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.drain(..self.pos);
                self.pos = 0;
                self.buf.reserve(READ_CHUNK);
            }
            match self.stream.try_read_buf(&mut self.buf) {
                Ok(0) => return Ok(Filled::Eof),
                Ok(n) => {
                    self.bytes += n as u64;
                    self.shared.stats.bytes_received.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    return Ok(Filled::Data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let partial = self.pos < self.buf.len();
            if !partial {
                // Quiet and nothing pending: give the memory back.
                self.buf = Vec::new();
                self.pos = 0;
            }
            let shutting_down = self.orphaned || *self.shutdown.borrow();
            if shutting_down && !partial {
                return Ok(Filled::Shutdown);
            }
            let wait =
                if shutting_down { self.shared.config.shutdown_grace } else { self.shared.config.limits.idle_timeout };
            tokio::select! {
                ready = self.stream.readable() => ready?,
                () = tokio::time::sleep(wait) => return Ok(Filled::Idle),
                changed = self.shutdown.changed(), if !shutting_down => self.orphaned |= changed.is_err(),
            }
        }
    }

    /// Writes a reply (ack, handshake message).
    pub(crate) async fn reply(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }
}
