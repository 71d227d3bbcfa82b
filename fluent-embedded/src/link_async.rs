//! The async counterpart of [`Link`](crate::Link) (`async` feature): a
//! connector, the shared-key handshake on each new connection, and
//! reconnects with an exponential backoff timed by the application's
//! `DelayNs` (embassy-time's `Delay`, a HAL timer).

use core::ops::Deref;
use core::time::Duration;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{ErrorType, Read, Write};
use fluent_queue::Storage;

use crate::connect::LinkError;
use crate::error::PumpError;
use crate::pump::{Pump, Pumped};

/// Opens and closes the connection to the Forward receiver, for an
/// [`AsyncLink`]. The connector owns the connection, so a socket built
/// once over static buffers (embassy-net's `TcpSocket`) is simply dialled
/// again.
///
/// ```
/// use fluent_embedded::AsyncConnect;
/// /// A "connection" to a buffer.
/// struct Loopback(Option<Vec<u8>>);
/// impl AsyncConnect for Loopback {
///     type Connection = Vec<u8>;
///     type Error = core::convert::Infallible;
///     async fn connect(&mut self) -> Result<(), Self::Error> {
///         self.0 = Some(Vec::new());
///         Ok(())
///     }
///     fn connection(&mut self) -> Option<&mut Vec<u8>> {
///         self.0.as_mut()
///     }
///     async fn disconnect(&mut self) {
///         self.0 = None;
///     }
/// }
/// ```
// The futures carry no `Send` bound: embedded executors run tasks on one
// core, and a connector holding a `!Send` socket must still qualify.
#[allow(async_fn_in_trait)]
pub trait AsyncConnect {
    /// The open connection.
    type Connection: ErrorType;
    /// Why a connection could not be opened.
    type Error;
    /// Opens a connection (the previous one, if any, was closed with
    /// [`disconnect`](Self::disconnect)).
    ///
    /// # Errors
    /// The connection could not be opened.
    async fn connect(&mut self) -> Result<(), Self::Error>;
    /// The open connection, if any.
    fn connection(&mut self) -> Option<&mut Self::Connection>;
    /// Closes the connection after a failure (an abort: it must not wait
    /// for the peer).
    async fn disconnect(&mut self);
}

/// The shortest and longest waits before reconnecting.
const DEFAULT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(30));

/// An [`AsyncConnect`] with reconnects: each [`pump`](AsyncLink::pump)
/// call connects when there is no connection (running the shared-key
/// handshake when [`security`](AsyncLink::security) is set), pumps, and
/// on any failure closes the connection and doubles the wait before the
/// next attempt, from 100 ms up to 30 s by default
/// ([`backoff`](AsyncLink::backoff)); a successful pump resets it. The
/// wait happens at the start of the next call, through the `delay`.
/// [`run_acked`](AsyncLink::run_acked) is the whole pump task.
///
/// ```
/// use fluent_embedded::{AsyncConnect, AsyncLink, FluentProducer, Pump};
/// use fluent_queue::{Mode, Ring};
/// # struct Loopback(Option<Vec<u8>>);
/// # impl AsyncConnect for Loopback {
/// #     type Connection = Vec<u8>;
/// #     type Error = core::convert::Infallible;
/// #     async fn connect(&mut self) -> Result<(), Self::Error> { self.0 = Some(Vec::new()); Ok(()) }
/// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { self.0.as_mut() }
/// #     async fn disconnect(&mut self) { self.0 = None; }
/// # }
/// # struct NoDelay;
/// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
/// static RING: Ring<512, 8> = Ring::new(Mode::Block);
/// let (p, c) = RING.try_split().unwrap();
/// let mut producer = FluentProducer::new(p, "dev", || fluent_proto::EventTime::new(1, 0));
/// let (mut pump, mut link) = (Pump::new(c), AsyncLink::new(Loopback(None), NoDelay));
/// producer.emit("up", &std::collections::BTreeMap::from([("ok", true)]))?;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(link.pump(&mut pump).await.unwrap().events, 1);
/// assert!(link.connector().0.as_ref().is_some_and(|bytes| !bytes.is_empty()));
/// # });
/// # Ok::<(), fluent_embedded::EmitError>(())
/// ```
pub struct AsyncLink<C, D> {
    connector: C,
    delay: D,
    up: bool,
    /// Milliseconds to wait before the next connection attempt.
    wait_ms: u32,
    next_wait_ms: u32,
    initial_ms: u32,
    max_ms: u32,
    idle_ms: u32,
    #[cfg(feature = "handshake")]
    security: Option<crate::Security<'static>>,
}

/// What [`AsyncLink`] calls return on failure.
pub type AsyncLinkError<C> =
    LinkError<<C as AsyncConnect>::Error, <<C as AsyncConnect>::Connection as ErrorType>::Error>;

impl<C: AsyncConnect, D: DelayNs> AsyncLink<C, D> {
    /// A link that connects with `connector` on first use and times its
    /// backoff with `delay`.
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// let link = fluent_embedded::AsyncLink::new(Serial, NoDelay);
    /// assert!(!link.is_connected());
    /// ```
    pub fn new(connector: C, delay: D) -> Self {
        let (initial, max) = DEFAULT_BACKOFF;
        AsyncLink {
            connector,
            delay,
            up: false,
            wait_ms: 0,
            next_wait_ms: millis(initial),
            initial_ms: millis(initial),
            max_ms: millis(max),
            idle_ms: 50,
            #[cfg(feature = "handshake")]
            security: None,
        }
    }

    /// The wait after the first failure, doubled after each further one up
    /// to `max` (defaults 100 ms and 30 s).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// use core::time::Duration;
    /// let _link = fluent_embedded::AsyncLink::new(Serial, NoDelay).backoff(Duration::from_millis(250), Duration::from_secs(60));
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_ms = millis(initial).max(1);
        self.max_ms = millis(max).max(self.initial_ms);
        self.next_wait_ms = self.initial_ms;
        self
    }

    /// How long [`run`](Self::run) and [`run_acked`](Self::run_acked)
    /// sleep when the ring is empty (default 50 ms): the longest an event
    /// waits in the ring while the link is idle.
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// let _link = fluent_embedded::AsyncLink::new(Serial, NoDelay).idle_interval(core::time::Duration::from_millis(10));
    /// ```
    pub fn idle_interval(mut self, interval: Duration) -> Self {
        self.idle_ms = millis(interval).max(1);
        self
    }

    /// Runs the shared-key handshake on every new connection before any
    /// event is written, checking the server's PONG digest (`handshake`
    /// feature; the handshake reads, so use the `_acked` calls).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// fn salt() -> [u8; 16] { [3; 16] } // the device's random number generator
    /// let _link = fluent_embedded::AsyncLink::new(Serial, NoDelay).security(fluent_embedded::Security::new("key", "node7", salt));
    /// ```
    #[cfg(feature = "handshake")]
    pub fn security(mut self, security: crate::Security<'static>) -> Self {
        self.security = Some(security);
        self
    }

    /// The connector (and through it, the connection).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// let link = fluent_embedded::AsyncLink::new(Serial, NoDelay);
    /// let _serial: &Serial = link.connector();
    /// ```
    pub fn connector(&self) -> &C {
        &self.connector
    }

    /// Whether a connection is open (and, with a key, authenticated).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// assert!(!fluent_embedded::AsyncLink::new(Serial, NoDelay).is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.up
    }

    /// The wait before the next connection attempt (zero while connected
    /// or before any failure).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// assert_eq!(fluent_embedded::AsyncLink::new(Serial, NoDelay).retry_in(), core::time::Duration::ZERO);
    /// ```
    pub fn retry_in(&self) -> Duration {
        Duration::from_millis(u64::from(self.wait_ms))
    }

    /// Closes the connection (the next call reconnects, without waiting).
    ///
    /// ```
    /// # struct Serial;
    /// # impl fluent_embedded::AsyncConnect for Serial {
    /// #     type Connection = Vec<u8>;
    /// #     type Error = core::convert::Infallible;
    /// #     async fn connect(&mut self) -> Result<(), Self::Error> { Ok(()) }
    /// #     fn connection(&mut self) -> Option<&mut Vec<u8>> { None }
    /// #     async fn disconnect(&mut self) {}
    /// # }
    /// # struct NoDelay;
    /// # impl fluent_embedded::DelayNs for NoDelay { async fn delay_ns(&mut self, _: u32) {} }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut link = fluent_embedded::AsyncLink::new(Serial, NoDelay);
    /// link.disconnect().await;
    /// assert!(!link.is_connected());
    /// # });
    /// ```
    pub async fn disconnect(&mut self) {
        self.connector.disconnect().await;
        self.up = false;
    }

    /// Pumps every queued event through the connection (connecting first,
    /// after the backoff, if needed), without acks.
    ///
    /// # Errors
    /// [`LinkError`]; after any failure the connection is closed and the
    /// next call waits the backoff first.
    pub async fn pump<R>(&mut self, pump: &mut Pump<R>) -> Result<Pumped, AsyncLinkError<C>>
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Write,
    {
        #[cfg(feature = "handshake")]
        if self.security.is_some() {
            return Err(LinkError::HandshakeNeedsRead);
        }
        if self.reconnect().await? {
            self.opened(pump);
        }
        let result = match self.connector.connection() {
            Some(connection) => pump.pump_async(connection).await,
            None => Err(PumpError::WriteZero),
        };
        self.after(result).await
    }

    /// As [`pump`](Self::pump), waiting for each request's ack, with the
    /// handshake on each new connection when a key is set.
    ///
    /// # Errors
    /// [`LinkError`]; after any failure the connection is closed and the
    /// next call waits the backoff first.
    pub async fn pump_acked<R>(&mut self, pump: &mut Pump<R>) -> Result<Pumped, AsyncLinkError<C>>
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Read + Write,
    {
        if self.reconnect().await? {
            #[cfg(feature = "handshake")]
            if let Some(security) = self.security {
                let result = match self.connector.connection() {
                    Some(connection) => crate::handshake::run_async(connection, &security).await,
                    None => Err(crate::HandshakeError::Closed),
                };
                if let Err(e) = result {
                    return Err(self.failed(LinkError::Handshake(e)).await);
                }
            }
            self.opened(pump);
        }
        let result = match self.connector.connection() {
            Some(connection) => pump.pump_acked_async(connection).await,
            None => Err(PumpError::NoAck),
        };
        self.after(result).await
    }

    /// The pump task, without acks: pumps, sleeps the
    /// [`idle_interval`](Self::idle_interval) when the ring is empty,
    /// reconnects with backoff after failures; `on_error` sees each
    /// failure (to log or count it). Never returns.
    pub async fn run<R>(&mut self, pump: &mut Pump<R>, mut on_error: impl FnMut(&AsyncLinkError<C>)) -> !
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Write,
    {
        loop {
            match self.pump(pump).await {
                Ok(pumped) if pumped.requests == 0 => self.delay.delay_ms(self.idle_ms).await,
                Ok(_) => {}
                Err(e) => on_error(&e),
            }
        }
    }

    /// The pump task in ack mode, with the handshake when a key is set: as
    /// [`run`](Self::run), through [`pump_acked`](Self::pump_acked).
    ///
    /// ```no_run
    /// # use fluent_embedded::{AsyncConnect, AsyncLink, Pump};
    /// # async fn task<C: AsyncConnect, D: fluent_embedded::DelayNs>(link: &mut AsyncLink<C, D>, pump: &mut Pump<&'static fluent_queue::Ring<1024, 16>>)
    /// # where C::Connection: embedded_io_async::Read + embedded_io_async::Write {
    /// link.run_acked(pump, |_error| { /* count it, log it */ }).await
    /// # }
    /// ```
    pub async fn run_acked<R>(&mut self, pump: &mut Pump<R>, mut on_error: impl FnMut(&AsyncLinkError<C>)) -> !
    where
        R: Deref,
        R::Target: Storage,
        C::Connection: Read + Write,
    {
        loop {
            match self.pump_acked(pump).await {
                Ok(pumped) if pumped.requests == 0 => self.delay.delay_ms(self.idle_ms).await,
                Ok(_) => {}
                Err(e) => on_error(&e),
            }
        }
    }

    /// Unless the connection is up: waits out the backoff and connects.
    /// `Ok(true)` when it just connected.
    async fn reconnect(&mut self) -> Result<bool, AsyncLinkError<C>> {
        if self.up {
            return Ok(false);
        }
        self.wait_out_backoff().await;
        match self.connector.connect().await {
            Ok(()) => Ok(true),
            Err(e) => Err(self.failed(LinkError::Connect(e)).await),
        }
    }

    async fn wait_out_backoff(&mut self) {
        if self.wait_ms > 0 {
            self.delay.delay_ms(self.wait_ms).await;
            self.wait_ms = 0;
        }
    }

    /// A new connection is ready for events.
    fn opened<R>(&mut self, pump: &mut Pump<R>)
    where
        R: Deref,
        R::Target: Storage,
    {
        self.up = true;
        pump.connection_reset();
    }

    /// Closes the connection and sets the next wait.
    async fn failed<E>(&mut self, error: E) -> E {
        self.connector.disconnect().await;
        self.up = false;
        self.wait_ms = self.next_wait_ms;
        self.next_wait_ms = self.next_wait_ms.saturating_mul(2).min(self.max_ms);
        error
    }

    async fn after(
        &mut self,
        result: Result<Pumped, PumpError<<C::Connection as ErrorType>::Error>>,
    ) -> Result<Pumped, AsyncLinkError<C>> {
        match result {
            Ok(pumped) => {
                self.next_wait_ms = self.initial_ms;
                Ok(pumped)
            }
            Err(e) => Err(self.failed(LinkError::Pump(e)).await),
        }
    }
}

/// Whole milliseconds, saturating at `u32::MAX` (49 days).
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}
