//! `encode`, `decode` and `gen_random_uuid`, as PostgreSQL defines them.
//!
//! The formats are PostgreSQL's: `hex` (lower case out; whitespace between pairs allowed in),
//! `base64` (RFC 2045: a line break after every 76 characters out, whitespace ignored in) and
//! `escape` (bytes 0 and 128–255 as `\nnn` octal, a backslash doubled). An unknown format is
//! 22023; malformed input 22023 too, as `decode` reports it.

use base64::Engine as _;
use rustydb_foundation::{DbError, Result, SqlState};

fn unknown_format(format: &str) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, format!("unrecognized encoding: \"{format}\""))
}

/// `encode(bytes, format)`.
pub fn encode(bytes: &[u8], format: &str) -> Result<String> {
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        "base64" => {
            let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
            let lines: Vec<&str> =
                flat.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
            lines.join("\n")
        }
        "escape" => {
            let mut out = String::with_capacity(bytes.len());
            for &b in bytes {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    0 | 0x80..=0xff => out.push_str(&format!("\\{b:03o}")),
                    _ => out.push(char::from(b)),
                }
            }
            out
        }
        _ => return Err(unknown_format(format)),
    })
}

/// `decode(text, format)`.
pub fn decode(text: &str, format: &str) -> Result<Vec<u8>> {
    let invalid = |m: String| DbError::sql(SqlState::InvalidParameterValue, m);
    match format.to_ascii_lowercase().as_str() {
        "hex" => {
            // The same rules as a `\x` bytea literal, but 22023 as decode reports them.
            rustydb_foundation::bytes::parse_bytea(&format!("\\x{text}")).map_err(|e| invalid(e.to_string()))
        }
        "base64" => {
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| invalid("invalid base64 end sequence".into()))
        }
        "escape" => rustydb_foundation::bytes::parse_bytea(text)
            .map_err(|_| invalid("invalid input syntax for type bytea".into())),
        _ => Err(unknown_format(format)),
    }
}

/// A version 4 (random) UUID from the system's secure random source.
pub fn random_uuid() -> Result<[u8; 16]> {
    let mut u = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut u)
        .map_err(|_| DbError::Internal("the system random source failed".into()))?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_as_postgres_writes_them() {
        let bytes = b"a\\b\x00\xff".to_vec();
        assert_eq!(encode(&bytes, "hex").unwrap(), "615c6200ff");
        assert_eq!(encode(&bytes, "escape").unwrap(), "a\\\\b\\000\\377");
        assert_eq!(encode(&bytes, "base64").unwrap(), "YVxiAP8=");
        for format in ["hex", "escape", "base64", "HEX"] {
            assert_eq!(decode(&encode(&bytes, format).unwrap(), format).unwrap(), bytes, "{format}");
        }
        assert_eq!(encode(&[7u8; 60], "base64").unwrap().lines().map(str::len).collect::<Vec<_>>(), [76, 4]);
        assert_eq!(decode("YWJj\n ZA==", "base64").unwrap(), b"abcd");
        assert_eq!(encode(b"x", "rot13").unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        assert_eq!(decode("4g", "hex").unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        let u = random_uuid().unwrap();
        assert_eq!((u[6] >> 4, u[8] >> 6), (4, 2));
        assert_ne!(random_uuid().unwrap(), u);
    }
}
