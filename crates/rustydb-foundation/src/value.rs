//! SQL values, with PostgreSQL's text input and output functions for each type (what `int4in`,
//! `float8out` and friends do), so results print exactly as psql shows them.

use crate::{DataType, DbError, Result, SqlState};
use std::cmp::Ordering;
use std::fmt;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// boolean
    Bool(bool),
    /// smallint
    Int2(i16),
    /// integer
    Int4(i32),
    /// bigint
    Int8(i64),
    /// real
    Float4(f32),
    /// double precision
    Float8(f64),
    /// text, varchar, char
    Text(String),
    /// date: days since 2000-01-01
    Date(i32),
    /// timestamp: microseconds since 2000-01-01 00:00
    Timestamp(i64),
    /// timestamptz: microseconds since 2000-01-01 00:00 UTC
    TimestampTz(i64),
    /// A one-dimensional array: its element type and elements (see [`crate::array`]).
    Array(crate::ElementType, Vec<Value>),
    /// numeric: an exact decimal (see [`crate::numeric`]).
    Numeric(crate::Numeric),
    /// interval: months, days, microseconds (see [`crate::interval`]).
    Interval(crate::Interval),
    /// uuid
    Uuid([u8; 16]),
    /// bytea
    Bytea(Vec<u8>),
    /// json: the text as written (it parses)
    Json(String),
    /// jsonb: canonical parsed JSON
    Jsonb(Box<crate::json::Json>),
    /// time: microseconds since midnight
    Time(i64),
}

impl Value {
    /// Bytes the value occupies in memory (itself and what it owns), for memory budgets.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Text(s) => s.capacity(),
                Value::Bytea(b) => b.capacity(),
                Value::Json(s) => s.capacity(),
                // Roughly: its text's length.
                Value::Jsonb(j) => j.to_text().len(),
                Value::Array(_, values) => values.iter().map(Value::footprint).sum(),
                Value::Numeric(n) => n.limbs().len() * 4,
                _ => 0,
            }
    }

    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's natural type (`None` for NULL, which has none of its own).
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Bool,
            Value::Int2(_) => DataType::Int2,
            Value::Int4(_) => DataType::Int4,
            Value::Int8(_) => DataType::Int8,
            Value::Float4(_) => DataType::Float4,
            Value::Float8(_) => DataType::Float8,
            Value::Text(_) => DataType::Text,
            Value::Date(_) => DataType::Date,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::TimestampTz(_) => DataType::TimestampTz,
            Value::Array(e, _) => DataType::Array(*e),
            Value::Numeric(_) => DataType::Numeric(None),
            Value::Interval(_) => DataType::Interval,
            Value::Uuid(_) => DataType::Uuid,
            Value::Bytea(_) => DataType::Bytea,
            Value::Json(_) => DataType::Json,
            Value::Jsonb(_) => DataType::Jsonb,
            Value::Time(_) => DataType::Time,
        })
    }

    /// The value as an i64 if it is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int2(v) => Some(v.into()),
            Value::Int4(v) => Some(v.into()),
            Value::Int8(v) => Some(v),
            _ => None,
        }
    }

    /// The value as an f64 if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float4(v) => Some(v.into()),
            Value::Float8(v) => Some(v),
            Value::Numeric(ref n) => Some(n.to_f64()),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// Appends PostgreSQL's text output form to `out`, as [`Value::to_pg_text`] gives it;
    /// false (and nothing appended) for NULL. Numbers and text are written without a string of
    /// their own, for the wire layer and COPY, which write millions of them.
    pub fn write_pg_text(&self, out: &mut String) -> bool {
        use std::fmt::Write;
        match self {
            Value::Null => return false,
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Int2(v) => drop(write!(out, "{v}")),
            Value::Int4(v) => drop(write!(out, "{v}")),
            Value::Int8(v) => drop(write!(out, "{v}")),
            Value::Float4(v) => write_float(out, format_args!("{v:e}"), f64::from(*v), 6),
            Value::Float8(v) => write_float(out, format_args!("{v:e}"), *v, 15),
            Value::Text(s) => out.push_str(s),
            other => match other.to_pg_text() {
                Some(text) => out.push_str(&text),
                None => return false,
            },
        }
        true
    }

    /// PostgreSQL's text output form (`None` for NULL).
    pub fn to_pg_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Float4(_) | Value::Float8(_) => {
                let mut out = String::with_capacity(24);
                self.write_pg_text(&mut out);
                out
            }
            Value::Text(s) => s.clone(),
            Value::Date(d) => crate::datetime::format_date(*d),
            Value::Timestamp(ts) => crate::datetime::format_timestamp(*ts, false),
            Value::TimestampTz(ts) => crate::datetime::format_timestamp(*ts, true),
            Value::Array(_, values) => crate::array::to_text(values),
            Value::Numeric(n) => n.to_string(),
            Value::Interval(i) => i.to_string(),
            Value::Uuid(u) => crate::bytes::format_uuid(u),
            Value::Bytea(b) => crate::bytes::format_bytea(b),
            Value::Json(s) => s.clone(),
            Value::Jsonb(j) => j.to_text(),
            Value::Time(t) => crate::time_of_day::format(*t),
        })
    }

    /// PostgreSQL's text input function for `ty`: `'42'` as integer, `'t'` as boolean...
    /// Malformed input is 22P02, out-of-range input 22003, as in PostgreSQL.
    pub fn parse_as(text: &str, ty: DataType) -> Result<Value> {
        match ty {
            DataType::Bool => parse_bool(text),
            DataType::Int2 => parse_int(text, ty)
                .and_then(|v| i16::try_from(v).map(Value::Int2).map_err(|_| out_of_range_text(text, ty))),
            DataType::Int4 => parse_int(text, ty)
                .and_then(|v| i32::try_from(v).map(Value::Int4).map_err(|_| out_of_range_text(text, ty))),
            DataType::Int8 => parse_int(text, ty).map(Value::Int8),
            DataType::Float4 => parse_float(text, ty).map(|v| Value::Float4(v as f32)),
            DataType::Float8 => parse_float(text, ty).map(Value::Float8),
            DataType::Text | DataType::Unknown | DataType::Varchar(_) | DataType::Char(_) => {
                Ok(Value::Text(text.to_string()))
            }
            DataType::Date => crate::datetime::parse_date(text).map(Value::Date),
            DataType::Timestamp => crate::datetime::parse_timestamp(text, false).map(Value::Timestamp),
            DataType::TimestampTz => crate::datetime::parse_timestamp(text, true).map(Value::TimestampTz),
            DataType::Array(e) => crate::array::parse(text, e),
            DataType::Numeric(None) => crate::Numeric::parse(text).map(Value::Numeric),
            DataType::Interval => crate::Interval::parse(text).map(Value::Interval),
            DataType::Uuid => crate::bytes::parse_uuid(text).map(Value::Uuid),
            DataType::Bytea => crate::bytes::parse_bytea(text).map(Value::Bytea),
            DataType::Time => crate::time_of_day::parse(text).map(Value::Time),
            DataType::Json => crate::json::parse(text).map(|_| Value::Json(text.to_string())),
            DataType::Jsonb => crate::json::parse(text).map(|j| Value::Jsonb(Box::new(j.canonical()))),
            DataType::Numeric(Some((p, s))) => crate::Numeric::parse(text)?.fit(p, s).map(Value::Numeric),
        }
    }

    /// The value fitted to `ty`'s type modifier where binary input has not done so (a numeric
    /// to `numeric(p, s)`: 22003 if it does not fit); other values unchanged.
    pub fn fit_typmod(self, ty: DataType) -> Result<Value> {
        match (self, ty) {
            (Value::Numeric(n), DataType::Numeric(Some((p, s)))) => n.fit(p, s).map(Value::Numeric),
            (other, _) => Ok(other),
        }
    }

    /// SQL comparison of two non-NULL values of comparable types; `None` if either is NULL or
    /// the types cannot be compared. Numbers compare across widths; NaN sorts above all numbers,
    /// as in PostgreSQL.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            // The commonest pairs first: sorts and merges compare these by the million.
            (Value::Int8(a), Value::Int8(b)) => Some(a.cmp(b)),
            (Value::Int4(a), Value::Int4(b)) => Some(a.cmp(b)),
            (Value::Float8(a), Value::Float8(b)) => Some(total_float_cmp(*a, *b)),
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (Value::Array(_, a), Value::Array(_, b)) => crate::array::compare(a, b),
            (Value::Array(..), _) | (_, Value::Array(..)) => None,
            (Value::Numeric(a), Value::Numeric(b)) => Some(a.total_cmp(b)),
            (Value::Interval(a), Value::Interval(b)) => Some(a.sql_cmp(b)),
            (Value::Interval(_), _) | (_, Value::Interval(_)) => None,
            (Value::Uuid(a), Value::Uuid(b)) => Some(a.cmp(b)),
            (Value::Bytea(a), Value::Bytea(b)) => Some(a.cmp(b)),
            (Value::Jsonb(a), Value::Jsonb(b)) => Some(a.sql_cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Time(_), _) | (_, Value::Time(_)) => None,
            (Value::Uuid(_) | Value::Bytea(_) | Value::Json(_) | Value::Jsonb(_), _)
            | (_, Value::Uuid(_) | Value::Bytea(_) | Value::Json(_) | Value::Jsonb(_)) => None,
            (Value::Numeric(a), b) if b.as_i64().is_some() => {
                Some(a.total_cmp(&crate::Numeric::from_i64(b.as_i64().unwrap_or_default())))
            }
            (a, Value::Numeric(b)) if a.as_i64().is_some() => {
                Some(crate::Numeric::from_i64(a.as_i64().unwrap_or_default()).total_cmp(b))
            }
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a) | Value::TimestampTz(a), Value::Timestamp(b) | Value::TimestampTz(b)) => {
                Some(a.cmp(b))
            }
            (Value::Date(d), Value::Timestamp(t) | Value::TimestampTz(t)) => {
                Some(crate::datetime::date_timestamp(*d).unwrap_or(if *d < 0 { i64::MIN } else { i64::MAX }).cmp(t))
            }
            (Value::Timestamp(_) | Value::TimestampTz(_), Value::Date(_)) => other.sql_cmp(self).map(Ordering::reverse),
            (a, b) => match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => Some(total_float_cmp(a.as_f64()?, b.as_f64()?)),
            },
        }
    }
}

/// Float ordering as PostgreSQL defines it: NaN equals NaN and is above everything else.
pub fn total_float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_pg_text().as_deref().unwrap_or("NULL"))
    }
}

fn invalid_text(text: &str, ty: DataType) -> DbError {
    DbError::sql(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type {}: \"{text}\"", ty.sql_name()),
    )
}

fn out_of_range_text(text: &str, ty: DataType) -> DbError {
    DbError::sql(
        SqlState::NumericValueOutOfRange,
        format!("value \"{text}\" is out of range for type {}", ty.sql_name()),
    )
}

fn parse_bool(text: &str) -> Result<Value> {
    let t = text.trim().to_ascii_lowercase();
    let yes = ["t", "true", "y", "yes", "on", "1"];
    let no = ["f", "false", "n", "no", "off", "0"];
    if yes.contains(&t.as_str()) {
        Ok(Value::Bool(true))
    } else if no.contains(&t.as_str()) {
        Ok(Value::Bool(false))
    } else {
        Err(invalid_text(text, DataType::Bool))
    }
}

fn parse_int(text: &str, ty: DataType) -> Result<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_text(text, ty));
    }
    t.parse::<i64>().map_err(|_| out_of_range_text(text, ty))
}

fn parse_float(text: &str, ty: DataType) -> Result<f64> {
    let t = text.trim();
    let special = match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    };
    if let Some(v) = special {
        return Ok(v);
    }
    let plain = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    match t.parse::<f64>() {
        Ok(v) if plain && v.is_infinite() => Err(out_of_range_text(text, ty)),
        Ok(v) if plain => Ok(v),
        _ => Err(invalid_text(text, ty)),
    }
}

/// Formats a float as PostgreSQL 12+ does: the shortest digits that round-trip, in positional
/// notation unless the decimal exponent is below -4 or at least `digits` (15 for float8, 6 for
/// float4), where it switches to `1e+20` style. `scientific` is the value in Rust's shortest
/// `{:e}` form (of the float's own width, so a float4 gets its own shortest digits), written
/// once and rearranged.
fn write_float(out: &mut String, scientific: std::fmt::Arguments<'_>, v: f64, digits: i32) {
    use std::fmt::Write;
    if v.is_nan() {
        return out.push_str("NaN");
    }
    if v.is_infinite() {
        return out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let mut sci = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut sci[..]);
        let _ = std::io::Write::write_fmt(&mut cursor, scientific);
        cursor.position() as usize
    };
    let sci = std::str::from_utf8(&sci[..len]).unwrap_or("0e0");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= digits {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
        return;
    }
    // Positional: the mantissa's digits d1.d2d3... times 10^exp.
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    if negative {
        out.push('-');
    }
    // The digits without the point: at most 17 of them.
    let mut ds = [0u8; 24];
    let mut n = 0;
    for b in mantissa.bytes().filter(u8::is_ascii_digit).take(ds.len()) {
        ds[n] = b;
        n += 1;
    }
    let ds = std::str::from_utf8(&ds[..n]).unwrap_or("0");
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(ds);
    } else {
        let whole = exp as usize + 1;
        if ds.len() > whole {
            out.push_str(&ds[..whole]);
            out.push('.');
            out.push_str(&ds[whole..]);
        } else {
            out.push_str(ds);
            for _ in ds.len()..whole {
                out.push('0');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        let cases = [
            (1.5, "1.5"),
            (100.0, "100"),
            (1e20, "1e+20"),
            (1e-5, "1e-05"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (-0.0, "-0"),
            (f64::INFINITY, "Infinity"),
        ];
        for (v, want) in cases {
            assert_eq!(Value::Float8(v).to_pg_text().unwrap(), want, "{v}");
        }
        // PostgreSQL 15: SELECT -1.5e-7::float8, 1e15::float8, 1e14::float8, 0::float8, ...
        let more = [(-1.5e-7, "-1.5e-07"), (1e15, "1e+15"), (1e14, "100000000000000"), (0.0, "0")];
        let more = more.into_iter().chain([(0.0001, "0.0001"), (12345.678, "12345.678")]);
        for (v, want) in more {
            assert_eq!(Value::Float8(v).to_pg_text().unwrap(), want, "{v}");
        }
        // SELECT 1e6::float4, 123456::float4, 0.1::float4, 3.4e38::float4, ...
        let singles = [(1e6f32, "1e+06"), (123456.0, "123456"), (0.1, "0.1"), (3.4e38, "3.4e+38")];
        let singles = singles.into_iter().chain([(1.175_494_4e-38, "1.1754944e-38"), (1234567.0, "1.234567e+06")]);
        for (v, want) in singles.chain([(-0.00012, "-0.00012")]) {
            assert_eq!(Value::Float4(v).to_pg_text().unwrap(), want, "{v}");
            let mut written = String::from("x");
            assert!(Value::Float4(v).write_pg_text(&mut written));
            assert_eq!(written, format!("x{want}"));
        }
        assert_eq!(Value::Float4(1.1).to_pg_text().unwrap(), "1.1");
    }

    #[test]
    fn input_functions_report_postgres_sqlstates() {
        assert_eq!(Value::parse_as(" 42 ", DataType::Int4).unwrap(), Value::Int4(42));
        let bad = Value::parse_as("abc", DataType::Int4).unwrap_err();
        assert_eq!(bad.sqlstate().code(), "22P02");
        assert_eq!(bad.to_string(), "invalid input syntax for type integer: \"abc\"");
        let big = Value::parse_as("3000000000", DataType::Int4).unwrap_err();
        assert_eq!(big.sqlstate().code(), "22003");
        assert_eq!(Value::parse_as("yes", DataType::Bool).unwrap(), Value::Bool(true));
        assert_eq!(Value::parse_as("1.5e3", DataType::Float8).unwrap(), Value::Float8(1500.0));
        assert!(Value::parse_as("1.5x", DataType::Float8).is_err());
    }

    #[test]
    fn comparison_crosses_numeric_widths_and_nulls_do_not_compare() {
        assert_eq!(Value::Int2(3).sql_cmp(&Value::Int8(3)), Some(Ordering::Equal));
        assert_eq!(Value::Int4(3).sql_cmp(&Value::Float8(3.5)), Some(Ordering::Less));
        assert_eq!(Value::Null.sql_cmp(&Value::Int4(1)), None);
        assert_eq!(Value::Float8(f64::NAN).sql_cmp(&Value::Float8(1e300)), Some(Ordering::Greater));
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn a_value_stays_four_words() {
        // Rows are vectors of values: a numeric must not make every value bigger.
        assert_eq!(std::mem::size_of::<super::Value>(), 32);
    }
}
