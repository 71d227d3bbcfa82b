//! A `no_std`, allocation-free codec for the Fluentd Forward protocol.
//!
//! - **Writing** ([`msgpack`], [`Serializer`], [`encode_record`], the mode
//!   encoders): msgpack into any [`Sink`] (a slice, a `heapless::Vec`, a
//!   `Vec<u8>` with `alloc`, any `embedded_io::Write`); a full buffer is an
//!   error and never leaves half a frame.
//! - **Time**: [`EventTime`] (ext type 0) or integer seconds ([`Timestamp`]).
//! - **Modes**: Message ([`encode_message`]), Forward ([`encode_forward`]),
//!   PackedForward ([`encode_packed_forward`]) and CompressedPackedForward
//!   (`encode_compressed_packed_forward`, `gzip` feature), with the
//!   [`Options`] map and [`ChunkId`]s for acks.
//! - **Reading**: [`FrameDecoder`] finds frames in a byte stream incrementally
//!   and never panics; [`Request`] and [`Event`] borrow the bytes.
//! - **Handshake** (`handshake` feature): HELO/PING/PONG and their digests.
//!
//! ```
//! use fluent_proto::{encode_message, EventTime, FrameDecoder, Decoded, Frame, Limits, Timestamp};
//!
//! #[derive(serde::Serialize)]
//! struct Login<'a> { user: &'a str, ok: bool }
//!
//! let mut buf = [0u8; 64];
//! let mut sink = fluent_proto::SliceSink::new(&mut buf);
//! let time = Timestamp::Event(EventTime::new(1_700_000_000, 5));
//! encode_message(&mut sink, "app.login", time, &Login { user: "ada", ok: true }, None)?;
//!
//! let mut decoder = FrameDecoder::new(Limits::default());
//! let Decoded::Frame { frame: Frame::Request(request), .. } = decoder.decode(sink.written())? else {
//!     unreachable!()
//! };
//! let event = request.events().next().unwrap()?;
//! assert_eq!(event.time, time);
//! assert_eq!(event.record.get("user")?, Some(fluent_proto::Value::Str("ada")));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Cargo features
//! - `alloc`: `Vec<u8>` is a [`Sink`].
//! - `std` (implies `alloc`): `EventTime::now`, `EventTime::from_system_time`,
//!   `ChunkId::random`.
//! - `gzip` (implies `alloc`): CompressedPackedForward writing and reading.
//! - `handshake`: the shared-key handshake messages (SHA-512, no allocator).
//!
//! Without features the crate needs neither `std` nor an allocator.
//!
//! # Cargo features
//!
//! - `alloc`: encode into `Vec<u8>`, decompress gzip, keep custom error text.
//! - `std`: `EventTime::now`, `EventTime::from_system_time`, `ChunkId::random`
//!   (OS randomness); implies `alloc`.
//! - `gzip`: CompressedPackedForward, written and read; implies `alloc`.
//! - `handshake`: the HELO/PING/PONG messages and their SHA-512 digests.
//!
//! None is on by default: the bare crate is `no_std` without an allocator.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod chunk;
mod decode;
mod encode_error;
mod frame;
#[cfg(feature = "gzip")]
pub mod gzip;
#[cfg(feature = "handshake")]
pub mod handshake;
pub mod msgpack;
mod options;
mod record;
mod ser;
mod sink;
mod time;

pub use chunk::ChunkId;
pub use decode::{
    ArrayIter, DecodeError, Decoded, Event, Events, Frame, FrameDecoder, Head, Limits, MAX_DEPTH, MapIter, Mode,
    RawArray, RawMap, Request, RequestOptions, Value, parse_ack,
};
pub use encode_error::{CustomMessage, EncodeError};
#[cfg(feature = "gzip")]
pub use frame::encode_compressed_packed_forward;
pub use frame::{
    EntriesFormat, encode_ack, encode_entry, encode_forward, encode_message, encode_packed_forward, write_forward_head,
    write_packed_forward_head,
};
pub use options::{Compression, Options};
pub use record::encode_record;
pub use ser::{Compound, EXT_STRUCT_NAME, Serializer, to_sink};
pub use sink::{CountingSink, IoSink, Sink, SinkError, SliceSink};
pub use time::{EVENT_TIME_EXT_TYPE, EventTime, Timestamp, UtcDateTime};
