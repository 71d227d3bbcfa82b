//! Python's `logging.SocketHandler` protocol: each record is a 4-byte
//! big-endian length and a pickle of the `LogRecord`'s dict. Pickles are
//! read as data only ([`crate::pickle`]). A record that is not plain data
//! (code, or a type the reader does not know) or is malformed is skipped by
//! its length prefix, counted and logged; the records after it carry on. A
//! length over the limit closes the connection, after the records before it
//! are handed to the writer.

use fluent_proto::EventTime;

use crate::close::{CloseReason, reject};
use crate::handoff::Pending;
use crate::log_record::write_log_record_line;
use crate::memory::{Guard, Over};
use crate::stream::{Conn, Stream};

pub(crate) async fn serve<S: Stream>(conn: &mut Conn<S>) -> Result<(), CloseReason> {
    loop {
        let mut pending = Pending::new(conn);
        let outcome = decode_available(conn, &mut pending);
        if !conn.end_round(pending, outcome, "record").await? {
            return Ok(());
        }
    }
}

fn decode_available<S: Stream>(conn: &mut Conn<S>, pending: &mut Pending) -> Result<(), CloseReason> {
    let config = &conn.shared.config;
    let max = config.limits.max_pickle_len;
    let format = config.format;
    let log = config.log_connections;
    let now = EventTime::now().unwrap_or(EventTime::new(0, 0));
    loop {
        let buf = conn.pending();
        let Some(prefix) = buf.get(..4) else { return Ok(()) };
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > max {
            return Err(reject(conn, "pickle-too-large", format!("record length {len} exceeds the {max}-byte limit")));
        }
        let Some(body) = buf.get(4..4 + len) else { return Ok(()) };
        // A record renders to at most `max` bytes (its own limit).
        let mut guard = Guard { cap: usize::MAX, lease: &mut pending.lease, other: 0 };
        if let Err(Over::Memory(need)) = guard.room(&mut pending.lines) {
            pending.needs(need);
            return Ok(());
        }
        match write_log_record_line(&mut pending.lines, format, body, now, max) {
            Ok(()) => pending.events += 1,
            Err(e) => {
                // The length prefix says where the next record starts.
                conn.shared.stats.events_rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let reason = reject(conn, "pickle", format!("record refused: {e}"));
                if log {
                    eprintln!("fluent-catcher: SocketHandler {reason}; skipped, the connection carries on");
                }
            }
        }
        conn.consume(4 + len);
        if pending.lines.len() >= crate::forward::ROUND_BYTES {
            pending.more = !conn.pending().is_empty();
            return Ok(());
        }
    }
}
