//! `numeric`'s binary form (`numeric_send` / `numeric_recv`), big-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 2 | `ndigits`: how many base-10000 digits follow |
//! | 2 | `weight`: the power of 10000 of the first digit |
//! | 2 | sign: `0x0000` positive, `0x4000` negative, `0xC000` NaN, `0xD000` Infinity, `0xF000` -Infinity |
//! | 2 | `dscale`: digits after the decimal point |
//! | 2 × ndigits | the digits, each 0..9999, leading and trailing zero digits stripped |

use super::magnitude;
use super::{Class, MAX_SCALE, Numeric};

const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const INFINITY: u16 = 0xD000;
const NEG_INFINITY: u16 = 0xF000;

/// Why bytes are not a binary numeric (PostgreSQL's words, for 22P03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryError {
    /// Fewer bytes than the header and digits need.
    Short,
    /// Bytes left over after the digits.
    Long,
    /// `invalid sign in external "numeric" value`, `invalid digit ...` or `invalid scale ...`.
    Invalid(&'static str),
}

/// Appends the binary form of `n`.
pub fn send(n: &Numeric, out: &mut Vec<u8>) {
    let mut header = |ndigits: u16, weight: i16, sign: u16, dscale: u16| {
        for v in [ndigits, weight as u16, sign, dscale] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    };
    match n.class {
        Class::NaN => return header(0, 0, NAN, 0),
        // PostgreSQL reads the infinities' dscale out of their header bits: 32.
        Class::Infinity => return header(0, 0, INFINITY, 32),
        Class::NegInfinity => return header(0, 0, NEG_INFINITY, 32),
        _ => {}
    }
    let sign = if n.class == Class::Negative { NEGATIVE } else { POSITIVE };
    let scale = usize::from(n.scale);
    let digits = magnitude::to_decimal(&n.coef);
    let digits = if n.coef.is_empty() { String::new() } else { digits };
    // Split at the point, then pad both parts out to whole groups of four.
    let padded = if digits.len() < scale { format!("{}{digits}", "0".repeat(scale - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let int = format!("{}{int}", "0".repeat((4 - int.len() % 4) % 4));
    let frac = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
    let groups: Vec<u16> = int
        .as_bytes()
        .chunks(4)
        .chain(frac.as_bytes().chunks(4))
        .map(|g| g.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')))
        .collect();
    let mut weight = (int.len() / 4) as i64 - 1;
    let first = groups.iter().position(|&g| g != 0);
    let Some(first) = first else { return header(0, 0, POSITIVE, n.scale) };
    let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
    weight -= first as i64;
    let kept = &groups[first..=last];
    header(kept.len() as u16, weight as i16, sign, n.scale);
    for g in kept {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

/// The numeric whose binary form is `raw`. Digits hidden by the declared scale are truncated
/// away, as PostgreSQL does.
pub fn recv(raw: &[u8]) -> Result<Numeric, BinaryError> {
    let word = |i: usize| -> Result<u16, BinaryError> {
        raw.get(i * 2..i * 2 + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(BinaryError::Short)
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    match raw.len().cmp(&(8 + 2 * ndigits)) {
        std::cmp::Ordering::Less => return Err(BinaryError::Short),
        std::cmp::Ordering::Greater => return Err(BinaryError::Long),
        std::cmp::Ordering::Equal => {}
    }
    match sign {
        NAN => return Ok(Numeric::nan()),
        INFINITY => return Ok(Numeric::infinity(false)),
        NEG_INFINITY => return Ok(Numeric::infinity(true)),
        POSITIVE | NEGATIVE => {}
        _ => return Err(BinaryError::Invalid("invalid sign in external \"numeric\" value")),
    }
    if dscale > MAX_SCALE {
        return Err(BinaryError::Invalid("invalid scale in external \"numeric\" value"));
    }
    let mut digits = String::with_capacity(ndigits * 4);
    for i in 0..ndigits {
        let d = word(4 + i)?;
        if d >= 10000 {
            return Err(BinaryError::Invalid("invalid digit in external \"numeric\" value"));
        }
        digits.push_str(&format!("{d:04}"));
    }
    // The digits' value is digits × 10^(4 × (weight - ndigits + 1)).
    let exponent = 4 * (weight - ndigits as i64 + 1);
    let coef = magnitude::from_decimal(digits.as_bytes());
    let negative = sign == NEGATIVE;
    let value = if exponent >= 0 {
        Numeric::finite(negative, magnitude::shift_up(&coef, exponent as usize), 0)
    } else {
        Numeric::finite(negative, coef, u16::try_from(-exponent).map_err(|_| BinaryError::Short)?)
    };
    Ok(value.trunc(i32::from(dscale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(words: &[u16]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn matches_postgres_layout() {
        // What PostgreSQL 15's numeric_send gives for each value.
        let cases: &[(&str, &[u16])] = &[
            ("0", &[0, 0, 0, 0]),
            ("0.00", &[0, 0, 0, 2]),
            ("1", &[1, 0, 0, 0, 1]),
            ("-12345.678", &[3, 1, 0x4000, 3, 1, 2345, 6780]),
            ("10000", &[1, 1, 0, 0, 1]),
            ("0.0001", &[1, 0xFFFF, 0, 4, 1]),
            ("123456789.5", &[4, 2, 0, 1, 1, 2345, 6789, 5000]),
            ("NaN", &[0, 0, 0xC000, 0]),
            ("Infinity", &[0, 0, 0xD000, 32]),
            ("-Infinity", &[0, 0, 0xF000, 32]),
        ];
        for (text, words) in cases {
            let n = Numeric::parse(text).unwrap();
            let mut out = Vec::new();
            send(&n, &mut out);
            assert_eq!(out, bytes(words), "{text}");
            assert_eq!(recv(&out).unwrap(), n, "{text}");
        }
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(recv(&bytes(&[1, 0, 0])), Err(BinaryError::Short));
        assert_eq!(recv(&bytes(&[1, 0, 0, 0])), Err(BinaryError::Short));
        assert_eq!(recv(&bytes(&[0, 0, 0, 0, 7])), Err(BinaryError::Long));
        assert!(matches!(recv(&bytes(&[1, 0, 0, 0, 10000])), Err(BinaryError::Invalid(_))));
        assert!(matches!(recv(&bytes(&[0, 0, 0x1234, 0])), Err(BinaryError::Invalid(_))));
        // A declared scale shorter than the digits truncates.
        assert_eq!(recv(&bytes(&[2, 0, 0, 1, 1, 2345])).unwrap().to_string(), "1.2");
    }
}
