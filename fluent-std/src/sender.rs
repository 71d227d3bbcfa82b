//! [`Sender`]: fluent-logger-python's `sender.FluentSender`, synchronous.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use fluent_proto::{EventTime, Timestamp, encode_message};
use serde::Serialize;

use crate::connection::{Connection, Endpoint};
use crate::error::SendError;
use crate::servers::ServerSet;

/// Receives bytes the sender had to give up (Python's
/// `buffer_overflow_handler`); a panic inside it is caught.
pub type OverflowHandler = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Python's `bufmax` default: 1 MiB.
pub const DEFAULT_BUFMAX: usize = 1024 * 1024;
/// Python's `timeout` default: 3 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// `last_error` is per thread, as in Python (keyed by sender).
    static LAST_ERROR: RefCell<HashMap<u64, SendError>> = RefCell::new(HashMap::new());
}

/// The options of [`Sender`], with fluent-logger-python's defaults.
#[derive(Clone)]
pub struct SenderBuilder {
    pub(crate) tag: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) bufmax: usize,
    pub(crate) timeout: Duration,
    pub(crate) verbose: bool,
    pub(crate) nanosecond_precision: bool,
    pub(crate) forward_packet_error: bool,
    pub(crate) buffer_overflow_handler: Option<OverflowHandler>,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) shared_key: Option<String>,
    pub(crate) self_hostname: Option<String>,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) tls: Option<crate::TlsConfig>,
    pub(crate) servers: Vec<crate::Server>,
    pub(crate) heartbeat_interval: Option<Duration>,
}

impl std::fmt::Debug for SenderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderBuilder")
            .field("tag", &self.tag)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("bufmax", &self.bufmax)
            .field("timeout", &self.timeout)
            .field("security", &self.security())
            .field("tls", &self.tls)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl SenderBuilder {
    /// `host` (default `"localhost"`; `"unix:///path"` for a Unix socket).
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").host("127.0.0.1");
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// `port` (default 24224).
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").port(24225);
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `bufmax`: bytes kept while the server is unreachable (default 1 MiB).
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").bufmax(64 * 1024);
    /// ```
    pub fn bufmax(mut self, bytes: usize) -> Self {
        self.bufmax = bytes;
        self
    }

    /// `timeout`: bounds connecting and each write (default 3 s).
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `verbose`: print every packet sent to stderr.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").verbose(true);
    /// ```
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// `nanosecond_precision`: times as EventTime instead of whole seconds.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").nanosecond_precision(true);
    /// ```
    pub fn nanosecond_precision(mut self, on: bool) -> Self {
        self.nanosecond_precision = on;
        self
    }

    /// `forward_packet_error` (default on): a record that cannot be
    /// serialized (not a map, say) is replaced on the wire by `{"level":
    /// "CRITICAL", "message": "Can't output to log", "traceback": <error>}`,
    /// as Python does, and `emit` still returns the
    /// [`SendError::Encode`] (unlike Python, which reports success); off,
    /// nothing is sent.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").forward_packet_error(false);
    /// ```
    pub fn forward_packet_error(mut self, on: bool) -> Self {
        self.forward_packet_error = on;
        self
    }

    /// `buffer_overflow_handler`: receives the pending bytes dropped when they
    /// exceed `bufmax`, and whatever is still unsent at close.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").buffer_overflow_handler(|bytes| eprintln!("lost {} bytes", bytes.len()));
    /// ```
    pub fn buffer_overflow_handler(mut self, handler: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.buffer_overflow_handler = Some(Arc::new(handler));
        self
    }

    /// Reconnection backoff: after a failure the next attempt waits
    /// `initial`, doubling up to `max`, with jitter (default 100 ms .. 10 s).
    /// fluent-logger-python reconnects on every emit; `Duration::ZERO` for
    /// both restores that.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = fluent_std::Sender::builder("app").reconnect_backoff(Duration::from_millis(50), Duration::from_secs(5));
    /// ```
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// The shared key of the Forward protocol's handshake (Fluentd
    /// `<security>`, Fluent Bit `Shared_Key`). With it, every new connection
    /// answers the server's HELO and checks the server's PONG digest before
    /// any event is written; a failed handshake is a
    /// [`SendError::Handshake`] with the reason, retried with backoff.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").shared_key("secret").self_hostname("web-1");
    /// ```
    pub fn shared_key(mut self, key: impl Into<String>) -> Self {
        self.shared_key = Some(key.into());
        self
    }

    /// The hostname sent in the handshake (default: this machine's name).
    /// It must differ from the server's.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").self_hostname("web-1");
    /// ```
    pub fn self_hostname(mut self, name: impl Into<String>) -> Self {
        self.self_hostname = Some(name.into());
        self
    }

    /// The user for a server that asks for user authentication (Fluentd's
    /// `user_auth` with `<user>`); used with [`shared_key`](Self::shared_key).
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").shared_key("k").user("fluent", "s3cret");
    /// ```
    pub fn user(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// TLS to the server (TCP endpoints; a `unix://` host stays plain): the
    /// TLS handshake runs on every new connection before the shared-key
    /// handshake and before any event. A failure is a [`SendError::Tls`]
    /// with the reason, retried with backoff.
    ///
    /// ```
    /// let tls = fluent_std::TlsConfig::builder().server_name("aggregator.internal").insecure_skip_verify().build()?;
    /// let _ = fluent_std::Sender::builder("app").host("10.0.0.5").tls(tls).shared_key("secret");
    /// # Ok::<(), fluent_std::TlsError>(())
    /// ```
    pub fn tls(mut self, config: crate::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Adds a server of a tier (repeatable): with any, `host` and `port`
    /// are not used. A sender keeps one connection; each new one goes to a
    /// primary chosen by weight among those not backing off after a failure,
    /// or to a standby while no primary can be reached, and goes back to a
    /// primary as soon as one is due again. TLS, the shared key and the
    /// timeouts apply to every server. In ack mode, a request not acked by a
    /// failed server is sent again to the next (at least once).
    ///
    /// ```
    /// use fluent_std::Server;
    /// let _ = fluent_std::Sender::builder("app")
    ///     .server(Server::new("aggregator-1", 24224).with_weight(60))
    ///     .server(Server::new("aggregator-2", 24224).with_weight(60))
    ///     .server("aggregator-3:24224,standby".parse().unwrap());
    /// ```
    pub fn server(mut self, server: crate::Server) -> Self {
        self.servers.push(server);
        self
    }

    /// Heartbeats (Fluentd `out_forward`'s `heartbeat_type tcp`): every
    /// `interval`, a helper thread connects to each server. A failed
    /// server that answers is tried again at once instead of after its
    /// backoff (so traffic leaves a standby as soon as a primary is back),
    /// and a server that does not answer is avoided before a connection to
    /// it fails. `AsyncSender` only; default off.
    ///
    /// ```
    /// let _ = fluent_std::Sender::builder("app").heartbeat_interval(Some(std::time::Duration::from_secs(1)));
    /// ```
    pub fn heartbeat_interval(mut self, interval: Option<Duration>) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    pub(crate) fn server_count(&self) -> usize {
        self.servers.len().max(1)
    }

    /// The servers to connect to: those added, or `host` and `port`.
    pub(crate) fn server_list(&self) -> Vec<crate::Server> {
        if self.servers.is_empty() { vec![crate::Server::new(&self.host, self.port)] } else { self.servers.clone() }
    }

    /// The handshake's credentials, when a shared key is set.
    pub(crate) fn security(&self) -> Option<crate::handshake::Security> {
        let key = self.shared_key.clone()?;
        let self_hostname =
            self.self_hostname.clone().unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
        Some(crate::handshake::Security {
            shared_key: key,
            self_hostname,
            username: self.username.clone(),
            password: self.password.clone(),
        })
    }

    /// The sender. Nothing connects until the first emit.
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("app").build();
    /// assert_eq!(sender.tag(), "app");
    /// ```
    pub fn build(self) -> Sender {
        let servers = ServerSet::new(&self.server_list(), self.backoff_initial, self.backoff_max);
        Sender {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            security: self.security().map(Arc::new),
            state: Mutex::new(State {
                connection: None,
                pending: Vec::new(),
                packet: Vec::with_capacity(256),
                closed: false,
                servers,
                current: 0,
            }),
            options: self,
        }
    }
}

struct State {
    connection: Option<Connection>,
    /// Bytes not yet written (Python's `pendings`).
    pending: Vec<u8>,
    /// Reused encoding buffer.
    packet: Vec<u8>,
    closed: bool,
    /// The servers with their backoffs; `current` is the one the
    /// connection is (or was last) with.
    servers: ServerSet,
    current: usize,
}

/// A synchronous Forward-protocol sender: each emit writes the event to the
/// server before returning. `Send + Sync`: share it across threads.
///
/// Differences from fluent-logger-python, on purpose: a dead server is
/// retried with capped exponential backoff instead of on every emit (emits
/// in between only add to the pending buffer); results are `Result`s
/// carrying the reason.
///
/// ```no_run
/// use std::collections::BTreeMap;
/// let sender = fluent_std::Sender::builder("app").host("localhost").port(24224).build();
/// sender.emit("follow", &BTreeMap::from([("from", "userA"), ("to", "userB")]))?;
/// # Ok::<(), fluent_std::SendError>(())
/// ```
pub struct Sender {
    id: u64,
    /// The handshake's credentials (computed once: the hostname lookup).
    security: Option<Arc<crate::handshake::Security>>,
    options: SenderBuilder,
    state: Mutex<State>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("options", &self.options).finish()
    }
}

/// Joins tag and label as fluent-logger-python does: `"tag.label"`, just the
/// label when the tag is empty, just the tag when the label is empty.
///
/// ```
/// assert_eq!(fluent_std::join_tag("app", "login"), "app.login");
/// assert_eq!(fluent_std::join_tag("", "login"), "login");
/// assert_eq!(fluent_std::join_tag("app", ""), "app");
/// ```
pub fn join_tag(tag: &str, label: &str) -> String {
    match (tag.is_empty(), label.is_empty()) {
        (_, true) => tag.to_owned(),
        (true, false) => label.to_owned(),
        (false, false) => format!("{tag}.{label}"),
    }
}

/// The current time as whole seconds or, with nanosecond precision, EventTime.
/// Whole seconds come from the coarse clock (`CLOCK_REALTIME_COARSE`, a
/// memory read instead of a clock read on Linux), which has the same whole
/// second give or take its few-millisecond tick.
pub(crate) fn now(nanosecond_precision: bool) -> Timestamp {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    if nanosecond_precision {
        Timestamp::Event(EventTime::new(since.as_secs() as u32, since.subsec_nanos()))
    } else {
        Timestamp::Seconds(since.as_secs())
    }
}

#[derive(Serialize)]
pub(crate) struct CriticalRecord<'a> {
    pub(crate) level: &'a str,
    pub(crate) message: &'a str,
    pub(crate) traceback: String,
}

impl Sender {
    /// A builder with fluent-logger-python's defaults for `tag`.
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("app").build();
    /// assert_eq!((sender.host(), sender.port()), ("localhost", 24224));
    /// ```
    pub fn builder(tag: impl Into<String>) -> SenderBuilder {
        SenderBuilder {
            tag: tag.into(),
            host: "localhost".to_owned(),
            port: 24224,
            bufmax: DEFAULT_BUFMAX,
            timeout: DEFAULT_TIMEOUT,
            verbose: false,
            nanosecond_precision: false,
            forward_packet_error: true,
            buffer_overflow_handler: None,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            shared_key: None,
            self_hostname: None,
            username: String::new(),
            password: String::new(),
            tls: None,
            servers: Vec::new(),
            heartbeat_interval: None,
        }
    }

    /// The tag.
    ///
    /// ```
    /// assert_eq!(fluent_std::Sender::builder("t").build().tag(), "t");
    /// ```
    pub fn tag(&self) -> &str {
        &self.options.tag
    }

    /// The host as configured.
    ///
    /// ```
    /// assert_eq!(fluent_std::Sender::builder("t").build().host(), "localhost");
    /// ```
    pub fn host(&self) -> &str {
        &self.options.host
    }

    /// The port as configured.
    ///
    /// ```
    /// assert_eq!(fluent_std::Sender::builder("t").build().port(), 24224);
    /// ```
    pub fn port(&self) -> u16 {
        self.options.port
    }

    /// The timeout as configured.
    ///
    /// ```
    /// assert_eq!(fluent_std::Sender::builder("t").build().timeout(), std::time::Duration::from_secs(3));
    /// ```
    pub fn timeout(&self) -> Duration {
        self.options.timeout
    }

    /// Sends `record` under `tag.label`, timed now.
    ///
    /// `record` must encode as a map (see the crate's "Records" section).
    ///
    /// ```no_run
    /// let sender = fluent_std::Sender::builder("app").build();
    /// sender.emit("event", &std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// See [`SendError`]. The error is also kept as [`last_error`](Sender::last_error).
    pub fn emit<T: Serialize + ?Sized>(&self, label: &str, record: &T) -> Result<(), SendError> {
        self.emit_with_time(label, now(self.options.nanosecond_precision), record)
    }

    /// Sends `record` under `tag.label` with an explicit time.
    ///
    /// ```no_run
    /// use fluent_proto::{EventTime, Timestamp};
    /// let sender = fluent_std::Sender::builder("app").build();
    /// sender.emit_with_time("event", Timestamp::Event(EventTime::from_f64(1490061367.8)?), &[("k", 1)].into_iter().collect::<std::collections::BTreeMap<_, _>>())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// See [`SendError`]. The error is also kept as [`last_error`](Sender::last_error).
    pub fn emit_with_time<T: Serialize + ?Sized>(
        &self,
        label: &str,
        time: Timestamp,
        record: &T,
    ) -> Result<(), SendError> {
        let tag = join_tag(&self.options.tag, label);
        let mut state = self.lock();
        if state.closed {
            return self.fail(SendError::Closed);
        }
        let mut packet = std::mem::take(&mut state.packet);
        packet.clear();
        let mut replaced = None;
        if let Err(e) = encode_message(&mut packet, &tag, time, record, None) {
            replaced = Some(e.clone());
            self.set_last_error(SendError::Encode(e.clone()));
            if !self.options.forward_packet_error {
                state.packet = packet;
                return Err(SendError::Encode(e));
            }
            packet.clear();
            let critical =
                CriticalRecord { level: "CRITICAL", message: "Can't output to log", traceback: e.to_string() };
            if let Err(e) = encode_message(&mut packet, &tag, time, &critical, None) {
                state.packet = packet;
                return self.fail(SendError::Encode(e));
            }
        }
        if self.options.verbose {
            print_packet(&packet);
        }
        let result = self.send_locked(&mut state, &packet);
        state.packet = packet;
        // The CRITICAL record went in its place: the record itself did not.
        match (result, replaced) {
            (Ok(()), Some(e)) => Err(SendError::Encode(e)),
            (result, _) => result,
        }
    }

    /// The last error of this sender on the calling thread.
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("t").build();
    /// assert_eq!(sender.last_error(), None);
    /// ```
    pub fn last_error(&self) -> Option<SendError> {
        LAST_ERROR.with(|m| m.borrow().get(&self.id).cloned())
    }

    /// Sets the last error on the calling thread (Python's `last_error` setter).
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("t").build();
    /// sender.set_last_error(fluent_std::SendError::Closed);
    /// assert_eq!(sender.last_error(), Some(fluent_std::SendError::Closed));
    /// ```
    pub fn set_last_error(&self, error: SendError) {
        LAST_ERROR.with(|m| m.borrow_mut().insert(self.id, error));
    }

    /// Clears the last error on the calling thread.
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("t").build();
    /// sender.set_last_error(fluent_std::SendError::Closed);
    /// sender.clear_last_error();
    /// sender.clear_last_error();
    /// assert_eq!(sender.last_error(), None);
    /// ```
    pub fn clear_last_error(&self) {
        LAST_ERROR.with(|m| m.borrow_mut().remove(&self.id));
    }

    /// Bytes waiting for the server (Python's `pendings`).
    ///
    /// ```
    /// assert_eq!(fluent_std::Sender::builder("t").build().pending_len(), 0);
    /// ```
    pub fn pending_len(&self) -> usize {
        self.lock().pending.len()
    }

    /// Writes raw, already encoded bytes through the pending buffer (Python's
    /// `_send`): for replaying captured frames and for tests.
    ///
    /// ```no_run
    /// let sender = fluent_std::Sender::builder("t").build();
    /// sender.send_raw(b"\xc0")?; // a heartbeat
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// As [`emit`](Sender::emit).
    pub fn send_raw(&self, bytes: &[u8]) -> Result<(), SendError> {
        let mut state = self.lock();
        if state.closed {
            return self.fail(SendError::Closed);
        }
        self.send_locked(&mut state, bytes)
    }

    /// Closes the sender: one last attempt to send what is pending (ignoring
    /// the backoff), else the bytes go to the overflow handler. Idempotent;
    /// also done on drop.
    ///
    /// ```
    /// let sender = fluent_std::Sender::builder("t").build();
    /// sender.close();
    /// sender.close();
    /// assert_eq!(sender.emit("x", &std::collections::BTreeMap::from([("a", 1)])), Err(fluent_std::SendError::Closed));
    /// ```
    pub fn close(&self) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        if !state.pending.is_empty() {
            let pending = std::mem::take(&mut state.pending);
            let sent = self.connected(&mut state, true).and_then(|c| c.write_all(&pending).map_err(SendError::from));
            if let Err(e) = sent {
                self.set_last_error(e);
                self.overflow(&pending);
            }
        }
        state.connection = None;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state (every
        // mutation is a plain assignment), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, error: SendError) -> Result<(), SendError> {
        self.set_last_error(error.clone());
        Err(error)
    }

    fn overflow(&self, bytes: &[u8]) {
        if let Some(handler) = &self.options.buffer_overflow_handler {
            // The handler's failure must not reach the caller.
            let _ = catch_unwind(AssertUnwindSafe(|| handler(bytes)));
        }
    }

    /// The open connection, connecting first if needed: to each server
    /// due (its backoff expired, or any with `force`) in turn until one
    /// takes it. A standby connection makes way once a primary is due.
    fn connected<'s>(&self, state: &'s mut State, force: bool) -> Result<&'s mut Connection, SendError> {
        if let Some(c) = &mut state.connection
            && (c.peer_closed() || state.servers.primary_due(state.current, Instant::now()))
        {
            state.connection = None;
        }
        let mut last = None;
        let mut tried = 0;
        while state.connection.is_none() {
            let now = Instant::now();
            let server = match state.servers.pick(now) {
                Some(server) if tried < self.options.server_count() => server,
                _ if force && tried == 0 => 0,
                _ => {
                    return Err(last
                        .unwrap_or(SendError::Backoff { retry_in: state.servers.wait_left(now).unwrap_or_default() }));
                }
            };
            tried += 1;
            state.current = server;
            match self.connect(state.servers.endpoint(server)) {
                Ok(c) => {
                    state.servers.succeeded(server);
                    state.connection = Some(c);
                }
                Err(e) => {
                    let refused_us = matches!(e, SendError::Tls(_) | SendError::Handshake(_));
                    state.servers.failed(server, now, refused_us);
                    last = Some(e);
                }
            }
        }
        state.connection.as_mut().ok_or(SendError::Closed)
    }

    /// A new connection to `endpoint`: TCP or Unix, then TLS and the
    /// shared-key handshake when configured.
    fn connect(&self, endpoint: &Endpoint) -> Result<Connection, SendError> {
        let mut c = endpoint.connect(self.options.timeout)?;
        if let (Some(tls), Endpoint::Tcp { host, .. }) = (&self.options.tls, endpoint) {
            c.secure(tls, host, self.options.timeout)?;
        }
        if let Some(security) = &self.security {
            c.handshake(security.clone(), self.options.timeout)?;
        }
        Ok(c)
    }

    /// Python's `_send_internal`: pending bytes go first; on failure the new
    /// bytes join the pending buffer, which goes to the overflow handler (and
    /// is cleared) when it already held bytes and now exceeds `bufmax`; the
    /// first failed packet is always kept.
    fn send_locked(&self, state: &mut State, bytes: &[u8]) -> Result<(), SendError> {
        let had_pending = !state.pending.is_empty();
        let mut pending = std::mem::take(&mut state.pending);
        if had_pending {
            pending.extend_from_slice(bytes);
        }
        let data: &[u8] = if had_pending { &pending } else { bytes };
        let mut write_failed = false;
        let result = self.connected(state, false).and_then(|c| {
            c.write_all(data).map_err(|e| {
                write_failed = true;
                SendError::from(e)
            })
        });
        match result {
            Ok(()) => {
                pending.clear();
                state.pending = pending;
                Ok(())
            }
            Err(e) => {
                if !matches!(e, SendError::Backoff { .. }) {
                    state.connection = None;
                    if write_failed {
                        // (A failed connect was counted against its server.)
                        state.servers.failed(state.current, Instant::now(), false);
                    }
                }
                if had_pending {
                    if pending.len() > self.options.bufmax {
                        self.overflow(&pending);
                        pending.clear();
                    }
                } else {
                    pending.extend_from_slice(bytes);
                }
                state.pending = pending;
                self.fail(e)
            }
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.close();
    }
}

/// `verbose`: the packet as the server will read it.
pub(crate) fn print_packet(packet: &[u8]) {
    match fluent_proto::Request::parse(packet, 32) {
        Ok(request) => {
            for event in request.events().flatten() {
                eprintln!("{} {:?} {:?}", request.tag(), event.time, fluent_proto::Value::Map(event.record));
            }
        }
        Err(e) => eprintln!("unreadable packet ({e}): {packet:02x?}"),
    }
}
