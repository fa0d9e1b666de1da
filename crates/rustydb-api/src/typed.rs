//! Typed parameters and rows for the embedded API: Rust values in, Rust values out.
//!
//! [`ToSql`] turns a Rust value into a [`Value`]; it is then converted to the type the
//! statement gives its placeholder, with PostgreSQL's rules for assignment (an `i32` binds a
//! `bigint` parameter, an out-of-range `i64` for an `integer` one is 22003, a `&str` is read by
//! the type's text input, so `"2026-01-01"` binds a date). A value of a kind the type cannot
//! take (a `bool` for a `date`) is 42804. [`FromSql`] reads a column back: the integer widths
//! widen, `Option<T>` takes NULL, and a NULL read as a plain `T` or a mismatched type is 42804
//! naming the column.

use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use rustydb_query::ResultColumn;
use std::sync::Arc;

/// A Rust value that can be a statement parameter.
pub trait ToSql {
    /// The value.
    fn to_sql(&self) -> Value;
}

macro_rules! to_sql {
    ($($t:ty => $v:expr),* $(,)?) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Value {
                let f: fn(&$t) -> Value = $v;
                f(self)
            }
        }
    )*};
}

to_sql! {
    bool => |v| Value::Bool(*v),
    i16 => |v| Value::Int2(*v),
    i32 => |v| Value::Int4(*v),
    i64 => |v| Value::Int8(*v),
    f32 => |v| Value::Float4(*v),
    f64 => |v| Value::Float8(*v),
    str => |v| Value::Text(v.to_string()),
    String => |v| Value::Text(v.clone()),
    Value => |v| v.clone(),
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Value {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToSql::to_sql)
    }
}

/// Converts parameter `index` (from 1) to the type its placeholder has.
pub fn bind(value: Value, ty: DataType, index: usize) -> Result<Value> {
    let mismatch = |v: &Value| {
        DbError::sql(
            SqlState::DatatypeMismatch,
            format!(
                "parameter ${index} is of type {} but the statement expects {}",
                v.data_type().map_or("unknown", DataType::sql_name),
                ty.sql_name()
            ),
        )
    };
    if value.is_null() || ty == DataType::Unknown {
        return Ok(value);
    }
    let from = value.data_type().unwrap_or(DataType::Unknown);
    let fits = from == ty
        || ty.is_string()
        || from.is_string()
        || (is_number(from) && is_number(ty))
        || (is_datetime(from) && is_datetime(ty));
    if !fits {
        return Err(mismatch(&value));
    }
    if (ty == DataType::Int2 || ty == DataType::Int4 || ty == DataType::Int8)
        && matches!(value, Value::Float4(_) | Value::Float8(_))
    {
        // A float never binds an integer silently (it would round).
        return Err(mismatch(&value));
    }
    rustydb_query::types::cast_value(value, ty, false)
}

fn is_number(t: DataType) -> bool {
    t.is_numeric()
}

fn is_datetime(t: DataType) -> bool {
    matches!(t, DataType::Date | DataType::Timestamp | DataType::TimestampTz)
}

/// A Rust type a column can be read as.
pub trait FromSql: Sized {
    /// Reads `value`; `None` if it is not of a kind this type takes.
    fn from_sql(value: &Value) -> Option<Self>;
}

impl FromSql for i64 {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => v.as_i64(),
            _ => None,
        }
    }
}

impl FromSql for i32 {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Int2(x) => Some(i32::from(*x)),
            Value::Int4(x) => Some(*x),
            _ => None,
        }
    }
}

impl FromSql for i16 {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Int2(x) => Some(*x),
            _ => None,
        }
    }
}

impl FromSql for f64 {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Float4(x) => Some(f64::from(*x)),
            Value::Float8(x) => Some(*x),
            _ => None,
        }
    }
}

impl FromSql for f32 {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Float4(x) => Some(*x),
            _ => None,
        }
    }
}

impl FromSql for bool {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromSql for String {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Null => None,
            Value::Text(s) => Some(s.clone()),
            // Dates and times read as PostgreSQL prints them.
            other => other.to_pg_text(),
        }
    }
}

impl FromSql for Value {
    fn from_sql(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// One result row, with its columns' names and types.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[ResultColumn]>,
    values: Vec<Value>,
}

/// Which column of a row: its position (from 0) or its name.
pub trait ColumnIndex {
    /// The position in `columns`, if there is one.
    fn position(&self, columns: &[ResultColumn]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[ResultColumn]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[ResultColumn]) -> Option<usize> {
        columns.iter().position(|c| c.name == *self)
    }
}

impl Row {
    pub(crate) fn new(columns: Arc<[ResultColumn]>, values: Vec<Value>) -> Self {
        Row { columns, values }
    }

    /// The column at `index` (a position or a name) as a `T`; 42703 for no such column, 42804
    /// for a value `T` cannot hold (NULL included, unless `T` is an `Option`).
    pub fn get<T: FromSql>(&self, index: impl ColumnIndex) -> Result<T> {
        let at = index
            .position(&self.columns)
            .filter(|at| *at < self.values.len())
            .ok_or_else(|| DbError::sql(SqlState::UndefinedColumn, "the row has no such column".to_string()))?;
        let value = &self.values[at];
        T::from_sql(value).ok_or_else(|| {
            let column = &self.columns[at];
            DbError::sql(
                SqlState::DatatypeMismatch,
                format!(
                    "column \"{}\" ({}) holds {}, which cannot be read as {}",
                    column.name,
                    column.data_type.sql_name(),
                    if value.is_null() { "NULL".to_string() } else { format!("{value}") },
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The columns.
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// How many columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row of no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parameters_take_the_placeholder_type_by_assignment_rules() {
        assert_eq!(bind(5i32.to_sql(), DataType::Int8, 1).unwrap(), Value::Int8(5));
        assert_eq!(bind("2000-01-02".to_sql(), DataType::Date, 1).unwrap(), Value::Date(1));
        assert_eq!(
            bind(i64::MAX.to_sql(), DataType::Int4, 1).unwrap_err().sqlstate(),
            SqlState::NumericValueOutOfRange
        );
        assert_eq!(bind(true.to_sql(), DataType::Date, 2).unwrap_err().sqlstate(), SqlState::DatatypeMismatch);
        assert_eq!(bind(1.5f64.to_sql(), DataType::Int4, 1).unwrap_err().sqlstate(), SqlState::DatatypeMismatch);
        assert_eq!(bind(None::<i32>.to_sql(), DataType::Date, 1).unwrap(), Value::Null);
        assert_eq!(bind("x".to_sql(), DataType::Int4, 1).unwrap_err().sqlstate(), SqlState::InvalidTextRepresentation);
    }

    #[test]
    fn columns_read_as_rust_types() {
        let col = |name: &str, data_type| ResultColumn { name: name.into(), data_type };
        let row = Row::new(
            vec![col("a", DataType::Int4), col("b", DataType::Text), col("c", DataType::Float8)].into(),
            vec![Value::Int4(7), Value::Null, Value::Float8(0.5)],
        );
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert_eq!(row.get::<i32>("a").unwrap(), 7);
        assert_eq!(row.get::<Option<String>>("b").unwrap(), None);
        assert_eq!(row.get::<String>("b").unwrap_err().sqlstate(), SqlState::DatatypeMismatch);
        assert_eq!(row.get::<f64>(2).unwrap(), 0.5);
        assert_eq!(row.get::<bool>(2).unwrap_err().sqlstate(), SqlState::DatatypeMismatch);
        assert_eq!(row.get::<i64>("zz").unwrap_err().sqlstate(), SqlState::UndefinedColumn);
        assert_eq!(row.get::<i64>(9).unwrap_err().sqlstate(), SqlState::UndefinedColumn);
    }
}
