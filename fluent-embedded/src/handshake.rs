//! The Forward protocol's shared-key handshake on a fresh connection
//! (`handshake` feature), with no allocator: the server's HELO, our PING
//! (salt, key digest, and the user's password digest when asked), and the
//! server's PONG, whose digest is checked before any event is written.

use core::fmt;

use embedded_io::{Read, Write};
use fluent_proto::handshake::{Helo, Pong, password_digest, shared_key_digest};
use fluent_proto::{FrameDecoder, Limits, SliceSink};

/// Bytes kept for one handshake message (HELO and PONG are under 300).
const MESSAGE: usize = 512;

/// The credentials of the handshake.
///
/// ```
/// fn salt() -> [u8; 16] { [7; 16] } // the device's random number generator
/// let security = fluent_embedded::Security::new("shared key", "node7", salt).user("fluent", "s3cret");
/// # let _ = security;
/// ```
#[derive(Clone, Copy)]
pub struct Security<'a> {
    shared_key: &'a str,
    hostname: &'a str,
    user: Option<(&'a str, &'a str)>,
    salt: fn() -> [u8; 16],
}

impl fmt::Debug for Security<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("shared_key", &"<redacted>")
            .field("hostname", &self.hostname)
            .field("user", &self.user.map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

impl<'a> Security<'a> {
    /// The shared key, this device's hostname (it must differ from the
    /// server's), and where a fresh 16-byte salt comes from for each
    /// connection (a hardware random number generator: the salt must not
    /// repeat).
    ///
    /// ```
    /// let s = fluent_embedded::Security::new("k", "node7", || [1; 16]);
    /// assert!(format!("{s:?}").contains("redacted"));
    /// ```
    pub fn new(shared_key: &'a str, hostname: &'a str, salt: fn() -> [u8; 16]) -> Self {
        Security { shared_key, hostname, user: None, salt }
    }

    /// A user for a server that asks for user authentication.
    ///
    /// ```
    /// let _ = fluent_embedded::Security::new("k", "node7", || [1; 16]).user("fluent", "s3cret");
    /// ```
    pub fn user(mut self, name: &'a str, password: &'a str) -> Self {
        self.user = Some((name, password));
        self
    }
}

/// Why the handshake failed; the connection is dropped, and nothing was
/// written to it but the PING.
///
/// ```
/// let e: fluent_embedded::HandshakeError<()> = fluent_embedded::HandshakeError::Refused;
/// assert!(e.to_string().contains("refused"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HandshakeError<E> {
    /// The transport failed.
    Io(E),
    /// The server closed the connection (no HELO: it does not speak the
    /// handshake, or it refused us).
    Closed,
    /// The server sent something that is not a HELO or PONG.
    Unexpected,
    /// The server refused our key or password (`PONG false`).
    Refused,
    /// The server's PONG digest is wrong: it does not know the key.
    BadServerDigest,
    /// The server's hostname is ours (the protocol refuses that).
    SameHostname,
    /// The server asks for user authentication and no user is set.
    NoUser,
}

impl<E: fmt::Debug> fmt::Display for HandshakeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Io(e) => write!(f, "transport error during the handshake: {e:?}"),
            HandshakeError::Closed => f.write_str("the server closed the connection during the handshake"),
            HandshakeError::Unexpected => f.write_str("the server sent something other than HELO or PONG"),
            HandshakeError::Refused => f.write_str("the server refused the handshake (wrong key or password)"),
            HandshakeError::BadServerDigest => {
                f.write_str("the server's PONG digest is wrong: it does not know the key")
            }
            HandshakeError::SameHostname => f.write_str("the server's hostname is ours; set another"),
            HandshakeError::NoUser => f.write_str("the server asks for a user and none is set"),
        }
    }
}

impl<E> HandshakeError<E> {
    /// A failed write of the PING: the transport's error, or the peer gone.
    fn from_write(e: crate::PumpError<E>) -> Self {
        match e {
            crate::PumpError::Io(e) => HandshakeError::Io(e),
            _ => HandshakeError::Closed,
        }
    }
}

/// Runs the handshake on a fresh connection.
pub(crate) fn run<T: Read + Write>(t: &mut T, security: &Security<'_>) -> Result<(), HandshakeError<T::Error>> {
    let mut helo = Message::new();
    loop {
        let n = fill(t, helo.space()?)?;
        if helo.complete(n)? {
            break;
        }
    }
    let ping = Ping::answer(helo.bytes(), security)?;
    crate::pump::write_all(t, ping.bytes()).map_err(HandshakeError::from_write)?;
    t.flush().map_err(HandshakeError::Io)?;
    let mut pong = Message::new();
    loop {
        let n = fill(t, pong.space()?)?;
        if pong.complete(n)? {
            break;
        }
    }
    ping.check(helo.bytes(), pong.bytes(), security)
}

/// [`run`] over an async transport.
#[cfg(feature = "async")]
pub(crate) async fn run_async<T>(t: &mut T, security: &Security<'_>) -> Result<(), HandshakeError<T::Error>>
where
    T: embedded_io_async::Read + embedded_io_async::Write,
{
    let mut helo = Message::new();
    loop {
        let n = t.read(helo.space()?).await.map_err(HandshakeError::Io)?;
        if helo.complete(n)? {
            break;
        }
    }
    let ping = Ping::answer(helo.bytes(), security)?;
    crate::pump_async::write_all(t, ping.bytes()).await.map_err(HandshakeError::from_write)?;
    t.flush().await.map_err(HandshakeError::Io)?;
    let mut pong = Message::new();
    loop {
        let n = t.read(pong.space()?).await.map_err(HandshakeError::Io)?;
        if pong.complete(n)? {
            break;
        }
    }
    ping.check(helo.bytes(), pong.bytes(), security)
}

/// One message of the server's (HELO or PONG), read until it is whole.
struct Message {
    buf: [u8; MESSAGE],
    len: usize,
    decoder: FrameDecoder,
}

impl Message {
    fn new() -> Self {
        Message {
            buf: [0; MESSAGE],
            len: 0,
            decoder: FrameDecoder::new(Limits { max_frame_len: MESSAGE, max_depth: 4 }),
        }
    }

    /// Where the next bytes go.
    fn space<E>(&mut self) -> Result<&mut [u8], HandshakeError<E>> {
        self.buf.get_mut(self.len..).filter(|d| !d.is_empty()).ok_or(HandshakeError::Unexpected)
    }

    /// `n` bytes arrived in [`space`](Self::space): whether the message is
    /// whole.
    fn complete<E>(&mut self, n: usize) -> Result<bool, HandshakeError<E>> {
        if n == 0 {
            return Err(HandshakeError::Closed);
        }
        self.len += n;
        match self.decoder.next_value_len(self.buf.get(..self.len).unwrap_or_default()) {
            Ok(Some(whole)) => {
                self.len = whole;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(_) => Err(HandshakeError::Unexpected),
        }
    }

    /// The whole message.
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Our PING, answering a HELO, and what checking the PONG needs.
struct Ping {
    salt: [u8; 16],
    out: [u8; MESSAGE],
    len: usize,
}

impl Ping {
    fn answer<E>(helo: &[u8], security: &Security<'_>) -> Result<Self, HandshakeError<E>> {
        let helo = Helo::parse(helo).map_err(|_| HandshakeError::Unexpected)?;
        let salt = (security.salt)();
        let digest = shared_key_digest(&salt, security.hostname, helo.nonce, security.shared_key.as_bytes());
        let password = match (helo.auth.is_empty(), security.user) {
            (true, _) => None,
            (false, Some((name, password))) => Some((name, password_digest(helo.auth, name, password))),
            (false, None) => return Err(HandshakeError::NoUser),
        };
        let ping = fluent_proto::handshake::Ping {
            hostname: security.hostname,
            shared_key_salt: &salt,
            shared_key_hexdigest: digest.as_str(),
            username: password.as_ref().map_or("", |(name, _)| name),
            password_digest: password.as_ref().map_or("", |(_, d)| d.as_str()),
        };
        let mut out = [0u8; MESSAGE];
        let mut sink = SliceSink::new(&mut out);
        ping.write(&mut sink).map_err(|_| HandshakeError::Unexpected)?;
        let len = sink.written().len();
        Ok(Ping { salt, out, len })
    }

    fn bytes(&self) -> &[u8] {
        self.out.get(..self.len).unwrap_or_default()
    }

    /// Checks the server's PONG: accepted, another hostname, and a digest
    /// only the key's holder could compute.
    fn check<E>(&self, helo: &[u8], pong: &[u8], security: &Security<'_>) -> Result<(), HandshakeError<E>> {
        let helo = Helo::parse(helo).map_err(|_| HandshakeError::Unexpected)?;
        let pong = Pong::parse(pong).map_err(|_| HandshakeError::Unexpected)?;
        if !pong.auth_result {
            return Err(HandshakeError::Refused);
        }
        if pong.server_hostname == security.hostname {
            return Err(HandshakeError::SameHostname);
        }
        if !pong.verify(security.hostname, &self.salt, helo.nonce, security.shared_key.as_bytes()) {
            return Err(HandshakeError::BadServerDigest);
        }
        Ok(())
    }
}

/// One blocking read into `dst`.
fn fill<T: Read>(t: &mut T, dst: &mut [u8]) -> Result<usize, HandshakeError<T::Error>> {
    t.read(dst).map_err(HandshakeError::Io)
}
