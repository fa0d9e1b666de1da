//! The text forms of `uuid` and `bytea`, as PostgreSQL's `uuid_in`/`uuid_out` and
//! `byteain`/`byteaout` (with `bytea_output = hex`) read and write them.

use crate::{DbError, Result, SqlState};

/// `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`: lower-case hex, hyphens after the 4th, 6th, 8th and
/// 10th byte.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A uuid from its text: 32 hex digits in either case, optionally in braces, with an optional
/// hyphen after any group of four digits (as `uuid_in` accepts). Anything else is 22P02.
pub fn parse_uuid(text: &str) -> Result<[u8; 16]> {
    let invalid =
        || DbError::sql(SqlState::InvalidTextRepresentation, format!("invalid input syntax for type uuid: \"{text}\""));
    let body = match text.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}').ok_or_else(invalid)?,
        None => text,
    };
    let digits = body.as_bytes();
    let mut at = 0;
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let hex = |at: usize| digits.get(at).copied().and_then(hex_value).ok_or_else(invalid);
        *byte = hex(at)? << 4 | hex(at + 1)?;
        at += 2;
        if i % 2 == 1 && i < 15 && digits.get(at) == Some(&b'-') {
            at += 1;
        }
    }
    if at != digits.len() {
        return Err(invalid());
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `\x` followed by two lower-case hex digits per byte.
pub fn format_bytea(b: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * b.len());
    out.push_str("\\x");
    for byte in b {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A byte string from its text: the hex form (`\x` then pairs of hex digits, whitespace
/// between pairs allowed) or the escape form (bytes as they are, `\\` for a backslash and
/// `\nnn` for an octal byte). Malformed input is 22P02, worded as PostgreSQL words it.
pub fn parse_bytea(text: &str) -> Result<Vec<u8>> {
    let bad = |message: String| DbError::sql(SqlState::InvalidTextRepresentation, message);
    let bytes = text.as_bytes();
    if let Some(hex) = text.strip_prefix("\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut chars = hex.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if matches!(c, ' ' | '\n' | '\t' | '\r') {
                continue;
            }
            let digit = |c: char, at: usize| {
                u8::try_from(c).ok().and_then(hex_value).ok_or_else(|| {
                    let shown: String = hex[at..].chars().take(1).collect();
                    bad(format!("invalid hexadecimal digit: \"{shown}\""))
                })
            };
            let hi = digit(c, at)?;
            let Some((at2, c2)) = chars.next() else {
                return Err(bad("invalid hexadecimal data: odd number of digits".into()));
            };
            let lo = digit(c2, at2)?;
            out.push(hi << 4 | lo);
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if let [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7'] = bytes.get(i + 1..i + 4).unwrap_or_default()
        {
            out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
            i += 4;
        } else {
            return Err(bad("invalid input syntax for type bytea".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_read_every_form_postgres_reads_and_print_one() {
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for form in [
            canonical,
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(format_uuid(&parse_uuid(form).unwrap()), canonical, "{form}");
        }
        for bad in [
            "",
            "a0eebc99",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0e-ebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            let e = parse_uuid(bad).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidTextRepresentation, "{bad}");
        }
    }

    #[test]
    fn bytea_reads_hex_and_escape_forms() {
        assert_eq!(parse_bytea("\\xDEad be ef").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_bytea("\\x").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_bytea("a\\\\b\\001\\377").unwrap(), vec![b'a', b'\\', b'b', 1, 255]);
        assert_eq!(format_bytea(&[0xde, 0xad, 0, 7]), "\\xdead0007");
        assert_eq!(parse_bytea("\\xabc").unwrap_err().to_string(), "invalid hexadecimal data: odd number of digits");
        assert_eq!(parse_bytea("\\xzz").unwrap_err().to_string(), "invalid hexadecimal digit: \"z\"");
        assert_eq!(parse_bytea("a\\9").unwrap_err().to_string(), "invalid input syntax for type bytea");
    }
}
