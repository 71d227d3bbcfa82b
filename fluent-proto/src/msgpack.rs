//! A msgpack writer: one free function per msgpack format family.
//!
//! Integers take the smallest encoding that holds their value, exactly as
//! msgpack-python and rmp choose it: non-negative values use positive fixint or
//! `uint 8/16/32/64`, negative values use negative fixint or `int 8/16/32/64`.
//! Strings use fixstr/`str 8/16/32`, binaries `bin 8/16/32` (the msgpack spec,
//! "Formats").

use crate::encode_error::EncodeError;
use crate::sink::Sink;

/// msgpack marker bytes (the msgpack spec, "Overview").
pub mod marker {
    /// `nil`
    pub const NIL: u8 = 0xc0;
    /// `false`
    pub const FALSE: u8 = 0xc2;
    /// `true`
    pub const TRUE: u8 = 0xc3;
    /// `bin 8`
    pub const BIN8: u8 = 0xc4;
    /// `bin 16`
    pub const BIN16: u8 = 0xc5;
    /// `bin 32`
    pub const BIN32: u8 = 0xc6;
    /// `ext 8`
    pub const EXT8: u8 = 0xc7;
    /// `ext 16`
    pub const EXT16: u8 = 0xc8;
    /// `ext 32`
    pub const EXT32: u8 = 0xc9;
    /// `float 32`
    pub const F32: u8 = 0xca;
    /// `float 64`
    pub const F64: u8 = 0xcb;
    /// `uint 8`
    pub const U8: u8 = 0xcc;
    /// `uint 16`
    pub const U16: u8 = 0xcd;
    /// `uint 32`
    pub const U32: u8 = 0xce;
    /// `uint 64`
    pub const U64: u8 = 0xcf;
    /// `int 8`
    pub const I8: u8 = 0xd0;
    /// `int 16`
    pub const I16: u8 = 0xd1;
    /// `int 32`
    pub const I32: u8 = 0xd2;
    /// `int 64`
    pub const I64: u8 = 0xd3;
    /// `fixext 1`
    pub const FIXEXT1: u8 = 0xd4;
    /// `fixext 2`
    pub const FIXEXT2: u8 = 0xd5;
    /// `fixext 4`
    pub const FIXEXT4: u8 = 0xd6;
    /// `fixext 8`
    pub const FIXEXT8: u8 = 0xd7;
    /// `fixext 16`
    pub const FIXEXT16: u8 = 0xd8;
    /// `str 8`
    pub const STR8: u8 = 0xd9;
    /// `str 16`
    pub const STR16: u8 = 0xda;
    /// `str 32`
    pub const STR32: u8 = 0xdb;
    /// `array 16`
    pub const ARRAY16: u8 = 0xdc;
    /// `array 32`
    pub const ARRAY32: u8 = 0xdd;
    /// `map 16`
    pub const MAP16: u8 = 0xde;
    /// `map 32`
    pub const MAP32: u8 = 0xdf;
}

/// Writes `nil`.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_nil(&mut out)?;
/// assert_eq!(out, [0xc0]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the byte.
#[inline]
pub fn write_nil<S: Sink + ?Sized>(sink: &mut S) -> Result<(), EncodeError> {
    Ok(sink.write_byte(marker::NIL)?)
}

/// Writes a boolean.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_bool(&mut out, true)?;
/// assert_eq!(out, [0xc3]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the byte.
#[inline]
pub fn write_bool<S: Sink + ?Sized>(sink: &mut S, value: bool) -> Result<(), EncodeError> {
    Ok(sink.write_byte(if value { marker::TRUE } else { marker::FALSE })?)
}

/// Writes a non-negative integer in its smallest encoding.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_uint(&mut out, 200)?;
/// assert_eq!(out, [0xcc, 200]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes.
#[inline]
pub fn write_uint<S: Sink + ?Sized>(sink: &mut S, value: u64) -> Result<(), EncodeError> {
    if value < 0x80 {
        sink.write_byte(value as u8)?;
    } else if value <= u64::from(u8::MAX) {
        sink.write(&[marker::U8, value as u8])?;
    } else if value <= u64::from(u16::MAX) {
        let b = (value as u16).to_be_bytes();
        sink.write(&[marker::U16, b[0], b[1]])?;
    } else if value <= u64::from(u32::MAX) {
        let b = (value as u32).to_be_bytes();
        sink.write(&[marker::U32, b[0], b[1], b[2], b[3]])?;
    } else {
        let b = value.to_be_bytes();
        sink.write(&[marker::U64, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])?;
    }
    Ok(())
}

/// Writes a signed integer in its smallest encoding (non-negative values use
/// the unsigned formats, as msgpack-python does).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_int(&mut out, -33)?;
/// assert_eq!(out, [0xd0, 0xdf]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes.
#[inline]
pub fn write_int<S: Sink + ?Sized>(sink: &mut S, value: i64) -> Result<(), EncodeError> {
    if value >= 0 {
        return write_uint(sink, value as u64);
    }
    if value >= -32 {
        sink.write_byte(value as i8 as u8)?;
    } else if value >= i64::from(i8::MIN) {
        sink.write(&[marker::I8, value as i8 as u8])?;
    } else if value >= i64::from(i16::MIN) {
        let b = (value as i16).to_be_bytes();
        sink.write(&[marker::I16, b[0], b[1]])?;
    } else if value >= i64::from(i32::MIN) {
        let b = (value as i32).to_be_bytes();
        sink.write(&[marker::I32, b[0], b[1], b[2], b[3]])?;
    } else {
        let b = value.to_be_bytes();
        sink.write(&[marker::I64, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])?;
    }
    Ok(())
}

/// Writes a `float 32`.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_f32(&mut out, 1.5)?;
/// assert_eq!(out, [0xca, 0x3f, 0xc0, 0, 0]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes.
#[inline]
pub fn write_f32<S: Sink + ?Sized>(sink: &mut S, value: f32) -> Result<(), EncodeError> {
    let b = value.to_be_bytes();
    Ok(sink.write(&[marker::F32, b[0], b[1], b[2], b[3]])?)
}

/// Writes a `float 64` (what Python's `float` always becomes).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_f64(&mut out, 1.5)?;
/// assert_eq!(out, [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// When the sink refuses the bytes.
#[inline]
pub fn write_f64<S: Sink + ?Sized>(sink: &mut S, value: f64) -> Result<(), EncodeError> {
    let b = value.to_be_bytes();
    Ok(sink.write(&[marker::F64, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])?)
}

/// Writes the header of a string of `len` bytes (fixstr, `str 8/16/32`).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_str_header(&mut out, 40)?;
/// assert_eq!(out, [0xd9, 40]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 bytes, or when the sink refuses the bytes.
#[inline]
pub fn write_str_header<S: Sink + ?Sized>(sink: &mut S, len: usize) -> Result<(), EncodeError> {
    if len < 32 {
        sink.write_byte(0xa0 | len as u8)?;
        Ok(())
    } else {
        write_len(sink, len, [marker::STR8, marker::STR16, marker::STR32])
    }
}

/// Writes a UTF-8 string.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_str(&mut out, "tag")?;
/// assert_eq!(out, b"\xa3tag");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// As [`write_str_header`].
#[inline]
pub fn write_str<S: Sink + ?Sized>(sink: &mut S, value: &str) -> Result<(), EncodeError> {
    write_str_header(sink, value.len())?;
    Ok(sink.write(value.as_bytes())?)
}

/// Writes the header of a binary of `len` bytes (`bin 8/16/32`).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_bin_header(&mut out, 300)?;
/// assert_eq!(out, [0xc5, 0x01, 0x2c]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 bytes, or when the sink refuses the bytes.
#[inline]
pub fn write_bin_header<S: Sink + ?Sized>(sink: &mut S, len: usize) -> Result<(), EncodeError> {
    write_len(sink, len, [marker::BIN8, marker::BIN16, marker::BIN32])
}

/// Writes a binary.
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_bin(&mut out, &[1, 2])?;
/// assert_eq!(out, [0xc4, 2, 1, 2]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// As [`write_bin_header`].
#[inline]
pub fn write_bin<S: Sink + ?Sized>(sink: &mut S, value: &[u8]) -> Result<(), EncodeError> {
    write_bin_header(sink, value.len())?;
    Ok(sink.write(value)?)
}

/// Writes the header of an array of `len` elements (fixarray, `array 16/32`).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_array_header(&mut out, 3)?;
/// assert_eq!(out, [0x93]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 elements, or when the sink refuses the bytes.
#[inline]
pub fn write_array_header<S: Sink + ?Sized>(sink: &mut S, len: usize) -> Result<(), EncodeError> {
    if len < 16 {
        sink.write_byte(0x90 | len as u8)?;
        Ok(())
    } else {
        write_len16_32(sink, len, marker::ARRAY16, marker::ARRAY32)
    }
}

/// Writes the header of a map of `len` key/value pairs (fixmap, `map 16/32`).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_map_header(&mut out, 1)?;
/// assert_eq!(out, [0x81]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 pairs, or when the sink refuses the bytes.
#[inline]
pub fn write_map_header<S: Sink + ?Sized>(sink: &mut S, len: usize) -> Result<(), EncodeError> {
    if len < 16 {
        sink.write_byte(0x80 | len as u8)?;
        Ok(())
    } else {
        write_len16_32(sink, len, marker::MAP16, marker::MAP32)
    }
}

/// Writes an extension value: fixext for 1, 2, 4, 8 and 16 bytes, `ext 8/16/32`
/// otherwise (EventTime is `fixext 8` with type 0).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::msgpack::write_ext(&mut out, 0, &[0; 8])?;
/// assert_eq!(&out[..2], &[0xd7, 0x00]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] past 2^32 - 1 bytes, or when the sink refuses the bytes.
pub fn write_ext<S: Sink + ?Sized>(sink: &mut S, ext_type: i8, data: &[u8]) -> Result<(), EncodeError> {
    let fixed = match data.len() {
        1 => Some(marker::FIXEXT1),
        2 => Some(marker::FIXEXT2),
        4 => Some(marker::FIXEXT4),
        8 => Some(marker::FIXEXT8),
        16 => Some(marker::FIXEXT16),
        _ => None,
    };
    match fixed {
        Some(m) => sink.write(&[m, ext_type as u8])?,
        None => {
            write_len(sink, data.len(), [marker::EXT8, marker::EXT16, marker::EXT32])?;
            sink.write_byte(ext_type as u8)?;
        }
    }
    Ok(sink.write(data)?)
}

/// The header (marker and big-endian length) of a `str`/`bin`/`ext` family member.
#[inline]
fn write_len<S: Sink + ?Sized>(sink: &mut S, len: usize, markers: [u8; 3]) -> Result<(), EncodeError> {
    if len <= usize::from(u8::MAX) {
        sink.write(&[markers[0], len as u8])?;
        Ok(())
    } else {
        write_len16_32(sink, len, markers[1], markers[2])
    }
}

#[inline]
fn write_len16_32<S: Sink + ?Sized>(sink: &mut S, len: usize, m16: u8, m32: u8) -> Result<(), EncodeError> {
    if len <= usize::from(u16::MAX) {
        let b = (len as u16).to_be_bytes();
        sink.write(&[m16, b[0], b[1]])?;
    } else {
        let len = u32::try_from(len).map_err(|_| EncodeError::TooLong)?;
        let b = len.to_be_bytes();
        sink.write(&[m32, b[0], b[1], b[2], b[3]])?;
    }
    Ok(())
}

/// How many bytes the smallest array (or map) header for `len` takes.
#[inline]
pub(crate) fn container_header_len(len: usize) -> usize {
    if len < 16 {
        1
    } else if len <= usize::from(u16::MAX) {
        3
    } else {
        5
    }
}
