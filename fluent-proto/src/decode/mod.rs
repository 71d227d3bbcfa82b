//! The receiving side: an incremental frame decoder, borrowed values, requests
//! and their events.
//!
//! **The decoder never panics, whatever the input.** Every read is bounds
//! checked, lengths are checked against the frame limit before any byte is
//! awaited, nesting is bounded, and nothing recurses on input. This is
//! checked by property tests over random and mutated frames
//! (`fluent-proto/tests/decode_never_panics.rs`).

mod error;
mod event;
mod head;
mod request;
mod scan;
mod token;
mod value;

pub use error::DecodeError;
pub use event::Event;
pub use head::Head;
pub use request::{Events, Mode, Request, RequestOptions, parse_ack};
pub use scan::MAX_DEPTH;
pub use value::{ArrayIter, MapIter, RawArray, RawMap, Value};

use scan::{Scan, Scanner};

/// Limits that bound what a peer can make the decoder hold.
///
/// ```
/// let limits = fluent_proto::Limits { max_frame_len: 1 << 20, ..Default::default() };
/// assert_eq!(limits.max_depth, 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame (one msgpack value) accepted, in bytes.
    pub max_frame_len: usize,
    /// The deepest nesting of arrays and maps accepted (at most [`MAX_DEPTH`]).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 16 MiB frames, 32 levels.
    fn default() -> Self {
        Limits { max_frame_len: 16 * 1024 * 1024, max_depth: 32 }
    }
}

/// One frame the decoder found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Frame<'a> {
    /// A `nil` heartbeat (spec, "Heartbeat Message"): ignore it.
    Heartbeat,
    /// An event request.
    Request(Request<'a>),
}

/// The outcome of [`FrameDecoder::decode`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoded<'a> {
    /// The buffer holds no complete frame yet; call again with more bytes.
    NeedMore,
    /// A complete frame, and how many bytes of the buffer it used.
    Frame {
        /// The frame.
        frame: Frame<'a>,
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
    },
}

/// An incremental decoder for a stream of frames (spec, "Connection").
///
/// Keep received bytes in a buffer and call [`decode`](FrameDecoder::decode)
/// after each read; drop `consumed` bytes after each frame. Work already done
/// on a partial frame is kept between calls.
///
/// ```
/// use fluent_proto::{Decoded, Frame, FrameDecoder, Limits};
///
/// let wire = b"\xc0\x93\xa3tag\x01\x81\xa1k\xa1v";
/// let mut decoder = FrameDecoder::new(Limits::default());
/// let mut buf = Vec::new();
/// let mut requests = 0;
/// for byte in wire {
///     buf.push(*byte); // bytes arrive one at a time
///     while let Decoded::Frame { frame, consumed } = decoder.decode(&buf)? {
///         if let Frame::Request(r) = frame {
///             assert_eq!(r.tag(), "tag");
///             requests += 1;
///         }
///         buf.drain(..consumed);
///     }
/// }
/// assert_eq!(requests, 1);
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    scanner: Scanner,
    limits: Limits,
}

impl FrameDecoder {
    /// A decoder with these limits.
    ///
    /// ```
    /// let _decoder = fluent_proto::FrameDecoder::new(Default::default());
    /// ```
    pub const fn new(limits: Limits) -> Self {
        FrameDecoder { scanner: Scanner::new(limits.max_frame_len, limits.max_depth), limits }
    }

    /// The limits in force.
    ///
    /// ```
    /// let d = fluent_proto::FrameDecoder::new(Default::default());
    /// assert_eq!(d.limits().max_depth, 32);
    /// ```
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Finds the length of the next complete msgpack value in `buf`, of any
    /// type (used for handshake messages and replies); `None` when more bytes
    /// are needed.
    ///
    /// ```
    /// let mut d = fluent_proto::FrameDecoder::new(Default::default());
    /// assert_eq!(d.next_value_len(b"\x92\x01")?, None);
    /// assert_eq!(d.next_value_len(b"\x92\x01\x02\xc0")?, Some(3));
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// Malformed bytes, or a value over the limits; the stream cannot be
    /// resynchronised after an error.
    pub fn next_value_len(&mut self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        match self.scanner.scan(buf) {
            Ok(Scan::Complete(n)) => Ok(Some(n)),
            Ok(Scan::Incomplete) => Ok(None),
            Err(e) => {
                self.scanner.reset();
                Err(e)
            }
        }
    }

    /// Decodes the next frame at the start of `buf`.
    ///
    /// ```
    /// use fluent_proto::{Decoded, FrameDecoder};
    /// let mut d = FrameDecoder::new(Default::default());
    /// assert_eq!(d.decode(b"\x93\xa1t")?, Decoded::NeedMore);
    /// assert!(d.decode(b"\x01").is_err()); // not an array
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::NotAnArray`] as soon as the first byte shows a
    /// non-array; any error of [`Request::parse`]; malformed bytes; a frame
    /// over the limits. After an error the connection should be closed.
    pub fn decode<'b>(&mut self, buf: &'b [u8]) -> Result<Decoded<'b>, DecodeError> {
        let Some(&first) = buf.first() else { return Ok(Decoded::NeedMore) };
        let is_array = matches!(first, 0x90..=0x9f | 0xdc | 0xdd);
        if first != 0xc0 && !is_array {
            self.scanner.reset();
            return Err(DecodeError::NotAnArray);
        }
        let Some(len) = self.next_value_len(buf)? else { return Ok(Decoded::NeedMore) };
        let bytes = buf.get(..len).ok_or(DecodeError::Truncated)?;
        let frame = if first == 0xc0 {
            Frame::Heartbeat
        } else {
            Frame::Request(Request::parse(bytes, self.limits.max_depth)?)
        };
        Ok(Decoded::Frame { frame, consumed: len })
    }
}
