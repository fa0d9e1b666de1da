//! The JSON operators and functions: `->`, `->>`, `#>`, `#>>` on `json` and `jsonb`; `@>`,
//! `<@` and `?` on `jsonb`; `json[b]_typeof` and `json[b]_array_length`; and the rows of the
//! set-returning JSON functions (bound in `table_function.rs`).
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
    /// `?|`
    ExistsAny,
    /// `?&`
    ExistsAll,
    /// `jsonb || jsonb`
    Concat,
    /// `jsonb - text`, `jsonb - int`, `jsonb - text[]`
    Delete,
    /// `#-`
    DeletePath,
    /// `jsonb_set`
    Set,
    /// `jsonb_insert`
    Insert,
    /// `json[b]_extract_path`
    ExtractPath,
    /// `json[b]_extract_path_text`
    ExtractPathText,
    /// `jsonb_pretty`
    Pretty,
    /// `json[b]_strip_nulls`
    StripNulls,
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
        BinaryOperator::QuestionPipe => (JsonOp::ExistsAny, "?|"),
        BinaryOperator::QuestionAnd => (JsonOp::ExistsAll, "?&"),
        BinaryOperator::HashMinus => (JsonOp::DeletePath, "#-"),
        // `||` and `-` are jsonb's only with a jsonb operand (text and numbers have their own).
        BinaryOperator::StringConcat
            if matches!(
                (left.data_type(), right.data_type()),
                (DataType::Jsonb, DataType::Jsonb | DataType::Unknown) | (DataType::Unknown, DataType::Jsonb)
            ) =>
        {
            (JsonOp::Concat, "||")
        }
        BinaryOperator::Minus if left.data_type() == DataType::Jsonb => (JsonOp::Delete, "-"),
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
        JsonOp::ExistsAny | JsonOp::ExistsAll
            if lt == DataType::Jsonb && (rt == text_array || rt == DataType::Unknown) =>
        {
            call(vec![left, coerce_unknown(right, text_array)?], DataType::Bool)
        }
        JsonOp::Concat => {
            let (left, right) = (coerce_unknown(left, DataType::Jsonb)?, coerce_unknown(right, DataType::Jsonb)?);
            call(vec![left, right], DataType::Jsonb)
        }
        JsonOp::Delete => match rt {
            t if t.is_integer() => call(vec![left, right], DataType::Jsonb),
            t if t.is_string() || t == DataType::Unknown => {
                call(vec![left, coerce_unknown(right, DataType::Text)?], DataType::Jsonb)
            }
            t if t == text_array => call(vec![left, right], DataType::Jsonb),
            _ => Err(no_operator(lt, symbol, rt)),
        },
        JsonOp::DeletePath if lt == DataType::Jsonb && (rt == text_array || rt == DataType::Unknown) => {
            call(vec![left, coerce_unknown(right, text_array)?], DataType::Jsonb)
        }
        _ => Err(no_operator(lt, symbol, rt)),
    }
}

/// Binds the JSON functions: the operation, the type each argument is cast to, and the
/// result's type; `None` if `name` is not one of them or the arguments do not fit.
pub fn function(name: &str, args: &[Expr]) -> Option<(JsonOp, Vec<DataType>, DataType)> {
    use DataType as T;
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let text_array = T::Array(ElementType::Text);
    let is = |t: &DataType, want: DataType| *t == want || *t == T::Unknown;
    let texts = |ts: &[DataType]| ts.iter().all(|t| t.is_string() || *t == T::Unknown);
    Some(match (name, types.as_slice()) {
        ("json_typeof", [T::Json]) | ("jsonb_typeof", [T::Jsonb]) => (JsonOp::TypeOf, types.clone(), T::Text),
        ("json_array_length", [T::Json]) | ("jsonb_array_length", [T::Jsonb]) => {
            (JsonOp::ArrayLength, types.clone(), T::Int4)
        }
        ("jsonb_set" | "jsonb_insert", [j, p, v, rest @ ..])
            if is(j, T::Jsonb) && is(p, text_array) && is(v, T::Jsonb) && rest.len() <= 1 =>
        {
            if rest.iter().any(|b| !is(b, T::Bool)) {
                return None;
            }
            let op = if name == "jsonb_set" { JsonOp::Set } else { JsonOp::Insert };
            let mut targets = vec![T::Jsonb, text_array, T::Jsonb];
            targets.extend(rest.iter().map(|_| T::Bool));
            (op, targets, T::Jsonb)
        }
        ("json_extract_path" | "json_extract_path_text", [j, path @ ..]) if is(j, T::Json) && texts(path) => {
            let op = if name.ends_with("_text") { JsonOp::ExtractPathText } else { JsonOp::ExtractPath };
            let ty = if op == JsonOp::ExtractPath { T::Json } else { T::Text };
            (op, std::iter::once(T::Json).chain(path.iter().map(|_| T::Text)).collect(), ty)
        }
        ("jsonb_extract_path" | "jsonb_extract_path_text", [j, path @ ..]) if is(j, T::Jsonb) && texts(path) => {
            let op = if name.ends_with("_text") { JsonOp::ExtractPathText } else { JsonOp::ExtractPath };
            let ty = if op == JsonOp::ExtractPath { T::Jsonb } else { T::Text };
            (op, std::iter::once(T::Jsonb).chain(path.iter().map(|_| T::Text)).collect(), ty)
        }
        ("jsonb_pretty", [j]) if is(j, T::Jsonb) => (JsonOp::Pretty, vec![T::Jsonb], T::Text),
        ("json_strip_nulls", [j]) if is(j, T::Json) => (JsonOp::StripNulls, vec![T::Json], T::Json),
        ("jsonb_strip_nulls", [j]) if is(j, T::Jsonb) => (JsonOp::StripNulls, vec![T::Jsonb], T::Jsonb),
        _ => return None,
    })
}

/// A text[] value's elements (NULL elements are `None`).
fn text_elements(v: &Value) -> Vec<Option<&str>> {
    match v {
        Value::Array(_, items) => items
            .iter()
            .map(|i| match i {
                Value::Text(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A path (text[]) of non-NULL steps; 22004 for a NULL step, as PostgreSQL refuses one.
fn path_steps(v: &Value) -> Result<Vec<&str>> {
    text_elements(v)
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.ok_or_else(|| {
                DbError::sql(SqlState::NullValueNotAllowed, format!("path element at position {} is null", i + 1))
            })
        })
        .collect()
}

/// A `jsonb` result.
fn jsonb(j: Json) -> Value {
    Value::Jsonb(Box::new(j))
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
        JsonOp::ExistsAny | JsonOp::ExistsAll => {
            let keys: Vec<&str> = text_elements(&args[1]).into_iter().flatten().collect();
            let has = |key: &str| match j.as_ref() {
                Json::Object(_) => j.get(key).is_some(),
                Json::Array(items) => items.iter().any(|i| matches!(i, Json::String(s) if s == key)),
                Json::String(s) => s == key,
                _ => false,
            };
            Value::Bool(if op == JsonOp::ExistsAny { keys.iter().any(|k| has(k)) } else { keys.iter().all(|k| has(k)) })
        }
        JsonOp::Concat => jsonb(crate::json_edit::concat(j.into_owned(), parsed(&args[1])?.into_owned())),
        JsonOp::Delete => match &args[1] {
            Value::Text(key) => jsonb(crate::json_edit::delete_key(j.into_owned(), key)?),
            Value::Array(..) => {
                let keys: Vec<&str> = text_elements(&args[1]).into_iter().flatten().collect();
                jsonb(crate::json_edit::delete_keys(j.into_owned(), &keys)?)
            }
            other => match other.as_i64() {
                Some(index) => jsonb(crate::json_edit::delete_index(j.into_owned(), index)?),
                None => return Ok(Value::Null),
            },
        },
        JsonOp::DeletePath => {
            let path = path_steps(&args[1])?;
            jsonb(crate::json_edit::delete_path(j.into_owned(), &path)?)
        }
        JsonOp::Set | JsonOp::Insert => {
            let path = path_steps(&args[1])?;
            let flag = matches!(args.get(3), Some(Value::Bool(true)));
            let placing = match op {
                JsonOp::Set => crate::json_edit::Placing::Set { create: args.len() < 4 || flag },
                _ => crate::json_edit::Placing::Insert { after: flag },
            };
            jsonb(crate::json_edit::set_path(j.into_owned(), &path, parsed(&args[2])?.into_owned(), placing)?)
        }
        JsonOp::ExtractPath | JsonOp::ExtractPathText => {
            let mut at: &Json = &j;
            for key in &args[1..] {
                match step(at, key) {
                    Some(next) => at = next,
                    None => return Ok(Value::Null),
                }
            }
            if op == JsonOp::ExtractPath {
                same_kind(&args[0], at)
            } else {
                at.as_text().map_or(Value::Null, Value::Text)
            }
        }
        JsonOp::Pretty => Value::Text(crate::json_edit::pretty(&j)),
        JsonOp::StripNulls => {
            let stripped = crate::json_edit::strip_nulls(j.into_owned());
            match &args[0] {
                Value::Json(_) => Value::Json(crate::json_edit::compact_text(&stripped)),
                _ => jsonb(stripped),
            }
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

/// The rows of a set-returning JSON function over `arg` (not NULL: a NULL argument gives none),
/// with PostgreSQL's errors for a value of the wrong shape (22023).
pub fn set_returning(func: crate::table_function::TableFunc, arg: &Value) -> Result<crate::table_function::Produced> {
    use crate::table_function::{Produced, TableFunc};
    if arg.is_null() {
        return Ok(Produced::Done);
    }
    let j = parsed(arg)?;
    let name = func.name();
    let wrong = |message: String| Err(DbError::sql(SqlState::InvalidParameterValue, message));
    let shape = |j: &Json| match j {
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
        _ => "a scalar",
    };
    let as_text = |j: &Json| j.as_text().map_or(Value::Null, Value::Text);
    match func {
        TableFunc::JsonArrayElements { binary, text } => {
            let Json::Array(items) = j.as_ref() else {
                return match (binary, j.as_ref()) {
                    (true, other) => wrong(format!("cannot extract elements from {}", shape(other))),
                    (false, Json::Object(_)) => wrong(format!("cannot call {name} on a non-array")),
                    (false, _) => wrong(format!("cannot call {name} on a scalar")),
                };
            };
            let values =
                items.iter().map(|item| if text { as_text(item) } else { same_kind(arg, item) }).collect::<Vec<_>>();
            Ok(Produced::List(values.into_iter()))
        }
        TableFunc::JsonObjectKeys { .. } => {
            let Json::Object(members) = j.as_ref() else {
                return wrong(format!("cannot call {name} on {}", shape(&j)));
            };
            // json keeps duplicate keys and their order; jsonb has each once, in its order.
            let keys = members.iter().map(|(k, _)| Value::Text(k.clone())).collect::<Vec<_>>();
            Ok(Produced::List(keys.into_iter()))
        }
        TableFunc::JsonEach { binary, text } => {
            let Json::Object(members) = j.as_ref() else {
                return match (binary, j.as_ref()) {
                    (true, _) => wrong(format!("cannot call {name} on a non-object")),
                    (false, Json::Array(_)) => wrong("cannot deconstruct an array as an object".into()),
                    (false, _) => wrong("cannot deconstruct a scalar".into()),
                };
            };
            let pairs = members
                .iter()
                .map(|(k, v)| (Value::Text(k.clone()), if text { as_text(v) } else { same_kind(arg, v) }))
                .collect::<Vec<_>>();
            Ok(Produced::Pairs(pairs.into_iter()))
        }
        _ => Err(DbError::Internal(format!("{name} is not a JSON function"))),
    }
}
