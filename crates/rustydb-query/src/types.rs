//! Type rules: which conversions are allowed in which context (PostgreSQL's implicit,
//! assignment and explicit casts), how values convert, and the result type of arithmetic.

use rustydb_foundation::{DataType, DbError, Numeric, Result, SqlState, Value, datetime};

/// Where a conversion happens, from most to least permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CastContext {
    /// Silently, inside an expression (`int4 + int8`).
    Implicit,
    /// Storing into a column (INSERT, UPDATE).
    Assignment,
    /// `CAST(x AS t)` or `x::t`.
    Explicit,
}

fn numeric_rank(ty: DataType) -> Option<u8> {
    match ty {
        DataType::Int2 => Some(1),
        DataType::Int4 => Some(2),
        DataType::Int8 => Some(3),
        DataType::Numeric(_) => Some(4),
        DataType::Float4 => Some(5),
        DataType::Float8 => Some(6),
        _ => None,
    }
}

/// The order in which the date/time types widen (PostgreSQL's preferred one, timestamptz, last).
fn datetime_rank(ty: DataType) -> Option<u8> {
    match ty {
        DataType::Date => Some(1),
        DataType::Timestamp => Some(2),
        DataType::TimestampTz => Some(3),
        _ => None,
    }
}

/// True if a value of type `from` may become `to` in `context`.
pub fn can_cast(from: DataType, to: DataType, context: CastContext) -> bool {
    if from == to || from == DataType::Unknown {
        return true;
    }
    if let (Some(a), Some(b)) = (numeric_rank(from), numeric_rank(to)) {
        return a <= b || context >= CastContext::Assignment;
    }
    if from.is_string() && to.is_string() {
        return true;
    }
    if let (DataType::Array(a), DataType::Array(b)) = (from, to) {
        return can_cast(a.scalar(), b.scalar(), context);
    }
    if matches!(
        (from, to),
        (DataType::Json, DataType::Jsonb)
            | (DataType::Jsonb, DataType::Json)
            | (DataType::Timestamp | DataType::TimestampTz, DataType::Time)
    ) {
        return context >= CastContext::Assignment;
    }
    if let (Some(a), Some(b)) = (datetime_rank(from), datetime_rank(to)) {
        // date → timestamp → timestamptz widen implicitly; the other way on assignment.
        return a <= b || context >= CastContext::Assignment;
    }
    match context {
        CastContext::Implicit => false,
        // Every type has an assignment cast to the string types (through its output function).
        CastContext::Assignment => to.is_string(),
        CastContext::Explicit => {
            to.is_string()
                || from.is_string()
                || matches!((from, to), (DataType::Bool, DataType::Int4) | (DataType::Int4, DataType::Bool))
        }
    }
}

/// The type several expressions resolve to together (CASE branches, COALESCE arguments, UNION
/// columns, VALUES rows), as PostgreSQL's `select_common_type` picks it: untyped literals take
/// the others' type (text if all are untyped), numbers widen, strings become text; anything
/// else must agree, or it is 42804 "`what` types a and b cannot be matched".
pub fn common_type(types: &[DataType], what: &str) -> Result<DataType> {
    let mut known = types.iter().copied().filter(|t| *t != DataType::Unknown);
    let Some(first) = known.next() else { return Ok(DataType::Text) };
    let mut common = first;
    for t in known {
        if t == common {
            continue;
        }
        common = if let Some(wider) = arithmetic_type(common, t) {
            wider
        } else if common.is_string() && t.is_string() {
            DataType::Text
        } else if let (Some(a), Some(b)) = (datetime_rank(common), datetime_rank(t)) {
            if a >= b { common } else { t }
        } else {
            return Err(DbError::sql(
                SqlState::DatatypeMismatch,
                format!("{what} types {} and {} cannot be matched", common.sql_name(), t.sql_name()),
            ));
        };
    }
    Ok(common)
}

/// The result type of `+ - * /` on two numeric types: the wider, where integers widen to
/// numeric and numeric to the floats; `real` with anything narrower is `double precision`, and
/// a numeric result has no typmod.
pub fn arithmetic_type(left: DataType, right: DataType) -> Option<DataType> {
    let (a, b) = (numeric_rank(left)?, numeric_rank(right)?);
    let wider = if a >= b { left } else { right };
    Some(match wider {
        DataType::Float4 if a.min(b) < 5 => DataType::Float8,
        DataType::Numeric(_) => DataType::Numeric(None),
        other => other,
    })
}

/// The catalog name PostgreSQL gives a type (`pg_type.typname`), used for `?column?`-style names.
pub fn type_name(ty: DataType) -> &'static str {
    match ty {
        DataType::Bool => "bool",
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Text | DataType::Unknown => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        DataType::Array(e) => e.typname(),
        DataType::Numeric(_) => "numeric",
        DataType::Interval => "interval",
        DataType::Uuid => "uuid",
        DataType::Bytea => "bytea",
        DataType::Json => "json",
        DataType::Jsonb => "jsonb",
        DataType::Time => "time",
    }
}

/// 22003 `<type> out of range`, as PostgreSQL words integer overflow.
pub fn out_of_range(ty: DataType) -> DbError {
    DbError::sql(SqlState::NumericValueOutOfRange, format!("{} out of range", ty.sql_name()))
}

fn integer_to(v: i64, to: DataType) -> Result<Value> {
    Ok(match to {
        DataType::Int2 => Value::Int2(i16::try_from(v).map_err(|_| out_of_range(to))?),
        DataType::Int4 => Value::Int4(i32::try_from(v).map_err(|_| out_of_range(to))?),
        DataType::Int8 => Value::Int8(v),
        DataType::Float4 => Value::Float4(v as f32),
        DataType::Float8 => Value::Float8(v as f64),
        DataType::Bool => Value::Bool(v != 0),
        _ => return Err(DbError::Internal(format!("integer to {to}"))),
    })
}

fn float_to(v: f64, to: DataType) -> Result<Value> {
    if to.is_integer() {
        let r = v.round_ties_even();
        // i64 bounds as floats: anything outside cannot convert.
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
            return Err(out_of_range(to));
        }
        return integer_to(r as i64, to);
    }
    match to {
        DataType::Float4 => {
            let f = v as f32;
            if f.is_infinite() && v.is_finite() {
                return Err(DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: overflow"));
            }
            Ok(Value::Float4(f))
        }
        _ => Ok(Value::Float8(v)),
    }
}

/// Fits a string to `varchar(n)` / `char(n)`: too long is 22001 unless only spaces are cut or
/// the cast is explicit; `char(n)` is blank-padded.
fn fit_string(s: String, to: DataType, explicit: bool) -> Result<Value> {
    let limit = match to {
        DataType::Varchar(Some(n)) | DataType::Char(n) => n as usize,
        _ => return Ok(Value::Text(s)),
    };
    let len = s.chars().count();
    let mut s = s;
    if len > limit {
        let cut: String = s.chars().take(limit).collect();
        let rest_is_spaces = s.chars().skip(limit).all(|c| c == ' ');
        if !explicit && !rest_is_spaces {
            return Err(DbError::sql(SqlState::StringDataRightTruncation, format!("value too long for type {to}")));
        }
        s = cut;
    }
    if let DataType::Char(n) = to {
        let pad = (n as usize).saturating_sub(s.chars().count());
        s.extend(std::iter::repeat_n(' ', pad));
    }
    Ok(Value::Text(s))
}

/// Converts `v` to type `to` (the binder has already checked the cast is allowed).
pub fn cast_value(v: Value, to: DataType, explicit: bool) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if to.is_string() {
        // A boolean's cast to text spells the word (`true`), unlike its output form (`t`).
        let text = match v {
            Value::Bool(b) => b.to_string(),
            v => v.to_pg_text().unwrap_or_default(),
        };
        return fit_string(text, to, explicit);
    }
    if let DataType::Numeric(typmod) = to {
        return to_numeric(v, typmod);
    }
    match v {
        Value::Numeric(n) => numeric_to(&n, to),
        Value::Interval(i) if to == DataType::Interval => Ok(Value::Interval(i)),
        Value::Uuid(u) if to == DataType::Uuid => Ok(Value::Uuid(u)),
        Value::Bytea(b) if to == DataType::Bytea => Ok(Value::Bytea(b)),
        Value::Time(t) if to == DataType::Time => Ok(Value::Time(t)),
        Value::Json(s) if to == DataType::Json => Ok(Value::Json(s)),
        Value::Json(s) => Value::parse_as(&s, to),
        Value::Jsonb(j) if to == DataType::Jsonb => Ok(Value::Jsonb(j)),
        Value::Jsonb(j) if to == DataType::Json => Ok(Value::Json(j.to_text())),
        Value::Text(s) => Value::parse_as(&s, to),
        Value::Array(_, values) => match to {
            DataType::Array(element) => Ok(Value::Array(
                element,
                values.into_iter().map(|v| cast_value(v, element.scalar(), explicit)).collect::<Result<_>>()?,
            )),
            _ => Err(DbError::Internal(format!("cast of an array to {to}"))),
        },
        Value::Bool(b) if to == DataType::Bool => Ok(Value::Bool(b)),
        Value::Bool(b) => integer_to(i64::from(b), to),
        Value::Float4(_) | Value::Float8(_) => float_to(v.as_f64().unwrap_or_default(), to),
        Value::Date(d) => match to {
            DataType::Date => Ok(Value::Date(d)),
            DataType::Timestamp => datetime::date_timestamp(d).map(Value::Timestamp),
            DataType::TimestampTz => datetime::date_timestamp(d).map(Value::TimestampTz),
            _ => Err(DbError::Internal(format!("cast of a date to {to}"))),
        },
        // The session's time zone is UTC, so a timestamp and a timestamptz are the same count.
        Value::Timestamp(ts) | Value::TimestampTz(ts) => match to {
            DataType::Date => Ok(Value::Date(datetime::timestamp_date(ts))),
            DataType::Timestamp => Ok(Value::Timestamp(ts)),
            DataType::TimestampTz => Ok(Value::TimestampTz(ts)),
            // The time of day (infinite timestamps have none: PostgreSQL's 22008 too).
            DataType::Time if ts == datetime::TIMESTAMP_INFINITY || ts == datetime::TIMESTAMP_NEG_INFINITY => {
                Err(DbError::sql(SqlState::DatetimeFieldOverflow, "timestamp out of range"))
            }
            DataType::Time => Ok(Value::Time(ts.rem_euclid(datetime::USECS_PER_DAY))),
            _ => Err(DbError::Internal(format!("cast of a timestamp to {to}"))),
        },
        other => match other.as_i64() {
            Some(i) => integer_to(i, to),
            None => Err(DbError::Internal(format!("cast of {other:?} to {to}"))),
        },
    }
}

/// A value as `numeric`, fitted to the typmod if there is one. Floats convert through their
/// shortest decimal form at 15 (double) or 6 (real) significant digits, as PostgreSQL's
/// `float8_numeric` does.
fn to_numeric(v: Value, typmod: Option<(u16, i16)>) -> Result<Value> {
    let n = match v {
        Value::Numeric(n) => n,
        Value::Float8(f) => Numeric::from_f64(f, 15),
        Value::Float4(f) => Numeric::from_f64(f64::from(f), 6),
        Value::Text(s) => Numeric::parse(&s)?,
        other => match other.as_i64() {
            Some(i) => Numeric::from_i64(i),
            None => return Err(DbError::Internal(format!("cast of {other:?} to numeric"))),
        },
    };
    Ok(Value::Numeric(match typmod {
        Some((precision, scale)) => n.fit(precision, scale)?,
        None => n,
    }))
}

/// A numeric as another number type: integers round half away from zero (22003 past the
/// type's range; NaN and the infinities are 0A000), floats take the nearest value.
fn numeric_to(n: &Numeric, to: DataType) -> Result<Value> {
    if to.is_integer() {
        if n.is_special() {
            let what = if n.is_nan() { "NaN" } else { "infinity" };
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                format!("cannot convert {what} to {}", to.sql_name()),
            ));
        }
        let i = n.to_i128_rounded().and_then(|i| i64::try_from(i).ok()).ok_or_else(|| out_of_range(to))?;
        return integer_to(i, to);
    }
    let f = n.to_f64();
    let out_of_range = || {
        DbError::sql(SqlState::NumericValueOutOfRange, format!("\"{n}\" is out of range for type {}", to.sql_name()))
    };
    match to {
        DataType::Float8 if f.is_infinite() && !n.is_special() => Err(out_of_range()),
        DataType::Float8 => Ok(Value::Float8(f)),
        DataType::Float4 => {
            // Parsed from the digits, not narrowed from the double: one rounding, not two.
            let f4 = if n.is_special() { f as f32 } else { n.to_string().parse::<f32>().unwrap_or(f32::NAN) };
            if f4.is_infinite() && !n.is_special() { Err(out_of_range()) } else { Ok(Value::Float4(f4)) }
        }
        _ => Err(DbError::Internal(format!("cast of a numeric to {to}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_rules_follow_postgres_contexts() {
        assert!(can_cast(DataType::Int4, DataType::Int8, CastContext::Implicit));
        assert!(!can_cast(DataType::Int8, DataType::Int4, CastContext::Implicit));
        assert!(can_cast(DataType::Int8, DataType::Int4, CastContext::Assignment));
        assert!(can_cast(DataType::Int4, DataType::Text, CastContext::Assignment));
        assert!(!can_cast(DataType::Text, DataType::Int4, CastContext::Assignment));
        assert!(can_cast(DataType::Text, DataType::Int4, CastContext::Explicit));
        assert!(!can_cast(DataType::Bool, DataType::Int4, CastContext::Assignment));
        assert_eq!(arithmetic_type(DataType::Int2, DataType::Int4), Some(DataType::Int4));
        assert_eq!(arithmetic_type(DataType::Int4, DataType::Float4), Some(DataType::Float8));
        assert_eq!(arithmetic_type(DataType::Text, DataType::Int4), None);
    }

    #[test]
    fn value_casts() {
        assert_eq!(cast_value(Value::Float8(2.5), DataType::Int4, false).unwrap(), Value::Int4(2));
        assert_eq!(cast_value(Value::Float8(3.5), DataType::Int4, false).unwrap(), Value::Int4(4));
        assert_eq!(cast_value(Value::Int8(1 << 40), DataType::Int4, false).unwrap_err().sqlstate().code(), "22003");
        assert_eq!(cast_value(Value::Text("x".into()), DataType::Int4, true).unwrap_err().sqlstate().code(), "22P02");
        assert_eq!(cast_value(Value::Text("ab".into()), DataType::Char(4), false).unwrap(), Value::Text("ab  ".into()));
        let long = Value::Text("abcdef".into());
        assert_eq!(cast_value(long.clone(), DataType::Varchar(Some(3)), false).unwrap_err().sqlstate().code(), "22001");
        assert_eq!(cast_value(long, DataType::Varchar(Some(3)), true).unwrap(), Value::Text("abc".into()));
        assert_eq!(cast_value(Value::Int4(5), DataType::Text, false).unwrap(), Value::Text("5".into()));
    }
}
