//! The Fluentd async-sender semantics on a microcontroller, over
//! [`embedded-io`](embedded_io).
//!
//! `#![no_std]`, no allocator, no panics on the data path. A
//! [`fluent_queue::Ring`] in static memory is split in two halves:
//!
//! - [`FluentProducer`]: `emit(label, &record)` encodes `[time, record]`
//!   straight into the ring, from any context (an interrupt handler
//!   included): block mode returns [`EmitError::Full`] at once, overwrite
//!   mode evicts the oldest events (Python's circular queue) and counts
//!   them;
//! - [`Pump`]: drains whole frames into any [`embedded_io::Write`] (a UART, a
//!   blocking TCP socket) or, with the `async` feature, any
//!   `embedded_io_async::Write` (embassy-net's `TcpSocket`), one
//!   PackedForward request per run of one tag, releasing frames only when
//!   their request is written, or acknowledged in ack mode
//!   ([`Pump::pump_acked`]).
//!
//! The pump never retries on its own: [`Link`] (blocking) and, with the
//! `async` feature, `AsyncLink` connect, run the shared-key handshake and
//! reconnect; the application supplies the [`Connect`] (or `AsyncConnect`)
//! that dials its transport. Times come from a [`Clock`].
//!
//! ```
//! use fluent_embedded::{FluentProducer, Pump};
//! use fluent_proto::EventTime;
//! use fluent_queue::{Mode, Ring};
//!
//! #[derive(serde::Serialize)]
//! struct Telemetry { battery_mv: u16, rssi: i8 }
//!
//! static RING: Ring<4096, 64> = Ring::new(Mode::Overwrite);
//! let (producer, consumer) = RING.try_split().unwrap();
//! let mut producer = FluentProducer::new(producer, "node7", || EventTime::new(1_700_000_000, 0));
//! let mut pump = Pump::new(consumer);
//!
//! producer.emit("telemetry", &Telemetry { battery_mv: 3712, rssi: -67 })?; // e.g. in an ISR
//!
//! let mut uart = [0u8; 512]; // stands in for a serial port
//! let mut port: &mut [u8] = &mut uart;
//! pump.pump(&mut port)?; // in the main loop
//! assert_eq!(pump.counters().events, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! - `async`: `Pump::pump_async` over `embedded_io_async::Write`
//!   (embassy-net's `TcpSocket` and the like), and `AsyncLink`: connect,
//!   handshake, reconnect with exponential backoff on any `DelayNs` timer.
//! - `defmt`: `defmt::Format` for the public types.
//! - `handshake`: the shared-key handshake (with user authentication) on
//!   every new connection of a [`Link`], with no allocator.
//! - `critical-section`: [`SharedProducer`], the producer in a `static`
//!   shared with interrupt handlers without unsafe code, on the
//!   `critical-section` implementation the HAL, RTIC or embassy provides.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

mod clock;
mod connect;
mod error;
mod frame;
#[cfg(feature = "handshake")]
mod handshake;
#[cfg(feature = "async")]
mod link_async;
mod producer;
mod pump;
#[cfg(feature = "async")]
mod pump_async;
mod request;
#[cfg(feature = "critical-section")]
mod shared;
mod unix_offset;

/// What a firmware author needs from the layers underneath, so that one
/// dependency is enough: the ring and its ends, and the time type.
///
/// ```
/// use fluent_embedded::{EventTime, FluentProducer, Mode, Ring};
/// static RING: Ring<1024, 16> = Ring::new(Mode::Overwrite);
/// let (producer, _consumer) = RING.try_split().unwrap();
/// let _producer = FluentProducer::new(producer, "node7", || EventTime::new(1_700_000_000, 0));
/// ```
pub use fluent_proto::{EncodeError, EventTime, Timestamp};
pub use fluent_queue::{Consumer, Counters as QueueCounters, Mode, Producer, Ring, Storage};
/// The crates underneath, for what the re-exports above leave out.
pub use {fluent_proto, fluent_queue};

pub use clock::{Clock, OffsetClock, TimeMode};
pub use connect::{Connect, Link, LinkError};
#[cfg(feature = "async")]
pub use embedded_hal_async::delay::DelayNs;
pub use error::{EmitError, PumpError};
#[cfg(feature = "handshake")]
pub use handshake::{HandshakeError, Security};
#[cfg(feature = "async")]
pub use link_async::{AsyncConnect, AsyncLink, AsyncLinkError};
pub use producer::{FluentProducer, ProducerCounters};
pub use pump::{Pump, PumpCounters, Pumped};
#[cfg(feature = "critical-section")]
pub use shared::SharedProducer;
