//! A TLS client connection as a [`Stream`]: rustls over a tokio
//! `TcpStream`, driven by the same readiness calls as a plain socket. The
//! TLS handshake happens in the first reads, inside the connection's own
//! task, timed like a frame in progress, so a client stalling its handshake
//! holds up no one else and is closed after the frame timeout.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use rustls::{ServerConfig, ServerConnection};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use crate::stream::Stream;

/// Bytes of plaintext handed out per read at most.
const PLAIN_CHUNK: usize = 64 * 1024;

pub(crate) struct TlsStream {
    tcp: TcpStream,
    /// Only this connection's task uses it; the lock satisfies `Sync` for
    /// the `&self` readiness calls.
    inner: Mutex<Inner>,
}

struct Inner {
    session: ServerConnection,
    /// Bytes read from the socket in one call, fed to the session from
    /// memory (rustls takes 4 KiB per `read_tls`); `staged[at..]` is left.
    /// Released when the socket has nothing more to read.
    staged: Vec<u8>,
    at: usize,
}

impl TlsStream {
    pub(crate) fn new(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Self> {
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream { tcp, inner: Mutex::new(Inner { session, staged: Vec::new(), at: 0 }) })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes the socket gives per read at most.
const STAGE: usize = 32 * 1024;

impl Inner {
    /// Gives the session more TLS bytes: from what is staged, or from one
    /// socket read. `Ok(0)` at the end of the stream.
    fn receive(&mut self, tcp: &TcpStream) -> io::Result<usize> {
        if self.at == self.staged.len() {
            self.staged.clear();
            self.at = 0;
            self.staged.resize(STAGE, 0);
            let n = match tcp.try_read(&mut self.staged) {
                Ok(n) => n,
                Err(e) => {
                    self.staged = Vec::new();
                    return Err(e);
                }
            };
            self.staged.truncate(n);
            if n == 0 {
                self.staged = Vec::new();
                return Ok(0);
            }
        }
        let n = self.session.read_tls(&mut &self.staged[self.at..])?;
        self.at += n;
        if self.at == self.staged.len() {
            // Used up: kept for the next read (released when the socket
            // has nothing more, above).
            self.staged.clear();
            self.at = 0;
        }
        Ok(n)
    }
}

/// The socket as `io::Read`/`io::Write` that never waits.
struct NonBlocking<'a>(&'a TcpStream);

impl Read for NonBlocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for NonBlocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the session's pending records without waiting: `WouldBlock`
/// when the socket takes no more now.
fn flush(session: &mut ServerConnection, tcp: &TcpStream) -> io::Result<()> {
    while session.wants_write() {
        if session.write_tls(&mut NonBlocking(tcp))? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl Stream for TlsStream {
    /// A handshake not yet complete gets a frame's time, not the idle
    /// timeout: a client cannot hold a connection by stalling it.
    fn unfinished(&self) -> bool {
        self.inner().session.is_handshaking()
    }

    async fn readable(&self) -> io::Result<()> {
        // Handshake replies that did not fit the socket go first.
        while self.inner().session.wants_write() {
            self.tcp.writable().await?;
            let flushed = flush(&mut self.inner().session, &self.tcp);
            match flushed {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
        self.tcp.readable().await
    }

    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut inner = self.inner();
        let inner = &mut *inner;
        let mut total = 0;
        loop {
            let state = match inner.session.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    // Tell the client why (the alert rustls queued).
                    let _ = flush(&mut inner.session, &self.tcp);
                    return Err(tls_error(e));
                }
            };
            let available = state.plaintext_bytes_to_read();
            let room = (buf.capacity() - buf.len()).min(PLAIN_CHUNK - total);
            if available > 0 && room > 0 {
                let start = buf.len();
                buf.resize(start + available.min(room), 0);
                let n = inner.session.reader().read(&mut buf[start..])?;
                buf.truncate(start + n);
                total += n;
                continue;
            }
            if available > 0 || total >= PLAIN_CHUNK / 2 || state.peer_has_closed() {
                return Ok(total);
            }
            // Handshake messages and alerts go out as they are made.
            match flush(&mut inner.session, &self.tcp) {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
            match inner.receive(&self.tcp) {
                // The end of the stream (with or without close_notify).
                Ok(0) => return Ok(total),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_flush_records(this, cx))?;
        let n = this.inner().session.writer().write(buf)?;
        // Push out what the socket takes now; the rest goes with the flush.
        match flush(&mut this.inner().session, &this.tcp) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_records(self.get_mut(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.inner().session.send_close_notify();
        ready!(poll_flush_records(this, cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

/// Writes the pending records, waiting for the socket as needed.
fn poll_flush_records(this: &mut TlsStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    loop {
        match flush(&mut this.inner().session, &this.tcp) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(this.tcp.poll_write_ready(cx))?,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}
