//! The central log's line formats: JSON lines (the default) and Fluentd's
//! `out_file` layout.

use fluent_proto::{DecodeError, EventTime, RawMap, Timestamp, Value};

use crate::json;

/// How each event is written to the central log.
///
/// ```
/// use fluent_catcher::OutputFormat;
/// assert_eq!("jsonl".parse::<OutputFormat>(), Ok(OutputFormat::JsonLines));
/// assert_eq!("fluentd".parse::<OutputFormat>(), Ok(OutputFormat::Fluentd));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// One JSON object per line: `{"tag": ..., "time": ..., "record": {...}}`.
    /// `time` is an integer for integer-time events and
    /// `seconds.nanoseconds` (nine digits, exact in the text) for EventTime
    /// events.
    #[default]
    JsonLines,
    /// Fluentd's `out_file` layout: `2017-03-21T01:56:07+00:00<TAB>tag<TAB>{record}`
    /// (UTC, whole seconds, as Fluentd's default `time_format`).
    Fluentd,
}

impl core::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" | "json" => Ok(OutputFormat::JsonLines),
            "fluentd" | "out_file" => Ok(OutputFormat::Fluentd),
            other => Err(format!("unknown format {other:?} (expected jsonl or fluentd)")),
        }
    }
}

/// Writes everything of a line before the record.
pub(crate) fn write_line_head(out: &mut Vec<u8>, format: OutputFormat, tag: &str, time: Timestamp) {
    match format {
        OutputFormat::JsonLines => {
            out.extend_from_slice(b"{\"tag\":");
            json::write_str(out, tag);
            out.extend_from_slice(b",\"time\":");
            write_time(out, time);
            out.extend_from_slice(b",\"record\":");
        }
        OutputFormat::Fluentd => {
            write_iso8601(out, time.seconds());
            out.push(b'\t');
            write_plain_tag(out, tag);
            out.push(b'\t');
        }
    }
}

/// A tag in the `fluentd` layout, where it is a bare field: a backslash,
/// and every control character (a tab or a newline would forge fields or
/// lines), is escaped as in JSON (`\\`, `\t`, `\n`, `\u001b`), so no byte of
/// a tag can start a field or a line.
pub(crate) fn write_plain_tag(out: &mut Vec<u8>, tag: &str) {
    for &b in tag.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
}

/// Writes everything of a line after the record.
pub(crate) fn write_line_tail(out: &mut Vec<u8>, format: OutputFormat) {
    if format == OutputFormat::JsonLines {
        out.push(b'}');
    }
    out.push(b'\n');
}

/// Appends one event as a whole line. On error nothing is appended.
///
/// `now` replaces an unset time (`nil` or `0`), as Fluentd does.
pub(crate) fn write_event_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    tag: &str,
    time: Timestamp,
    record: RawMap<'_>,
    now: EventTime,
) -> Result<(), DecodeError> {
    let mark = out.len();
    let time = if time.is_unset() { Timestamp::Event(now) } else { time };
    write_line_head(out, format, tag, time);
    if let Err(e) = write_map(out, record) {
        out.truncate(mark);
        return Err(e);
    }
    write_line_tail(out, format);
    Ok(())
}

/// A time as a JSON number: exact integer seconds, or `s.nnnnnnnnn`.
pub(crate) fn write_time(out: &mut Vec<u8>, time: Timestamp) {
    match time {
        Timestamp::Seconds(s) => json::write_u64(out, s),
        Timestamp::Event(t) => {
            json::write_u64(out, u64::from(t.seconds()));
            let mut nanos = t.nanoseconds().min(999_999_999);
            let mut digits = [b'0'; 10];
            digits[0] = b'.';
            for digit in digits[1..].iter_mut().rev() {
                *digit = b'0' + (nanos % 10) as u8;
                nanos /= 10;
            }
            out.extend_from_slice(&digits);
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` for a Unix time (UTC).
pub(crate) fn write_iso8601(out: &mut Vec<u8>, unix_seconds: u64) {
    let t = fluent_proto::UtcDateTime::from_unix_seconds(unix_seconds);
    let text = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00", t.year, t.month, t.day, t.hour, t.minute, t.second);
    out.extend_from_slice(text.as_bytes());
}

/// A msgpack map as a JSON object. Non-string keys are written as the
/// JSON text of the key (Fluentd stringifies them too).
pub(crate) fn write_map(out: &mut Vec<u8>, map: RawMap<'_>) -> Result<(), DecodeError> {
    out.push(b'{');
    let mut first = true;
    for pair in map.iter() {
        let (key, value) = pair?;
        if !first {
            out.push(b',');
        }
        first = false;
        match key {
            Value::Str(s) => json::write_str(out, s),
            Value::Bin(b) => json::write_bytes(out, b),
            other => {
                let mut text = Vec::new();
                write_value(&mut text, other)?;
                json::write_str(out, &String::from_utf8_lossy(&text));
            }
        }
        out.push(b':');
        write_value(out, value)?;
    }
    out.push(b'}');
    Ok(())
}

/// Any msgpack value as JSON. An EventTime inside a record becomes a time
/// number; other extension values `{"ext": type, "data": "<bytes>"}`.
pub(crate) fn write_value(out: &mut Vec<u8>, value: Value<'_>) -> Result<(), DecodeError> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => json::write_i64(out, i),
        Value::UInt(u) => json::write_u64(out, u),
        Value::F32(x) => json::write_f64(out, f64::from(x)),
        Value::F64(x) => json::write_f64(out, x),
        Value::Str(s) => json::write_str(out, s),
        Value::Bin(b) => json::write_bytes(out, b),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item?)?;
            }
            out.push(b']');
        }
        Value::Map(map) => write_map(out, map)?,
        Value::Ext(0, data) if data.len() == 8 => {
            let mut payload = [0u8; 8];
            payload.copy_from_slice(data);
            write_time(out, Timestamp::Event(EventTime::from_payload(payload)));
        }
        Value::Ext(kind, data) => {
            out.extend_from_slice(b"{\"ext\":");
            json::write_i64(out, i64::from(kind));
            out.extend_from_slice(b",\"data\":");
            json::write_bytes(out, data);
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_proto::Request;

    #[test]
    fn a_tag_cannot_forge_fields_or_lines_in_the_fluentd_layout() {
        let forged = "app\n2017-03-21T01:56:07+00:00\tadmin.audit\t{\"user\":\"root\"}\u{1b}[2J\\";
        let mut out = Vec::new();
        write_line_head(&mut out, OutputFormat::Fluentd, forged, Timestamp::Seconds(0));
        out.extend_from_slice(b"{}");
        write_line_tail(&mut out, OutputFormat::Fluentd);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert_eq!(text.matches('\t').count(), 2, "{text}");
        assert_eq!(
            text,
            "1970-01-01T00:00:00+00:00\tapp\\n2017-03-21T01:56:07+00:00\\tadmin.audit\\t{\"user\":\"root\"}\\u001b[2J\\\\\t{}\n"
        );
    }

    fn line(frame: &[u8], format: OutputFormat) -> String {
        let request = Request::parse(frame, 32).unwrap();
        let event = request.events().next().unwrap().unwrap();
        let mut out = Vec::new();
        write_event_line(&mut out, format, request.tag(), event.time, event.record, EventTime::new(7, 0)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_line_with_integer_and_event_time() {
        let frame = b"\x93\xa3t.a\xce\x58\xd0\x88\x37\x82\xa1k\xa1v\xa1n\x92\x01\xc0";
        assert_eq!(
            line(frame, OutputFormat::JsonLines),
            "{\"tag\":\"t.a\",\"time\":1490061367,\"record\":{\"k\":\"v\",\"n\":[1,null]}}\n"
        );
        let frame = b"\x93\xa1t\xd7\x00\x58\xd0\x88\x37\x00\x00\x00\x05\x80";
        assert_eq!(
            line(frame, OutputFormat::JsonLines),
            "{\"tag\":\"t\",\"time\":1490061367.000000005,\"record\":{}}\n"
        );
    }

    #[test]
    fn unset_time_becomes_arrival_time() {
        assert_eq!(
            line(b"\x93\xa1t\xc0\x80", OutputFormat::JsonLines),
            "{\"tag\":\"t\",\"time\":7.000000000,\"record\":{}}\n"
        );
    }

    #[test]
    fn fluentd_out_file_layout() {
        let frame = b"\x93\xa3t.a\xce\x58\xd0\x88\x37\x81\xa1k\x01";
        assert_eq!(line(frame, OutputFormat::Fluentd), "2017-03-21T01:56:07+00:00\tt.a\t{\"k\":1}\n");
    }

    #[test]
    fn non_string_keys_are_stringified() {
        let frame = b"\x93\xa1t\x01\x82\x05\xa1a\xc3\x02";
        assert_eq!(
            line(frame, OutputFormat::JsonLines),
            "{\"tag\":\"t\",\"time\":1,\"record\":{\"5\":\"a\",\"true\":2}}\n"
        );
    }

    #[test]
    fn calendar_dates() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00+00:00"),
            (951_782_400, "2000-02-29T00:00:00+00:00"),
            (4_102_444_799, "2099-12-31T23:59:59+00:00"),
        ] {
            let mut out = Vec::new();
            write_iso8601(&mut out, secs);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }
}
