//! Built-in scalar functions: which exist, the types they take and give (`resolve`, called by
//! the binder) and what they compute (`call`, called by [`Expr::eval`]). One place per
//! function, so adding one touches this file only. Names, argument types and errors follow
//! PostgreSQL 15: a call no signature matches is 42883 with PostgreSQL's hint.

use crate::admin_functions::AdminCall as Admin;
use crate::bind_expr::{cast, coerce_unknown};
use crate::expr::{EvalEnv, Expr, negate};
use crate::types::{CastContext, common_type, out_of_range};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};

/// A built-in scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `version()`
    Version,
    /// `current_user`, `session_user`, `user`
    CurrentUser,
    /// `session_user`: who logged in, whatever `SET ROLE` made current.
    SessionUser,
    /// `current_database()`
    CurrentDatabase,
    /// `current_schema()`
    CurrentSchema,
    /// `upper(text)`
    Upper,
    /// `lower(text)`
    Lower,
    /// `length(text)`, `char_length(text)`
    Length,
    /// `abs(number)`
    Abs,
    /// `extract(unit FROM datetime)`: a numeric.
    Extract,
    /// `date_part(unit, datetime)`: a double precision.
    DatePart,
    /// `date_trunc(unit, timestamp)`
    DateTrunc,
    /// `age(timestamp, timestamp)`, `age(timestamp)`
    Age,
    /// `justify_hours(interval)`
    JustifyHours,
    /// `justify_days(interval)`
    JustifyDays,
    /// `justify_interval(interval)`
    JustifyInterval,
    /// `coalesce(...)`
    Coalesce,
    /// `nullif(a, b)`
    NullIf,
    /// `greatest(...)`
    Greatest,
    /// `least(...)`
    Least,
    /// `round(x)`, `round(x, digits)`
    Round,
    /// `trunc(x)`
    Trunc,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`, `ceiling(x)`
    Ceil,
    /// `sqrt(x)`
    Sqrt,
    /// `power(x, y)`, `pow(x, y)`
    Power,
    /// `mod(a, b)`
    Mod,
    /// `sign(x)`
    Sign,
    /// `substr(s, from [, count])`, `substring(s from a for b)`
    Substr,
    /// `btrim(s [, chars])`, `trim(s)`
    Btrim,
    /// `ltrim(s [, chars])`
    Ltrim,
    /// `rtrim(s [, chars])`
    Rtrim,
    /// `replace(s, from, to)`
    Replace,
    /// `concat(...)`: NULLs ignored
    Concat,
    /// `strpos(s, sub)`, `position(sub in s)`
    Strpos,
    /// `left(s, n)`
    Left,
    /// `right(s, n)`
    Right,
    /// `repeat(s, n)`
    Repeat,
    /// `reverse(s)`
    Reverse,
    /// `length(bytea)`, `octet_length(bytea | text)`: bytes
    OctetLength,
    /// `encode(bytea, format)`
    Encode,
    /// `decode(text, format)`
    Decode,
    /// `gen_random_uuid()`
    GenRandomUuid,
    /// A JSON operator or function.
    Json(crate::json_functions::JsonOp),
    /// `nextval(regclass)`, `currval(regclass)`, `setval(regclass, bigint [, boolean])`,
    /// `lastval()`: volatile, evaluated through the statement's context.
    Sequence(crate::sequence::SequenceCall),
    /// The encryption key functions (`rustydb_rotate_table_key` and the like): evaluated
    /// through the statement's context.
    Key(crate::encryption::KeyCall),
    /// `pg_sleep`, `pg_backend_pid`, `pg_cancel_backend`, `pg_terminate_backend`: evaluated
    /// through the statement's context.
    Admin(crate::admin_functions::AdminCall),
    /// `ARRAY[a, b, ...]`: its elements (NULLs kept).
    ArrayOf(rustydb_foundation::ElementType),
    /// `x op ANY (array)` / `x op ALL (array)`.
    Quantified {
        /// The comparison.
        op: crate::expr::BinaryOp,
        /// ALL rather than ANY.
        all: bool,
    },
    /// `array_to_string(array, delimiter [, null_string])`
    ArrayToString,
    /// `array_length(array, dimension)`: NULL for an empty array or another dimension.
    ArrayLength,
    /// `cardinality(array)`: the number of elements.
    Cardinality,
    /// `array[i]`: the i-th element (from 1), NULL past either end.
    Subscript,
    /// `format_type(type_oid, typmod)`: the type's SQL name, with its length if it has one.
    FormatType,
    /// `array || array` (`array_cat`): a NULL array counts as empty.
    ArrayCat,
    /// A string function of [`crate::text_functions`].
    Text(crate::text_functions::TextFn),
    /// A mathematical function of [`crate::math_functions`].
    Math(crate::math_functions::MathFn),
    /// `to_char`, `to_date`, `to_timestamp`, `to_number` ([`crate::formatting`]).
    Format(crate::formatting::FormatFn),
    /// An array function of [`crate::array_functions`], with the element type of the array
    /// it builds or reads.
    Array(crate::array_functions::ArrayFn, rustydb_foundation::ElementType),
    /// A date/time function of [`crate::datetime_functions`].
    Time(crate::datetime_functions::TimeFn),
    /// `to_json`, `json_build_object` and the like ([`crate::json_build`]).
    JsonBuild(crate::json_build::JsonBuild),
}

impl Function {
    /// True for functions whose every call may give a new value (never folded at bind time).
    pub fn is_volatile(self) -> bool {
        match self {
            Function::Sequence(_) | Function::Key(_) | Function::Admin(_) | Function::GenRandomUuid => true,
            Function::Math(m) => m.is_volatile(),
            Function::Time(t) => t == crate::datetime_functions::TimeFn::TimeOfDay,
            _ => false,
        }
    }
}

/// `array[index]`.
pub fn subscript(array: Expr, index: Expr) -> Result<Expr> {
    let DataType::Array(element) = array.data_type() else {
        return Err(DbError::sql(
            SqlState::DatatypeMismatch,
            format!("cannot subscript type {} because it does not support subscripting", array.data_type().sql_name()),
        ));
    };
    if !(index.data_type().is_integer() || index.data_type() == DataType::Unknown) {
        return Err(DbError::sql(SqlState::DatatypeMismatch, "array subscript must have type integer"));
    }
    let index = cast(index, DataType::Int4, CastContext::Implicit)?;
    Ok(Expr::Call { func: Function::Subscript, args: vec![array, index], ty: element.scalar() })
}

/// `ARRAY[a, b, ...]`: the elements resolve to one type together, as CASE branches do.
pub fn array_constructor(elements: Vec<Expr>) -> Result<Expr> {
    if elements.is_empty() {
        return Err(DbError::sql(SqlState::IndeterminateDatatype, "cannot determine type of empty array")
            .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."));
    }
    let types: Vec<DataType> = elements.iter().map(Expr::data_type).collect();
    let common = common_type(&types, "ARRAY")?;
    let element = rustydb_foundation::ElementType::of(common)
        .ok_or_else(|| DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported"))?;
    let args =
        elements.into_iter().map(|e| cast(e, element.scalar(), CastContext::Implicit)).collect::<Result<Vec<_>>>()?;
    Ok(Expr::Call { func: Function::ArrayOf(element), args, ty: DataType::Array(element) })
}

/// `a || b` where either side is an array: two arrays of one element type joined, or an
/// element appended or prepended (an untyped literal beside an array is read as an array).
/// `None` when neither side is an array.
pub fn array_concat(left: Expr, right: Expr) -> Result<Option<Expr>> {
    let element = match (left.data_type(), right.data_type()) {
        (DataType::Array(e), _) | (_, DataType::Array(e)) => e,
        _ => return Ok(None),
    };
    let array_type = DataType::Array(element);
    let as_array = |e: Expr| -> Result<Expr> {
        match e.data_type() {
            DataType::Unknown => coerce_unknown(e, array_type),
            DataType::Array(_) => cast(e, array_type, CastContext::Implicit),
            _ => {
                let e = cast(coerce_unknown(e, element.scalar())?, element.scalar(), CastContext::Implicit)?;
                Ok(Expr::Call { func: Function::ArrayOf(element), args: vec![e], ty: array_type })
            }
        }
    };
    let args = vec![as_array(left)?, as_array(right)?];
    Ok(Some(Expr::Call { func: Function::ArrayCat, args, ty: array_type }))
}

/// `arg op ANY (array)` / `arg op ALL (array)`. An untyped literal on the right is read as an
/// array of the left side's type (`oid = ANY ('{1,2}')`), as PostgreSQL resolves it.
pub fn quantified_array(arg: Expr, op: crate::expr::BinaryOp, array: Expr, all: bool) -> Result<Expr> {
    let quantifier = if all { "ALL" } else { "ANY" };
    let array = match array.data_type() {
        DataType::Array(_) => array,
        DataType::Unknown => {
            let left = if arg.data_type() == DataType::Unknown { DataType::Text } else { arg.data_type() };
            let element = rustydb_foundation::ElementType::of(left).ok_or_else(|| {
                DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported")
            })?;
            cast(array, DataType::Array(element), CastContext::Explicit)?
        }
        other => {
            return Err(DbError::sql(
                SqlState::WrongObjectType,
                format!("op {quantifier} (array) requires array on right side, not {}", other.sql_name()),
            ));
        }
    };
    let DataType::Array(element) = array.data_type() else {
        return Err(DbError::Internal("an array of no array type".into()));
    };
    // Type-check the comparison as `arg op element` would be.
    let probe = crate::bind_expr::binary(op, arg.clone(), Expr::Column { index: usize::MAX, ty: element.scalar() })?;
    let arg = match probe {
        Expr::Binary { left, .. } => *left,
        _ => coerce_unknown(arg, element.scalar())?,
    };
    Ok(Expr::Call { func: Function::Quantified { op, all }, args: vec![arg, array], ty: DataType::Bool })
}

/// 42883: no function `name` takes arguments of `types`, with PostgreSQL's detail.
pub(crate) fn no_function(name: &str, types: &[DataType]) -> DbError {
    let list: Vec<&str> = types.iter().map(|t| t.sql_name()).collect();
    DbError::sql(SqlState::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
        .with_detail(
            "No function matches the given name and argument types. You might need to add explicit type casts.",
        )
}

/// Binds a call of `name` (lower case, schema stripped) to a function; `bare` for the
/// SQL-standard forms written without parentheses (`current_user`).
pub fn resolve(name: &str, args: Vec<Expr>, bare: bool) -> Result<Expr> {
    use DataType as T;
    let args = match crate::array_functions::bind(name, args)? {
        Ok(call) => return Ok(call),
        Err(args) => args,
    };
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let call = |func, args: Vec<Expr>, ty| Ok(Expr::Call { func, args, ty });
    let to = |args: Vec<Expr>, tys: &[DataType]| -> Result<Vec<Expr>> {
        args.into_iter().zip(tys).map(|(a, t)| cast(a, *t, CastContext::Implicit)).collect()
    };
    let stringy = |t: &DataType| t.is_string();
    let integral = |t: &DataType| t.is_integer() || *t == T::Unknown;
    let numeric = |t: &DataType| t.is_numeric() || *t == T::Unknown;
    let exact = |t: &DataType| matches!(t, T::Numeric(_));
    let decimal = |t: &DataType| t.is_integer() || exact(t) || *t == T::Unknown;
    const NUMERIC: DataType = T::Numeric(None);
    let same = |args: Vec<Expr>, what: &str| -> Result<(Vec<Expr>, DataType)> {
        let ty = common_type(&types, what)?;
        Ok((args.into_iter().map(|a| cast(a, ty, CastContext::Implicit)).collect::<Result<_>>()?, ty))
    };
    match (name, types.as_slice()) {
        ("version", []) => call(Function::Version, args, T::Text),
        ("nextval" | "currval", [t]) if stringy(t) || *t == T::Unknown => {
            use crate::sequence::SequenceCall as S;
            let which = if name == "nextval" { S::Next } else { S::Current };
            call(Function::Sequence(which), to(args, &[T::Text])?, T::Int8)
        }
        ("setval", [t, n]) if (stringy(t) || *t == T::Unknown) && integral(n) => {
            call(Function::Sequence(crate::sequence::SequenceCall::Set), to(args, &[T::Text, T::Int8])?, T::Int8)
        }
        ("setval", [t, n, b])
            if (stringy(t) || *t == T::Unknown) && integral(n) && matches!(b, T::Bool | T::Unknown) =>
        {
            let args = to(args, &[T::Text, T::Int8, T::Bool])?;
            call(Function::Sequence(crate::sequence::SequenceCall::Set), args, T::Int8)
        }
        ("rustydb_rotate_table_key", [t]) if stringy(t) || *t == T::Unknown => {
            call(Function::Key(crate::encryption::KeyCall::RotateTableKey), to(args, &[T::Text])?, T::Int8)
        }
        ("rustydb_table_key_id", [t]) if stringy(t) || *t == T::Unknown => {
            call(Function::Key(crate::encryption::KeyCall::TableKeyId), to(args, &[T::Text])?, T::Int8)
        }
        ("pg_sleep", [t]) if numeric(t) => call(Function::Admin(Admin::Sleep), to(args, &[T::Float8])?, T::Text),
        ("pg_backend_pid", []) => call(Function::Admin(Admin::BackendPid), args, T::Int4),
        ("pg_relation_size" | "pg_table_size" | "pg_indexes_size" | "pg_total_relation_size", [r, rest @ ..])
            if (integral(r) || stringy(r) || *r == T::Unknown)
                && (rest.is_empty()
                    || (name == "pg_relation_size" && matches!(rest, [f] if stringy(f) || *f == T::Unknown))) =>
        {
            use crate::size_functions::SizeOf;
            let what = match name {
                "pg_relation_size" => SizeOf::Relation,
                "pg_table_size" => SizeOf::Table,
                "pg_indexes_size" => SizeOf::Indexes,
                _ => SizeOf::Total,
            };
            let relation = if stringy(r) || *r == T::Unknown { T::Text } else { T::Int8 };
            let types: Vec<T> = std::iter::once(relation).chain(rest.iter().map(|_| T::Text)).collect();
            call(Function::Admin(Admin::Size(what)), to(args, &types)?, T::Int8)
        }
        ("pg_database_size", [d]) if integral(d) || stringy(d) || *d == T::Unknown => {
            let ty = if stringy(d) || *d == T::Unknown { T::Text } else { T::Int8 };
            call(Function::Admin(Admin::Size(crate::size_functions::SizeOf::Database)), to(args, &[ty])?, T::Int8)
        }
        ("pg_cancel_backend", [t]) if integral(t) => {
            call(Function::Admin(Admin::Cancel), to(args, &[T::Int4])?, T::Bool)
        }
        ("pg_terminate_backend", [t]) if integral(t) => {
            call(Function::Admin(Admin::Terminate), to(args, &[T::Int4])?, T::Bool)
        }
        ("pg_terminate_backend", [t, n]) if integral(t) && integral(n) => {
            call(Function::Admin(Admin::Terminate), to(args, &[T::Int4, T::Int8])?, T::Bool)
        }
        ("rustydb_rotate_master_key", []) => {
            call(Function::Key(crate::encryption::KeyCall::RotateMasterKey), args, T::Int8)
        }
        ("array_to_string", [DataType::Array(_), d]) if stringy(d) => {
            let mut args = args;
            let delimiter = args.remove(1);
            args.push(cast(delimiter, T::Text, CastContext::Implicit)?);
            call(Function::ArrayToString, args, T::Text)
        }
        ("array_to_string", [DataType::Array(_), d, n]) if stringy(d) && stringy(n) => {
            let mut args = args.into_iter();
            let array = args.next().unwrap_or(Expr::literal(Value::Null));
            let rest = to(args.collect(), &[T::Text, T::Text])?;
            call(Function::ArrayToString, std::iter::once(array).chain(rest).collect(), T::Text)
        }
        // Arrays are one-dimensional and start at 1: the upper bound is the length.
        ("array_length" | "array_upper", [DataType::Array(_), d]) if integral(d) => {
            let mut args = args;
            let dimension = args.remove(1);
            args.push(cast(dimension, T::Int4, CastContext::Implicit)?);
            call(Function::ArrayLength, args, T::Int4)
        }
        ("cardinality", [DataType::Array(_)]) => call(Function::Cardinality, args, T::Int4),
        ("format_type", [o, m]) if integral(o) && integral(m) => {
            call(Function::FormatType, to(args, &[T::Int4, T::Int4])?, T::Text)
        }
        ("lastval", []) => call(Function::Sequence(crate::sequence::SequenceCall::Last), args, T::Int8),
        ("current_user" | "user" | "current_role", []) if bare => call(Function::CurrentUser, args, T::Text),
        ("session_user", []) if bare => call(Function::SessionUser, args, T::Text),
        ("current_database", []) => call(Function::CurrentDatabase, args, T::Text),
        ("current_schema", []) => call(Function::CurrentSchema, args, T::Text),
        ("upper", [t]) if stringy(t) => call(Function::Upper, to(args, &[T::Text])?, T::Text),
        ("lower", [t]) if stringy(t) => call(Function::Lower, to(args, &[T::Text])?, T::Text),
        ("length" | "char_length" | "character_length", [t]) if stringy(t) => {
            call(Function::Length, to(args, &[T::Text])?, T::Int4)
        }
        ("reverse", [t]) if stringy(t) => call(Function::Reverse, to(args, &[T::Text])?, T::Text),
        ("length" | "octet_length", [T::Bytea]) => call(Function::OctetLength, args, T::Int4),
        ("octet_length", [t]) if stringy(t) => call(Function::OctetLength, to(args, &[T::Text])?, T::Int4),
        ("encode", [T::Bytea | T::Unknown, f]) if stringy(f) => {
            call(Function::Encode, to(args, &[T::Bytea, T::Text])?, T::Text)
        }
        ("decode", [t, f]) if stringy(t) && stringy(f) => {
            call(Function::Decode, to(args, &[T::Text, T::Text])?, T::Bytea)
        }
        ("gen_random_uuid", []) => call(Function::GenRandomUuid, args, T::Uuid),
        // int2 and int4 cast implicitly to both bigint and numeric, PostgreSQL's two versions.
        ("pg_size_pretty", [t @ (T::Int2 | T::Int4)]) => Err(DbError::sql(
            SqlState::AmbiguousFunction,
            format!("function pg_size_pretty({}) is not unique", t.sql_name()),
        )
        .with_hint("Could not choose a best candidate function. You might need to add explicit type casts.")),
        (name, _) if let Some((op, targets, ty)) = crate::json_functions::function(name, &args) => {
            call(Function::Json(op), to(args, &targets)?, ty)
        }
        ("extract", [T::Text, T::Timestamp | T::TimestampTz | T::Date | T::Interval]) => {
            call(Function::Extract, args, NUMERIC)
        }
        ("date_part", [u, T::Timestamp | T::TimestampTz | T::Date | T::Interval]) if stringy(u) => {
            let mut args = args;
            let unit = args.remove(0);
            args.insert(0, coerce_unknown(unit, T::Text)?);
            call(Function::DatePart, args, T::Float8)
        }
        ("date_trunc", [u, t @ (T::Timestamp | T::TimestampTz | T::Date)]) if stringy(u) => {
            let ty = if *t == T::Timestamp { T::Timestamp } else { T::TimestampTz };
            call(Function::DateTrunc, to(args, &[T::Text, ty])?, ty)
        }
        ("age", [a, b]) if [a, b].iter().all(|t| t.is_datetime() || **t == T::Unknown) => {
            let ty = if [a, b].contains(&&T::TimestampTz) { T::TimestampTz } else { T::Timestamp };
            call(Function::Age, to(args, &[ty, ty])?, T::Interval)
        }
        ("age", [t]) if t.is_datetime() || *t == T::Unknown => {
            let ty = if *t == T::TimestampTz { T::TimestampTz } else { T::Timestamp };
            call(Function::Age, to(args, &[ty])?, T::Interval)
        }
        ("justify_hours", [T::Interval | T::Unknown]) => {
            call(Function::JustifyHours, to(args, &[T::Interval])?, T::Interval)
        }
        ("justify_days", [T::Interval | T::Unknown]) => {
            call(Function::JustifyDays, to(args, &[T::Interval])?, T::Interval)
        }
        ("justify_interval", [T::Interval | T::Unknown]) => {
            call(Function::JustifyInterval, to(args, &[T::Interval])?, T::Interval)
        }
        ("abs", [t]) if exact(t) => call(Function::Abs, args, NUMERIC),
        ("abs", [t]) if t.is_numeric() => call(Function::Abs, args, *t),
        ("abs", [T::Unknown]) => call(Function::Abs, to(args, &[T::Float8])?, T::Float8),
        ("sign", [t]) if exact(t) => call(Function::Sign, args, NUMERIC),
        ("sign", [t]) if numeric(t) => {
            let ty = if t.is_numeric() { *t } else { T::Float8 };
            call(Function::Sign, to(args, &[ty])?, ty)
        }
        ("coalesce", [_, ..]) => {
            let (args, ty) = same(args, "COALESCE")?;
            call(Function::Coalesce, args, ty)
        }
        ("nullif", [_, _]) => {
            // PostgreSQL returns the first argument of the implied `=`, promoted to the common
            // type (NULLIF(1, 2.2) is numeric).
            let (args, ty) = same(args, "NULLIF")?;
            call(Function::NullIf, args, ty)
        }
        ("greatest" | "least", [_, ..]) => {
            let (args, ty) = same(args, &name.to_uppercase())?;
            call(if name == "greatest" { Function::Greatest } else { Function::Least }, args, ty)
        }
        // The numeric versions for numeric arguments; the double precision ones for the rest,
        // as PostgreSQL resolves them (round(2) is double precision, round(2, 1) numeric).
        ("round" | "trunc", [t]) if exact(t) => {
            let f = if name == "round" { Function::Round } else { Function::Trunc };
            call(f, args, NUMERIC)
        }
        ("round" | "trunc", [t]) if numeric(t) => {
            let f = if name == "round" { Function::Round } else { Function::Trunc };
            call(f, to(args, &[T::Float8])?, T::Float8)
        }
        ("round" | "trunc", [t, d]) if decimal(t) && integral(d) => {
            let f = if name == "round" { Function::Round } else { Function::Trunc };
            call(f, to(args, &[NUMERIC, T::Int4])?, NUMERIC)
        }
        ("floor", [t]) if exact(t) => call(Function::Floor, args, NUMERIC),
        ("ceil" | "ceiling", [t]) if exact(t) => call(Function::Ceil, args, NUMERIC),
        ("sqrt", [t]) if exact(t) => call(Function::Sqrt, args, NUMERIC),
        ("floor", [t]) if numeric(t) => call(Function::Floor, to(args, &[T::Float8])?, T::Float8),
        ("ceil" | "ceiling", [t]) if numeric(t) => call(Function::Ceil, to(args, &[T::Float8])?, T::Float8),
        ("sqrt", [t]) if numeric(t) => call(Function::Sqrt, to(args, &[T::Float8])?, T::Float8),
        ("mod", [a, b]) if (exact(a) || exact(b)) && decimal(a) && decimal(b) => {
            call(Function::Mod, to(args, &[NUMERIC, NUMERIC])?, NUMERIC)
        }
        ("power" | "pow", [a, b]) if numeric(a) && numeric(b) => {
            call(Function::Power, to(args, &[T::Float8, T::Float8])?, T::Float8)
        }
        ("mod", [a, b]) if integral(a) && integral(b) => {
            let (args, ty) = same(args, "mod")?;
            let ty = if ty.is_integer() { ty } else { T::Int4 };
            call(Function::Mod, to(args, &[ty, ty])?, ty)
        }
        ("substr" | "substring", [s, a]) if stringy(s) && integral(a) => {
            call(Function::Substr, to(args, &[T::Text, T::Int4])?, T::Text)
        }
        ("substr" | "substring", [s, a, b]) if stringy(s) && integral(a) && integral(b) => {
            call(Function::Substr, to(args, &[T::Text, T::Int4, T::Int4])?, T::Text)
        }
        ("btrim" | "ltrim" | "rtrim", [s]) if stringy(s) => call(trim_function(name), to(args, &[T::Text])?, T::Text),
        ("btrim" | "ltrim" | "rtrim", [s, c]) if stringy(s) && stringy(c) => {
            call(trim_function(name), to(args, &[T::Text, T::Text])?, T::Text)
        }
        ("replace", [a, b, c]) if stringy(a) && stringy(b) && stringy(c) => {
            call(Function::Replace, to(args, &[T::Text, T::Text, T::Text])?, T::Text)
        }
        ("concat", _) => {
            let args = args.into_iter().map(|a| coerce_unknown(a, T::Text)).collect::<Result<Vec<_>>>()?;
            call(Function::Concat, args, T::Text)
        }
        ("strpos", [a, b]) if stringy(a) && stringy(b) => {
            call(Function::Strpos, to(args, &[T::Text, T::Text])?, T::Int4)
        }
        ("left" | "right", [s, n]) if stringy(s) && integral(n) => {
            let f = if name == "left" { Function::Left } else { Function::Right };
            call(f, to(args, &[T::Text, T::Int4])?, T::Text)
        }
        ("repeat", [s, n]) if stringy(s) && integral(n) => {
            call(Function::Repeat, to(args, &[T::Text, T::Int4])?, T::Text)
        }
        (name, _) if let Some((op, casts, ty)) = crate::text_functions::signature(name, &types) => {
            use crate::text_functions::Arg;
            let args = args
                .into_iter()
                .zip(casts)
                .map(|(a, c)| match c {
                    Arg::To(t) => cast(a, t, CastContext::Implicit),
                    Arg::Any => coerce_unknown(a, T::Text),
                })
                .collect::<Result<Vec<_>>>()?;
            call(Function::Text(op), args, ty)
        }
        (name, _) if let Some((op, casts, ty)) = crate::math_functions::signature(name, &types) => {
            call(Function::Math(op), to(args, &casts)?, ty)
        }
        (name, _) if let Some((op, casts, ty)) = crate::formatting::signature(name, &types) => {
            call(Function::Format(op), to(args, &casts)?, ty)
        }
        (name, _) if let Some((op, casts, ty)) = crate::datetime_functions::signature(name, &types) => {
            call(Function::Time(op), to(args, &casts)?, ty)
        }
        (name, _) if let Some((op, ty)) = crate::json_build::signature(name, args.len()) => {
            let args = args.into_iter().map(|a| coerce_unknown(a, T::Text)).collect::<Result<Vec<_>>>()?;
            call(Function::JsonBuild(op), args, ty)
        }
        _ => Err(no_function(name, &types)),
    }
}

fn trim_function(name: &str) -> Function {
    match name {
        "ltrim" => Function::Ltrim,
        "rtrim" => Function::Rtrim,
        _ => Function::Btrim,
    }
}

/// Evaluates a call. Arguments are evaluated lazily where the function allows (COALESCE stops
/// at the first non-NULL); most functions are strict: a NULL argument gives NULL.
pub fn call(func: Function, args: &[Expr], row: &[Value], env: &EvalEnv<'_>) -> Result<Value> {
    match func {
        Function::Version => return Ok(Value::Text(rustydb_foundation::version::version_string())),
        Function::CurrentUser => return Ok(Value::Text(env.user.to_string())),
        Function::SessionUser => return Ok(Value::Text(env.session_user.to_string())),
        Function::CurrentDatabase => return Ok(Value::Text(env.database.to_string())),
        // Bound to a constant where a session binds it (`pg_catalog::bind_function`).
        Function::CurrentSchema => return Ok(Value::Text("public".into())),
        Function::Sequence(which) => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            let runner = env
                .subqueries
                .ok_or_else(|| DbError::Internal("a sequence function evaluated without a context".into()))?;
            return runner.sequence(which, &values);
        }
        Function::ArrayOf(element) => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            return Ok(Value::Array(element, values));
        }
        Function::ArrayCat => {
            let (left, right) = (args[0].eval(row, env)?, args[1].eval(row, env)?);
            return Ok(match (left, right) {
                (Value::Array(e, mut a), Value::Array(_, b)) => {
                    a.extend(b);
                    Value::Array(e, a)
                }
                (a @ Value::Array(..), _) | (_, a @ Value::Array(..)) => a,
                _ => Value::Null,
            });
        }
        Function::Quantified { op, all } => {
            let arg = args[0].eval(row, env)?;
            let Value::Array(_, elements) = args[1].eval(row, env)? else { return Ok(Value::Null) };
            let mut saw_null = false;
            for element in elements {
                match crate::expr::binary(op, arg.clone(), element, DataType::Bool)? {
                    Value::Bool(b) if b != all => return Ok(Value::Bool(b)),
                    Value::Bool(_) => {}
                    _ => saw_null = true,
                }
            }
            return Ok(if saw_null { Value::Null } else { Value::Bool(all) });
        }
        Function::ArrayToString => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            let (Value::Array(_, elements), Value::Text(delimiter)) = (&values[0], &values[1]) else {
                return Ok(Value::Null);
            };
            let null = match values.get(2) {
                Some(Value::Text(t)) => Some(t.as_str()),
                _ => None,
            };
            let pieces: Vec<String> =
                elements.iter().filter_map(|e| e.to_pg_text().or_else(|| null.map(str::to_string))).collect();
            return Ok(Value::Text(pieces.join(delimiter)));
        }
        Function::Key(which) => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            let runner =
                env.subqueries.ok_or_else(|| DbError::Internal("a key function evaluated without a context".into()))?;
            return runner.key(which, &values);
        }
        Function::Admin(which) => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            let runner = env
                .subqueries
                .ok_or_else(|| DbError::Internal("an administration function evaluated without a context".into()))?;
            return runner.admin(which, &values);
        }
        Function::Coalesce => {
            for a in args {
                let v = a.eval(row, env)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            return Ok(Value::Null);
        }
        Function::Concat => {
            let mut out = String::new();
            for a in args {
                if let Some(text) = a.eval(row, env)?.to_pg_text() {
                    out.push_str(&text);
                }
            }
            return Ok(Value::Text(out));
        }
        Function::Greatest | Function::Least => {
            // NULLs are ignored; the result is NULL only if every argument is.
            let mut best: Option<Value> = None;
            for a in args {
                let v = a.eval(row, env)?;
                if v.is_null() {
                    continue;
                }
                let better = best.as_ref().is_none_or(|b| {
                    let ord = v.sql_cmp(b).unwrap_or(std::cmp::Ordering::Equal);
                    if func == Function::Greatest { ord.is_gt() } else { ord.is_lt() }
                });
                if better {
                    best = Some(v);
                }
            }
            return Ok(best.unwrap_or(Value::Null));
        }
        Function::Array(op, element) if !op.is_strict() => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            return crate::array_functions::eval(op, element, &values);
        }
        Function::JsonBuild(op) if !op.is_strict() => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            return crate::json_build::eval(op, &values);
        }
        Function::Text(op) if !op.is_strict() => {
            let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
            return crate::text_functions::eval_lenient(op, &values);
        }
        Function::NullIf => {
            let a = args[0].eval(row, env)?;
            let b = args[1].eval(row, env)?;
            return Ok(if !a.is_null() && a.sql_cmp(&b) == Some(std::cmp::Ordering::Equal) { Value::Null } else { a });
        }
        _ => {}
    }
    let values = args.iter().map(|a| a.eval(row, env)).collect::<Result<Vec<_>>>()?;
    if values.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    strict(func, values)
}

/// A text argument's string (`""` for any other value; callers have checked the type).
pub(crate) fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}

/// An integer argument's value (0 for any other value).
pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// A numeric argument's value as a double (0 for any other value).
pub(crate) fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// A strict function of non-NULL arguments.
fn strict(func: Function, v: Vec<Value>) -> Result<Value> {
    let f8 = |x: f64| -> Result<Value> {
        if x.is_infinite() {
            return Err(out_of_range(DataType::Float8));
        }
        Ok(Value::Float8(x))
    };
    Ok(match func {
        Function::Upper => Value::Text(text(&v[0]).to_uppercase()),
        Function::Lower => Value::Text(text(&v[0]).to_lowercase()),
        Function::Length => Value::Int4(text(&v[0]).chars().count() as i32),
        Function::Reverse => Value::Text(text(&v[0]).chars().rev().collect()),
        Function::OctetLength => Value::Int4(match &v[0] {
            Value::Bytea(b) => b.len(),
            other => text(other).len(),
        } as i32),
        Function::Encode => match &v[0] {
            Value::Bytea(b) => Value::Text(crate::bytea_functions::encode(b, text(&v[1]))?),
            _ => Value::Null,
        },
        Function::Decode => Value::Bytea(crate::bytea_functions::decode(text(&v[0]), text(&v[1]))?),
        Function::GenRandomUuid => Value::Uuid(crate::bytea_functions::random_uuid()?),
        Function::Json(op) => crate::json_functions::eval(op, &v)?,
        Function::Text(op) => crate::text_functions::eval(op, &v)?,
        Function::Math(op) => crate::math_functions::eval(op, &v)?,
        Function::Format(op) => crate::formatting::eval(op, &v)?,
        Function::Array(op, element) => crate::array_functions::eval(op, element, &v)?,
        Function::Time(op) => crate::datetime_functions::eval(op, &v)?,
        Function::JsonBuild(op) => crate::json_build::eval(op, &v)?,
        Function::ArrayLength => match (&v[0], int(&v[1])) {
            (Value::Array(_, elements), 1) if !elements.is_empty() => Value::Int4(elements.len() as i32),
            _ => Value::Null,
        },
        Function::Subscript => match &v[0] {
            Value::Array(_, elements) => {
                usize::try_from(int(&v[1]) - 1).ok().and_then(|i| elements.get(i).cloned()).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        Function::FormatType => Value::Text(format_type(int(&v[0]), int(&v[1]))),
        Function::Cardinality => match &v[0] {
            Value::Array(_, elements) => Value::Int4(elements.len() as i32),
            _ => Value::Null,
        },
        Function::Abs
        | Function::Sign
        | Function::Round
        | Function::Trunc
        | Function::Floor
        | Function::Ceil
        | Function::Sqrt
        | Function::Mod
            if matches!(v[0], Value::Numeric(_)) =>
        {
            numeric_function(func, &v)?
        }
        Function::Extract
        | Function::DatePart
        | Function::DateTrunc
        | Function::Age
        | Function::JustifyHours
        | Function::JustifyDays
        | Function::JustifyInterval => datetime_function(func, &v)?,
        Function::Abs => {
            let x = v.into_iter().next().unwrap_or(Value::Null);
            let below_zero = match &x {
                Value::Float4(_) | Value::Float8(_) => x.as_f64().is_some_and(|f| f < 0.0),
                _ => x.as_i64().is_some_and(|i| i < 0),
            };
            if below_zero { negate(x)? } else { x }
        }
        Function::Sign => match &v[0] {
            Value::Float4(f) => Value::Float4(if *f > 0.0 {
                1.0
            } else if *f < 0.0 {
                -1.0
            } else {
                0.0
            }),
            Value::Float8(f) => Value::Float8(if *f > 0.0 {
                1.0
            } else if *f < 0.0 {
                -1.0
            } else {
                0.0
            }),
            Value::Int2(i) => Value::Int2(i.signum()),
            Value::Int4(i) => Value::Int4(i.signum()),
            other => Value::Int8(int(other).signum()),
        },
        Function::Round | Function::Trunc => {
            let x = float(&v[0]);
            let digits = v.get(1).map_or(0, int).clamp(-300, 300) as i32;
            let scale = 10f64.powi(digits);
            let scaled = x * scale;
            // PostgreSQL's round() rounds half away from zero, like f64::round.
            let r = if func == Function::Round { scaled.round() } else { scaled.trunc() };
            Value::Float8(if digits == 0 { r } else { r / scale })
        }
        Function::Floor => Value::Float8(float(&v[0]).floor()),
        Function::Ceil => Value::Float8(float(&v[0]).ceil()),
        Function::Sqrt => {
            let x = float(&v[0]);
            if x < 0.0 {
                return Err(DbError::sql(
                    SqlState::InvalidArgumentForPowerFunction,
                    "cannot take square root of a negative number",
                ));
            }
            Value::Float8(x.sqrt())
        }
        Function::Power => {
            let (x, y) = (float(&v[0]), float(&v[1]));
            if x == 0.0 && y < 0.0 {
                return Err(DbError::sql(
                    SqlState::InvalidArgumentForPowerFunction,
                    "zero raised to a negative power is undefined",
                ));
            }
            if x < 0.0 && y.fract() != 0.0 {
                return Err(DbError::sql(
                    SqlState::InvalidArgumentForPowerFunction,
                    "a negative number raised to a non-integer power yields a complex result",
                ));
            }
            f8(x.powf(y))?
        }
        Function::Mod => {
            let (a, b) = (int(&v[0]), int(&v[1]));
            if b == 0 {
                return Err(DbError::division_by_zero());
            }
            let r = a.checked_rem(b).unwrap_or(0);
            match v[0] {
                Value::Int2(_) => Value::Int2(r as i16),
                Value::Int4(_) => Value::Int4(r as i32),
                _ => Value::Int8(r),
            }
        }
        Function::Substr => {
            let s: Vec<char> = text(&v[0]).chars().collect();
            let start = int(&v[1]);
            let end = match v.get(2) {
                None => i64::MAX,
                Some(n) if int(n) < 0 => {
                    return Err(DbError::sql(SqlState::SubstringError, "negative substring length not allowed"));
                }
                Some(n) => start.saturating_add(int(n)),
            };
            let from = (start.max(1) - 1) as usize;
            let to = (end.max(1) - 1).min(s.len() as i64) as usize;
            Value::Text(if from < to { s[from..to].iter().collect() } else { String::new() })
        }
        Function::Btrim | Function::Ltrim | Function::Rtrim => {
            let chars: Vec<char> = v.get(1).map_or_else(|| vec![' '], |c| text(c).chars().collect());
            let s = text(&v[0]);
            let t = match func {
                Function::Ltrim => s.trim_start_matches(chars.as_slice()),
                Function::Rtrim => s.trim_end_matches(chars.as_slice()),
                _ => s.trim_matches(chars.as_slice()),
            };
            Value::Text(t.to_string())
        }
        Function::Replace => {
            let (s, from, to) = (text(&v[0]), text(&v[1]), text(&v[2]));
            Value::Text(if from.is_empty() { s.to_string() } else { s.replace(from, to) })
        }
        Function::Strpos => {
            let (s, sub) = (text(&v[0]), text(&v[1]));
            Value::Int4(s.find(sub).map_or(0, |byte| s[..byte].chars().count() as i32 + 1))
        }
        Function::Left | Function::Right => {
            let s: Vec<char> = text(&v[0]).chars().collect();
            let n = int(&v[1]);
            let len = s.len() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            Value::Text(if func == Function::Left {
                s[..keep].iter().collect()
            } else {
                s[s.len() - keep..].iter().collect()
            })
        }
        Function::Repeat => {
            let n = int(&v[1]).max(0) as usize;
            let s = text(&v[0]);
            if s.len().saturating_mul(n) > (1 << 30) {
                return Err(DbError::sql(SqlState::ProgramLimitExceeded, "requested length too large"));
            }
            Value::Text(s.repeat(n))
        }
        other => return Err(DbError::Internal(format!("{other:?} is not strict"))),
    })
}

/// `format_type`: PostgreSQL's name for type `oid` with modifier `typmod` (the declared length
/// + 4 for the character types), `???` for a type RustyDB does not have.
fn format_type(oid: i64, typmod: i64) -> String {
    let length = (typmod >= 4).then(|| typmod - 4);
    match (u32::try_from(oid).ok().and_then(DataType::from_oid), oid, length) {
        (_, 1042, Some(n)) => format!("character({n})"),
        (_, 1042, None) => "bpchar".into(),
        (Some(DataType::Varchar(_)), _, Some(n)) => format!("character varying({n})"),
        // The scale is the low 11 bits, signed (numeric(3,-1) is allowed).
        (Some(DataType::Numeric(_)), _, Some(m)) => format!("numeric({},{})", m >> 16, ((m & 0x7ff) ^ 0x400) - 0x400),
        (Some(ty), _, _) => ty.sql_name().into(),
        (None, _, _) => "???".into(),
    }
}

/// A function's name as EXPLAIN prints a call (`upper`, `date_trunc`).
pub fn display_name(func: &Function) -> String {
    match func {
        Function::Text(op) => return op.name().to_string(),
        Function::Math(op) => return op.name().to_string(),
        Function::Format(op) => return op.name().to_string(),
        Function::Array(op, _) => return op.name().to_string(),
        Function::Time(op) => return op.name().to_string(),
        Function::JsonBuild(op) => return op.name().to_string(),
        _ => {}
    }
    let debug = format!("{func:?}");
    let base = debug.split(['(', ' ', '{']).next().unwrap_or(&debug);
    // CamelCase to snake_case: DateTrunc -> date_trunc.
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `extract`, `date_part`, `date_trunc`, `age` and the `justify_*` functions.
fn datetime_function(func: Function, v: &[Value]) -> Result<Value> {
    use rustydb_foundation::datetime_fields as dt;
    let interval = |v: &Value| match v {
        Value::Interval(i) => Ok(*i),
        other => Err(DbError::Internal(format!("{other:?} as an interval"))),
    };
    let stamp = |v: &Value| match *v {
        Value::Timestamp(t) | Value::TimestampTz(t) => Ok(t),
        ref other => Err(DbError::Internal(format!("{other:?} as a timestamp"))),
    };
    Ok(match func {
        Function::Extract | Function::DatePart => {
            let unit = text(&v[0]);
            let n = match &v[1] {
                Value::Timestamp(t) => dt::extract_timestamp(unit, *t, false)?,
                Value::TimestampTz(t) => dt::extract_timestamp(unit, *t, true)?,
                // date_part has no date version: PostgreSQL casts the date to a timestamp.
                Value::Date(d) if func == Function::DatePart => {
                    dt::extract_timestamp(unit, rustydb_foundation::datetime::date_timestamp(*d)?, false)?
                }
                Value::Date(d) => dt::extract_date(unit, *d)?,
                Value::Interval(i) => dt::extract_interval(unit, i)?,
                other => return Err(DbError::Internal(format!("extract from {other:?}"))),
            };
            match n {
                None => Value::Null,
                Some(n) if func == Function::Extract => Value::Numeric(n),
                Some(n) => Value::Float8(n.to_f64()),
            }
        }
        Function::DateTrunc => match v[1] {
            Value::Timestamp(t) => Value::Timestamp(dt::trunc(text(&v[0]), t, false)?),
            Value::TimestampTz(t) => Value::TimestampTz(dt::trunc(text(&v[0]), t, true)?),
            ref other => return Err(DbError::Internal(format!("date_trunc of {other:?}"))),
        },
        Function::Age => {
            let (a, b) = match v {
                [a, b] => (stamp(a)?, stamp(b)?),
                // age(t) counts from today's midnight.
                [b] => {
                    let now = rustydb_foundation::datetime::now();
                    (now - now.rem_euclid(rustydb_foundation::datetime::USECS_PER_DAY), stamp(b)?)
                }
                _ => return Err(DbError::Internal("age with no arguments".into())),
            };
            Value::Interval(dt::age(a, b)?)
        }
        Function::JustifyHours => Value::Interval(interval(&v[0])?.justify_hours()?),
        Function::JustifyDays => Value::Interval(interval(&v[0])?.justify_days()?),
        Function::JustifyInterval => Value::Interval(interval(&v[0])?.justify()?),
        other => return Err(DbError::Internal(format!("{other:?} as a date/time function"))),
    })
}

/// The numeric versions of the math functions (the first argument is a numeric).
fn numeric_function(func: Function, v: &[Value]) -> Result<Value> {
    let x = crate::expr::as_numeric(&v[0])?;
    let digits = || v.get(1).map_or(0, |d| d.as_i64().unwrap_or(0).clamp(-100_000, 100_000) as i32);
    Ok(Value::Numeric(match func {
        Function::Abs => x.abs(),
        Function::Sign => x.signum(),
        Function::Round => x.round(digits()),
        Function::Trunc => x.trunc(digits()),
        Function::Floor => x.floor(),
        Function::Ceil => x.ceil(),
        Function::Sqrt => x.sqrt()?,
        Function::Mod => x.rem(crate::expr::as_numeric(&v[1])?.as_ref())?,
        other => return Err(DbError::Internal(format!("{other:?} on a numeric"))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(name: &str, args: Vec<Value>) -> Result<Value> {
        let args = args.into_iter().map(Expr::literal).collect();
        resolve(name, args, false)?.eval(&[], &EvalEnv::new("u", "d"))
    }

    #[test]
    fn functions_compute_what_postgres_computes() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(eval("nullif", vec![Value::Int4(1), Value::Int4(1)]).unwrap(), Value::Null);
        assert_eq!(eval("nullif", vec![Value::Int4(1), Value::Int4(2)]).unwrap(), Value::Int4(1));
        assert_eq!(eval("nullif", vec![Value::Int8(1), Value::Float4(2.0)]).unwrap(), Value::Float8(1.0));
        assert_eq!(eval("greatest", vec![Value::Int4(1), Value::Null, Value::Int8(7)]).unwrap(), Value::Int8(7));
        assert_eq!(eval("least", vec![Value::Null, Value::Null]).unwrap(), Value::Null);
        assert_eq!(eval("round", vec![Value::Float8(2.5)]).unwrap(), Value::Float8(3.0));
        assert_eq!(eval("round", vec![Value::Float8(-2.5)]).unwrap(), Value::Float8(-3.0));
        let num = |s: &str| Value::Numeric(rustydb_foundation::Numeric::parse(s).unwrap());
        assert_eq!(eval("round", vec![num("1.2345"), Value::Int4(2)]).unwrap(), num("1.23"));
        assert_eq!(eval("round", vec![Value::Int4(1234), Value::Int4(-2)]).unwrap(), num("1200"));
        // As in PostgreSQL, there is no round(double precision, integer).
        assert_eq!(eval("round", vec![Value::Float8(1.2345), Value::Int4(2)]).unwrap_err().sqlstate().code(), "42883");
        assert_eq!(eval("trunc", vec![num("-2.5")]).unwrap(), num("-2"));
        assert_eq!(eval("sqrt", vec![num("2")]).unwrap(), num("1.414213562373095"));
        assert_eq!(eval("mod", vec![num("7.5"), Value::Int4(2)]).unwrap(), num("1.5"));
        assert_eq!(eval("abs", vec![num("-0.50")]).unwrap(), num("0.50"));
        assert_eq!(eval("substr", vec![t("hello"), Value::Int4(2), Value::Int4(3)]).unwrap(), t("ell"));
        assert_eq!(eval("substr", vec![t("hello"), Value::Int4(-1), Value::Int4(3)]).unwrap(), t("h"));
        assert_eq!(
            eval("substr", vec![t("hello"), Value::Int4(1), Value::Int4(-1)]).unwrap_err().sqlstate().code(),
            "22011"
        );
        assert_eq!(eval("btrim", vec![t("xxhixx"), t("x")]).unwrap(), t("hi"));
        assert_eq!(eval("strpos", vec![t("héllo"), t("llo")]).unwrap(), Value::Int4(3));
        assert_eq!(eval("left", vec![t("hello"), Value::Int4(-2)]).unwrap(), t("hel"));
        assert_eq!(eval("right", vec![t("hello"), Value::Int4(2)]).unwrap(), t("lo"));
        assert_eq!(eval("concat", vec![t("a"), Value::Null, Value::Int4(3)]).unwrap(), t("a3"));
        assert_eq!(eval("mod", vec![Value::Int4(7), Value::Int4(0)]).unwrap_err().sqlstate().code(), "22012");
        assert_eq!(eval("sqrt", vec![Value::Float8(-1.0)]).unwrap_err().sqlstate().code(), "2201F");
        assert_eq!(eval("upper", vec![Value::Null]).unwrap(), Value::Null);
        assert_eq!(eval("abs", vec![Value::Int4(-3)]).unwrap(), Value::Int4(3));
        assert_eq!(eval("nosuch", vec![]).unwrap_err().sqlstate().code(), "42883");
    }
}
