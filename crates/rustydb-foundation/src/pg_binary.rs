//! Values in PostgreSQL's binary format: each type's `send` and `recv` form, big-endian. The
//! wire protocol uses it for binary parameters and results (net), and `COPY ... (FORMAT
//! binary)` for every field (query), so it lives here, below both.
//!
//! | type | bytes |
//! |---|---|
//! | boolean | 1 (0 or 1) |
//! | smallint, integer, bigint | 2, 4, 8 (two's complement) |
//! | real, double precision | 4, 8 (IEEE 754) |
//! | text, varchar, char | the UTF-8 bytes |
//! | date | 4: days since 2000-01-01 |
//! | timestamp, timestamptz | 8: microseconds since 2000-01-01 (UTC for timestamptz) |
//! | arrays | see [`crate::array`] |
//! | numeric | see [`crate::numeric::binary`] |
//! | interval | 16: microseconds (i64), days (i32), months (i32) |

use crate::{DataType, DbError, SqlState, Value};

/// Why bytes are not a value of the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// Fewer bytes than the type's size (PostgreSQL: "insufficient data left in message").
    Short,
    /// More bytes than the type's size (PostgreSQL: "incorrect binary data format").
    Long,
    /// Text that is not UTF-8: the offending byte.
    NotUtf8(u8),
    /// Bytes the type's receive function refuses, with its message (22P03).
    Invalid(&'static str),
}

/// 22021 for text that is not UTF-8 (`at` is the first bad byte), as PostgreSQL words it.
pub fn invalid_utf8(at: u8) -> DbError {
    DbError::sql(SqlState::CharacterNotInRepertoire, format!("invalid byte sequence for encoding \"UTF8\": 0x{at:02x}"))
}

/// Appends `value`'s binary form (without a length word); false for NULL, which has none.
pub fn send(value: &Value, out: &mut impl Extend<u8>) -> bool {
    let mut put = |bytes: &[u8]| out.extend(bytes.iter().copied());
    match value {
        Value::Array(element, values) => {
            let mut bytes = Vec::new();
            crate::array::send(*element, values, &mut bytes);
            put(&bytes);
        }
        Value::Null => return false,
        Value::Interval(i) => {
            put(&i.micros.to_be_bytes());
            put(&i.days.to_be_bytes());
            put(&i.months.to_be_bytes());
        }
        Value::Numeric(n) => {
            let mut bytes = Vec::new();
            crate::numeric::binary::send(n, &mut bytes);
            put(&bytes);
        }
        Value::Bool(b) => put(&[u8::from(*b)]),
        Value::Int2(v) => put(&v.to_be_bytes()),
        Value::Int4(v) | Value::Date(v) => put(&v.to_be_bytes()),
        Value::Int8(v) | Value::Timestamp(v) | Value::TimestampTz(v) | Value::Time(v) => put(&v.to_be_bytes()),
        Value::Float4(v) => put(&v.to_be_bytes()),
        Value::Float8(v) => put(&v.to_be_bytes()),
        Value::Text(s) => put(s.as_bytes()),
        Value::Uuid(u) => put(u),
        Value::Bytea(b) => put(b),
        Value::Json(s) => put(s.as_bytes()),
        // jsonb's binary form: a version byte (1), then the text.
        Value::Jsonb(j) => {
            put(&[1]);
            put(j.to_text().as_bytes());
        }
    }
    true
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], RecvError> {
    match raw.len().cmp(&N) {
        std::cmp::Ordering::Less => Err(RecvError::Short),
        std::cmp::Ordering::Greater => Err(RecvError::Long),
        std::cmp::Ordering::Equal => {
            let mut out = [0u8; N];
            out.copy_from_slice(raw);
            Ok(out)
        }
    }
}

/// The value of type `ty` whose binary form is `raw`.
pub fn recv(raw: &[u8], ty: DataType) -> Result<Value, RecvError> {
    Ok(match ty {
        DataType::Bool => Value::Bool(fixed::<1>(raw)?[0] != 0),
        DataType::Int2 => Value::Int2(i16::from_be_bytes(fixed(raw)?)),
        DataType::Int4 => Value::Int4(i32::from_be_bytes(fixed(raw)?)),
        DataType::Int8 => Value::Int8(i64::from_be_bytes(fixed(raw)?)),
        DataType::Float4 => Value::Float4(f32::from_be_bytes(fixed(raw)?)),
        DataType::Float8 => Value::Float8(f64::from_be_bytes(fixed(raw)?)),
        DataType::Date => Value::Date(i32::from_be_bytes(fixed(raw)?)),
        DataType::Timestamp => Value::Timestamp(i64::from_be_bytes(fixed(raw)?)),
        DataType::TimestampTz => Value::TimestampTz(i64::from_be_bytes(fixed(raw)?)),
        DataType::Time => {
            let t = i64::from_be_bytes(fixed(raw)?);
            if !(0..=crate::time_of_day::DAY).contains(&t) {
                return Err(RecvError::Invalid("time out of range"));
            }
            Value::Time(t)
        }
        DataType::Array(element) => return crate::array::recv(raw, element),
        DataType::Interval => {
            let b: [u8; 16] = fixed(raw)?;
            let (micros, rest) = b.split_at(8);
            let (days, months) = rest.split_at(4);
            Value::Interval(crate::Interval::new(
                i32::from_be_bytes(months.try_into().unwrap_or_default()),
                i32::from_be_bytes(days.try_into().unwrap_or_default()),
                i64::from_be_bytes(micros.try_into().unwrap_or_default()),
            ))
        }
        // The typmod is not applied here: fitting a value to numeric(p, s) can fail with 22003,
        // which is the caller's to report (see `Value::fit_typmod`).
        DataType::Numeric(_) => {
            use crate::numeric::binary::{BinaryError, recv as numeric_recv};
            Value::Numeric(numeric_recv(raw).map_err(|e| match e {
                BinaryError::Short => RecvError::Short,
                BinaryError::Long => RecvError::Long,
                BinaryError::Invalid(why) => RecvError::Invalid(why),
            })?)
        }
        DataType::Uuid => Value::Uuid(fixed(raw)?),
        DataType::Bytea => Value::Bytea(raw.to_vec()),
        DataType::Json | DataType::Jsonb => {
            let body = if ty == DataType::Jsonb {
                match raw.split_first() {
                    Some((1, rest)) => rest,
                    _ => return Err(RecvError::Invalid("unsupported jsonb version number")),
                }
            } else {
                raw
            };
            let text = std::str::from_utf8(body)
                .map_err(|e| RecvError::NotUtf8(body.get(e.valid_up_to()).copied().unwrap_or(0)))?;
            let parsed =
                crate::json::parse(text).map_err(|_| RecvError::Invalid("invalid input syntax for type json"))?;
            if ty == DataType::Json {
                Value::Json(text.to_string())
            } else {
                Value::Jsonb(Box::new(parsed.canonical()))
            }
        }
        DataType::Text | DataType::Unknown | DataType::Varchar(_) | DataType::Char(_) => {
            let text = std::str::from_utf8(raw)
                .map_err(|e| RecvError::NotUtf8(raw.get(e.valid_up_to()).copied().unwrap_or(0)))?;
            Value::Text(text.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_wrong_sizes_are_told_apart() {
        let cases = [
            (Value::Bool(true), DataType::Bool),
            (Value::Int2(-7), DataType::Int2),
            (Value::Int4(1 << 20), DataType::Int4),
            (Value::Int8(-(1 << 40)), DataType::Int8),
            (Value::Float4(1.5), DataType::Float4),
            (Value::Float8(-2.25), DataType::Float8),
            (Value::Text("héllo".into()), DataType::Text),
            (Value::Date(-5), DataType::Date),
            (Value::Timestamp(1 << 45), DataType::Timestamp),
            (Value::TimestampTz(-(1 << 45)), DataType::TimestampTz),
            (Value::Numeric(crate::Numeric::parse("-12.340").unwrap()), DataType::Numeric(None)),
            (Value::Interval(crate::Interval::new(14, -3, 5_000_001)), DataType::Interval),
        ];
        for (value, ty) in cases {
            let mut out = Vec::new();
            assert!(send(&value, &mut out));
            assert_eq!(recv(&out, ty).unwrap(), value);
        }
        assert!(!send(&Value::Null, &mut Vec::new()));
        assert_eq!(recv(&[0, 0, 1], DataType::Int4), Err(RecvError::Short));
        assert_eq!(recv(&[0, 0, 0, 0, 1], DataType::Int4), Err(RecvError::Long));
        assert_eq!(recv(&[b'a', 0xff], DataType::Text), Err(RecvError::NotUtf8(0xff)));
    }
}
