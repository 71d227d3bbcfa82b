//! Reading a value one level at a time: a scalar, or just a container's
//! header. For single-pass consumers (a transcoder walking a record once),
//! where [`Value::read`] would first scan the whole container to find its
//! end.

use super::error::DecodeError;
use super::value::Value;

/// The item at the start of a buffer, without its children.
///
/// ```
/// use fluent_proto::{Head, Value};
/// assert_eq!(Head::read(b"\x82\xa1a\x01")?, (Head::Map(2), 1));
/// assert_eq!(Head::read(b"\xa1a")?, (Head::Scalar(Value::Str("a")), 2));
/// # Ok::<(), fluent_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head<'a> {
    /// A complete non-container value.
    Scalar(Value<'a>),
    /// An array header announcing this many elements, which follow.
    Array(u64),
    /// A map header announcing this many pairs (twice as many values) that
    /// follow.
    Map(u64),
}

impl<'a> Head<'a> {
    /// Reads the item at the start of `bytes`: a scalar whole, a container
    /// header alone; returns it and the bytes it used.
    ///
    /// ```
    /// use fluent_proto::Head;
    /// assert_eq!(Head::read(b"\xdc\x00\x03")?, (Head::Array(3), 3));
    /// assert!(Head::read(b"\xdc\x00").is_err()); // truncated header
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] when the bytes end inside the scalar or
    /// header; other errors for malformed bytes.
    pub fn read(bytes: &'a [u8]) -> Result<(Head<'a>, usize), DecodeError> {
        let (&marker, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        let be = |width: usize| -> Result<u64, DecodeError> {
            let field = rest.get(..width).ok_or(DecodeError::Truncated)?;
            Ok(field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
        };
        Ok(match marker {
            0x80..=0x8f => (Head::Map(u64::from(marker & 0x0f)), 1),
            0x90..=0x9f => (Head::Array(u64::from(marker & 0x0f)), 1),
            0xdc => (Head::Array(be(2)?), 3),
            0xdd => (Head::Array(be(4)?), 5),
            0xde => (Head::Map(be(2)?), 3),
            0xdf => (Head::Map(be(4)?), 5),
            // Depth 0: a scalar has no children, so the limit never applies.
            _ => {
                let (value, used) = Value::read(bytes, 0)?;
                (Head::Scalar(value), used)
            }
        })
    }
}
