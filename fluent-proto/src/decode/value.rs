//! Borrowed msgpack values: read in place from a complete buffer, arrays and
//! maps walked lazily.

use core::fmt;

use super::error::DecodeError;
use super::scan::value_len;

/// One msgpack value, borrowing its bytes. Non-negative integers are always
/// [`Value::UInt`] and negative ones [`Value::Int`], whatever width they were
/// sent with (Go's msgp writes 200 as `int 16`, Python as `uint 8`).
///
/// ```
/// use fluent_proto::Value;
/// let (value, used) = Value::read(b"\xd1\x00\xc8", 32)?;
/// assert_eq!((value, used), (Value::UInt(200), 3));
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// `float 32`
    F32(f32),
    /// `float 64`
    F64(f64),
    /// A UTF-8 string.
    Str(&'a str),
    /// A binary.
    Bin(&'a [u8]),
    /// An array, walked lazily.
    Array(RawArray<'a>),
    /// A map, walked lazily.
    Map(RawMap<'a>),
    /// An extension value (type, data); EventTime is type 0 with 8 bytes.
    Ext(i8, &'a [u8]),
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::F32(x) => write!(f, "{x:?}f32"),
            Value::F64(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bin(b) => write!(f, "bin{b:02x?}"),
            Value::Array(a) => {
                let mut list = f.debug_list();
                for item in a.iter() {
                    match item {
                        Ok(v) => list.entry(&v),
                        Err(e) => list.entry(&e),
                    };
                }
                list.finish()
            }
            Value::Map(m) => {
                let mut map = f.debug_map();
                for item in m.iter() {
                    match item {
                        Ok((k, v)) => map.entry(&k, &v),
                        Err(e) => map.entry(&"<error>", &e),
                    };
                }
                map.finish()
            }
            Value::Ext(t, d) => write!(f, "ext({t}, {d:02x?})"),
        }
    }
}

/// The first `N` bytes as an array.
#[inline]
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes.get(..N).and_then(|b| b.try_into().ok()).ok_or(DecodeError::Truncated)
}

/// A big-endian length of `N` bytes (1, 2 or 4).
#[inline]
fn be<const N: usize>(bytes: &[u8]) -> Result<usize, DecodeError> {
    let raw = array::<N>(bytes)?;
    let n = raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    usize::try_from(n).map_err(|_| DecodeError::Truncated)
}

/// A negative integer stays `Int`; a non-negative one becomes `UInt`.
#[inline]
fn int(v: i64) -> Value<'static> {
    if v >= 0 { Value::UInt(v as u64) } else { Value::Int(v) }
}

/// A str/bin/ext value whose payload of `len` bytes starts at `data`; the
/// whole value spans `header + len` bytes.
#[inline]
fn sized<'a>(
    data: Option<&'a [u8]>,
    header: usize,
    len: usize,
    make: impl FnOnce(&'a [u8]) -> Result<Value<'a>, DecodeError>,
) -> Result<(Value<'a>, usize), DecodeError> {
    let payload = data.and_then(|d| d.get(..len)).ok_or(DecodeError::Truncated)?;
    let total = header.checked_add(len).ok_or(DecodeError::Truncated)?;
    Ok((make(payload)?, total))
}

/// An array or map whose header is `header` bytes long and announces `count`
/// elements (pairs for maps).
#[inline]
fn container(
    bytes: &[u8],
    header: usize,
    count: u64,
    is_map: bool,
    max_depth: usize,
) -> Result<(Value<'_>, usize), DecodeError> {
    if max_depth == 0 {
        return Err(DecodeError::TooDeep { limit: 0 });
    }
    let total = value_len(bytes, max_depth)?;
    let body = bytes.get(header..total).ok_or(DecodeError::Truncated)?;
    let depth = max_depth - 1;
    let value = if is_map {
        Value::Map(RawMap { bytes: body, len: count, max_depth: depth })
    } else {
        Value::Array(RawArray { bytes: body, len: count, max_depth: depth })
    };
    Ok((value, total))
}

fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
}

impl<'a> Value<'a> {
    /// Reads the complete value at the start of `bytes`, returning it and the
    /// number of bytes it spans. Nesting deeper than `max_depth` is refused.
    ///
    /// ```
    /// use fluent_proto::Value;
    /// let (v, n) = Value::read(b"\x92\x01\xa1x", 32)?;
    /// assert_eq!(n, 4);
    /// let Value::Array(items) = v else { panic!() };
    /// assert_eq!(items.len(), 2);
    /// assert_eq!(Value::read(b"\x92\x01", 32), Err(fluent_proto::DecodeError::Truncated));
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] when `bytes` ends inside the value, and any
    /// other [`DecodeError`] for malformed bytes.
    pub fn read(bytes: &'a [u8], max_depth: usize) -> Result<(Value<'a>, usize), DecodeError> {
        let (&marker, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        let value = match marker {
            0x00..=0x7f => return Ok((Value::UInt(u64::from(marker)), 1)),
            0xe0..=0xff => return Ok((Value::Int(i64::from(marker as i8)), 1)),
            0xa0..=0xbf => return sized(Some(rest), 1, usize::from(marker & 0x1f), |p| Ok(Value::Str(utf8(p)?))),
            0x80..=0x8f => return container(bytes, 1, u64::from(marker & 0x0f), true, max_depth),
            0x90..=0x9f => return container(bytes, 1, u64::from(marker & 0x0f), false, max_depth),
            0xc0 => return Ok((Value::Nil, 1)),
            0xc2 => return Ok((Value::Bool(false), 1)),
            0xc3 => return Ok((Value::Bool(true), 1)),
            0xc1 => return Err(DecodeError::InvalidMarker(marker)),
            0xd9 => return sized(rest.get(1..), 2, be::<1>(rest)?, |p| Ok(Value::Str(utf8(p)?))),
            0xda => return sized(rest.get(2..), 3, be::<2>(rest)?, |p| Ok(Value::Str(utf8(p)?))),
            0xdb => return sized(rest.get(4..), 5, be::<4>(rest)?, |p| Ok(Value::Str(utf8(p)?))),
            0xc4 => return sized(rest.get(1..), 2, be::<1>(rest)?, |p| Ok(Value::Bin(p))),
            0xc5 => return sized(rest.get(2..), 3, be::<2>(rest)?, |p| Ok(Value::Bin(p))),
            0xc6 => return sized(rest.get(4..), 5, be::<4>(rest)?, |p| Ok(Value::Bin(p))),
            0xc7..=0xc9 => {
                let width = 1usize << (marker - 0xc7);
                let len = match marker {
                    0xc7 => be::<1>(rest)?,
                    0xc8 => be::<2>(rest)?,
                    _ => be::<4>(rest)?,
                };
                let ty = *rest.get(width).ok_or(DecodeError::Truncated)? as i8;
                return sized(rest.get(width + 1..), 2 + width, len, |p| Ok(Value::Ext(ty, p)));
            }
            0xd4..=0xd8 => {
                let len = 1usize << (marker - 0xd4);
                let (&ty, tail) = rest.split_first().ok_or(DecodeError::Truncated)?;
                return sized(Some(tail), 2, len, |p| Ok(Value::Ext(ty as i8, p)));
            }
            0xca => Value::F32(f32::from_be_bytes(array(rest)?)),
            0xcb => Value::F64(f64::from_be_bytes(array(rest)?)),
            0xcc => Value::UInt(u64::from(u8::from_be_bytes(array(rest)?))),
            0xcd => Value::UInt(u64::from(u16::from_be_bytes(array(rest)?))),
            0xce => Value::UInt(u64::from(u32::from_be_bytes(array(rest)?))),
            0xcf => Value::UInt(u64::from_be_bytes(array(rest)?)),
            0xd0 => int(i64::from(i8::from_be_bytes(array(rest)?))),
            0xd1 => int(i64::from(i16::from_be_bytes(array(rest)?))),
            0xd2 => int(i64::from(i32::from_be_bytes(array(rest)?))),
            0xd3 => int(i64::from_be_bytes(array(rest)?)),
            0xdc => return container(bytes, 3, be::<2>(rest)? as u64, false, max_depth),
            0xdd => return container(bytes, 5, be::<4>(rest)? as u64, false, max_depth),
            0xde => return container(bytes, 3, be::<2>(rest)? as u64, true, max_depth),
            0xdf => return container(bytes, 5, be::<4>(rest)? as u64, true, max_depth),
        };
        // Fixed-width numbers: marker plus the bytes of the type.
        let width = match marker {
            0xcc | 0xd0 => 2,
            0xcd | 0xd1 => 3,
            0xca | 0xce | 0xd2 => 5,
            _ => 9,
        };
        Ok((value, width))
    }

    /// The string, if this is one.
    ///
    /// ```
    /// assert_eq!(fluent_proto::Value::Str("x").as_str(), Some("x"));
    /// ```
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The map, if this is one.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x80", 8)?;
    /// assert!(v.as_map().is_some());
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn as_map(&self) -> Option<RawMap<'a>> {
        match self {
            Value::Map(m) => Some(*m),
            _ => None,
        }
    }
}

/// The elements of a msgpack array, still encoded.
///
/// ```
/// let (v, _) = fluent_proto::Value::read(b"\x92\x01\x02", 8)?;
/// let fluent_proto::Value::Array(a) = v else { unreachable!() };
/// let items: Result<Vec<_>, _> = a.iter().collect();
/// assert_eq!(items?, [fluent_proto::Value::UInt(1), fluent_proto::Value::UInt(2)]);
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawArray<'a> {
    bytes: &'a [u8],
    len: u64,
    max_depth: usize,
}

impl<'a> RawArray<'a> {
    /// Number of elements.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x90", 8)?;
    /// let fluent_proto::Value::Array(a) = v else { unreachable!() };
    /// assert_eq!(a.len(), 0);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the array has no elements.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x90", 8)?;
    /// let fluent_proto::Value::Array(a) = v else { unreachable!() };
    /// assert!(a.is_empty());
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded elements, back to back.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x91\x07", 8)?;
    /// let fluent_proto::Value::Array(a) = v else { unreachable!() };
    /// assert_eq!(a.as_bytes(), &[7]);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The elements, decoded one by one.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x91\x07", 8)?;
    /// let fluent_proto::Value::Array(a) = v else { unreachable!() };
    /// assert_eq!(a.iter().count(), 1);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter { rest: self.bytes, left: self.len, max_depth: self.max_depth }
    }
}

/// Iterator over a [`RawArray`]; stops after the first error.
#[derive(Debug, Clone)]
pub struct ArrayIter<'a> {
    rest: &'a [u8],
    left: u64,
    max_depth: usize,
}

impl<'a> ArrayIter<'a> {
    /// The next element's raw payload if it is a msgpack str, without UTF-8
    /// validation: PackedForward entries wrapped in str (Fluentd's
    /// `out_forward`) hold binary msgpack, not text.
    pub(crate) fn next_if_raw_str(&mut self) -> Option<Result<&'a [u8], DecodeError>> {
        let (&marker, rest) = self.rest.split_first()?;
        if self.left == 0 {
            return None;
        }
        let (data, header, len): (Option<&[u8]>, usize, usize) = match marker {
            0xa0..=0xbf => (Some(rest), 1, usize::from(marker & 0x1f)),
            0xd9 => (
                rest.get(1..),
                2,
                match be::<1>(rest) {
                    Ok(n) => n,
                    Err(e) => return Some(Err(e)),
                },
            ),
            0xda => (
                rest.get(2..),
                3,
                match be::<2>(rest) {
                    Ok(n) => n,
                    Err(e) => return Some(Err(e)),
                },
            ),
            0xdb => (
                rest.get(4..),
                5,
                match be::<4>(rest) {
                    Ok(n) => n,
                    Err(e) => return Some(Err(e)),
                },
            ),
            _ => return None,
        };
        self.left -= 1;
        let Some(payload) = data.and_then(|d| d.get(..len)) else {
            self.left = 0;
            return Some(Err(DecodeError::Truncated));
        };
        self.rest = self.rest.get(header.saturating_add(len)..).unwrap_or(&[]);
        Some(Ok(payload))
    }
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Result<Value<'a>, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match Value::read(self.rest, self.max_depth) {
            Ok((v, n)) => {
                self.rest = self.rest.get(n..).unwrap_or(&[]);
                Some(Ok(v))
            }
            Err(e) => {
                self.left = 0;
                Some(Err(e))
            }
        }
    }
}

/// The pairs of a msgpack map, still encoded.
///
/// ```
/// let (v, _) = fluent_proto::Value::read(b"\x81\xa1k\x01", 8)?;
/// let map = v.as_map().unwrap();
/// assert_eq!(map.get("k")?, Some(fluent_proto::Value::UInt(1)));
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMap<'a> {
    bytes: &'a [u8],
    len: u64,
    max_depth: usize,
}

impl<'a> RawMap<'a> {
    /// Number of key/value pairs.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x80", 8)?;
    /// assert_eq!(v.as_map().unwrap().len(), 0);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the map has no pairs.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x80", 8)?;
    /// assert!(v.as_map().unwrap().is_empty());
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded pairs, back to back (without the map header).
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x81\x01\x02", 8)?;
    /// assert_eq!(v.as_map().unwrap().as_bytes(), &[1, 2]);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The pairs, decoded one by one.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x81\xa1k\xc3", 8)?;
    /// let pairs: Result<Vec<_>, _> = v.as_map().unwrap().iter().collect();
    /// assert_eq!(pairs?, [(fluent_proto::Value::Str("k"), fluent_proto::Value::Bool(true))]);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    pub fn iter(&self) -> MapIter<'a> {
        MapIter { items: ArrayIter { rest: self.bytes, left: self.len.saturating_mul(2), max_depth: self.max_depth } }
    }

    /// The value of the first pair whose key is the string `key`.
    ///
    /// ```
    /// let (v, _) = fluent_proto::Value::read(b"\x81\xa1k\x01", 8)?;
    /// assert_eq!(v.as_map().unwrap().get("nope")?, None);
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// When the map's bytes are malformed before the key is found.
    pub fn get(&self, key: &str) -> Result<Option<Value<'a>>, DecodeError> {
        for pair in self.iter() {
            let (k, v) = pair?;
            if k == Value::Str(key) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

/// Iterator over a [`RawMap`]; stops after the first error.
#[derive(Debug, Clone)]
pub struct MapIter<'a> {
    items: ArrayIter<'a>,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = Result<(Value<'a>, Value<'a>), DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        let key = match self.items.next()? {
            Ok(k) => k,
            Err(e) => return Some(Err(e)),
        };
        match self.items.next() {
            Some(Ok(v)) => Some(Ok((key, v))),
            Some(Err(e)) => Some(Err(e)),
            None => Some(Err(DecodeError::Truncated)),
        }
    }
}
