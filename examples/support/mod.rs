//! What the examples share: where to send.

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
