//! Building JSON from SQL values: `to_json`/`to_jsonb`, `json_build_object`/
//! `jsonb_build_object` and `json_build_array`/`jsonb_build_array`.
//!
//! A value becomes JSON as PostgreSQL's `datum_to_json` makes it: numbers stay numbers (NaN and
//! the infinities become strings), booleans and NULL their JSON words, date/time values ISO
//! 8601 strings with a `T`, arrays JSON arrays, json values themselves, and anything else the
//! string of its text form. `json` results keep PostgreSQL's spacing (`{"a" : 1}`, nested
//! arrays as `[1,2]`); `jsonb` results are canonical (keys sorted and unique).

use rustydb_foundation::json::{self, Json};
use rustydb_foundation::{DataType, DbError, Numeric, Result, SqlState, Value};

/// One of the JSON-building functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonBuild {
    /// `to_json(value)`
    ToJson,
    /// `to_jsonb(value)`
    ToJsonb,
    /// `json_build_object(key, value, ...)`
    Object,
    /// `jsonb_build_object(key, value, ...)`
    ObjectB,
    /// `json_build_array(...)`
    Array,
    /// `jsonb_build_array(...)`
    ArrayB,
}

impl JsonBuild {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            JsonBuild::ToJson => "to_json",
            JsonBuild::ToJsonb => "to_jsonb",
            JsonBuild::Object => "json_build_object",
            JsonBuild::ObjectB => "jsonb_build_object",
            JsonBuild::Array => "json_build_array",
            JsonBuild::ArrayB => "jsonb_build_array",
        }
    }

    /// False for the builders, which take NULL arguments (a NULL value is JSON `null`).
    pub fn is_strict(self) -> bool {
        matches!(self, JsonBuild::ToJson | JsonBuild::ToJsonb)
    }
}

/// The function `name` of `arity` arguments (of any types; untyped literals are text) and its
/// result type; `None` if none matches.
pub fn signature(name: &str, arity: usize) -> Option<(JsonBuild, DataType)> {
    Some(match (name, arity) {
        ("to_json", 1) => (JsonBuild::ToJson, DataType::Json),
        ("to_jsonb", 1) => (JsonBuild::ToJsonb, DataType::Jsonb),
        ("json_build_object", _) => (JsonBuild::Object, DataType::Json),
        ("jsonb_build_object", _) => (JsonBuild::ObjectB, DataType::Jsonb),
        ("json_build_array", _) => (JsonBuild::Array, DataType::Json),
        ("jsonb_build_array", _) => (JsonBuild::ArrayB, DataType::Jsonb),
        _ => return None,
    })
}

/// Evaluates a call (the strict ones only on a non-NULL argument).
pub fn eval(f: JsonBuild, v: &[Value]) -> Result<Value> {
    Ok(match f {
        JsonBuild::ToJson => {
            let mut out = String::new();
            write_json(&v[0], &mut out)?;
            Value::Json(out)
        }
        JsonBuild::ToJsonb => Value::Jsonb(Box::new(to_jsonb(&v[0])?.canonical())),
        JsonBuild::Object | JsonBuild::ObjectB => {
            if !v.len().is_multiple_of(2) {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "argument list must have even number of elements",
                )
                .with_hint(format!("The arguments of {}() must consist of alternating keys and values.", f.name())));
            }
            let mut members = Vec::with_capacity(v.len() / 2);
            for (i, pair) in v.chunks(2).enumerate() {
                let key = match &pair[0] {
                    Value::Null => {
                        return Err(DbError::sql(
                            SqlState::InvalidParameterValue,
                            format!("argument {} cannot be null", 2 * i + 1),
                        )
                        .with_hint("Object keys should be text."));
                    }
                    other => object_key(other)?,
                };
                members.push((key, &pair[1]));
            }
            object(&members, f == JsonBuild::ObjectB, "{", "}")?
        }
        JsonBuild::Array | JsonBuild::ArrayB => array(v, f == JsonBuild::ArrayB)?,
    })
}

/// A JSON object's key from a (non-NULL) value, as PostgreSQL's `add_json` makes one.
fn object_key(v: &Value) -> Result<String> {
    Ok(match v {
        Value::Array(..) | Value::Json(_) | Value::Jsonb(_) => {
            return Err(DbError::sql(
                SqlState::InvalidParameterValue,
                "key value must be scalar, not array, composite, or json",
            ));
        }
        Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        other => datetime_text(other).unwrap_or_else(|| other.to_pg_text().unwrap_or_default()),
    })
}

/// An object of `members`: `json` text between `open` and `close` (`{` and `}` for
/// json_build_object, `{ ` and ` }` for json_object_agg, as PostgreSQL spaces them), or jsonb
/// (a later duplicate key wins).
fn object(members: &[(String, &Value)], binary: bool, open: &str, close: &str) -> Result<Value> {
    if binary {
        let members = members.iter().map(|(k, v)| Ok((k.clone(), to_jsonb(v)?))).collect::<Result<Vec<_>>>()?;
        return Ok(Value::Jsonb(Box::new(Json::Object(members).canonical())));
    }
    let mut out = String::from(open);
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        json::quote(key, &mut out);
        out.push_str(" : ");
        write_json(value, &mut out)?;
    }
    out.push_str(close);
    Ok(Value::Json(out))
}

/// A JSON array of `items` in order, NULLs included: `json` text (as json_build_array and
/// json_agg space it) or, if `binary`, jsonb (jsonb_build_array, jsonb_agg).
pub(crate) fn array(items: &[Value], binary: bool) -> Result<Value> {
    if binary {
        let items = items.iter().map(to_jsonb).collect::<Result<Vec<_>>>()?;
        return Ok(Value::Jsonb(Box::new(Json::Array(items).canonical())));
    }
    let mut out = String::from("[");
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_json(value, &mut out)?;
    }
    out.push(']');
    Ok(Value::Json(out))
}

/// `json_object_agg` (or, if `binary`, `jsonb_object_agg`) of (key, value) pairs: 22023 for a
/// NULL key, as in PostgreSQL.
pub(crate) fn agg_object(pairs: &[(Value, Value)], binary: bool) -> Result<Value> {
    let mut members = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key.is_null() {
            return Err(DbError::sql(SqlState::InvalidParameterValue, "field name must not be null"));
        }
        members.push((object_key(key)?, value));
    }
    object(&members, binary, "{ ", " }")
}

/// The ISO 8601 form JSON gives a date/time value, or `None` for other values.
fn datetime_text(v: &Value) -> Option<String> {
    use rustydb_foundation::datetime::{format_date, format_timestamp};
    Some(match v {
        Value::Date(d) => format_date(*d),
        Value::Timestamp(t) => format_timestamp(*t, false).replacen(' ', "T", 1),
        Value::TimestampTz(t) => {
            let text = format_timestamp(*t, true).replacen(' ', "T", 1);
            match text.strip_suffix("+00") {
                Some(stem) => format!("{stem}+00:00"),
                None => text.replacen("+00 ", "+00:00 ", 1),
            }
        }
        _ => return None,
    })
}

/// Writes `v` as `json` text.
fn write_json(v: &Value, out: &mut String) -> Result<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => out.push_str(&v.to_pg_text().unwrap_or_default()),
        Value::Float4(_) | Value::Float8(_) => {
            let text = v.to_pg_text().unwrap_or_default();
            if v.as_f64().is_some_and(f64::is_finite) {
                out.push_str(&text);
            } else {
                json::quote(&text, out);
            }
        }
        Value::Numeric(n) if n.is_special() => json::quote(&n.to_string(), out),
        Value::Numeric(n) => out.push_str(&n.to_string()),
        Value::Json(text) => out.push_str(text),
        Value::Jsonb(j) => out.push_str(&j.to_text()),
        Value::Array(_, items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        other => match datetime_text(other) {
            Some(text) => json::quote(&text, out),
            None => json::quote(&other.to_pg_text().unwrap_or_default(), out),
        },
    }
    Ok(())
}

/// `v` as a jsonb value.
fn to_jsonb(v: &Value) -> Result<Json> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => Json::Number(Numeric::from_i64(v.as_i64().unwrap_or(0))),
        Value::Float4(_) | Value::Float8(_) => {
            let text = v.to_pg_text().unwrap_or_default();
            if v.as_f64().is_some_and(f64::is_finite) {
                Json::Number(Numeric::parse(&text)?)
            } else {
                Json::String(text)
            }
        }
        Value::Numeric(n) if n.is_special() => Json::String(n.to_string()),
        Value::Numeric(n) => Json::Number(n.clone()),
        Value::Json(text) => json::parse(text)?,
        Value::Jsonb(j) => (**j).clone(),
        Value::Array(_, items) => Json::Array(items.iter().map(to_jsonb).collect::<Result<_>>()?),
        other => Json::String(datetime_text(other).unwrap_or_else(|| other.to_pg_text().unwrap_or_default())),
    })
}
