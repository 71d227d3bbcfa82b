//! The option map that may end a request (Forward protocol spec, "Option").

use crate::encode_error::EncodeError;
use crate::msgpack;
use crate::sink::Sink;

/// How the entries of a PackedForward request are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed (`"text"`, which Fluentd also sends).
    Text,
    /// gzip members, back to back (`"gzip"`).
    Gzip,
}

impl Compression {
    /// The option value on the wire.
    ///
    /// ```
    /// assert_eq!(fluent_proto::Compression::Gzip.as_str(), "gzip");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            Compression::Text => "text",
            Compression::Gzip => "gzip",
        }
    }
}

/// The option map: `size` (number of events), `chunk` (ack request id) and
/// `compressed`. Only the fields that are set are written, in that order (the
/// order Fluentd's `out_forward` uses).
///
/// ```
/// use fluent_proto::Options;
/// let mut out = Vec::new();
/// Options { size: Some(2), chunk: Some("abc"), compressed: None }.write(&mut out)?;
/// assert_eq!(out, b"\x82\xa4size\x02\xa5chunk\xa3abc");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options<'a> {
    /// Number of events in the request (not bytes).
    pub size: Option<u64>,
    /// A unique id asking the server for `{"ack": chunk}`; always a msgpack str.
    pub chunk: Option<&'a str>,
    /// How PackedForward entries are compressed.
    pub compressed: Option<Compression>,
}

impl Options<'_> {
    /// Writes the map.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// fluent_proto::Options::default().write(&mut out)?;
    /// assert_eq!(out, [0x80]);
    /// # Ok::<(), fluent_proto::EncodeError>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let len = usize::from(self.size.is_some())
            + usize::from(self.chunk.is_some())
            + usize::from(self.compressed.is_some());
        msgpack::write_map_header(sink, len)?;
        if let Some(size) = self.size {
            msgpack::write_str(sink, "size")?;
            msgpack::write_uint(sink, size)?;
        }
        if let Some(chunk) = self.chunk {
            msgpack::write_str(sink, "chunk")?;
            msgpack::write_str(sink, chunk)?;
        }
        if let Some(c) = self.compressed {
            msgpack::write_str(sink, "compressed")?;
            msgpack::write_str(sink, c.as_str())?;
        }
        Ok(())
    }
}
