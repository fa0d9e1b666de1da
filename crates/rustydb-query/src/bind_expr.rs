//! Binding expressions: resolving column names against the query binder's scopes, typing every
//! node, folding untyped literals into the type their context asks for, and refusing what
//! PostgreSQL refuses with its SQLSTATE (42703 unknown column, 42883 no such operator or
//! function, 42804 wrong type). Aggregate calls and subqueries are handed to the
//! [`QueryBinder`], which knows the clause being bound and the enclosing queries.

use crate::bind_query::QueryBinder;
use crate::expr::{BinaryOp, EvalEnv, Expr, Subquery, SubqueryKind};
use crate::functions;
use crate::types::{CastContext, arithmetic_type, can_cast, cast_value, common_type};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use sqlparser::ast;

/// Folds an identifier as PostgreSQL does: unquoted names are lower-cased.
pub fn ident_name(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// `'name'::regclass`: the relation's oid (42P01 if there is none). Kept out of [`bind`],
/// whose frame every level of a deep expression pays for.
#[inline(never)]
fn regclass(ctx: &mut crate::context::ExecContext<'_>, name: &str) -> Result<Expr> {
    if let Ok(oid) = name.parse::<i32>() {
        return Ok(Expr::Literal { value: Value::Int4(oid), ty: DataType::Int4 });
    }
    let named = crate::schemas::parse_qualified(name, ctx.database)?;
    match crate::pg_catalog::relation_oid(ctx, &named)? {
        Some(oid) => Ok(Expr::Literal { value: Value::Int4(oid), ty: DataType::Int4 }),
        None => Err(DbError::undefined_table(name)),
    }
}

/// Binds an expression in the binder's current scope.
pub fn bind(expr: &ast::Expr, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    use ast::Expr as E;
    match expr {
        E::Identifier(ident) => b.column(None, &ident_name(ident)),
        E::CompoundIdentifier(parts) => match parts.as_slice() {
            [table, col] => b.column(Some(&ident_name(table)), &ident_name(col)),
            // `s.t.c`: the FROM item named `t` (the schema is the table's, checked when bound).
            [_schema, table, col] => b.column(Some(&ident_name(table)), &ident_name(col)),
            _ => Err(DbError::unsupported(format!("the name {expr}"))),
        },
        E::Value(ast::ValueWithSpan { value: ast::Value::Placeholder(p), .. }) => b.param(p),
        E::Value(v) => literal(&v.value),
        E::Nested(inner) => bind(inner, b),
        E::UnaryOp { op, expr: inner } => unary(*op, inner, b),
        E::BinaryOp { left, op, right } => {
            let (l, r) = (bind(left, b)?, bind(right, b)?);
            if let Some(json) = crate::json_functions::operator(op, l.clone(), r.clone()) {
                return json;
            }
            binary(binary_op(op)?, l, r)
        }
        E::IsNull(inner) => Ok(Expr::IsNull { arg: Box::new(bind(inner, b)?), negated: false }),
        E::IsNotNull(inner) => Ok(Expr::IsNull { arg: Box::new(bind(inner, b)?), negated: true }),
        E::IsTrue(inner) => truth(inner, true, false, b),
        E::IsNotTrue(inner) => truth(inner, true, true, b),
        E::IsFalse(inner) => truth(inner, false, false, b),
        E::IsNotFalse(inner) => truth(inner, false, true, b),
        E::IsDistinctFrom(l, r) => {
            let (l, r) = (bind(l, b)?, bind(r, b)?);
            binary(BinaryOp::IsDistinctFrom, l, r)
        }
        E::IsNotDistinctFrom(l, r) => {
            let (l, r) = (bind(l, b)?, bind(r, b)?);
            binary(BinaryOp::IsNotDistinctFrom, l, r)
        }
        E::Between { expr: inner, negated, low, high } => between(inner, *negated, low, high, b),
        E::InList { expr: inner, list, negated } => in_list(inner, list, *negated, b),
        E::InSubquery { expr: inner, subquery, negated } => {
            let arg = bind(inner, b)?;
            let any = quantified(arg, BinaryOp::Eq, subquery, false, b)?;
            Ok(if *negated { Expr::Not(Box::new(any)) } else { any })
        }
        E::Exists { .. } | E::Subquery(_) | E::AnyOp { .. } | E::AllOp { .. } => subquery_expr(expr, b),
        E::Case { operand, conditions, else_result, .. } => {
            case(operand.as_deref(), conditions, else_result.as_deref(), b)
        }
        E::Like { negated, expr: inner, pattern, escape_char: None, any: false } => {
            like(inner, pattern, *negated, false, b)
        }
        E::ILike { negated, expr: inner, pattern, escape_char: None, any: false } => {
            like(inner, pattern, *negated, true, b)
        }
        E::Cast { expr: inner, data_type, format: None, .. } => {
            let to = convert_type(data_type)?;
            // `'name'::regclass`: the relation's oid (42P01 if there is none).
            if let (E::Value(v), Some(ctx)) = (inner.as_ref(), b.context())
                && let ast::Value::SingleQuotedString(name) = &v.value
                && data_type.to_string().trim_start_matches("pg_catalog.").eq_ignore_ascii_case("regclass")
            {
                return regclass(ctx, name);
            }
            // `ARRAY[]::int[]`: an empty constructor takes its type from the cast.
            if let (E::Array(array), DataType::Array(element)) = (inner.as_ref(), to)
                && array.elem.is_empty()
            {
                return Ok(Expr::Literal { value: Value::Array(element, Vec::new()), ty: to });
            }
            cast(bind(inner, b)?, to, CastContext::Explicit)
        }
        E::TypedString(ts) => typed_string(ts),
        // The only collation is the default one (C order).
        E::Collate { expr: inner, collation }
            if matches!(
                collation.to_string().to_lowercase().as_str(),
                "pg_catalog.default" | "default" | "\"default\"" | "pg_catalog.\"default\"" | "\"c\"" | "c"
            ) =>
        {
            bind(inner, b)
        }
        E::CompoundFieldAccess { root, access_chain } => match access_chain.as_slice() {
            [ast::AccessExpr::Subscript(ast::Subscript::Index { index })] => {
                functions::subscript(bind(root, b)?, bind(index, b)?)
            }
            _ => Err(DbError::unsupported(format!("the expression {expr}"))),
        },
        E::Array(array) => {
            let elements = array.elem.iter().map(|e| bind(e, b)).collect::<Result<Vec<_>>>()?;
            functions::array_constructor(elements)
        }
        E::Function(f) => function(f, b),
        E::Interval(interval) => interval_literal(interval),
        E::Extract { field, expr: arg, .. } => {
            let unit = Expr::Literal { value: Value::Text(field.to_string().to_lowercase()), ty: DataType::Text };
            functions::resolve("extract", vec![unit, bind(arg, b)?], false)
        }
        E::Substring { .. }
        | E::Trim { .. }
        | E::Position { .. }
        | E::Ceil { .. }
        | E::Floor { .. }
        | E::Overlay { .. } => special_function(expr, b),
        other => Err(DbError::unsupported(format!("the expression {other}"))),
    }
}

/// Places named arguments (`make_interval(days => 3)`) at their parameters' positions, the
/// parameters not given taking their defaults. Only functions with declared parameter names
/// take them; anything else is 42883, as in PostgreSQL.
fn named_arguments(name: &str, mut args: Vec<Expr>, named: Vec<(String, Expr)>) -> Result<Vec<Expr>> {
    let describe = |args: &[Expr], named: &[(String, Expr)]| {
        let mut parts: Vec<String> = args.iter().map(|a| a.data_type().sql_name().to_string()).collect();
        parts.extend(named.iter().map(|(n, e)| format!("{n} => {}", e.data_type().sql_name())));
        parts.join(", ")
    };
    let no_function = |args: &[Expr], named: &[(String, Expr)]| {
        DbError::sql(SqlState::UndefinedFunction, format!("function {name}({}) does not exist", describe(args, named)))
            .with_hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            )
    };
    let parameters: &[&str] = match name {
        "make_interval" => &crate::datetime_functions::MAKE_INTERVAL_PARAMETERS,
        _ => return Err(no_function(&args, &named)),
    };
    let positional = args.len();
    let mut slots: Vec<Option<Expr>> = args.drain(..).map(Some).collect();
    slots.resize_with(parameters.len().max(slots.len()), || None);
    for (arg, value) in &named {
        let Some(at) = parameters.iter().position(|p| p == arg) else { return Err(no_function(&[], &named)) };
        if at < positional {
            // A name for a parameter a positional argument already gave matches no function.
            let given: Vec<Expr> = slots[..positional].iter().flatten().cloned().collect();
            return Err(no_function(&given, &named));
        }
        if slots[at].is_some() {
            return Err(DbError::sql(SqlState::SyntaxError, format!("argument name \"{arg}\" used more than once")));
        }
        slots[at] = Some(value.clone());
    }
    Ok(slots.into_iter().map(|s| s.unwrap_or_else(|| Expr::literal(Value::Int4(0)))).collect())
}

/// `INTERVAL '1 day'`, and `INTERVAL '3' DAY` / `INTERVAL '1:30' HOUR TO MINUTE`, where a bare
/// number counts the leading field's units.
fn interval_literal(interval: &ast::Interval) -> Result<Expr> {
    let ast::Expr::Value(v) = interval.value.as_ref() else {
        return Err(DbError::unsupported(format!("the interval {interval}")));
    };
    let text = match &v.value {
        ast::Value::SingleQuotedString(s) | ast::Value::Number(s, _) => s.clone(),
        other => return Err(DbError::unsupported(format!("the interval {other}"))),
    };
    let is_number = !text.trim().is_empty() && text.trim().parse::<f64>().is_ok();
    let value = match &interval.leading_field {
        Some(field) if is_number => {
            rustydb_foundation::Interval::of_unit(text.trim(), &field.to_string().to_lowercase())?
        }
        _ => rustydb_foundation::Interval::parse(&text)?,
    };
    Ok(Expr::literal(Value::Interval(value)))
}

/// `DATE '2024-01-01'` and the like: the string cast to the type.
fn typed_string(ts: &ast::TypedString) -> Result<Expr> {
    let to = convert_type(&ts.data_type)?;
    cast(literal(&ts.value.value)?, to, CastContext::Explicit)
}

/// EXISTS, scalar subqueries and `op ANY/ALL (subquery)` (apart from `bind`, whose stack frame
/// every expression level pays for).
fn subquery_expr(expr: &ast::Expr, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    use ast::Expr as E;
    match expr {
        E::Exists { subquery, negated } => {
            let (plan, _) = b.subquery(subquery)?;
            let sq = Subquery {
                id: b.subquery_id(),
                plan,
                kind: SubqueryKind::Exists,
                correlated: false,
                ty: DataType::Bool,
            };
            let e = Expr::Subquery(Box::new(sq));
            Ok(if *negated { Expr::Not(Box::new(e)) } else { e })
        }
        E::Subquery(q) => {
            let (plan, columns) = b.subquery(q)?;
            let [column] = columns.as_slice() else {
                return Err(DbError::syntax("subquery must return only one column"));
            };
            let sq = Subquery {
                id: b.subquery_id(),
                plan,
                kind: SubqueryKind::Scalar,
                correlated: false,
                ty: column.data_type,
            };
            Ok(Expr::Subquery(Box::new(sq)))
        }
        E::AnyOp { left, compare_op, right, .. } | E::AllOp { left, compare_op, right } => {
            let all = matches!(expr, E::AllOp { .. });
            let op = binary_op(compare_op)?;
            if !op.is_comparison() {
                return Err(DbError::unsupported(format!("the operator {compare_op} with ANY/ALL")));
            }
            let arg = bind(left, b)?;
            let subquery = match right.as_ref() {
                E::Subquery(q) => q,
                E::Nested(inner) => match inner.as_ref() {
                    E::Subquery(q) => q,
                    _ => return functions::quantified_array(arg, op, bind(right, b)?, all),
                },
                _ => return functions::quantified_array(arg, op, bind(right, b)?, all),
            };
            quantified(arg, op, subquery, all, b)
        }
        other => Err(DbError::Internal(format!("{other} is not a subquery expression"))),
    }
}

/// `ARRAY(subquery)`: the subquery's single column as an array, in its row order.
fn array_subquery(q: &ast::Query, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    let (plan, columns) = b.subquery(q)?;
    let [column] = columns.as_slice() else {
        return Err(DbError::syntax("subquery must return only one column"));
    };
    let element = rustydb_foundation::ElementType::of(column.data_type)
        .ok_or_else(|| DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported"))?;
    let sq = Subquery {
        id: b.subquery_id(),
        plan,
        kind: SubqueryKind::Array { element },
        correlated: false,
        ty: DataType::Array(element),
    };
    Ok(Expr::Subquery(Box::new(sq)))
}

/// SUBSTRING, TRIM and POSITION, which SQL writes with keywords between the arguments.
fn special_function(expr: &ast::Expr, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    use ast::Expr as E;
    match expr {
        E::Overlay { expr: inner, overlay_what, overlay_from, overlay_for } => {
            let mut args = vec![bind(inner, b)?, bind(overlay_what, b)?, bind(overlay_from, b)?];
            if let Some(n) = overlay_for {
                args.push(bind(n, b)?);
            }
            functions::resolve("overlay", args, false)
        }
        E::Substring { expr: inner, substring_from, substring_for, .. } => {
            let mut args = vec![bind(inner, b)?];
            args.push(match substring_from {
                Some(from) => bind(from, b)?,
                None => Expr::literal(Value::Int4(1)),
            });
            if let Some(n) = substring_for {
                args.push(bind(n, b)?);
            }
            functions::resolve("substr", args, false)
        }
        E::Trim { expr: inner, trim_where, trim_what, trim_characters: None } => {
            let name = match trim_where {
                Some(ast::TrimWhereField::Leading) => "ltrim",
                Some(ast::TrimWhereField::Trailing) => "rtrim",
                _ => "btrim",
            };
            let mut args = vec![bind(inner, b)?];
            if let Some(what) = trim_what {
                args.push(bind(what, b)?);
            }
            functions::resolve(name, args, false)
        }
        E::Position { expr: needle, r#in } => {
            let args = vec![bind(r#in, b)?, bind(needle, b)?];
            functions::resolve("strpos", args, false)
        }
        // sqlparser gives ceil and floor their own nodes (for `CEIL(x TO DAY)`); the plain
        // one-argument forms are the functions.
        E::Ceil { expr: arg, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) } => {
            functions::resolve("ceil", vec![bind(arg, b)?], false)
        }
        E::Floor { expr: arg, field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) } => {
            functions::resolve("floor", vec![bind(arg, b)?], false)
        }
        other => Err(DbError::unsupported(format!("the expression {other}"))),
    }
}

/// `x IS [NOT] TRUE/FALSE`: never NULL.
fn truth(inner: &ast::Expr, value: bool, negated: bool, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    let arg = boolean(bind(inner, b)?, if value { "IS TRUE" } else { "IS FALSE" })?;
    let op = if negated { BinaryOp::IsDistinctFrom } else { BinaryOp::IsNotDistinctFrom };
    binary(op, arg, Expr::literal(Value::Bool(value)))
}

/// `arg op ANY/ALL (subquery)`, and IN as `= ANY`.
fn quantified(arg: Expr, op: BinaryOp, q: &ast::Query, all: bool, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    let (plan, columns) = b.subquery(q)?;
    let [column] = columns.as_slice() else {
        return Err(DbError::syntax("subquery has too many columns"));
    };
    // Type-check the comparison as `arg op column` would be.
    let probe = binary(op, arg.clone(), Expr::Column { index: usize::MAX, ty: column.data_type })?;
    let arg = match probe {
        Expr::Binary { left, .. } => left,
        // A NULL operand folded the comparison away; the subquery still decides between
        // FALSE (no rows) and NULL.
        _ => Box::new(coerce_unknown(arg, column.data_type)?),
    };
    let kind = if all { SubqueryKind::All { arg, op } } else { SubqueryKind::Any { arg, op } };
    let sq = Subquery { id: b.subquery_id(), plan, kind, correlated: false, ty: DataType::Bool };
    Ok(Expr::Subquery(Box::new(sq)))
}

fn case(
    operand: Option<&ast::Expr>,
    conditions: &[ast::CaseWhen],
    otherwise: Option<&ast::Expr>,
    b: &mut QueryBinder<'_, '_>,
) -> Result<Expr> {
    let operand = operand.map(|o| bind(o, b)).transpose()?;
    let mut whens = Vec::with_capacity(conditions.len());
    let mut results = Vec::with_capacity(conditions.len() + 1);
    for c in conditions {
        let when = bind(&c.condition, b)?;
        let when = match &operand {
            Some(o) => binary(BinaryOp::Eq, o.clone(), when)?,
            None => boolean(when, "CASE/WHEN")?,
        };
        whens.push(when);
        results.push(bind(&c.result, b)?);
    }
    if let Some(e) = otherwise {
        results.push(bind(e, b)?);
    }
    let types: Vec<DataType> = results.iter().map(Expr::data_type).collect();
    let ty = common_type(&types, "CASE")?;
    let mut results = results.into_iter().map(|r| cast(r, ty, CastContext::Implicit)).collect::<Result<Vec<_>>>()?;
    let otherwise = if otherwise.is_some() { results.pop().map(Box::new) } else { None };
    let branches = whens.into_iter().zip(results).collect();
    Ok(Expr::Case { branches, otherwise, ty })
}

fn literal(v: &ast::Value) -> Result<Expr> {
    use ast::Value as V;
    Ok(match v {
        V::Number(text, _) => Expr::literal(number(text)?),
        V::SingleQuotedString(s)
        | V::EscapedStringLiteral(s)
        | V::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
            Expr::Literal { value: Value::Text(s.clone()), ty: DataType::Unknown }
        }
        V::Boolean(b) => Expr::literal(Value::Bool(*b)),
        V::Null => Expr::Literal { value: Value::Null, ty: DataType::Unknown },
        V::Placeholder(p) => return Err(DbError::sql(SqlState::UndefinedObject, format!("there is no parameter {p}"))),
        other => return Err(DbError::unsupported(format!("the literal {other}"))),
    })
}

/// A numeric literal, typed as PostgreSQL types it: an integer if it fits (int4, then int8),
/// otherwise — a decimal point, an exponent, or too many digits — numeric.
fn number(text: &str) -> Result<Value> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = text.parse::<i32>() {
            return Ok(Value::Int4(v));
        }
        if let Ok(v) = text.parse::<i64>() {
            return Ok(Value::Int8(v));
        }
    }
    Value::parse_as(text, DataType::Numeric(None))
}

fn unary(op: ast::UnaryOperator, inner: &ast::Expr, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    match op {
        ast::UnaryOperator::Plus => numeric_operand(bind(inner, b)?, "+"),
        ast::UnaryOperator::Minus => {
            // Fold `-<literal>` so that -2147483648 is an int4, as in PostgreSQL.
            if let ast::Expr::Value(v) = inner
                && let ast::Value::Number(text, _) = &v.value
            {
                return Ok(Expr::literal(number(&format!("-{text}"))?));
            }
            Ok(Expr::Negate(Box::new(numeric_operand(bind(inner, b)?, "-")?)))
        }
        ast::UnaryOperator::Not => Ok(Expr::Not(Box::new(boolean(bind(inner, b)?, "NOT")?))),
        other => Err(DbError::unsupported(format!("the operator {other}"))),
    }
}

fn numeric_operand(arg: Expr, symbol: &str) -> Result<Expr> {
    let arg = coerce_unknown(arg, DataType::Float8)?;
    if !arg.data_type().is_numeric() && arg.data_type() != DataType::Interval {
        return Err(DbError::sql(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {symbol} {}", arg.data_type().sql_name()),
        ));
    }
    Ok(arg)
}

fn binary_op(op: &ast::BinaryOperator) -> Result<BinaryOp> {
    use ast::BinaryOperator as B;
    Ok(match op {
        B::Plus => BinaryOp::Add,
        B::Minus => BinaryOp::Sub,
        B::Multiply => BinaryOp::Mul,
        B::Divide => BinaryOp::Div,
        B::Modulo => BinaryOp::Mod,
        B::StringConcat => BinaryOp::Concat,
        B::Eq => BinaryOp::Eq,
        B::NotEq => BinaryOp::NotEq,
        B::Lt => BinaryOp::Lt,
        B::LtEq => BinaryOp::LtEq,
        B::Gt => BinaryOp::Gt,
        B::GtEq => BinaryOp::GtEq,
        B::And => BinaryOp::And,
        B::Or => BinaryOp::Or,
        B::PGRegexMatch => BinaryOp::RegexMatch,
        B::PGRegexIMatch => BinaryOp::RegexIMatch,
        B::PGRegexNotMatch => BinaryOp::RegexNotMatch,
        B::PGRegexNotIMatch => BinaryOp::RegexNotIMatch,
        // `OPERATOR(pg_catalog.op)`, psql's spelling of the built-in operators.
        B::PGCustomBinaryOperator(path) if path.len() == 2 && path[0] == "pg_catalog" => match path[1].as_str() {
            "~" => BinaryOp::RegexMatch,
            "~*" => BinaryOp::RegexIMatch,
            "!~" => BinaryOp::RegexNotMatch,
            "!~*" => BinaryOp::RegexNotIMatch,
            "=" => BinaryOp::Eq,
            "<>" => BinaryOp::NotEq,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::LtEq,
            ">" => BinaryOp::Gt,
            ">=" => BinaryOp::GtEq,
            "||" => BinaryOp::Concat,
            _ => return Err(DbError::unsupported(format!("the operator {op}"))),
        },
        other => return Err(DbError::unsupported(format!("the operator {other}"))),
    })
}

/// Binds `left op right`, resolving untyped literals against the other side.
pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Result<Expr> {
    if matches!(op, BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom) {
        let (left, right) = unify(left, right, BinaryOp::Eq)?;
        let (lt, rt) = (left.data_type(), right.data_type());
        if !comparable(lt, rt) {
            return Err(no_operator(lt, BinaryOp::Eq, rt));
        }
        return Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right), ty: DataType::Bool });
    }
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let (l, r) = (boolean(left, op.symbol())?, boolean(right, op.symbol())?);
        return Ok(Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool });
    }
    let (left, right) = if op == BinaryOp::Concat {
        let arrays = matches!(left.data_type(), DataType::Array(_)) || matches!(right.data_type(), DataType::Array(_));
        if arrays && let Some(call) = functions::array_concat(left.clone(), right.clone())? {
            return Ok(call);
        }
        unify(left, right, op)?
    } else {
        unify(left, right, op)?
    };
    let (lt, rt) = (left.data_type(), right.data_type());
    let ty = if op == BinaryOp::Concat && lt == DataType::Bytea && rt == DataType::Bytea {
        Some(DataType::Bytea)
    } else if op == BinaryOp::Concat {
        (lt.is_string() || rt.is_string()).then_some(DataType::Text)
    } else if op.is_regex() {
        (lt.is_string() && rt.is_string()).then_some(DataType::Bool)
    } else if op.is_comparison() {
        comparable(lt, rt).then_some(DataType::Bool)
    } else if [lt, rt].iter().any(|t| t.is_datetime() || matches!(t, DataType::Interval | DataType::Time)) {
        date_arithmetic(op, lt, rt)
    } else {
        arithmetic_type(lt, rt).filter(|t| op != BinaryOp::Mod || t.is_integer() || matches!(t, DataType::Numeric(_)))
    };
    let ty = ty.ok_or_else(|| no_operator(lt, op, rt))?;
    // These operators are strict: a NULL operand makes the result NULL without evaluating the
    // other, as PostgreSQL's constant folding decides at plan time (so `x * y BETWEEN NULL AND
    // NULL` never evaluates a product that would overflow).
    let null = |e: &Expr| matches!(e, Expr::Literal { value: Value::Null, .. });
    if null(&left) || null(&right) {
        return Ok(Expr::Literal { value: Value::Null, ty });
    }
    Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right), ty })
}

fn comparable(a: DataType, b: DataType) -> bool {
    // json has no equality (PostgreSQL: "could not identify an equality operator for type json").
    if a == DataType::Json || b == DataType::Json {
        return false;
    }
    (a.is_numeric() && b.is_numeric())
        || (a.is_string() && b.is_string())
        || (a.is_datetime() && b.is_datetime())
        || (a == b)
}

/// The result type of date and time arithmetic, as PostgreSQL's operators give it: `date ±
/// integer` is a date and `date - date` the days between; a timestamp or date `± interval` is
/// a timestamp (of the timestamp's kind); the difference of two timestamps an interval; and
/// intervals add, subtract, and multiply and divide by numbers.
fn date_arithmetic(op: BinaryOp, lt: DataType, rt: DataType) -> Option<DataType> {
    use BinaryOp::{Add, Div, Mul, Sub};
    use DataType::{Date, Interval, Timestamp, TimestampTz};
    match (op, lt, rt) {
        (Add | Sub, Date, t) if t.is_integer() => Some(Date),
        (Add, t, Date) if t.is_integer() => Some(Date),
        (Sub, Date, Date) => Some(DataType::Int4),
        (Add | Sub, Date | Timestamp, Interval) | (Add, Interval, Date | Timestamp) => Some(Timestamp),
        (Add | Sub, TimestampTz, Interval) | (Add, Interval, TimestampTz) => Some(TimestampTz),
        (Sub, Date | Timestamp | TimestampTz, Date | Timestamp | TimestampTz) => Some(Interval),
        (Add | Sub, Interval, Interval) => Some(Interval),
        (Add, Date, DataType::Time) | (Add, DataType::Time, Date) => Some(Timestamp),
        (Sub, DataType::Time, DataType::Time) => Some(Interval),
        (Add | Sub, DataType::Time, Interval) | (Add, Interval, DataType::Time) => Some(DataType::Time),
        (Mul, Interval, n) | (Mul, n, Interval) if n.is_numeric() => Some(Interval),
        (Div, Interval, n) if n.is_numeric() => Some(Interval),
        _ => None,
    }
}

fn no_operator(lt: DataType, op: BinaryOp, rt: DataType) -> DbError {
    DbError::sql(
        SqlState::UndefinedFunction,
        format!("operator does not exist: {} {} {}", lt.sql_name(), op.symbol(), rt.sql_name()),
    )
    .with_detail("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// Gives an untyped literal on one side the other side's type.
fn unify(left: Expr, right: Expr, op: BinaryOp) -> Result<(Expr, Expr)> {
    match (left.data_type(), right.data_type()) {
        (DataType::Unknown, DataType::Unknown) if op.is_comparison() || op.is_regex() || op == BinaryOp::Concat => {
            Ok((coerce_unknown(left, DataType::Text)?, coerce_unknown(right, DataType::Text)?))
        }
        (DataType::Unknown, DataType::Unknown) => Err(DbError::sql(
            SqlState::AmbiguousFunction,
            format!("operator is not unique: unknown {} unknown", op.symbol()),
        )),
        (DataType::Unknown, t) => Ok((coerce_unknown(left, literal_target(t, op))?, right)),
        (t, DataType::Unknown) => Ok((left, coerce_unknown(right, literal_target(t, op))?)),
        _ => Ok((left, right)),
    }
}

fn literal_target(other: DataType, op: BinaryOp) -> DataType {
    match (op, other) {
        (BinaryOp::Concat, DataType::Bytea) => DataType::Bytea,
        (BinaryOp::Concat, _) => DataType::Text,
        _ if op.is_regex() => DataType::Text,
        // `ts + '1 day'`: the only `+` a timestamp has takes an interval.
        (BinaryOp::Add, DataType::Timestamp | DataType::TimestampTz) => DataType::Interval,
        _ => other,
    }
}

/// Turns an untyped literal into a typed one (parsing its text now, so bad input is reported
/// at bind time with 22P02); other expressions are returned unchanged.
pub fn coerce_unknown(expr: Expr, to: DataType) -> Result<Expr> {
    match expr {
        Expr::Literal { value, ty: DataType::Unknown } => {
            let to = if to == DataType::Unknown { DataType::Text } else { to };
            Ok(Expr::Literal { value: cast_value(value, to, true)?, ty: to })
        }
        // Preparing: an undeclared parameter takes the type its context asks for.
        Expr::Param { index, ty: DataType::Unknown } => {
            let ty = if to == DataType::Unknown { DataType::Text } else { to };
            Ok(Expr::Param { index, ty })
        }
        other => Ok(other),
    }
}

/// Requires a boolean operand (for AND, OR, NOT, WHERE): 42804 otherwise.
pub fn boolean(expr: Expr, what: &str) -> Result<Expr> {
    let expr = coerce_unknown(expr, DataType::Bool)?;
    if expr.data_type() != DataType::Bool {
        return Err(DbError::sql(
            SqlState::DatatypeMismatch,
            format!("argument of {what} must be type boolean, not type {}", expr.data_type().sql_name()),
        ));
    }
    Ok(expr)
}

/// Converts `expr` to `to` in `context`, or explains why it cannot.
pub fn cast(expr: Expr, to: DataType, context: CastContext) -> Result<Expr> {
    let from = expr.data_type();
    if !can_cast(from, to, context) {
        return Err(DbError::sql(
            SqlState::CannotCoerce,
            format!("cannot cast type {} to {}", from.sql_name(), to.sql_name()),
        ));
    }
    let expr = coerce_unknown(expr, to)?;
    if expr.data_type() == to && !matches!(to, DataType::Varchar(Some(_)) | DataType::Char(_)) {
        return Ok(expr);
    }
    let explicit = context == CastContext::Explicit;
    let cast = Expr::Cast { arg: Box::new(expr), to, explicit };
    fold(cast)
}

/// Evaluates a constant expression now.
pub fn fold(expr: Expr) -> Result<Expr> {
    if !expr.is_constant() || matches!(expr, Expr::Literal { .. } | Expr::Call { .. }) {
        return Ok(expr);
    }
    let ty = expr.data_type();
    let value = expr.eval(&[], &EvalEnv::new("", ""))?;
    Ok(Expr::Literal { value, ty })
}

fn between(
    inner: &ast::Expr,
    negated: bool,
    low: &ast::Expr,
    high: &ast::Expr,
    b: &mut QueryBinder<'_, '_>,
) -> Result<Expr> {
    let value = bind(inner, b)?;
    let lower = binary(BinaryOp::GtEq, value.clone(), bind(low, b)?)?;
    let upper = binary(BinaryOp::LtEq, value, bind(high, b)?)?;
    let both = binary(BinaryOp::And, lower, upper)?;
    Ok(if negated { Expr::Not(Box::new(both)) } else { both })
}

fn in_list(inner: &ast::Expr, list: &[ast::Expr], negated: bool, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    if list.is_empty() {
        return Err(DbError::syntax("syntax error at or near \")\""));
    }
    let value = bind(inner, b)?;
    let mut items = Vec::with_capacity(list.len());
    for item in list {
        items.push(binary(BinaryOp::Eq, value.clone(), bind(item, b)?)?);
    }
    let any = Expr::AnyOf(items);
    Ok(if negated { Expr::Not(Box::new(any)) } else { any })
}

fn like(
    inner: &ast::Expr,
    pattern: &ast::Expr,
    negated: bool,
    case_insensitive: bool,
    b: &mut QueryBinder<'_, '_>,
) -> Result<Expr> {
    let arg = coerce_unknown(bind(inner, b)?, DataType::Text)?;
    let pattern = coerce_unknown(bind(pattern, b)?, DataType::Text)?;
    if !arg.data_type().is_string() || !pattern.data_type().is_string() {
        let op = if case_insensitive { "~~*" } else { "~~" };
        return Err(DbError::sql(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {} {op} {}", arg.data_type().sql_name(), pattern.data_type().sql_name()),
        ));
    }
    Ok(Expr::Like { arg: Box::new(arg), pattern: Box::new(pattern), negated, case_insensitive })
}

fn function(f: &ast::Function, b: &mut QueryBinder<'_, '_>) -> Result<Expr> {
    let name = function_name(&f.name)?;
    // Every call needs EXECUTE on the function (PUBLIC holds it unless revoked).
    if let Some(ctx) = b.context() {
        crate::acl::note_execute(ctx, &name);
    }
    if f.over.is_some() {
        return b.window(&name, f);
    }
    if crate::bind_aggregate::is_aggregate(&name) {
        return b.aggregate(&name, f);
    }
    if name == "grouping"
        && let ast::FunctionArguments::List(list) = &f.args
    {
        let args = list
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    bind(e, b).and_then(crate::bind_query::output)
                }
                other => Err(DbError::unsupported(format!("the argument {other}"))),
            })
            .collect::<Result<Vec<_>>>()?;
        return b.grouping(args);
    }
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return Err(DbError::unsupported(format!("{name} with OVER, FILTER or WITHIN GROUP")));
    }
    let args = match &f.args {
        ast::FunctionArguments::None => Vec::new(),
        ast::FunctionArguments::List(list) => {
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return Err(DbError::sql(
                    SqlState::WrongObjectType,
                    format!("DISTINCT specified, but {name} is not an aggregate function"),
                ));
            }
            let mut args = Vec::with_capacity(list.args.len());
            let mut named = Vec::new();
            for a in &list.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) if named.is_empty() => {
                        args.push(bind(e, b)?)
                    }
                    ast::FunctionArg::Named { name: arg, arg: ast::FunctionArgExpr::Expr(e), .. }
                    | ast::FunctionArg::ExprNamed {
                        name: ast::Expr::Identifier(arg),
                        arg: ast::FunctionArgExpr::Expr(e),
                        ..
                    } => {
                        named.push((arg.value.to_lowercase(), bind(e, b)?));
                    }
                    ast::FunctionArg::Unnamed(_) => {
                        return Err(DbError::sql(
                            SqlState::SyntaxError,
                            "positional argument cannot follow named argument",
                        ));
                    }
                    other => return Err(DbError::unsupported(format!("the function argument {other}"))),
                }
            }
            if !named.is_empty() {
                args = named_arguments(&name, args, named)?;
            }
            args
        }
        ast::FunctionArguments::Subquery(q) if name == "array" => return array_subquery(q, b),
        ast::FunctionArguments::Subquery(_) => return Err(DbError::unsupported("a subquery as function argument")),
    };
    if let Some(func) = crate::table_function::TableFunc::lookup(&name) {
        return b.set_returning(func, args);
    }
    let no_parens = matches!(f.args, ast::FunctionArguments::None);
    if let ("pg_typeof", [arg]) = (name.as_str(), args.as_slice()) {
        // regtype prints as the type's name; there is no regtype yet, so it is text.
        return Ok(Expr::literal(Value::Text(arg.data_type().to_string())));
    }
    if let Some(now) = current_time(&name, &args, no_parens, b)? {
        return Ok(now);
    }
    if let Some(call) = crate::pg_catalog::bind_function(b.context(), &name, &args)? {
        // Computed now from the catalog as this statement's snapshot sees it (and from its
        // arguments as given): a plan holding the answer is not cached.
        if let Some(ctx) = b.context() {
            ctx.plan_volatile = true;
        }
        return Ok(call);
    }
    functions::resolve(&name, args, no_parens)
}

/// The current-time functions, as constants: the transaction's start for `now()`,
/// `current_timestamp` and the like (fixed for the whole transaction, as in PostgreSQL), the
/// time of binding for `statement_timestamp()` and `clock_timestamp()` (a statement is bound
/// as it starts). Times are in UTC, the session's time zone.
fn current_time(name: &str, args: &[Expr], no_parens: bool, b: &mut QueryBinder<'_, '_>) -> Result<Option<Expr>> {
    // `current_timestamp(p)` and `localtimestamp(p)` give a precision, kept to the microsecond.
    let called = match (name, no_parens, args.len()) {
        ("current_timestamp" | "localtimestamp", false, 1) => args[0].is_constant(),
        ("current_timestamp" | "localtimestamp" | "current_date", true, 0) => true,
        ("now" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp", false, 0) => true,
        _ => false,
    };
    if !called {
        return Ok(None);
    }
    if let Some(ctx) = b.context() {
        ctx.plan_volatile = true;
    }
    let start = b.transaction_time();
    let value = match name {
        "now" | "current_timestamp" | "transaction_timestamp" => Value::TimestampTz(start),
        "localtimestamp" => Value::Timestamp(start),
        "current_date" => Value::Date(rustydb_foundation::datetime::timestamp_date(start)),
        "statement_timestamp" | "clock_timestamp" => Value::TimestampTz(rustydb_foundation::datetime::now()),
        _ => return Ok(None),
    };
    Ok(Some(Expr::literal(value)))
}

/// A function's name, lower case, with a `pg_catalog.` prefix dropped.
pub fn function_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [n] => Ok(n.clone()),
        [schema, n] if schema == "pg_catalog" => Ok(n.clone()),
        _ => Err(DbError::sql(SqlState::UndefinedFunction, format!("function {name} does not exist"))),
    }
}

/// The longest char(n)/varchar(n) PostgreSQL allows.
pub const MAX_CHAR_LENGTH: u64 = 10_485_760;

/// Converts a type name as written in SQL to a [`DataType`].
pub fn convert_type(ty: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    // PostgreSQL's bounds for char(n)/varchar(n) (anychar_typmodin): 1 ..= 10485760.
    let length = |l: &Option<ast::CharacterLength>, name: &str| -> Result<Option<u32>> {
        match l {
            Some(ast::CharacterLength::IntegerLength { length: 0, .. }) => {
                Err(DbError::sql(SqlState::InvalidParameterValue, format!("length for type {name} must be at least 1")))
            }
            Some(ast::CharacterLength::IntegerLength { length, .. }) if *length > MAX_CHAR_LENGTH => Err(DbError::sql(
                SqlState::InvalidParameterValue,
                format!("length for type {name} cannot exceed {MAX_CHAR_LENGTH}"),
            )),
            Some(ast::CharacterLength::IntegerLength { length, .. }) => Ok(Some(*length as u32)),
            _ => Ok(None),
        }
    };
    Ok(match ty {
        T::Bool | T::Boolean => DataType::Bool,
        T::SmallInt(_) | T::Int2(_) => DataType::Int2,
        T::Int(_) | T::Integer(_) | T::Int4(_) => DataType::Int4,
        T::BigInt(_) | T::Int8(_) => DataType::Int8,
        T::Real | T::Float4 => DataType::Float4,
        T::DoublePrecision | T::Float8 | T::Double(_) => DataType::Float8,
        T::Float(ast::ExactNumberInfo::Precision(p)) if *p <= 24 => DataType::Float4,
        T::Float(_) => DataType::Float8,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => numeric_type(info)?,
        T::Interval { .. } => DataType::Interval,
        T::Uuid => DataType::Uuid,
        T::JSON => DataType::Json,
        T::JSONB => DataType::Jsonb,
        T::Bytea => DataType::Bytea,
        T::Text | T::String(None) => DataType::Text,
        T::Varchar(l) | T::CharacterVarying(l) => DataType::Varchar(length(l, "varchar")?),
        T::Char(l) | T::Character(l) => DataType::Char(length(l, "char")?.unwrap_or(1)),
        T::Date => DataType::Date,
        // A precision is accepted; fractional seconds are kept to the microsecond.
        T::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => DataType::TimestampTz,
        T::Timestamp(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => DataType::Timestamp,
        T::Time(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => DataType::Time,
        T::Custom(name, mods) if mods.is_empty() => custom_type(&name.to_string().to_lowercase())?,
        T::Regclass => DataType::Int4,
        T::Array(ast::ArrayElemTypeDef::SquareBracket(inner, _) | ast::ArrayElemTypeDef::Qualified(inner, _)) => {
            let element = convert_type(inner)?;
            DataType::Array(rustydb_foundation::ElementType::of(element).ok_or_else(|| {
                DbError::sql(SqlState::FeatureNotSupported, "multidimensional arrays are not supported")
            })?)
        }
        other => return Err(DbError::sql(SqlState::UndefinedObject, format!("type \"{other}\" is not supported yet"))),
    })
}

/// `numeric`, `numeric(p)` or `numeric(p, s)`, with PostgreSQL's limits on p and s (22023).
fn numeric_type(info: &ast::ExactNumberInfo) -> Result<DataType> {
    let (precision, scale) = match *info {
        ast::ExactNumberInfo::None => return Ok(DataType::Numeric(None)),
        ast::ExactNumberInfo::Precision(p) => (p, 0),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => (p, s),
    };
    let max = rustydb_foundation::numeric::MAX_PRECISION;
    if precision < 1 || precision > u64::from(max) {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("NUMERIC precision {precision} must be between 1 and {max}"),
        ));
    }
    if scale < -i64::from(max) || scale > i64::from(max) {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("NUMERIC scale {scale} must be between -{max} and {max}"),
        ));
    }
    Ok(DataType::Numeric(Some((precision as u16, scale as i16))))
}

fn custom_type(name: &str) -> Result<DataType> {
    Ok(match name.strip_prefix("pg_catalog.").unwrap_or(name) {
        "bpchar" => DataType::Char(1),
        "float" => DataType::Float8,
        "timestamptz" => DataType::TimestampTz,
        // The catalog names of the built-in types, as psql writes them schema-qualified.
        "text" | "name" => DataType::Text,
        "bool" => DataType::Bool,
        "int2" => DataType::Int2,
        "int4" => DataType::Int4,
        "int8" => DataType::Int8,
        "float4" => DataType::Float4,
        "float8" => DataType::Float8,
        "varchar" => DataType::Varchar(None),
        "date" => DataType::Date,
        "timestamp" => DataType::Timestamp,
        "numeric" | "decimal" => DataType::Numeric(None),
        "interval" => DataType::Interval,
        "uuid" => DataType::Uuid,
        "bytea" => DataType::Bytea,
        "json" => DataType::Json,
        "time" => DataType::Time,
        "jsonb" => DataType::Jsonb,
        // Object identifiers are int4 here, as the catalog relations hold them; a relation's
        // name cast to regclass is looked up when bound (see `Expr::Cast` in `bind`).
        "oid" | "regclass" | "regtype" | "regnamespace" | "regproc" | "regprocedure" | "regrole" | "regoper" => {
            DataType::Int4
        }
        "\"char\"" | "char" => DataType::Text,
        other => return Err(DbError::sql(SqlState::UndefinedObject, format!("type \"{other}\" does not exist"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn bind_select_item(sql: &str) -> Result<Expr> {
        let stmts = parse(&format!("SELECT {sql}"))?;
        let ast::Statement::Query(q) = &stmts[0] else { panic!("not a query") };
        let ast::SetExpr::Select(s) = q.body.as_ref() else { panic!("not a select") };
        let ast::SelectItem::UnnamedExpr(e) = &s.projection[0] else { panic!("not an expression") };
        bind(e, &mut QueryBinder::constant())
    }

    fn eval(sql: &str) -> Result<Value> {
        bind_select_item(sql)?.eval(&[], &EvalEnv::new("u", "d"))
    }

    #[test]
    fn literals_take_their_context_type() {
        assert_eq!(eval("1 + 2 * 3").unwrap(), Value::Int4(7));
        assert_eq!(eval("-2147483648").unwrap(), Value::Int4(i32::MIN));
        assert_eq!(eval("3000000000").unwrap(), Value::Int8(3_000_000_000));
        assert_eq!(eval("1 = '1'").unwrap(), Value::Bool(true));
        assert_eq!(eval("'a' || 1").unwrap(), Value::Text("a1".into()));
        assert_eq!(eval("'12'::int + 1").unwrap(), Value::Int4(13));
        assert_eq!(eval("5 BETWEEN 1 AND 10").unwrap(), Value::Bool(true));
        assert_eq!(eval("3 IN (1, 2)").unwrap(), Value::Bool(false));
        assert_eq!(eval("2 IN (1, 2)").unwrap(), Value::Bool(true));
        assert_eq!(eval("3 IN (1, NULL)").unwrap(), Value::Null);
        assert_eq!(eval("3 NOT IN (1, 2)").unwrap(), Value::Bool(true));
        assert_eq!(eval("NULL IS NULL").unwrap(), Value::Bool(true));
        assert_eq!(eval("coalesce(NULL, 2)").unwrap(), Value::Int4(2));
        assert_eq!(eval("CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END").unwrap(), Value::Text("b".into()));
        assert_eq!(eval("CASE 3 WHEN 1 THEN 1.5 ELSE 2 END").unwrap().to_string(), "2");
        assert_eq!(eval("CASE 3 WHEN 1 THEN 1.5 ELSE 2 END").unwrap().data_type(), Some(DataType::Numeric(None)));
        assert_eq!(eval("0.1 + 0.2").unwrap().to_string(), "0.3");
        assert_eq!(eval("1 / 3.0").unwrap().to_string(), "0.33333333333333333333");
        assert_eq!(eval("99999999999999999999").unwrap().data_type(), Some(DataType::Numeric(None)));
        assert_eq!(eval("1.5::float8 + 1").unwrap(), Value::Float8(2.5));
        assert_eq!(eval("2.5::int").unwrap(), Value::Int4(3));
        assert_eq!(eval("7.5 % 2").unwrap().to_string(), "1.5");
        assert_eq!(eval("-1.50").unwrap().to_string(), "-1.50");
        assert_eq!(eval("CASE WHEN NULL THEN 1 END").unwrap(), Value::Null);
        assert_eq!(eval("NULL IS DISTINCT FROM 1").unwrap(), Value::Bool(true));
        assert_eq!(eval("NULL IS NOT DISTINCT FROM NULL").unwrap(), Value::Bool(true));
        assert_eq!(eval("NULL IS NOT TRUE").unwrap(), Value::Bool(true));
        assert_eq!(eval("substring('hello' from 2 for 2)").unwrap(), Value::Text("el".into()));
        assert_eq!(eval("trim(leading 'x' from 'xxa')").unwrap(), Value::Text("a".into()));
        assert_eq!(eval("position('l' in 'hello')").unwrap(), Value::Int4(3));
    }

    #[test]
    fn type_errors_carry_postgres_sqlstates() {
        let code = |sql: &str| {
            bind_select_item(sql).and_then(|e| e.eval(&[], &EvalEnv::new("", ""))).unwrap_err().sqlstate().code()
        };
        assert_eq!(code("1 + 'x'"), "22P02");
        assert_eq!(code("1 + true"), "42883");
        assert_eq!(code("1 AND true"), "42804");
        assert_eq!(code("nosuch(1)"), "42883");
        assert_eq!(code("x"), "42703");
        assert_eq!(code("1/0"), "22012");
        assert_eq!(code("true::text::int"), "22P02");
        assert_eq!(code("'a'::varchar(20000000)"), "22023");
        assert_eq!(code("'a'::char(4000000000)"), "22023");
        assert_eq!(code("'a'::char(0)"), "22023");
        assert_eq!(code("CASE WHEN true THEN 1 ELSE 'x'::text END"), "42804");
        assert_eq!(code("CASE WHEN 1 THEN 1 END"), "42804");
        assert_eq!(code("(SELECT 1, 2)"), "42601");
    }
}
