//! Where events go ([`Endpoint`]) and the socket that takes them there.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustls::ClientConnection;
use socket2::{Domain, SockAddr, Socket, Type};

use crate::tls::TlsConfig;
use crate::tls_io;

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
        Ok(Connection { socket, tls: None })
    }
}

/// Where a non-blocking connect stands.
#[derive(Debug)]
pub(crate) enum Dialing {
    /// Connected at once (Unix sockets, usually).
    Connected(Connection),
    /// In progress; poll for writability, then ask `Connection::connect_result`.
    InProgress(Connection),
}

impl Endpoint {
    /// The addresses, when they are known without asking a resolver: an IP
    /// literal, or a Unix socket path.
    pub(crate) fn literal_addresses(&self) -> Option<io::Result<Vec<SockAddr>>> {
        match self {
            Endpoint::Tcp { host, port } => {
                let literal = host.trim_start_matches('[').trim_end_matches(']');
                literal.parse::<IpAddr>().ok().map(|ip| Ok(vec![SocketAddr::new(ip, *port).into()]))
            }
            Endpoint::Unix(path) => Some(SockAddr::unix(path).map(|a| vec![a])),
        }
    }

    /// The addresses to try, in order. An IP literal is not looked up. A host
    /// name is resolved by the system's resolver, which blocks for as long as
    /// it takes (the worker runs it on a helper thread).
    pub(crate) fn addresses(&self) -> io::Result<Vec<SockAddr>> {
        if let Some(known) = self.literal_addresses() {
            return known;
        }
        match self {
            Endpoint::Tcp { host, port } => {
                let addrs: Vec<SockAddr> = (host.as_str(), *port).to_socket_addrs()?.map(SockAddr::from).collect();
                if addrs.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{host}:{port} resolves to no address"),
                    ));
                }
                Ok(addrs)
            }
            Endpoint::Unix(path) => Ok(vec![SockAddr::unix(path)?]),
        }
    }

    /// Starts a non-blocking connect to `addr`; the socket stays
    /// non-blocking (the worker polls it).
    pub(crate) fn dial(&self, addr: &SockAddr) -> io::Result<Dialing> {
        let tcp = matches!(self, Endpoint::Tcp { .. });
        let domain =
            if tcp { Domain::for_address(addr.as_socket().ok_or(io::ErrorKind::InvalidInput)?) } else { Domain::UNIX };
        let socket = Socket::new(domain, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        if tcp {
            socket.set_tcp_nodelay(true)?;
            socket.set_keepalive(true)?;
        }
        match socket.connect(addr) {
            Ok(()) => Ok(Dialing::Connected(Connection { socket, tls: None })),
            Err(e) if in_progress(&e) => Ok(Dialing::InProgress(Connection { socket, tls: None })),
            Err(e) => Err(e),
        }
    }
}

fn in_progress(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || rustix::io::Errno::from_io_error(e) == Some(rustix::io::Errno::INPROGRESS)
}

/// An open connection to the receiver.
#[derive(Debug)]
pub(crate) struct Connection {
    socket: Socket,
    /// The TLS session, once [`Connection::start_tls`] has begun it.
    tls: Option<Box<ClientConnection>>,
}

impl Connection {
    /// Whether the peer has closed the connection, checked without blocking:
    /// a read of 0 bytes means closed; bytes the server sent are discarded
    /// (a plain receiver sends nothing).
    pub(crate) fn peer_closed(&mut self) -> bool {
        if self.socket.set_nonblocking(true).is_err() {
            return true;
        }
        let closed = self.closed_while_idle() != PeerState::Open;
        closed || self.socket.set_nonblocking(false).is_err()
    }

    /// A non-blocking connect's outcome: `Ok(true)` connected, `Ok(false)`
    /// still in progress, `Err` failed.
    pub(crate) fn connect_result(&self) -> io::Result<bool> {
        let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
        let mut fds = [PollFd::new(&self.socket, PollFlags::OUT)];
        if poll(&mut fds, Some(&zero))? == 0 {
            return Ok(false);
        }
        match self.socket.take_error()? {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }

    /// Writes what the kernel takes now (non-blocking socket): `WouldBlock`
    /// when it takes nothing.
    pub(crate) fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(tls) = &mut self.tls {
            return tls_io::write(tls, &self.socket, bytes);
        }
        loop {
            match (&self.socket).write(bytes) {
                Ok(0) if !bytes.is_empty() => return Err(io::ErrorKind::WriteZero.into()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Reads what has arrived (non-blocking socket): `Ok(0)` is the peer's
    /// close, `WouldBlock` means nothing yet.
    pub(crate) fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(tls) = &mut self.tls {
            return tls_io::read(tls, &self.socket, buf);
        }
        loop {
            match (&self.socket).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Whether the peer closed this (non-blocking) connection while it was
    /// idle: a read of 0 bytes, or an error; bytes it sent are discarded,
    /// at most 64 KiB a call, so a peer that never stops sending cannot
    /// hold the worker here (it has not closed, then).
    pub(crate) fn closed_while_idle(&mut self) -> PeerState {
        let mut scratch = [0u8; 4096];
        for _ in 0..16 {
            match self.read_some(&mut scratch) {
                Ok(0) => return PeerState::Closed,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return PeerState::Open,
                Err(_) => return PeerState::Reset,
            }
        }
        PeerState::Open
    }

    /// Runs the TLS handshake on this (blocking) connection, reads and
    /// writes bounded by `timeout`.
    pub(crate) fn secure(&mut self, config: &TlsConfig, host: &str, timeout: Duration) -> Result<(), crate::SendError> {
        self.start_tls(config, host)?;
        self.socket.set_read_timeout(Some(timeout))?;
        match self.tls_handshake() {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(crate::SendError::Tls(format!("no TLS handshake from the server within {timeout:?}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs the shared-key handshake on this (blocking) connection, every
    /// read and write bounded by `timeout`.
    pub(crate) fn handshake(
        &mut self,
        security: std::sync::Arc<crate::handshake::Security>,
        timeout: Duration,
    ) -> Result<(), crate::SendError> {
        use crate::handshake::{ClientHandshake, Next};
        let mut handshake = ClientHandshake::new(security).map_err(crate::SendError::Handshake)?;
        self.socket.set_read_timeout(Some(timeout))?;
        let mut buf = [0u8; 4096];
        loop {
            let n = match self.read_some(&mut buf) {
                Ok(0) => return Err(crate::SendError::Handshake("the server closed the connection".into())),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(crate::SendError::Handshake(format!(
                        "no handshake from the server within {timeout:?}"
                    )));
                }
                Err(e) => return Err(e.into()),
            };
            match handshake.received(&buf[..n]).map_err(crate::SendError::Handshake)? {
                Next::Read => {}
                Next::Send(ping) => self.write_all(&ping)?,
                Next::Done => return Ok(()),
            }
        }
    }

    /// Writes all of `bytes` (a blocking socket; a write of 0 bytes means
    /// the peer is gone).
    pub(crate) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.tls.is_none() {
            (&self.socket).write_all(bytes)?;
            return (&self.socket).flush();
        }
        while !bytes.is_empty() {
            match self.write_some(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.flush_tls()
    }

    /// Begins TLS on this connection (TCP only: a Unix socket stays
    /// plain); `host` is the name checked unless the configuration
    /// overrides it. Drive it with [`Connection::tls_handshake`].
    pub(crate) fn start_tls(&mut self, config: &TlsConfig, host: &str) -> io::Result<()> {
        let name = config.name_for(host).map_err(|e| tls_io::failure(e.0))?;
        let session =
            ClientConnection::new(config.client.clone(), name).map_err(|e| tls_io::failure(format!("TLS: {e}")))?;
        self.tls = Some(Box::new(session));
        Ok(())
    }

    /// Advances the TLS handshake: `Ok(true)` once it is complete (at once
    /// without TLS), `WouldBlock` while it waits for the socket. On a
    /// blocking socket, runs it to the end within the socket's timeouts.
    pub(crate) fn tls_handshake(&mut self) -> io::Result<bool> {
        match &mut self.tls {
            Some(tls) => tls_io::handshake(tls, &self.socket),
            None => Ok(true),
        }
    }

    /// Whether TLS records taken from earlier writes still wait for the
    /// socket.
    pub(crate) fn tls_backlog(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }

    /// Writes the TLS records still waiting: `WouldBlock` when the socket
    /// takes no more now.
    pub(crate) fn flush_tls(&mut self) -> io::Result<()> {
        match &mut self.tls {
            Some(tls) => tls_io::flush(tls, &self.socket),
            None => Ok(()),
        }
    }

    /// What to poll the socket for, given what the caller waits for: TLS
    /// adds writability while records wait, and readability while its
    /// handshake waits for the server.
    pub(crate) fn interest(&self, want: PollFlags) -> PollFlags {
        match &self.tls {
            Some(tls) if tls.wants_write() => want | PollFlags::OUT,
            Some(tls) if tls.is_handshaking() => PollFlags::IN,
            _ => want,
        }
    }
}

/// What [`Connection::closed_while_idle`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerState {
    /// Still open.
    Open,
    /// Closed cleanly (end of stream).
    Closed,
    /// Reset, or another error: the peer closed with our bytes unread, or
    /// had closed when more arrived.
    Reset,
}

impl Drop for Connection {
    /// Ends a TLS session with `close_notify`, without waiting: a peer
    /// (OpenSSL) takes a close without it for a truncation.
    fn drop(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            if self.socket.set_nonblocking(true).is_ok() {
                let _ = tls_io::flush(tls, &self.socket);
            }
        }
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
