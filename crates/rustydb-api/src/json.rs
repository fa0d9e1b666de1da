//! Values to and from JSON, for the REST API.
//!
//! Results: booleans and numbers become JSON booleans and numbers (a non-finite float becomes
//! the string PostgreSQL prints, `"NaN"` or `"Infinity"`, as JSON has no such numbers); every
//! other type becomes the string PostgreSQL's text output gives, so a date reads `"2026-11-22"`
//! exactly as psql shows it.
//!
//! Parameters: each is converted to the type the statement gives its placeholder, the way the
//! wire protocol's text-format parameters are, so `"42"` and `42` both bind an integer and a
//! malformed one is 22P02 with PostgreSQL's message. A JSON array or object is refused (42804):
//! no parameter type takes one yet.

use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use serde_json::Value as Json;

/// The JSON form of a result value.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int2(v) => Json::from(*v),
        Value::Int4(v) => Json::from(*v),
        Value::Int8(v) => Json::from(*v),
        Value::Float4(v) => float(f64::from(*v), value),
        Value::Float8(v) => float(*v, value),
        other => Json::String(other.to_pg_text().unwrap_or_default()),
    }
}

fn float(v: f64, original: &Value) -> Json {
    serde_json::Number::from_f64(v)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(original.to_pg_text().unwrap_or_default()))
}

/// Binds the JSON parameter `json` (the `index`th, from 1) as a value of `ty`.
pub fn from_json(json: &Json, ty: DataType, index: usize) -> Result<Value> {
    let text = match json {
        Json::Null => return Ok(Value::Null),
        Json::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(_) | Json::Object(_) => {
            return Err(DbError::sql(
                SqlState::DatatypeMismatch,
                format!("parameter ${index}: a JSON array or object cannot be bound to type {}", ty.sql_name()),
            ));
        }
    };
    match ty {
        // An untyped placeholder the statement did not constrain: text, as PostgreSQL resolves it.
        DataType::Unknown => Ok(Value::Text(text)),
        ty => Value::parse_as(&text, ty),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn results_keep_numbers_and_print_the_rest_as_postgresql_does() {
        assert_eq!(to_json(&Value::Int8(i64::MAX)), json!(i64::MAX));
        assert_eq!(to_json(&Value::Float8(1.5)), json!(1.5));
        assert_eq!(to_json(&Value::Float8(f64::NAN)), json!("NaN"));
        assert_eq!(to_json(&Value::Float4(f32::INFINITY)), json!("Infinity"));
        assert_eq!(to_json(&Value::Bool(true)), json!(true));
        assert_eq!(to_json(&Value::Null), Json::Null);
        assert_eq!(to_json(&Value::Date(0)), json!("2000-01-01"));
        assert_eq!(to_json(&Value::Text("x".into())), json!("x"));
    }

    #[test]
    fn parameters_convert_like_text_format_ones() {
        assert_eq!(from_json(&json!(42), DataType::Int4, 1).unwrap(), Value::Int4(42));
        assert_eq!(from_json(&json!("42"), DataType::Int8, 1).unwrap(), Value::Int8(42));
        assert_eq!(from_json(&json!(true), DataType::Bool, 1).unwrap(), Value::Bool(true));
        assert_eq!(from_json(&json!(null), DataType::Int4, 1).unwrap(), Value::Null);
        assert_eq!(from_json(&json!("a"), DataType::Unknown, 1).unwrap(), Value::Text("a".into()));
        assert_eq!(
            from_json(&json!(1.5), DataType::Int4, 1).unwrap_err().sqlstate(),
            SqlState::InvalidTextRepresentation
        );
        assert_eq!(
            from_json(&json!(1_i64 << 40), DataType::Int4, 1).unwrap_err().sqlstate(),
            SqlState::NumericValueOutOfRange
        );
        assert_eq!(from_json(&json!([1]), DataType::Int4, 2).unwrap_err().sqlstate(), SqlState::DatatypeMismatch);
    }
}
