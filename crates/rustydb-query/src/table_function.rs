//! Set-returning functions in FROM: `generate_series` and `unnest`, as [`Rel::Function`] leaves.
//!
//! A function's rows are produced lazily, a batch at a time, so `generate_series(1, 1e9)` under
//! a LIMIT costs what the LIMIT reads. Several calls in one `ROWS FROM (...)` (or in one select
//! list, see `bind_query`) run in lockstep: row *i* holds each call's *i*-th value, NULL for a
//! call already finished, until all are — PostgreSQL's rule for both.
//!
//! Arguments may read columns of FROM items to the left: PostgreSQL makes every function in
//! FROM implicitly LATERAL, and the binder turns such a join into a [`Rel::Lateral`], which
//! runs the function once per left row.
//!
//! [`Rel::Function`]: crate::rel::Rel::Function
//! [`Rel::Lateral`]: crate::rel::Rel::Lateral

use crate::bind_expr::{cast, coerce_unknown};
use crate::expr::Expr;
use crate::types::{CastContext, can_cast};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};

/// A set-returning function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunc {
    /// `generate_series(start, stop [, step])` over int4 or int8.
    GenerateSeries,
    /// `unnest(array)`: the elements, in order.
    Unnest,
}

/// One call of a set-returning function, bound.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCall {
    /// The function.
    pub func: TableFunc,
    /// Its arguments, coerced to what the function takes.
    pub args: Vec<Expr>,
    /// The type of the values it returns.
    pub ty: DataType,
}

impl TableFunc {
    /// The set-returning function called `name`, if there is one.
    pub fn lookup(name: &str) -> Option<TableFunc> {
        match name {
            "generate_series" => Some(TableFunc::GenerateSeries),
            "unnest" => Some(TableFunc::Unnest),
            _ => None,
        }
    }

    /// Its SQL name (also the default name of its column).
    pub fn name(self) -> &'static str {
        match self {
            TableFunc::GenerateSeries => "generate_series",
            TableFunc::Unnest => "unnest",
        }
    }

    /// Binds a call: picks the variant the argument types select and coerces the arguments to
    /// it. 42883 when no variant takes them, as PostgreSQL reports an unknown function.
    pub fn bind(self, args: Vec<Expr>) -> Result<TableCall> {
        let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
        let no_such = || {
            let listed: Vec<&str> = types.iter().map(|t| t.sql_name()).collect();
            DbError::sql(
                SqlState::UndefinedFunction,
                format!("function {}({}) does not exist", self.name(), listed.join(", ")),
            )
            .with_hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            )
        };
        if !types.is_empty() && types.iter().all(|t| *t == DataType::Unknown) {
            let listed = vec!["unknown"; types.len()].join(", ");
            return Err(DbError::sql(
                SqlState::AmbiguousFunction,
                format!("function {}({listed}) is not unique", self.name()),
            )
            .with_hint("Could not choose a best candidate function. You might need to add explicit type casts."));
        }
        match self {
            TableFunc::GenerateSeries => {
                if !(2..=3).contains(&args.len()) {
                    return Err(no_such());
                }
                let integer = |t: &DataType| matches!(t, DataType::Int2 | DataType::Int4 | DataType::Unknown);
                let ty = if types.iter().all(integer) {
                    DataType::Int4
                } else if types.iter().all(|t| can_cast(*t, DataType::Int8, CastContext::Implicit)) {
                    DataType::Int8
                } else {
                    return Err(no_such());
                };
                let args = args
                    .into_iter()
                    .map(|a| cast(coerce_unknown(a, ty)?, ty, CastContext::Implicit))
                    .collect::<Result<Vec<_>>>()?;
                Ok(TableCall { func: self, args, ty })
            }
            TableFunc::Unnest => match types.as_slice() {
                [DataType::Array(element)] => Ok(TableCall { func: self, ty: element.scalar(), args }),
                _ => Err(no_such()),
            },
        }
    }
}

impl TableCall {
    /// The call's rows for argument values `args`.
    pub fn rows(&self, args: Vec<Value>) -> Result<Produced> {
        match self.func {
            TableFunc::GenerateSeries => {
                let int = |v: &Value| match v {
                    Value::Int2(i) => Some(i64::from(*i)),
                    Value::Int4(i) => Some(i64::from(*i)),
                    Value::Int8(i) => Some(*i),
                    _ => None,
                };
                // A NULL argument: no rows.
                let (Some(start), Some(stop)) = (int(&args[0]), int(&args[1])) else {
                    return Ok(Produced::Done);
                };
                let step = match args.get(2) {
                    None => 1,
                    Some(v) => match int(v) {
                        Some(s) => s,
                        None => return Ok(Produced::Done),
                    },
                };
                if step == 0 {
                    return Err(DbError::sql(SqlState::InvalidParameterValue, "step size cannot equal zero"));
                }
                Ok(Produced::Series { next: Some(start), stop, step, int4: self.ty == DataType::Int4 })
            }
            TableFunc::Unnest => match args.into_iter().next() {
                Some(Value::Array(_, elements)) => Ok(Produced::List(elements.into_iter())),
                _ => Ok(Produced::Done),
            },
        }
    }
}

/// The values a call produces, one at a time.
#[derive(Debug)]
pub enum Produced {
    /// An arithmetic series: the next value (`None` once past `stop` or out of range).
    Series {
        /// The next value.
        next: Option<i64>,
        /// The last value allowed.
        stop: i64,
        /// The step (never 0).
        step: i64,
        /// Values are int4 (else int8).
        int4: bool,
    },
    /// A list's remaining values.
    List(std::vec::IntoIter<Value>),
    /// Nothing more.
    Done,
}

impl Iterator for Produced {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        match self {
            Produced::Series { next, stop, step, int4 } => {
                let current = (*next)?;
                let within = if *step > 0 { current <= *stop } else { current >= *stop };
                if !within {
                    *next = None;
                    return None;
                }
                *next = current.checked_add(*step);
                Some(if *int4 { Value::Int4(current as i32) } else { Value::Int8(current) })
            }
            Produced::List(values) => values.next(),
            Produced::Done => None,
        }
    }
}
