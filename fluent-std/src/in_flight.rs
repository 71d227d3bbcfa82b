//! Events lost in flight: written whole to a connection that then failed,
//! while the peer's TCP had not acknowledged their bytes.
//!
//! Without ack mode a request counts as sent once the kernel took it; when
//! the connection is abandoned, the bytes still in the socket's send queue
//! (written but not acknowledged by the peer, as the kernel reports them in
//! `/proc/net/tcp`) never reached the server. [`InFlight`] remembers which
//! events the last bytes written carry, so that count can be turned into
//! events. The kernel's figure is only readable while the socket is still
//! registered: after a reset it is gone. That costs little: a peer that
//! resets loses mostly what its TCP had already acknowledged, the bytes
//! unread in its receive buffer, and no count of unacknowledged bytes
//! (`TCP_INFO`'s included) sees those. Only ack mode does.

use std::collections::VecDeque;

/// How far back (in bytes written) requests are remembered: more than a
/// socket's send queue can hold.
const WINDOW: u64 = 64 << 20;

/// The requests written whole on the current connection, by where they end
/// in its byte stream.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    written: u64,
    /// (end offset, events), oldest first.
    requests: VecDeque<(u64, u64)>,
}

impl InFlight {
    /// A new connection: nothing written on it yet.
    pub(crate) fn reset(&mut self) {
        self.written = 0;
        self.requests.clear();
    }

    /// Whether no request was written whole on this connection.
    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// How many requests were written whole on this connection.
    pub(crate) fn requests(&self) -> usize {
        self.requests.len()
    }

    /// `n` more bytes were written.
    pub(crate) fn wrote(&mut self, n: usize) {
        self.written += n as u64;
    }

    /// A request carrying `events` was just written whole.
    pub(crate) fn request_done(&mut self, events: u64) {
        self.requests.push_back((self.written, events));
        while self.requests.front().is_some_and(|&(end, _)| end + WINDOW < self.written) {
            self.requests.pop_front();
        }
    }

    /// The events of requests with bytes among the last `unacked` written.
    pub(crate) fn lost(&self, unacked: u64) -> u64 {
        let acked_up_to = self.written.saturating_sub(unacked);
        self.requests.iter().rev().take_while(|&&(end, _)| end > acked_up_to).map(|&(_, events)| events).sum()
    }
}

/// Bytes written on `socket` that the peer's TCP has not acknowledged, or
/// `None` where the kernel does not say (not Linux, not TCP, or the socket
/// is no longer registered).
pub(crate) fn unacked_bytes(socket: &impl std::os::fd::AsRawFd) -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let inode = link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned();
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .find_map(|table| tx_queue_of(&table, &inode))
}

/// The `tx_queue` of the socket with `inode` in a `/proc/net/tcp` table.
fn tx_queue_of(table: &str, inode: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9) != Some(&inode) {
            return None;
        }
        let (tx, _rx) = fields.get(4)?.split_once(':')?;
        u64::from_str_radix(tx, 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_requests_with_unacknowledged_bytes() {
        let mut f = InFlight::default();
        for events in [1, 2, 3] {
            f.wrote(100);
            f.request_done(events);
        }
        assert_eq!(f.lost(0), 0);
        assert_eq!(f.lost(1), 3, "the last byte belongs to the last request");
        assert_eq!(f.lost(101), 5, "one byte of the second");
        assert_eq!(f.lost(10_000), 6);
        f.wrote(50);
        assert_eq!(f.lost(50), 0, "a partial request is not counted: it is sent again");
        f.reset();
        assert_eq!(f.lost(10_000), 0);
    }

    #[test]
    fn reads_the_send_queue_from_a_proc_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:C2CE 0100007F:BA91 01 003B2C1B:00000000 01:00000014 00000000  1000        0 4242 1 0 20 4 30 10 -1\n";
        assert_eq!(tx_queue_of(table, "4242"), Some(0x3B2C1B));
        assert_eq!(tx_queue_of(table, "4243"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_a_live_sockets_send_queue() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _server = listener.accept().unwrap();
        assert_eq!(unacked_bytes(&client), Some(0));
        client.write_all(b"hello").unwrap();
        assert!(unacked_bytes(&client).is_some_and(|n| n <= 5));
    }
}
