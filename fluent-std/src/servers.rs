//! [`Server`]: one aggregator of several (Fluentd `out_forward`'s
//! `<server>`), and the set a sender chooses its connection from.
//!
//! A sender keeps one connection. Each new connection goes to a primary
//! whose backoff has expired, chosen at random in proportion to its weight;
//! standby servers are chosen only while no primary is due. A server that
//! fails to connect, to take bytes, or to ack is backed off on its own
//! (capped exponential backoff with jitter), so the next connection tries
//! another at once. While connected to a standby, the sender goes back to
//! the primaries as soon as one is due again (recovery detection): it
//! closes the standby connection between requests and tries it.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::connection::Endpoint;

/// One server of a tier: address, weight and role.
///
/// ```
/// let s: fluent_std::Server = "10.0.0.7:24224,weight=60,standby".parse().unwrap();
/// assert_eq!((s.host(), s.port(), s.weight(), s.is_standby()), ("10.0.0.7", 24224, 60, true));
/// let s = fluent_std::Server::new("aggregator-1", 24224).with_weight(2);
/// assert_eq!(s.to_string(), "aggregator-1:24224,weight=2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    host: String,
    port: u16,
    weight: u32,
    standby: bool,
}

impl Server {
    /// A primary server with weight 1 (`host` may be `unix:///path`).
    ///
    /// ```
    /// assert!(!fluent_std::Server::new("a", 1).is_standby());
    /// ```
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Server { host: host.into(), port, weight: 1, standby: false }
    }

    /// Its share of new connections among the primaries (Fluentd's default
    /// is 60 for every server; only the ratios matter). 0 never chooses it
    /// while another primary is due.
    ///
    /// ```
    /// assert_eq!(fluent_std::Server::new("a", 1).with_weight(3).weight(), 3);
    /// ```
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Makes it a standby: used only while no primary can be reached.
    ///
    /// ```
    /// assert!(fluent_std::Server::new("a", 1).as_standby().is_standby());
    /// ```
    pub fn as_standby(mut self) -> Self {
        self.standby = true;
        self
    }

    /// The host.
    ///
    /// ```
    /// assert_eq!(fluent_std::Server::new("a", 1).host(), "a");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Its weight.
    ///
    /// ```
    /// assert_eq!(fluent_std::Server::new("a", 1).weight(), 1);
    /// ```
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// The port.
    ///
    /// ```
    /// assert_eq!(fluent_std::Server::new("a", 7).port(), 7);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it is a standby.
    ///
    /// ```
    /// assert!(!fluent_std::Server::new("a", 1).is_standby());
    /// ```
    pub fn is_standby(&self) -> bool {
        self.standby
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') && !self.host.starts_with("unix://") && !self.host.starts_with('[') {
            write!(f, "[{}]:{},weight={}", self.host, self.port, self.weight)?;
        } else {
            write!(f, "{}:{},weight={}", self.host, self.port, self.weight)?;
        }
        if self.standby {
            f.write_str(",standby")?;
        }
        Ok(())
    }
}

impl FromStr for Server {
    type Err = String;

    /// `HOST:PORT[,weight=N][,standby]` (`[v6]:PORT` for an IPv6 address).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let address = parts.next().unwrap_or_default().trim();
        let (host, port) =
            address.rsplit_once(':').ok_or_else(|| format!("{address:?}: expected HOST:PORT[,weight=N][,standby]"))?;
        let port = port.parse::<u16>().map_err(|_| format!("{address:?}: {port:?} is not a port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{address:?}: no host"));
        }
        let mut server = Server::new(host, port);
        for option in parts.map(str::trim) {
            match option.split_once('=') {
                Some(("weight", n)) => {
                    server.weight = n.parse().map_err(|_| format!("{s:?}: weight {n:?} is not a number"))?;
                }
                None if option == "standby" => server.standby = true,
                _ => return Err(format!("{s:?}: unknown option {option:?} (weight=N, standby)")),
            }
        }
        Ok(server)
    }
}

/// A server's connection health.
struct Slot {
    server: Server,
    endpoint: Endpoint,
    backoff: Backoff,
    /// The last failure came after TCP connected (TLS or the shared-key
    /// handshake refused us): a heartbeat, which only connects, cannot
    /// tell that it would pass now, so it does not end the backoff.
    refused_us: bool,
    /// What its connections showed about keeping them alive.
    keepalive: Keepalive,
}

/// What a server's connections showed about keeping them alive.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keepalive {
    /// Nothing yet: taken to keep connections alive.
    Unknown,
    /// It reset a connection right after a request (Fluentd's
    /// `deny_keepalive`): each connection to it carries one request.
    OneRequest,
    /// It was taken for a server closing after each request, then kept a
    /// connection open past [`CLOSE_WAIT`] after one.
    KeepsAlive,
}

/// What a reset of a connection that had carried a request means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ResetAfterRequest {
    /// The server closed after a request, and bytes of ours arrived after
    /// (or it closed an idle connection): a normal close.
    Closed,
    /// A server that takes one request per connection reset instead of
    /// closing after it: without acks, that request may have been cut.
    Aborted,
    /// A server that keeps connections alive reset one: a failure.
    Failed,
}

/// A close by the server this soon after a request went through (written,
/// or acked) is a close after a request, not an idle timeout.
const CLOSE_AFTER_REQUEST: Duration = Duration::from_secs(1);

/// How long the sender waits for a server that closes after each request
/// to close, before the next request; one that keeps the connection open
/// longer keeps connections alive after all. Shorter than the default
/// `stall_timeout`, so the wait never makes the server unavailable.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_millis(200);

/// The servers a sender connects to, with each one's backoff.
pub(crate) struct ServerSet {
    slots: Vec<Slot>,
    /// xorshift64 state for the weighted choice.
    seed: u64,
}

impl ServerSet {
    pub(crate) fn new(servers: &[Server], backoff_initial: Duration, backoff_max: Duration) -> Self {
        let slots = servers
            .iter()
            .map(|server| Slot {
                endpoint: Endpoint::new(&server.host, server.port),
                server: server.clone(),
                backoff: Backoff::new(backoff_initial, backoff_max),
                refused_us: false,
                keepalive: Keepalive::Unknown,
            })
            .collect();
        let seed = (std::process::id() as u64) << 32 ^ Instant::now().elapsed().as_nanos() as u64 | 1;
        ServerSet { slots, seed }
    }

    pub(crate) fn endpoint(&self, i: usize) -> &Endpoint {
        &self.slots[i].endpoint
    }

    fn due(&self, i: usize, now: Instant) -> bool {
        self.slots[i].backoff.wait_left(now).is_none()
    }

    /// The server for a new connection now: a due primary, chosen by
    /// weight; else a due standby; `None` while none is due.
    pub(crate) fn pick(&mut self, now: Instant) -> Option<usize> {
        let this = &*self;
        let due = |standby: bool| -> Vec<usize> {
            (0..this.slots.len()).filter(|&i| this.slots[i].server.standby == standby && this.due(i, now)).collect()
        };
        let primaries = due(false);
        let candidates = if primaries.is_empty() { due(true) } else { primaries };
        let total: u64 = candidates.iter().map(|&i| u64::from(self.slots[i].server.weight)).sum();
        if total == 0 {
            return candidates.first().copied();
        }
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let mut ticket = self.seed % total;
        for &i in &candidates {
            let weight = u64::from(self.slots[i].server.weight);
            if ticket < weight {
                return Some(i);
            }
            ticket -= weight;
        }
        candidates.last().copied()
    }

    /// Time until some server is due (`None`: one is due now).
    pub(crate) fn wait_left(&self, now: Instant) -> Option<Duration> {
        self.slots
            .iter()
            .map(|s| s.backoff.wait_left(now))
            .try_fold(Duration::MAX, |min, left| left.map(|l| min.min(l)))
    }

    /// Whether a connection to server `i` should make way for a primary:
    /// `i` is a standby and some primary is due for another try.
    pub(crate) fn primary_due(&self, i: usize, now: Instant) -> bool {
        self.slots[i].server.standby && (0..self.slots.len()).any(|j| !self.slots[j].server.standby && self.due(j, now))
    }

    /// The endpoints, in order (for the heartbeat thread).
    pub(crate) fn endpoints(&self) -> Vec<Endpoint> {
        self.slots.iter().map(|s| s.endpoint.clone()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// A heartbeat's finding for server `i`: one that answers is due at
    /// once (its backoff ends), unless it refused us after connecting; one
    /// that does not answer is backed off, unless it is already.
    pub(crate) fn heard(&mut self, i: usize, answered: bool, now: Instant) {
        let backing_off = self.slots[i].backoff.wait_left(now).is_some();
        if answered && backing_off && !self.slots[i].refused_us {
            self.slots[i].backoff.reset();
        } else if !answered && !backing_off {
            self.slots[i].backoff.failed(now);
        }
    }

    /// Server `i` failed; `refused_us`: by TLS or the shared-key
    /// handshake, after TCP connected.
    pub(crate) fn failed(&mut self, i: usize, now: Instant, refused_us: bool) {
        self.slots[i].backoff.failed(now);
        self.slots[i].refused_us = refused_us;
    }

    /// Server `i` reset a connection that had carried a request,
    /// `since_request` after the last one went through. Soon after one,
    /// from a server not known to keep connections alive, that is a server
    /// closing after each request (Fluentd's `deny_keepalive`) that got
    /// more of our bytes after its close, and those are lost: from then on
    /// each connection to it carries one request, and the sender waits (up
    /// to [`CLOSE_WAIT`]) for the server's close before the next, so that
    /// no request is written into a connection the server is closing.
    pub(crate) fn reset_after_request(&mut self, i: usize, since_request: Duration) -> ResetAfterRequest {
        let slot = &mut self.slots[i];
        match slot.keepalive {
            Keepalive::OneRequest => ResetAfterRequest::Aborted,
            Keepalive::KeepsAlive => {
                // Not a close after a request; should the server take up
                // `deny_keepalive` later, the next reset shows it.
                slot.keepalive = Keepalive::Unknown;
                ResetAfterRequest::Failed
            }
            Keepalive::Unknown => {
                if since_request < CLOSE_AFTER_REQUEST {
                    slot.keepalive = Keepalive::OneRequest;
                }
                ResetAfterRequest::Closed
            }
        }
    }

    /// Server `i` kept a connection open past [`CLOSE_WAIT`] after a
    /// request: it keeps connections alive after all (the reset that
    /// marked it was a restart, say).
    pub(crate) fn kept_open(&mut self, i: usize) {
        self.slots[i].keepalive = Keepalive::KeepsAlive;
    }

    /// Whether each connection to server `i` carries one request.
    pub(crate) fn one_request_per_connection(&self, i: usize) -> bool {
        self.slots[i].keepalive == Keepalive::OneRequest
    }

    pub(crate) fn succeeded(&mut self, i: usize) {
        self.slots[i].backoff.reset();
        self.slots[i].refused_us = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(servers: &[&str]) -> ServerSet {
        let servers: Vec<Server> = servers.iter().map(|s| s.parse().unwrap()).collect();
        ServerSet::new(&servers, Duration::from_secs(1), Duration::from_secs(10))
    }

    #[test]
    fn primaries_share_by_weight_and_standbys_wait() {
        let mut set = set(&["a:1,weight=3", "b:1,weight=1", "c:1,standby"]);
        let now = Instant::now();
        let mut counts = [0u32; 3];
        for _ in 0..4000 {
            counts[set.pick(now).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0, "{counts:?}");
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn a_failed_server_waits_its_backoff_and_the_standby_takes_over_when_all_primaries_fail() {
        let mut set = set(&["a:1", "b:1", "c:1,standby"]);
        let now = Instant::now();
        set.failed(0, now, false);
        assert_eq!(set.pick(now), Some(1));
        assert!(set.primary_due(2, now), "b is due: a standby connection makes way");
        set.failed(1, now, false);
        assert_eq!(set.pick(now), Some(2));
        assert!(!set.primary_due(2, now));
        let later = now + Duration::from_secs(2);
        assert!(set.primary_due(2, later));
        assert!(matches!(set.pick(later), Some(0 | 1)));
        set.failed(2, now, false);
        assert!(set.wait_left(now).is_some());
        assert!(set.wait_left(later).is_none());
    }

    #[test]
    fn an_answering_heartbeat_ends_the_backoff_of_an_unreachable_server_only() {
        let mut set = set(&["a:1", "b:1"]);
        let now = Instant::now();
        set.failed(0, now, false); // refused, timed out: down
        set.failed(1, now, true); // TLS or the handshake refused us
        set.heard(0, true, now);
        set.heard(1, true, now);
        assert!(set.slots[0].backoff.wait_left(now).is_none(), "back: due at once");
        assert!(set.slots[1].backoff.wait_left(now).is_some(), "connecting proves nothing: it waits its backoff");
        set.succeeded(1);
        set.failed(1, now, false);
        set.heard(1, true, now);
        assert!(set.slots[1].backoff.wait_left(now).is_none());
    }

    #[test]
    fn a_server_resetting_right_after_a_request_gets_one_request_per_connection() {
        let mut set = set(&["a:1", "b:1"]);
        let idle = set.reset_after_request(0, Duration::from_secs(30));
        assert_eq!(idle, ResetAfterRequest::Closed);
        assert!(!set.one_request_per_connection(0), "an idle timeout");
        assert_eq!(set.reset_after_request(0, Duration::from_millis(2)), ResetAfterRequest::Closed);
        assert!(set.one_request_per_connection(0));
        assert!(!set.one_request_per_connection(1));
        let again = set.reset_after_request(0, Duration::from_millis(2));
        assert_eq!(again, ResetAfterRequest::Aborted, "it resets rather than closes");
        set.kept_open(0);
        assert!(!set.one_request_per_connection(0), "it keeps connections alive after all");
        let failed = set.reset_after_request(0, Duration::from_millis(2));
        assert_eq!(failed, ResetAfterRequest::Failed, "so a reset is a failure");
        assert_eq!(set.reset_after_request(0, Duration::from_millis(2)), ResetAfterRequest::Closed, "once");
        assert!(set.one_request_per_connection(0));
    }

    #[test]
    fn parsing_rejects_what_it_does_not_know() {
        assert!("a".parse::<Server>().is_err());
        assert!("a:x".parse::<Server>().is_err());
        assert!("a:1,weight=x".parse::<Server>().is_err());
        assert!("a:1,primary".parse::<Server>().is_err());
        let v6: Server = "[::1]:24224".parse().unwrap();
        assert_eq!((v6.host(), v6.to_string()), ("::1", "[::1]:24224,weight=1".to_owned()));
    }
}
