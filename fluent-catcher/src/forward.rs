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

use fluent_proto::gzip::GzipError;
use fluent_proto::{DecodeError, Decoded, EventTime, Frame, FrameDecoder, Mode, Request};

use crate::close::{CloseReason, reject};
use crate::cpu::HEAVY_BYTES;
use crate::format::write_event_line;
use crate::handoff::Pending;
use crate::memory::{GRAIN, Guard, Over};
use crate::stream::{Conn, Stream};
use crate::transcode::write_packed_entries;

/// Lines decoded in one round before they are handed to the writer, and
/// the rest of the buffer decoded in the next: what a connection holds
/// stays near this plus one request's lines.
pub(crate) const ROUND_BYTES: usize = 4 << 20;

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
    let mut json_framer = crate::json_input::Framer::default();
    loop {
        let mut pending = Pending::new(conn);
        if json.is_none() && !conn.pending().is_empty() {
            json = Some(conn.shared.config.shared_key.is_none() && conn.pending().first() == Some(&b'['));
        }
        let outcome = if json == Some(true) {
            crate::json_input::decode_available(conn, &mut json_framer, &mut pending)
        } else {
            decode_available(conn, &mut decoder, &mut pending)
        };
        if !conn.end_round(pending, outcome, "frame").await? {
            return Ok(());
        }
    }
}

/// Decodes every complete frame in the buffer into `pending`; stops early
/// after [`ROUND_BYTES`] of lines, or when the decode budget is spent
/// (`pending.need`: the frame stays in the buffer, decoded again once the
/// connection has the room).
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
                let heavy = consumed >= HEAVY_BYTES || request.mode() == Mode::CompressedPackedForward;
                let taken = crate::cpu::run(heavy, || take_request(conn, &request, consumed, now, pending));
                if let Some(need) = taken? {
                    pending.needs(need);
                    return Ok(());
                }
                consumed
            }
            Err(DecodeError::FrameTooLarge { limit }) => return Err(frame_too_large(conn, limit)),
            Err(e) => return Err(reject(conn, "malformed", format!("malformed frame: {e}"))),
        };
        conn.consume(consumed);
        if pending.lines.len() >= ROUND_BYTES {
            pending.more = !conn.pending().is_empty();
            return Ok(());
        }
    }
}

/// Refuses a frame over `--max-frame-len`: a sender would retry it forever,
/// so the reason names the flag, and the catcher logs it even with
/// `--quiet`.
pub(crate) fn frame_too_large<S>(conn: &Conn<S>, limit: usize) -> CloseReason {
    reject(conn, "frame-too-large", format!("a frame exceeds the {limit}-byte limit; raise {FRAME_FLAG}"))
}

/// Named in the reason for a frame over the limit.
pub(crate) const FRAME_FLAG: &str = "--max-frame-len";

/// Inflates a CompressedPackedForward request with its bytes leased first:
/// a first guess from its size, raised (and leased again) while the output
/// does not fit, up to `Limits::max_decompressed_len`. `Err(Ok(n))`: the
/// decode budget has not `n` bytes for the connection now.
fn inflate<S: Stream>(
    conn: &Conn<S>,
    request: &Request<'_>,
    len: usize,
    pending: &mut Pending,
) -> Result<Vec<u8>, Result<usize, CloseReason>> {
    let max = conn.shared.config.limits.max_decompressed_len;
    let mut limit = len.saturating_mul(16).clamp(GRAIN, max.max(1));
    loop {
        let need = pending.lines.capacity().saturating_add(limit).saturating_add(1);
        if !pending.lease.try_grow_to(need.max(pending.lease.held())) {
            return Err(Ok(need));
        }
        let mut plain = Vec::with_capacity(limit + 1);
        match request.decompress_into(&mut plain, limit) {
            Ok(()) => return Ok(plain),
            Err(DecodeError::Gzip(GzipError::TooLarge { .. })) if limit < max => {
                limit = limit.saturating_mul(8).min(max);
            }
            Err(e) => return Err(Err(reject(conn, "gzip", format!("compressed entries refused: {e}")))),
        }
    }
}

/// Renders one request's events as lines; queues its chunk for an ack.
/// `len`: the request's size on the wire. `Some(n)`: the decode budget
/// has not the `n` bytes it needs now; nothing of it was kept.
fn take_request<S: Stream>(
    conn: &Conn<S>,
    request: &Request<'_>,
    len: usize,
    now: EventTime,
    pending: &mut Pending,
) -> Result<Option<usize>, CloseReason> {
    let config = &conn.shared.config;
    let tag = request.tag();
    if tag.len() > config.limits.max_tag_len {
        let limit = config.limits.max_tag_len;
        return Err(reject(conn, "tag-too-long", format!("a {}-byte tag exceeds the {limit}-byte limit", tag.len())));
    }
    let depth = request.event_depth();
    let mark = pending.lines.len();
    let plain = match request.mode() {
        Mode::CompressedPackedForward => match inflate(conn, request, len, pending) {
            Ok(plain) => Some(plain),
            Err(Ok(need)) => return Ok(Some(need)),
            Err(Err(reason)) => return Err(reason),
        },
        _ => None,
    };
    let input = plain.as_ref().map_or(len, |p| len.max(p.len()));
    let cap = mark.saturating_add(config.limits.output_cap(input));
    let other = plain.as_ref().map_or(0, Vec::capacity);
    let mut guard = Guard { cap, lease: &mut pending.lease, other };
    let lines = &mut pending.lines;
    let rendered = match (&plain, request.packed_entries()) {
        (Some(plain), _) => write_packed_entries(lines, config.format, tag, plain, now, depth, &mut guard),
        (None, Some((entries, _))) => write_packed_entries(lines, config.format, tag, entries, now, depth, &mut guard),
        (None, None) => {
            let (mut good, mut bad_count, mut bad) = (0, 0, None);
            let mut over = None;
            for event in request.events() {
                if let Err(e) = guard.room(lines) {
                    over = Some(e);
                    break;
                }
                match event.and_then(|e| write_event_line(lines, config.format, tag, e.time, e.record, now)) {
                    Ok(()) => good += 1,
                    Err(e) => {
                        bad_count += 1;
                        bad.get_or_insert(e);
                    }
                }
            }
            match over {
                Some(e) => Err(e),
                None if lines.len() > cap => Err(Over::Cap),
                None => Ok((good, bad_count, bad)),
            }
        }
    };
    drop(plain);
    let (good, bad_count, bad) = match rendered {
        Ok(counts) => counts,
        Err(Over::Memory(need)) => {
            pending.lines.truncate(mark);
            return Ok(Some(need));
        }
        Err(Over::Cap) => {
            pending.lines.truncate(mark);
            let ratio = config.limits.max_output_ratio;
            return Err(reject(
                conn,
                "amplification",
                format!("a {len}-byte request renders to more than {ratio} times its size (tag {} bytes)", tag.len()),
            ));
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
            return Ok(None);
        }
    }
    pending.events += good;
    if let Some(chunk) = chunk {
        pending.chunks.push(chunk.to_owned());
    }
    Ok(None)
}
