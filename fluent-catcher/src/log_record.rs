//! A Python `LogRecord` (as `logging.SocketHandler` pickles it) turned into
//! an event: tag from the logger `name`, time from `created`, the record's
//! fields as the record.

use core::fmt;

use fluent_proto::{EventTime, Timestamp};

use crate::format::{OutputFormat, write_line_head, write_line_tail};
use crate::json;
use crate::pickle::{Node, NodeId, Pickle, PickleError};

/// Nesting deeper than this is refused (it also stops a self-referencing
/// list, which pickle can express, from being rendered forever).
const MAX_DEPTH: usize = 32;

/// Why a pickled record could not become an event.
///
/// ```
/// let e = fluent_catcher::LogRecordError::TooLarge { limit: 1024 };
/// assert!(e.to_string().contains("1024"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogRecordError {
    /// The pickle itself was refused.
    Pickle(PickleError),
    /// The pickle is data, but not a dict.
    NotADict,
    /// The record nests deeper than the limit (or refers to itself).
    TooDeep,
    /// The rendered record would exceed the limit: a small pickle can
    /// reference one large value many times.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for LogRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogRecordError::Pickle(e) => e.fmt(f),
            LogRecordError::NotADict => f.write_str("pickled value is not a LogRecord dict"),
            LogRecordError::TooDeep => write!(f, "record nests deeper than {MAX_DEPTH} levels"),
            LogRecordError::TooLarge { limit } => write!(f, "record would render to more than {limit} bytes"),
        }
    }
}

impl std::error::Error for LogRecordError {}

impl From<PickleError> for LogRecordError {
    fn from(e: PickleError) -> Self {
        LogRecordError::Pickle(e)
    }
}

/// Appends the event line for one pickled `LogRecord`; on error nothing is
/// appended. `max_len` bounds the rendered line.
pub(crate) fn write_log_record_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    pickle_bytes: &[u8],
    now: EventTime,
    max_len: usize,
) -> Result<(), LogRecordError> {
    let pickle = crate::pickle::read(pickle_bytes)?;
    if !matches!(pickle.node(pickle.root), Node::Dict(_)) {
        return Err(LogRecordError::NotADict);
    }
    let tag = match pickle.get("name") {
        Some(Node::Str(name)) if !name.is_empty() => name.as_str(),
        _ => "python",
    };
    let time = match pickle.get("created") {
        Some(Node::Float(x)) => EventTime::from_f64(*x).unwrap_or(now),
        Some(Node::Int(i)) => u32::try_from(*i).map(|s| EventTime::new(s, 0)).unwrap_or(now),
        _ => now,
    };
    let mark = out.len();
    write_line_head(out, format, tag, Timestamp::Event(time));
    let budget = Budget { limit: mark.saturating_add(max_len) };
    if let Err(e) = write_node(out, &pickle, pickle.root, 0, &budget) {
        out.truncate(mark);
        return Err(e);
    }
    write_line_tail(out, format);
    Ok(())
}

struct Budget {
    limit: usize,
}

impl Budget {
    fn check(&self, out: &[u8]) -> Result<(), LogRecordError> {
        if out.len() > self.limit { Err(LogRecordError::TooLarge { limit: self.limit }) } else { Ok(()) }
    }
}

fn write_node(out: &mut Vec<u8>, p: &Pickle, id: NodeId, depth: usize, budget: &Budget) -> Result<(), LogRecordError> {
    if depth > MAX_DEPTH {
        return Err(LogRecordError::TooDeep);
    }
    match p.node(id) {
        Node::None | Node::Callable(_) | Node::UuidShell => out.extend_from_slice(b"null"),
        Node::Delta(days, seconds, micros) => {
            json::write_str(out, &crate::pickle_data::timedelta(*days, *seconds, *micros).unwrap_or_default());
        }
        Node::TimeZone(offset) => json::write_str(out, &format!("UTC{offset}")),
        Node::Bool(true) => out.extend_from_slice(b"true"),
        Node::Bool(false) => out.extend_from_slice(b"false"),
        Node::Int(i) => json::write_i64(out, *i),
        Node::BigInt(digits) => out.extend_from_slice(digits.as_bytes()),
        Node::Float(x) => json::write_f64(out, *x),
        Node::Str(s) => json::write_str(out, s),
        Node::Bytes(b) => json::write_bytes(out, b),
        Node::List(items) | Node::Tuple(items) | Node::Set(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_node(out, p, *item, depth + 1, budget)?;
                budget.check(out)?;
            }
            out.push(b']');
        }
        Node::Dict(pairs) => {
            out.push(b'{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match p.node(*key) {
                    Node::Str(s) => json::write_str(out, s),
                    Node::Bytes(b) => json::write_bytes(out, b),
                    _ => {
                        let mut text = Vec::new();
                        write_node(&mut text, p, *key, depth + 1, budget)?;
                        json::write_str(out, &String::from_utf8_lossy(&text));
                    }
                }
                out.push(b':');
                write_node(out, p, *value, depth + 1, budget)?;
                budget.check(out)?;
            }
            out.push(b'}');
        }
    }
    budget.check(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_references_cannot_expand_past_the_limit() {
        // [s] * 1000 where s is a 1000-char string: a 1 KiB pickle that
        // would render to 1 MB.
        let mut p = Vec::from(&b"}(X\x01\x00\x00\x00l]("[..]);
        p.extend_from_slice(b"X\xe8\x03\x00\x00");
        p.extend(std::iter::repeat_n(b'x', 1000));
        p.extend_from_slice(b"q\x01");
        for _ in 0..1000 {
            p.extend_from_slice(b"h\x01");
        }
        p.extend_from_slice(b"eu.");
        let mut out = Vec::new();
        let err = write_log_record_line(&mut out, OutputFormat::JsonLines, &p, EventTime::new(1, 0), 64 * 1024);
        assert!(matches!(err, Err(LogRecordError::TooLarge { .. })), "{err:?}");
        assert!(out.is_empty());
    }

    #[test]
    fn self_referencing_list_is_too_deep() {
        // l = []; l.append(l); {'l': l}
        let p = b"}(X\x01\x00\x00\x00l]q\x01h\x01au.";
        let mut out = Vec::new();
        let err = write_log_record_line(&mut out, OutputFormat::JsonLines, p, EventTime::new(1, 0), 1 << 20);
        assert_eq!(err, Err(LogRecordError::TooDeep));
    }
}
