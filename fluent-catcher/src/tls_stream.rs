//! A TLS client connection as a [`Stream`]: rustls over a tokio
//! `TcpStream`, driven by the same readiness calls as a plain socket. The
//! TLS handshake happens in the first reads, inside the connection's own
//! task and under its idle timeout, so a client stalling its handshake holds
//! up no one else.

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
    session: Mutex<ServerConnection>,
}

impl TlsStream {
    pub(crate) fn new(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Self> {
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream { tcp, session: Mutex::new(session) })
    }

    fn session(&self) -> MutexGuard<'_, ServerConnection> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
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
    async fn readable(&self) -> io::Result<()> {
        // Handshake replies that did not fit the socket go first.
        while self.session().wants_write() {
            self.tcp.writable().await?;
            let flushed = flush(&mut self.session(), &self.tcp);
            match flushed {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
        self.tcp.readable().await
    }

    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut session = self.session();
        let session = &mut *session;
        loop {
            let start = buf.len();
            let room = (buf.capacity() - start).clamp(1, PLAIN_CHUNK);
            buf.resize(start + room, 0);
            let read = session.reader().read(&mut buf[start..]);
            buf.truncate(start + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(n) => return Ok(n),
                // The client closed without close_notify: an end all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let received = session.read_tls(&mut NonBlocking(&self.tcp))?;
            let processed = session.process_new_packets();
            // Handshake messages and alerts go out as they are made.
            match flush(session, &self.tcp) {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
            processed.map_err(tls_error)?;
            if received == 0 {
                // The end of the stream, and no plaintext left before it.
                return Ok(0);
            }
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_flush_records(this, cx))?;
        let n = this.session().writer().write(buf)?;
        // Push out what the socket takes now; the rest goes with the flush.
        match flush(&mut this.session(), &this.tcp) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_records(self.get_mut(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.session().send_close_notify();
        ready!(poll_flush_records(this, cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

/// Writes the pending records, waiting for the socket as needed.
fn poll_flush_records(this: &mut TlsStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    loop {
        match flush(&mut this.session(), &this.tcp) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(this.tcp.poll_write_ready(cx))?,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}
