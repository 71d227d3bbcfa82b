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
use crate::stream::{Conn, Stream};

/// Decodes every complete JSON request in the buffer into `pending`.
pub(crate) fn decode_available<S: Stream>(conn: &mut Conn<S>, pending: &mut Pending) -> Result<(), CloseReason> {
    let max = conn.shared.config.limits.max_frame_len;
    let format = conn.shared.config.format;
    let now = EventTime::now().unwrap_or(EventTime::new(0, 0));
    let mut consumed = 0;
    let mut bad_events = 0u64;
    let result = {
        let buf = conn.pending();
        let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
        loop {
            match stream.next() {
                None => break Ok(()),
                Some(Ok(request)) => {
                    consumed = stream.byte_offset();
                    match take_request(request, format, now, pending) {
                        Ok(bad) => bad_events += bad,
                        Err(reason) => break Err(reason),
                    }
                }
                // The rest of a request has not arrived yet.
                Some(Err(e)) if e.is_eof() => {
                    if buf.len() - consumed > max {
                        break Err(format!("JSON request exceeds the {max}-byte limit"));
                    }
                    break Ok(());
                }
                Some(Err(e)) => break Err(format!("malformed JSON request: {e}")),
            }
        }
    };
    conn.consume(consumed);
    if bad_events > 0 {
        conn.shared.stats.events_rejected.fetch_add(bad_events, std::sync::atomic::Ordering::Relaxed);
        conn.shared.stats.reject("bad-event");
    }
    result.map_err(|reason| reject(conn, "malformed", reason))
}

/// Renders one request; returns how many of its events were malformed.
fn take_request(
    request: Value,
    format: crate::OutputFormat,
    now: EventTime,
    pending: &mut Pending,
) -> Result<u64, CloseReason> {
    let Value::Array(items) = request else { return Err("JSON request is not an array".into()) };
    let mut items = items.into_iter();
    let Some(Value::String(tag)) = items.next() else { return Err("JSON request's tag is not a string".into()) };
    let second = items.next();
    let mut bad = 0;
    let option = match second {
        Some(Value::Array(entries)) => {
            for entry in entries {
                match entry {
                    Value::Array(pair) if pair.len() == 2 => {
                        let mut pair = pair.into_iter();
                        let (time, record) = (pair.next(), pair.next());
                        bad += u64::from(!write_event(pending, format, &tag, time, record, now));
                    }
                    _ => bad += 1,
                }
            }
            items.next()
        }
        Some(time @ Value::Number(_)) => {
            let record = items.next();
            bad += u64::from(!write_event(pending, format, &tag, Some(time), record, now));
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
    Ok(bad)
}

/// Writes one event's line; false when the time or record is malformed.
fn write_event(
    pending: &mut Pending,
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
    let mark = pending.lines.len();
    write_line_head(&mut pending.lines, format, tag, time);
    if serde_json::to_writer(&mut pending.lines, &record).is_err() {
        pending.lines.truncate(mark);
        return false;
    }
    write_line_tail(&mut pending.lines, format);
    pending.events += 1;
    true
}
