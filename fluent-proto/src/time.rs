//! Event time: [`EventTime`] (msgpack ext type 0) and integer seconds
//! (Forward protocol spec, "EventTime Ext Format").

use core::fmt;

use crate::encode_error::EncodeError;
use crate::msgpack::{self, marker};
use crate::sink::Sink;

/// The msgpack ext type number of an `EventTime`.
pub const EVENT_TIME_EXT_TYPE: i8 = 0;

/// A time with nanosecond precision: seconds and nanoseconds since the Unix
/// epoch, both unsigned 32-bit, written as `fixext 8` with ext type 0
/// (`d7 00 ssssssss nnnnnnnn`).
///
/// ```
/// use fluent_proto::EventTime;
/// let t = EventTime::from_f64(1490061367.8616468906402588)?;
/// assert_eq!((t.seconds(), t.nanoseconds()), (1490061367, 861646890));
/// assert_eq!(t.to_payload(), [0x58, 0xd0, 0x88, 0x37, 0x33, 0x5b, 0xb0, 0x2a]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime {
    seconds: u32,
    nanoseconds: u32,
}

impl EventTime {
    /// A time from its two wire fields. `nanoseconds` is taken as given (the
    /// wire allows any u32; senders keep it below 10^9).
    ///
    /// ```
    /// let t = fluent_proto::EventTime::new(1, 500);
    /// assert_eq!(t.nanoseconds(), 500);
    /// ```
    #[inline]
    pub const fn new(seconds: u32, nanoseconds: u32) -> Self {
        EventTime { seconds, nanoseconds }
    }

    /// Whole seconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(fluent_proto::EventTime::new(7, 0).seconds(), 7);
    /// ```
    #[inline]
    pub const fn seconds(&self) -> u32 {
        self.seconds
    }

    /// Nanoseconds within the second.
    ///
    /// ```
    /// assert_eq!(fluent_proto::EventTime::new(7, 9).nanoseconds(), 9);
    /// ```
    #[inline]
    pub const fn nanoseconds(&self) -> u32 {
        self.nanoseconds
    }

    /// A time from nanoseconds since the Unix epoch.
    ///
    /// ```
    /// let t = fluent_proto::EventTime::from_unix_nanos(1_500_000_000_123_456_789)?;
    /// assert_eq!((t.seconds(), t.nanoseconds()), (1_500_000_000, 123_456_789));
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`EncodeError::TimeOutOfRange`] past 2^32 - 1 seconds.
    pub const fn from_unix_nanos(nanos: u64) -> Result<Self, EncodeError> {
        let seconds = nanos / 1_000_000_000;
        if seconds > u32::MAX as u64 {
            return Err(EncodeError::TimeOutOfRange);
        }
        Ok(EventTime { seconds: seconds as u32, nanoseconds: (nanos % 1_000_000_000) as u32 })
    }

    /// A time from a float of seconds, exactly as fluent-logger-python's
    /// `EventTime` does it: `sec = int(ts)`, `nsec = int(ts % 1 * 10**9)`.
    ///
    /// ```
    /// let t = fluent_proto::EventTime::from_f64(1.5)?;
    /// assert_eq!((t.seconds(), t.nanoseconds()), (1, 500_000_000));
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`EncodeError::TimeOutOfRange`] for negative, non-finite or too large values.
    pub fn from_f64(seconds: f64) -> Result<Self, EncodeError> {
        if !(0.0..4_294_967_296.0).contains(&seconds) {
            return Err(EncodeError::TimeOutOfRange);
        }
        // For non-negative finite values Rust's `%` equals Python's `%`, and
        // `as` truncates toward zero like Python's `int()`.
        let whole = seconds as u32;
        let nanos = (seconds % 1.0 * 1_000_000_000.0) as u32;
        Ok(EventTime { seconds: whole, nanoseconds: nanos })
    }

    /// The current time from the system clock.
    ///
    /// ```
    /// assert!(fluent_proto::EventTime::now()?.seconds() > 1_600_000_000);
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`EncodeError::TimeOutOfRange`] when the clock is before 1970 or after 2106.
    #[cfg(feature = "std")]
    pub fn now() -> Result<Self, EncodeError> {
        Self::from_system_time(std::time::SystemTime::now())
    }

    /// A time from a [`std::time::SystemTime`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let t = fluent_proto::EventTime::from_system_time(UNIX_EPOCH + Duration::new(5, 6))?;
    /// assert_eq!(t, fluent_proto::EventTime::new(5, 6));
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`EncodeError::TimeOutOfRange`] before 1970 or after 2106.
    #[cfg(feature = "std")]
    pub fn from_system_time(time: std::time::SystemTime) -> Result<Self, EncodeError> {
        let since = time.duration_since(std::time::UNIX_EPOCH).map_err(|_| EncodeError::TimeOutOfRange)?;
        let seconds = u32::try_from(since.as_secs()).map_err(|_| EncodeError::TimeOutOfRange)?;
        Ok(EventTime { seconds, nanoseconds: since.subsec_nanos() })
    }

    /// The 8-byte ext payload: big-endian seconds, then big-endian nanoseconds.
    ///
    /// ```
    /// assert_eq!(fluent_proto::EventTime::new(1, 2).to_payload(), [0, 0, 0, 1, 0, 0, 0, 2]);
    /// ```
    #[inline]
    pub const fn to_payload(&self) -> [u8; 8] {
        let s = self.seconds.to_be_bytes();
        let n = self.nanoseconds.to_be_bytes();
        [s[0], s[1], s[2], s[3], n[0], n[1], n[2], n[3]]
    }

    /// A time from an 8-byte ext payload.
    ///
    /// ```
    /// let t = fluent_proto::EventTime::from_payload([0, 0, 0, 1, 0, 0, 0, 2]);
    /// assert_eq!(t, fluent_proto::EventTime::new(1, 2));
    /// ```
    #[inline]
    pub const fn from_payload(p: [u8; 8]) -> Self {
        EventTime {
            seconds: u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
            nanoseconds: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        }
    }

    /// Writes this time as `fixext 8`, type 0.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// fluent_proto::EventTime::new(0x4b921e65, 256).write(&mut out)?;
    /// assert_eq!(out, [0xd7, 0x00, 0x4b, 0x92, 0x1e, 0x65, 0, 0, 1, 0]);
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    #[inline]
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let p = self.to_payload();
        Ok(sink.write(&[marker::FIXEXT8, EVENT_TIME_EXT_TYPE as u8, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]])?)
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds, self.nanoseconds)
    }
}

/// An `EventTime` inside a record serializes as a msgpack ext (type 0), through
/// the `_ExtStruct` convention that rmp-serde also understands.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Rec { at: fluent_proto::EventTime }
/// let mut out = Vec::new();
/// fluent_proto::encode_record(&mut out, &Rec { at: fluent_proto::EventTime::new(1, 2) })?;
/// assert_eq!(&out[4..6], &[0xd7, 0x00]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
impl serde::Serialize for EventTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Payload([u8; 8]);
        impl serde::Serialize for Payload {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
        serializer
            .serialize_newtype_struct(crate::ser::EXT_STRUCT_NAME, &(EVENT_TIME_EXT_TYPE, Payload(self.to_payload())))
    }
}

/// The time of an event: whole seconds (Fluentd's default) or an [`EventTime`].
///
/// ```
/// use fluent_proto::{EventTime, Timestamp};
/// let mut out = Vec::new();
/// Timestamp::Seconds(1490061367).write(&mut out)?;
/// assert_eq!(out, [0xce, 0x58, 0xd0, 0x88, 0x37]);
/// assert_eq!(Timestamp::from(EventTime::new(3, 4)).seconds(), 3);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// Whole seconds since the Unix epoch, a msgpack integer.
    Seconds(u64),
    /// Seconds and nanoseconds, msgpack ext type 0.
    Event(EventTime),
}

/// The time as seconds since the epoch: whole (`1490061367`) or with nine
/// decimals (`1490061367.000000123`).
///
/// ```
/// use fluent_proto::{EventTime, Timestamp};
/// assert_eq!(Timestamp::Seconds(1490061367).to_string(), "1490061367");
/// assert_eq!(Timestamp::Event(EventTime::new(1490061367, 123)).to_string(), "1490061367.000000123");
/// ```
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::Seconds(s) => write!(f, "{s}"),
            Timestamp::Event(t) => write!(f, "{t}"),
        }
    }
}

impl Timestamp {
    /// Writes the time as its wire value.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// fluent_proto::Timestamp::Seconds(5).write(&mut out)?;
    /// assert_eq!(out, [5]);
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    #[inline]
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match self {
            Timestamp::Seconds(s) => msgpack::write_uint(sink, *s),
            Timestamp::Event(t) => t.write(sink),
        }
    }

    /// Whole seconds since the Unix epoch.
    ///
    /// ```
    /// assert_eq!(fluent_proto::Timestamp::Seconds(9).seconds(), 9);
    /// ```
    #[inline]
    pub fn seconds(&self) -> u64 {
        match self {
            Timestamp::Seconds(s) => *s,
            Timestamp::Event(t) => u64::from(t.seconds()),
        }
    }

    /// True for time `0` (or nil on the wire), which receivers such as Fluentd
    /// replace with the time of arrival.
    ///
    /// ```
    /// assert!(fluent_proto::Timestamp::Seconds(0).is_unset());
    /// ```
    #[inline]
    pub fn is_unset(&self) -> bool {
        match self {
            Timestamp::Seconds(s) => *s == 0,
            Timestamp::Event(t) => t.seconds() == 0 && t.nanoseconds() == 0,
        }
    }
}

impl From<EventTime> for Timestamp {
    #[inline]
    fn from(t: EventTime) -> Self {
        Timestamp::Event(t)
    }
}

/// A Unix time in seconds as a UTC calendar date and time (proleptic
/// Gregorian, no leap seconds), for writing human-readable times without a
/// date library.
///
/// ```
/// use fluent_proto::UtcDateTime;
/// let t = UtcDateTime::from_unix_seconds(1_490_061_367);
/// assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2017, 3, 21, 1, 56, 7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    /// The year.
    pub year: u64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// 0 to 59.
    pub second: u8,
}

impl UtcDateTime {
    /// Converts seconds since 1970-01-01T00:00:00Z (Howard Hinnant's
    /// `civil_from_days`).
    ///
    /// ```
    /// let t = fluent_proto::UtcDateTime::from_unix_seconds(951_782_400);
    /// assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
    /// ```
    pub const fn from_unix_seconds(seconds: u64) -> Self {
        let days = seconds / 86_400;
        let secs = seconds % 86_400;
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
        UtcDateTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }
}
