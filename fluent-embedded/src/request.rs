//! Turning a run of ring frames with one tag into the pieces of one
//! PackedForward request: `[tag, bin(entries), {"size": n, "chunk"?: id}]`,
//! written piece by piece straight from the ring (no copy of the entries).

use fluent_proto::{ChunkId, Options, SliceSink, msgpack};
use fluent_queue::ReadGrant;

use crate::frame;

/// Consecutive frames of one tag, from the start of a read grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Frames in the run.
    pub(crate) frames: usize,
    /// Total length of their entries.
    pub(crate) entries_len: usize,
    /// Whether the frames are readable at all (a frame this crate did not
    /// write is skipped as a run of one, and counted).
    pub(crate) valid: bool,
}

/// The run at the start of `grant`, at most `max_frames` long.
pub(crate) fn plan<R: core::ops::Deref>(grant: &ReadGrant<'_, R>, max_frames: usize) -> Run
where
    R::Target: fluent_queue::Storage,
{
    let Some((tag, entry)) = frame::split(grant.frame(0)) else {
        return Run { frames: 1, entries_len: 0, valid: false };
    };
    let mut run = Run { frames: 1, entries_len: entry.len(), valid: true };
    for i in 1..grant.frames().min(max_frames.max(1)) {
        match frame::split(grant.frame(i)) {
            Some((t, e)) if t == tag => {
                run.frames += 1;
                run.entries_len += e.len();
            }
            _ => break,
        }
    }
    run
}

/// The fixed parts of a request, encoded into small stack buffers.
pub(crate) struct Framing {
    /// Array header and tag's str header.
    head: [u8; 8],
    head_len: usize,
    /// The bin header of the entries.
    bin: [u8; 8],
    bin_len: usize,
    /// The option map.
    options: [u8; 64],
    options_len: usize,
}

impl Framing {
    pub(crate) fn new(tag: &str, run: &Run, chunk: Option<&ChunkId>) -> Self {
        let mut f = Framing { head: [0; 8], head_len: 0, bin: [0; 8], bin_len: 0, options: [0; 64], options_len: 0 };
        // These fit by construction (headers of at most 5 bytes, an option
        // map of at most 2 + 5 + 9 + 6 + 26 bytes), so the results are
        // always Ok.
        let mut sink = SliceSink::new(&mut f.head);
        let _ = msgpack::write_array_header(&mut sink, 3);
        let _ = msgpack::write_str_header(&mut sink, tag.len());
        f.head_len = sink.written().len();
        let mut sink = SliceSink::new(&mut f.bin);
        let _ = msgpack::write_bin_header(&mut sink, run.entries_len);
        f.bin_len = sink.written().len();
        let options = Options { size: Some(run.frames as u64), chunk: chunk.map(ChunkId::as_str), compressed: None };
        let mut sink = SliceSink::new(&mut f.options);
        let _ = options.write(&mut sink);
        f.options_len = sink.written().len();
        f
    }

    pub(crate) fn head(&self) -> &[u8] {
        self.head.get(..self.head_len).unwrap_or_default()
    }

    pub(crate) fn bin(&self) -> &[u8] {
        self.bin.get(..self.bin_len).unwrap_or_default()
    }

    pub(crate) fn options(&self) -> &[u8] {
        self.options.get(..self.options_len).unwrap_or_default()
    }

    /// Bytes of the whole request.
    pub(crate) fn request_len(&self, tag: &str, run: &Run) -> usize {
        self.head_len + tag.len() + self.bin_len + run.entries_len + self.options_len
    }
}

/// What the bytes read so far say about the ack.
pub(crate) enum AckState {
    /// Not a complete msgpack value yet.
    Incomplete,
    /// `{"ack": <our chunk>}`, and nothing after it.
    Matched,
    /// Anything else.
    Wrong,
}

/// Checks the reply bytes received so far against `chunk`.
pub(crate) fn check_ack(decoder: &mut fluent_proto::FrameDecoder, received: &[u8], chunk: &ChunkId) -> AckState {
    match decoder.next_value_len(received) {
        Ok(None) => AckState::Incomplete,
        Ok(Some(n)) => match fluent_proto::parse_ack(received.get(..n).unwrap_or_default()) {
            Ok(id) if id == chunk.as_str() && n == received.len() => AckState::Matched,
            _ => AckState::Wrong,
        },
        Err(_) => AckState::Wrong,
    }
}

/// The decoder for one ack reply (small, shallow).
pub(crate) fn ack_decoder() -> fluent_proto::FrameDecoder {
    fluent_proto::FrameDecoder::new(fluent_proto::Limits { max_frame_len: ACK_BUFFER, max_depth: 2 })
}

/// Bytes kept for an ack reply: `{"ack": <24-character id>}` is 31.
pub(crate) const ACK_BUFFER: usize = 96;

/// A chunk id that needs no random numbers: a per-device seed and a
/// counter, base64 like every chunk id (unique as long as the seed is).
pub(crate) fn chunk_id(seed: [u8; 8], counter: u64) -> ChunkId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seed);
    bytes[8..].copy_from_slice(&counter.to_be_bytes());
    ChunkId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use fluent_proto::{EntriesFormat, Options, encode_packed_forward};

    use super::*;

    /// The pieces make exactly the request fluent-proto's encoder makes.
    #[test]
    fn pieces_equal_the_codec_request() {
        for (tag, entries_len, frames, with_chunk) in
            [("t", 3, 1, false), ("a.longer.tag.name.over.thirty.one.bytes", 300, 40, true), ("x", 70_000, 256, true)]
        {
            let entries: Vec<u8> = (0..entries_len).map(|i| i as u8).collect();
            let run = Run { frames, entries_len, valid: true };
            let chunk = with_chunk.then(|| chunk_id(*b"seed0001", 7));
            let framing = Framing::new(tag, &run, chunk.as_ref());
            let mut ours = Vec::new();
            for piece in [framing.head(), tag.as_bytes(), framing.bin(), &entries, framing.options()] {
                ours.extend_from_slice(piece);
            }
            let options =
                Options { size: Some(frames as u64), chunk: chunk.as_ref().map(ChunkId::as_str), compressed: None };
            let mut expected = Vec::new();
            encode_packed_forward(&mut expected, tag, &entries, EntriesFormat::Bin, Some(&options)).unwrap();
            assert_eq!(ours, expected);
            assert_eq!(framing.request_len(tag, &run), expected.len());
        }
    }
}
