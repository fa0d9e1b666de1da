//! Bound expressions and their evaluation. By the time an expression is bound every column is a
//! position in the input row and every node knows its result type, so evaluation is a plain walk
//! with PostgreSQL's semantics: three-valued logic, NULL in gives NULL out, integer overflow is
//! 22003 and division by zero 22012.

use crate::functions::Function;
use crate::types::{cast_value, out_of_range};
use rustydb_foundation::{DataType, DbError, Numeric, Result, SqlState, Value, datetime};
use std::cmp::Ordering;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `IS DISTINCT FROM`: `<>` with NULL a value like any other (never NULL)
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM`
    IsNotDistinctFrom,
    /// `~`: matches the regular expression
    RegexMatch,
    /// `~*`: matches, ignoring case
    RegexIMatch,
    /// `!~`
    RegexNotMatch,
    /// `!~*`
    RegexNotIMatch,
}

impl BinaryOp {
    /// The operator as written in SQL (for messages).
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Concat => "||",
            Eq => "=",
            NotEq => "<>",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            And => "AND",
            Or => "OR",
            IsDistinctFrom => "IS DISTINCT FROM",
            IsNotDistinctFrom => "IS NOT DISTINCT FROM",
            RegexMatch => "~",
            RegexIMatch => "~*",
            RegexNotMatch => "!~",
            RegexNotIMatch => "!~*",
        }
    }

    /// True for the regular-expression match operators.
    pub fn is_regex(self) -> bool {
        use BinaryOp::*;
        matches!(self, RegexMatch | RegexIMatch | RegexNotMatch | RegexNotIMatch)
    }

    /// True for the comparison operators.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | NotEq | Lt | LtEq | Gt | GtEq)
    }
}

/// Session facts some functions read, the row of the enclosing queries a correlated subquery
/// runs for, and whoever runs subqueries.
#[derive(Clone, Copy)]
pub struct EvalEnv<'a> {
    /// The session's current role (`current_user`).
    pub user: &'a str,
    /// The user the session logged in as (`session_user`).
    pub session_user: &'a str,
    /// The session's database.
    pub database: &'a str,
    /// The enclosing queries' row ([`Expr::Outer`] indexes it); empty at the top level.
    pub outer: &'a [Value],
    /// Runs the subqueries an expression holds; `None` where none can occur (constants).
    pub subqueries: Option<&'a dyn SubqueryRunner>,
}

impl std::fmt::Debug for EvalEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalEnv").field("user", &self.user).field("outer", &self.outer).finish_non_exhaustive()
    }
}

impl<'a> EvalEnv<'a> {
    /// An environment with no enclosing row and no subqueries.
    pub const fn new(user: &'a str, database: &'a str) -> Self {
        EvalEnv { user, session_user: user, database, outer: &[], subqueries: None }
    }
}

/// Evaluates subqueries for expressions (the executor implements it: running a plan needs the
/// statement's context, which expressions do not carry).
pub trait SubqueryRunner {
    /// The value of `subquery` for the enclosing row `row` (whose own enclosing row is
    /// `outer`); `arg` is the already evaluated left operand of IN / ANY / ALL.
    fn run(&self, subquery: &Subquery, row: &[Value], outer: &[Value], arg: Option<Value>) -> Result<Value>;

    /// Runs a sequence function (`nextval` and the like), which needs the engine and the
    /// session.
    fn sequence(&self, call: crate::sequence::SequenceCall, args: &[Value]) -> Result<Value>;

    /// Runs an encryption key function, which needs the engine and the session.
    fn key(&self, call: crate::encryption::KeyCall, args: &[Value]) -> Result<Value>;

    /// Runs an administration function (`pg_sleep`, `pg_terminate_backend` and the like),
    /// which needs the engine and the session.
    fn admin(&self, call: crate::admin_functions::AdminCall, args: &[Value]) -> Result<Value>;
}

/// What an expression asks of a subquery.
#[derive(Debug, Clone, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: its single value, NULL if it returns no row, 21000 if several.
    Scalar,
    /// `EXISTS (SELECT ...)`.
    Exists,
    /// `arg op ANY (SELECT ...)`, and `arg IN (SELECT ...)` as `= ANY`.
    Any {
        /// The left operand.
        arg: Box<Expr>,
        /// The comparison.
        op: BinaryOp,
    },
    /// `ARRAY(SELECT ...)`: every row's value, in order.
    Array {
        /// The elements' type.
        element: rustydb_foundation::ElementType,
    },
    /// `arg op ALL (SELECT ...)`.
    All {
        /// The left operand.
        arg: Box<Expr>,
        /// The comparison.
        op: BinaryOp,
    },
}

/// A subquery inside an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    /// Unique within the statement: the key of an uncorrelated subquery's cached result.
    pub id: usize,
    /// The query (its first output column is the one compared or returned).
    pub plan: crate::rel::Rel,
    /// What is asked of it.
    pub kind: SubqueryKind,
    /// Reads columns of an enclosing query, so it runs again for each of their rows (set by
    /// `resolve`); otherwise it runs once per statement.
    pub correlated: bool,
    /// The result type.
    pub ty: DataType,
}

/// A bound expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal {
        /// Its value.
        value: Value,
        /// Its type ([`DataType::Unknown`] for an untyped string or NULL literal).
        ty: DataType,
    },
    /// A column of the input row: its position once resolved; before that (in a bound
    /// [`crate::rel::Rel`]) the column's id, unique in the statement.
    Column {
        /// Position in the input row (column id before resolution).
        index: usize,
        /// Column type.
        ty: DataType,
    },
    /// A column of an enclosing query's row, in a correlated subquery (resolved plans only).
    Outer {
        /// Position in [`EvalEnv::outer`].
        index: usize,
        /// Column type.
        ty: DataType,
    },
    /// A statement parameter (`$1` is index 0), only in statements bound while preparing
    /// (see [`crate::params`]): executing binds each to its value, so this is never evaluated.
    Param {
        /// Its position among the parameters.
        index: usize,
        /// Its type ([`DataType::Unknown`] until its context gives it one).
        ty: DataType,
    },
    /// Searched `CASE WHEN c THEN r ... ELSE e END` (the simple form binds to this with `=`).
    Case {
        /// (condition, result) pairs, tried in order.
        branches: Vec<(Expr, Expr)>,
        /// ELSE (NULL if absent).
        otherwise: Option<Box<Expr>>,
        /// Result type.
        ty: DataType,
    },
    /// A subquery.
    Subquery(Box<Subquery>),
    /// Arithmetic negation.
    Negate(Box<Expr>),
    /// Logical NOT.
    Not(Box<Expr>),
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// Result type.
        ty: DataType,
    },
    /// `IS [NOT] NULL`
    IsNull {
        /// The tested expression.
        arg: Box<Expr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// A type conversion.
    Cast {
        /// The converted expression.
        arg: Box<Expr>,
        /// Target type.
        to: DataType,
        /// An explicit `CAST`/`::` (which may truncate strings) rather than an assignment.
        explicit: bool,
    },
    /// `[NOT] LIKE` / `ILIKE`
    Like {
        /// The string tested.
        arg: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `NOT LIKE` when true.
        negated: bool,
        /// `ILIKE` when true.
        case_insensitive: bool,
    },
    /// N-ary OR (what `x IN (a, b, ...)` binds to): TRUE if any is TRUE, else NULL if any is
    /// NULL, else FALSE. Evaluated in a loop, so a list of any length costs no stack.
    AnyOf(Vec<Expr>),
    /// A function call.
    Call {
        /// The function.
        func: Function,
        /// Its arguments.
        args: Vec<Expr>,
        /// Result type.
        ty: DataType,
    },
}

impl Expr {
    /// A literal of the value's own type.
    pub fn literal(value: Value) -> Expr {
        let ty = value.data_type().unwrap_or(DataType::Unknown);
        Expr::Literal { value, ty }
    }

    /// The expression's result type.
    pub fn data_type(&self) -> DataType {
        match self {
            Expr::Literal { ty, .. }
            | Expr::Column { ty, .. }
            | Expr::Outer { ty, .. }
            | Expr::Param { ty, .. }
            | Expr::Binary { ty, .. }
            | Expr::Call { ty, .. }
            | Expr::Case { ty, .. } => *ty,
            Expr::Subquery(s) => s.ty,
            Expr::Negate(arg) => arg.data_type(),
            Expr::Not(_) | Expr::IsNull { .. } | Expr::Like { .. } | Expr::AnyOf(_) => DataType::Bool,
            Expr::Cast { to, .. } => *to,
        }
    }

    /// Evaluates the expression over `row`.
    pub fn eval(&self, row: &[Value], env: &EvalEnv<'_>) -> Result<Value> {
        match self {
            Expr::Literal { value, .. } => Ok(value.clone()),
            Expr::Column { index, .. } => Ok(row.get(*index).cloned().unwrap_or(Value::Null)),
            Expr::Outer { index, .. } => Ok(env.outer.get(*index).cloned().unwrap_or(Value::Null)),
            Expr::Param { index, .. } => {
                Err(DbError::Internal(format!("parameter ${} evaluated in a statement only prepared", index + 1)))
            }
            Expr::Case { branches, otherwise, .. } => {
                for (when, then) in branches {
                    if when.eval(row, env)? == Value::Bool(true) {
                        return then.eval(row, env);
                    }
                }
                otherwise.as_ref().map_or(Ok(Value::Null), |e| e.eval(row, env))
            }
            Expr::Subquery(sq) => {
                let arg = match &sq.kind {
                    SubqueryKind::Any { arg, .. } | SubqueryKind::All { arg, .. } => Some(arg.eval(row, env)?),
                    _ => None,
                };
                let runner =
                    env.subqueries.ok_or_else(|| DbError::Internal("a subquery evaluated without a runner".into()))?;
                runner.run(sq, row, env.outer, arg)
            }
            Expr::Negate(arg) => negate(arg.eval(row, env)?),
            Expr::Not(arg) => Ok(match arg.eval(row, env)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            }),
            Expr::Binary { op: BinaryOp::And, left, right, .. } => and(left, right, row, env),
            Expr::Binary { op: BinaryOp::Or, left, right, .. } => or(left, right, row, env),
            Expr::Binary { op: op @ (BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom), left, right, .. } => {
                let (l, r) = (left.eval(row, env)?, right.eval(row, env)?);
                let same = match (l.is_null(), r.is_null()) {
                    (true, true) => true,
                    (false, false) => l.sql_cmp(&r) == Some(Ordering::Equal),
                    _ => false,
                };
                Ok(Value::Bool(same == (*op == BinaryOp::IsNotDistinctFrom)))
            }
            Expr::Binary { op, left, right, ty } => binary(*op, left.eval(row, env)?, right.eval(row, env)?, *ty),
            Expr::IsNull { arg, negated } => Ok(Value::Bool(arg.eval(row, env)?.is_null() != *negated)),
            Expr::Cast { arg, to, explicit } => cast_value(arg.eval(row, env)?, *to, *explicit),
            Expr::Like { arg, pattern, negated, case_insensitive } => {
                like(arg.eval(row, env)?, pattern.eval(row, env)?, *negated, *case_insensitive)
            }
            Expr::Call { func, args, .. } => crate::functions::call(*func, args, row, env),
            Expr::AnyOf(items) => any_of(items, row, env),
        }
    }

    /// True if the expression reads no column and holds no subquery (it can be evaluated
    /// once, at bind time).
    pub fn is_constant(&self) -> bool {
        match self {
            Expr::Literal { .. } => true,
            Expr::Column { .. } | Expr::Outer { .. } | Expr::Param { .. } | Expr::Subquery(_) => false,
            Expr::Call { func, .. } if func.is_volatile() => false,
            other => other.children().into_iter().all(Expr::is_constant),
        }
    }

    /// True if the expression has one value for the whole statement: [`Expr::is_constant`],
    /// parameters allowed (a prepared statement's generic plan looks keys up by them).
    pub fn is_fixed(&self) -> bool {
        match self {
            Expr::Literal { .. } | Expr::Param { .. } => true,
            Expr::Column { .. } | Expr::Outer { .. } | Expr::Subquery(_) => false,
            Expr::Call { func, .. } if func.is_volatile() => false,
            other => other.children().into_iter().all(Expr::is_fixed),
        }
    }

    /// The expression's operands (a subquery's plan is not among them; its left operand is).
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Literal { .. } | Expr::Column { .. } | Expr::Outer { .. } | Expr::Param { .. } => Vec::new(),
            Expr::Negate(a) | Expr::Not(a) | Expr::IsNull { arg: a, .. } | Expr::Cast { arg: a, .. } => vec![a],
            Expr::Binary { left, right, .. } => vec![left, right],
            Expr::Like { arg, pattern, .. } => vec![arg, pattern],
            Expr::Call { args, .. } | Expr::AnyOf(args) => args.iter().collect(),
            Expr::Case { branches, otherwise, .. } => {
                branches.iter().flat_map(|(w, t)| [w, t]).chain(otherwise.as_deref()).collect()
            }
            Expr::Subquery(sq) => match &sq.kind {
                SubqueryKind::Any { arg, .. } | SubqueryKind::All { arg, .. } => vec![arg],
                _ => Vec::new(),
            },
        }
    }

    /// Evaluates the expression as a condition (WHERE, ON, HAVING): only TRUE passes. AND-ed
    /// conditions are tried in order and the first that is not TRUE rejects the row without
    /// evaluating the rest, as PostgreSQL's qualifier lists do (so `NULL AND 1/0 = 1` rejects
    /// rather than dividing by zero).
    pub fn qual(&self, row: &[Value], env: &EvalEnv<'_>) -> Result<bool> {
        match self {
            Expr::Binary { op: BinaryOp::And, left, right, .. } => Ok(left.qual(row, env)? && right.qual(row, env)?),
            other => Ok(other.eval(row, env)? == Value::Bool(true)),
        }
    }

    /// The operands, mutably (see [`Expr::children`]).
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Expr::Literal { .. } | Expr::Column { .. } | Expr::Outer { .. } | Expr::Param { .. } => Vec::new(),
            Expr::Negate(a) | Expr::Not(a) | Expr::IsNull { arg: a, .. } | Expr::Cast { arg: a, .. } => vec![a],
            Expr::Binary { left, right, .. } => vec![left, right],
            Expr::Like { arg, pattern, .. } => vec![arg, pattern],
            Expr::Call { args, .. } | Expr::AnyOf(args) => args.iter_mut().collect(),
            Expr::Case { branches, otherwise, .. } => {
                branches.iter_mut().flat_map(|(w, t)| [w, t]).chain(otherwise.as_deref_mut()).collect()
            }
            Expr::Subquery(sq) => match &mut sq.kind {
                SubqueryKind::Any { arg, .. } | SubqueryKind::All { arg, .. } => vec![arg],
                _ => Vec::new(),
            },
        }
    }

    /// Calls `f` on this expression and every operand below it, depth first.
    pub fn walk<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        f(self);
        for child in self.children() {
            child.walk(f);
        }
    }

    /// True if the expression holds a subquery.
    pub fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Subquery(_)));
        found
    }
}

/// Evaluates a WHERE condition: only TRUE passes (NULL and FALSE filter the row out).
pub fn passes(filter: Option<&Expr>, row: &[Value], env: &EvalEnv<'_>) -> Result<bool> {
    match filter {
        None => Ok(true),
        Some(f) => f.qual(row, env),
    }
}

pub(crate) fn negate(v: Value) -> Result<Value> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::Int2(i) => Value::Int2(i.checked_neg().ok_or_else(|| out_of_range(DataType::Int2))?),
        Value::Int4(i) => Value::Int4(i.checked_neg().ok_or_else(|| out_of_range(DataType::Int4))?),
        Value::Int8(i) => Value::Int8(i.checked_neg().ok_or_else(|| out_of_range(DataType::Int8))?),
        Value::Float4(f) => Value::Float4(-f),
        Value::Float8(f) => Value::Float8(-f),
        Value::Numeric(n) => Value::Numeric(n.neg()),
        Value::Interval(i) => Value::Interval(i.neg()?),
        other => return Err(DbError::Internal(format!("negating {other:?}"))),
    })
}

fn and(l: &Expr, r: &Expr, row: &[Value], env: &EvalEnv<'_>) -> Result<Value> {
    let left = l.eval(row, env)?;
    if left == Value::Bool(false) {
        return Ok(left);
    }
    let right = r.eval(row, env)?;
    Ok(match (left, right) {
        (_, Value::Bool(false)) => Value::Bool(false),
        (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
        _ => Value::Null,
    })
}

fn or(l: &Expr, r: &Expr, row: &[Value], env: &EvalEnv<'_>) -> Result<Value> {
    let left = l.eval(row, env)?;
    if left == Value::Bool(true) {
        return Ok(left);
    }
    let right = r.eval(row, env)?;
    Ok(match (left, right) {
        (_, Value::Bool(true)) => Value::Bool(true),
        (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
        _ => Value::Null,
    })
}

fn any_of(items: &[Expr], row: &[Value], env: &EvalEnv<'_>) -> Result<Value> {
    let mut saw_null = false;
    for item in items {
        match item.eval(row, env)? {
            Value::Bool(true) => return Ok(Value::Bool(true)),
            Value::Null => saw_null = true,
            _ => {}
        }
    }
    Ok(if saw_null { Value::Null } else { Value::Bool(false) })
}

pub(crate) fn binary(op: BinaryOp, l: Value, r: Value, ty: DataType) -> Result<Value> {
    if l.is_null() || r.is_null() {
        return Ok(Value::Null);
    }
    if op.is_comparison() {
        let ord = l.sql_cmp(&r).ok_or_else(|| DbError::Internal(format!("comparing {l:?} with {r:?}")))?;
        return Ok(Value::Bool(compare(op, ord)));
    }
    if op.is_regex() {
        let (Value::Text(text), Value::Text(pattern)) = (&l, &r) else {
            return Err(DbError::Internal("a regular expression match on non-text".into()));
        };
        let ci = matches!(op, BinaryOp::RegexIMatch | BinaryOp::RegexNotIMatch);
        let negated = matches!(op, BinaryOp::RegexNotMatch | BinaryOp::RegexNotIMatch);
        return Ok(Value::Bool(crate::regex_match::is_match(text, pattern, ci)? != negated));
    }
    match op {
        BinaryOp::Concat if ty == DataType::Bytea => match (l, r) {
            (Value::Bytea(mut a), Value::Bytea(b)) => {
                a.extend_from_slice(&b);
                Ok(Value::Bytea(a))
            }
            (l, r) => Err(DbError::Internal(format!("bytea concatenation of {l:?} and {r:?}"))),
        },
        BinaryOp::Concat => {
            Ok(Value::Text(format!("{}{}", l.to_pg_text().unwrap_or_default(), r.to_pg_text().unwrap_or_default())))
        }
        _ if matches!(l, Value::Time(_)) || matches!(r, Value::Time(_)) => time_arith(op, &l, &r),
        _ if ty == DataType::Interval || matches!(l, Value::Interval(_)) || matches!(r, Value::Interval(_)) => {
            interval_arith(op, &l, &r, ty)
        }
        _ if matches!(l, Value::Date(_)) || matches!(r, Value::Date(_)) => date_arith(op, &l, &r),
        _ if ty.is_integer() => integer_arith(op, l.as_i64(), r.as_i64(), ty),
        _ if matches!(ty, DataType::Numeric(_)) => numeric_arith(op, &l, &r),
        _ => float_arith(op, l.as_f64(), r.as_f64(), ty),
    }
}

/// A date or timestamp as a timestamp (dates at midnight).
fn as_timestamp(v: &Value) -> Result<Option<i64>> {
    Ok(match *v {
        Value::Timestamp(t) | Value::TimestampTz(t) => Some(t),
        Value::Date(d) => Some(datetime::date_timestamp(d)?),
        _ => None,
    })
}

/// The interval operators: timestamp (or date) ± interval, timestamp − timestamp, interval ±
/// interval, interval × number, interval ÷ number.
fn interval_arith(op: BinaryOp, l: &Value, r: &Value, ty: DataType) -> Result<Value> {
    use rustydb_foundation::datetime_fields::{add_interval, difference};
    let stamp = |t: i64| if ty == DataType::TimestampTz { Value::TimestampTz(t) } else { Value::Timestamp(t) };
    Ok(match (op, l, r) {
        (BinaryOp::Add, Value::Interval(a), Value::Interval(b)) => Value::Interval(a.add(b)?),
        (BinaryOp::Sub, Value::Interval(a), Value::Interval(b)) => Value::Interval(a.sub(b)?),
        (BinaryOp::Mul, Value::Interval(i), n) | (BinaryOp::Mul, n, Value::Interval(i)) if n.as_f64().is_some() => {
            Value::Interval(i.mul(n.as_f64().unwrap_or_default())?)
        }
        (BinaryOp::Div, Value::Interval(i), n) if n.as_f64().is_some() => {
            Value::Interval(i.div(n.as_f64().unwrap_or_default())?)
        }
        (BinaryOp::Add, t, Value::Interval(i)) | (BinaryOp::Add, Value::Interval(i), t) => match as_timestamp(t)? {
            Some(ts) => stamp(add_interval(ts, i)?),
            None => return Err(DbError::Internal(format!("{t:?} + interval"))),
        },
        (BinaryOp::Sub, t, Value::Interval(i)) => match as_timestamp(t)? {
            Some(ts) => stamp(add_interval(ts, &i.neg()?)?),
            None => return Err(DbError::Internal(format!("{t:?} - interval"))),
        },
        (BinaryOp::Sub, a, b) => match (as_timestamp(a)?, as_timestamp(b)?) {
            (Some(a), Some(b)) => Value::Interval(difference(a, b)?),
            _ => return Err(DbError::Internal(format!("{a:?} - {b:?}"))),
        },
        _ => return Err(DbError::Internal(format!("interval arithmetic {l:?} {} {r:?}", op.symbol()))),
    })
}

/// The `time` operators: `time ± interval` (the interval's time part, wrapping at midnight),
/// `time - time` (an interval), and `date + time` (a timestamp).
fn time_arith(op: BinaryOp, l: &Value, r: &Value) -> Result<Value> {
    use rustydb_foundation::time_of_day::DAY;
    Ok(match (op, l, r) {
        (BinaryOp::Add, Value::Time(t), Value::Interval(i)) | (BinaryOp::Add, Value::Interval(i), Value::Time(t)) => {
            Value::Time((t + i.micros % DAY).rem_euclid(DAY))
        }
        (BinaryOp::Sub, Value::Time(t), Value::Interval(i)) => Value::Time((t - i.micros % DAY).rem_euclid(DAY)),
        (BinaryOp::Sub, Value::Time(a), Value::Time(b)) => {
            Value::Interval(rustydb_foundation::Interval::new(0, 0, a - b))
        }
        (BinaryOp::Add, Value::Date(d), Value::Time(t)) | (BinaryOp::Add, Value::Time(t), Value::Date(d)) => {
            let base = datetime::date_timestamp(*d)?;
            if base == datetime::TIMESTAMP_INFINITY || base == datetime::TIMESTAMP_NEG_INFINITY {
                Value::Timestamp(base)
            } else {
                Value::Timestamp(base + t)
            }
        }
        _ => return Err(DbError::Internal(format!("time arithmetic {l:?} {} {r:?}", op.symbol()))),
    })
}

/// `date ± integer` and `date - date`; 22008 past the date range.
fn date_arith(op: BinaryOp, l: &Value, r: &Value) -> Result<Value> {
    let out_of_range = || DbError::sql(SqlState::DatetimeFieldOverflow, "date out of range");
    let finite = |d: i32| d != datetime::DATE_INFINITY && d != datetime::DATE_NEG_INFINITY;
    match (op, l, r) {
        (BinaryOp::Sub, Value::Date(a), Value::Date(b)) => {
            if !finite(*a) || !finite(*b) {
                return Err(DbError::sql(SqlState::DatetimeFieldOverflow, "cannot subtract infinite dates"));
            }
            i32::try_from(i64::from(*a) - i64::from(*b)).map(Value::Int4).map_err(|_| out_of_range())
        }
        (BinaryOp::Add | BinaryOp::Sub, Value::Date(d), n) | (BinaryOp::Add, n, Value::Date(d)) => {
            let n = n.as_i64().ok_or_else(|| DbError::Internal("date arithmetic on a non-integer".into()))?;
            if !finite(*d) {
                return Ok(Value::Date(*d));
            }
            let days = if op == BinaryOp::Add { i64::from(*d) + n } else { i64::from(*d) - n };
            i32::try_from(days).ok().filter(|d| finite(*d)).map(Value::Date).ok_or_else(out_of_range)
        }
        _ => Err(DbError::Internal(format!("date arithmetic {l:?} {} {r:?}", op.symbol()))),
    }
}

fn compare(op: BinaryOp, ord: Ordering) -> bool {
    match op {
        BinaryOp::Eq => ord == Ordering::Equal,
        BinaryOp::NotEq => ord != Ordering::Equal,
        BinaryOp::Lt => ord == Ordering::Less,
        BinaryOp::LtEq => ord != Ordering::Greater,
        BinaryOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }
}

fn integer_arith(op: BinaryOp, a: Option<i64>, b: Option<i64>, ty: DataType) -> Result<Value> {
    let (Some(a), Some(b)) = (a, b) else { return Err(DbError::Internal("integer arithmetic on non-integers".into())) };
    let v = integer_op(op, a, b, ty)?;
    Ok(match ty {
        DataType::Int2 => Value::Int2(v as i16),
        DataType::Int4 => Value::Int4(v as i32),
        _ => Value::Int8(v),
    })
}

/// `a op b` for integers of result type `ty`: 22012 dividing by zero, 22003 past `ty`'s range
/// (the row and the vectorized executor both compute through this).
#[inline]
pub(crate) fn integer_op(op: BinaryOp, a: i64, b: i64, ty: DataType) -> Result<i64> {
    if matches!(op, BinaryOp::Div | BinaryOp::Mod) && b == 0 {
        return Err(DbError::division_by_zero());
    }
    let result = match op {
        BinaryOp::Add => a.checked_add(b),
        BinaryOp::Sub => a.checked_sub(b),
        BinaryOp::Mul => a.checked_mul(b),
        BinaryOp::Div => a.checked_div(b),
        // i64::MIN % -1 overflows in Rust but is 0 in SQL.
        BinaryOp::Mod => Some(a.checked_rem(b).unwrap_or(0)),
        _ => None,
    };
    let (min, max) = integer_range(ty);
    result.filter(|v| (min..=max).contains(v)).ok_or_else(|| out_of_range(ty))
}

/// The values an integer type holds, as i64s.
pub(crate) fn integer_range(ty: DataType) -> (i64, i64) {
    match ty {
        DataType::Int2 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        DataType::Int4 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The operand as a numeric (integers convert exactly).
pub(crate) fn as_numeric(v: &Value) -> Result<std::borrow::Cow<'_, Numeric>> {
    match v {
        Value::Numeric(n) => Ok(std::borrow::Cow::Borrowed(n)),
        other => match other.as_i64() {
            Some(i) => Ok(std::borrow::Cow::Owned(Numeric::from_i64(i))),
            None => Err(DbError::Internal(format!("numeric arithmetic on {other:?}"))),
        },
    }
}

fn numeric_arith(op: BinaryOp, l: &Value, r: &Value) -> Result<Value> {
    let (a, b) = (as_numeric(l)?, as_numeric(r)?);
    Ok(Value::Numeric(match op {
        BinaryOp::Add => a.add(&b)?,
        BinaryOp::Sub => a.sub(&b)?,
        BinaryOp::Mul => a.mul(&b)?,
        BinaryOp::Div => a.div(&b)?,
        BinaryOp::Mod => a.rem(&b)?,
        _ => return Err(DbError::Internal(format!("operator {} on numerics", op.symbol()))),
    }))
}

fn float_arith(op: BinaryOp, a: Option<f64>, b: Option<f64>, ty: DataType) -> Result<Value> {
    let (Some(a), Some(b)) = (a, b) else { return Err(DbError::Internal("float arithmetic on non-numbers".into())) };
    if op == BinaryOp::Div && b == 0.0 {
        return Err(DbError::division_by_zero());
    }
    let v = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        _ => return Err(DbError::Internal(format!("operator {} on floats", op.symbol()))),
    };
    if v.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: overflow"));
    }
    Ok(if ty == DataType::Float4 { Value::Float4(v as f32) } else { Value::Float8(v) })
}

fn like(value: Value, pattern: Value, negated: bool, case_insensitive: bool) -> Result<Value> {
    let (Value::Text(s), Value::Text(p)) = (value, pattern) else { return Ok(Value::Null) };
    let (s, p) = if case_insensitive { (s.to_lowercase(), p.to_lowercase()) } else { (s, p) };
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    if p.last() == Some(&'\\') && p.iter().rev().take_while(|c| **c == '\\').count() % 2 == 1 {
        return Err(DbError::sql(SqlState::InvalidEscapeCharacter, "LIKE pattern must not end with escape character"));
    }
    Ok(Value::Bool(like_match(&s, &p) != negated))
}

/// LIKE matching with `%`, `_` and `\` escapes (iterative with backtracking to the last `%`).
fn like_match(s: &[char], p: &[char]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some('\\') if p.get(pi + 1) == Some(&s[si]) => {
                si += 1;
                pi += 2;
            }
            Some('_') => {
                si += 1;
                pi += 1;
            }
            Some(c) if *c != '\\' && *c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: EvalEnv<'static> = EvalEnv::new("u", "d");

    fn bin(op: BinaryOp, l: Value, r: Value, ty: DataType) -> Result<Value> {
        Expr::Binary { op, left: Box::new(Expr::literal(l)), right: Box::new(Expr::literal(r)), ty }.eval(&[], &ENV)
    }

    #[test]
    fn integer_arithmetic_checks_overflow_and_zero() {
        assert_eq!(bin(BinaryOp::Div, Value::Int4(7), Value::Int4(2), DataType::Int4).unwrap(), Value::Int4(3));
        assert_eq!(bin(BinaryOp::Mod, Value::Int4(-7), Value::Int4(2), DataType::Int4).unwrap(), Value::Int4(-1));
        let e = bin(BinaryOp::Add, Value::Int4(i32::MAX), Value::Int4(1), DataType::Int4).unwrap_err();
        assert_eq!((e.sqlstate().code(), e.to_string().as_str()), ("22003", "integer out of range"));
        let e = bin(BinaryOp::Div, Value::Int4(1), Value::Int4(0), DataType::Int4).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22012");
        let e = bin(BinaryOp::Div, Value::Float8(1.0), Value::Float8(0.0), DataType::Float8).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22012");
        assert_eq!(bin(BinaryOp::Add, Value::Int4(1), Value::Null, DataType::Int4).unwrap(), Value::Null);
    }

    #[test]
    fn three_valued_logic() {
        let t = Value::Bool(true);
        let f = Value::Bool(false);
        let n = Value::Null;
        assert_eq!(bin(BinaryOp::And, n.clone(), f.clone(), DataType::Bool).unwrap(), f);
        assert_eq!(bin(BinaryOp::And, n.clone(), t.clone(), DataType::Bool).unwrap(), n);
        assert_eq!(bin(BinaryOp::Or, n.clone(), t.clone(), DataType::Bool).unwrap(), t);
        assert_eq!(bin(BinaryOp::Or, n.clone(), f, DataType::Bool).unwrap(), n);
    }

    #[test]
    fn like_patterns() {
        let m = |s: &str, p: &str| like_match(&s.chars().collect::<Vec<_>>(), &p.chars().collect::<Vec<_>>());
        assert!(m("hello", "h%o"));
        assert!(m("hello", "%"));
        assert!(m("hello", "_ello"));
        assert!(!m("hello", "h_o"));
        assert!(m("a%b", "a\\%b"));
        assert!(!m("axb", "a\\%b"));
        assert!(m("abcabc", "%abc"));
    }
}
