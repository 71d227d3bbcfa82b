//! What the tests against the real receiver share: a `Connect` over std's
//! TCP.

use std::net::TcpStream;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use fluent_embedded::Connect;

/// Connects to the catcher over TCP.
pub struct Tcp(pub std::net::SocketAddr);

impl Connect for Tcp {
    type Connection = FromStd<TcpStream>;
    type Error = std::io::Error;
    fn connect(&mut self) -> Result<Self::Connection, std::io::Error> {
        let stream = TcpStream::connect(self.0)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        // The pump writes a request in pieces (header, tag, entries,
        // options): without NODELAY, Nagle holds the last piece back until
        // the previous one is acknowledged (40 ms of delayed ACK per
        // request in ack mode).
        stream.set_nodelay(true)?;
        Ok(FromStd::new(stream))
    }
}
