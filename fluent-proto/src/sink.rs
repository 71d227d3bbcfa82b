//! Where encoded bytes go: the [`Sink`] trait and its implementations.
//!
//! The codec never allocates and never cares where its bytes end up. A sink is
//! either *buffered* (a slice, a `heapless::Vec`, an `alloc::vec::Vec`), which can
//! forget a partly written frame and rewrite bytes it already holds, or a
//! *stream* ([`IoSink`] over any `embedded_io::Write`), which cannot.

use core::fmt;

/// Why a [`Sink`] refused bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkError {
    /// A fixed-capacity buffer has no room for the bytes.
    Full,
    /// The underlying writer failed with this kind of error.
    Io(embedded_io::ErrorKind),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Full => f.write_str("buffer full"),
            SinkError::Io(kind) => write!(f, "write failed: {kind:?}"),
        }
    }
}

impl core::error::Error for SinkError {}

/// A destination for encoded bytes.
///
/// Frame encoders remember [`position`](Sink::position) before they start and
/// call [`truncate`](Sink::truncate) when they fail, so a buffered sink never
/// keeps half a frame.
///
/// ```
/// use fluent_proto::{Sink, SliceSink, SinkError};
///
/// let mut storage = [0u8; 4];
/// let mut sink = SliceSink::new(&mut storage);
/// sink.write(b"abc")?;
/// assert_eq!(sink.write(b"de"), Err(SinkError::Full));
/// assert_eq!(sink.written(), b"abc");
/// # Ok::<(), SinkError>(())
/// ```
pub trait Sink {
    /// Appends all of `bytes`, or fails without a partial append where the sink
    /// can guarantee that (buffered sinks do).
    ///
    /// # Errors
    /// [`SinkError::Full`] when a fixed buffer has no room,
    /// [`SinkError::Io`] when a stream fails.
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError>;

    /// Appends one byte.
    ///
    /// # Errors
    /// As [`write`](Sink::write).
    #[inline]
    fn write_byte(&mut self, byte: u8) -> Result<(), SinkError> {
        self.write(&[byte])
    }

    /// How many bytes this sink has taken so far.
    fn position(&self) -> usize;

    /// Forgets every byte written after `position` (used to drop a frame whose
    /// encoding failed). Streams cannot un-send bytes and ignore this: after
    /// their error the stream itself is unusable.
    fn truncate(&mut self, position: usize);

    /// The bytes written since `position`, mutable, for buffered sinks; `None`
    /// for streams. Used to patch a msgpack length that was not known up front.
    #[inline]
    fn written_since(&mut self, position: usize) -> Option<&mut [u8]> {
        let _ = position;
        None
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        (**self).write(bytes)
    }
    #[inline]
    fn write_byte(&mut self, byte: u8) -> Result<(), SinkError> {
        (**self).write_byte(byte)
    }
    #[inline]
    fn position(&self) -> usize {
        (**self).position()
    }
    #[inline]
    fn truncate(&mut self, position: usize) {
        (**self).truncate(position)
    }
    #[inline]
    fn written_since(&mut self, position: usize) -> Option<&mut [u8]> {
        (**self).written_since(position)
    }
}

/// A sink over a caller-owned byte slice.
///
/// ```
/// use fluent_proto::{Sink, SliceSink};
///
/// let mut storage = [0u8; 16];
/// let mut sink = SliceSink::new(&mut storage);
/// sink.write_byte(0xc0)?;
/// assert_eq!(sink.written(), &[0xc0]);
/// # Ok::<(), fluent_proto::SinkError>(())
/// ```
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceSink<'a> {
    /// A sink that writes from the start of `buf`.
    ///
    /// ```
    /// let mut storage = [0u8; 8];
    /// let sink = fluent_proto::SliceSink::new(&mut storage);
    /// assert_eq!(sink.written(), b"");
    /// ```
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceSink { buf, len: 0 }
    }

    /// The bytes written so far.
    ///
    /// ```
    /// use fluent_proto::{Sink, SliceSink};
    /// let mut storage = [0u8; 8];
    /// let mut sink = SliceSink::new(&mut storage);
    /// sink.write(b"hi")?;
    /// assert_eq!(sink.written(), b"hi");
    /// # Ok::<(), fluent_proto::SinkError>(())
    /// ```
    #[inline]
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Consumes the sink, returning the written prefix of the buffer.
    ///
    /// ```
    /// use fluent_proto::{Sink, SliceSink};
    /// let mut storage = [0u8; 8];
    /// let mut sink = SliceSink::new(&mut storage);
    /// sink.write(b"ok")?;
    /// assert_eq!(sink.into_written(), b"ok");
    /// # Ok::<(), fluent_proto::SinkError>(())
    /// ```
    #[inline]
    pub fn into_written(self) -> &'a mut [u8] {
        let len = self.len;
        self.buf.get_mut(..len).unwrap_or(&mut [])
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        let end = self.len.checked_add(bytes.len()).ok_or(SinkError::Full)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(SinkError::Full)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    #[inline]
    fn write_byte(&mut self, byte: u8) -> Result<(), SinkError> {
        let dst = self.buf.get_mut(self.len).ok_or(SinkError::Full)?;
        *dst = byte;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn position(&self) -> usize {
        self.len
    }

    #[inline]
    fn truncate(&mut self, position: usize) {
        self.len = self.len.min(position);
    }

    #[inline]
    fn written_since(&mut self, position: usize) -> Option<&mut [u8]> {
        self.buf.get_mut(position..self.len)
    }
}

impl<const N: usize> Sink for heapless::Vec<u8, N> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.extend_from_slice(bytes).map_err(|_| SinkError::Full)
    }

    #[inline]
    fn write_byte(&mut self, byte: u8) -> Result<(), SinkError> {
        self.push(byte).map_err(|_| SinkError::Full)
    }

    #[inline]
    fn position(&self) -> usize {
        self.len()
    }

    #[inline]
    fn truncate(&mut self, position: usize) {
        heapless::Vec::truncate(self, position)
    }

    #[inline]
    fn written_since(&mut self, position: usize) -> Option<&mut [u8]> {
        self.as_mut_slice().get_mut(position..)
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn write_byte(&mut self, byte: u8) -> Result<(), SinkError> {
        self.push(byte);
        Ok(())
    }

    #[inline]
    fn position(&self) -> usize {
        self.len()
    }

    #[inline]
    fn truncate(&mut self, position: usize) {
        alloc::vec::Vec::truncate(self, position)
    }

    #[inline]
    fn written_since(&mut self, position: usize) -> Option<&mut [u8]> {
        self.get_mut(position..)
    }
}

/// A sink that streams into any blocking [`embedded_io::Write`] (a UART, a TCP
/// socket, `embedded-io-adapters`' `FromStd`).
///
/// A stream cannot take bytes back: when a frame fails half way, the bytes
/// before the failure have been written and the writer's error is returned;
/// treat the stream as broken. Encode into a buffered sink first when a frame
/// must reach the wire whole or not at all.
///
/// ```
/// use fluent_proto::{IoSink, Sink};
///
/// let mut out = [0u8; 8];
/// let mut sink = IoSink::new(&mut out[..]); // `&mut [u8]` implements embedded_io::Write
/// sink.write(b"abc")?;
/// assert_eq!(sink.position(), 3);
/// # Ok::<(), fluent_proto::SinkError>(())
/// ```
#[derive(Debug)]
pub struct IoSink<W> {
    writer: W,
    written: usize,
}

impl<W: embedded_io::Write> IoSink<W> {
    /// Wraps `writer`.
    ///
    /// ```
    /// let mut out = [0u8; 8];
    /// let sink = fluent_proto::IoSink::new(&mut out[..]);
    /// # let _ = sink;
    /// ```
    pub fn new(writer: W) -> Self {
        IoSink { writer, written: 0 }
    }

    /// Returns the writer.
    ///
    /// ```
    /// let mut out = [0u8; 8];
    /// let sink = fluent_proto::IoSink::new(&mut out[..]);
    /// let _writer: &mut [u8] = sink.into_inner();
    /// ```
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: embedded_io::Write> Sink for IoSink<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        use embedded_io::Error as _;
        self.writer.write_all(bytes).map_err(|e| SinkError::Io(e.kind()))?;
        self.written = self.written.saturating_add(bytes.len());
        Ok(())
    }

    fn position(&self) -> usize {
        self.written
    }

    fn truncate(&mut self, _position: usize) {}
}

/// A sink that only counts: the exact encoded size of a frame without writing it.
///
/// ```
/// use fluent_proto::{CountingSink, Sink};
/// let mut counter = CountingSink::default();
/// counter.write(b"12345")?;
/// assert_eq!(counter.position(), 5);
/// # Ok::<(), fluent_proto::SinkError>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink {
    count: usize,
}

impl Sink for CountingSink {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.count = self.count.saturating_add(bytes.len());
        Ok(())
    }

    #[inline]
    fn position(&self) -> usize {
        self.count
    }

    #[inline]
    fn truncate(&mut self, position: usize) {
        self.count = self.count.min(position);
    }
}
