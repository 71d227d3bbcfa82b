//! Heartbeats (Fluentd `out_forward`'s `heartbeat_type tcp`): a helper
//! thread connects to every server each interval and records whether it
//! answered, so the worker learns that a failed server is back before its
//! backoff runs out, and that a server it is not using went away.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use crate::connection::Endpoint;
use crate::shared::Shared;

/// No heartbeat answered yet.
pub(crate) const UNKNOWN: u8 = 0;
/// The last heartbeat was answered.
pub(crate) const UP: u8 = 1;
/// The last heartbeat was not answered.
pub(crate) const DOWN: u8 = 2;

/// The heartbeat thread's findings, one per server, and its stop flag.
pub(crate) struct Heartbeats {
    pub(crate) states: Arc<[AtomicU8]>,
    stop: Arc<AtomicBool>,
}

impl Heartbeats {
    /// Starts the thread: every `interval`, a connect (within `timeout`) to
    /// each endpoint; a change wakes the worker.
    pub(crate) fn start(endpoints: Vec<Endpoint>, interval: Duration, timeout: Duration, shared: Arc<Shared>) -> Self {
        let states: Arc<[AtomicU8]> = endpoints.iter().map(|_| AtomicU8::new(UNKNOWN)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let (theirs, their_stop) = (states.clone(), stop.clone());
        let spawned = std::thread::Builder::new().name("fluent-heartbeat".into()).spawn(move || {
            while !their_stop.load(Ordering::Relaxed) {
                for (endpoint, state) in endpoints.iter().zip(theirs.iter()) {
                    let now = if answers(endpoint, timeout) { UP } else { DOWN };
                    if state.swap(now, Ordering::Relaxed) != now {
                        shared.waker.wake();
                    }
                }
                // Sleep in short steps, so that the sender's close does
                // not wait for a whole interval.
                let mut left = interval;
                while !left.is_zero() && !their_stop.load(Ordering::Relaxed) {
                    let step = left.min(Duration::from_millis(20));
                    std::thread::sleep(step);
                    left -= step;
                }
            }
        });
        if spawned.is_err() {
            // No thread, no heartbeats: the backoff alone decides.
            stop.store(true, Ordering::Relaxed);
        }
        Heartbeats { states, stop }
    }
}

impl Drop for Heartbeats {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Whether a connection to `endpoint` is accepted within `timeout`.
fn answers(endpoint: &Endpoint, timeout: Duration) -> bool {
    match endpoint {
        Endpoint::Tcp { host, port } => (host.as_str(), *port)
            .to_socket_addrs()
            .map(|mut addrs| addrs.any(|addr| TcpStream::connect_timeout(&addr, timeout).is_ok()))
            .unwrap_or(false),
        Endpoint::Unix(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
    }
}
