//! The ingest hot path: a PackedForward entry `[time, record]` written as
//! one output line in a single pass over its bytes ([`Head`] by [`Head`]),
//! instead of finding each container's end first and walking it again.
//! Whatever this path does not handle (a map key that is itself a
//! container, a Fluent Bit `[time, metadata]` time) goes through the
//! general [`write_event_line`]; both write the same bytes.

use fluent_proto::{DecodeError, Event, EventTime, Head, Timestamp, Value};

use crate::format::{OutputFormat, write_event_line, write_line_head, write_line_tail, write_value};
use crate::json;
use crate::memory::{Guard, Over};

/// One open container while transcoding.
#[derive(Clone, Copy)]
struct Open {
    /// Values still to come (keys and values count separately in maps).
    left: u64,
    is_map: bool,
    first: bool,
}

/// Why the single pass stopped.
enum Stop {
    /// Not for this path: use the general one.
    Fallback,
    /// Malformed.
    Bad(DecodeError),
}

impl From<DecodeError> for Stop {
    fn from(e: DecodeError) -> Self {
        Stop::Bad(e)
    }
}

/// Writes every entry of concatenated PackedForward `entries` as lines,
/// taking room through `guard` before each one (it stops the request past
/// its output cap, or when the decode budget is spent).
/// Returns (events written, malformed events, the first error); after an
/// entry whose end cannot be found, the rest is dropped (counted as one).
pub(crate) fn write_packed_entries(
    out: &mut Vec<u8>,
    format: OutputFormat,
    tag: &str,
    entries: &[u8],
    now: EventTime,
    max_depth: usize,
    guard: &mut Guard<'_>,
) -> Result<(u64, u64, Option<DecodeError>), Over> {
    let (mut good, mut bad, mut first_error) = (0, 0, None);
    let mut rest = entries;
    while !rest.is_empty() {
        guard.room(out)?;
        let mark = out.len();
        let used = match entry_line(out, format, tag, rest, now, max_depth) {
            Ok(used) => {
                good += 1;
                used
            }
            Err(stop) => {
                out.truncate(mark);
                // The general path: finds the entry's end, then decodes it.
                match Value::read(rest, max_depth) {
                    Ok((value, used)) => {
                        let written = Event::from_value(value)
                            .and_then(|e| write_event_line(out, format, tag, e.time, e.record, now));
                        match written {
                            Ok(()) => good += 1,
                            Err(e) => {
                                bad += 1;
                                first_error.get_or_insert(e);
                            }
                        }
                        used
                    }
                    Err(e) => {
                        bad += 1;
                        first_error.get_or_insert(match stop {
                            Stop::Bad(first) => first,
                            Stop::Fallback => e,
                        });
                        break;
                    }
                }
            }
        };
        rest = rest.get(used..).unwrap_or_default();
    }
    if out.len() > guard.cap {
        return Err(Over::Cap);
    }
    Ok((good, bad, first_error))
}

/// One entry in one pass; the bytes it used.
fn entry_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    tag: &str,
    bytes: &[u8],
    now: EventTime,
    max_depth: usize,
) -> Result<usize, Stop> {
    let mut pos = 0;
    let next = |pos: &mut usize| -> Result<Head<'_>, Stop> {
        let (head, used) = Head::read(bytes.get(*pos..).unwrap_or_default())?;
        *pos += used;
        Ok(head)
    };
    if next(&mut pos)? != Head::Array(2) {
        return Err(Stop::Fallback);
    }
    let time = match next(&mut pos)? {
        Head::Scalar(v) => Timestamp::from_value(v)?,
        _ => return Err(Stop::Fallback),
    };
    let Head::Map(pairs) = next(&mut pos)? else { return Err(Stop::Fallback) };
    let time = if time.is_unset() { Timestamp::Event(now) } else { time };
    write_line_head(out, format, tag, time);
    let mut stack = [Open { left: 0, is_map: false, first: true }; fluent_proto::MAX_DEPTH];
    let mut depth = 1;
    stack[0] = Open { left: pairs * 2, is_map: true, first: true };
    out.push(b'{');
    while depth > 0 {
        let Some(top) = stack.get_mut(depth - 1) else { return Err(Stop::Fallback) };
        if top.left == 0 {
            out.push(if top.is_map { b'}' } else { b']' });
            depth -= 1;
            continue;
        }
        let is_key = top.is_map && top.left % 2 == 0;
        if (is_key || !top.is_map) && !top.first {
            out.push(b',');
        }
        top.first = false;
        top.left -= 1;
        let head = next(&mut pos)?;
        if is_key {
            match head {
                Head::Scalar(Value::Str(s)) => json::write_str(out, s),
                Head::Scalar(Value::Bin(b)) => json::write_bytes(out, b),
                Head::Scalar(other) => {
                    let mut text = Vec::new();
                    write_value(&mut text, other)?;
                    json::write_str(out, &String::from_utf8_lossy(&text));
                }
                Head::Array(_) | Head::Map(_) => return Err(Stop::Fallback),
            }
            out.push(b':');
            continue;
        }
        let opened = match head {
            Head::Scalar(v) => {
                write_value(out, v)?;
                continue;
            }
            Head::Array(n) => {
                out.push(b'[');
                Open { left: n, is_map: false, first: true }
            }
            Head::Map(n) => {
                out.push(b'{');
                Open { left: n.saturating_mul(2), is_map: true, first: true }
            }
        };
        // The record itself is one level below the entry, as in the
        // general path.
        if depth + 2 > max_depth {
            return Err(Stop::Bad(DecodeError::TooDeep { limit: max_depth }));
        }
        let Some(slot) = stack.get_mut(depth) else { return Err(Stop::Fallback) };
        *slot = opened;
        depth += 1;
    }
    write_line_tail(out, format);
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Lease;
    use fluent_proto::Events;
    use proptest::prelude::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    /// A guard with no cap and room to spare.
    macro_rules! free {
        () => {
            Guard { cap: usize::MAX, lease: &mut Lease::new(&Arc::new(Semaphore::new(1 << 40))), other: 0 }
        };
    }

    /// What the general path writes for the same entries.
    fn general(entries: &[u8], format: OutputFormat) -> (Vec<u8>, u64, u64) {
        let (mut out, mut good, mut bad) = (Vec::new(), 0, 0);
        for event in Events::packed(entries, 30) {
            match event.and_then(|e| write_event_line(&mut out, format, "t", e.time, e.record, EventTime::new(9, 0))) {
                Ok(()) => good += 1,
                Err(_) => bad += 1,
            }
        }
        (out, good, bad)
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Same lines, same counts, for random records (and for the same
        /// bytes cut short or with one byte changed).
        #[test]
        fn single_pass_equals_the_general_path(
            records in prop::collection::vec(prop::collection::btree_map("\\PC{0,8}", json_value(), 0..6), 1..5),
            seconds in any::<u32>(),
            cut in any::<prop::sample::Index>(),
            flip in any::<(prop::sample::Index, u8)>(),
        ) {
            let mut entries = Vec::new();
            for record in &records {
                fluent_proto::encode_entry(&mut entries, Timestamp::Event(EventTime::new(seconds, 7)), record).unwrap();
            }
            let mut mutated = entries.clone();
            let at = flip.0.index(mutated.len());
            mutated[at] ^= flip.1;
            let truncated = &entries[..cut.index(entries.len())];
            for bytes in [&entries[..], &mutated[..], truncated] {
                for format in [OutputFormat::JsonLines, OutputFormat::Fluentd] {
                    let mut out = Vec::new();
                    let (good, bad, _) =
                        write_packed_entries(&mut out, format, "t", bytes, EventTime::new(9, 0), 30, &mut free!()).unwrap();
                    let (expected, egood, ebad) = general(bytes, format);
                    prop_assert_eq!(&out, &expected);
                    prop_assert_eq!((good, bad), (egood, ebad));
                }
            }
        }
    }

    #[test]
    fn container_keys_and_fluent_bit_metadata_take_the_general_path() {
        // {[1]: 2} and [[time, {"m": 1}], {"k": 1}]
        let entries = b"\x92\x01\x81\x91\x01\x02\x92\x92\x05\x81\xa1m\x01\x81\xa1k\x01";
        let mut out = Vec::new();
        let (good, bad, _) = write_packed_entries(
            &mut out,
            OutputFormat::JsonLines,
            "t",
            entries,
            EventTime::new(9, 0),
            30,
            &mut free!(),
        )
        .unwrap();
        assert_eq!((good, bad), (2, 0));
        assert_eq!(out, general(entries, OutputFormat::JsonLines).0);
    }

    #[test]
    fn rendering_stops_at_the_cap() {
        // 1,000 entries [1, {}] of 4 bytes under a 1,000-byte tag.
        let entries = b"\x92\x01\x80".repeat(1_000);
        let tag = "t".repeat(1_000);
        let mut out = Vec::new();
        let mut lease = Lease::new(&Arc::new(Semaphore::new(1 << 30)));
        let mut guard = Guard { cap: 50_000, lease: &mut lease, other: 0 };
        let over =
            write_packed_entries(&mut out, OutputFormat::Fluentd, &tag, &entries, EventTime::new(9, 0), 30, &mut guard);
        assert_eq!(over, Err(Over::Cap));
        assert!(out.len() < 52_000, "stopped within one line of the cap: {}", out.len());
    }

    #[test]
    fn nesting_limit_is_the_general_paths() {
        for levels in [26, 27, 28, 29, 40] {
            // [1, {"k": [[[...]]]}] with `levels` nested arrays.
            let mut entries = b"\x92\x01\x81\xa1k".to_vec();
            entries.extend(std::iter::repeat_n(0x91u8, levels));
            entries.push(0x01);
            let mut out = Vec::new();
            let (good, bad, _) = write_packed_entries(
                &mut out,
                OutputFormat::JsonLines,
                "t",
                &entries,
                EventTime::new(9, 0),
                30,
                &mut free!(),
            )
            .unwrap();
            let (expected, egood, ebad) = general(&entries, OutputFormat::JsonLines);
            assert_eq!((good, bad, out), (egood, ebad, expected), "{levels} levels");
        }
    }
}
