//! One msgpack token: a marker with its length fields (and, for str, bin and
//! ext, the payload it announces).

use super::error::DecodeError;

/// What one token is, as far as finding value boundaries needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    /// Header bytes (marker and length fields).
    pub header: usize,
    /// Payload bytes after the header (str, bin, ext data; 0 otherwise).
    pub payload: u64,
    /// Child values that follow (array elements, or 2 per map pair).
    pub children: u64,
}

/// Reads the token at the start of `bytes`. `Ok(None)`: more bytes are needed
/// to read the header.
#[inline]
pub(crate) fn read_token(bytes: &[u8]) -> Result<Option<Token>, DecodeError> {
    let Some(&m) = bytes.first() else { return Ok(None) };
    let t = |header, payload, children| Ok(Some(Token { header, payload, children }));
    match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => t(1, 0, 0),
        0x80..=0x8f => t(1, 0, u64::from(m & 0x0f) * 2),
        0x90..=0x9f => t(1, 0, u64::from(m & 0x0f)),
        0xa0..=0xbf => t(1, u64::from(m & 0x1f), 0),
        0xc1 => Err(DecodeError::InvalidMarker(m)),
        // bin 8/16/32, str 8/16/32
        0xc4 | 0xd9 => len_token(bytes, 1, 0, |n| (n, 0)),
        0xc5 | 0xda => len_token(bytes, 2, 0, |n| (n, 0)),
        0xc6 | 0xdb => len_token(bytes, 4, 0, |n| (n, 0)),
        // ext 8/16/32: length, then the type byte
        0xc7 => len_token(bytes, 1, 1, |n| (n, 0)),
        0xc8 => len_token(bytes, 2, 1, |n| (n, 0)),
        0xc9 => len_token(bytes, 4, 1, |n| (n, 0)),
        0xca => t(5, 0, 0),
        0xcb => t(9, 0, 0),
        0xcc | 0xd0 => t(2, 0, 0),
        0xcd | 0xd1 => t(3, 0, 0),
        0xce | 0xd2 => t(5, 0, 0),
        0xcf | 0xd3 => t(9, 0, 0),
        // fixext 1/2/4/8/16: marker, type, data
        0xd4 => t(2, 1, 0),
        0xd5 => t(2, 2, 0),
        0xd6 => t(2, 4, 0),
        0xd7 => t(2, 8, 0),
        0xd8 => t(2, 16, 0),
        0xdc => len_token(bytes, 2, 0, |n| (0, n)),
        0xdd => len_token(bytes, 4, 0, |n| (0, n)),
        0xde => len_token(bytes, 2, 0, |n| (0, n * 2)),
        0xdf => len_token(bytes, 4, 0, |n| (0, n * 2)),
    }
}

/// A token whose header holds a big-endian length of `width` bytes, followed
/// by `extra` header bytes; `split` turns the length into (payload, children).
#[inline]
fn len_token(
    bytes: &[u8],
    width: usize,
    extra: usize,
    split: impl Fn(u64) -> (u64, u64),
) -> Result<Option<Token>, DecodeError> {
    let header = 1 + width + extra;
    let Some(field) = bytes.get(1..1 + width) else { return Ok(None) };
    if bytes.len() < header {
        return Ok(None);
    }
    let n = field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let (payload, children) = split(n);
    Ok(Some(Token { header, payload, children }))
}
