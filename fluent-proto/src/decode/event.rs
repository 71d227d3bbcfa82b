//! Events inside a request: `[time, record]`, where time may also be
//! `[time, metadata]` (Fluent Bit v2).

use super::error::DecodeError;
use super::value::{ArrayIter, RawMap, Value};
use crate::time::{EVENT_TIME_EXT_TYPE, EventTime, Timestamp};

/// One decoded event, borrowing the request's bytes.
///
/// ```
/// use fluent_proto::{Event, Timestamp};
/// let event = Event::read(b"\x92\x05\x81\xa1k\x01", 32)?;
/// assert_eq!(event.time, Timestamp::Seconds(5));
/// assert_eq!(event.record.len(), 1);
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event<'a> {
    /// The event time. Nil and `0` arrive as `Seconds(0)`
    /// ([`Timestamp::is_unset`]); receivers such as Fluentd use the arrival time.
    pub time: Timestamp,
    /// Fluent Bit v2 metadata (`[[time, metadata], record]`), if present.
    pub metadata: Option<RawMap<'a>>,
    /// The record.
    pub record: RawMap<'a>,
}

impl<'a> Event<'a> {
    /// Decodes one complete `[time, record]` entry from `bytes` (exactly one
    /// value).
    ///
    /// ```
    /// assert!(fluent_proto::Event::read(b"\x92\x05\x05", 32).is_err());
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::BadEntry`], [`DecodeError::BadTime`],
    /// [`DecodeError::RecordNotMap`], or a malformed-bytes error.
    pub fn read(bytes: &'a [u8], max_depth: usize) -> Result<Self, DecodeError> {
        let (value, _) = Value::read(bytes, max_depth)?;
        Self::from_value(value)
    }

    /// An event from an already decoded entry value.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x92\xc0\x80", 32)?;
    /// assert!(fluent_proto::Event::from_value(v)?.time.is_unset());
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Event::read`].
    pub fn from_value(value: Value<'a>) -> Result<Self, DecodeError> {
        let Value::Array(entry) = value else { return Err(DecodeError::BadEntry) };
        if entry.len() != 2 {
            return Err(DecodeError::BadEntry);
        }
        let mut items = entry.iter();
        let time_value = next_value(&mut items)?;
        let record_value = next_value(&mut items)?;
        let (time, metadata) = match time_value {
            Value::Array(pair) => {
                if pair.len() != 2 {
                    return Err(DecodeError::BadTime);
                }
                let mut it = pair.iter();
                let time = time_from_value(next_value(&mut it)?)?;
                let meta = match next_value(&mut it)? {
                    Value::Map(m) => m,
                    _ => return Err(DecodeError::RecordNotMap),
                };
                (time, Some(meta))
            }
            other => (time_from_value(other)?, None),
        };
        let Value::Map(record) = record_value else { return Err(DecodeError::RecordNotMap) };
        Ok(Event { time, metadata, record })
    }
}

fn next_value<'a>(items: &mut ArrayIter<'a>) -> Result<Value<'a>, DecodeError> {
    items.next().unwrap_or(Err(DecodeError::Truncated))
}

impl Timestamp {
    /// An event time from its decoded wire value: EventTime ext (fixext 8 or
    /// ext 8), a non-negative integer, a float (converted as
    /// fluent-logger-python does), or nil (`Seconds(0)`, unset).
    ///
    /// ```
    /// use fluent_proto::{Timestamp, Value};
    /// assert_eq!(Timestamp::from_value(Value::UInt(5)), Ok(Timestamp::Seconds(5)));
    /// assert!(Timestamp::from_value(Value::Str("x")).is_err());
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::BadTime`] for any other value.
    pub fn from_value(value: Value<'_>) -> Result<Timestamp, DecodeError> {
        time_from_value(value)
    }
}

/// A time value: EventTime ext (fixext 8 or ext 8), a non-negative integer, a
/// float (converted as fluent-logger-python does), or nil.
pub(crate) fn time_from_value(value: Value<'_>) -> Result<Timestamp, DecodeError> {
    match value {
        Value::Ext(EVENT_TIME_EXT_TYPE, data) => {
            let payload: [u8; 8] = data.try_into().map_err(|_| DecodeError::BadTime)?;
            Ok(Timestamp::Event(EventTime::from_payload(payload)))
        }
        Value::UInt(s) => Ok(Timestamp::Seconds(s)),
        Value::Nil => Ok(Timestamp::Seconds(0)),
        Value::F64(f) => EventTime::from_f64(f).map(Timestamp::Event).map_err(|_| DecodeError::BadTime),
        Value::F32(f) => EventTime::from_f64(f64::from(f)).map(Timestamp::Event).map_err(|_| DecodeError::BadTime),
        _ => Err(DecodeError::BadTime),
    }
}
