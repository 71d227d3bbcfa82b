//! Encoders for the four event modes (Forward protocol spec, "Event Modes").
//!
//! Every encoder returns the number of bytes it wrote and, when it fails,
//! removes its partial output from a buffered sink: a frame is written whole
//! or not at all.

use serde::Serialize;

use crate::encode_error::EncodeError;
use crate::msgpack;
use crate::options::Options;
use crate::record::encode_record;
use crate::sink::Sink;
use crate::time::Timestamp;

/// Runs `write` as one frame: returns the bytes written, or rolls the sink back.
#[inline]
fn frame<S: Sink + ?Sized>(
    sink: &mut S,
    write: impl FnOnce(&mut S) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let start = sink.position();
    match write(sink) {
        Ok(()) => Ok(sink.position().saturating_sub(start)),
        Err(e) => {
            sink.truncate(start);
            Err(e)
        }
    }
}

/// Message mode: `[tag, time, record]`, or `[tag, time, record, option]` when
/// `options` is given (spec, "Message Modes").
///
/// ```
/// use std::collections::BTreeMap;
/// use fluent_proto::{encode_message, Timestamp};
///
/// let record = BTreeMap::from([("bar", "baz")]);
/// let mut out = Vec::new();
/// encode_message(&mut out, "test.foo", Timestamp::Seconds(1), &record, None)?;
/// assert_eq!(out, b"\x93\xa8test.foo\x01\x81\xa3bar\xa3baz");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; nothing is left in a buffered sink on error.
pub fn encode_message<S: Sink + ?Sized, T: Serialize + ?Sized>(
    sink: &mut S,
    tag: &str,
    time: Timestamp,
    record: &T,
    options: Option<&Options<'_>>,
) -> Result<usize, EncodeError> {
    frame(sink, |sink| {
        msgpack::write_array_header(sink, if options.is_some() { 4 } else { 3 })?;
        msgpack::write_str(sink, tag)?;
        time.write(sink)?;
        encode_record(sink, record)?;
        if let Some(options) = options {
            options.write(sink)?;
        }
        Ok(())
    })
}

/// One entry, `[time, record]`: the unit that Forward and PackedForward
/// requests carry. A sender queues entries and wraps them into a request later.
///
/// ```
/// use std::collections::BTreeMap;
/// let mut out = Vec::new();
/// fluent_proto::encode_entry(&mut out, fluent_proto::Timestamp::Seconds(1), &BTreeMap::from([("a", 1)]))?;
/// assert_eq!(out, b"\x92\x01\x81\xa1a\x01");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; nothing is left in a buffered sink on error.
pub fn encode_entry<S: Sink + ?Sized, T: Serialize + ?Sized>(
    sink: &mut S,
    time: Timestamp,
    record: &T,
) -> Result<usize, EncodeError> {
    frame(sink, |sink| {
        msgpack::write_array_header(sink, 2)?;
        time.write(sink)?;
        encode_record(sink, record)
    })
}

/// Writes the start of a Forward request, `[tag, [` with room for `count`
/// entries; the caller then writes `count` entries ([`encode_entry`]) and, if
/// `with_options`, the option map.
///
/// ```
/// use std::collections::BTreeMap;
/// use fluent_proto::{write_forward_head, encode_entry, Timestamp};
/// let mut out = Vec::new();
/// write_forward_head(&mut out, "t", 1, false)?;
/// encode_entry(&mut out, Timestamp::Seconds(1), &BTreeMap::from([("a", 1)]))?;
/// assert_eq!(out, b"\x92\xa1t\x91\x92\x01\x81\xa1a\x01");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes.
pub fn write_forward_head<S: Sink + ?Sized>(
    sink: &mut S,
    tag: &str,
    count: usize,
    with_options: bool,
) -> Result<(), EncodeError> {
    msgpack::write_array_header(sink, if with_options { 3 } else { 2 })?;
    msgpack::write_str(sink, tag)?;
    msgpack::write_array_header(sink, count)
}

/// Forward mode: `[tag, [[time, record], ...], option?]` (spec, "Forward Mode").
///
/// ```
/// use std::collections::BTreeMap;
/// use fluent_proto::{encode_forward, Options, Timestamp};
/// let rec = BTreeMap::from([("a", 1)]);
/// let mut out = Vec::new();
/// let entries = [(Timestamp::Seconds(1), &rec), (Timestamp::Seconds(2), &rec)];
/// encode_forward(&mut out, "t", entries, Some(&Options { size: Some(2), ..Options::default() }))?;
/// assert_eq!(&out[..4], b"\x93\xa1t\x92");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; [`EncodeError::LengthMismatch`] when the iterator's
/// reported length is wrong. Nothing is left in a buffered sink on error.
pub fn encode_forward<'r, S, T, I>(
    sink: &mut S,
    tag: &str,
    entries: I,
    options: Option<&Options<'_>>,
) -> Result<usize, EncodeError>
where
    S: Sink + ?Sized,
    T: Serialize + ?Sized + 'r,
    I: IntoIterator<Item = (Timestamp, &'r T)>,
    I::IntoIter: ExactSizeIterator,
{
    frame(sink, |sink| {
        let entries = entries.into_iter();
        let count = entries.len();
        write_forward_head(sink, tag, count, options.is_some())?;
        let mut written = 0usize;
        for (time, record) in entries {
            encode_entry(sink, time, record)?;
            written = written.saturating_add(1);
        }
        if written != count {
            return Err(EncodeError::LengthMismatch);
        }
        if let Some(options) = options {
            options.write(sink)?;
        }
        Ok(())
    })
}

/// How PackedForward entries are wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntriesFormat {
    /// msgpack `bin` (the spec's SHOULD; Fluent Bit and fluent-logger-golang).
    #[default]
    Bin,
    /// msgpack `str` (what Fluentd's own `out_forward` sends; for old receivers).
    Str,
}

/// Writes the start of a PackedForward request, `[tag, <bin or str header>`
/// for `entries_len` bytes of concatenated entries; the caller then writes the
/// entries themselves (e.g. straight from a queue, without copying) and, if
/// `with_options`, the option map.
///
/// ```
/// use fluent_proto::{write_packed_forward_head, EntriesFormat};
/// let mut out = Vec::new();
/// write_packed_forward_head(&mut out, "t", 300, EntriesFormat::Bin, true)?;
/// assert_eq!(out, b"\x93\xa1t\xc5\x01\x2c");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 bytes, or when the sink refuses the bytes.
pub fn write_packed_forward_head<S: Sink + ?Sized>(
    sink: &mut S,
    tag: &str,
    entries_len: usize,
    format: EntriesFormat,
    with_options: bool,
) -> Result<(), EncodeError> {
    msgpack::write_array_header(sink, if with_options { 3 } else { 2 })?;
    msgpack::write_str(sink, tag)?;
    match format {
        EntriesFormat::Bin => msgpack::write_bin_header(sink, entries_len),
        EntriesFormat::Str => msgpack::write_str_header(sink, entries_len),
    }
}

/// PackedForward mode: `[tag, entries, option?]` where `entries` is the
/// concatenation of msgpack `[time, record]` arrays ([`encode_entry`]) wrapped
/// in bin or str (spec, "PackedForward Mode").
///
/// ```
/// use std::collections::BTreeMap;
/// use fluent_proto::{encode_entry, encode_packed_forward, EntriesFormat, Options, Timestamp};
/// let mut entries = Vec::new();
/// for i in 0..3 {
///     encode_entry(&mut entries, Timestamp::Seconds(i), &BTreeMap::from([("n", i)]))?;
/// }
/// let mut out = Vec::new();
/// let options = Options { size: Some(3), ..Options::default() };
/// encode_packed_forward(&mut out, "app", &entries, EntriesFormat::Bin, Some(&options))?;
/// assert_eq!(out[..6], *b"\x93\xa3app\xc4");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; nothing is left in a buffered sink on error.
pub fn encode_packed_forward<S: Sink + ?Sized>(
    sink: &mut S,
    tag: &str,
    entries: &[u8],
    format: EntriesFormat,
    options: Option<&Options<'_>>,
) -> Result<usize, EncodeError> {
    frame(sink, |sink| {
        write_packed_forward_head(sink, tag, entries.len(), format, options.is_some())?;
        sink.write(entries)?;
        if let Some(options) = options {
            options.write(sink)?;
        }
        Ok(())
    })
}

/// CompressedPackedForward mode: `[tag, gzip(entries) as bin, {"compressed":
/// "gzip", ...}]` (spec, "CompressedPackedForward Mode"). The `compressed`
/// option is always written; `size` and `chunk` are taken from `options`.
///
/// ```
/// use std::collections::BTreeMap;
/// use fluent_proto::{encode_entry, encode_compressed_packed_forward, Options, Timestamp};
/// let mut entries = Vec::new();
/// encode_entry(&mut entries, Timestamp::Seconds(1), &BTreeMap::from([("n", 1)]))?;
/// let mut out = Vec::new();
/// encode_compressed_packed_forward(&mut out, "app", &entries, &Options::default(), 6)?;
/// assert!(out.ends_with(b"\x81\xaacompressed\xa4gzip"));
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; nothing is left in a buffered sink on error.
#[cfg(feature = "gzip")]
pub fn encode_compressed_packed_forward<S: Sink + ?Sized>(
    sink: &mut S,
    tag: &str,
    entries: &[u8],
    options: &Options<'_>,
    level: u8,
) -> Result<usize, EncodeError> {
    let compressed = crate::gzip::compress(entries, level);
    let options = Options { compressed: Some(crate::options::Compression::Gzip), ..*options };
    encode_packed_forward(sink, tag, &compressed, EntriesFormat::Bin, Some(&options))
}

/// The server's ack reply, the msgpack map `{"ack": chunk}` (spec, "Response").
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::encode_ack(&mut out, "abc")?;
/// assert_eq!(out, b"\x81\xa3ack\xa3abc");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes; nothing is left in a buffered sink on error.
pub fn encode_ack<S: Sink + ?Sized>(sink: &mut S, chunk: &str) -> Result<usize, EncodeError> {
    frame(sink, |sink| {
        msgpack::write_map_header(sink, 1)?;
        msgpack::write_str(sink, "ack")?;
        msgpack::write_str(sink, chunk)
    })
}
