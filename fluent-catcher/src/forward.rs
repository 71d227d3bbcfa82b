//! The Forward protocol handler: every mode, heartbeats, gzip, acks, and
//! the shared-key handshake when one is configured.
//!
//! A frame that cannot be decoded (malformed bytes, an absurd length, a
//! request of the wrong shape, a gzip bomb) closes the connection with a
//! logged reason; the events of the frames before it are kept. A request
//! that decodes but holds some malformed events keeps its good events, and
//! is still acknowledged, as Fluentd does; the bad ones are counted.

use fluent_proto::{Decoded, EventTime, Frame, FrameDecoder, Mode, Request};

use crate::format::write_event_line;
use crate::handoff::Pending;
use crate::stream::{Conn, Stream};
use crate::transcode::write_packed_entries;

/// Why a connection was closed by the catcher (`None` in the summary means
/// the client closed it cleanly).
pub(crate) type CloseReason = String;

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

/// Counts a rejection and returns its reason.
pub(crate) fn reject<S>(conn: &Conn<S>, counter: &str, reason: impl Into<String>) -> CloseReason {
    conn.shared.stats.reject(counter);
    reason.into()
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
    pending.events += good;
    if let Some(e) = bad {
        conn.shared.stats.events_rejected.fetch_add(bad_count, std::sync::atomic::Ordering::Relaxed);
        conn.shared.stats.reject("bad-event");
        if config.log_connections {
            eprintln!("fluent-catcher: dropped {bad_count} malformed event(s) tagged {tag:?}: {e}");
        }
    }
    if let Some(chunk) = request.options().chunk {
        pending.chunks.push(chunk.to_owned());
    }
    Ok(())
}
