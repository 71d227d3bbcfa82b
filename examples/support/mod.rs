//! What the examples share: where to send, and the host's stand-ins for a
//! device's async network stack and timer.

use std::net::{SocketAddr, ToSocketAddrs};

/// A log catcher started in this process on a free port, or, with
/// `FLUENT_HOST` (and `FLUENT_PORT`, default 24224) set, that server.
#[allow(dead_code, reason = "not every example uses both")]
pub fn receiver() -> Result<(Option<fluent_catcher::TestCatcher>, SocketAddr), Box<dyn std::error::Error>> {
    receiver_with(fluent_catcher::Config::default())
}

/// As [`receiver`], the catcher configured by `config` (a shared key, say).
pub fn receiver_with(
    config: fluent_catcher::Config,
) -> Result<(Option<fluent_catcher::TestCatcher>, SocketAddr), Box<dyn std::error::Error>> {
    match std::env::var("FLUENT_HOST") {
        Ok(host) => {
            let port = std::env::var("FLUENT_PORT").map_or(Ok(24224), |p| p.parse())?;
            let addr = (host.as_str(), port).to_socket_addrs()?.next().ok_or("FLUENT_HOST: no address")?;
            Ok((None, addr))
        }
        Err(_) => {
            let catcher = fluent_catcher::TestCatcher::with_config(config)?;
            let addr = catcher.forward_addr();
            Ok((Some(catcher), addr))
        }
    }
}

/// A device's async TCP connection (embassy-net's `TcpSocket`), played by
/// tokio's `TcpStream`: dialled again after each failure.
#[allow(dead_code, reason = "the firmware examples only")]
pub struct AsyncTcp(pub SocketAddr, pub Option<embedded_io_adapters::tokio_1::FromTokio<tokio::net::TcpStream>>);

impl fluent_embedded::AsyncConnect for AsyncTcp {
    type Connection = embedded_io_adapters::tokio_1::FromTokio<tokio::net::TcpStream>;
    type Error = std::io::Error;
    async fn connect(&mut self) -> std::io::Result<()> {
        let stream = tokio::net::TcpStream::connect(self.0).await?;
        stream.set_nodelay(true)?;
        self.1 = Some(embedded_io_adapters::tokio_1::FromTokio::new(stream));
        Ok(())
    }
    fn connection(&mut self) -> Option<&mut Self::Connection> {
        self.1.as_mut()
    }
    async fn disconnect(&mut self) {
        self.1 = None;
    }
}

/// A device's timer (embassy-time's `Delay`), played by tokio's.
#[allow(dead_code, reason = "the firmware examples only")]
pub struct TokioTimer;

impl fluent_embedded::DelayNs for TokioTimer {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(std::time::Duration::from_nanos(ns.into())).await;
    }
}
