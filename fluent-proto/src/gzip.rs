//! gzip members (RFC 1952) around raw deflate from `miniz_oxide`, for
//! CompressedPackedForward (Forward protocol spec, "CompressedPackedForward
//! Mode"). Reading accepts several members back to back, as the spec requires,
//! and never produces more than a caller-given number of bytes.

use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress as inflate_raw, inflate_flags};

const CRC_TABLE: [u32; 256] = crc_table();

// `i < 256` bounds every index of the 256-entry table.
#[allow(clippy::indexing_slicing)]
const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// CRC-32 (IEEE 802.3), as the gzip trailer carries it.
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        let index = ((c ^ u32::from(b)) & 0xff) as usize;
        c = CRC_TABLE.get(index).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}

/// Why gzip data could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GzipError {
    /// The data does not start with a gzip header (`1f 8b 08`).
    BadHeader,
    /// The data ends inside a member.
    Truncated,
    /// The deflate stream is corrupt.
    BadDeflate,
    /// The CRC-32 or length in a member's trailer does not match its contents.
    BadTrailer,
    /// Decompressing would produce more than the allowed number of bytes.
    TooLarge {
        /// The limit that was reached.
        limit: usize,
    },
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GzipError::BadHeader => f.write_str("not a gzip member (bad header)"),
            GzipError::Truncated => f.write_str("gzip data ends inside a member"),
            GzipError::BadDeflate => f.write_str("corrupt deflate stream"),
            GzipError::BadTrailer => f.write_str("gzip trailer (CRC-32 or length) does not match"),
            GzipError::TooLarge { limit } => write!(f, "decompressed data exceeds {limit} bytes"),
        }
    }
}

impl core::error::Error for GzipError {}

/// Compresses `data` into one gzip member (readable by `gzip -d` and Python's
/// `gzip` module). `level` is 0 (store) to 10 (best); 6 is gzip's default.
///
/// ```
/// let packed = fluent_proto::gzip::compress(b"hello hello hello", 6);
/// assert_eq!(&packed[..3], &[0x1f, 0x8b, 0x08]);
/// assert_eq!(fluent_proto::gzip::decompress(&packed, 1024)?, b"hello hello hello");
/// # Ok::<(), fluent_proto::gzip::GzipError>(())
/// ```
pub fn compress(data: &[u8], level: u8) -> Vec<u8> {
    let deflated = miniz_oxide::deflate::compress_to_vec(data, level);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown)
    out.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Decompresses every gzip member in `data`, concatenated, producing at most
/// `max_len` bytes.
///
/// ```
/// use fluent_proto::gzip;
/// let mut two = gzip::compress(b"ab", 6);
/// two.extend(gzip::compress(b"cd", 6));
/// assert_eq!(gzip::decompress(&two, 16)?, b"abcd");
/// assert!(gzip::decompress(&two, 3).is_err());
/// # Ok::<(), gzip::GzipError>(())
/// ```
///
/// # Errors
/// See [`GzipError`]; empty input is [`GzipError::Truncated`].
pub fn decompress(data: &[u8], max_len: usize) -> Result<Vec<u8>, GzipError> {
    let mut out = Vec::new();
    decompress_into(data, &mut out, max_len)?;
    Ok(out)
}

/// As [`decompress`], appending to `out` (so a receiver can reuse one buffer).
///
/// ```
/// let mut out = Vec::new();
/// fluent_proto::gzip::decompress_into(&fluent_proto::gzip::compress(b"x", 1), &mut out, 8)?;
/// assert_eq!(out, b"x");
/// # Ok::<(), fluent_proto::gzip::GzipError>(())
/// ```
///
/// # Errors
/// See [`GzipError`].
pub fn decompress_into(data: &[u8], out: &mut Vec<u8>, max_len: usize) -> Result<(), GzipError> {
    let base = out.len();
    let mut rest = data;
    if rest.is_empty() {
        return Err(GzipError::Truncated);
    }
    while !rest.is_empty() {
        let body = skip_header(rest)?;
        let member_start = out.len();
        let produced_before = member_start.saturating_sub(base);
        let budget = max_len.saturating_sub(produced_before);
        let used = inflate(body, out, budget, max_len)?;
        let trailer = body.get(used..used.saturating_add(8)).ok_or(GzipError::Truncated)?;
        let (crc, size) = trailer.split_at(4);
        let member = out.get(member_start..).unwrap_or(&[]);
        let crc_ok = crc == crc32(member).to_le_bytes();
        let size_ok = size == (member.len() as u32).to_le_bytes();
        if !crc_ok || !size_ok {
            return Err(GzipError::BadTrailer);
        }
        rest = body.get(used.saturating_add(8)..).unwrap_or(&[]);
    }
    Ok(())
}

/// Returns the member's bytes after its header (RFC 1952, 2.3.1).
fn skip_header(member: &[u8]) -> Result<&[u8], GzipError> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let head = member.get(..10).ok_or(GzipError::Truncated)?;
    if head.get(..3) != Some(&[0x1f, 0x8b, 0x08][..]) {
        return Err(GzipError::BadHeader);
    }
    let flags = head.get(3).copied().unwrap_or(0);
    let mut pos = 10usize;
    if flags & FEXTRA != 0 {
        let len: [u8; 2] = member.get(pos..pos + 2).and_then(|b| b.try_into().ok()).ok_or(GzipError::Truncated)?;
        let xlen = usize::from(u16::from_le_bytes(len));
        pos = pos.saturating_add(2).saturating_add(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let tail = member.get(pos..).ok_or(GzipError::Truncated)?;
            let nul = tail.iter().position(|&b| b == 0).ok_or(GzipError::Truncated)?;
            pos = pos.saturating_add(nul).saturating_add(1);
        }
    }
    if flags & FHCRC != 0 {
        pos = pos.saturating_add(2);
    }
    member.get(pos..).ok_or(GzipError::Truncated)
}

/// Inflates one raw deflate stream from `input` onto `out`, at most `budget`
/// bytes; returns how many input bytes the stream used.
fn inflate(input: &[u8], out: &mut Vec<u8>, budget: usize, limit: usize) -> Result<usize, GzipError> {
    let mut state = DecompressorOxide::new();
    let start = out.len();
    let mut in_pos = 0usize;
    // Grow the output in steps, never past the budget (+1 to detect overflow).
    let cap = start.saturating_add(budget).saturating_add(1);
    let mut target = start.saturating_add(budget.min(64 * 1024)).saturating_add(1).min(cap);
    out.resize(target, 0);
    let mut out_pos = start;
    loop {
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let input_left = input.get(in_pos..).unwrap_or(&[]);
        let (status, used, written) = inflate_raw(&mut state, input_left, out, out_pos, flags);
        in_pos = in_pos.saturating_add(used);
        out_pos = out_pos.saturating_add(written);
        if out_pos.saturating_sub(start) > budget {
            out.truncate(start);
            return Err(GzipError::TooLarge { limit });
        }
        match status {
            TINFLStatus::Done => {
                out.truncate(out_pos);
                return Ok(in_pos);
            }
            TINFLStatus::HasMoreOutput => {
                if target >= cap {
                    out.truncate(start);
                    return Err(GzipError::TooLarge { limit });
                }
                target = target.saturating_mul(2).min(cap);
                out.resize(target, 0);
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                out.truncate(start);
                return Err(GzipError::Truncated);
            }
            _ => {
                out.truncate(start);
                return Err(GzipError::BadDeflate);
            }
        }
    }
}
