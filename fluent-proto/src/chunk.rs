//! Chunk ids: the `chunk` option that asks for an ack (Forward protocol spec,
//! "Option": base64 of 16 random bytes by convention).

use core::fmt;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A chunk id: standard base64 (with padding) of 16 random bytes, 24 ASCII
/// characters, the form Fluentd's `out_forward` and fluent-logger-golang send.
///
/// ```
/// let id = fluent_proto::ChunkId::from_bytes([0; 16]);
/// assert_eq!(id.as_str(), "AAAAAAAAAAAAAAAAAAAAAA==");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkId {
    text: [u8; 24],
}

impl ChunkId {
    /// The id for these 16 bytes.
    ///
    /// ```
    /// let id = fluent_proto::ChunkId::from_bytes([0xff; 16]);
    /// assert_eq!(id.as_str(), "/////////////////////w==");
    /// ```
    // Const fn over fixed arrays: every index is bounded by the loop condition
    // (i + 2 <= 14, o + 3 <= 19) or is a literal below 24; `& 63` bounds BASE64.
    #[allow(clippy::indexing_slicing)]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut text = [b'='; 24];
        let mut i = 0;
        let mut o = 0;
        while i + 3 <= 15 {
            let n = (bytes[i] as u32) << 16 | (bytes[i + 1] as u32) << 8 | bytes[i + 2] as u32;
            text[o] = BASE64[(n >> 18) as usize & 63];
            text[o + 1] = BASE64[(n >> 12) as usize & 63];
            text[o + 2] = BASE64[(n >> 6) as usize & 63];
            text[o + 3] = BASE64[n as usize & 63];
            i += 3;
            o += 4;
        }
        // One byte left (16 = 5 * 3 + 1): two characters and "==".
        let n = (bytes[15] as u32) << 16;
        text[20] = BASE64[(n >> 18) as usize & 63];
        text[21] = BASE64[(n >> 12) as usize & 63];
        ChunkId { text }
    }

    /// A fresh id from a caller-supplied random source (firmware passes its
    /// hardware RNG).
    ///
    /// ```
    /// let mut counter = 0u8;
    /// let id = fluent_proto::ChunkId::generate(|buf| {
    ///     for b in buf.iter_mut() { counter = counter.wrapping_add(1); *b = counter; }
    /// });
    /// assert_eq!(id.as_str().len(), 24);
    /// ```
    pub fn generate(mut fill_random: impl FnMut(&mut [u8; 16])) -> Self {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// A fresh id from the operating system's random source.
    ///
    /// ```
    /// let a = fluent_proto::ChunkId::random()?;
    /// let b = fluent_proto::ChunkId::random()?;
    /// assert_ne!(a, b);
    /// # Ok::<(), getrandom::Error>(())
    /// ```
    ///
    /// # Errors
    /// When the OS random source fails.
    #[cfg(feature = "std")]
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The id as text.
    ///
    /// ```
    /// assert_eq!(fluent_proto::ChunkId::from_bytes([0; 16]).as_str().len(), 24);
    /// ```
    pub fn as_str(&self) -> &str {
        // Always ASCII from the base64 alphabet.
        core::str::from_utf8(&self.text).unwrap_or("")
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChunkId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
