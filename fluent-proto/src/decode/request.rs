//! Requests: the four event modes as a receiver sees them (Forward protocol
//! spec, "Event Modes"), told apart by the type of the second element.

use super::error::DecodeError;
use super::event::{Event, time_from_value};
use super::value::{ArrayIter, RawArray, RawMap, Value};
use crate::frame::EntriesFormat;
use crate::options::Compression;

/// Which event mode a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `[tag, time, record, option?]`
    Message,
    /// `[tag, [[time, record], ...], option?]`
    Forward,
    /// `[tag, bin-or-str entries, option?]`
    PackedForward,
    /// `[tag, gzip entries, {"compressed": "gzip"}]`
    CompressedPackedForward,
}

/// The options a request carried; unknown keys are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestOptions<'a> {
    /// `size`: the number of events the sender says it packed.
    pub size: Option<u64>,
    /// `chunk`: the id to echo in `{"ack": chunk}`, byte for byte.
    pub chunk: Option<&'a str>,
    /// `compressed`.
    pub compressed: Option<Compression>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Body<'a> {
    Message(Event<'a>),
    Forward(RawArray<'a>),
    Packed(&'a [u8], EntriesFormat),
    Compressed(&'a [u8]),
}

/// A decoded request, borrowing the frame's bytes.
///
/// ```
/// use fluent_proto::{Mode, Request};
/// let frame = b"\x93\xa8test.foo\x01\x81\xa3bar\xa3baz";
/// let request = Request::parse(frame, 32)?;
/// assert_eq!((request.tag(), request.mode()), ("test.foo", Mode::Message));
/// let event = request.events().next().unwrap()?;
/// assert_eq!(event.record.get("bar")?, Some(fluent_proto::Value::Str("baz")));
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request<'a> {
    tag: &'a str,
    body: Body<'a>,
    options: RequestOptions<'a>,
    max_depth: usize,
}

impl<'a> Request<'a> {
    /// Parses one complete request frame.
    ///
    /// ```
    /// assert!(fluent_proto::Request::parse(b"\x91\xa1t", 32).is_err());
    /// ```
    ///
    /// # Errors
    /// A [`DecodeError`] naming what is wrong with the request's shape.
    pub fn parse(frame: &'a [u8], max_depth: usize) -> Result<Self, DecodeError> {
        let (value, _) = Value::read(frame, max_depth)?;
        let Value::Array(items) = value else { return Err(DecodeError::NotAnArray) };
        let arity = items.len();
        let mut it = items.iter();
        let tag = match next(&mut it)? {
            Value::Str(s) => s,
            _ => return Err(DecodeError::TagNotString),
        };
        if let Some(entries) = it.next_if_raw_str() {
            let body = Body::Packed(entries?, EntriesFormat::Str);
            return finish(tag, body, 2, arity, it, max_depth);
        }
        let second = next(&mut it)?;
        let (body, options_at) = match second {
            Value::Array(entries) => (Body::Forward(entries), 2),
            Value::Bin(b) => (Body::Packed(b, EntriesFormat::Bin), 2),
            time @ (Value::Ext(..) | Value::UInt(_) | Value::Nil | Value::F64(_) | Value::F32(_)) => {
                let time = time_from_value(time)?;
                let record = match next(&mut it)? {
                    Value::Map(m) => m,
                    _ => return Err(DecodeError::RecordNotMap),
                };
                (Body::Message(Event { time, metadata: None, record }), 3)
            }
            _ => return Err(DecodeError::BadEntries),
        };
        finish(tag, body, options_at, arity, it, max_depth)
    }

    /// The tag.
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x93\xa1t\x01\x80", 8)?;
    /// assert_eq!(r.tag(), "t");
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn tag(&self) -> &'a str {
        self.tag
    }

    /// The event mode.
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x92\xa1t\x90", 8)?;
    /// assert_eq!(r.mode(), fluent_proto::Mode::Forward);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn mode(&self) -> Mode {
        match self.body {
            Body::Message(_) => Mode::Message,
            Body::Forward(_) => Mode::Forward,
            Body::Packed(..) => Mode::PackedForward,
            Body::Compressed(_) => Mode::CompressedPackedForward,
        }
    }

    /// The options (all `None` when the request had none).
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x94\xa1t\x01\x80\x81\xa5chunk\xa2id", 8)?;
    /// assert_eq!(r.options().chunk, Some("id"));
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn options(&self) -> RequestOptions<'a> {
        self.options
    }

    /// For PackedForward, the raw concatenated entries and how they were wrapped.
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x92\xa1t\xc4\x03\x92\x01\x80", 8)?;
    /// assert_eq!(r.packed_entries().map(|(b, _)| b.len()), Some(3));
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn packed_entries(&self) -> Option<(&'a [u8], EntriesFormat)> {
        match self.body {
            Body::Packed(bytes, format) => Some((bytes, format)),
            _ => None,
        }
    }

    /// For CompressedPackedForward, the compressed entries (gzip members).
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x92\xa1t\x90", 8)?;
    /// assert_eq!(r.compressed_entries(), None);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn compressed_entries(&self) -> Option<&'a [u8]> {
        match self.body {
            Body::Compressed(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The events, decoded lazily. An event of the wrong shape yields an error
    /// and iteration goes on with the next one (Fluentd drops such events but
    /// keeps the rest); malformed bytes end the iteration. A compressed request
    /// yields one [`DecodeError::Compressed`]: decompress it with
    /// `Request::decompress` (`gzip` feature) and read the result with [`Events::packed`].
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x92\xa1t\x92\x92\x01\x80\x92\x02\x80", 8)?;
    /// assert_eq!(r.events().filter(Result::is_ok).count(), 2);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn events(&self) -> Events<'a> {
        let inner = match self.body {
            Body::Message(event) => Inner::One(Some(event)),
            Body::Forward(entries) => Inner::Array(entries.iter()),
            Body::Packed(bytes, _) => Inner::Packed(bytes),
            Body::Compressed(_) => Inner::Compressed(true),
        };
        Events { inner, max_depth: self.max_depth }
    }

    /// Decompresses a CompressedPackedForward request's entries (every gzip
    /// member), producing at most `max_len` bytes; read them with
    /// [`Events::packed`]. For other modes, returns an empty vector.
    ///
    /// ```
    /// use fluent_proto::{encode_compressed_packed_forward, encode_entry, Events, Options, Request, Timestamp};
    /// let mut entries = Vec::new();
    /// encode_entry(&mut entries, Timestamp::Seconds(1), &std::collections::BTreeMap::from([("a", 1)]))?;
    /// let mut frame = Vec::new();
    /// encode_compressed_packed_forward(&mut frame, "t", &entries, &Options::default(), 6)?;
    /// let request = Request::parse(&frame, 32)?;
    /// let plain = request.decompress(1 << 20)?;
    /// assert_eq!(Events::packed(&plain, 30).count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::Gzip`] for corrupt data or output over `max_len`.
    #[cfg(feature = "gzip")]
    pub fn decompress(&self, max_len: usize) -> Result<alloc::vec::Vec<u8>, DecodeError> {
        match self.body {
            Body::Compressed(bytes) => Ok(crate::gzip::decompress(bytes, max_len)?),
            _ => Ok(alloc::vec::Vec::new()),
        }
    }

    /// As [`Request::decompress`], appending to `out`: a caller that
    /// reserved `max_len + 1` bytes of capacity gets no allocation.
    ///
    /// ```
    /// use fluent_proto::{Options, Request, Timestamp, encode_compressed_packed_forward, encode_entry};
    /// let mut entries = Vec::new();
    /// encode_entry(&mut entries, Timestamp::Seconds(1), &std::collections::BTreeMap::from([("k", 1)]))?;
    /// let mut frame = Vec::new();
    /// encode_compressed_packed_forward(&mut frame, "t", &entries, &Options::default(), 6)?;
    /// let request = Request::parse(&frame, 32)?;
    /// let mut plain = Vec::with_capacity(1025);
    /// request.decompress_into(&mut plain, 1024)?;
    /// assert_eq!((plain, 1025), (entries, 1025));
    /// assert!(request.decompress_into(&mut Vec::new(), 2).is_err(), "over the limit");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Request::decompress`]; `out` may then hold part of the output.
    #[cfg(feature = "gzip")]
    pub fn decompress_into(&self, out: &mut alloc::vec::Vec<u8>, max_len: usize) -> Result<(), DecodeError> {
        match self.body {
            Body::Compressed(bytes) => Ok(crate::gzip::decompress_into(bytes, out, max_len)?),
            _ => Ok(()),
        }
    }

    /// The nesting budget left for events (the decoder's limit minus the
    /// request's own two levels).
    ///
    /// ```
    /// let r = fluent_proto::Request::parse(b"\x92\xa1t\x90", 32)?;
    /// assert_eq!(r.event_depth(), 30);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn event_depth(&self) -> usize {
        self.max_depth
    }
}

/// Checks the arity, reads the options, and builds the request.
fn finish<'a>(
    tag: &'a str,
    body: Body<'a>,
    options_at: u64,
    arity: u64,
    mut it: ArrayIter<'a>,
    max_depth: usize,
) -> Result<Request<'a>, DecodeError> {
    if arity != options_at && arity != options_at + 1 {
        return Err(DecodeError::BadArity(u32::try_from(arity).unwrap_or(u32::MAX)));
    }
    let options = match it.next() {
        None => RequestOptions::default(),
        Some(v) => parse_options(v?)?,
    };
    let body = match (body, options.compressed) {
        (Body::Packed(bytes, _), Some(Compression::Gzip)) => Body::Compressed(bytes),
        (body, _) => body,
    };
    Ok(Request { tag, body, options, max_depth: max_depth.saturating_sub(2) })
}

fn next<'a>(it: &mut ArrayIter<'a>) -> Result<Value<'a>, DecodeError> {
    it.next().unwrap_or(Err(DecodeError::BadArity(1)))
}

fn parse_options(value: Value<'_>) -> Result<RequestOptions<'_>, DecodeError> {
    let map: RawMap<'_> = match value {
        Value::Map(m) => m,
        Value::Nil => return Ok(RequestOptions::default()),
        _ => return Err(DecodeError::BadOptions),
    };
    let mut options = RequestOptions::default();
    for pair in map.iter() {
        let (key, value) = pair?;
        match (key, value) {
            (Value::Str("size"), Value::UInt(n)) => options.size = Some(n),
            (Value::Str("size"), _) => return Err(DecodeError::BadOptions),
            (Value::Str("chunk"), Value::Str(c)) => options.chunk = Some(c),
            (Value::Str("chunk"), _) => return Err(DecodeError::BadOptions),
            (Value::Str("compressed"), Value::Str("gzip")) => options.compressed = Some(Compression::Gzip),
            (Value::Str("compressed"), Value::Str("text")) => options.compressed = Some(Compression::Text),
            (Value::Str("compressed"), _) => return Err(DecodeError::UnsupportedCompression),
            _ => {}
        }
    }
    Ok(options)
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    One(Option<Event<'a>>),
    Array(ArrayIter<'a>),
    Packed(&'a [u8]),
    Compressed(bool),
}

/// Iterator over a request's events.
#[derive(Debug, Clone)]
pub struct Events<'a> {
    inner: Inner<'a>,
    max_depth: usize,
}

impl<'a> Events<'a> {
    /// Events from concatenated `[time, record]` entries, as PackedForward
    /// carries them (or as they come out of `Request::decompress`).
    ///
    /// ```
    /// let events = fluent_proto::Events::packed(b"\x92\x01\x80\x92\x02\x80", 30);
    /// assert_eq!(events.count(), 2);
    /// ```
    pub fn packed(entries: &'a [u8], max_depth: usize) -> Self {
        Events { inner: Inner::Packed(entries), max_depth }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<Event<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::One(event) => event.take().map(Ok),
            Inner::Array(items) => Some(items.next()?.and_then(Event::from_value)),
            Inner::Packed(rest) => {
                if rest.is_empty() {
                    return None;
                }
                // One pass finds the entry's end and decodes it.
                match Value::read(rest, self.max_depth) {
                    Ok((value, n)) => {
                        *rest = rest.get(n..).unwrap_or(&[]);
                        Some(Event::from_value(value))
                    }
                    Err(e) => {
                        *rest = &[];
                        Some(Err(e))
                    }
                }
            }
            Inner::Compressed(pending) => {
                if core::mem::take(pending) {
                    Some(Err(DecodeError::Compressed))
                } else {
                    None
                }
            }
        }
    }
}

/// Reads a server's ack reply `{"ack": chunk}` (a complete frame).
///
/// ```
/// assert_eq!(fluent_proto::parse_ack(b"\x81\xa3ack\xa3abc")?, "abc");
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
///
/// # Errors
/// [`DecodeError::BadAck`] when the value is not such a map.
pub fn parse_ack(frame: &[u8]) -> Result<&str, DecodeError> {
    let (value, _) = Value::read(frame, 2)?;
    let map = value.as_map().ok_or(DecodeError::BadAck)?;
    match map.get("ack")? {
        Some(Value::Str(chunk)) => Ok(chunk),
        _ => Err(DecodeError::BadAck),
    }
}
