//! The small JSON writer behind every output line: strings escaped per
//! RFC 8259, integers exact, floats shortest round-trip (non-finite ones,
//! which JSON cannot carry, as `null`), bytes as text.

/// Appends `s` as a JSON string (quotes included).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// Appends binary data as a JSON string: its text when it is valid UTF-8
/// (old clients send strings as bin), otherwise each byte as the code point
/// of the same value (Latin-1), which loses nothing.
pub(crate) fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match core::str::from_utf8(bytes) {
        Ok(s) => write_str(out, s),
        Err(_) => {
            let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
            write_str(out, &latin1);
        }
    }
}

/// Appends an unsigned integer.
pub(crate) fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a signed integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a float; NaN and the infinities become `null`.
pub(crate) fn write_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) {
        let mut out = Vec::new();
        write_str(&mut out, s);
        let back: String = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(back, s);
    }

    #[test]
    fn strings_round_trip_through_serde_json() {
        for s in ["", "plain", "quote\" back\\slash", "ctl \u{0} \u{1f} \n\r\t", "é ∑ 𝄞", "\u{7f}"] {
            round_trip(s);
        }
    }

    #[test]
    fn invalid_utf8_bytes_become_latin1_code_points() {
        let mut out = Vec::new();
        write_bytes(&mut out, b"\xff\x00a");
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, "\u{ff}\u{0}a");
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        write_i64(&mut out, -5);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        out.push(b' ');
        write_f64(&mut out, 0.5);
        out.push(b' ');
        write_f64(&mut out, f64::NAN);
        assert_eq!(out, b"-5 18446744073709551615 0.5 null");
    }
}
