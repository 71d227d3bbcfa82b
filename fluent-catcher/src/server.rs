//! The catcher: listeners, one task per connection, the writer thread,
//! connection limits and an orderly shutdown.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::stats::{Stats, StatsSnapshot};
use crate::stream::{Conn, Stream};
use crate::tls_stream::TlsStream;
use crate::writer::{self, Batch};

/// Which listener a connection came in on.
///
/// ```
/// assert_eq!(fluent_catcher::Listener::SocketHandler.to_string(), "sockethandler");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Listener {
    /// Forward protocol over TCP.
    Forward,
    /// Forward protocol over the Unix socket.
    ForwardUnix,
    /// Forward protocol over TLS.
    ForwardTls,
    /// Python `logging.SocketHandler` (pickle) over TCP.
    SocketHandler,
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Listener::Forward => "forward",
            Listener::ForwardUnix => "forward-unix",
            Listener::ForwardTls => "forward-tls",
            Listener::SocketHandler => "sockethandler",
        })
    }
}

/// One finished connection, as [`CatcherHandle::connections`] reports it.
///
/// ```
/// # fn check(c: &fluent_catcher::ConnectionSummary) {
/// println!("{} sent {} events", c.peer, c.events);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionSummary {
    /// The listener it came in on.
    pub listener: Listener,
    /// The client's address (`unix` for Unix-socket clients).
    pub peer: String,
    /// Events received and handed to the writer.
    pub events: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Acks sent.
    pub acks: u64,
    /// Why the catcher closed it; `None` when the client closed it cleanly.
    pub close_reason: Option<String>,
}

/// State every task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) stats: Arc<Stats>,
    pub(crate) writer: mpsc::Sender<Batch>,
    /// `Limits::decode_memory` (see [`crate::memory`]).
    pub(crate) decode_memory: Arc<Semaphore>,
    /// `Limits::buffer_memory`.
    pub(crate) buffer_memory: Arc<Semaphore>,
    pub(crate) shutdown: watch::Receiver<bool>,
    connections: Arc<Mutex<Vec<ConnectionSummary>>>,
    acks: Arc<Mutex<Vec<String>>>,
    peers: Arc<crate::peers::PeerSlots>,
}

impl Shared {
    pub(crate) fn record_acks(&self, chunks: Vec<String>) {
        self.acks.lock().unwrap_or_else(PoisonError::into_inner).extend(chunks);
    }

    fn finish(&self, summary: ConnectionSummary) {
        // A frame over the limit is a configuration mismatch the operator
        // must see: its sender retries forever.
        let oversized = summary.close_reason.as_deref().is_some_and(|r| r.contains(crate::forward::FRAME_FLAG));
        if self.config.log_connections || oversized {
            let reason = summary.close_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
            eprintln!(
                "fluent-catcher: {} client {} disconnected after {} events, {} bytes{reason}",
                summary.listener, summary.peer, summary.events, summary.bytes
            );
        }
        if self.config.record_connections {
            self.connections.lock().unwrap_or_else(PoisonError::into_inner).push(summary);
        }
    }
}

/// A cloneable handle on a running catcher: counters, what arrived, and
/// the way to stop it.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let catcher = fluent_catcher::Catcher::bind(fluent_catcher::Config::default()).await?;
/// let handle = catcher.handle();
/// tokio::spawn(async move {
///     tokio::signal::ctrl_c().await.ok();
///     handle.shutdown();
/// });
/// let totals = catcher.run().await?;
/// eprintln!("{totals}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CatcherHandle {
    stats: Arc<Stats>,
    connections: Arc<Mutex<Vec<ConnectionSummary>>>,
    acks: Arc<Mutex<Vec<String>>>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl CatcherHandle {
    /// The counters now.
    ///
    /// ```no_run
    /// # fn f(h: fluent_catcher::CatcherHandle) { println!("{}", h.stats()); }
    /// ```
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Finished connections, in the order they ended (kept only with
    /// [`Config::record_connections`]).
    ///
    /// ```no_run
    /// # fn f(h: fluent_catcher::CatcherHandle) { assert!(h.connections().len() < 10); }
    /// ```
    pub fn connections(&self) -> Vec<ConnectionSummary> {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Chunk ids acknowledged, in the order the acks were sent (kept only
    /// with [`Config::record_connections`]).
    ///
    /// ```no_run
    /// # fn f(h: fluent_catcher::CatcherHandle) { assert!(h.acks().is_empty()); }
    /// ```
    pub fn acks(&self) -> Vec<String> {
        self.acks.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Begins the shutdown: listeners stop accepting, connections finish
    /// the request they are receiving, the writer flushes; then
    /// [`Catcher::run`] returns.
    ///
    /// ```no_run
    /// # fn f(h: fluent_catcher::CatcherHandle) { h.shutdown(); }
    /// ```
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// A bound, not yet running catcher.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use fluent_catcher::{Catcher, Config};
/// let catcher = Catcher::bind(Config::default().forward("127.0.0.1:0".parse().unwrap())).await?;
/// eprintln!("listening on {:?}", catcher.forward_addr());
/// catcher.run().await?;
/// # Ok(()) }
/// ```
pub struct Catcher {
    shared: Arc<Shared>,
    handle: CatcherHandle,
    forward: Option<TcpListener>,
    tls_forward: Option<TlsListener>,
    metrics: Option<TcpListener>,
    udp: Option<UdpSocket>,
    unix: Option<(UnixListener, PathBuf)>,
    pickle: Option<TcpListener>,
    writer: std::thread::JoinHandle<()>,
}

impl Catcher {
    /// Opens the output, starts the writer and binds every configured
    /// listener (port 0 picks a free port; read it back with
    /// [`forward_addr`](Catcher::forward_addr)).
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// let config = fluent_catcher::Config::default().forward("127.0.0.1:0".parse().unwrap()).no_pickle();
    /// let catcher = fluent_catcher::Catcher::bind(config).await?;
    /// assert!(catcher.forward_addr().is_some());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The output cannot be opened or an address cannot be bound.
    pub async fn bind(config: Config) -> io::Result<Catcher> {
        let stats = Arc::new(Stats::default());
        let output = config.output.open()?;
        let (tx, rx) = mpsc::channel(1024);
        let writer = writer::spawn(output, config.ack, config.flush_interval, stats.clone(), rx)?;
        let forward = match config.forward {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let tls_forward = match &config.tls_forward {
            Some((addr, tls)) => Some(TlsListener { tcp: TcpListener::bind(addr).await?, config: tls.server.clone() }),
            None => None,
        };
        let metrics = match config.metrics {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let udp = match (&forward, config.udp_heartbeat) {
            (Some(listener), true) => Some(UdpSocket::bind(listener.local_addr()?).await?),
            _ => None,
        };
        let unix = match &config.unix {
            Some(path) => {
                remove_stale_socket(path);
                Some((UnixListener::bind(path)?, path.clone()))
            }
            None => None,
        };
        let pickle = match config.pickle {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let budget = |bytes: usize| Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS)));
        let (decode_memory, buffer_memory) = (budget(config.limits.decode_memory), budget(config.limits.buffer_memory));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let handle = CatcherHandle {
            stats: stats.clone(),
            connections: connections.clone(),
            acks: acks.clone(),
            shutdown: Arc::new(shutdown_tx),
        };
        let shared = Arc::new(Shared {
            config,
            stats,
            writer: tx,
            decode_memory,
            buffer_memory,
            shutdown: shutdown_rx,
            connections,
            acks,
            peers: Arc::default(),
        });
        Ok(Catcher { shared, handle, forward, tls_forward, metrics, udp, unix, pickle, writer })
    }

    /// The metrics endpoint's address.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { println!("{:?}", c.metrics_addr()); }
    /// ```
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The TLS Forward listener's address.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { println!("{:?}", c.tls_forward_addr()); }
    /// ```
    pub fn tls_forward_addr(&self) -> Option<SocketAddr> {
        self.tls_forward.as_ref().and_then(|l| l.tcp.local_addr().ok())
    }

    /// The Forward TCP listener's address.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { println!("{:?}", c.forward_addr()); }
    /// ```
    pub fn forward_addr(&self) -> Option<SocketAddr> {
        self.forward.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The `SocketHandler` listener's address.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { println!("{:?}", c.pickle_addr()); }
    /// ```
    pub fn pickle_addr(&self) -> Option<SocketAddr> {
        self.pickle.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The Unix socket's path.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { println!("{:?}", c.unix_path()); }
    /// ```
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix.as_ref().map(|(_, p)| p.as_path())
    }

    /// A handle for counters, results and shutdown.
    ///
    /// ```no_run
    /// # fn f(c: &fluent_catcher::Catcher) { let _h = c.handle(); }
    /// ```
    pub fn handle(&self) -> CatcherHandle {
        self.handle.clone()
    }

    /// Serves until [`CatcherHandle::shutdown`]; then stops accepting, lets
    /// connections finish their current request (up to the shutdown grace),
    /// flushes the output and returns the final counters.
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// let catcher = fluent_catcher::Catcher::bind(fluent_catcher::Config::default()).await?;
    /// let handle = catcher.handle();
    /// let server = tokio::spawn(catcher.run());
    /// handle.shutdown();
    /// let totals = server.await.expect("joined")?;
    /// println!("{totals}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The writer thread panicked.
    pub async fn run(self) -> io::Result<StatsSnapshot> {
        let Catcher { shared, handle, forward, tls_forward, metrics, udp, unix, pickle, writer } = self;
        let limit = Arc::new(Semaphore::new(shared.config.limits.max_connections));
        let mut loops = JoinSet::new();
        if let Some(listener) = forward {
            loops.spawn(accept_loop(listener, Listener::Forward, shared.clone(), limit.clone()));
        }
        if let Some(listener) = metrics {
            loops.spawn(crate::metrics::serve(listener, shared.clone()));
        }
        if let Some(listener) = tls_forward {
            loops.spawn(accept_loop(listener, Listener::ForwardTls, shared.clone(), limit.clone()));
        }
        let unix_path = unix.map(|(listener, path)| {
            loops.spawn(accept_loop(listener, Listener::ForwardUnix, shared.clone(), limit.clone()));
            path
        });
        if let Some(listener) = pickle {
            loops.spawn(accept_loop(listener, Listener::SocketHandler, shared.clone(), limit.clone()));
        }
        if let Some(socket) = udp {
            loops.spawn(udp_heartbeats(socket, shared.clone()));
        }
        while loops.join_next().await.is_some() {}
        if let Some(path) = unix_path {
            let _ = std::fs::remove_file(path);
        }
        let stats = shared.stats.clone();
        drop(shared);
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("the writer thread panicked"))?;
        drop(handle);
        Ok(stats.snapshot())
    }
}

/// A socket file left by an earlier run would make `bind` fail.
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// A listener whose connections can be served.
trait Accept: Send + 'static {
    type Stream: Stream;
    fn accept(&self) -> impl std::future::Future<Output = io::Result<(Self::Stream, String)>> + Send;
}

impl Accept for TcpListener {
    type Stream = TcpStream;
    async fn accept(&self) -> io::Result<(TcpStream, String)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer.to_string()))
    }
}

/// A TCP listener whose connections speak TLS (the handshake runs in each
/// connection's task, see [`TlsStream`]).
struct TlsListener {
    tcp: TcpListener,
    config: Arc<rustls::ServerConfig>,
}

impl Accept for TlsListener {
    type Stream = TlsStream;
    async fn accept(&self) -> io::Result<(TlsStream, String)> {
        let (stream, peer) = <TcpListener as Accept>::accept(&self.tcp).await?;
        Ok((TlsStream::new(stream, self.config.clone())?, peer))
    }
}

impl Accept for UnixListener {
    type Stream = UnixStream;
    async fn accept(&self) -> io::Result<(UnixStream, String)> {
        let (stream, _) = UnixListener::accept(self).await?;
        Ok((stream, "unix".to_owned()))
    }
}

async fn accept_loop<L: Accept>(listener: L, kind: Listener, shared: Arc<Shared>, limit: Arc<Semaphore>) {
    let mut shutdown = shared.shutdown.clone();
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors, or a connection reset before accept:
                // keep serving the others.
                eprintln!("fluent-catcher: accept on {kind} failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            shared.stats.connections_refused.fetch_add(1, Relaxed);
            shared.stats.reject("max-connections");
            drop(stream);
            continue;
        };
        // TCP peers are counted by address (Unix peers have none).
        let peer_slot = match peer.parse::<SocketAddr>() {
            Ok(addr) => match shared.peers.take(addr.ip(), shared.config.limits.max_connections_per_peer) {
                Some(slot) => Some(slot),
                None => {
                    shared.stats.connections_refused.fetch_add(1, Relaxed);
                    shared.stats.reject("max-connections-per-peer");
                    if shared.config.log_connections {
                        eprintln!("fluent-catcher: {peer} refused: it has the most connections one peer may open");
                    }
                    drop(stream);
                    continue;
                }
            },
            Err(_) => None,
        };
        shared.stats.connections_accepted.fetch_add(1, Relaxed);
        shared.stats.connections_active.fetch_add(1, Relaxed);
        let shared = shared.clone();
        tasks.spawn(async move {
            let mut conn = Conn::new(stream, shared.clone());
            let result = match kind {
                Listener::SocketHandler => crate::socket_handler::serve(&mut conn).await,
                Listener::Forward | Listener::ForwardUnix | Listener::ForwardTls => {
                    crate::forward::serve(&mut conn).await
                }
            };
            // The slot is free before the summary is visible, so whoever
            // sees the connection end can connect again at once.
            shared.stats.connections_active.fetch_sub(1, Relaxed);
            drop(peer_slot);
            drop(permit);
            shared.finish(ConnectionSummary {
                listener: kind,
                peer,
                events: conn.events,
                bytes: conn.bytes,
                acks: conn.acks,
                close_reason: result.err(),
            });
        });
    }
    drop(listener);
    // Connections finish their current request within the grace period.
    let grace = shared.config.shutdown_grace + std::time::Duration::from_secs(1);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

async fn udp_heartbeats(socket: UdpSocket, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut buf = [0u8; 64];
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buf) => received,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match received {
            Ok((1, peer)) if buf[0] == 0 => {
                shared.stats.heartbeats.fetch_add(1, Relaxed);
                let _ = socket.send_to(&[0], peer).await;
            }
            Ok(_) => shared.stats.reject("udp-not-heartbeat"),
            Err(_) => {}
        }
    }
}
