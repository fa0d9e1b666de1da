//! Binding expressions: resolving column names against the scope, typing every node, folding
//! untyped literals into the type their context asks for, and refusing what PostgreSQL refuses
//! with its SQLSTATE (42703 unknown column, 42883 no such operator or function, 42804 wrong type).

use crate::catalog::TableDef;
use crate::expr::{BinaryOp, EvalEnv, Expr, Function};
use crate::types::{CastContext, arithmetic_type, can_cast, cast_value};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use sqlparser::ast;

/// The names an expression may refer to: the columns of the FROM table, if any.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The table in scope and the name it is known by (its alias, or its own name).
    pub table: Option<(&'a TableDef, &'a str)>,
}

impl Scope<'_> {
    /// An empty scope (no FROM clause).
    pub const EMPTY: Scope<'static> = Scope { table: None };
}

/// Folds an identifier as PostgreSQL does: unquoted names are lower-cased.
pub fn ident_name(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// Binds an expression in `scope`.
pub fn bind(expr: &ast::Expr, scope: Scope<'_>) -> Result<Expr> {
    use ast::Expr as E;
    match expr {
        E::Identifier(ident) => column(scope, None, &ident_name(ident)),
        E::CompoundIdentifier(parts) => match parts.as_slice() {
            [table, col] => column(scope, Some(&ident_name(table)), &ident_name(col)),
            _ => Err(DbError::unsupported(format!("the name {expr}"))),
        },
        E::Value(v) => literal(&v.value),
        E::Nested(inner) => bind(inner, scope),
        E::UnaryOp { op, expr: inner } => unary(*op, inner, scope),
        E::BinaryOp { left, op, right } => {
            let op = binary_op(op)?;
            binary(op, bind(left, scope)?, bind(right, scope)?)
        }
        E::IsNull(inner) => Ok(Expr::IsNull { arg: Box::new(bind(inner, scope)?), negated: false }),
        E::IsNotNull(inner) => Ok(Expr::IsNull { arg: Box::new(bind(inner, scope)?), negated: true }),
        E::IsTrue(inner) => binary(BinaryOp::Eq, bind(inner, scope)?, Expr::literal(Value::Bool(true))),
        E::IsFalse(inner) => binary(BinaryOp::Eq, bind(inner, scope)?, Expr::literal(Value::Bool(false))),
        E::Between { expr: inner, negated, low, high } => between(inner, *negated, low, high, scope),
        E::InList { expr: inner, list, negated } => in_list(inner, list, *negated, scope),
        E::Like { negated, expr: inner, pattern, escape_char: None, any: false } => {
            like(inner, pattern, *negated, false, scope)
        }
        E::ILike { negated, expr: inner, pattern, escape_char: None, any: false } => {
            like(inner, pattern, *negated, true, scope)
        }
        E::Cast { expr: inner, data_type, format: None, .. } => {
            cast(bind(inner, scope)?, convert_type(data_type)?, CastContext::Explicit)
        }
        E::Function(f) => function(f, scope),
        other => Err(DbError::unsupported(format!("the expression {other}"))),
    }
}

fn column(scope: Scope<'_>, qualifier: Option<&str>, name: &str) -> Result<Expr> {
    let Some((table, alias)) = scope.table else {
        return Err(match qualifier {
            Some(q) => missing_from(q),
            None => DbError::undefined_column(name),
        });
    };
    if let Some(q) = qualifier
        && q != alias
    {
        return Err(missing_from(q));
    }
    let index = table.schema.index_of(name).ok_or_else(|| match qualifier {
        Some(q) => DbError::sql(SqlState::UndefinedColumn, format!("column {q}.{name} does not exist")),
        None => DbError::undefined_column(name),
    })?;
    Ok(Expr::Column { index, ty: table.schema.columns[index].data_type })
}

fn missing_from(table: &str) -> DbError {
    DbError::sql(SqlState::UndefinedTable, format!("missing FROM-clause entry for table \"{table}\""))
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

/// A numeric literal: integer if it fits (int4, then int8), otherwise double precision.
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
    Value::parse_as(text, DataType::Float8)
}

fn unary(op: ast::UnaryOperator, inner: &ast::Expr, scope: Scope<'_>) -> Result<Expr> {
    let arg = bind(inner, scope)?;
    match op {
        ast::UnaryOperator::Plus => numeric_operand(arg, "+"),
        ast::UnaryOperator::Minus => {
            // Fold `-<literal>` so that -2147483648 is an int4, as in PostgreSQL.
            if let ast::Expr::Value(v) = inner
                && let ast::Value::Number(text, _) = &v.value
            {
                return Ok(Expr::literal(number(&format!("-{text}"))?));
            }
            Ok(Expr::Negate(Box::new(numeric_operand(arg, "-")?)))
        }
        ast::UnaryOperator::Not => Ok(Expr::Not(Box::new(boolean(arg, "NOT")?))),
        other => Err(DbError::unsupported(format!("the operator {other}"))),
    }
}

fn numeric_operand(arg: Expr, symbol: &str) -> Result<Expr> {
    let arg = coerce_unknown(arg, DataType::Float8)?;
    if !arg.data_type().is_numeric() {
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
        other => return Err(DbError::unsupported(format!("the operator {other}"))),
    })
}

/// Binds `left op right`, resolving untyped literals against the other side.
pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Result<Expr> {
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let (l, r) = (boolean(left, op.symbol())?, boolean(right, op.symbol())?);
        return Ok(Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool });
    }
    let (left, right) = unify(left, right, op)?;
    let (lt, rt) = (left.data_type(), right.data_type());
    let ty = if op == BinaryOp::Concat {
        (lt.is_string() || rt.is_string()).then_some(DataType::Text)
    } else if op.is_comparison() {
        comparable(lt, rt).then_some(DataType::Bool)
    } else {
        arithmetic_type(lt, rt).filter(|t| op != BinaryOp::Mod || t.is_integer())
    };
    let ty = ty.ok_or_else(|| no_operator(lt, op, rt))?;
    Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right), ty })
}

fn comparable(a: DataType, b: DataType) -> bool {
    (a.is_numeric() && b.is_numeric()) || (a.is_string() && b.is_string()) || (a == b)
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
        (DataType::Unknown, DataType::Unknown) if op.is_comparison() || op == BinaryOp::Concat => {
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
    if op == BinaryOp::Concat { DataType::Text } else { other }
}

/// Turns an untyped literal into a typed one (parsing its text now, so bad input is reported
/// at bind time with 22P02); other expressions are returned unchanged.
pub fn coerce_unknown(expr: Expr, to: DataType) -> Result<Expr> {
    match expr {
        Expr::Literal { value, ty: DataType::Unknown } => {
            let to = if to == DataType::Unknown { DataType::Text } else { to };
            Ok(Expr::Literal { value: cast_value(value, to, true)?, ty: to })
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
    let value = expr.eval(&[], &EvalEnv { user: "", database: "" })?;
    Ok(Expr::Literal { value, ty })
}

fn between(inner: &ast::Expr, negated: bool, low: &ast::Expr, high: &ast::Expr, scope: Scope<'_>) -> Result<Expr> {
    let value = bind(inner, scope)?;
    let lower = binary(BinaryOp::GtEq, value.clone(), bind(low, scope)?)?;
    let upper = binary(BinaryOp::LtEq, value, bind(high, scope)?)?;
    let both = binary(BinaryOp::And, lower, upper)?;
    Ok(if negated { Expr::Not(Box::new(both)) } else { both })
}

fn in_list(inner: &ast::Expr, list: &[ast::Expr], negated: bool, scope: Scope<'_>) -> Result<Expr> {
    if list.is_empty() {
        return Err(DbError::syntax("syntax error at or near \")\""));
    }
    let value = bind(inner, scope)?;
    let items =
        list.iter().map(|item| binary(BinaryOp::Eq, value.clone(), bind(item, scope)?)).collect::<Result<_>>()?;
    let any = Expr::AnyOf(items);
    Ok(if negated { Expr::Not(Box::new(any)) } else { any })
}

fn like(
    inner: &ast::Expr,
    pattern: &ast::Expr,
    negated: bool,
    case_insensitive: bool,
    scope: Scope<'_>,
) -> Result<Expr> {
    let arg = coerce_unknown(bind(inner, scope)?, DataType::Text)?;
    let pattern = coerce_unknown(bind(pattern, scope)?, DataType::Text)?;
    if !arg.data_type().is_string() || !pattern.data_type().is_string() {
        let op = if case_insensitive { "~~*" } else { "~~" };
        return Err(DbError::sql(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {} {op} {}", arg.data_type().sql_name(), pattern.data_type().sql_name()),
        ));
    }
    Ok(Expr::Like { arg: Box::new(arg), pattern: Box::new(pattern), negated, case_insensitive })
}

fn function(f: &ast::Function, scope: Scope<'_>) -> Result<Expr> {
    let name = function_name(&f.name)?;
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return Err(DbError::unsupported(format!("{name} with OVER, FILTER or WITHIN GROUP")));
    }
    let args = match &f.args {
        ast::FunctionArguments::None => Vec::new(),
        ast::FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => bind(e, scope),
                other => Err(DbError::unsupported(format!("the function argument {other}"))),
            })
            .collect::<Result<Vec<_>>>()?,
        ast::FunctionArguments::Subquery(_) => return Err(DbError::unsupported("a subquery as function argument")),
    };
    resolve_function(&name, args, matches!(f.args, ast::FunctionArguments::None))
}

fn function_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [n] => Ok(n.clone()),
        [schema, n] if schema == "pg_catalog" => Ok(n.clone()),
        _ => Err(DbError::sql(SqlState::UndefinedFunction, format!("function {name} does not exist"))),
    }
}

fn resolve_function(name: &str, args: Vec<Expr>, bare: bool) -> Result<Expr> {
    let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
    let call = |func, args: Vec<Expr>, ty| Ok(Expr::Call { func, args, ty });
    let text_arg = |args: Vec<Expr>| -> Result<Vec<Expr>> {
        args.into_iter().map(|a| coerce_unknown(a, DataType::Text)).collect()
    };
    match (name, types.as_slice()) {
        ("version", []) => call(Function::Version, args, DataType::Text),
        ("current_user" | "session_user" | "user", []) if bare => call(Function::CurrentUser, args, DataType::Text),
        ("current_database", []) => call(Function::CurrentDatabase, args, DataType::Text),
        ("current_schema", []) => call(Function::CurrentSchema, args, DataType::Text),
        ("upper", [t]) if t.is_string() => call(Function::Upper, text_arg(args)?, DataType::Text),
        ("lower", [t]) if t.is_string() => call(Function::Lower, text_arg(args)?, DataType::Text),
        ("length" | "char_length" | "character_length", [t]) if t.is_string() => {
            call(Function::Length, text_arg(args)?, DataType::Int4)
        }
        ("abs", [t]) if t.is_numeric() => call(Function::Abs, args, *t),
        ("coalesce", [first, ..]) => {
            let ty = types.iter().copied().find(|t| *t != DataType::Unknown).unwrap_or(*first);
            let ty = if ty == DataType::Unknown { DataType::Text } else { ty };
            let args = args.into_iter().map(|a| cast(a, ty, CastContext::Implicit)).collect::<Result<Vec<_>>>()?;
            call(Function::Coalesce, args, ty)
        }
        _ => {
            let list: Vec<&str> = types.iter().map(|t| t.sql_name()).collect();
            Err(DbError::sql(
                SqlState::UndefinedFunction,
                format!("function {name}({}) does not exist", list.join(", ")),
            )
            .with_detail(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            ))
        }
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
        T::Text | T::String(None) => DataType::Text,
        T::Varchar(l) | T::CharacterVarying(l) => DataType::Varchar(length(l, "varchar")?),
        T::Char(l) | T::Character(l) => DataType::Char(length(l, "char")?.unwrap_or(1)),
        T::Custom(name, mods) if mods.is_empty() => custom_type(&name.to_string().to_lowercase())?,
        other => return Err(DbError::sql(SqlState::UndefinedObject, format!("type \"{other}\" is not supported yet"))),
    })
}

fn custom_type(name: &str) -> Result<DataType> {
    Ok(match name.strip_prefix("pg_catalog.").unwrap_or(name) {
        "bpchar" => DataType::Char(1),
        "float" => DataType::Float8,
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
        bind(e, Scope::EMPTY)
    }

    fn eval(sql: &str) -> Result<Value> {
        bind_select_item(sql)?.eval(&[], &EvalEnv { user: "u", database: "d" })
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
    }

    #[test]
    fn type_errors_carry_postgres_sqlstates() {
        let code = |sql: &str| {
            bind_select_item(sql)
                .and_then(|e| e.eval(&[], &EvalEnv { user: "", database: "" }))
                .unwrap_err()
                .sqlstate()
                .code()
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
    }
}
