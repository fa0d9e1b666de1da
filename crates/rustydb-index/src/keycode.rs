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
//! | date, timestamp, timestamptz | `0x01`, then the count (days, microseconds) as an integer |
//! | interval | `0x01`, then its span (30-day months, 24-hour days, in microseconds) as an i128, sign bit flipped, big-endian |
//! | numeric | `0x01`, a class byte (`0x01` -Infinity, `0x02` negative, `0x03` zero, `0x04` positive, `0x05` Infinity, `0x06` NaN), then for non-zero finite values the leading digit's decimal exponent (i32, sign bit flipped, big-endian), the significant digits as ASCII without trailing zeros, and `0x00`; all after the class byte inverted for negatives |
//!
//! Numerics that are equal at different scales (`1.5`, `1.50`) get the same key, because only
//! the significant digits are written; a shorter digit string that is a prefix of a longer one
//! is the smaller magnitude, which the `0x00` terminator (below every ASCII digit) gives.
//!
//! A descending column (a DESC index column) inverts every byte of its encoding. Encodings are
//! prefix-free, so inverting reverses their order and they stay prefix-free: composite keys
//! mixing directions still compare column by column. NULL (`0xFD` inverted) then sorts before
//! every value (`0xFE ...`), which is PostgreSQL's default for DESC (NULLS FIRST).

use rustydb_foundation::Value;
use rustydb_foundation::numeric::{Class, Numeric};

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
        Value::Text(s) => bytes_key(s.as_bytes(), out),
        Value::Bytea(b) => bytes_key(b, out),
        // By text: equal jsonb values have the same canonical text, so keys find them; the
        // order of a range over a json index is the text's, not jsonb's.
        Value::Json(s) => bytes_key(s.as_bytes(), out),
        Value::Jsonb(j) => bytes_key(j.to_text().as_bytes(), out),
        Value::Uuid(u) => {
            out.push(NOT_NULL);
            out.extend_from_slice(u);
        }
        Value::Date(d) => integer_key(i64::from(*d), out),
        Value::Timestamp(ts) | Value::TimestampTz(ts) | Value::Time(ts) => integer_key(*ts, out),
        // Element by element, each after a 0x01 byte, then 0x00: a prefix sorts first, and a
        // NULL element (0x02) after every value, as PostgreSQL orders arrays.
        Value::Array(_, elements) => {
            out.push(NOT_NULL);
            for e in elements {
                out.push(0x01);
                encode_value(e, out);
            }
            out.push(0x00);
        }
        Value::Numeric(n) => {
            out.push(NOT_NULL);
            numeric_key(n, out);
        }
        Value::Interval(i) => {
            out.push(NOT_NULL);
            out.extend_from_slice(&((i.span() as u128) ^ (1 << 127)).to_be_bytes());
        }
        integer => integer_key(integer.as_i64().unwrap_or_default(), out),
    }
}

/// A byte string, order-preserving and prefix-free: each 0x00 escaped as 0x00 0xFF, then 0x00
/// 0x00 (a prefix sorts first, as memcmp-then-length orders text and bytea).
fn bytes_key(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(NOT_NULL);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn numeric_key(n: &Numeric, out: &mut Vec<u8>) {
    let class = match n.class() {
        Class::NegInfinity => 0x01,
        Class::Negative => 0x02,
        Class::Positive if n.is_zero() => 0x03,
        Class::Positive => 0x04,
        Class::Infinity => 0x05,
        Class::NaN => 0x06,
    };
    out.push(class);
    let Some((exponent, digits)) = n.significant_digits() else { return };
    let start = out.len();
    let exponent = i32::try_from(exponent).unwrap_or(if exponent < 0 { i32::MIN } else { i32::MAX });
    out.extend_from_slice(&((exponent as u32) ^ (1 << 31)).to_be_bytes());
    out.extend_from_slice(digits.as_bytes());
    out.push(0);
    if n.is_negative() {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

fn integer_key(v: i64, out: &mut Vec<u8>) {
    out.push(NOT_NULL);
    out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
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

/// Appends the encoding of `value` for a descending column: every byte inverted.
pub fn encode_value_desc(value: &Value, out: &mut Vec<u8>) {
    let start = out.len();
    encode_value(value, out);
    for b in &mut out[start..] {
        *b = !*b;
    }
}

/// The key of `values` whose columns are descending where `descending` says so (missing
/// entries are ascending).
pub fn encode_key_directed(values: &[Value], descending: &[bool]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 10);
    for (i, v) in values.iter().enumerate() {
        if descending.get(i).copied().unwrap_or(false) {
            encode_value_desc(v, &mut out);
        } else {
            encode_value(v, &mut out);
        }
    }
    out
}

/// A range of keys: lower and upper bound.
pub type KeyRange = (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>);

/// The key range holding every composite key whose *first* column lies between `lower` and
/// `upper` (each a value and whether it is included; `None` for no bound), never a NULL first
/// column. `None` if a bound is NULL (nothing compares with NULL).
///
/// Keys are prefix-free, so the keys whose first column is `v` lie between `encode(v)` and
/// `encode(v)` followed by 0xFF (above every column's marker byte, in either direction);
/// NULL's marker sorts after every value's. A descending first column (`descending`) stores
/// the values in reverse: the value range's upper end becomes the key range's lower end, and
/// NULLs come first.
pub fn first_column_range(
    lower: Option<(&Value, bool)>,
    upper: Option<(&Value, bool)>,
    descending: bool,
) -> Option<KeyRange> {
    use std::ops::Bound;
    let encode = |v: &Value, past_it: bool| {
        let mut key = Vec::with_capacity(16);
        if descending {
            encode_value_desc(v, &mut key);
        } else {
            encode_value(v, &mut key);
        }
        if past_it {
            key.push(0xFF);
        }
        key
    };
    if lower.is_some_and(|(v, _)| v.is_null()) || upper.is_some_and(|(v, _)| v.is_null()) {
        return None;
    }
    // In key order, the end nearer the start of the index, then the far end.
    let (near, far) = if descending { (upper, lower) } else { (lower, upper) };
    let low = match near {
        Some((v, inclusive)) => Bound::Included(encode(v, !inclusive)),
        None if descending => Bound::Included(vec![!NOT_NULL]),
        None => Bound::Unbounded,
    };
    let high = match far {
        Some((v, inclusive)) => Bound::Excluded(encode(v, inclusive)),
        None if descending => Bound::Unbounded,
        None => Bound::Excluded(vec![NULL]),
    };
    Some((low, high))
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

        /// Numerics in text form from a small alphabet, so equal values at different scales,
        /// shared prefixes and the special values all come up.
        #[test]
        fn numerics_keep_order_and_equal_values_share_keys(
            a in "(-?[0-9]{1,3}(\\.[0-9]{0,3})?|NaN|Infinity|-Infinity)",
            b in "(-?[0-9]{1,3}(\\.[0-9]{0,3})?|NaN|Infinity|-Infinity)",
        ) {
            let num = |s: &str| Value::Numeric(rustydb_foundation::Numeric::parse(s).unwrap());
            let (x, y) = (num(&a), num(&b));
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

        /// Descending columns reverse the order, NULLs first, and mix with ascending ones.
        #[test]
        fn descending_columns_reverse_order(a in proptest::option::of(".{0,3}"), b in proptest::option::of(".{0,3}"), i in -3i32..3, j in -3i32..3) {
            let text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::Text);
            let (x, y) = (text(&a), text(&b));
            let ka = encode_key_directed(&[x.clone(), Value::Int4(i)], &[true, false]);
            let kb = encode_key_directed(&[y.clone(), Value::Int4(j)], &[true, false]);
            prop_assert_eq!(ka.cmp(&kb), sql_order(&y, &x).then(i.cmp(&j)));
        }

        /// A composite key lies in the first-column range exactly when its first column
        /// satisfies the bounds (and is not NULL), whatever the later columns hold, in either
        /// direction of the first column.
        #[test]
        fn first_column_ranges_hold_exactly_the_keys_they_should(
            first in proptest::option::of(-4i64..4), second in proptest::option::of(-4i64..4),
            lo in proptest::option::of((-4i64..4, any::<bool>())), hi in proptest::option::of((-4i64..4, any::<bool>())),
            descending in any::<bool>(),
        ) {
            let value = |v: Option<i64>| v.map_or(Value::Null, Value::Int8);
            let key = encode_key_directed(&[value(first), value(second)], &[descending, false]);
            let (lo_v, hi_v) = (lo.map(|(v, i)| (Value::Int8(v), i)), hi.map(|(v, i)| (Value::Int8(v), i)));
            let (low, high) = first_column_range(lo_v.as_ref().map(|(v, i)| (v, *i)), hi_v.as_ref().map(|(v, i)| (v, *i)), descending).unwrap();
            use std::ops::Bound;
            let above = match &low { Bound::Included(l) => key >= *l, Bound::Excluded(l) => key > *l, Bound::Unbounded => true };
            let below = match &high { Bound::Included(h) => key <= *h, Bound::Excluded(h) => key < *h, Bound::Unbounded => true };
            let inside = above && below;
            let expected = first.is_some_and(|f| {
                lo.is_none_or(|(v, inc)| if inc { f >= v } else { f > v }) && hi.is_none_or(|(v, inc)| if inc { f <= v } else { f < v })
            });
            prop_assert_eq!(inside, expected);
        }
    }

    #[test]
    fn widths_agree_and_nulls_sort_last() {
        assert_eq!(encode_key(&[Value::Int2(5)]), encode_key(&[Value::Int8(5)]));
        assert!(encode_key(&[Value::Null]) > encode_key(&[Value::Int4(i32::MAX)]));
        assert!(encode_key(&[Value::Float8(-0.0)]) == encode_key(&[Value::Float8(0.0)]));
    }
}
