//! Standard base64 with padding (RFC 4648 §4), as etcd's JSON gateway writes `bytes` fields.
//!
//! Keys and values cross the gateway in this form. A few lines here rather than a crate: nothing
//! else in the tree needs base64, and the gateway only ever uses this one alphabet.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` as padded standard base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            // A chunk of k bytes fills k + 1 sextets; the rest is padding.
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The sextet a base64 character stands for.
fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// The bytes `text` encodes; padding is optional, anything else outside the alphabet an error.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    let data = text.trim_end_matches('=');
    if text.len() - data.len() > 2 || data.len() % 4 == 1 {
        return Err(format!("{text:?} is not base64: wrong length or padding"));
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = sextet(c).ok_or_else(|| {
                format!(
                    "{text:?} is not base64: {:?} is outside the alphabet",
                    char::from(c)
                )
            })?;
            n |= v << (18 - 6 * i);
        }
        // k characters carry k - 1 whole bytes.
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648's test vectors, each length of the last group included.
    #[test]
    fn rfc_4648_vectors_round_trip() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert!(text.contains('+') && text.contains('/'), "{text}");
        assert_eq!(decode(&text).unwrap(), all);
    }

    #[test]
    fn what_etcd_wrote_here_decodes() {
        // Keys as etcd 3.4's gateway returned them, padded and not.
        assert_eq!(decode("cy8x").unwrap(), b"s/1");
        assert_eq!(decode("YmlnLzE=").unwrap(), b"big/1");
    }

    #[test]
    fn malformed_text_is_an_error_naming_it() {
        let e = decode("Zm9v!").unwrap_err();
        assert!(e.contains("Zm9v!"), "{e}");
        assert!(decode("Z").is_err(), "one character carries no byte");
        assert!(decode("Zg===").is_err(), "three padding characters");
        assert!(decode("Zm 9v").is_err());
    }
}
