//! The Forward protocol handler: every mode, heartbeats, gzip, acks, and
//! the shared-key handshake when one is configured.
//!
//! A frame that cannot be decoded (malformed bytes, an absurd length, a
//! request of the wrong shape, a gzip bomb) closes the connection with a
//! logged reason; the events of the frames before it are kept. A request
//! that decodes but holds some malformed events is not acknowledged when it
//! asks for an ack: none of its events is written (an ack promises every
//! one), all are counted as rejected, and the client resends it or gives
//! it to its own secondary. Without an ack, its good events are kept, as
//! Fluentd does, and the bad ones counted.

use fluent_proto::{Decoded, EventTime, Frame, FrameDecoder, Mode, Request};

use crate::close::{CloseReason, reject};
use crate::format::write_event_line;
use crate::handoff::Pending;
use crate::stream::{Conn, Stream};
use crate::transcode::write_packed_entries;

/// Serves one Forward connection until it ends; returns why the catcher
/// closed it, if it did.
pub(crate) async fn serve<S: Stream>(conn: &mut Conn<S>) -> Result<(), CloseReason> {
    if let Some(key) = conn.shared.config.shared_key.clone() {
        crate::handshake::run(conn, key.as_bytes()).await?;
    }
    let limits = fluent_proto::Limits { max_frame_len: conn.shared.config.limits.max_frame_len, max_depth: 32 };
    let mut decoder = FrameDecoder::new(limits);
    // Like Fluentd's in_forward: a connection whose first byte is `[` speaks
    // JSON (not after a handshake: JSON has no authentication).
    let mut json = None;
    loop {
        let mut pending = Pending::default();
        if json.is_none() && !conn.pending().is_empty() {
            json = Some(conn.shared.config.shared_key.is_none() && conn.pending().first() == Some(&b'['));
        }
        let outcome = if json == Some(true) {
            crate::json_input::decode_available(conn, &mut pending)
        } else {
            decode_available(conn, &mut decoder, &mut pending)
        };
        if !conn.end_round(pending, outcome, "frame").await? {
            return Ok(());
        }
    }
}

/// Decodes every complete frame in the buffer into `pending`.
fn decode_available<S: Stream>(
    conn: &mut Conn<S>,
    decoder: &mut FrameDecoder,
    pending: &mut Pending,
) -> Result<(), CloseReason> {
    let now = EventTime::now().unwrap_or(EventTime::new(0, 0));
    loop {
        let decoded = decoder.decode(conn.pending());
        let consumed = match decoded {
            Ok(Decoded::NeedMore) => return Ok(()),
            Ok(Decoded::Frame { frame: Frame::Heartbeat, consumed }) => {
                conn.shared.stats.heartbeats.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                consumed
            }
            Ok(Decoded::Frame { frame: Frame::Request(request), consumed }) => {
                take_request(conn, &request, now, pending)?;
                consumed
            }
            Err(e) => return Err(reject(conn, "malformed", format!("malformed frame: {e}"))),
        };
        conn.consume(consumed);
    }
}

/// Renders one request's events as lines; queues its chunk for an ack.
fn take_request<S: Stream>(
    conn: &Conn<S>,
    request: &Request<'_>,
    now: EventTime,
    pending: &mut Pending,
) -> Result<(), CloseReason> {
    let config = &conn.shared.config;
    let tag = request.tag();
    let depth = request.event_depth();
    let mark = pending.lines.len();
    let (good, bad_count, bad) = match (request.mode(), request.packed_entries()) {
        (Mode::CompressedPackedForward, _) => {
            let plain = request
                .decompress(config.limits.max_decompressed_len)
                .map_err(|e| reject(conn, "gzip", format!("compressed entries refused: {e}")))?;
            write_packed_entries(&mut pending.lines, config.format, tag, &plain, now, depth)
        }
        (_, Some((entries, _))) => write_packed_entries(&mut pending.lines, config.format, tag, entries, now, depth),
        _ => {
            let (mut good, mut bad_count, mut bad) = (0, 0, None);
            for event in request.events() {
                let written =
                    event.and_then(|e| write_event_line(&mut pending.lines, config.format, tag, e.time, e.record, now));
                match written {
                    Ok(()) => good += 1,
                    Err(e) => {
                        bad_count += 1;
                        bad.get_or_insert(e);
                    }
                }
            }
            (good, bad_count, bad)
        }
    };
    let chunk = request.options().chunk;
    if let Some(e) = bad {
        // An ack promises every event: a request that lost some is not
        // acknowledged, and none of it is written (its resend would
        // duplicate the good ones).
        // A bad byte inside packed entries can hide the events after it:
        // the request's `size` option, when given, says how many there were.
        let size = request.options().size.unwrap_or(0);
        let refused =
            if chunk.is_some() { size.max(good + bad_count) } else { size.saturating_sub(good).max(bad_count) };
        conn.shared.stats.events_rejected.fetch_add(refused, std::sync::atomic::Ordering::Relaxed);
        conn.shared.stats.reject("bad-event");
        if config.log_connections {
            let what = if chunk.is_some() { "request not acknowledged" } else { "the rest kept" };
            eprintln!("fluent-catcher: {bad_count} malformed event(s) tagged {tag:?}, {what}: {e}");
        }
        if chunk.is_some() {
            pending.lines.truncate(mark);
            return Ok(());
        }
    }
    pending.events += good;
    if let Some(chunk) = chunk {
        pending.chunks.push(chunk.to_owned());
    }
    Ok(())
}
