//! Aggregate functions: which names are aggregates, and the argument and result types of each,
//! as PostgreSQL 15 types them — except that until the numeric type lands, `sum` of bigint
//! and `avg` of integers give bigint and double precision where PostgreSQL gives numeric.

use crate::bind_expr::cast;
use crate::expr::Expr;
use crate::rel::AggFunc;
use crate::types::CastContext;
use rustydb_foundation::{DataType, DbError, Result, SqlState};

/// True if `name` (lower case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "bool_and"
            | "bool_or"
            | "every"
            | "string_agg"
            | "array_agg"
            | "stddev"
            | "stddev_samp"
            | "stddev_pop"
            | "variance"
            | "var_samp"
            | "var_pop"
            | "json_agg"
            | "jsonb_agg"
            | "json_object_agg"
            | "jsonb_object_agg"
            | "percentile_cont"
            | "percentile_disc"
            | "mode"
    )
}

/// A bound ordered-set aggregate: the function, its direct arguments, the sorted expression and
/// the result type.
pub type OrderedSet = (AggFunc, Vec<Expr>, Expr, DataType);

/// Binds an ordered-set aggregate, `name(direct) WITHIN GROUP (ORDER BY sorted)`: the function,
/// its direct arguments cast to what it takes, the sort expression cast likewise, and its
/// result type. `None` if `name` is not one.
pub fn ordered_set(name: &str, direct: Vec<Expr>, sorted: Expr) -> Option<Result<OrderedSet>> {
    use DataType as T;
    let no_such = |direct: &[Expr], sorted: &Expr| {
        let mut types: Vec<&str> = direct.iter().map(|e| e.data_type().sql_name()).collect();
        types.push(sorted.data_type().sql_name());
        DbError::sql(SqlState::UndefinedFunction, format!("function {name}({}) does not exist", types.join(", ")))
            .with_hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            )
    };
    let numeric = |t: DataType| t.is_numeric() || t == T::Unknown;
    let bound = (|| match (name, direct.as_slice()) {
        ("percentile_cont", [f]) if numeric(f.data_type()) && numeric(sorted.data_type()) => {
            let f = cast(
                direct.into_iter().next().ok_or_else(|| no_such(&[], &sorted))?,
                T::Float8,
                CastContext::Implicit,
            )?;
            Ok((AggFunc::PercentileCont, vec![f], cast(sorted, T::Float8, CastContext::Implicit)?, T::Float8))
        }
        ("percentile_disc", [f]) if numeric(f.data_type()) => {
            let f = cast(
                direct.into_iter().next().ok_or_else(|| no_such(&[], &sorted))?,
                T::Float8,
                CastContext::Implicit,
            )?;
            let sorted = crate::bind_expr::coerce_unknown(sorted, T::Text)?;
            let ty = sorted.data_type();
            Ok((AggFunc::PercentileDisc, vec![f], sorted, ty))
        }
        ("mode", []) => {
            let sorted = crate::bind_expr::coerce_unknown(sorted, T::Text)?;
            let ty = sorted.data_type();
            Ok((AggFunc::Mode, Vec::new(), sorted, ty))
        }
        _ => Err(no_such(&direct, &sorted)),
    })();
    matches!(name, "percentile_cont" | "percentile_disc" | "mode").then_some(bound)
}

/// Binds `name(args)` (`star` for `count(*)`): the function, its arguments cast to what it
/// takes, and its result type.
pub fn resolve(name: &str, args: Vec<Expr>, star: bool) -> Result<(AggFunc, Vec<Expr>, DataType)> {
    use DataType as T;
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let cast_all = |args: Vec<Expr>, to: &[DataType]| -> Result<Vec<Expr>> {
        args.into_iter().zip(to).map(|(a, t)| cast(a, *t, CastContext::Implicit)).collect()
    };
    let numeric = |t: DataType| t.is_numeric();
    Ok(match (name, types.as_slice()) {
        ("count", []) if star => (AggFunc::CountStar, args, T::Int8),
        ("count", [t]) => {
            let args = cast_all(args, &[if *t == T::Unknown { T::Text } else { *t }])?;
            (AggFunc::Count, args, T::Int8)
        }
        // PostgreSQL's result types: sum of int2/int4 is bigint, of bigint and numeric numeric;
        // avg of integers and numeric is numeric; the floats keep to floats.
        ("sum", [t]) if numeric(*t) => {
            let ty = match t {
                T::Int2 | T::Int4 => T::Int8,
                T::Int8 | T::Numeric(_) => T::Numeric(None),
                other => *other,
            };
            (AggFunc::Sum, args, ty)
        }
        ("avg", [T::Float4 | T::Float8]) => (AggFunc::Avg, args, T::Float8),
        ("sum" | "avg", [T::Interval]) => (if name == "sum" { AggFunc::Sum } else { AggFunc::Avg }, args, T::Interval),
        ("avg", [t]) if numeric(*t) => (AggFunc::Avg, args, T::Numeric(None)),
        ("min" | "max", [t]) if *t != T::Bool => {
            let ty = if *t == T::Unknown { T::Text } else { *t };
            let func = if name == "min" { AggFunc::Min } else { AggFunc::Max };
            (func, cast_all(args, &[ty])?, ty)
        }
        ("bool_and" | "every", [T::Bool | T::Unknown]) => (AggFunc::BoolAnd, cast_all(args, &[T::Bool])?, T::Bool),
        ("bool_or", [T::Bool | T::Unknown]) => (AggFunc::BoolOr, cast_all(args, &[T::Bool])?, T::Bool),
        ("string_agg", [a, d]) if a.is_string() && d.is_string() => {
            (AggFunc::StringAgg, cast_all(args, &[T::Text, T::Text])?, T::Text)
        }
        ("array_agg", [t]) => {
            let ty = if *t == T::Unknown { T::Text } else { *t };
            let element = rustydb_foundation::ElementType::of(ty).ok_or_else(|| {
                DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported")
            })?;
            (AggFunc::ArrayAgg, cast_all(args, &[ty])?, T::Array(element))
        }
        ("json_agg" | "jsonb_agg", [t]) => {
            let ty = if *t == T::Unknown { T::Text } else { *t };
            let (func, result) =
                if name == "json_agg" { (AggFunc::JsonAgg, T::Json) } else { (AggFunc::JsonbAgg, T::Jsonb) };
            (func, cast_all(args, &[ty])?, result)
        }
        ("json_object_agg" | "jsonb_object_agg", [k, v]) => {
            let known = |t: &DataType| if *t == T::Unknown { T::Text } else { *t };
            let (func, result) = if name == "json_object_agg" {
                (AggFunc::JsonObjectAgg, T::Json)
            } else {
                (AggFunc::JsonbObjectAgg, T::Jsonb)
            };
            (func, cast_all(args, &[known(k), known(v)])?, result)
        }
        ("stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop", [t]) if numeric(*t) => {
            let func = match name {
                "stddev" | "stddev_samp" => AggFunc::StddevSamp,
                "stddev_pop" => AggFunc::StddevPop,
                "var_pop" => AggFunc::VarPop,
                _ => AggFunc::VarSamp,
            };
            if matches!(t, T::Float4 | T::Float8) {
                (func, cast_all(args, &[T::Float8])?, T::Float8)
            } else {
                (func, args, T::Numeric(None))
            }
        }
        _ => {
            let list: Vec<&str> = types.iter().map(|t| t.sql_name()).collect();
            let shown = if star { "*".to_string() } else { list.join(", ") };
            return Err(DbError::sql(SqlState::UndefinedFunction, format!("function {name}({shown}) does not exist"))
                .with_detail(
                    "No function matches the given name and argument types. You might need to add explicit type casts.",
                ));
        }
    })
}
