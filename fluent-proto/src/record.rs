//! Records: a serde value that must be a msgpack map with string keys
//! (Forward protocol spec, "Event": `record` is a map).

use core::fmt::Display;
use serde::ser::{self, Impossible, Serialize};

use crate::encode_error::EncodeError;
use crate::ser::{Compound, EXT_STRUCT_NAME, Serializer, reject_all};
use crate::sink::Sink;

/// Serializes `record` into `sink`, refusing anything that is not a map with
/// string keys.
///
/// ```
/// use std::collections::BTreeMap;
/// let mut record = BTreeMap::new();
/// record.insert("bar", "baz");
/// let mut out = Vec::new();
/// fluent_proto::encode_record(&mut out, &record)?;
/// assert_eq!(out, b"\x81\xa3bar\xa3baz");
///
/// assert_eq!(
///     fluent_proto::encode_record(&mut out, &42),
///     Err(fluent_proto::EncodeError::RecordNotMap)
/// );
/// # Ok::<(), fluent_proto::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::RecordNotMap`], [`EncodeError::KeyNotString`], or any error
/// of the values; a buffered sink is rolled back on error.
pub fn encode_record<S: Sink + ?Sized, T: Serialize + ?Sized>(sink: &mut S, record: &T) -> Result<(), EncodeError> {
    let start = sink.position();
    let mut ser = Serializer::new(sink);
    let result = record.serialize(RecordSerializer { ser: &mut ser });
    if result.is_err() {
        sink.truncate(start);
    }
    result
}

struct RecordSerializer<'a, 's, S: Sink + ?Sized> {
    ser: &'a mut Serializer<'s, S>,
}

/// A map whose keys must be strings.
struct RecordMap<'a, 's, S: Sink + ?Sized> {
    compound: Compound<'a, 's, S>,
}

impl<S: Sink + ?Sized> ser::SerializeMap for RecordMap<'_, '_, S> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        key.serialize(KeyCheck)?;
        self.compound.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.compound.serialize_value(value)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.compound.end()
    }
}

fn not_map<T>() -> Result<T, EncodeError> {
    Err(EncodeError::RecordNotMap)
}

impl<'a, 's, S: Sink + ?Sized> ser::Serializer for RecordSerializer<'a, 's, S> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Impossible<(), EncodeError>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = RecordMap<'a, 's, S>;
    type SerializeStruct = Compound<'a, 's, S>;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    reject_all!((), EncodeError::RecordNotMap;
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_str(&str); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    );
    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Result<(), EncodeError> {
        not_map()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), EncodeError> {
        if name == EXT_STRUCT_NAME {
            return not_map();
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        not_map()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        not_map()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        not_map()
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, EncodeError> {
        not_map()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        not_map()
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Ok(RecordMap { compound: Compound::begin(self.ser, len, true)? })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Self::SerializeStruct, EncodeError> {
        Compound::begin(self.ser, Some(len), true)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        not_map()
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Accepts only string-like keys; writes nothing.
struct KeyCheck;

fn not_string<T>() -> Result<T, EncodeError> {
    Err(EncodeError::KeyNotString)
}

impl ser::Serializer for KeyCheck {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Impossible<(), EncodeError>;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Impossible<(), EncodeError>;
    type SerializeStruct = Impossible<(), EncodeError>;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    fn serialize_str(self, _: &str) -> Result<(), EncodeError> {
        Ok(())
    }
    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Result<(), EncodeError> {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), EncodeError> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), EncodeError> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), EncodeError> {
        if name == EXT_STRUCT_NAME {
            return not_string();
        }
        value.serialize(self)
    }
    reject_all!((), EncodeError::KeyNotString;
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64); serialize_f32(f32);
        serialize_f64(f64); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
    );
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), EncodeError> {
        not_string()
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        not_string()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        not_string()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        not_string()
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, EncodeError> {
        not_string()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        not_string()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        not_string()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, EncodeError> {
        not_string()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        not_string()
    }
}
