//! The server side of the shared-key handshake (Forward protocol spec,
//! "Handshake Messages"): HELO with a fresh nonce (and an auth salt when
//! users are configured), the client's PING checked against the shared key
//! (and the user's password), PONG with the server's own digest. A client that
//! fails is answered `PONG false` and closed before any event is read.

use fluent_proto::FrameDecoder;
use fluent_proto::handshake::{Helo, Ping, Pong, shared_key_digest};

use crate::close::{CloseReason, reject};
use crate::stream::{Conn, Filled, Stream};

/// A PING is small; anything larger is refused.
const MAX_PING_LEN: usize = 4096;

pub(crate) async fn run<S: Stream>(conn: &mut Conn<S>, shared_key: &[u8]) -> Result<(), CloseReason> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for the nonce: {e}"))?;
    // With users configured, HELO carries a salt for their password digests.
    let users = conn.shared.config.users.clone();
    let mut auth_salt = [0u8; 16];
    if !users.is_empty() {
        getrandom::fill(&mut auth_salt).map_err(|e| format!("no randomness for the auth salt: {e}"))?;
    }
    let auth: &[u8] = if users.is_empty() { &[] } else { &auth_salt };
    let mut helo = Vec::new();
    Helo { nonce: &nonce, auth, keepalive: true }.write(&mut helo).map_err(|e| e.to_string())?;
    conn.reply(&helo).await.map_err(|e| format!("sending HELO failed: {e}"))?;

    let mut decoder = FrameDecoder::new(fluent_proto::Limits { max_frame_len: MAX_PING_LEN, max_depth: 4 });
    let len = loop {
        match decoder.next_value_len(conn.pending()) {
            Ok(Some(len)) => break len,
            Ok(None) => {}
            Err(_) => {
                // Too large for a PING, or not msgpack: most likely a client
                // that sends events without the handshake.
                let reason = "expected a PING (the client sent no handshake, or one over 4096 bytes)";
                return Err(refuse(conn, reason).await);
            }
        }
        match conn.fill().await {
            Ok(Filled::Data) => {}
            Ok(_) => return Err(reject(conn, "handshake", "closed before PING")),
            Err(e) => return Err(format!("read failed: {e}")),
        }
    };
    let frame = conn.pending().get(..len).unwrap_or_default().to_vec();
    conn.consume(len);
    let hostname = conn.shared.config.hostname.clone();
    let verdict = match Ping::parse(&frame) {
        Ok(ping) if !ping.verify(&nonce, shared_key, None) => Err("shared_key mismatch"),
        Ok(ping) if users.is_empty() => Ok(ping),
        Ok(ping) => {
            let password = users.iter().find(|(name, _)| name == ping.username).map(|(_, p)| p.as_str());
            match password {
                Some(password) if ping.verify(&nonce, shared_key, Some((&auth_salt, password))) => Ok(ping),
                _ => Err("username/password mismatch"),
            }
        }
        Err(_) if frame.windows(4).any(|w| w == b"PING") => Err("malformed PING"),
        Err(_) => Err("expected a PING (the client sent no handshake)"),
    };
    let mut pong = Vec::new();
    match verdict {
        Ok(ping) => {
            let digest = shared_key_digest(ping.shared_key_salt, &hostname, &nonce, shared_key);
            Pong { auth_result: true, reason: "", server_hostname: &hostname, shared_key_hexdigest: digest.as_str() }
                .write(&mut pong)
                .map_err(|e| e.to_string())?;
            conn.reply(&pong).await.map_err(|e| format!("sending PONG failed: {e}"))
        }
        Err(reason) => Err(refuse(conn, reason).await),
    }
}

/// Answers `PONG false` with `reason` (best effort), and counts and returns
/// the refusal.
async fn refuse<S: Stream>(conn: &mut Conn<S>, reason: &str) -> CloseReason {
    // Counted before the PONG goes out: a client that has read it finds the
    // refusal in the counters.
    let close = reject(conn, "handshake", format!("handshake failed: {reason}"));
    let mut pong = Vec::new();
    let hostname = conn.shared.config.hostname.clone();
    let pong_false = Pong { auth_result: false, reason, server_hostname: &hostname, shared_key_hexdigest: "" };
    if pong_false.write(&mut pong).is_ok() {
        let _ = conn.reply(&pong).await;
    }
    close
}
