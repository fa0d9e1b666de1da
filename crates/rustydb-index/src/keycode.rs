//! Order-preserving key encoding: `encode(a) < encode(b)` (bytewise) exactly when `a < b` in SQL
//! order, for every type, with NULLs sorting last as in PostgreSQL's default ascending order.
//! Composite keys concatenate their columns' encodings.
//!
//! | value | bytes |
//! |---|---|
//! | NULL | `0x02` |
//! | false / true | `0x01 0x00` / `0x01 0x01` |
//! | any integer width | `0x01`, then the i64 big-endian with the sign bit flipped (so int2 5 = int8 5) |
//! | float | `0x01`, then the f64 bits big-endian; negatives have all bits flipped, others the sign bit; NaN above +Infinity |
//! | text | `0x01`, then the UTF-8 bytes with `0x00` written `0x00 0xFF`, then `0x00 0x00` |
//!
//! A descending column would invert every byte of its encoding (used by DESC index columns).

use rustydb_foundation::Value;

const NOT_NULL: u8 = 0x01;
const NULL: u8 = 0x02;

/// Appends the key encoding of `value` to `out`.
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.extend_from_slice(&[NOT_NULL, u8::from(*b)]),
        Value::Float4(_) | Value::Float8(_) => {
            out.push(NOT_NULL);
            out.extend_from_slice(&float_key(value.as_f64().unwrap_or(f64::NAN)));
        }
        Value::Text(s) => {
            out.push(NOT_NULL);
            for &b in s.as_bytes() {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
        integer => {
            out.push(NOT_NULL);
            let v = integer.as_i64().unwrap_or_default();
            out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
        }
    }
}

fn float_key(v: f64) -> [u8; 8] {
    let v = if v.is_nan() {
        f64::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    };
    let bits = v.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    ordered.to_be_bytes()
}

/// The key of a (possibly composite) list of values.
pub fn encode_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 10);
    for v in values {
        encode_value(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn sql_order(a: &Value, b: &Value) -> Ordering {
        match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => a.sql_cmp(b).unwrap_or(Ordering::Equal),
        }
    }

    proptest! {
        #[test]
        fn integers_keep_order(a in any::<i64>(), b in any::<i64>()) {
            let (x, y) = (Value::Int8(a), Value::Int8(b));
            prop_assert_eq!(encode_key(std::slice::from_ref(&x)).cmp(&encode_key(std::slice::from_ref(&y))), sql_order(&x, &y));
        }

        #[test]
        fn floats_keep_order(a in any::<f64>(), b in any::<f64>()) {
            let (x, y) = (Value::Float8(a), Value::Float8(b));
            prop_assert_eq!(encode_key(std::slice::from_ref(&x)).cmp(&encode_key(std::slice::from_ref(&y))), sql_order(&x, &y));
        }

        #[test]
        fn text_keeps_order_even_with_nul_bytes(a in ".*", b in ".*") {
            let (x, y) = (Value::Text(a), Value::Text(b));
            prop_assert_eq!(encode_key(std::slice::from_ref(&x)).cmp(&encode_key(std::slice::from_ref(&y))), sql_order(&x, &y));
        }

        #[test]
        fn composite_keys_order_column_by_column(a in ".{0,4}", b in ".{0,4}", i in -3i32..3, j in -3i32..3) {
            let ka = encode_key(&[Value::Text(a.clone()), Value::Int4(i)]);
            let kb = encode_key(&[Value::Text(b.clone()), Value::Int4(j)]);
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b).then(i.cmp(&j)));
        }
    }

    #[test]
    fn widths_agree_and_nulls_sort_last() {
        assert_eq!(encode_key(&[Value::Int2(5)]), encode_key(&[Value::Int8(5)]));
        assert!(encode_key(&[Value::Null]) > encode_key(&[Value::Int4(i32::MAX)]));
        assert!(encode_key(&[Value::Float8(-0.0)]) == encode_key(&[Value::Float8(0.0)]));
    }
}
