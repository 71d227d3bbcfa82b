//! Fluentd Forward-protocol senders for std.
//!
//! [`Sender`] is fluent-logger-python's `sender.FluentSender`: each emit
//! writes one Message-mode event (`[tag, time, record]`) to the server,
//! keeping what could not be written in a bounded pending buffer. It keeps
//! Python's semantics (tag joining, integer or EventTime times, `bufmax` and
//! the overflow handler, the CRITICAL fallback record, per-thread
//! `last_error`, lazy connection, `unix://` hosts, `verbose`, idempotent
//! close, module-level `setup`/`global_sender`/`close`) and fixes its
//! defect: a dead server is retried with capped exponential backoff and
//! jitter, not on every emit.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use fluent_std::Sender;
//!
//! let sender = Sender::builder("app").host("localhost").port(24224).nanosecond_precision(true).build();
//! sender.emit("follow", &BTreeMap::from([("from", "userA"), ("to", "userB")]))?;
//! sender.close();
//! # Ok::<(), fluent_std::SendError>(())
//! ```
//!
//! [`AsyncSender`] is `asyncsender.FluentSender`: `emit` encodes into the
//! calling thread's own lock-free ring and returns; a worker thread sends
//! PackedForward batches (ack mode, reconnect backoff, bounded memory,
//! `close` with a deadline).
//!
//! With the `log` feature, `handler` is `handler.FluentHandler` /
//! `asynchandler.FluentHandler` with `FluentRecordFormatter` for the `log`
//! facade; with the `tracing` feature, `layer::FluentLayer` is a
//! `tracing_subscriber::Layer` sending records of the same shape.
//!
//! # Records
//!
//! A record is any `Serialize` value that encodes as a map: a struct, a
//! `BTreeMap`, a `serde_json` object. Its values go out as serde gives
//! them, so a `std::time::SystemTime` field arrives as serde's own map
//! `{"secs_since_epoch": .., "nanos_since_epoch": ..}`. For a time a
//! person or a query reads, send a number or a formatted string; the
//! event's own time is set with `emit_with_time`.
//!
//! ```
//! #[derive(serde::Serialize)]
//! struct Login { user: &'static str, at: std::time::SystemTime }
//! let mut out = Vec::new();
//! fluent_proto::encode_record(&mut out, &Login { user: "ada", at: std::time::UNIX_EPOCH })?;
//! assert!(out.windows(16).any(|w| w == b"secs_since_epoch"));
//! # Ok::<(), fluent_proto::EncodeError>(())
//! ```
//!
//! # Cargo features
//!
//! - `log`: `handler`, a `log::Log` with fluent-logger-python's
//!   `FluentRecordFormatter`.
//! - `tracing`: `layer::FluentLayer`, a `tracing_subscriber::Layer`.
//! - `valuable`: `tracing` field values given as `valuable` values
//!   (`order = order.as_value()`) arrive as maps and arrays, not text.
//!   `tracing` passes them on only when the program is built with
//!   `RUSTFLAGS="--cfg tracing_unstable"` (its own requirement).
//! - `cli`: the `fluent-cat` command-line tool.
//!
//! TLS (rustls with *ring*) is always built in.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod asymmetric_fence;
mod async_api;
mod async_sender;
pub mod asynchronous;
mod backoff;
mod clock;
mod connection;
mod error;
mod event;
mod global;
#[cfg(any(feature = "log", feature = "tracing"))]
mod guard;
#[cfg(feature = "log")]
pub mod handler;
#[cfg(any(feature = "log", feature = "tracing"))]
mod handler_support;
mod handshake;
mod heartbeat;
mod in_flight;
#[cfg(feature = "tracing")]
pub mod layer;
mod loss_report;
mod off_thread;
mod packet;
mod pending;
#[cfg(any(feature = "log", feature = "tracing"))]
mod record_sender;
mod rings;
mod sender;
mod servers;
mod shared;
mod stats;
mod stats_prometheus;
mod tls;
mod tls_io;
mod waker;
mod worker;

pub use async_sender::{
    AsyncSender, AsyncSenderBuilder, DEFAULT_QUEUE_CIRCULAR, DEFAULT_QUEUE_MAXSIZE, DEFAULT_STALL_TIMEOUT,
};
#[cfg(any(feature = "log", feature = "tracing"))]
pub use guard::FlushGuard;
pub use packet::BatchMode;
#[cfg(any(feature = "log", feature = "tracing"))]
pub use record_sender::RecordSender;
pub use servers::Server;
pub use stats::Stats;
pub use tls::{TlsConfig, TlsConfigBuilder, TlsError};

pub use connection::Endpoint;
pub use error::SendError;
pub use event::event;
/// The encoding error inside [`SendError::Encode`], re-exported so that a
/// user matching on it needs only this crate.
///
/// ```
/// let e = fluent_std::SendError::Encode(fluent_std::EncodeError::TooLong);
/// assert!(matches!(e, fluent_std::SendError::Encode(fluent_std::EncodeError::TooLong)));
/// ```
pub use fluent_proto::EncodeError;
pub use fluent_proto::{EventTime, Timestamp};
pub use global::{close, global_sender, set_global_sender, setup};
pub use sender::{DEFAULT_BUFMAX, DEFAULT_TIMEOUT, OverflowHandler, Sender, SenderBuilder, join_tag};
