//! An event as it sits in the ring: `[u16 LE tag length][tag][entry]`,
//! the entry being the msgpack `[time, record]` array (the same layout as
//! the std `AsyncSender`'s rings). Consecutive frames with one tag become
//! one PackedForward request.

/// Bytes before the tag.
pub(crate) const TAG_LEN_BYTES: usize = 2;

/// Splits a frame into (tag, entry); `None` for a frame this crate did not
/// write.
pub(crate) fn split(frame: &[u8]) -> Option<(&str, &[u8])> {
    let (len, rest) = frame.split_first_chunk::<TAG_LEN_BYTES>()?;
    let (tag, entry) = rest.split_at_checked(usize::from(u16::from_le_bytes(*len)))?;
    Some((core::str::from_utf8(tag).ok()?, entry))
}
