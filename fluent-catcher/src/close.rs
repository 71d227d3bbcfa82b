//! Why the catcher closes a connection, and counting it: shared by every
//! protocol handler (Forward, JSON, handshake, `SocketHandler`), so that they
//! import it from here rather than from each other.

use crate::stream::Conn;

/// Why a connection was closed by the catcher (`None` in the summary means
/// the client closed it cleanly).
pub(crate) type CloseReason = String;

/// Counts a rejection under `counter` and returns its reason.
pub(crate) fn reject<S>(conn: &Conn<S>, counter: &str, reason: impl Into<String>) -> CloseReason {
    conn.shared.stats.reject(counter);
    reason.into()
}
