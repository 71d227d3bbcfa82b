//! [`EncodeError`]: everything that can stop a frame from being encoded.

use core::fmt;

use crate::sink::SinkError;

/// The text of a `serde` custom error, cut to fit without an allocator.
pub type CustomMessage = heapless::String<48>;

/// Why a value, a record or a frame could not be encoded.
///
/// A failed frame encoder has already removed its partial bytes from a
/// buffered sink; nothing half-written is left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The sink's fixed buffer had no room for the whole frame.
    BufferFull,
    /// The sink's writer failed.
    Io(embedded_io::ErrorKind),
    /// A record must be a map (a struct or a map type); this was something else.
    RecordNotMap,
    /// A record's top-level keys must be strings.
    KeyNotString,
    /// A string, binary, array or map longer than msgpack's 2^32 - 1 limit.
    TooLong,
    /// A sequence or map whose length serde did not give up front cannot be
    /// written to a stream (it can into a buffered sink).
    UnknownLength,
    /// A `Serialize` implementation announced one length and produced another.
    LengthMismatch,
    /// An integer that does not fit in 64 bits.
    IntegerTooLarge,
    /// A time that cannot be expressed as an `EventTime` (negative, not finite,
    /// or past 2106-02-07).
    TimeOutOfRange,
    /// A `Serialize` implementation reported an error of its own.
    Custom(CustomMessage),
}

impl From<SinkError> for EncodeError {
    #[inline]
    fn from(e: SinkError) -> Self {
        match e {
            SinkError::Full => EncodeError::BufferFull,
            SinkError::Io(kind) => EncodeError::Io(kind),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull => f.write_str("the output buffer is full"),
            EncodeError::Io(kind) => write!(f, "the writer failed: {kind:?}"),
            EncodeError::RecordNotMap => f.write_str("a record must serialize as a map (a struct or a map)"),
            EncodeError::KeyNotString => f.write_str("a record's keys must be strings"),
            EncodeError::TooLong => f.write_str("value longer than msgpack's 2^32-1 limit"),
            EncodeError::UnknownLength => {
                f.write_str("a sequence or map of unknown length cannot be written to a stream sink")
            }
            EncodeError::LengthMismatch => {
                f.write_str("a Serialize impl produced a different number of items than it announced")
            }
            EncodeError::IntegerTooLarge => f.write_str("integer does not fit in 64 bits"),
            EncodeError::TimeOutOfRange => f.write_str("time is out of EventTime's range (0 ..= 2^32-1 seconds)"),
            EncodeError::Custom(msg) => write!(f, "serialize error: {msg}"),
        }
    }
}

impl core::error::Error for EncodeError {}

impl serde::ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let mut text = CustomMessage::new();
        // Keep what fits; a cut message is better than none.
        let _ = fmt::write(&mut TruncatingWriter(&mut text), format_args!("{msg}"));
        EncodeError::Custom(text)
    }
}

/// Writes into a fixed string, silently keeping the prefix that fits (on a
/// char boundary).
struct TruncatingWriter<'a>(&'a mut CustomMessage);

impl fmt::Write for TruncatingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}
