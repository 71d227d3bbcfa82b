//! Opening connections: a small trait, and a holder that reconnects when
//! asked. When to ask (backoff, a link-up event) is the application's
//! choice, as in minimq and rust-mqtt.

use core::fmt;
use core::ops::Deref;

use embedded_io::{ErrorType, Read, Write};
use fluent_queue::Storage;

use crate::error::PumpError;
use crate::pump::{Pump, Pumped};

/// Opens a connection to the Forward receiver.
///
/// ```
/// use fluent_embedded::Connect;
/// /// A "connection" to a buffer (a serial port is always connected).
/// struct Loopback;
/// impl Connect for Loopback {
///     type Connection = Vec<u8>;
///     type Error = core::convert::Infallible;
///     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> {
///         Ok(Vec::new())
///     }
/// }
/// ```
pub trait Connect {
    /// The open connection.
    type Connection: ErrorType;
    /// Why a connection could not be opened.
    type Error;
    /// Opens a new connection.
    ///
    /// # Errors
    /// The connection could not be opened.
    fn connect(&mut self) -> Result<Self::Connection, Self::Error>;
}

/// Why [`Link::pump`] stopped.
///
/// ```
/// let e: fluent_embedded::LinkError<&str, ()> = fluent_embedded::LinkError::Connect("refused");
/// assert!(e.to_string().contains("refused"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkError<C, E> {
    /// Connecting failed (no request was written).
    Connect(C),
    /// The connection failed; it was dropped, and the next call opens a new
    /// one.
    Pump(PumpError<E>),
    /// The shared-key handshake failed (`handshake` feature); the
    /// connection was dropped before any event was written to it.
    #[cfg(feature = "handshake")]
    Handshake(crate::HandshakeError<E>),
    /// A shared key is set, and the handshake reads the server's replies:
    /// use [`Link::pump_acked`].
    #[cfg(feature = "handshake")]
    HandshakeNeedsRead,
}

impl<C: fmt::Debug, E: fmt::Debug> fmt::Display for LinkError<C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Connect(e) => write!(f, "connecting failed: {e:?}"),
            LinkError::Pump(e) => write!(f, "{e}"),
            #[cfg(feature = "handshake")]
            LinkError::Handshake(e) => write!(f, "{e}"),
            #[cfg(feature = "handshake")]
            LinkError::HandshakeNeedsRead => f.write_str("the handshake reads the server's replies: use pump_acked"),
        }
    }
}

/// A connector and the connection it opened, if any: each
/// [`pump`](Link::pump) call connects when there is no connection, pumps,
/// and drops the connection on failure (telling the pump), so the next call
/// starts afresh.
///
/// ```
/// use fluent_embedded::{Connect, FluentProducer, Link, Pump};
/// use fluent_queue::{Mode, Ring};
/// # struct Loopback;
/// # impl Connect for Loopback {
/// #     type Connection = Vec<u8>;
/// #     type Error = core::convert::Infallible;
/// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
/// # }
/// static RING: Ring<512, 8> = Ring::new(Mode::Block);
/// let (p, c) = RING.try_split().unwrap();
/// let mut producer = FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(1, 0));
/// let (mut pump, mut link) = (Pump::new(c), Link::new(Loopback));
/// producer.emit("up", &std::collections::BTreeMap::from([("ok", true)]))?;
/// assert_eq!(link.pump(&mut pump).unwrap().events, 1);
/// assert!(link.connection().is_some_and(|bytes| !bytes.is_empty()));
/// # Ok::<(), fluent_embedded::EmitError>(())
/// ```
pub struct Link<C: Connect> {
    connector: C,
    connection: Option<C::Connection>,
    #[cfg(feature = "handshake")]
    security: Option<crate::Security<'static>>,
}

impl<C: Connect> Link<C> {
    /// A link that connects with `connector` on first use.
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::Connect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// let link = fluent_embedded::Link::new(Serial);
    /// assert!(link.connection().is_none(), "connects on first use");
    /// ```
    pub fn new(connector: C) -> Self {
        Link {
            connector,
            connection: None,
            #[cfg(feature = "handshake")]
            security: None,
        }
    }

    /// Runs the shared-key handshake on every new connection before any
    /// event is written, checking the server's PONG digest (`handshake`
    /// feature; with [`pump_acked`](Link::pump_acked), which reads).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::Connect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// fn salt() -> [u8; 16] { [3; 16] } // the device's random number generator
    /// let _link = fluent_embedded::Link::new(Serial).security(fluent_embedded::Security::new("key", "node7", salt));
    /// ```
    #[cfg(feature = "handshake")]
    pub fn security(mut self, security: crate::Security<'static>) -> Self {
        self.security = Some(security);
        self
    }

    /// The open connection, if any.
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::Connect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// assert!(fluent_embedded::Link::new(Serial).connection().is_none());
    /// ```
    pub fn connection(&self) -> Option<&C::Connection> {
        self.connection.as_ref()
    }

    /// Drops the connection (the next call reconnects).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::Connect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// let mut link = fluent_embedded::Link::new(Serial);
    /// link.disconnect();
    /// assert!(link.connection().is_none());
    /// ```
    pub fn disconnect(&mut self) {
        self.connection = None;
    }

    fn connected<R>(&mut self, pump: &mut Pump<R>) -> Result<&mut C::Connection, C::Error>
    where
        R: Deref,
        R::Target: Storage,
    {
        Ok(match self.connection.take() {
            Some(connection) => self.connection.insert(connection),
            None => {
                let connection = self.connector.connect()?;
                pump.connection_reset();
                self.connection.insert(connection)
            }
        })
    }

    /// Pumps every queued event through the connection (opening one first
    /// if needed), without acks.
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::Connect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     fn connect(&mut self) -> Result<Vec<u8>, Self::Error> { Ok(Vec::new()) }
    /// # }
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// let (mut pump, mut link) = (fluent_embedded::Pump::new(c), fluent_embedded::Link::new(Serial));
    /// assert_eq!(link.pump(&mut pump).unwrap().events, 0); // nothing queued
    /// ```
    ///
    /// # Errors
    /// [`LinkError`]; after a pump error the connection is dropped.
    pub fn pump<R>(
        &mut self,
        pump: &mut Pump<R>,
    ) -> Result<Pumped, LinkError<C::Error, <C::Connection as ErrorType>::Error>>
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Write,
    {
        #[cfg(feature = "handshake")]
        if self.security.is_some() {
            return Err(LinkError::HandshakeNeedsRead);
        }
        let connection = self.connected(pump).map_err(LinkError::Connect)?;
        let result = pump.pump(connection);
        self.after(result)
    }

    /// As [`pump`](Link::pump), waiting for each request's ack.
    ///
    /// ```
    /// use fluent_embedded::{Connect, Link, LinkError, Pump, PumpError};
    /// /// A peer that takes requests but never acks them.
    /// struct Mute;
    /// impl embedded_io::ErrorType for Mute { type Error = core::convert::Infallible; }
    /// impl embedded_io::Write for Mute {
    ///     fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> { Ok(b.len()) }
    ///     fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// }
    /// impl embedded_io::Read for Mute {
    ///     fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> { Ok(0) }
    /// }
    /// struct ToMute;
    /// impl Connect for ToMute {
    ///     type Connection = Mute;
    ///     type Error = ();
    ///     fn connect(&mut self) -> Result<Mute, ()> { Ok(Mute) }
    /// }
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (p, c) = RING.try_split().unwrap();
    /// let mut producer = fluent_embedded::FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(7, 0));
    /// producer.emit("up", &std::collections::BTreeMap::from([("ok", true)]))?;
    /// let (mut pump, mut link) = (Pump::new(c), Link::new(ToMute));
    /// assert!(matches!(link.pump_acked(&mut pump), Err(LinkError::Pump(PumpError::NoAck))));
    /// assert!(link.connection().is_none(), "dropped after the failure");
    /// assert_eq!(pump.queue_counters().frames, 1, "not acked: still queued");
    /// # Ok::<(), fluent_embedded::EmitError>(())
    /// ```
    ///
    /// # Errors
    /// [`LinkError`]; after a pump error the connection is dropped.
    pub fn pump_acked<R>(
        &mut self,
        pump: &mut Pump<R>,
    ) -> Result<Pumped, LinkError<C::Error, <C::Connection as ErrorType>::Error>>
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Read + Write,
    {
        #[cfg(feature = "handshake")]
        if self.connection.is_none()
            && let Some(security) = self.security
        {
            let mut connection = self.connector.connect().map_err(LinkError::Connect)?;
            crate::handshake::run(&mut connection, &security).map_err(LinkError::Handshake)?;
            pump.connection_reset();
            self.connection = Some(connection);
        }
        let connection = self.connected(pump).map_err(LinkError::Connect)?;
        let result = pump.pump_acked(connection);
        self.after(result)
    }

    fn after<E>(&mut self, result: Result<Pumped, PumpError<E>>) -> Result<Pumped, LinkError<C::Error, E>> {
        result.map_err(|e| {
            self.connection = None;
            LinkError::Pump(e)
        })
    }
}
