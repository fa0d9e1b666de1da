//! The JSON operators and functions: `->`, `->>`, `#>`, `#>>` on `json` and `jsonb`; `@>`,
//! `<@` and `?` on `jsonb`; `json[b]_typeof` and `json[b]_array_length`.
//!
//! They bind to calls of [`JsonOp`]s. A `json` value is its text, parsed again where an
//! operator looks inside it; what `->` takes out of a `json` is printed from the parsed value
//! (PostgreSQL gives the exact slice of the input, so spacing inside it can differ).

use crate::bind_expr::coerce_unknown;
use crate::expr::Expr;
use crate::functions::Function;
use rustydb_foundation::json::{self, Json};
use rustydb_foundation::{DataType, DbError, ElementType, Result, SqlState, Value};
use sqlparser::ast::BinaryOperator;

/// A JSON operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonOp {
    /// `->`
    Get,
    /// `->>`
    GetText,
    /// `#>`
    Path,
    /// `#>>`
    PathText,
    /// `@>`
    Contains,
    /// `<@`
    ContainedBy,
    /// `?`
    Exists,
    /// `json[b]_typeof`
    TypeOf,
    /// `json[b]_array_length`
    ArrayLength,
}

fn no_operator(left: DataType, symbol: &str, right: DataType) -> DbError {
    DbError::sql(
        SqlState::UndefinedFunction,
        format!("operator does not exist: {} {symbol} {}", left.sql_name(), right.sql_name()),
    )
    .with_detail("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

fn is_json(t: DataType) -> bool {
    matches!(t, DataType::Json | DataType::Jsonb)
}

/// The operator `op` applied to `left` and `right`, if it is a JSON operator.
pub fn operator(op: &BinaryOperator, left: Expr, right: Expr) -> Option<Result<Expr>> {
    let (json_op, symbol) = match op {
        BinaryOperator::Arrow => (JsonOp::Get, "->"),
        BinaryOperator::LongArrow => (JsonOp::GetText, "->>"),
        BinaryOperator::HashArrow => (JsonOp::Path, "#>"),
        BinaryOperator::HashLongArrow => (JsonOp::PathText, "#>>"),
        BinaryOperator::AtArrow => (JsonOp::Contains, "@>"),
        BinaryOperator::ArrowAt => (JsonOp::ContainedBy, "<@"),
        BinaryOperator::Question => (JsonOp::Exists, "?"),
        _ => return None,
    };
    Some(bind(json_op, symbol, left, right))
}

fn bind(op: JsonOp, symbol: &str, left: Expr, right: Expr) -> Result<Expr> {
    let (lt, rt) = (left.data_type(), right.data_type());
    let call = |args: Vec<Expr>, ty| Ok(Expr::Call { func: Function::Json(op), args, ty });
    let text_array = DataType::Array(ElementType::Text);
    match op {
        JsonOp::Get | JsonOp::GetText if is_json(lt) => {
            let ty = if op == JsonOp::GetText { DataType::Text } else { lt };
            let right = match rt {
                t if t.is_integer() => right,
                DataType::Unknown => coerce_unknown(right, DataType::Text)?,
                t if t.is_string() => right,
                _ => return Err(no_operator(lt, symbol, rt)),
            };
            call(vec![left, right], ty)
        }
        JsonOp::Path | JsonOp::PathText if is_json(lt) && (rt == text_array || rt == DataType::Unknown) => {
            let ty = if op == JsonOp::PathText { DataType::Text } else { lt };
            call(vec![left, coerce_unknown(right, text_array)?], ty)
        }
        JsonOp::Contains | JsonOp::ContainedBy if lt == DataType::Jsonb || rt == DataType::Jsonb => {
            let (left, right) = (coerce_unknown(left, DataType::Jsonb)?, coerce_unknown(right, DataType::Jsonb)?);
            if left.data_type() != DataType::Jsonb || right.data_type() != DataType::Jsonb {
                return Err(no_operator(lt, symbol, rt));
            }
            call(vec![left, right], DataType::Bool)
        }
        JsonOp::Exists if lt == DataType::Jsonb && (rt.is_string()) => {
            call(vec![left, coerce_unknown(right, DataType::Text)?], DataType::Bool)
        }
        _ => Err(no_operator(lt, symbol, rt)),
    }
}

/// Binds `json_typeof`, `jsonb_typeof`, `json_array_length` and `jsonb_array_length`.
pub fn function(name: &str, args: &[Expr]) -> Option<(JsonOp, DataType)> {
    let [arg] = args else { return None };
    let ty = arg.data_type();
    match (name, ty) {
        ("json_typeof", DataType::Json) | ("jsonb_typeof", DataType::Jsonb) => Some((JsonOp::TypeOf, DataType::Text)),
        ("json_array_length", DataType::Json) | ("jsonb_array_length", DataType::Jsonb) => {
            Some((JsonOp::ArrayLength, DataType::Int4))
        }
        _ => None,
    }
}

/// The parsed value of a `json` or `jsonb` operand.
fn parsed(v: &Value) -> Result<std::borrow::Cow<'_, Json>> {
    match v {
        Value::Jsonb(j) => Ok(std::borrow::Cow::Borrowed(j)),
        Value::Json(text) => Ok(std::borrow::Cow::Owned(json::parse(text)?)),
        other => Err(DbError::Internal(format!("a JSON operator on {other:?}"))),
    }
}

/// A JSON value as the type of `like` (json text, or jsonb).
fn same_kind(like: &Value, j: &Json) -> Value {
    match like {
        Value::Json(_) => Value::Json(j.to_text()),
        _ => Value::Jsonb(Box::new(j.clone())),
    }
}

/// One step into `j`: an object's member, or an array's element (by an integer key).
fn step<'j>(j: &'j Json, key: &Value) -> Option<&'j Json> {
    match key {
        Value::Text(k) => match j {
            Json::Object(_) => j.get(k),
            Json::Array(_) => k.trim().parse::<i64>().ok().and_then(|i| j.at(i)),
            _ => None,
        },
        other => other.as_i64().and_then(|i| j.at(i)),
    }
}

/// Evaluates `op` on non-NULL arguments.
pub fn eval(op: JsonOp, args: &[Value]) -> Result<Value> {
    let j = parsed(&args[0])?;
    Ok(match op {
        // PostgreSQL stores a top-level jsonb scalar as a one-element array, so `-> 0` and
        // `-> -1` find it (json, and `#>`, do not).
        JsonOp::Get | JsonOp::GetText
            if matches!(args[0], Value::Jsonb(_))
                && !matches!(j.as_ref(), Json::Array(_) | Json::Object(_))
                && matches!(args[1].as_i64(), Some(0 | -1)) =>
        {
            if op == JsonOp::Get {
                same_kind(&args[0], &j)
            } else {
                j.as_text().map_or(Value::Null, Value::Text)
            }
        }
        JsonOp::Get | JsonOp::GetText => match step(&j, &args[1]) {
            None => Value::Null,
            Some(found) if op == JsonOp::Get => same_kind(&args[0], found),
            Some(found) => found.as_text().map_or(Value::Null, Value::Text),
        },
        JsonOp::Path | JsonOp::PathText => {
            let Value::Array(_, path) = &args[1] else { return Ok(Value::Null) };
            let mut at: &Json = &j;
            for key in path {
                if key.is_null() {
                    return Ok(Value::Null);
                }
                match step(at, key) {
                    Some(next) => at = next,
                    None => return Ok(Value::Null),
                }
            }
            if op == JsonOp::Path { same_kind(&args[0], at) } else { at.as_text().map_or(Value::Null, Value::Text) }
        }
        JsonOp::Contains => Value::Bool(j.contains(parsed(&args[1])?.as_ref())),
        JsonOp::ContainedBy => Value::Bool(parsed(&args[1])?.contains(&j)),
        JsonOp::Exists => {
            let Value::Text(key) = &args[1] else { return Ok(Value::Null) };
            Value::Bool(match j.as_ref() {
                Json::Object(_) => j.get(key).is_some(),
                Json::Array(items) => items.iter().any(|i| matches!(i, Json::String(s) if s == key)),
                Json::String(s) => s == key,
                _ => false,
            })
        }
        JsonOp::TypeOf => Value::Text(j.type_name().to_string()),
        JsonOp::ArrayLength => match j.as_ref() {
            Json::Array(items) => Value::Int4(items.len() as i32),
            Json::Object(_) => {
                return Err(DbError::sql(SqlState::InvalidParameterValue, "cannot get array length of a non-array"));
            }
            _ => return Err(DbError::sql(SqlState::InvalidParameterValue, "cannot get array length of a scalar")),
        },
    })
}
