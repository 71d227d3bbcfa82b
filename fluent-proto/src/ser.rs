//! A `serde::Serializer` that writes msgpack into any [`Sink`], without an allocator.
//!
//! The data model follows rmp-serde's `to_vec_named` byte for byte (structs are
//! maps with field names, unit variants are strings, other variants are
//! one-entry maps `{variant: value}`, unit structs are empty arrays, the
//! `_ExtStruct` newtype writes a msgpack ext), so the two agree on every record
//! both can encode. One deliberate difference: `i128`/`u128` values are written
//! as integers when they fit in 64 bits (rmp-serde writes 16 raw bytes, which a
//! log receiver cannot read as a number) and are an error otherwise.
//!
//! Sequences and maps of unknown length (`#[serde(flatten)]`, iterators) are
//! written to buffered sinks with a provisional header that is narrowed in
//! place when the length is known; stream sinks report
//! [`EncodeError::UnknownLength`].

use serde::ser::{self, Serialize};

use crate::encode_error::EncodeError;
use crate::msgpack::{self, container_header_len, marker};
use crate::sink::Sink;

/// The newtype-struct name rmp-serde uses for msgpack ext values: a newtype
/// `_ExtStruct((i8, bytes))` is written as ext type `i8` with those bytes.
pub const EXT_STRUCT_NAME: &str = "_ExtStruct";

/// Serializes `value` as one msgpack value into `sink`.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Point { x: u8, y: i8 }
///
/// let mut out = Vec::new();
/// fluent_proto::to_sink(&mut out, &Point { x: 1, y: -1 })?;
/// assert_eq!(out, b"\x82\xa1x\x01\xa1y\xff");
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// See [`EncodeError`]; on error a buffered sink is rolled back to where it was.
pub fn to_sink<S: Sink + ?Sized, T: Serialize + ?Sized>(sink: &mut S, value: &T) -> Result<(), EncodeError> {
    let start = sink.position();
    let result = value.serialize(&mut Serializer::new(sink));
    if result.is_err() {
        sink.truncate(start);
    }
    result
}

/// The msgpack serializer. Usually reached through [`to_sink`] or the frame
/// encoders; public so that other serde-based code can drive it.
///
/// ```
/// use serde::Serialize;
/// let mut out = Vec::new();
/// 7u32.serialize(&mut fluent_proto::Serializer::new(&mut out))?;
/// assert_eq!(out, [7]);
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct Serializer<'s, S: Sink + ?Sized> {
    pub(crate) sink: &'s mut S,
}

impl<'s, S: Sink + ?Sized> Serializer<'s, S> {
    /// A serializer writing into `sink`.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// let _ser = fluent_proto::Serializer::new(&mut out);
    /// ```
    #[inline]
    pub fn new(sink: &'s mut S) -> Self {
        Serializer { sink }
    }
}

/// A container header that is either exact or provisional (unknown length).
#[derive(Debug, Clone, Copy)]
enum Header {
    /// The length was given and written; count must match it.
    Known(usize),
    /// A 5-byte placeholder starts at this sink position.
    Provisional(usize),
}

/// State of an array or map being written.
#[derive(Debug)]
/// Used by the `serde::Serializer` implementation; not constructed directly.
pub struct Compound<'a, 's, S: Sink + ?Sized> {
    ser: &'a mut Serializer<'s, S>,
    header: Header,
    is_map: bool,
    count: usize,
}

impl<'a, 's, S: Sink + ?Sized> Compound<'a, 's, S> {
    #[inline]
    pub(crate) fn begin(ser: &'a mut Serializer<'s, S>, len: Option<usize>, is_map: bool) -> Result<Self, EncodeError> {
        let header = match len {
            Some(n) => {
                if is_map {
                    msgpack::write_map_header(ser.sink, n)?;
                } else {
                    msgpack::write_array_header(ser.sink, n)?;
                }
                Header::Known(n)
            }
            None => {
                let at = ser.sink.position();
                if ser.sink.written_since(at).is_none() {
                    return Err(EncodeError::UnknownLength);
                }
                let m = if is_map { marker::MAP32 } else { marker::ARRAY32 };
                ser.sink.write(&[m, 0, 0, 0, 0])?;
                Header::Provisional(at)
            }
        };
        Ok(Compound { ser, header, is_map, count: 0 })
    }

    #[inline]
    fn end_compound(self) -> Result<(), EncodeError> {
        match self.header {
            Header::Known(n) if n == self.count => Ok(()),
            Header::Known(_) => Err(EncodeError::LengthMismatch),
            Header::Provisional(at) => narrow_header(self.ser.sink, at, self.count, self.is_map),
        }
    }
}

/// Replaces the 5-byte placeholder at `at` with the smallest header for
/// `count`, moving the body down over the unused bytes.
fn narrow_header<S: Sink + ?Sized>(sink: &mut S, at: usize, count: usize, is_map: bool) -> Result<(), EncodeError> {
    let hlen = container_header_len(count);
    let mut header = [0u8; 5];
    {
        let mut hs = crate::sink::SliceSink::new(&mut header);
        if is_map {
            msgpack::write_map_header(&mut hs, count)?;
        } else {
            msgpack::write_array_header(&mut hs, count)?;
        }
    }
    let end = sink.position();
    let written = sink.written_since(at).ok_or(EncodeError::UnknownLength)?;
    let body_len = written.len().saturating_sub(5);
    written.copy_within(5.., hlen);
    if let (Some(dst), Some(src)) = (written.get_mut(..hlen), header.get(..hlen)) {
        dst.copy_from_slice(src);
    }
    sink.truncate(at + hlen + body_len);
    debug_assert_eq!(sink.position(), end - (5 - hlen));
    Ok(())
}

macro_rules! compound_element {
    ($trait:ident, $method:ident) => {
        impl<S: Sink + ?Sized> ser::$trait for Compound<'_, '_, S> {
            type Ok = ();
            type Error = EncodeError;
            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
                self.count += 1;
                value.serialize(&mut *self.ser)
            }
            #[inline]
            fn end(self) -> Result<(), EncodeError> {
                self.end_compound()
            }
        }
    };
}

compound_element!(SerializeSeq, serialize_element);
compound_element!(SerializeTuple, serialize_element);
compound_element!(SerializeTupleStruct, serialize_field);
compound_element!(SerializeTupleVariant, serialize_field);

impl<S: Sink + ?Sized> ser::SerializeMap for Compound<'_, '_, S> {
    type Ok = ();
    type Error = EncodeError;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        self.count += 1;
        key.serialize(&mut *self.ser)
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut *self.ser)
    }
    #[inline]
    fn end(self) -> Result<(), EncodeError> {
        self.end_compound()
    }
}

macro_rules! compound_struct {
    ($trait:ident) => {
        impl<S: Sink + ?Sized> ser::$trait for Compound<'_, '_, S> {
            type Ok = ();
            type Error = EncodeError;
            #[inline]
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), EncodeError> {
                self.count += 1;
                msgpack::write_str(self.ser.sink, key)?;
                value.serialize(&mut *self.ser)
            }
            #[inline]
            fn end(self) -> Result<(), EncodeError> {
                self.end_compound()
            }
        }
    };
}

compound_struct!(SerializeStruct);
compound_struct!(SerializeStructVariant);

impl<'a, 's, S: Sink + ?Sized> ser::Serializer for &'a mut Serializer<'s, S> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Compound<'a, 's, S>;
    type SerializeTuple = Compound<'a, 's, S>;
    type SerializeTupleStruct = Compound<'a, 's, S>;
    type SerializeTupleVariant = Compound<'a, 's, S>;
    type SerializeMap = Compound<'a, 's, S>;
    type SerializeStruct = Compound<'a, 's, S>;
    type SerializeStructVariant = Compound<'a, 's, S>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        msgpack::write_bool(self.sink, v)
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        msgpack::write_int(self.sink, i64::from(v))
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        msgpack::write_int(self.sink, i64::from(v))
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        msgpack::write_int(self.sink, i64::from(v))
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        msgpack::write_int(self.sink, v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        let v = i64::try_from(v).map_err(|_| EncodeError::IntegerTooLarge)?;
        msgpack::write_int(self.sink, v)
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        msgpack::write_uint(self.sink, u64::from(v))
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        msgpack::write_uint(self.sink, u64::from(v))
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        msgpack::write_uint(self.sink, u64::from(v))
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        msgpack::write_uint(self.sink, v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        let v = u64::try_from(v).map_err(|_| EncodeError::IntegerTooLarge)?;
        msgpack::write_uint(self.sink, v)
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        msgpack::write_f32(self.sink, v)
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        msgpack::write_f64(self.sink, v)
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        let mut buf = [0u8; 4];
        msgpack::write_str(self.sink, v.encode_utf8(&mut buf))
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        msgpack::write_str(self.sink, v)
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        msgpack::write_bin(self.sink, v)
    }
    #[inline]
    fn serialize_none(self) -> Result<(), EncodeError> {
        msgpack::write_nil(self.sink)
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), EncodeError> {
        msgpack::write_nil(self.sink)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        msgpack::write_array_header(self.sink, 0)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), EncodeError> {
        msgpack::write_str(self.sink, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), EncodeError> {
        if name == EXT_STRUCT_NAME {
            return value.serialize(ExtSerializer { sink: self.sink, ext_type: None });
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        msgpack::write_map_header(self.sink, 1)?;
        msgpack::write_str(self.sink, variant)?;
        value.serialize(self)
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        Compound::begin(self, len, false)
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Compound::begin(self, Some(len), false)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Compound::begin(self, Some(len), false)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        msgpack::write_map_header(self.sink, 1)?;
        msgpack::write_str(self.sink, variant)?;
        Compound::begin(self, Some(len), false)
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Compound::begin(self, len, true)
    }
    #[inline]
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self::SerializeStruct, EncodeError> {
        Compound::begin(self, Some(len), true)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        msgpack::write_map_header(self.sink, 1)?;
        msgpack::write_str(self.sink, variant)?;
        Compound::begin(self, Some(len), true)
    }
    fn collect_str<T: core::fmt::Display + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        collect_display(self.sink, value)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Writes a `Display` value as a msgpack string without an allocator: the
/// length is measured first, then the text is written.
fn collect_display<S: Sink + ?Sized, T: core::fmt::Display + ?Sized>(
    sink: &mut S,
    value: &T,
) -> Result<(), EncodeError> {
    use core::fmt::Write;
    struct Count(usize);
    impl Write for Count {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 = self.0.saturating_add(s.len());
            Ok(())
        }
    }
    struct Out<'a, S: Sink + ?Sized>(&'a mut S, Option<EncodeError>);
    impl<S: Sink + ?Sized> Write for Out<'_, S> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0.write(s.as_bytes()).map_err(|e| {
                self.1 = Some(e.into());
                core::fmt::Error
            })
        }
    }
    let mut count = Count(0);
    write!(count, "{value}").map_err(|_| <EncodeError as ser::Error>::custom("Display failed"))?;
    msgpack::write_str_header(sink, count.0)?;
    let mut out = Out(sink, None);
    if write!(out, "{value}").is_err() {
        return Err(out.1.unwrap_or_else(|| <EncodeError as ser::Error>::custom("Display failed")));
    }
    Ok(())
}

/// Serializes the `(i8, bytes)` payload of an `_ExtStruct` newtype.
struct ExtSerializer<'a, S: Sink + ?Sized> {
    sink: &'a mut S,
    ext_type: Option<i8>,
}

fn ext_model_error() -> EncodeError {
    <EncodeError as ser::Error>::custom("_ExtStruct must hold (i8, bytes)")
}

impl<S: Sink + ?Sized> ser::SerializeTuple for ExtSerializer<'_, S> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        match self.ext_type {
            None => {
                self.ext_type = Some(value.serialize(ExtTypeSerializer)?);
                Ok(())
            }
            Some(t) => value.serialize(ExtDataSerializer { sink: self.sink, ext_type: t }),
        }
    }
    fn end(self) -> Result<(), EncodeError> {
        Ok(())
    }
}

/// Implements `serde::Serializer` methods that all fail with `$err`.
macro_rules! reject_all {
    ($ok:ty, $err:expr; $($method:ident($($arg:ty),*));* $(;)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, EncodeError> { Err($err) })*
    };
}
pub(crate) use reject_all;

macro_rules! ext_serializer_body {
    ($ok:ty) => {
        type Ok = $ok;
        type Error = EncodeError;
        type SerializeSeq = ser::Impossible<$ok, EncodeError>;
        type SerializeTupleStruct = ser::Impossible<$ok, EncodeError>;
        type SerializeTupleVariant = ser::Impossible<$ok, EncodeError>;
        type SerializeMap = ser::Impossible<$ok, EncodeError>;
        type SerializeStruct = ser::Impossible<$ok, EncodeError>;
        type SerializeStructVariant = ser::Impossible<$ok, EncodeError>;
        reject_all!($ok, ext_model_error();
            serialize_bool(bool); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
            serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
            serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_str(&str);
            serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
            serialize_unit_variant(&'static str, u32, &'static str);
        );
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<$ok, EncodeError> {
            Err(ext_model_error())
        }
        fn collect_str<T: core::fmt::Display + ?Sized>(self, _: &T) -> Result<$ok, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<$ok, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<$ok, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeTupleVariant, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, EncodeError> {
            Err(ext_model_error())
        }
        fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeStructVariant, EncodeError> {
            Err(ext_model_error())
        }
    };
}

impl<'a, S: Sink + ?Sized> ser::Serializer for ExtSerializer<'a, S> {
    ext_serializer_body!(());
    type SerializeTuple = ExtSerializer<'a, S>;
    fn serialize_i8(self, _: i8) -> Result<(), EncodeError> {
        Err(ext_model_error())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), EncodeError> {
        Err(ext_model_error())
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, EncodeError> {
        if len == 2 { Ok(self) } else { Err(ext_model_error()) }
    }
}

struct ExtTypeSerializer;

impl ser::Serializer for ExtTypeSerializer {
    ext_serializer_body!(i8);
    type SerializeTuple = ser::Impossible<i8, EncodeError>;
    fn serialize_i8(self, v: i8) -> Result<i8, EncodeError> {
        Ok(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<i8, EncodeError> {
        Err(ext_model_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(ext_model_error())
    }
}

struct ExtDataSerializer<'a, S: Sink + ?Sized> {
    sink: &'a mut S,
    ext_type: i8,
}

impl<S: Sink + ?Sized> ser::Serializer for ExtDataSerializer<'_, S> {
    ext_serializer_body!(());
    type SerializeTuple = ser::Impossible<(), EncodeError>;
    fn serialize_i8(self, _: i8) -> Result<(), EncodeError> {
        Err(ext_model_error())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        msgpack::write_ext(self.sink, self.ext_type, v)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(ext_model_error())
    }
}
