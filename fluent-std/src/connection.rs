//! Where events go ([`Endpoint`]) and the socket that takes them there.

use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

/// A Forward receiver's address: TCP host and port, or a Unix socket
/// (`unix:///path/to/socket` as the host, as in fluent-logger-python).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix domain socket.
    Unix(PathBuf),
}

impl Endpoint {
    /// Parses fluent-logger-python's `host`/`port` pair.
    ///
    /// ```
    /// use fluent_std::Endpoint;
    /// assert_eq!(Endpoint::new("unix:///tmp/f.sock", 0), Endpoint::Unix("/tmp/f.sock".into()));
    /// assert_eq!(Endpoint::new("localhost", 24224), Endpoint::Tcp { host: "localhost".into(), port: 24224 });
    /// ```
    pub fn new(host: &str, port: u16) -> Self {
        match host.strip_prefix("unix://") {
            Some(path) => Endpoint::Unix(PathBuf::from(path)),
            None => Endpoint::Tcp { host: host.to_owned(), port },
        }
    }

    /// Connects with `timeout` bounding the connect and every later write;
    /// TCP gets `TCP_NODELAY` and keepalive.
    pub(crate) fn connect(&self, timeout: Duration) -> io::Result<Connection> {
        let socket = match self {
            Endpoint::Tcp { host, port } => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}:{port} resolves to no address"));
                let mut connected = None;
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
                    match socket.connect_timeout(&addr.into(), timeout) {
                        Ok(()) => {
                            socket.set_tcp_nodelay(true)?;
                            socket.set_keepalive(true)?;
                            connected = Some(socket);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                connected.ok_or(last)?
            }
            Endpoint::Unix(path) => {
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.connect_timeout(&SockAddr::unix(path)?, timeout)?;
                socket
            }
        };
        socket.set_write_timeout(Some(timeout))?;
        Ok(Connection { socket })
    }
}

/// An open connection to the receiver.
#[derive(Debug)]
pub(crate) struct Connection {
    socket: Socket,
}

impl Connection {
    /// Whether the peer has closed the connection, checked without blocking:
    /// a read of 0 bytes means closed; bytes the server sent are discarded
    /// (a plain receiver sends nothing).
    pub(crate) fn peer_closed(&mut self) -> bool {
        if self.socket.set_nonblocking(true).is_err() {
            return true;
        }
        let mut scratch = [0u8; 512];
        let closed = loop {
            match (&self.socket).read(&mut scratch) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        closed || self.socket.set_nonblocking(false).is_err()
    }

    /// Reads into `buf`, waiting at most `timeout` (ack replies).
    pub(crate) fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.socket.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        let n = (&self.socket).read(buf);
        self.socket.set_read_timeout(None)?;
        n
    }

    /// Writes all of `bytes` (a write of 0 bytes means the peer is gone).
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (&self.socket).write_all(bytes)?;
        (&self.socket).flush()
    }
}
