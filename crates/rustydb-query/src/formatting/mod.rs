//! PostgreSQL's data type formatting functions: `to_char`, `to_date`, `to_timestamp` and
//! `to_number`, driven by templates ([`datetime`] for dates, timestamps and intervals,
//! [`number`] for numbers). Results and errors follow PostgreSQL 15 (checked in
//! `tests/sql/formatting.slt`).

pub mod datetime;
pub mod number;

use crate::functions::text;
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};

/// One of the formatting functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatFn {
    /// `to_char(value, template)`
    ToChar,
    /// `to_date(text, template)`
    ToDate,
    /// `to_timestamp(text, template)`
    ToTimestamp,
    /// `to_timestamp(double precision)`: seconds since 1970-01-01 UTC.
    ToTimestampEpoch,
    /// `to_number(text, template)`
    ToNumber,
}

impl FormatFn {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            FormatFn::ToChar => "to_char",
            FormatFn::ToDate => "to_date",
            FormatFn::ToTimestamp | FormatFn::ToTimestampEpoch => "to_timestamp",
            FormatFn::ToNumber => "to_number",
        }
    }
}

/// The function `name` of arguments `types`: the function, the type each argument is cast
/// to, and the result type; `None` if none matches.
pub fn signature(name: &str, types: &[DataType]) -> Option<(FormatFn, Vec<DataType>, DataType)> {
    use DataType as T;
    let s = |t: &DataType| t.is_string();
    Some(match (name, types) {
        ("to_char", [v, t]) if s(t) => {
            let value = match v {
                T::Timestamp | T::TimestampTz | T::Interval => *v,
                // PostgreSQL has no to_char(date): the date becomes a timestamptz (the
                // preferred type of its category), so `TZ` prints the zone.
                T::Date => T::TimestampTz,
                T::Int2 | T::Int4 => T::Int4,
                T::Int8 | T::Float4 | T::Float8 | T::Numeric(_) => *v,
                _ => return None,
            };
            (FormatFn::ToChar, vec![value, T::Text], T::Text)
        }
        ("to_date", [a, b]) if s(a) && s(b) => (FormatFn::ToDate, vec![T::Text, T::Text], T::Date),
        ("to_timestamp", [a, b]) if s(a) && s(b) => (FormatFn::ToTimestamp, vec![T::Text, T::Text], T::TimestampTz),
        ("to_timestamp", [n]) if n.is_numeric() || *n == T::Unknown => {
            (FormatFn::ToTimestampEpoch, vec![T::Float8], T::TimestampTz)
        }
        ("to_number", [a, b]) if s(a) && s(b) => (FormatFn::ToNumber, vec![T::Text, T::Text], T::Numeric(None)),
        _ => return None,
    })
}

/// The text of the double-quoted part `rest` starts with (a backslash escapes the next
/// character) and the bytes it takes: to the closing quote, or all of `rest` if none closes it.
fn quoted(rest: &str) -> (String, usize) {
    let mut text = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => return (text, i + 1),
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    text.push(next);
                }
            }
            other => text.push(other),
        }
    }
    (text, rest.len())
}

/// Evaluates a call on non-NULL arguments.
pub fn eval(f: FormatFn, v: &[Value]) -> Result<Value> {
    use number::Num;
    Ok(match f {
        FormatFn::ToChar => {
            let template = text(&v[1]);
            // An empty template gives NULL for date/time values, an empty string for numbers.
            if template.is_empty() {
                return Ok(match v[0] {
                    Value::Timestamp(_) | Value::TimestampTz(_) | Value::Interval(_) => Value::Null,
                    _ => Value::Text(String::new()),
                });
            }
            match &v[0] {
                Value::Timestamp(t) => {
                    datetime::timestamp_to_char(*t, false, template)?.map_or(Value::Null, Value::Text)
                }
                Value::TimestampTz(t) => {
                    datetime::timestamp_to_char(*t, true, template)?.map_or(Value::Null, Value::Text)
                }
                Value::Interval(iv) => Value::Text(datetime::interval_to_char(iv, template)?),
                Value::Numeric(n) => Value::Text(number::number_to_char(Num::Exact(n.clone()), template)?),
                Value::Float8(x) => Value::Text(number::number_to_char(Num::Float(*x), template)?),
                Value::Float4(x) => Value::Text(number::number_to_char(Num::Real(*x), template)?),
                other => {
                    let n = other.as_i64().ok_or_else(|| DbError::Internal(format!("to_char of {other:?}")))?;
                    Value::Text(number::number_to_char(Num::Exact(rustydb_foundation::Numeric::from_i64(n)), template)?)
                }
            }
        }
        FormatFn::ToDate => {
            let ts = datetime::parse_timestamp(text(&v[0]), text(&v[1]))?;
            Value::Date(rustydb_foundation::datetime::timestamp_date(ts))
        }
        FormatFn::ToTimestamp => Value::TimestampTz(datetime::parse_timestamp(text(&v[0]), text(&v[1]))?),
        FormatFn::ToTimestampEpoch => Value::TimestampTz(from_epoch(v[0].as_f64().unwrap_or(0.0))?),
        FormatFn::ToNumber => Value::Numeric(number::to_number(text(&v[0]), text(&v[1]))?),
    })
}

/// `to_timestamp(seconds)`: infinities stay infinite; NaN and values past the range are
/// 22008.
fn from_epoch(seconds: f64) -> Result<i64> {
    use rustydb_foundation::datetime::{TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
    if seconds.is_nan() {
        return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "timestamp cannot be NaN"));
    }
    if seconds == f64::INFINITY {
        return Ok(TIMESTAMP_INFINITY);
    }
    if seconds == f64::NEG_INFINITY {
        return Ok(TIMESTAMP_NEG_INFINITY);
    }
    const UNIX_TO_2000_SECS: f64 = 10_957.0 * 86_400.0;
    let micros = ((seconds - UNIX_TO_2000_SECS) * 1_000_000.0).round();
    let out_of_range =
        || DbError::sql(SqlState::DatetimeFieldOverflow, format!("timestamp out of range: \"{}\"", pg_float(seconds)));
    if !(micros > -(i64::MAX as f64) && micros < i64::MAX as f64) {
        return Err(out_of_range());
    }
    rustydb_foundation::datetime::check_timestamp(micros as i64).map_err(|_| out_of_range())
}

fn pg_float(x: f64) -> String {
    Value::Float8(x).to_pg_text().unwrap_or_default()
}
