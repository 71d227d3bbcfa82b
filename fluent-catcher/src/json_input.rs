//! Forward requests as JSON text, which Fluentd's `in_forward` also accepts
//! (a connection whose first byte is `[`): Message `["tag", time,
//! {record}, {option}?]` and Forward `["tag", [[time, {record}], ...],
//! {option}?]`, with `time` an integer or a float. A request with a
//! `chunk` is answered with the ack as JSON text, `{"ack":"<chunk>"}`.

use fluent_proto::{EventTime, Timestamp};
use serde_json::Value;

use crate::close::{CloseReason, reject};
use crate::format::{write_line_head, write_line_tail};
use crate::handoff::Pending;
use crate::memory::{Guard, Over};
use crate::stream::{Conn, Stream};

/// Finds where each top-level JSON request ends, resuming where the last
/// look stopped: every byte is scanned once however slowly the request
/// arrives, and it is parsed once, when complete.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    /// Bytes of the current request scanned so far.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Framer {
    /// The length of the first complete value in `buf` (the current
    /// request's bytes; the first `scanned` were seen before), or `None`.
    /// A top-level value that is not an array or object ends at its first
    /// byte, for the parser to refuse.
    fn next_end(&mut self, buf: &[u8]) -> Option<usize> {
        while let Some(&b) = buf.get(self.scanned) {
            self.scanned += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            let ends = match b {
                b'[' | b'{' => {
                    self.depth += 1;
                    false
                }
                b'"' if self.depth > 0 => {
                    self.in_string = true;
                    false
                }
                b']' | b'}' if self.depth > 0 => {
                    self.depth -= 1;
                    self.depth == 0
                }
                _ if self.depth > 0 => false,
                // Whitespace before a request.
                b' ' | b'\t' | b'\r' | b'\n' => false,
                // A byte that cannot start a request: the parser refuses it.
                _ => true,
            };
            if ends {
                let end = self.scanned;
                *self = Framer::default();
                return Some(end);
            }
        }
        None
    }
}

/// Why a connection speaking JSON must close.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An unfinished request is already longer than this limit.
    TooLarge(usize),
    Malformed(String),
}

/// What one pass over the buffer did.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// Bytes of the buffer's start that were whole requests, decoded.
    pub(crate) consumed: usize,
    /// Malformed events among them (skipped).
    pub(crate) bad_events: u64,
    pub(crate) outcome: Result<(), Refusal>,
}

/// Decodes the complete JSON requests at the start of `buf` into `pending`
/// (stopping early at a round's size, or when the decode budget is spent).
pub(crate) fn decode_bytes(
    buf: &[u8],
    framer: &mut Framer,
    limits: &crate::Limits,
    format: crate::OutputFormat,
    now: EventTime,
    pending: &mut Pending,
) -> Decoded {
    let mut consumed = 0;
    let mut bad_events = 0u64;
    let outcome = loop {
        let rest = &buf[consumed..];
        let Some(end) = framer.next_end(rest) else {
            // The rest of a request has not arrived yet.
            if rest.len() > limits.max_frame_len {
                break Err(Refusal::TooLarge(limits.max_frame_len));
            }
            break Ok(());
        };
        // The parsed tree is leased (at a generous bound) with the lines.
        let tree = end.saturating_mul(TREE_FACTOR);
        let need = pending.lines.capacity().saturating_add(tree);
        if !pending.lease.try_grow_to(need.max(pending.lease.held())) {
            pending.needs(need);
            break Ok(());
        }
        let request = match serde_json::from_slice::<Value>(&rest[..end]) {
            Ok(request) => request,
            Err(e) => break Err(Refusal::Malformed(format!("malformed JSON request: {e}"))),
        };
        match take_request(request, end, tree, limits, format, now, pending) {
            Ok((bad, None)) => bad_events += bad,
            Ok((_, Some(need))) => {
                pending.needs(need);
                break Ok(());
            }
            Err(reason) => break Err(Refusal::Malformed(reason)),
        }
        consumed += end;
        if pending.lines.len() >= crate::forward::ROUND_BYTES {
            pending.more = consumed < buf.len();
            break Ok(());
        }
    };
    Decoded { consumed, bad_events, outcome }
}

/// Decodes every complete JSON request in the buffer into `pending`.
pub(crate) fn decode_available<S: Stream>(
    conn: &mut Conn<S>,
    framer: &mut Framer,
    pending: &mut Pending,
) -> Result<(), CloseReason> {
    let limits = conn.shared.config.limits;
    let format = conn.shared.config.format;
    let now = EventTime::now().unwrap_or(EventTime::new(0, 0));
    let buf = conn.pending();
    let long = buf.len() >= crate::cpu::HEAVY_BYTES;
    let decoded = crate::cpu::run(long, || decode_bytes(buf, framer, &limits, format, now, pending));
    conn.consume(decoded.consumed);
    if decoded.bad_events > 0 {
        conn.shared.stats.events_rejected.fetch_add(decoded.bad_events, std::sync::atomic::Ordering::Relaxed);
        conn.shared.stats.reject("bad-event");
    }
    match decoded.outcome {
        Ok(()) => Ok(()),
        Err(Refusal::TooLarge(limit)) => Err(crate::forward::frame_too_large(conn, limit)),
        Err(Refusal::Malformed(reason)) => Err(reject(conn, "malformed", reason)),
    }
}

/// What a JSON request's parsed tree may take, per byte of it, at most.
const TREE_FACTOR: usize = 16;

/// Renders one request of `len` bytes, whose parsed tree is leased as
/// `tree` bytes; returns how many of its events were malformed, or (with
/// nothing of it kept) the decode-budget bytes it needs and could not get.
fn take_request(
    request: Value,
    len: usize,
    tree: usize,
    limits: &crate::Limits,
    format: crate::OutputFormat,
    now: EventTime,
    pending: &mut Pending,
) -> Result<(u64, Option<usize>), CloseReason> {
    let Value::Array(items) = request else { return Err("JSON request is not an array".into()) };
    let mut items = items.into_iter();
    let Some(Value::String(tag)) = items.next() else { return Err("JSON request's tag is not a string".into()) };
    if tag.len() > limits.max_tag_len {
        return Err(format!("a {}-byte tag exceeds the {}-byte limit", tag.len(), limits.max_tag_len));
    }
    let (mark, events) = (pending.lines.len(), pending.events);
    let cap = mark.saturating_add(limits.output_cap(len));
    let mut guard = Guard { cap, lease: &mut pending.lease, other: tree };
    let (lines, count) = (&mut pending.lines, &mut pending.events);
    let second = items.next();
    let mut bad = 0;
    let option = match second {
        Some(Value::Array(entries)) => {
            for entry in entries {
                match guard.room(lines) {
                    Ok(()) => {}
                    Err(over) => {
                        lines.truncate(mark);
                        *count = events;
                        let ratio = limits.max_output_ratio;
                        return match over {
                            Over::Memory(need) => Ok((0, Some(need))),
                            Over::Cap => {
                                Err(format!("a {len}-byte request renders to more than {ratio} times its size"))
                            }
                        };
                    }
                }
                match entry {
                    Value::Array(pair) if pair.len() == 2 => {
                        let mut pair = pair.into_iter();
                        let (time, record) = (pair.next(), pair.next());
                        bad += u64::from(!write_event(lines, count, format, &tag, time, record, now));
                    }
                    _ => bad += 1,
                }
            }
            items.next()
        }
        Some(time @ Value::Number(_)) => {
            if let Err(Over::Memory(need)) = guard.room(lines) {
                return Ok((0, Some(need)));
            }
            let record = items.next();
            bad += u64::from(!write_event(lines, count, format, &tag, Some(time), record, now));
            items.next()
        }
        _ => return Err("JSON request's second element is neither a time nor entries".into()),
    };
    if items.next().is_some() {
        return Err("JSON request has too many elements".into());
    }
    match option {
        None | Some(Value::Null) => {}
        Some(Value::Object(option)) => match option.get("chunk") {
            Some(Value::String(chunk)) => pending.chunks.push(chunk.clone()),
            Some(_) => return Err("JSON request's chunk is not a string".into()),
            None => {}
        },
        Some(_) => return Err("JSON request's option is not an object".into()),
    }
    pending.json = true;
    Ok((bad, None))
}

/// Writes one event's line (counting it in `events`); false when the time
/// or record is malformed.
fn write_event(
    lines: &mut Vec<u8>,
    events: &mut u64,
    format: crate::OutputFormat,
    tag: &str,
    time: Option<Value>,
    record: Option<Value>,
    now: EventTime,
) -> bool {
    let time = match time {
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(0), _) => Timestamp::Event(now),
            (Some(s), _) => Timestamp::Seconds(s),
            (None, Some(x)) if x >= 0.0 => match EventTime::from_f64(x) {
                Ok(t) => Timestamp::Event(t),
                Err(_) => return false,
            },
            _ => return false,
        },
        Some(Value::Null) => Timestamp::Event(now),
        _ => return false,
    };
    let Some(record @ Value::Object(_)) = record else { return false };
    let mark = lines.len();
    write_line_head(lines, format, tag, time);
    if serde_json::to_writer(&mut *lines, &record).is_err() {
        lines.truncate(mark);
        return false;
    }
    write_line_tail(lines, format);
    *events += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framer_finds_each_request_end_once() {
        let text = br#"  ["a", 1, {"k": "]}\"[{"}] ["b",[[1,{}]]]x"#;
        let mut framer = Framer::default();
        let mut ends = Vec::new();
        let mut start = 0;
        // One byte at a time, as a trickling client sends it.
        for len in 1..=text.len() {
            if let Some(end) = framer.next_end(&text[start..len]) {
                ends.push(&text[start..start + end]);
                start += end;
            }
        }
        assert_eq!(ends, [&br#"  ["a", 1, {"k": "]}\"[{"}]"#[..], br#" ["b",[[1,{}]]]"#, b"x"]);
    }
}
