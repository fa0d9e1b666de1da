//! Set-returning functions in FROM: `generate_series`, `unnest`, `generate_subscripts` and the
//! JSON ones (`json[b]_array_elements[_text]`, `json[b]_object_keys`, `json[b]_each[_text]`),
//! as [`Rel::Function`] leaves. `json[b]_each` returns two columns (`key`, `value`); the others
//! one.
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
use rustydb_foundation::{DataType, DbError, ElementType, Result, SqlState, Value};

/// A set-returning function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunc {
    /// `generate_series(start, stop [, step])` over int4 or int8, or over timestamps (or
    /// timestamptz) with an interval step.
    GenerateSeries,
    /// `unnest(array)`: the elements, in order.
    Unnest,
    /// `generate_subscripts(array, dim [, reverse])`: the subscripts of dimension `dim`.
    GenerateSubscripts,
    /// `regexp_matches(text, pattern [, flags])`: each match's groups as a text array.
    RegexpMatches,
    /// `regexp_split_to_table(text, pattern [, flags])`: the pieces between matches.
    RegexpSplitToTable,
    /// `string_to_table(text, delimiter [, null])`: the pieces between delimiters.
    StringToTable,
    /// `json[b]_array_elements[_text](array)`: its elements (as text with `text`).
    JsonArrayElements {
        /// The jsonb function (else json).
        binary: bool,
        /// The `_text` form.
        text: bool,
    },
    /// `json[b]_object_keys(object)`: its keys.
    JsonObjectKeys {
        /// The jsonb function (else json).
        binary: bool,
    },
    /// `json[b]_each[_text](object)`: its members as (key, value) rows.
    JsonEach {
        /// The jsonb function (else json).
        binary: bool,
        /// The `_text` form.
        text: bool,
    },
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
            "generate_subscripts" => Some(TableFunc::GenerateSubscripts),
            "regexp_matches" => Some(TableFunc::RegexpMatches),
            "regexp_split_to_table" => Some(TableFunc::RegexpSplitToTable),
            "string_to_table" => Some(TableFunc::StringToTable),
            "json_array_elements" => Some(TableFunc::JsonArrayElements { binary: false, text: false }),
            "jsonb_array_elements" => Some(TableFunc::JsonArrayElements { binary: true, text: false }),
            "json_array_elements_text" => Some(TableFunc::JsonArrayElements { binary: false, text: true }),
            "jsonb_array_elements_text" => Some(TableFunc::JsonArrayElements { binary: true, text: true }),
            "json_object_keys" => Some(TableFunc::JsonObjectKeys { binary: false }),
            "jsonb_object_keys" => Some(TableFunc::JsonObjectKeys { binary: true }),
            "json_each" => Some(TableFunc::JsonEach { binary: false, text: false }),
            "jsonb_each" => Some(TableFunc::JsonEach { binary: true, text: false }),
            "json_each_text" => Some(TableFunc::JsonEach { binary: false, text: true }),
            "jsonb_each_text" => Some(TableFunc::JsonEach { binary: true, text: true }),
            _ => None,
        }
    }

    /// The names of its output columns when PostgreSQL declares them (OUT parameters), which
    /// an alias does not rename; `None` for one column named after the function or alias.
    pub fn out_names(self) -> Option<&'static [&'static str]> {
        match self {
            TableFunc::JsonArrayElements { .. } => Some(&["value"]),
            TableFunc::JsonEach { .. } => Some(&["key", "value"]),
            _ => None,
        }
    }

    /// Its SQL name (also the default name of its column).
    pub fn name(self) -> &'static str {
        match self {
            TableFunc::GenerateSeries => "generate_series",
            TableFunc::Unnest => "unnest",
            TableFunc::GenerateSubscripts => "generate_subscripts",
            TableFunc::RegexpMatches => "regexp_matches",
            TableFunc::RegexpSplitToTable => "regexp_split_to_table",
            TableFunc::StringToTable => "string_to_table",
            TableFunc::JsonArrayElements { binary: false, text: false } => "json_array_elements",
            TableFunc::JsonArrayElements { binary: true, text: false } => "jsonb_array_elements",
            TableFunc::JsonArrayElements { binary: false, text: true } => "json_array_elements_text",
            TableFunc::JsonArrayElements { binary: true, text: true } => "jsonb_array_elements_text",
            TableFunc::JsonObjectKeys { binary: false } => "json_object_keys",
            TableFunc::JsonObjectKeys { binary: true } => "jsonb_object_keys",
            TableFunc::JsonEach { binary: false, text: false } => "json_each",
            TableFunc::JsonEach { binary: true, text: false } => "jsonb_each",
            TableFunc::JsonEach { binary: false, text: true } => "json_each_text",
            TableFunc::JsonEach { binary: true, text: true } => "jsonb_each_text",
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
        // The JSON functions each take one type, so an untyped literal is of that type.
        let overloaded = matches!(self, TableFunc::GenerateSeries | TableFunc::Unnest | TableFunc::GenerateSubscripts);
        // (regexp_matches('a', 'b') and its kin take text: unknown literals are text.)
        if overloaded && !types.is_empty() && types.iter().all(|t| *t == DataType::Unknown) {
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
                let stamp = |t: &DataType| t.is_datetime() || *t == DataType::Unknown;
                if let [a, b, DataType::Interval | DataType::Unknown] = types.as_slice()
                    && stamp(a)
                    && stamp(b)
                    && (a.is_datetime() || b.is_datetime())
                {
                    let ty = if *a == DataType::Timestamp || (*a == DataType::Unknown && *b == DataType::Timestamp) {
                        DataType::Timestamp
                    } else {
                        DataType::TimestampTz
                    };
                    let targets = [ty, ty, DataType::Interval];
                    let args = args
                        .into_iter()
                        .zip(targets)
                        .map(|(a, t)| cast(coerce_unknown(a, t)?, t, CastContext::Implicit))
                        .collect::<Result<Vec<_>>>()?;
                    return Ok(TableCall { func: self, args, ty });
                }
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
            TableFunc::GenerateSubscripts => {
                let int = |t: &DataType| can_cast(*t, DataType::Int4, CastContext::Implicit);
                let fits = match types.as_slice() {
                    [DataType::Array(_), dim] => int(dim),
                    [DataType::Array(_), dim, DataType::Bool | DataType::Unknown] => int(dim),
                    _ => false,
                };
                if !fits {
                    return Err(no_such());
                }
                let mut args = args.into_iter();
                let mut bound = vec![args.next().ok_or_else(no_such)?];
                bound.push(cast(
                    coerce_unknown(args.next().ok_or_else(no_such)?, DataType::Int4)?,
                    DataType::Int4,
                    CastContext::Implicit,
                )?);
                if let Some(reverse) = args.next() {
                    bound.push(coerce_unknown(reverse, DataType::Bool)?);
                }
                Ok(TableCall { func: self, args: bound, ty: DataType::Int4 })
            }
            TableFunc::RegexpMatches | TableFunc::RegexpSplitToTable | TableFunc::StringToTable => {
                let texty = |t: &DataType| t.is_string() || *t == DataType::Unknown;
                if !(2..=3).contains(&types.len()) || !types.iter().all(texty) {
                    return Err(no_such());
                }
                let args = args
                    .into_iter()
                    .map(|a| cast(coerce_unknown(a, DataType::Text)?, DataType::Text, CastContext::Implicit))
                    .collect::<Result<Vec<_>>>()?;
                let ty =
                    if self == TableFunc::RegexpMatches { DataType::Array(ElementType::Text) } else { DataType::Text };
                Ok(TableCall { func: self, args, ty })
            }
            TableFunc::JsonArrayElements { binary, text } | TableFunc::JsonEach { binary, text } => {
                self.bind_json(args, binary, text, no_such)
            }
            TableFunc::JsonObjectKeys { binary } => self.bind_json(args, binary, true, no_such),
        }
    }

    /// Binds a JSON function's one argument, of its json type (or an untyped literal); its
    /// values are text with `text`, else of the argument's type.
    fn bind_json(self, args: Vec<Expr>, binary: bool, text: bool, no_such: impl Fn() -> DbError) -> Result<TableCall> {
        {
            {
                let json = if binary { DataType::Jsonb } else { DataType::Json };
                let [arg] = <[Expr; 1]>::try_from(args).map_err(|_| no_such())?;
                if !matches!(arg.data_type(), DataType::Unknown) && arg.data_type() != json {
                    return Err(no_such());
                }
                let arg = coerce_unknown(arg, json)?;
                let ty = if text { DataType::Text } else { json };
                Ok(TableCall { func: self, args: vec![arg], ty })
            }
        }
    }
}

impl TableCall {
    /// Its output columns: their names (`None`: named after the function or alias) and types.
    pub fn columns(&self) -> Vec<(Option<&'static str>, DataType)> {
        match (self.func, self.func.out_names()) {
            (TableFunc::JsonEach { .. }, Some(names)) => {
                vec![(Some(names[0]), DataType::Text), (Some(names[1]), self.ty)]
            }
            (_, Some(names)) => vec![(Some(names[0]), self.ty)],
            (_, None) => vec![(None, self.ty)],
        }
    }

    /// How many columns it returns.
    pub fn width(&self) -> usize {
        self.func.out_names().map_or(1, <[&str]>::len)
    }

    /// The call's rows for argument values `args`.
    pub fn rows(&self, args: Vec<Value>) -> Result<Produced> {
        match self.func {
            TableFunc::GenerateSubscripts => Ok(subscripts(&args)),
            // Strict, but for string_to_table's delimiter and null string.
            _ if args[0].is_null() || (self.func != TableFunc::StringToTable && args.iter().any(Value::is_null)) => {
                Ok(Produced::Done)
            }
            TableFunc::RegexpMatches => Ok(Produced::List(crate::text_functions::regexp_matches(&args)?.into_iter())),
            TableFunc::RegexpSplitToTable | TableFunc::StringToTable => {
                let op = if self.func == TableFunc::StringToTable {
                    crate::text_functions::TextFn::StringToArray
                } else {
                    crate::text_functions::TextFn::RegexpSplitToArray
                };
                match crate::text_functions::eval_lenient(op, &args)? {
                    Value::Array(_, parts) => Ok(Produced::List(parts.into_iter())),
                    _ => Ok(Produced::Done),
                }
            }
            TableFunc::JsonArrayElements { .. } | TableFunc::JsonObjectKeys { .. } | TableFunc::JsonEach { .. } => {
                crate::json_functions::set_returning(self.func, &args[0])
            }
            TableFunc::GenerateSeries if self.ty.is_datetime() => {
                let stamp = |v: &Value| match *v {
                    Value::Timestamp(t) | Value::TimestampTz(t) => Some(t),
                    _ => None,
                };
                let (Some(start), Some(stop), Some(Value::Interval(step))) =
                    (stamp(&args[0]), stamp(&args[1]), args.get(2))
                else {
                    return Ok(Produced::Done);
                };
                if step.span() == 0 {
                    return Err(DbError::sql(SqlState::InvalidParameterValue, "step size cannot equal zero"));
                }
                Ok(Produced::TimeSeries {
                    next: Some(start),
                    stop,
                    step: *step,
                    with_zone: self.ty == DataType::TimestampTz,
                })
            }
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
    /// Timestamps from `next` to `stop`, `step` apart (added by the calendar).
    TimeSeries {
        /// The next value (`None` once past `stop`).
        next: Option<i64>,
        /// The last value allowed.
        stop: i64,
        /// The step (never zero).
        step: rustydb_foundation::Interval,
        /// Values are timestamptz (else timestamp).
        with_zone: bool,
    },
    /// A list's remaining values.
    List(std::vec::IntoIter<Value>),
    /// Two-column rows' remaining values (`json_each`).
    Pairs(std::vec::IntoIter<(Value, Value)>),
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
            Produced::TimeSeries { next, stop, step, with_zone } => {
                let current = (*next)?;
                let within = if step.span() > 0 { current <= *stop } else { current >= *stop };
                if !within {
                    *next = None;
                    return None;
                }
                // Past the timestamp range the series simply ends.
                *next = rustydb_foundation::datetime_fields::add_interval(current, step).ok().filter(|n| *n != current);
                Some(if *with_zone { Value::TimestampTz(current) } else { Value::Timestamp(current) })
            }
            Produced::List(values) => values.next(),
            Produced::Pairs(_) | Produced::Done => None,
        }
    }
}

impl Produced {
    /// Appends the next row's values to `row` (one per column of the call, `width` of them);
    /// false, and nothing appended, once there are no more.
    pub fn push_next(&mut self, row: &mut Vec<Value>) -> bool {
        if let Produced::Pairs(pairs) = self {
            let Some((key, value)) = pairs.next() else { return false };
            row.push(key);
            row.push(value);
            return true;
        }
        match self.next() {
            Some(v) => {
                row.push(v);
                true
            }
            None => false,
        }
    }
}

/// `generate_subscripts(array, dim [, reverse])`: the subscripts of dimension `dim` (arrays
/// here have one dimension, subscripts from 1); none for a NULL array or another dimension.
fn subscripts(args: &[Value]) -> Produced {
    let (Some(Value::Array(_, elements)), Some(dim)) = (args.first(), args.get(1).and_then(Value::as_i64)) else {
        return Produced::Done;
    };
    if dim != 1 || elements.is_empty() {
        return Produced::Done;
    }
    let n = elements.len() as i64;
    if matches!(args.get(2), Some(Value::Bool(true))) {
        Produced::Series { next: Some(n), stop: 1, step: -1, int4: true }
    } else {
        Produced::Series { next: Some(1), stop: n, step: 1, int4: true }
    }
}
