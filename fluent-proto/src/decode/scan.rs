//! Finding where one msgpack value ends, without recursion and without reading
//! a byte twice across calls.
//!
//! The scanner walks tokens left to right and keeps, per open array or map,
//! how many child values are still to come. Its whole state is that stack
//! plus an offset, so when the bytes run out mid-value it stops and resumes
//! from the same token once more bytes arrive: a frame that trickles in a
//! byte at a time costs linear time, not quadratic. Nesting is bounded by
//! [`MAX_DEPTH`], so hostile input cannot exhaust the stack of a consumer
//! that later walks the value recursively.

use super::error::DecodeError;
use super::token::read_token;

/// The deepest nesting of arrays and maps any decoder accepts.
pub const MAX_DEPTH: usize = 64;

/// Outcome of one scan step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The value ends at this offset (exclusive).
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
}

/// Resumable boundary finder for one msgpack value at the start of a buffer.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    /// Offset of the next token to read.
    pos: usize,
    /// Number of open containers.
    depth: usize,
    /// Values still to come in each open container.
    remaining: [u64; MAX_DEPTH],
    max_depth: usize,
    max_len: usize,
}

impl Scanner {
    pub(crate) const fn new(max_len: usize, max_depth: usize) -> Self {
        Scanner {
            pos: 0,
            depth: 0,
            remaining: [0; MAX_DEPTH],
            max_depth: if max_depth > MAX_DEPTH { MAX_DEPTH } else { max_depth },
            max_len,
        }
    }

    /// Forgets the value scanned so far (the next call starts a new value).
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.depth = 0;
    }

    /// Continues scanning `bytes` (which must start with the same bytes as at
    /// the previous call, possibly followed by more).
    pub(crate) fn scan(&mut self, bytes: &[u8]) -> Result<Scan, DecodeError> {
        loop {
            let rest = bytes.get(self.pos..).unwrap_or(&[]);
            let Some(token) = read_token(rest)? else {
                return self.incomplete(bytes);
            };
            let end = (self.pos as u64).saturating_add(token.header as u64).saturating_add(token.payload);
            if end > self.max_len as u64 {
                return Err(DecodeError::FrameTooLarge { limit: self.max_len });
            }
            if end > bytes.len() as u64 {
                return self.incomplete(bytes);
            }
            // `end <= bytes.len()`, so it fits in usize.
            self.pos = end as usize;
            if token.children > 0 {
                let slot = self.remaining.get_mut(self.depth).filter(|_| self.depth < self.max_depth);
                let Some(slot) = slot else {
                    return Err(DecodeError::TooDeep { limit: self.max_depth });
                };
                *slot = token.children;
                // Every value still announced takes at least one byte: a
                // header claiming more values than the limit leaves room for
                // is refused now, not after waiting for gigabytes.
                let open = self.remaining.get(..=self.depth).unwrap_or_default();
                let owed = open.iter().fold(0u64, |sum, &left| sum.saturating_add(left.saturating_sub(1)));
                if (self.pos as u64).saturating_add(owed).saturating_add(1) > self.max_len as u64 {
                    return Err(DecodeError::FrameTooLarge { limit: self.max_len });
                }
                self.depth += 1;
                continue;
            }
            // A finished value: close every container it completes.
            loop {
                let Some(top) = self.depth.checked_sub(1) else {
                    let done = self.pos;
                    self.reset();
                    return Ok(Scan::Complete(done));
                };
                let Some(left) = self.remaining.get_mut(top) else {
                    return Err(DecodeError::TooDeep { limit: self.max_depth });
                };
                *left = left.saturating_sub(1);
                if *left > 0 {
                    break;
                }
                self.depth = top;
            }
        }
    }

    fn incomplete(&self, bytes: &[u8]) -> Result<Scan, DecodeError> {
        if bytes.len() >= self.max_len {
            return Err(DecodeError::FrameTooLarge { limit: self.max_len });
        }
        Ok(Scan::Incomplete)
    }
}

/// The length of the complete msgpack value at the start of `bytes`.
///
/// A single counter of values still to read is enough here: nesting is
/// bounded where values are *entered* (each level of [`Value`](super::Value)
/// hands its children a smaller depth budget, and a container at budget 0 is
/// refused), so skipping needs no stack. `max_depth == 0` refuses containers.
pub(crate) fn value_len(bytes: &[u8], max_depth: usize) -> Result<usize, DecodeError> {
    let mut pos = 0usize;
    let mut pending = 1u64;
    while pending > 0 {
        let rest = bytes.get(pos..).unwrap_or(&[]);
        let token = read_token(rest)?.ok_or(DecodeError::Truncated)?;
        if token.children > 0 && max_depth == 0 {
            return Err(DecodeError::TooDeep { limit: 0 });
        }
        let len = (token.header as u64).saturating_add(token.payload);
        if len > rest.len() as u64 {
            return Err(DecodeError::Truncated);
        }
        // `len <= rest.len()`, so both fit in usize and `pos + len <= bytes.len()`.
        pos += len as usize;
        pending = (pending - 1).saturating_add(token.children);
    }
    Ok(pos)
}
