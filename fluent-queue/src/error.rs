//! Errors of the producer and consumer operations.

use core::fmt;

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveError {
    /// The frame is larger than the whole ring (in every mode).
    TooLarge {
        /// Bytes asked for.
        len: usize,
        /// The ring's byte capacity.
        capacity: usize,
    },
    /// Block mode: no room (bytes or frame slots) until the consumer frees some.
    Full,
    /// Overwrite mode: room could only be made by evicting frames the
    /// consumer is reading right now; the new frame is dropped instead.
    /// Also, on targets with 32-bit atomics only, after 2^30 evictions
    /// without the consumer touching the ring (its 31-bit view of the
    /// oldest frame would become ambiguous), until it does.
    Busy,
    /// A frame must hold at least one byte.
    Empty,
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::TooLarge { len, capacity } => {
                write!(f, "frame of {len} bytes is larger than the ring ({capacity} bytes)")
            }
            ReserveError::Full => f.write_str("ring is full"),
            ReserveError::Busy => f.write_str(
                "ring is full and the consumer holds the oldest frames (or has not looked for 2^30 evictions)",
            ),
            ReserveError::Empty => f.write_str("a frame must not be empty"),
        }
    }
}

impl core::error::Error for ReserveError {}

/// A failed push, handing the frame back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushError<'a> {
    /// Why.
    pub reason: ReserveError,
    /// The frame that was not queued.
    pub frame: &'a [u8],
}

impl fmt::Display for PushError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "push of {} bytes failed: {}", self.frame.len(), self.reason)
    }
}

impl core::error::Error for PushError<'_> {}

/// Why a pop failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PopError {
    /// No frame is queued.
    Empty,
    /// The output buffer is smaller than the next frame (which stays queued).
    BufferTooSmall {
        /// The frame's length.
        needed: usize,
    },
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopError::Empty => f.write_str("ring is empty"),
            PopError::BufferTooSmall { needed } => write!(f, "next frame needs a {needed}-byte buffer"),
        }
    }
}

impl core::error::Error for PopError {}
