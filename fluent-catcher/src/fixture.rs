//! A catcher for tests, in one line: it runs on its own thread and runtime,
//! listens on free loopback ports, keeps what it writes in memory, and
//! reads it back as events.
//!
//! ```
//! use fluent_catcher::TestCatcher;
//!
//! let catcher = TestCatcher::start()?;
//! let sender = fluent_std::Sender::builder("app").host("127.0.0.1").port(catcher.forward_addr().port()).build();
//! sender.emit("login", &std::collections::BTreeMap::from([("user", "ada")]))?;
//! let events = catcher.wait_for_events(1, std::time::Duration::from_secs(10));
//! assert_eq!(events[0].tag, "app.login");
//! assert_eq!(events[0].record["user"], "ada");
//! let totals = catcher.stop();
//! assert_eq!(totals.events_written, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fluent_proto::{EventTime, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::Config;
use crate::output::{MemoryOutput, Output};
use crate::server::{Catcher, CatcherHandle, ConnectionSummary};
use crate::stats::StatsSnapshot;

/// One event as the catcher wrote it.
///
/// ```
/// let e = fluent_catcher::CaughtEvent::parse_line(r#"{"tag":"t","time":1.000000002,"record":{"k":1}}"#)?;
/// assert_eq!(e.time, fluent_proto::Timestamp::Event(fluent_proto::EventTime::new(1, 2)));
/// assert_eq!(e.record["k"], 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CaughtEvent {
    /// The tag.
    pub tag: String,
    /// The time, exactly as received (integer seconds or EventTime).
    pub time: Timestamp,
    /// The record.
    pub record: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Line<'a> {
    tag: String,
    #[serde(borrow)]
    time: &'a RawValue,
    record: serde_json::Map<String, serde_json::Value>,
}

impl CaughtEvent {
    /// Reads one JSON-lines line.
    ///
    /// ```
    /// let e = fluent_catcher::CaughtEvent::parse_line(r#"{"tag":"t","time":5,"record":{}}"#)?;
    /// assert_eq!(e.time, fluent_proto::Timestamp::Seconds(5));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    /// The line is not a JSON-lines event.
    pub fn parse_line(line: &str) -> Result<CaughtEvent, serde_json::Error> {
        use serde::de::Error;
        let parsed: Line<'_> = serde_json::from_str(line)?;
        let text = parsed.time.get();
        let time = match text.split_once('.') {
            None => Timestamp::Seconds(text.parse().map_err(serde_json::Error::custom)?),
            Some((secs, nanos)) => Timestamp::Event(EventTime::new(
                secs.parse().map_err(serde_json::Error::custom)?,
                nanos.parse().map_err(serde_json::Error::custom)?,
            )),
        };
        Ok(CaughtEvent { tag: parsed.tag, time, record: parsed.record })
    }
}

/// A running catcher for tests. Stops when dropped.
///
/// ```
/// let catcher = fluent_catcher::TestCatcher::start()?;
/// println!("forward on {}, SocketHandler on {}", catcher.forward_addr(), catcher.pickle_addr());
/// let totals = catcher.stop();
/// assert_eq!(totals.events_written, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestCatcher {
    handle: CatcherHandle,
    memory: MemoryOutput,
    forward: SocketAddr,
    pickle: SocketAddr,
    tls_forward: Option<SocketAddr>,
    unix: Option<std::path::PathBuf>,
    thread: Option<std::thread::JoinHandle<io::Result<StatsSnapshot>>>,
}

impl TestCatcher {
    /// Starts a catcher on free loopback ports (Forward and
    /// `SocketHandler`), quiet, recording connections and acks.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert_eq!(catcher.forward_addr().ip().to_string(), "127.0.0.1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The runtime or a listener could not be started.
    pub fn start() -> io::Result<TestCatcher> {
        Self::with_config(Config::default())
    }

    /// As [`start`](TestCatcher::start), keeping `config`'s limits, key,
    /// TLS, Unix socket and other settings; the addresses become free
    /// loopback ports and the output memory. The handshake's hostname, left
    /// at its default, becomes `test-catcher` (a sender on this machine
    /// would otherwise share it).
    ///
    /// ```
    /// use fluent_catcher::{Config, TestCatcher};
    /// let catcher = TestCatcher::with_config(Config::default().shared_key("k"))?;
    /// catcher.stop();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`start`](TestCatcher::start).
    pub fn with_config(mut config: Config) -> io::Result<TestCatcher> {
        let memory = MemoryOutput::default();
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let tls = config.tls_forward.take().map(|(_, tls)| tls);
        let mut config = config
            .forward(loopback)
            .pickle(loopback)
            .output(Output::Memory(memory.clone()))
            .log_connections(false)
            .record_connections(true)
            .flush_interval(Duration::from_millis(10));
        if let Some(tls) = tls {
            config = config.tls_forward(loopback, tls);
        }
        if config.hostname == gethostname::gethostname().to_string_lossy() {
            // A sender on this machine has the same default name, and the
            // handshake refuses a server named like its client.
            config = config.hostname("test-catcher");
        }
        let unix = config.unix.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("test-catcher".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(async move {
                let catcher = match Catcher::bind(config).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                        return Err(e);
                    }
                };
                let ports =
                    (catcher.forward_addr(), catcher.pickle_addr(), catcher.tls_forward_addr(), catcher.handle());
                let _ = ready_tx.send(Ok(ports));
                catcher.run().await
            })
        })?;
        let (forward, pickle, tls_forward, handle) =
            ready_rx.recv().map_err(|_| io::Error::other("catcher thread died"))??;
        let (Some(forward), Some(pickle)) = (forward, pickle) else {
            return Err(io::Error::other("listeners were not bound"));
        };
        Ok(TestCatcher { handle, memory, forward, pickle, tls_forward, unix, thread: Some(thread) })
    }

    /// Starts a catcher that also serves the Forward protocol over TLS, with
    /// a certificate from `certs` (keeping `config`'s other settings, as
    /// [`with_config`](TestCatcher::with_config)). Senders must trust
    /// [`TestCertificates::ca_pem`](crate::TestCertificates::ca_pem).
    ///
    /// ```
    /// use fluent_catcher::{Config, TestCatcher, TestCertificates};
    /// let certs = TestCertificates::generate()?;
    /// let catcher = TestCatcher::with_tls(Config::default().shared_key("k"), &certs)?;
    /// let tls = fluent_std::TlsConfig::builder().ca_pem(certs.ca_pem()).build().unwrap();
    /// let sender = fluent_std::Sender::builder("app")
    ///     .host("127.0.0.1")
    ///     .port(catcher.tls_forward_addr().unwrap().port())
    ///     .tls(tls)
    ///     .shared_key("k")
    ///     .build();
    /// sender.emit("x", &std::collections::BTreeMap::from([("k", 1)])).unwrap();
    /// assert_eq!(catcher.wait_for_events(1, std::time::Duration::from_secs(10)).len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`start`](TestCatcher::start), or the certificate was refused.
    pub fn with_tls(config: Config, certs: &crate::TestCertificates) -> io::Result<TestCatcher> {
        Self::with_config(config.tls_forward(([127, 0, 0, 1], 0).into(), certs.server_tls()?))
    }

    /// The TLS Forward address, when the catcher serves one.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.tls_forward_addr().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_forward_addr(&self) -> Option<SocketAddr> {
        self.tls_forward
    }

    /// The Forward TCP address.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert_ne!(catcher.forward_addr().port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forward_addr(&self) -> SocketAddr {
        self.forward
    }

    /// The `SocketHandler` address.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert_ne!(catcher.pickle_addr().port(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pickle_addr(&self) -> SocketAddr {
        self.pickle
    }

    /// The Unix socket path, if one was configured.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.unix_path().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unix_path(&self) -> Option<&Path> {
        self.unix.as_deref()
    }

    /// Every event written so far, in order.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.events().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// If the catcher wrote a line that is not a JSON-lines event (a bug).
    pub fn events(&self) -> Vec<CaughtEvent> {
        let contents = self.memory.contents();
        String::from_utf8_lossy(&contents)
            .lines()
            .map(|line| CaughtEvent::parse_line(line).unwrap_or_else(|e| panic!("catcher wrote {line:?}: {e}")))
            .collect()
    }

    /// The raw output: the lines exactly as written.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.output().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output(&self) -> Vec<u8> {
        self.memory.contents()
    }

    /// Waits until at least `n` events were written or `timeout` passed;
    /// returns the events written by then.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// let events = catcher.wait_for_events(1, std::time::Duration::from_millis(10)); // nothing sent
    /// assert!(events.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<CaughtEvent> {
        let deadline = Instant::now() + timeout;
        while self.handle.stats().events_written < n as u64 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.events()
    }

    /// [`wait_for_events`](Self::wait_for_events) for async tests: waits
    /// with the runtime's timer (tokio), so the service under test keeps
    /// running, even on a current-thread runtime.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let catcher = fluent_catcher::TestCatcher::start().unwrap();
    /// let port = catcher.forward_addr().port();
    /// // A service in the same (single-threaded) runtime:
    /// let service = tokio::spawn(async move {
    ///     let sender = fluent_std::AsyncSender::builder("svc").sender(|s| s.host("127.0.0.1").port(port)).build();
    ///     sender.emit("start", &std::collections::BTreeMap::from([("ok", true)])).unwrap();
    ///     sender.close_async(true, std::time::Duration::from_secs(10)).await
    /// });
    /// let events = catcher.wait_for_events_async(1, std::time::Duration::from_secs(10)).await;
    /// assert_eq!(events.len(), 1);
    /// assert_eq!(service.await.unwrap().sent, 1);
    /// # });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn wait_for_events_async(&self, n: usize, timeout: Duration) -> Vec<CaughtEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.handle.stats().events_written < n as u64 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.events()
    }

    /// Waits until `n` connections have ended or `timeout` passed; returns
    /// the finished connections.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// drop(std::net::TcpStream::connect(catcher.forward_addr())?);
    /// let done = catcher.wait_for_connections(1, std::time::Duration::from_secs(10));
    /// assert_eq!(done[0].events, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_connections(&self, n: usize, timeout: Duration) -> Vec<ConnectionSummary> {
        let deadline = Instant::now() + timeout;
        while self.handle.connections().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.handle.connections()
    }

    /// Finished connections.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.connections().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connections(&self) -> Vec<ConnectionSummary> {
        self.handle.connections()
    }

    /// Chunk ids acknowledged, in order.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert!(catcher.acks().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acks(&self) -> Vec<String> {
        self.handle.acks()
    }

    /// The counters now.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// assert_eq!(catcher.stats().connections_active, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> StatsSnapshot {
        self.handle.stats()
    }

    /// The handle (to shut down from elsewhere, say).
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// let handle = catcher.handle();
    /// handle.shutdown(); // from any thread
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> CatcherHandle {
        self.handle.clone()
    }

    /// Shuts down (connections finish, output flushed) and returns the
    /// final counters.
    ///
    /// ```
    /// let catcher = fluent_catcher::TestCatcher::start()?;
    /// let totals = catcher.stop();
    /// assert_eq!(totals.events_received, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(mut self) -> StatsSnapshot {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> StatsSnapshot {
        self.handle.shutdown();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Ok(stats))) => stats,
            _ => self.handle.stats(),
        }
    }
}

impl Drop for TestCatcher {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_inner();
        }
    }
}
