//! The shared-key handshake (Forward protocol spec, "Handshake Messages"):
//! server `HELO`, client `PING`, server `PONG`, and their SHA-512 digests.
//! No allocator needed; digests are lowercase hex in fixed arrays.

use core::fmt;

use sha2::{Digest, Sha512};

use crate::decode::{DecodeError, Value};
use crate::encode_error::EncodeError;
use crate::msgpack;
use crate::sink::Sink;

/// A SHA-512 digest as 128 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexDigest([u8; 128]);

impl HexDigest {
    fn of(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha512::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut text = [0u8; 128];
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (pair, byte) in text.chunks_exact_mut(2).zip(digest.iter()) {
            if let [hi, lo] = pair {
                *hi = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                *lo = HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0');
            }
        }
        HexDigest(text)
    }

    /// The digest as text.
    ///
    /// ```
    /// let d = fluent_proto::handshake::shared_key_digest(b"s", "h", b"n", b"k");
    /// assert_eq!(d.as_str().len(), 128);
    /// ```
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Compares with `other` in time independent of where they differ.
    ///
    /// ```
    /// let d = fluent_proto::handshake::shared_key_digest(b"s", "h", b"n", b"k");
    /// assert!(d.matches(d.as_str()));
    /// assert!(!d.matches("00"));
    /// ```
    pub fn matches(&self, other: &str) -> bool {
        let other = other.as_bytes();
        if other.len() != self.0.len() {
            return false;
        }
        self.0.iter().zip(other).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl fmt::Debug for HexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HexDigest").field(&self.as_str()).finish()
    }
}

/// `hex(sha512(salt ‖ hostname ‖ nonce ‖ shared_key))`: the client's digest in
/// PING (with its hostname) and the server's in PONG (with the server's).
///
/// ```
/// let d = fluent_proto::handshake::shared_key_digest(b"salt", "client", &[0; 16], b"secret");
/// assert!(d.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
/// ```
pub fn shared_key_digest(salt: &[u8], hostname: &str, nonce: &[u8], shared_key: &[u8]) -> HexDigest {
    HexDigest::of(&[salt, hostname.as_bytes(), nonce, shared_key])
}

/// `hex(sha512(auth_salt ‖ username ‖ password))`, PING's password digest.
///
/// ```
/// let d = fluent_proto::handshake::password_digest(&[1; 16], "user", "pass");
/// assert_eq!(d.as_str().len(), 128);
/// ```
pub fn password_digest(auth_salt: &[u8], username: &str, password: &str) -> HexDigest {
    HexDigest::of(&[auth_salt, username.as_bytes(), password.as_bytes()])
}

/// The server's greeting: `["HELO", {"nonce": bin, "auth": bin or "", "keepalive": bool}]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Helo<'a> {
    /// Random bytes the digests bind to this connection.
    pub nonce: &'a [u8],
    /// The salt for user authentication; empty when the server has none.
    pub auth: &'a [u8],
    /// Whether the server keeps the connection open.
    pub keepalive: bool,
}

impl<'a> Helo<'a> {
    /// Writes the message.
    ///
    /// ```
    /// use fluent_proto::handshake::Helo;
    /// let mut out = Vec::new();
    /// Helo { nonce: &[7; 16], auth: &[], keepalive: true }.write(&mut out)?;
    /// assert_eq!(Helo::parse(&out)?, Helo { nonce: &[7; 16], auth: &[], keepalive: true });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        msgpack::write_array_header(sink, 2)?;
        msgpack::write_str(sink, "HELO")?;
        msgpack::write_map_header(sink, 3)?;
        msgpack::write_str(sink, "nonce")?;
        msgpack::write_bin(sink, self.nonce)?;
        msgpack::write_str(sink, "auth")?;
        if self.auth.is_empty() {
            msgpack::write_str(sink, "")?;
        } else {
            msgpack::write_bin(sink, self.auth)?;
        }
        msgpack::write_str(sink, "keepalive")?;
        msgpack::write_bool(sink, self.keepalive)
    }

    /// Reads the message from one complete frame.
    ///
    /// ```
    /// assert!(fluent_proto::handshake::Helo::parse(b"\x92\xa4PING\x80").is_err());
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::BadEntries`] when the frame is not a HELO.
    pub fn parse(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut items = message(frame, "HELO", 2)?;
        let options = next(&mut items)?.as_map().ok_or(DecodeError::BadEntries)?;
        let mut helo = Helo { nonce: &[], auth: &[], keepalive: true };
        for pair in options.iter() {
            match pair? {
                (Value::Str("nonce"), v) => helo.nonce = bytes(v)?,
                (Value::Str("auth"), v) => helo.auth = bytes(v)?,
                (Value::Str("keepalive"), Value::Bool(b)) => helo.keepalive = b,
                _ => {}
            }
        }
        Ok(helo)
    }
}

/// The client's answer: `["PING", hostname, shared_key_salt,
/// shared_key_hexdigest, username, password_digest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping<'a> {
    /// The client's hostname.
    pub hostname: &'a str,
    /// The client's salt (written as str when it is UTF-8, as Fluentd does).
    pub shared_key_salt: &'a [u8],
    /// [`shared_key_digest`] over the salt, the client's hostname and the nonce.
    pub shared_key_hexdigest: &'a str,
    /// The user name, or empty.
    pub username: &'a str,
    /// [`password_digest`], or empty.
    pub password_digest: &'a str,
}

impl<'a> Ping<'a> {
    /// Writes the message.
    ///
    /// ```
    /// use fluent_proto::handshake::{shared_key_digest, Ping};
    /// let digest = shared_key_digest(b"salt", "me", &[1; 16], b"key");
    /// let ping = Ping { hostname: "me", shared_key_salt: b"salt", shared_key_hexdigest: digest.as_str(), username: "", password_digest: "" };
    /// let mut out = Vec::new();
    /// ping.write(&mut out)?;
    /// assert_eq!(Ping::parse(&out)?, ping);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        msgpack::write_array_header(sink, 6)?;
        msgpack::write_str(sink, "PING")?;
        msgpack::write_str(sink, self.hostname)?;
        match core::str::from_utf8(self.shared_key_salt) {
            Ok(s) => msgpack::write_str(sink, s)?,
            Err(_) => msgpack::write_bin(sink, self.shared_key_salt)?,
        }
        msgpack::write_str(sink, self.shared_key_hexdigest)?;
        msgpack::write_str(sink, self.username)?;
        msgpack::write_str(sink, self.password_digest)
    }

    /// Reads the message from one complete frame.
    ///
    /// A salt packed as a msgpack str holding bytes that are not UTF-8, as
    /// Fluent Bit sends its 16 random bytes, is taken as it is:
    ///
    /// ```
    /// use fluent_proto::handshake::{shared_key_digest, Ping};
    /// assert!(Ping::parse(b"\x92\xa4PING\x80").is_err());
    /// let salt = [0xffu8, 0xfe, 0x80, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    /// let nonce = [7u8; 16];
    /// let digest = shared_key_digest(&salt, "bit", &nonce, b"key");
    /// let mut frame = b"\x96\xa4PING\xa3bit\xb0".to_vec(); // fixstr of 16 bytes
    /// frame.extend_from_slice(&salt);
    /// frame.push(0xd9);
    /// frame.push(digest.as_str().len() as u8);
    /// frame.extend_from_slice(digest.as_str().as_bytes());
    /// frame.extend_from_slice(b"\xa0\xa0");
    /// let ping = Ping::parse(&frame)?;
    /// assert_eq!(ping.shared_key_salt, &salt);
    /// assert!(ping.verify(&nonce, b"key", None));
    /// # Ok::<(), fluent_proto::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::BadEntries`] when the frame is not a 6-element PING.
    pub fn parse(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut items = message(frame, "PING", 6)?;
        let hostname = text(next(&mut items)?)?;
        // Fluent Bit packs its 16 random salt bytes as a str, UTF-8 or not:
        // take a str's bytes as they are.
        let shared_key_salt = match items.next_if_raw_str() {
            Some(salt) => salt?,
            None => bytes(next(&mut items)?)?,
        };
        Ok(Ping {
            hostname,
            shared_key_salt,
            shared_key_hexdigest: text(next(&mut items)?)?,
            username: text(next(&mut items)?)?,
            password_digest: text(next(&mut items)?)?,
        })
    }

    /// Checks this PING against the server's nonce and shared key (and, when
    /// the server sent an auth salt, a user's password).
    ///
    /// ```
    /// use fluent_proto::handshake::{shared_key_digest, Ping};
    /// let nonce = [9u8; 16];
    /// let digest = shared_key_digest(b"salt", "me", &nonce, b"key");
    /// let ping = Ping { hostname: "me", shared_key_salt: b"salt", shared_key_hexdigest: digest.as_str(), username: "", password_digest: "" };
    /// assert!(ping.verify(&nonce, b"key", None));
    /// assert!(!ping.verify(&nonce, b"wrong", None));
    /// ```
    pub fn verify(&self, nonce: &[u8], shared_key: &[u8], auth: Option<(&[u8], &str)>) -> bool {
        let key_ok = shared_key_digest(self.shared_key_salt, self.hostname, nonce, shared_key)
            .matches(self.shared_key_hexdigest);
        let user_ok = match auth {
            None => true,
            Some((salt, password)) => password_digest(salt, self.username, password).matches(self.password_digest),
        };
        key_ok & user_ok
    }
}

/// The server's verdict: `["PONG", ok, reason, server_hostname, shared_key_hexdigest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong<'a> {
    /// Whether authentication succeeded.
    pub auth_result: bool,
    /// Why it failed (empty on success).
    pub reason: &'a str,
    /// The server's hostname (empty on failure).
    pub server_hostname: &'a str,
    /// [`shared_key_digest`] over the client's salt, the server's hostname and
    /// the nonce (empty on failure).
    pub shared_key_hexdigest: &'a str,
}

impl<'a> Pong<'a> {
    /// Writes the message.
    ///
    /// ```
    /// use fluent_proto::handshake::Pong;
    /// let pong = Pong { auth_result: false, reason: "shared_key mismatch", server_hostname: "", shared_key_hexdigest: "" };
    /// let mut out = Vec::new();
    /// pong.write(&mut out)?;
    /// assert_eq!(Pong::parse(&out)?, pong);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// When the sink refuses the bytes.
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), EncodeError> {
        msgpack::write_array_header(sink, 5)?;
        msgpack::write_str(sink, "PONG")?;
        msgpack::write_bool(sink, self.auth_result)?;
        msgpack::write_str(sink, self.reason)?;
        msgpack::write_str(sink, self.server_hostname)?;
        msgpack::write_str(sink, self.shared_key_hexdigest)
    }

    /// Reads the message from one complete frame.
    ///
    /// ```
    /// assert!(fluent_proto::handshake::Pong::parse(b"\xc0").is_err());
    /// ```
    ///
    /// # Errors
    /// [`DecodeError::BadEntries`] when the frame is not a 5-element PONG.
    pub fn parse(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let mut items = message(frame, "PONG", 5)?;
        let auth_result = match next(&mut items)? {
            Value::Bool(b) => b,
            _ => return Err(DecodeError::BadEntries),
        };
        Ok(Pong {
            auth_result,
            reason: text(next(&mut items)?)?,
            server_hostname: text(next(&mut items)?)?,
            shared_key_hexdigest: text(next(&mut items)?)?,
        })
    }

    /// The client's check of a PONG: accepted, not claiming the client's own
    /// hostname, and carrying the right server digest.
    ///
    /// ```
    /// use fluent_proto::handshake::{shared_key_digest, Pong};
    /// let nonce = [3u8; 16];
    /// let d = shared_key_digest(b"salt", "server", &nonce, b"key");
    /// let pong = Pong { auth_result: true, reason: "", server_hostname: "server", shared_key_hexdigest: d.as_str() };
    /// assert!(pong.verify("client", b"salt", &nonce, b"key"));
    /// assert!(!pong.verify("server", b"salt", &nonce, b"key"));
    /// ```
    pub fn verify(&self, client_hostname: &str, salt: &[u8], nonce: &[u8], shared_key: &[u8]) -> bool {
        self.auth_result
            && self.server_hostname != client_hostname
            && shared_key_digest(salt, self.server_hostname, nonce, shared_key).matches(self.shared_key_hexdigest)
    }
}

fn message<'a>(frame: &'a [u8], name: &str, arity: u64) -> Result<crate::decode::ArrayIter<'a>, DecodeError> {
    let (value, _) = Value::read(frame, 3)?;
    let Value::Array(items) = value else { return Err(DecodeError::BadEntries) };
    if items.len() != arity {
        return Err(DecodeError::BadEntries);
    }
    let mut it = items.iter();
    if next(&mut it)? != Value::Str(name) {
        return Err(DecodeError::BadEntries);
    }
    Ok(it)
}

fn next<'a>(it: &mut crate::decode::ArrayIter<'a>) -> Result<Value<'a>, DecodeError> {
    it.next().unwrap_or(Err(DecodeError::BadEntries))
}

fn bytes(v: Value<'_>) -> Result<&[u8], DecodeError> {
    match v {
        Value::Bin(b) => Ok(b),
        Value::Str(s) => Ok(s.as_bytes()),
        _ => Err(DecodeError::BadEntries),
    }
}

fn text(v: Value<'_>) -> Result<&str, DecodeError> {
    v.as_str().ok_or(DecodeError::BadEntries)
}
