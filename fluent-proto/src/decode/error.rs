//! [`DecodeError`]: why received bytes were refused.

use core::fmt;

/// Why bytes could not be decoded. Every malformed input ends in one of
/// these; none makes the decoder panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A complete value was expected but the bytes end first.
    Truncated,
    /// `0xc1`, the one byte msgpack never uses.
    InvalidMarker(u8),
    /// The frame is (or claims to be) longer than the decoder's limit.
    FrameTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Arrays and maps are nested deeper than the decoder's limit.
    TooDeep {
        /// The limit in levels.
        limit: usize,
    },
    /// A request must be a msgpack array (or a nil heartbeat).
    NotAnArray,
    /// The request array has a length no mode allows.
    BadArity(u32),
    /// The tag is not a string.
    TagNotString,
    /// A msgpack str is not valid UTF-8.
    InvalidUtf8,
    /// The second element is neither a time, an entry array nor packed entries.
    BadEntries,
    /// An entry is not `[time, record]`.
    BadEntry,
    /// A time is not an integer, an EventTime, a float, nil or `[time, metadata]`.
    BadTime,
    /// A record (or metadata) is not a map.
    RecordNotMap,
    /// The option element is not a map, or a known option has the wrong type.
    BadOptions,
    /// The `compressed` option names a method this decoder does not read.
    UnsupportedCompression,
    /// The entries are compressed: decompress them first
    /// (`Request::decompress`, `gzip` feature).
    Compressed,
    /// The reply is not `{"ack": <str>}`.
    BadAck,
    /// gzip data could not be read.
    #[cfg(feature = "gzip")]
    Gzip(crate::gzip::GzipError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("msgpack value is truncated"),
            DecodeError::InvalidMarker(b) => write!(f, "invalid msgpack marker 0x{b:02x}"),
            DecodeError::FrameTooLarge { limit } => write!(f, "frame exceeds the {limit}-byte limit"),
            DecodeError::TooDeep { limit } => write!(f, "nesting exceeds the {limit}-level limit"),
            DecodeError::NotAnArray => f.write_str("request is not a msgpack array"),
            DecodeError::BadArity(n) => write!(f, "request array has {n} elements"),
            DecodeError::TagNotString => f.write_str("tag is not a string"),
            DecodeError::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            DecodeError::BadEntries => f.write_str("second element is not a time, an entry array or packed entries"),
            DecodeError::BadEntry => f.write_str("entry is not [time, record]"),
            DecodeError::BadTime => f.write_str("time is not an integer, EventTime, float or nil"),
            DecodeError::RecordNotMap => f.write_str("record is not a map"),
            DecodeError::BadOptions => f.write_str("option is not a map of known types"),
            DecodeError::UnsupportedCompression => f.write_str("unsupported compression"),
            DecodeError::Compressed => f.write_str("entries are compressed; decompress first"),
            DecodeError::BadAck => f.write_str("reply is not {\"ack\": <str>}"),
            #[cfg(feature = "gzip")]
            DecodeError::Gzip(e) => write!(f, "gzip: {e}"),
        }
    }
}

impl core::error::Error for DecodeError {}

#[cfg(feature = "gzip")]
impl From<crate::gzip::GzipError> for DecodeError {
    fn from(e: crate::gzip::GzipError) -> Self {
        DecodeError::Gzip(e)
    }
}
