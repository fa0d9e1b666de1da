//! PostgreSQL's array functions over RustyDB's one-dimensional arrays: `array_append`,
//! `array_prepend`, `array_remove`, `array_replace`, `array_position(s)`, `array_lower`,
//! `array_dims`, `array_ndims`, `trim_array` and `array_fill`.
//!
//! Elements compare as `IS NOT DISTINCT FROM` does (a NULL finds a NULL). An element and an
//! array of different types meet at their common type (`array_append(ARRAY[1], 2.5)` is a
//! numeric array), as PostgreSQL resolves the polymorphic arguments. Results were checked
//! against PostgreSQL 15 (`tests/sql/arrays.slt`).

use crate::bind_expr::{cast, coerce_unknown};
use crate::expr::Expr;
use crate::functions::no_function;
use crate::types::{CastContext, common_type};
use rustydb_foundation::{DataType, DbError, ElementType, Result, SqlState, Value};

/// One of the array functions of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFn {
    /// `array_append(array, element)`
    Append,
    /// `array_prepend(element, array)`
    Prepend,
    /// `array_remove(array, element)`
    Remove,
    /// `array_replace(array, from, to)`
    Replace,
    /// `array_position(array, element [, start])`
    Position,
    /// `array_positions(array, element)`
    Positions,
    /// `array_lower(array, dimension)`
    Lower,
    /// `array_dims(array)`
    Dims,
    /// `array_ndims(array)`
    Ndims,
    /// `trim_array(array, n)`
    Trim,
    /// `array_fill(value, dimensions)`
    Fill,
}

impl ArrayFn {
    /// The SQL name (for EXPLAIN).
    pub fn name(self) -> &'static str {
        match self {
            ArrayFn::Append => "array_append",
            ArrayFn::Prepend => "array_prepend",
            ArrayFn::Remove => "array_remove",
            ArrayFn::Replace => "array_replace",
            ArrayFn::Position => "array_position",
            ArrayFn::Positions => "array_positions",
            ArrayFn::Lower => "array_lower",
            ArrayFn::Dims => "array_dims",
            ArrayFn::Ndims => "array_ndims",
            ArrayFn::Trim => "trim_array",
            ArrayFn::Fill => "array_fill",
        }
    }

    /// False for the functions that see NULL arguments (a NULL array counts as empty for
    /// `array_append`/`array_prepend`; a NULL element is searched for).
    pub fn is_strict(self) -> bool {
        !matches!(
            self,
            ArrayFn::Append
                | ArrayFn::Prepend
                | ArrayFn::Remove
                | ArrayFn::Replace
                | ArrayFn::Position
                | ArrayFn::Positions
                | ArrayFn::Fill
        )
    }
}

fn lookup(name: &str) -> Option<ArrayFn> {
    Some(match name {
        "array_append" => ArrayFn::Append,
        "array_prepend" => ArrayFn::Prepend,
        "array_remove" => ArrayFn::Remove,
        "array_replace" => ArrayFn::Replace,
        "array_position" => ArrayFn::Position,
        "array_positions" => ArrayFn::Positions,
        "array_lower" => ArrayFn::Lower,
        "array_dims" => ArrayFn::Dims,
        "array_ndims" => ArrayFn::Ndims,
        "trim_array" => ArrayFn::Trim,
        "array_fill" => ArrayFn::Fill,
        _ => return None,
    })
}

/// Binds a call of `name` if it is one of this module's (`Err(args)` back if it is not).
pub fn bind(name: &str, args: Vec<Expr>) -> Result<std::result::Result<Expr, Vec<Expr>>> {
    let Some(f) = lookup(name) else { return Ok(Err(args)) };
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let int = |t: &DataType| t.is_integer() || *t == DataType::Unknown;
    let call = |element: ElementType, args: Vec<Expr>, ty: DataType| {
        Ok(Ok(Expr::Call { func: crate::functions::Function::Array(f, element), args, ty }))
    };
    let to_int = |e: Expr| cast(e, DataType::Int4, CastContext::Implicit);
    let mut args = args;
    match (f, types.as_slice()) {
        (ArrayFn::Append | ArrayFn::Remove | ArrayFn::Position | ArrayFn::Positions, [_, _])
        | (ArrayFn::Position, [_, _, _])
        | (ArrayFn::Replace, [_, _, _]) => {
            let start = if f == ArrayFn::Position && args.len() == 3 { args.pop() } else { None };
            let array = args.remove(0);
            let Some((array, element, elements)) = unify(array, args)? else { return Err(no_function(name, &types)) };
            let ty = match f {
                ArrayFn::Position => DataType::Int4,
                ArrayFn::Positions => DataType::Array(ElementType::Int4),
                _ => DataType::Array(element),
            };
            let mut bound = vec![array];
            bound.extend(elements);
            if let Some(start) = start {
                if !int(&start.data_type()) {
                    return Err(no_function(name, &types));
                }
                bound.push(to_int(start)?);
            }
            call(element, bound, ty)
        }
        (ArrayFn::Prepend, [_, _]) => {
            let array = args.remove(1);
            let Some((array, element, elements)) = unify(array, args)? else { return Err(no_function(name, &types)) };
            call(element, elements.into_iter().chain(std::iter::once(array)).collect(), DataType::Array(element))
        }
        (ArrayFn::Lower | ArrayFn::Trim, [DataType::Array(e), n]) if int(n) => {
            let (e, ty) = (*e, if f == ArrayFn::Lower { DataType::Int4 } else { types[0] });
            let n = args.pop().map(to_int).transpose()?;
            args.extend(n);
            call(e, args, ty)
        }
        (ArrayFn::Dims, [DataType::Array(e)]) => call(*e, args, DataType::Text),
        (ArrayFn::Ndims, [DataType::Array(e)]) => call(*e, args, DataType::Int4),
        (ArrayFn::Fill, [v, DataType::Array(ElementType::Int2 | ElementType::Int4 | ElementType::Int8)]) => {
            let v = if *v == DataType::Unknown { DataType::Text } else { *v };
            let element = ElementType::of(v).ok_or_else(|| no_function(name, &types))?;
            let dims =
                args.pop().map(|d| cast(d, DataType::Array(ElementType::Int4), CastContext::Implicit)).transpose()?;
            let value = args.pop().map(|a| coerce_unknown(a, v)).transpose()?;
            call(element, value.into_iter().chain(dims).collect(), DataType::Array(element))
        }
        _ => Err(no_function(name, &types)),
    }
}

/// An array and elements brought to one element type: the common type of the array's
/// elements and these (an untyped NULL array takes the elements' type). `None` if the first
/// argument is no array.
fn unify(array: Expr, elements: Vec<Expr>) -> Result<Option<(Expr, ElementType, Vec<Expr>)>> {
    let mut all: Vec<DataType> = elements.iter().map(Expr::data_type).collect();
    match array.data_type() {
        DataType::Array(e) => all.insert(0, e.scalar()),
        DataType::Unknown => {}
        _ => return Ok(None),
    }
    let element = common_type(&all, "array")?;
    let element_type = ElementType::of(element)
        .ok_or_else(|| DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported"))?;
    let array_type = DataType::Array(element_type);
    let array = cast(coerce_unknown(array, array_type)?, array_type, CastContext::Implicit)?;
    let elements = elements
        .into_iter()
        .map(|e| cast(coerce_unknown(e, element)?, element, CastContext::Implicit))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((array, element_type, elements)))
}

/// `a IS NOT DISTINCT FROM b`.
fn same(a: &Value, b: &Value) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => a.sql_cmp(b) == Some(std::cmp::Ordering::Equal),
        _ => false,
    }
}

/// Evaluates a call (strict functions get non-NULL arguments only); `element` is the element
/// type of the array the call builds or reads.
pub fn eval(f: ArrayFn, element: ElementType, v: &[Value]) -> Result<Value> {
    let items = |a: &Value| match a {
        Value::Array(e, items) => Some((*e, items.clone())),
        _ => None,
    };
    Ok(match f {
        ArrayFn::Append | ArrayFn::Prepend => {
            // A NULL array counts as empty.
            let (array, value) = if f == ArrayFn::Append { (&v[0], &v[1]) } else { (&v[1], &v[0]) };
            let mut items = items(array).map(|(_, i)| i).unwrap_or_default();
            if f == ArrayFn::Append {
                items.push(value.clone());
            } else {
                items.insert(0, value.clone());
            }
            Value::Array(element, items)
        }
        ArrayFn::Remove => match items(&v[0]) {
            None => Value::Null,
            Some((e, items)) => Value::Array(e, items.into_iter().filter(|x| !same(x, &v[1])).collect()),
        },
        ArrayFn::Replace => match items(&v[0]) {
            None => Value::Null,
            Some((e, items)) => {
                Value::Array(e, items.into_iter().map(|x| if same(&x, &v[1]) { v[2].clone() } else { x }).collect())
            }
        },
        ArrayFn::Position => {
            let Some((_, items)) = items(&v[0]) else { return Ok(Value::Null) };
            let start = match v.get(2) {
                Some(Value::Null) => {
                    return Err(DbError::sql(SqlState::NullValueNotAllowed, "initial position must not be null"));
                }
                Some(s) => s.as_i64().unwrap_or(1).max(1) as usize,
                None => 1,
            };
            items
                .iter()
                .enumerate()
                .skip(start - 1)
                .find(|(_, x)| same(x, &v[1]))
                .map_or(Value::Null, |(i, _)| Value::Int4(i as i32 + 1))
        }
        ArrayFn::Positions => {
            let Some((_, items)) = items(&v[0]) else { return Ok(Value::Null) };
            let found = items
                .iter()
                .enumerate()
                .filter(|(_, x)| same(x, &v[1]))
                .map(|(i, _)| Value::Int4(i as i32 + 1))
                .collect();
            Value::Array(ElementType::Int4, found)
        }
        ArrayFn::Lower => match (&v[0], v[1].as_i64()) {
            (Value::Array(_, items), Some(1)) if !items.is_empty() => Value::Int4(1),
            _ => Value::Null,
        },
        ArrayFn::Dims => match &v[0] {
            Value::Array(_, items) if !items.is_empty() => Value::Text(format!("[1:{}]", items.len())),
            _ => Value::Null,
        },
        ArrayFn::Ndims => match &v[0] {
            Value::Array(_, items) if !items.is_empty() => Value::Int4(1),
            _ => Value::Null,
        },
        ArrayFn::Trim => {
            let Some((e, mut items)) = items(&v[0]) else { return Ok(Value::Null) };
            let n = v[1].as_i64().unwrap_or(0);
            if n < 0 || n as usize > items.len() {
                return Err(DbError::sql(
                    SqlState::ArraySubscriptError,
                    format!("number of elements to trim must be between 0 and {}", items.len()),
                ));
            }
            items.truncate(items.len() - n as usize);
            Value::Array(e, items)
        }
        ArrayFn::Fill => {
            let Value::Array(_, dims) = &v[1] else {
                return Err(DbError::sql(
                    SqlState::NullValueNotAllowed,
                    "dimension array or low bound array cannot be null",
                ));
            };
            match dims.as_slice() {
                [n] => {
                    let n = n.as_i64().ok_or_else(|| {
                        DbError::sql(SqlState::NullValueNotAllowed, "dimension values cannot be null")
                    })?;
                    // Each element is a copy of the value: bound the whole, as `repeat` does.
                    let each = v[0].to_pg_text().map_or(16, |t| t.len() + 16) as i64;
                    if !(0..=(1 << 24)).contains(&n) || n.saturating_mul(each) > 1 << 30 {
                        return Err(DbError::sql(
                            SqlState::ProgramLimitExceeded,
                            "array size exceeds the maximum allowed",
                        ));
                    }
                    Value::Array(element, vec![v[0].clone(); n as usize])
                }
                [] => Value::Array(element, Vec::new()),
                _ => {
                    return Err(DbError::sql(
                        SqlState::FeatureNotSupported,
                        "multidimensional arrays are not supported",
                    ));
                }
            }
        }
    })
}
