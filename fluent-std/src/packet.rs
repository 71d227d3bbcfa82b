//! Turning queued frames into wire requests.
//!
//! A frame in the ring is `[u16 LE tag length][tag][entry]`, where the entry
//! is the msgpack `[time, record]` array. Consecutive frames with the same
//! tag become one request.

use fluent_proto::{
    ChunkId, EncodeError, EntriesFormat, Options, encode_compressed_packed_forward, msgpack, write_forward_head,
    write_packed_forward_head,
};

/// How the worker packs events into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BatchMode {
    /// One `[tag, time, record]` request per event.
    Message,
    /// `[tag, [[time, record], ...], option]` per tag run.
    Forward,
    /// `[tag, bin(entries), option]` per tag run (the default).
    #[default]
    PackedForward,
    /// PackedForward with gzip-compressed entries.
    CompressedPackedForward,
}

/// Splits a ring frame into (tag, entry).
pub(crate) fn split_frame(frame: &[u8]) -> Option<(&str, &[u8])> {
    let (len, rest) = frame.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    let (tag, entry) = rest.split_at_checked(len)?;
    Some((std::str::from_utf8(tag).ok()?, entry))
}

/// One request ready for the wire.
#[derive(Debug)]
pub(crate) struct Packet {
    pub(crate) bytes: Vec<u8>,
    pub(crate) events: u64,
    pub(crate) chunk: Option<ChunkId>,
    /// A loss report (not an event): the number of drops it reports.
    pub(crate) loss_report: u64,
}

/// Builds the requests for one tag run of `entries` (concatenated
/// `[time, record]` arrays, `count` of them), appending them to `out`.
pub(crate) fn build(
    mode: BatchMode,
    tag: &str,
    entries: &[u8],
    entry_lens: &[usize],
    ack: bool,
    out: &mut Vec<Packet>,
) -> Result<(), EncodeError> {
    let chunk = || if ack { ChunkId::random().ok() } else { None };
    let count = entry_lens.len() as u64;
    match mode {
        BatchMode::Message => {
            let mut at = 0;
            for &len in entry_lens {
                let entry = &entries[at..at + len];
                at += len;
                let chunk = chunk();
                let mut bytes = Vec::with_capacity(len + tag.len() + 40);
                msgpack::write_array_header(&mut bytes, if chunk.is_some() { 4 } else { 3 })?;
                msgpack::write_str(&mut bytes, tag)?;
                // The entry is `0x92 time record`: the message is `0x93 tag time record`.
                bytes.extend_from_slice(entry.get(1..).unwrap_or_default());
                if let Some(c) = &chunk {
                    Options { chunk: Some(c.as_str()), ..Options::default() }.write(&mut bytes)?;
                }
                out.push(Packet { bytes, events: 1, chunk, loss_report: 0 });
            }
        }
        BatchMode::Forward | BatchMode::PackedForward => {
            let chunk = chunk();
            let options = Options { size: Some(count), chunk: chunk.as_ref().map(ChunkId::as_str), compressed: None };
            let mut bytes = Vec::with_capacity(entries.len() + tag.len() + 64);
            if mode == BatchMode::Forward {
                write_forward_head(&mut bytes, tag, entry_lens.len(), true)?;
            } else {
                write_packed_forward_head(&mut bytes, tag, entries.len(), EntriesFormat::Bin, true)?;
            }
            bytes.extend_from_slice(entries);
            options.write(&mut bytes)?;
            out.push(Packet { bytes, events: count, chunk, loss_report: 0 });
        }
        BatchMode::CompressedPackedForward => {
            let chunk = chunk();
            let options = Options { size: Some(count), chunk: chunk.as_ref().map(ChunkId::as_str), compressed: None };
            let mut bytes = Vec::with_capacity(entries.len() / 2 + 64);
            encode_compressed_packed_forward(&mut bytes, tag, entries, &options, 6)?;
            out.push(Packet { bytes, events: count, chunk, loss_report: 0 });
        }
    }
    Ok(())
}
