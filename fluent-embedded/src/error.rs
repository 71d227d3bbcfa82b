//! Why an emit or a pump did not go through.

use core::fmt;

use fluent_proto::EncodeError;

/// Why [`emit`](crate::FluentProducer::emit) dropped an event. Every case
/// is also counted in [`ProducerCounters`](crate::ProducerCounters).
///
/// ```
/// assert_eq!(fluent_embedded::EmitError::Full.to_string(), "ring full");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EmitError {
    /// Block mode and the ring has no room: returned at once (retrying is
    /// the caller's choice).
    Full,
    /// Overwrite mode, but the oldest events cannot be evicted: the pump is
    /// reading them right now, or (with `pump_acked`) they belong to the
    /// request awaiting its ack. The new event is dropped rather than
    /// waiting, and counted (`ProducerCounters::busy`): "drop the oldest"
    /// applies to events not in flight. Size the ring to hold several
    /// requests (`Pump::max_events_per_request`) so that this stays rare.
    Busy,
    /// The event is larger than the whole ring.
    TooLarge,
    /// A `SharedProducer` holds no producer yet (or was used from inside
    /// its own `with`).
    NotInstalled,
    /// The record could not be encoded (not a map, unknown length, ...).
    Encode(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] EncodeError),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Full => f.write_str("ring full"),
            EmitError::Busy => {
                f.write_str("oldest events in flight (being read or awaiting their ack); new event dropped")
            }
            EmitError::TooLarge => f.write_str("event larger than the ring"),
            EmitError::NotInstalled => f.write_str("no producer installed in the shared slot"),
            EmitError::Encode(e) => write!(f, "encoding failed: {e}"),
        }
    }
}

impl core::error::Error for EmitError {}

/// Why [`pump`](crate::Pump::pump) stopped. After any error but
/// [`PumpError::NeedsReconnect`], the connection is considered broken: the
/// pump refuses to write more to it until
/// [`connection_reset`](crate::Pump::connection_reset) (a request may have
/// been cut in the middle). Nothing was released: the unsent events go out
/// again on the next connection.
///
/// ```
/// let e: fluent_embedded::PumpError<()> = fluent_embedded::PumpError::WriteZero;
/// assert_eq!(e.to_string(), "transport accepted no bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PumpError<E> {
    /// The transport failed.
    Io(E),
    /// The transport accepted zero bytes (the peer is gone).
    WriteZero,
    /// Ack mode: the peer closed before answering.
    NoAck,
    /// Ack mode: the reply was not `{"ack": <our chunk>}`.
    BadAck,
    /// An earlier error broke this connection; call
    /// [`connection_reset`](crate::Pump::connection_reset) with a new one.
    NeedsReconnect,
}

impl<E: fmt::Debug> fmt::Display for PumpError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PumpError::Io(e) => write!(f, "transport error: {e:?}"),
            PumpError::WriteZero => f.write_str("transport accepted no bytes"),
            PumpError::NoAck => f.write_str("connection closed before the ack"),
            PumpError::BadAck => f.write_str("reply is not the ack for the request"),
            PumpError::NeedsReconnect => f.write_str("connection broken by an earlier error"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for PumpError<E> {}
