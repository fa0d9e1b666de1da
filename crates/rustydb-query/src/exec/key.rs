//! Rows as hash-table keys, with SQL's grouping equality: NULL equals NULL (GROUP BY, DISTINCT
//! and set operations put NULLs together), numbers equal by value whatever their width, NaN
//! equals NaN and -0 equals 0. Joins never look NULL keys up.

use rustydb_foundation::Value;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A row (or the key columns of one) usable as a hash-map key.
#[derive(Debug, Clone)]
pub struct HashKey(pub Vec<Value>);

impl HashKey {
    /// True if any value is NULL.
    pub fn has_null(&self) -> bool {
        self.0.iter().any(Value::is_null)
    }
}

fn hash_value<H: Hasher>(v: &Value, state: &mut H) {
    match v {
        Value::Null => state.write_u8(0),
        Value::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        Value::Text(s) => {
            state.write_u8(2);
            s.hash(state);
        }
        Value::Uuid(u) => {
            state.write_u8(12);
            u.hash(state);
        }
        Value::Bytea(b) => {
            state.write_u8(13);
            b.hash(state);
        }
        Value::Time(t) => {
            state.write_u8(16);
            t.hash(state);
        }
        Value::Json(s) => {
            state.write_u8(14);
            s.hash(state);
        }
        Value::Jsonb(j) => {
            state.write_u8(15);
            hash_json(j, state);
        }
        Value::Float4(_) | Value::Float8(_) => {
            let f = v.as_f64().unwrap_or(0.0);
            // Integral floats hash as the integer they equal, so 1.0 meets 1.
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                state.write_u8(3);
                (f as i64).hash(state);
            } else if f.is_nan() {
                state.write_u8(4);
            } else {
                state.write_u8(5);
                f.to_bits().hash(state);
            }
        }
        Value::Date(d) => {
            state.write_u8(6);
            d.hash(state);
        }
        Value::Timestamp(ts) | Value::TimestampTz(ts) => {
            state.write_u8(7);
            ts.hash(state);
        }
        Value::Array(_, elements) => {
            state.write_u8(8);
            state.write_usize(elements.len());
            for e in elements {
                if e.is_null() {
                    state.write_u8(9);
                } else {
                    hash_value(e, state);
                }
            }
        }
        // Intervals that compare equal ('1 mon', '30 days') share a span.
        Value::Interval(i) => {
            state.write_u8(11);
            i.span().hash(state);
        }
        // An integral numeric hashes as the integer it equals, and others by their significant
        // digits, so that 1.5 and 1.50 meet (as they compare equal).
        Value::Numeric(n) => match n.to_i128_exact().and_then(|i| i64::try_from(i).ok()) {
            Some(i) => {
                state.write_u8(3);
                i.hash(state);
            }
            None => {
                state.write_u8(10);
                n.is_negative().hash(state);
                n.is_nan().hash(state);
                n.significant_digits().hash(state);
            }
        },
        other => {
            state.write_u8(3);
            other.as_i64().unwrap_or(0).hash(state);
        }
    }
}

/// Hashes jsonb so that values equal under jsonb's comparison (`1.0` and `1`) meet.
fn hash_json<H: Hasher>(j: &rustydb_foundation::json::Json, state: &mut H) {
    use rustydb_foundation::json::Json;
    match j {
        Json::Null => state.write_u8(0),
        Json::Bool(b) => b.hash(state),
        Json::Number(n) => hash_value(&Value::Numeric(n.clone()), state),
        Json::String(s) => s.hash(state),
        Json::Array(items) => {
            state.write_usize(items.len());
            items.iter().for_each(|i| hash_json(i, state));
        }
        Json::Object(members) => {
            state.write_usize(members.len());
            for (k, v) in members {
                k.hash(state);
                hash_json(v, state);
            }
        }
    }
}

impl Hash for HashKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_row(&self.0, state);
    }
}

/// Hashes `values` as a [`HashKey`] of them hashes: rows equal under grouping equality meet.
pub(crate) fn hash_row<H: Hasher>(values: &[Value], state: &mut H) {
    for v in values {
        hash_value(v, state);
    }
}

/// Grouping equality of two rows (what [`HashKey`]'s `==` is).
pub fn grouping_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x.is_null(), y.is_null()) {
            (true, true) => true,
            (false, false) => x.sql_cmp(y) == Some(Ordering::Equal),
            _ => false,
        })
}

impl PartialEq for HashKey {
    fn eq(&self, other: &Self) -> bool {
        grouping_equal(&self.0, &other.0)
    }
}

impl Eq for HashKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn grouping_equality() {
        let set: HashSet<HashKey> = [
            HashKey(vec![Value::Int4(1), Value::Null]),
            HashKey(vec![Value::Int8(1), Value::Null]),
            HashKey(vec![Value::Float8(-0.0)]),
            HashKey(vec![Value::Float8(0.0)]),
            HashKey(vec![Value::Float8(f64::NAN)]),
            HashKey(vec![Value::Float8(f64::NAN)]),
            HashKey(vec![Value::Float8(1.5)]),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 4);
        assert!(set.contains(&HashKey(vec![Value::Int2(1), Value::Null])));
        assert!(!set.contains(&HashKey(vec![Value::Int2(1), Value::Int4(0)])));
    }
}
