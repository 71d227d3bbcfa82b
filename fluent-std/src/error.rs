//! [`SendError`]: why an event was not written to the server now.

use std::fmt;
use std::io;
use std::time::Duration;

use fluent_proto::EncodeError;

/// Why an event was not written now. Except for [`SendError::Closed`] and
/// [`SendError::Encode`], the bytes were kept in the pending buffer (or
/// handed to the buffer overflow handler) and go out with the next
/// successful send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The sender was closed; nothing was queued.
    Closed,
    /// No sender was given and no global sender is set up.
    NoSender,
    /// The record could not be serialized (and `forward_packet_error` is
    /// off); nothing was queued.
    Encode(EncodeError),
    /// Connecting or writing failed.
    Io {
        /// The kind of I/O error.
        kind: io::ErrorKind,
        /// Its text.
        message: String,
    },
    /// The asynchronous sender's queue had no room: in blocking mode until
    /// the deadline passed, in circular mode because the worker was copying
    /// out the oldest events at that instant. The event was dropped and
    /// counted in `Stats::dropped_queue`.
    QueueFull,
    /// `emit` was called from inside an emit to the same sender on the same
    /// thread (a `Serialize` impl or overflow handler that logs through it),
    /// or while the thread is exiting; the event was dropped and counted.
    Reentrant,
    /// The event is larger than the asynchronous sender's whole queue.
    EventTooLarge {
        /// The encoded event's size in bytes.
        len: usize,
        /// The queue's byte capacity.
        capacity: usize,
    },
    /// The server refused the shared-key handshake, or could not prove it
    /// knows the key; the connection was dropped before any event was
    /// written to it. The text says why (never the key or password).
    Handshake(String),
    /// TLS failed: the server's certificate was not trusted or did not name
    /// the host, the server refused ours, or the session broke. The
    /// connection was dropped; the text says why.
    Tls(String),
    /// Not connected, and the next reconnection attempt is not due yet
    /// (capped exponential backoff, not a reconnect on every emit).
    Backoff {
        /// Time until the next attempt.
        retry_in: Duration,
    },
}

impl From<io::Error> for SendError {
    fn from(e: io::Error) -> Self {
        if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<crate::tls_io::TlsFailure>()) {
            return SendError::Tls(tls.0.clone());
        }
        SendError::Io { kind: e.kind(), message: e.to_string() }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the sender is closed"),
            SendError::NoSender => f.write_str("no sender given and no global sender set up"),
            SendError::Encode(e) => write!(f, "cannot serialize the record: {e}"),
            SendError::Io { message, .. } => write!(f, "I/O error: {message}"),
            SendError::QueueFull => f.write_str("the queue is full; the event was dropped"),
            SendError::Reentrant => f.write_str("emit called from inside an emit (or a thread exit); dropped"),
            SendError::EventTooLarge { len, capacity } => {
                write!(f, "event of {len} bytes is larger than the queue ({capacity} bytes)")
            }
            SendError::Backoff { retry_in } => write!(f, "not connected; next attempt in {retry_in:?}"),
            SendError::Handshake(reason) => write!(f, "shared-key handshake failed: {reason}"),
            SendError::Tls(reason) => write!(f, "TLS failed: {reason}"),
        }
    }
}

impl std::error::Error for SendError {}
