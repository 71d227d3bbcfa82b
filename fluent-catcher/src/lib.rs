//! A Fluentd Forward-protocol log catcher for many concurrent clients.
//!
//! One tokio task per connection decodes what its client sends; one writer
//! owns the central log and receives ready-made lines through a bounded
//! channel, so a slow disk slows clients through TCP, not through memory.
//! It serves:
//!
//! - the **Forward protocol** over TCP (default `127.0.0.1:24224`, with UDP
//!   heartbeats on the same port) and a Unix socket: every mode, EventTime
//!   or integer time, `[time, metadata]`, str or bin entries, gzip, acks
//!   (sent only once the events are written, see [`AckWhen`]), and the
//!   shared-key handshake when a key is set; requests as JSON text too, as
//!   Fluentd's `in_forward` accepts them;
//! - Python's **`logging.SocketHandler`** (default `127.0.0.1:9020`), whose
//!   pickles are read as plain data only: unlike Python's own receiver, a
//!   hostile client cannot make it run code.
//!
//! Bad input closes the offending connection with a logged, counted reason;
//! other clients carry on. Frame size, decompressed size, pickle size,
//! connection count, idle time and queued bytes are all bounded
//! ([`Limits`]).
//!
//! As a test fixture, [`TestCatcher`] starts one on free ports in one line
//! and reads back what arrived:
//!
//! ```
//! let catcher = fluent_catcher::TestCatcher::start()?;
//! # let sender = fluent_std::Sender::builder("app").host("127.0.0.1").port(catcher.forward_addr().port()).build();
//! # sender.emit("x", &std::collections::BTreeMap::from([("k", 1)]))?;
//! // ... point a sender at catcher.forward_addr() ...
//! let events = catcher.wait_for_events(1, std::time::Duration::from_secs(10));
//! assert_eq!(events[0].record["k"], 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! - `cli` (default): the `fluent-catcher` command-line tool. Library users
//!   who only embed the catcher or use [`TestCatcher`] can turn it off.
//! - `fuzzing`: entry points for the fuzz targets and property tests (the
//!   parsers a client's bytes reach, on bytes alone).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod close;
mod config;
mod cpu;
mod fixture;
mod format;
mod forward;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod handoff;
mod handshake;
mod json;
mod json_input;
mod log_record;
mod memory;
mod metrics;
mod output;
mod peers;
mod pickle;
mod pickle_data;
mod prometheus;
mod server;
mod socket_handler;
mod stats;
mod stream;
mod test_certs;
mod tls;
mod tls_stream;
mod transcode;
mod writer;

pub use config::{Config, DEFAULT_FORWARD_ADDR, DEFAULT_PICKLE_ADDR, Limits};
pub use fixture::{CaughtEvent, TestCatcher};
pub use format::OutputFormat;
pub use log_record::LogRecordError;
pub use output::{AckWhen, MemoryOutput, Output};
pub use pickle::PickleError;
pub use server::{Catcher, CatcherHandle, ConnectionSummary, Listener};
pub use stats::StatsSnapshot;
pub use test_certs::{TestCertificateFiles, TestCertificates};
pub use tls::TlsServerConfig;
