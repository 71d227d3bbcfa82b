//! What the catcher listens on, where it writes, and the limits that keep
//! a hostile or broken client from taking it down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::format::OutputFormat;
use crate::output::{AckWhen, Output};

/// The Forward protocol's default port.
///
/// ```
/// assert_eq!(fluent_catcher::DEFAULT_FORWARD_ADDR, "127.0.0.1:24224");
/// ```
pub const DEFAULT_FORWARD_ADDR: &str = "127.0.0.1:24224";
/// `logging.handlers.DEFAULT_TCP_LOGGING_PORT`.
///
/// ```
/// assert_eq!(fluent_catcher::DEFAULT_PICKLE_ADDR, "127.0.0.1:9020");
/// ```
pub const DEFAULT_PICKLE_ADDR: &str = "127.0.0.1:9020";

/// Bounds on what clients can make the catcher hold.
///
/// ```
/// let limits = fluent_catcher::Limits::default();
/// assert_eq!(limits.max_connections, 16_384);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest Forward frame accepted (default 64 MiB: a file-buffered
    /// Fluentd sends chunks of up to its `chunk_limit_size`, 8 MiB by
    /// default and often raised to tens of megabytes). A larger frame
    /// closes the connection, counted as `frame-too-large` and logged with
    /// the peer and the limit even with `--quiet`.
    pub max_frame_len: usize,
    /// The most a CompressedPackedForward request may inflate to (default
    /// 64 MiB; Fluentd's own cap is 256 MiB).
    pub max_decompressed_len: usize,
    /// The largest `SocketHandler` pickle accepted, and the most one
    /// record may render to (default 1 MiB).
    pub max_pickle_len: usize,
    /// Connections open at once, all listeners together; more are closed
    /// on accept and counted (default 16,384).
    pub max_connections: usize,
    /// A connection silent this long is closed (default 5 minutes).
    pub idle_timeout: Duration,
    /// How long a frame (or pickle record) may take from the end of the
    /// previous one, plus one second per [`Limits::min_data_rate`] bytes of
    /// it received: a client trickling bytes (slowloris) is closed after
    /// this, while a large frame arriving at a real link's speed is not
    /// (default 30 s).
    pub frame_timeout: Duration,
    /// Bytes a second that extend a frame's time (default 16 KiB).
    pub min_data_rate: usize,
    /// Connections open at once from one IP address; more are closed on
    /// accept and counted, so one peer cannot lock the others out (default
    /// 4,096, a quarter of `max_connections`).
    pub max_connections_per_peer: usize,
    /// Bytes of decoded data held at once, all connections together:
    /// inflated gzip requests, lines being rendered, and lines waiting for
    /// the writer. They are acquired before they are allocated; a
    /// connection that finds the budget spent waits for room (its client
    /// feels TCP backpressure), and a request that needs more than the
    /// whole budget is refused (default 256 MiB).
    pub decode_memory: usize,
    /// Bytes of read buffers, all connections together, beyond the first
    /// 64 KiB of each: a frame arriving in pieces holds its bytes here until
    /// it is complete. A connection that cannot get room within the frame
    /// timeout is closed (default 256 MiB).
    pub buffer_memory: usize,
    /// The longest tag accepted, in bytes; a longer one closes the
    /// connection (default 4 KiB: real tags are far shorter).
    pub max_tag_len: usize,
    /// What one request may render to, as a multiple of its bytes
    /// (inflated, when compressed), plus 64 KiB: a request whose lines
    /// would exceed that (a long tag repeated on many tiny entries) is
    /// refused and its connection closed (default 64).
    pub max_output_ratio: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_len: 64 << 20,
            max_decompressed_len: 64 << 20,
            max_pickle_len: 1 << 20,
            max_connections: 16_384,
            idle_timeout: Duration::from_secs(300),
            frame_timeout: Duration::from_secs(30),
            min_data_rate: 16 << 10,
            max_connections_per_peer: 4096,
            decode_memory: 256 << 20,
            buffer_memory: 256 << 20,
            max_tag_len: 4 << 10,
            max_output_ratio: 64,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_frame_len`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_frame_len(1024).max_frame_len, 1024);
    /// ```
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets [`Limits::max_decompressed_len`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_decompressed_len(9).max_decompressed_len, 9);
    /// ```
    pub fn max_decompressed_len(mut self, bytes: usize) -> Self {
        self.max_decompressed_len = bytes;
        self
    }

    /// Sets [`Limits::max_pickle_len`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_pickle_len(9).max_pickle_len, 9);
    /// ```
    pub fn max_pickle_len(mut self, bytes: usize) -> Self {
        self.max_pickle_len = bytes;
        self
    }

    /// Sets [`Limits::max_connections`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_connections(2).max_connections, 2);
    /// ```
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`Limits::idle_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = fluent_catcher::Limits::default().idle_timeout(Duration::from_secs(1));
    /// assert_eq!(l.idle_timeout, Duration::from_secs(1));
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`Limits::frame_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = fluent_catcher::Limits::default().frame_timeout(Duration::from_secs(5));
    /// assert_eq!(l.frame_timeout, Duration::from_secs(5));
    /// ```
    pub fn frame_timeout(mut self, timeout: Duration) -> Self {
        self.frame_timeout = timeout;
        self
    }

    /// Sets [`Limits::min_data_rate`] (at least 1).
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().min_data_rate(1024).min_data_rate, 1024);
    /// ```
    pub fn min_data_rate(mut self, bytes_per_second: usize) -> Self {
        self.min_data_rate = bytes_per_second.max(1);
        self
    }

    /// Sets [`Limits::max_connections_per_peer`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_connections_per_peer(4).max_connections_per_peer, 4);
    /// ```
    pub fn max_connections_per_peer(mut self, n: usize) -> Self {
        self.max_connections_per_peer = n;
        self
    }

    /// Sets [`Limits::decode_memory`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().decode_memory(9 << 20).decode_memory, 9 << 20);
    /// ```
    pub fn decode_memory(mut self, bytes: usize) -> Self {
        self.decode_memory = bytes;
        self
    }

    /// Sets [`Limits::buffer_memory`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().buffer_memory(9 << 20).buffer_memory, 9 << 20);
    /// ```
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.buffer_memory = bytes;
        self
    }

    /// Sets [`Limits::max_tag_len`].
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_tag_len(64).max_tag_len, 64);
    /// ```
    pub fn max_tag_len(mut self, bytes: usize) -> Self {
        self.max_tag_len = bytes;
        self
    }

    /// Sets [`Limits::max_output_ratio`] (at least 1).
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Limits::default().max_output_ratio(8).max_output_ratio, 8);
    /// ```
    pub fn max_output_ratio(mut self, ratio: usize) -> Self {
        self.max_output_ratio = ratio.max(1);
        self
    }

    /// The most a request of `input` bytes may render to.
    pub(crate) fn output_cap(&self, input: usize) -> usize {
        input.saturating_mul(self.max_output_ratio).saturating_add(64 << 10)
    }
}

/// The catcher's configuration. Defaults: Forward on 127.0.0.1:24224 (TCP,
/// and UDP heartbeats on the same port), `SocketHandler` on 127.0.0.1:9020,
/// JSON lines to stdout, acks once written, no shared key.
///
/// ```
/// use fluent_catcher::{Config, Output};
/// let config = Config::default().forward("127.0.0.1:0".parse().unwrap()).no_pickle().output(Output::Memory(Default::default()));
/// assert!(config.pickle_addr().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) forward: Option<SocketAddr>,
    /// The TLS Forward listener: its address and settings.
    pub(crate) tls_forward: Option<(SocketAddr, crate::TlsServerConfig)>,
    /// The Prometheus endpoint's address.
    pub(crate) metrics: Option<SocketAddr>,
    pub(crate) udp_heartbeat: bool,
    pub(crate) unix: Option<PathBuf>,
    pub(crate) pickle: Option<SocketAddr>,
    pub(crate) output: Output,
    pub(crate) format: OutputFormat,
    pub(crate) ack: AckWhen,
    pub(crate) shared_key: Option<String>,
    /// Users and passwords for the handshake's user authentication.
    pub(crate) users: Vec<(String, String)>,
    pub(crate) hostname: String,
    pub(crate) limits: Limits,
    pub(crate) flush_interval: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) log_connections: bool,
    pub(crate) record_connections: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            forward: DEFAULT_FORWARD_ADDR.parse().ok(),
            tls_forward: None,
            metrics: None,
            udp_heartbeat: true,
            unix: None,
            pickle: DEFAULT_PICKLE_ADDR.parse().ok(),
            output: Output::Stdout,
            format: OutputFormat::JsonLines,
            ack: AckWhen::Written,
            shared_key: None,
            users: Vec::new(),
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            limits: Limits::default(),
            flush_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
            log_connections: true,
            record_connections: false,
        }
    }
}

impl Config {
    /// The Forward TCP listener's address (port 0 picks a free one).
    ///
    /// ```
    /// let c = fluent_catcher::Config::default().forward("127.0.0.1:0".parse().unwrap());
    /// assert_eq!(c.forward_addr().unwrap().port(), 0);
    /// ```
    pub fn forward(mut self, addr: SocketAddr) -> Self {
        self.forward = Some(addr);
        self
    }

    /// No Forward TCP listener.
    ///
    /// ```
    /// assert!(fluent_catcher::Config::default().no_forward().forward_addr().is_none());
    /// ```
    pub fn no_forward(mut self) -> Self {
        self.forward = None;
        self
    }

    /// A Forward listener speaking TLS, next to the plain one (or instead
    /// of it, with [`Config::no_forward`]): the same protocol, handshake and
    /// acks inside the TLS session.
    ///
    /// ```no_run
    /// let tls = fluent_catcher::TlsServerConfig::from_pem_files("server.pem", "server.key")?;
    /// let config = fluent_catcher::Config::default().tls_forward("127.0.0.1:24225".parse().unwrap(), tls);
    /// assert!(config.tls_forward_addr().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tls_forward(mut self, addr: SocketAddr, tls: crate::TlsServerConfig) -> Self {
        self.tls_forward = Some((addr, tls));
        self
    }

    /// Serves the counters at `http://ADDR/metrics` in the Prometheus text
    /// format (names prefixed `fluent_catcher_`), as Fluent Bit does.
    ///
    /// ```
    /// let c = fluent_catcher::Config::default().metrics("127.0.0.1:2021".parse().unwrap());
    /// assert_eq!(c.metrics_addr().unwrap().port(), 2021);
    /// ```
    pub fn metrics(mut self, addr: SocketAddr) -> Self {
        self.metrics = Some(addr);
        self
    }

    /// The metrics endpoint's configured address, if any.
    ///
    /// ```
    /// assert!(fluent_catcher::Config::default().metrics_addr().is_none());
    /// ```
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// The TLS Forward listener's configured address, if any.
    ///
    /// ```
    /// assert!(fluent_catcher::Config::default().tls_forward_addr().is_none());
    /// ```
    pub fn tls_forward_addr(&self) -> Option<SocketAddr> {
        self.tls_forward.as_ref().map(|(addr, _)| *addr)
    }

    /// Whether UDP heartbeats (`0x00` answered with `0x00`) are served on
    /// the Forward port (default on).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().udp_heartbeat(false);
    /// ```
    pub fn udp_heartbeat(mut self, on: bool) -> Self {
        self.udp_heartbeat = on;
        self
    }

    /// Also serve the Forward protocol on a Unix socket at `path`.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().unix("/tmp/fluent.sock");
    /// ```
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.unix = Some(path.into());
        self
    }

    /// The `logging.SocketHandler` listener's address.
    ///
    /// ```
    /// let c = fluent_catcher::Config::default().pickle("127.0.0.1:0".parse().unwrap());
    /// assert!(c.pickle_addr().is_some());
    /// ```
    pub fn pickle(mut self, addr: SocketAddr) -> Self {
        self.pickle = Some(addr);
        self
    }

    /// No `SocketHandler` listener.
    ///
    /// ```
    /// assert!(fluent_catcher::Config::default().no_pickle().pickle_addr().is_none());
    /// ```
    pub fn no_pickle(mut self) -> Self {
        self.pickle = None;
        self
    }

    /// Where the central log goes.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().output(fluent_catcher::Output::File("events.jsonl".into()));
    /// ```
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }

    /// The line format.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().format(fluent_catcher::OutputFormat::Fluentd);
    /// ```
    pub fn format(mut self, format: OutputFormat) -> Self {
        self.format = format;
        self
    }

    /// What an ack promises.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().ack(fluent_catcher::AckWhen::Synced);
    /// ```
    pub fn ack(mut self, ack: AckWhen) -> Self {
        self.ack = ack;
        self
    }

    /// Requires the HELO/PING/PONG shared-key handshake on Forward
    /// connections.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().shared_key("secret");
    /// ```
    pub fn shared_key(mut self, key: impl Into<String>) -> Self {
        self.shared_key = Some(key.into());
        self
    }

    /// Adds a user for the handshake's user authentication (Fluentd's
    /// `<security><user>`): with any user configured, HELO carries an auth
    /// salt and a PING must name a user and give its password digest. It
    /// applies with [`Config::shared_key`], which the handshake needs.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().shared_key("secret").user("fluentd", "s3cret");
    /// ```
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// The hostname the catcher gives in PONG (default: this machine's).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().hostname("catcher");
    /// ```
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = hostname.into();
        self
    }

    /// The limits.
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().limits(fluent_catcher::Limits::default().max_connections(10));
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How often buffered lines are flushed to the output (default 1 s).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().flush_interval(std::time::Duration::from_millis(100));
    /// ```
    pub fn flush_interval(mut self, interval: std::time::Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How long, at shutdown, connections may take to finish the request
    /// they are receiving (default 5 s).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().shutdown_grace(std::time::Duration::from_secs(1));
    /// ```
    pub fn shutdown_grace(mut self, grace: std::time::Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether each disconnect is logged on stderr with the peer and its
    /// event count (default on).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().log_connections(false);
    /// ```
    pub fn log_connections(mut self, on: bool) -> Self {
        self.log_connections = on;
        self
    }

    /// Whether each connection's summary is kept for
    /// [`CatcherHandle::connections`](crate::CatcherHandle::connections) (default off:
    /// a long-running server would grow without bound).
    ///
    /// ```
    /// let _c = fluent_catcher::Config::default().record_connections(true);
    /// ```
    pub fn record_connections(mut self, on: bool) -> Self {
        self.record_connections = on;
        self
    }

    /// The configured Forward address.
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Config::default().forward_addr().unwrap().port(), 24224);
    /// ```
    pub fn forward_addr(&self) -> Option<SocketAddr> {
        self.forward
    }

    /// The configured `SocketHandler` address.
    ///
    /// ```
    /// assert_eq!(fluent_catcher::Config::default().pickle_addr().unwrap().port(), 9020);
    /// ```
    pub fn pickle_addr(&self) -> Option<SocketAddr> {
        self.pickle
    }
}
