//! The client side of the Forward protocol's shared-key handshake, without
//! I/O: the server greets with HELO, the client answers PING (its hostname,
//! a random salt, the shared-key digest, and a user's password digest when
//! the server asks for one), and the server answers PONG. The client checks
//! the server's digest in PONG before it sends a single event: a server that
//! does not know the key cannot pose as the aggregator.

use std::sync::Arc;

use fluent_proto::handshake::{Helo, Ping, Pong, password_digest, shared_key_digest};
use fluent_proto::{FrameDecoder, Limits};

/// The largest handshake message read.
const MAX_MESSAGE: usize = 64 * 1024;

/// The handshake's credentials. `Debug` never shows the key or password.
#[derive(Clone)]
pub(crate) struct Security {
    pub(crate) shared_key: String,
    pub(crate) self_hostname: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("shared_key", &"<redacted>")
            .field("self_hostname", &self.self_hostname)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

/// Why a handshake failed (the text never holds a secret).
pub(crate) type HandshakeError = String;

/// What to do after the server's bytes were taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait for more of the server's bytes.
    Read,
    /// Send these bytes (PING), then read again.
    Send(Vec<u8>),
    /// The server is authenticated and has admitted us: send events.
    Done,
}

enum Stage {
    Helo,
    Pong { nonce: Vec<u8> },
    Done,
}

/// One connection's handshake.
pub(crate) struct ClientHandshake {
    security: Arc<Security>,
    salt: [u8; 16],
    stage: Stage,
    received: Vec<u8>,
}

impl ClientHandshake {
    /// A handshake with a fresh salt from the OS's random source.
    pub(crate) fn new(security: Arc<Security>) -> Result<Self, HandshakeError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| format!("no random salt for the handshake: {e}"))?;
        Ok(ClientHandshake { security, salt, stage: Stage::Helo, received: Vec::new() })
    }

    /// Takes bytes the server sent; says what to do next.
    pub(crate) fn received(&mut self, bytes: &[u8]) -> Result<Next, HandshakeError> {
        self.received.extend_from_slice(bytes);
        let mut decoder = FrameDecoder::new(Limits { max_frame_len: MAX_MESSAGE, max_depth: 4 });
        let len = match decoder.next_value_len(&self.received) {
            Ok(Some(len)) => len,
            Ok(None) if self.received.len() <= MAX_MESSAGE => return Ok(Next::Read),
            Ok(None) => return Err("the server's handshake message is too large".into()),
            Err(e) => {
                return Err(format!("the server sent no handshake message (is a shared key configured there?): {e}"));
            }
        };
        let message: Vec<u8> = self.received.drain(..len).collect();
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Helo => self.answer_helo(&message),
            Stage::Pong { nonce } => self.check_pong(&message, &nonce),
            Stage::Done => Err("the server sent more before any event".into()),
        }
    }

    fn answer_helo(&mut self, message: &[u8]) -> Result<Next, HandshakeError> {
        let helo = Helo::parse(message).map_err(|_| {
            "the server did not greet with HELO (it may not expect a shared key, or it speaks TLS)".to_owned()
        })?;
        let s = &self.security;
        let digest = shared_key_digest(&self.salt, &s.self_hostname, helo.nonce, s.shared_key.as_bytes());
        let user_digest = if helo.auth.is_empty() {
            None
        } else {
            if s.username.is_empty() {
                return Err("the server asks for a username and password, and none is configured".into());
            }
            Some(password_digest(helo.auth, &s.username, &s.password))
        };
        let ping = Ping {
            hostname: &s.self_hostname,
            shared_key_salt: &self.salt,
            shared_key_hexdigest: digest.as_str(),
            username: if user_digest.is_some() { &s.username } else { "" },
            password_digest: user_digest.as_ref().map_or("", |d| d.as_str()),
        };
        let mut out = Vec::new();
        ping.write(&mut out).map_err(|e| format!("cannot write PING: {e}"))?;
        self.stage = Stage::Pong { nonce: helo.nonce.to_vec() };
        Ok(Next::Send(out))
    }

    fn check_pong(&mut self, message: &[u8], nonce: &[u8]) -> Result<Next, HandshakeError> {
        let pong = Pong::parse(message).map_err(|_| "the server did not answer PING with PONG".to_owned())?;
        if !pong.auth_result {
            return Err(format!("the server refused the handshake: {}", pong.reason));
        }
        let s = &self.security;
        if pong.server_hostname == s.self_hostname {
            return Err(format!(
                "the server's hostname is ours ({}): set a distinct self_hostname on one side",
                s.self_hostname
            ));
        }
        if !pong.verify(&s.self_hostname, &self.salt, nonce, s.shared_key.as_bytes()) {
            return Err("the server's PONG digest does not match: it does not know the shared key".into());
        }
        if !self.received.is_empty() {
            return Err("the server sent more before any event".into());
        }
        Ok(Next::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(user: &str, password: &str) -> Arc<Security> {
        Arc::new(Security {
            shared_key: "key".into(),
            self_hostname: "client".into(),
            username: user.into(),
            password: password.into(),
        })
    }

    /// Plays the server's side with `key`; `auth` asks for user auth.
    fn server(client: &mut ClientHandshake, key: &str, auth: &[u8], hostname: &str) -> Result<Next, HandshakeError> {
        let nonce = [9u8; 16];
        let mut helo = Vec::new();
        Helo { nonce: &nonce, auth, keepalive: true }.write(&mut helo).unwrap();
        // The HELO arrives in two pieces.
        assert_eq!(client.received(&helo[..5])?, Next::Read);
        let Next::Send(ping) = client.received(&helo[5..])? else { panic!("a PING") };
        let ping = Ping::parse(&ping).unwrap();
        let admitted = ping.verify(&nonce, key.as_bytes(), (!auth.is_empty()).then_some((auth, "pass")));
        let digest = shared_key_digest(ping.shared_key_salt, hostname, &nonce, key.as_bytes());
        let pong = Pong {
            auth_result: admitted,
            reason: if admitted { "" } else { "shared_key mismatch" },
            server_hostname: hostname,
            shared_key_hexdigest: if admitted { digest.as_str() } else { "" },
        };
        let mut out = Vec::new();
        pong.write(&mut out).unwrap();
        client.received(&out)
    }

    #[test]
    fn the_right_key_and_password_pass() {
        let mut c = ClientHandshake::new(security("u", "pass")).unwrap();
        assert_eq!(server(&mut c, "key", b"salt", "server"), Ok(Next::Done));
        let mut c = ClientHandshake::new(security("", "")).unwrap();
        assert_eq!(server(&mut c, "key", b"", "server"), Ok(Next::Done));
    }

    #[test]
    fn each_failure_says_why() {
        let mut c = ClientHandshake::new(security("u", "pass")).unwrap();
        assert!(
            server(&mut c, "other", b"", "server").unwrap_err().contains("refused the handshake: shared_key mismatch")
        );
        let mut c = ClientHandshake::new(security("u", "wrong")).unwrap();
        assert!(server(&mut c, "key", b"salt", "server").unwrap_err().contains("refused"));
        let mut c = ClientHandshake::new(security("", "")).unwrap();
        assert!(server(&mut c, "key", b"salt", "server").unwrap_err().contains("username and password"));
        let mut c = ClientHandshake::new(security("", "")).unwrap();
        assert!(server(&mut c, "key", b"", "client").unwrap_err().contains("hostname is ours"));
        let mut c = ClientHandshake::new(security("", "")).unwrap();
        assert!(c.received(b"\x91\x01").unwrap_err().contains("HELO"), "an ack, not a HELO");
    }

    #[test]
    fn a_server_that_does_not_know_the_key_is_caught_by_its_digest() {
        let mut c = ClientHandshake::new(security("", "")).unwrap();
        let mut helo = Vec::new();
        Helo { nonce: &[1; 16], auth: &[], keepalive: true }.write(&mut helo).unwrap();
        assert!(matches!(c.received(&helo), Ok(Next::Send(_))));
        let forged = shared_key_digest(b"whatever", "server", &[1; 16], b"guess");
        let mut pong = Vec::new();
        Pong { auth_result: true, reason: "", server_hostname: "server", shared_key_hexdigest: forged.as_str() }
            .write(&mut pong)
            .unwrap();
        assert!(c.received(&pong).unwrap_err().contains("does not know the shared key"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let text = format!("{:?}", security("u", "pass"));
        assert!(!text.contains("key\"") && !text.contains("pass\""), "{text}");
    }
}
