//! A rustls client session over a socket, blocking or not: the same calls
//! serve the synchronous sender (blocking socket with timeouts) and the
//! worker (non-blocking socket, `WouldBlock` when the socket is not ready).

use std::fmt;
use std::io::{self, Read, Write};

use rustls::ClientConnection;
use socket2::Socket;

/// A TLS failure (bad certificate, alert, protocol error), carried inside an
/// `io::Error` so that `SendError::from` can tell it apart.
#[derive(Debug)]
pub(crate) struct TlsFailure(pub(crate) String);

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

pub(crate) fn failure(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TlsFailure(message.into()))
}

/// Writes the session's pending records: `Ok` once all are with the kernel,
/// `WouldBlock` when the socket takes no more now.
pub(crate) fn flush(tls: &mut ClientConnection, mut socket: &Socket) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(&mut socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads records from the socket into the session and processes them:
/// `Ok(false)` at the end of the stream.
fn receive(tls: &mut ClientConnection, mut socket: &Socket) -> io::Result<bool> {
    let n = loop {
        match tls.read_tls(&mut socket) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break other?,
        }
    };
    if let Err(e) = tls.process_new_packets() {
        // Tell the server why (the alert rustls queued), then fail.
        let _ = flush(tls, socket);
        return Err(failure(format!("TLS: {e}")));
    }
    Ok(n > 0)
}

/// One round of the TLS handshake: `Ok(true)` once it is complete,
/// `WouldBlock` while it waits for the socket.
pub(crate) fn handshake(tls: &mut ClientConnection, socket: &Socket) -> io::Result<bool> {
    loop {
        flush(tls, socket)?;
        if !tls.is_handshaking() {
            return Ok(true);
        }
        if !receive(tls, socket)? {
            return Err(failure("the server closed the connection during the TLS handshake"));
        }
    }
}

/// Takes `bytes` into the session and writes what the socket takes:
/// `WouldBlock` (nothing taken) while earlier records are still waiting.
pub(crate) fn write(tls: &mut ClientConnection, socket: &Socket, bytes: &[u8]) -> io::Result<usize> {
    flush(tls, socket)?;
    let n = tls.writer().write(bytes)?;
    if n == 0 && !bytes.is_empty() {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    match flush(tls, socket) {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(n),
    }
}

/// Reads plaintext: `Ok(0)` when the server closed the connection (with or
/// without `close_notify`), `WouldBlock` when nothing has arrived.
pub(crate) fn read(tls: &mut ClientConnection, socket: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match tls.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if !receive(tls, socket)? {
            // End of stream: whatever the session still holds, then 0.
            return match tls.reader().read(buf) {
                Ok(n) => Ok(n),
                Err(_) => Ok(0),
            };
        }
        // Replies the session must send (key updates) go out as they come.
        match flush(tls, socket) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
    }
}
