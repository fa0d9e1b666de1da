//! Expressions over column batches.
//!
//! [`VExpr::compile`] takes the part of the expression language whose semantics are simple
//! over unboxed values — columns and constants of integer, float and boolean types,
//! arithmetic, comparisons, AND/OR/NOT, IS NULL, negation and the numeric casts between those
//! types — and refuses the rest, so a plan either runs wholly vectorized or wholly on rows.
//! Evaluation must give exactly what [`Expr::eval`] gives row by row: the same values (a
//! float4 result rounded to f32, a sum in the same order), the same NULLs, and the same
//! errors (22003 on overflow, 22012 on division by zero). AND and OR evaluate their right side
//! only on the rows the left side did not decide, as the row executor's short circuit does,
//! so `k <> 0 AND 10 / k > 1` never divides by zero.

use super::batch::ColumnBatch;
use super::column::{Column, Data, Kind};
use crate::expr::{BinaryOp, Expr};
use crate::types::out_of_range;
use rustydb_foundation::value::total_float_cmp;
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use std::cmp::Ordering;

/// A vectorizable expression.
#[derive(Debug, Clone, PartialEq)]
pub enum VExpr {
    /// A column of the batch.
    Column {
        /// Its position.
        index: usize,
        /// Its type.
        ty: DataType,
    },
    /// A constant (possibly NULL).
    Const {
        /// Its value.
        value: Value,
        /// Its type.
        ty: DataType,
    },
    /// `+ - * / %` of integers or floats.
    Arith {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<VExpr>,
        /// Right operand.
        right: Box<VExpr>,
        /// Result type.
        ty: DataType,
    },
    /// `= <> < <= > >=`.
    Compare {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<VExpr>,
        /// Right operand.
        right: Box<VExpr>,
    },
    /// `AND`.
    And(Box<VExpr>, Box<VExpr>),
    /// `OR`.
    Or(Box<VExpr>, Box<VExpr>),
    /// `NOT`.
    Not(Box<VExpr>),
    /// `IS [NOT] NULL`.
    IsNull {
        /// The tested expression.
        arg: Box<VExpr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// Arithmetic negation.
    Negate(Box<VExpr>),
    /// A cast between integer and float types.
    Cast {
        /// The converted expression.
        arg: Box<VExpr>,
        /// The target type.
        to: DataType,
    },
}

impl VExpr {
    /// The vectorized form of `e`, if every part of it has one.
    pub fn compile(e: &Expr) -> Option<VExpr> {
        let boxed = |e: &Expr| VExpr::compile(e).map(Box::new);
        Some(match e {
            Expr::Column { index, ty } => {
                Kind::of(*ty)?;
                VExpr::Column { index: *index, ty: *ty }
            }
            Expr::Literal { value, ty } => {
                let fits = match (Kind::of(*ty)?, value) {
                    (_, Value::Null) => true,
                    (Kind::Int, v) => v.as_i64().is_some() && v.data_type() == Some(*ty),
                    (Kind::Float, Value::Float4(_) | Value::Float8(_)) => value.data_type() == Some(*ty),
                    (Kind::Bool, Value::Bool(_)) => true,
                    _ => false,
                };
                if !fits {
                    return None;
                }
                VExpr::Const { value: value.clone(), ty: *ty }
            }
            Expr::Binary { op: BinaryOp::And, left, right, .. } => {
                let (l, r) = (boxed(left)?, boxed(right)?);
                (l.ty() == DataType::Bool && r.ty() == DataType::Bool).then_some(())?;
                VExpr::And(l, r)
            }
            Expr::Binary { op: BinaryOp::Or, left, right, .. } => {
                let (l, r) = (boxed(left)?, boxed(right)?);
                (l.ty() == DataType::Bool && r.ty() == DataType::Bool).then_some(())?;
                VExpr::Or(l, r)
            }
            Expr::Binary { op, left, right, ty } if op.is_comparison() => {
                let (l, r) = float_operands(left, right)?;
                let (a, b) = (Kind::of(l.ty())?, Kind::of(r.ty())?);
                let comparable = match (a, b) {
                    (Kind::Bool, Kind::Bool) => true,
                    (Kind::Bool, _) | (_, Kind::Bool) => false,
                    _ => true,
                };
                (comparable && *ty == DataType::Bool).then_some(())?;
                VExpr::Compare { op: *op, left: l, right: r }
            }
            Expr::Binary { op, left, right, ty } => {
                let (l, r) = if Kind::of(*ty) == Some(Kind::Float) {
                    float_operands(left, right)?
                } else {
                    (boxed(left)?, boxed(right)?)
                };
                let numeric = |k| matches!(k, Kind::Int | Kind::Float);
                let (a, b) = (Kind::of(l.ty())?, Kind::of(r.ty())?);
                let ok = match Kind::of(*ty)? {
                    Kind::Int => {
                        a == Kind::Int
                            && b == Kind::Int
                            && matches!(
                                op,
                                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
                            )
                    }
                    Kind::Float => {
                        numeric(a)
                            && numeric(b)
                            && matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div)
                    }
                    Kind::Bool => false,
                };
                ok.then_some(())?;
                VExpr::Arith { op: *op, left: l, right: r, ty: *ty }
            }
            Expr::Not(arg) => {
                let a = boxed(arg)?;
                (a.ty() == DataType::Bool).then_some(())?;
                VExpr::Not(a)
            }
            Expr::Negate(arg) => {
                let a = boxed(arg)?;
                matches!(Kind::of(a.ty()), Some(Kind::Int | Kind::Float)).then_some(())?;
                VExpr::Negate(a)
            }
            Expr::IsNull { arg, negated } => VExpr::IsNull { arg: boxed(arg)?, negated: *negated },
            Expr::Cast { arg, to, .. } => {
                let a = boxed(arg)?;
                let from = a.ty();
                let ok = from == *to
                    || matches!((Kind::of(from)?, Kind::of(*to)?), (Kind::Int | Kind::Float, Kind::Int | Kind::Float));
                ok.then_some(())?;
                if from == *to {
                    return Some(*a);
                }
                VExpr::Cast { arg: a, to: *to }
            }
            _ => return None,
        })
    }

    /// The result type.
    pub fn ty(&self) -> DataType {
        match self {
            VExpr::Column { ty, .. } | VExpr::Const { ty, .. } | VExpr::Arith { ty, .. } => *ty,
            VExpr::Compare { .. } | VExpr::And(..) | VExpr::Or(..) | VExpr::Not(_) | VExpr::IsNull { .. } => {
                DataType::Bool
            }
            VExpr::Negate(arg) => arg.ty(),
            VExpr::Cast { to, .. } => *to,
        }
    }

    /// Calls `f` with the position of every batch column the expression reads.
    pub fn columns(&self, f: &mut impl FnMut(usize)) {
        match self {
            VExpr::Column { index, .. } => f(*index),
            VExpr::Const { .. } => {}
            VExpr::Arith { left, right, .. } | VExpr::Compare { left, right, .. } => {
                left.columns(f);
                right.columns(f);
            }
            VExpr::And(l, r) | VExpr::Or(l, r) => {
                l.columns(f);
                r.columns(f);
            }
            VExpr::Not(a) | VExpr::Negate(a) | VExpr::IsNull { arg: a, .. } | VExpr::Cast { arg: a, .. } => {
                a.columns(f)
            }
        }
    }

    /// The value for each of the batch's rows `rows` (all rows if `None`), as a dense column
    /// in that order.
    pub fn eval(&self, batch: &ColumnBatch, rows: Option<&[u32]>) -> Result<Column> {
        let len = rows.map_or(batch.len, <[u32]>::len);
        match self {
            VExpr::Column { index, .. } => {
                let column = batch.column(*index)?;
                Ok(match rows {
                    None => column.clone(),
                    Some(rows) => column.gather(rows),
                })
            }
            VExpr::Const { value, ty } => Ok(Column::constant(*ty, value, len)),
            VExpr::Arith { op, left, right, ty } => {
                let (l, r) = (left.eval(batch, rows)?, right.eval(batch, rows)?);
                arith(*op, &l, &r, *ty)
            }
            VExpr::Compare { op, left, right } => {
                let (l, r) = (left.eval(batch, rows)?, right.eval(batch, rows)?);
                Ok(compare(*op, &l, &r))
            }
            VExpr::And(left, right) => logic(batch, rows, left, right, false),
            VExpr::Or(left, right) => logic(batch, rows, left, right, true),
            VExpr::Not(arg) => {
                let mut c = arg.eval(batch, rows)?;
                if let Data::Bool(v) = &mut c.data {
                    v.iter_mut().for_each(|b| *b = !*b);
                }
                Ok(c)
            }
            VExpr::IsNull { arg, negated } => {
                let c = arg.eval(batch, rows)?;
                let v = (0..c.len()).map(|i| c.is_null(i) != *negated).collect();
                Ok(Column { ty: DataType::Bool, data: Data::Bool(v), nulls: None })
            }
            VExpr::Negate(arg) => negate(arg.eval(batch, rows)?),
            VExpr::Cast { arg, to } => cast(arg.eval(batch, rows)?, *to),
        }
    }
}

/// Both operands of a comparison or float arithmetic. A numeric constant meeting a float
/// becomes the double it converts to, as the row executor converts it (`v < 0.001`).
fn float_operands(left: &Expr, right: &Expr) -> Option<(Box<VExpr>, Box<VExpr>)> {
    let as_double = |e: &Expr| match e {
        Expr::Literal { value: Value::Numeric(n), .. } => {
            Some(VExpr::Const { value: Value::Float8(n.to_f64()), ty: DataType::Float8 })
        }
        Expr::Literal { value: Value::Null, ty: DataType::Numeric(_) } => {
            Some(VExpr::Const { value: Value::Null, ty: DataType::Float8 })
        }
        _ => None,
    };
    let (l, r) = match (as_double(left), as_double(right)) {
        (Some(l), None) => (l, VExpr::compile(right)?),
        (None, Some(r)) => (VExpr::compile(left)?, r),
        _ => (VExpr::compile(left)?, VExpr::compile(right)?),
    };
    // Only against a float: a numeric meets an integer exactly, not through a double.
    let floats = |v: &VExpr| Kind::of(v.ty()) == Some(Kind::Float);
    let numeric = |e: &Expr| matches!(e, Expr::Literal { ty: DataType::Numeric(_), .. });
    if (numeric(left) || numeric(right)) && !(floats(&l) && floats(&r)) {
        return None;
    }
    Some((Box::new(l), Box::new(r)))
}

/// The NULL mask of a result over `l` and `r`: NULL where either is.
fn either_null(l: &Column, r: &Column) -> Option<Vec<bool>> {
    match (&l.nulls, &r.nulls) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (Some(a), Some(b)) => Some(a.iter().zip(b).map(|(x, y)| *x || *y).collect()),
    }
}

/// The values of an integer or float column as f64s.
fn floats(c: &Column) -> std::borrow::Cow<'_, [f64]> {
    match &c.data {
        Data::Float(v) => std::borrow::Cow::Borrowed(v),
        Data::Int(v) => std::borrow::Cow::Owned(v.iter().map(|x| *x as f64).collect()),
        Data::Bool(v) => std::borrow::Cow::Owned(v.iter().map(|b| f64::from(u8::from(*b))).collect()),
    }
}

fn arith(op: BinaryOp, l: &Column, r: &Column, ty: DataType) -> Result<Column> {
    let nulls = either_null(l, r);
    let null = |i: usize| nulls.as_ref().is_some_and(|n| n[i]);
    let data = match (&l.data, &r.data, Kind::of(ty)) {
        (Data::Int(a), Data::Int(b), Some(Kind::Int)) => {
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                out.push(if null(i) { 0 } else { crate::expr::integer_op(op, a[i], b[i], ty)? });
            }
            Data::Int(out)
        }
        (_, _, Some(Kind::Float)) => {
            let (a, b) = (floats(l), floats(r));
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                if null(i) {
                    out.push(0.0);
                    continue;
                }
                let (x, y) = (a[i], b[i]);
                if op == BinaryOp::Div && y == 0.0 {
                    return Err(DbError::division_by_zero());
                }
                let v = match op {
                    BinaryOp::Add => x + y,
                    BinaryOp::Sub => x - y,
                    BinaryOp::Mul => x * y,
                    _ => x / y,
                };
                if v.is_infinite() && x.is_finite() && y.is_finite() {
                    return Err(DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: overflow"));
                }
                out.push(if ty == DataType::Float4 { f64::from(v as f32) } else { v });
            }
            Data::Float(out)
        }
        _ => return Err(DbError::Internal(format!("vectorized {} typed {ty}", op.symbol()))),
    };
    Ok(Column { ty, data, nulls })
}

fn compare(op: BinaryOp, l: &Column, r: &Column) -> Column {
    let test = |ord: Ordering| match op {
        BinaryOp::Eq => ord == Ordering::Equal,
        BinaryOp::NotEq => ord != Ordering::Equal,
        BinaryOp::Lt => ord == Ordering::Less,
        BinaryOp::LtEq => ord != Ordering::Greater,
        BinaryOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    };
    let v: Vec<bool> = match (&l.data, &r.data) {
        (Data::Int(a), Data::Int(b)) => a.iter().zip(b).map(|(x, y)| test(x.cmp(y))).collect(),
        (Data::Bool(a), Data::Bool(b)) => a.iter().zip(b).map(|(x, y)| test(x.cmp(y))).collect(),
        _ => {
            let (a, b) = (floats(l), floats(r));
            a.iter().zip(b.iter()).map(|(x, y)| test(total_float_cmp(*x, *y))).collect()
        }
    };
    Column { ty: DataType::Bool, data: Data::Bool(v), nulls: either_null(l, r) }
}

/// AND (`or` false) or OR (`or` true) in three-valued logic; the right side is evaluated only
/// on the rows the left side leaves open.
fn logic(batch: &ColumnBatch, rows: Option<&[u32]>, left: &VExpr, right: &VExpr, or: bool) -> Result<Column> {
    let l = left.eval(batch, rows)?;
    let Data::Bool(lv) = &l.data else { return Err(DbError::Internal("AND/OR over non-booleans".into())) };
    // The value that decides the result alone: FALSE for AND, TRUE for OR.
    let decided = |i: usize| !l.is_null(i) && lv[i] == or;
    let open: Vec<usize> = (0..l.len()).filter(|&i| !decided(i)).collect();
    let r = if open.len() == l.len() {
        right.eval(batch, rows)?
    } else if open.is_empty() {
        return Ok(l);
    } else {
        let sub: Vec<u32> = match rows {
            None => open.iter().map(|&i| i as u32).collect(),
            Some(rows) => open.iter().map(|&i| rows[i]).collect(),
        };
        let part = right.eval(batch, Some(&sub))?;
        // Spread the open rows' results back over the whole length.
        let mut full = Column::constant(DataType::Bool, &Value::Bool(or), l.len());
        let Data::Bool(fv) = &mut full.data else { unreachable!("a boolean constant") };
        let Data::Bool(pv) = &part.data else { return Err(DbError::Internal("AND/OR over non-booleans".into())) };
        let mut nulls = part.nulls.as_ref().map(|_| vec![false; l.len()]);
        for (k, &i) in open.iter().enumerate() {
            fv[i] = pv[k];
            if let Some(n) = &mut nulls {
                n[i] = part.is_null(k);
            }
        }
        full.nulls = nulls;
        full
    };
    let Data::Bool(rv) = &r.data else { return Err(DbError::Internal("AND/OR over non-booleans".into())) };
    let mut out = Vec::with_capacity(l.len());
    let mut nulls: Option<Vec<bool>> = None;
    for i in 0..l.len() {
        let (a, b) = ((!l.is_null(i)).then_some(lv[i]), (!r.is_null(i)).then_some(rv[i]));
        let v = if a == Some(or) || b == Some(or) {
            Some(or)
        } else if a == Some(!or) && b == Some(!or) {
            Some(!or)
        } else {
            None
        };
        if v.is_none() {
            nulls.get_or_insert_with(|| vec![false; l.len()])[i] = true;
        }
        out.push(v.unwrap_or(false));
    }
    Ok(Column { ty: DataType::Bool, data: Data::Bool(out), nulls })
}

fn negate(mut c: Column) -> Result<Column> {
    let ty = c.ty;
    let nulls = c.nulls.clone();
    match &mut c.data {
        Data::Int(v) => {
            for (i, x) in v.iter_mut().enumerate() {
                if nulls.as_ref().is_some_and(|n| n[i]) {
                    continue;
                }
                let n = x.checked_neg().ok_or_else(|| out_of_range(ty))?;
                let fits = match ty {
                    DataType::Int2 => i16::try_from(n).is_ok(),
                    DataType::Int4 => i32::try_from(n).is_ok(),
                    _ => true,
                };
                if !fits {
                    return Err(out_of_range(ty));
                }
                *x = n;
            }
        }
        Data::Float(v) => v.iter_mut().for_each(|x| *x = -*x),
        Data::Bool(_) => return Err(DbError::Internal("negating a boolean".into())),
    }
    Ok(c)
}

fn cast(c: Column, to: DataType) -> Result<Column> {
    let data = match (&c.data, Kind::of(to)) {
        (Data::Int(v), Some(Kind::Int)) => {
            let (min, max) = crate::expr::integer_range(to);
            for (i, x) in v.iter().enumerate() {
                if !c.is_null(i) && !(min..=max).contains(x) {
                    return Err(out_of_range(to));
                }
            }
            return Ok(Column { ty: to, ..c });
        }
        (Data::Int(v), Some(Kind::Float)) => Data::Float(if to == DataType::Float4 {
            v.iter().map(|x| f64::from(*x as f32)).collect()
        } else {
            v.iter().map(|x| *x as f64).collect()
        }),
        // float4 to float8: the values are already exact f64s.
        (Data::Float(_), Some(Kind::Float)) if to == DataType::Float8 => return Ok(Column { ty: to, ..c }),
        (Data::Float(v), Some(Kind::Float)) => {
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                let f = *x as f32;
                if f.is_infinite() && x.is_finite() && !c.is_null(i) {
                    return Err(DbError::sql(SqlState::NumericValueOutOfRange, "value out of range: overflow"));
                }
                out.push(f64::from(f));
            }
            Data::Float(out)
        }
        (Data::Float(v), Some(Kind::Int)) => {
            let (min, max) = crate::expr::integer_range(to);
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                if c.is_null(i) {
                    out.push(0);
                    continue;
                }
                // Round half to even, as PostgreSQL's rint; outside i64 (or NaN) cannot convert.
                let r = x.round_ties_even();
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                    return Err(out_of_range(to));
                }
                let n = r as i64;
                if !(min..=max).contains(&n) {
                    return Err(out_of_range(to));
                }
                out.push(n);
            }
            Data::Int(out)
        }
        _ => return Err(DbError::Internal(format!("a vectorized cast of {} to {to}", c.ty))),
    };
    Ok(Column { ty: to, data, nulls: c.nulls })
}

#[cfg(test)]
mod tests {
    //! Vectorized evaluation against the row executor's, on random expressions over random
    //! columns: the same values and NULLs row by row, and an error exactly when some row errs.
    use super::*;
    use crate::expr::EvalEnv;
    use proptest::prelude::*;

    const TYPES: [DataType; 6] =
        [DataType::Int4, DataType::Int8, DataType::Float8, DataType::Bool, DataType::Int2, DataType::Float4];

    fn value(ty: DataType) -> BoxedStrategy<Value> {
        let v = match ty {
            DataType::Int2 => prop_oneof![Just(i16::MAX), Just(i16::MIN), -5i16..5].prop_map(Value::Int2).boxed(),
            DataType::Int4 => {
                prop_oneof![Just(i32::MAX), Just(i32::MIN), -5i32..5, any::<i32>()].prop_map(Value::Int4).boxed()
            }
            DataType::Int8 => {
                prop_oneof![Just(i64::MAX), Just(i64::MIN), -5i64..5, any::<i64>()].prop_map(Value::Int8).boxed()
            }
            DataType::Float4 => {
                prop_oneof![Just(-0.0f32), Just(f32::MAX), Just(f32::NAN), -3.0f32..3.0].prop_map(Value::Float4).boxed()
            }
            DataType::Float8 => {
                prop_oneof![Just(-0.0), Just(0.0), Just(f64::MAX), Just(f64::INFINITY), Just(f64::NAN), -3.0f64..3.0]
                    .prop_map(Value::Float8)
                    .boxed()
            }
            _ => any::<bool>().prop_map(Value::Bool).boxed(),
        };
        prop_oneof![1 => Just(Value::Null), 5 => v].boxed()
    }

    /// The row type of a binary operation, as the binder types it (enough for these tests).
    fn result_type(op: BinaryOp, l: DataType, r: DataType) -> DataType {
        if op.is_comparison() || matches!(op, BinaryOp::And | BinaryOp::Or) {
            return DataType::Bool;
        }
        let rank = |t: DataType| match t {
            DataType::Int2 => 0,
            DataType::Int4 => 1,
            DataType::Int8 => 2,
            DataType::Float4 => 3,
            _ => 4,
        };
        if rank(l) >= rank(r) { l } else { r }
    }

    fn leaf(types: &'static [usize]) -> impl Strategy<Value = Expr> {
        prop_oneof![
            proptest::sample::select(types).prop_map(|i| Expr::Column { index: i, ty: TYPES[i] }),
            proptest::sample::select(types)
                .prop_flat_map(|i| value(TYPES[i]).prop_map(move |v| Expr::Literal { value: v, ty: TYPES[i] })),
        ]
    }

    fn binary(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        let ty = result_type(op, l.data_type(), r.data_type());
        Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty }
    }

    /// Integer and float expressions.
    fn number() -> impl Strategy<Value = Expr> {
        leaf(&[0, 1, 2, 4, 5]).prop_recursive(4, 24, 2, |inner| {
            let ops = proptest::sample::select(vec![
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::Mod,
            ]);
            prop_oneof![
                4 => (ops, inner.clone(), inner.clone()).prop_map(|(op, l, r)| binary(op, l, r)),
                1 => inner.clone().prop_map(|e| Expr::Negate(Box::new(e))),
                1 => (inner, proptest::sample::select(vec![0usize, 1, 2, 4, 5]))
                    .prop_map(|(e, t)| Expr::Cast { arg: Box::new(e), to: TYPES[t], explicit: true }),
            ]
        })
    }

    /// Boolean expressions over numbers.
    fn boolean() -> impl Strategy<Value = Expr> {
        let cmp = proptest::sample::select(vec![
            BinaryOp::Eq,
            BinaryOp::NotEq,
            BinaryOp::Lt,
            BinaryOp::LtEq,
            BinaryOp::Gt,
            BinaryOp::GtEq,
        ]);
        let base = prop_oneof![
            leaf(&[3]),
            (cmp, number(), number()).prop_map(|(op, l, r)| binary(op, l, r)),
            (number(), any::<bool>()).prop_map(|(e, negated)| Expr::IsNull { arg: Box::new(e), negated }),
        ];
        base.prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(l, r)| binary(BinaryOp::And, l, r)),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| binary(BinaryOp::Or, l, r)),
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                (inner.clone(), inner).prop_map(|(l, r)| binary(BinaryOp::Eq, l, r)),
            ]
        })
    }

    fn expr() -> impl Strategy<Value = Expr> {
        prop_oneof![number(), boolean()]
    }

    fn rows() -> impl Strategy<Value = Vec<Vec<Value>>> {
        let row: Vec<BoxedStrategy<Value>> = TYPES.iter().map(|t| value(*t)).collect();
        proptest::collection::vec(row, 1..40)
    }

    fn batch_of(rows: &[Vec<Value>]) -> ColumnBatch {
        let columns = TYPES
            .iter()
            .enumerate()
            .map(|(c, ty)| {
                let mut col = Column::with_capacity(*ty, rows.len());
                for row in rows {
                    match (&mut col.data, &row[c]) {
                        (_, Value::Null) => {
                            col.push_null();
                            continue;
                        }
                        (Data::Int(v), x) => v.push(x.as_i64().unwrap()),
                        (Data::Float(v), x) => v.push(x.as_f64().unwrap()),
                        (Data::Bool(v), Value::Bool(b)) => v.push(*b),
                        _ => unreachable!(),
                    }
                    col.pushed_value();
                }
                Some(col)
            })
            .collect();
        ColumnBatch { len: rows.len(), columns, selection: None }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn vectorized_evaluation_agrees_with_rows(e in expr(), rows in rows(), skip in any::<u64>()) {
            // Float `%` has no vectorized form (nor a row one: the binder refuses it).
            let Some(v) = VExpr::compile(&e) else { return Ok(()) };
            let env = EvalEnv::new("u", "d");
            let mut batch = batch_of(&rows);
            // Half the time, evaluate over a selection of the rows, as after a filter.
            if skip % 2 == 1 {
                batch.selection = Some((0..rows.len() as u32).filter(|i| (skip >> (i % 60)) & 1 == 1).collect());
            }
            let chosen: Vec<usize> = match &batch.selection {
                None => (0..rows.len()).collect(),
                Some(s) => s.iter().map(|i| *i as usize).collect(),
            };
            let expected: Vec<Result<Value>> = chosen.iter().map(|&i| e.eval(&rows[i], &env)).collect();
            let got = v.eval(&batch, batch.selection.as_deref());
            match got {
                Err(err) => prop_assert!(
                    expected.iter().any(Result::is_err),
                    "vectorized {v:?} failed ({err}) where no row does"
                ),
                Ok(column) => {
                    prop_assert_eq!(column.len(), chosen.len());
                    prop_assert_eq!(column.ty, e.data_type());
                    for (k, want) in expected.iter().enumerate() {
                        let Ok(want) = want else {
                            prop_assert!(false, "row {} fails ({:?}) but vectorized {:?} did not", chosen[k], want, v);
                            unreachable!()
                        };
                        let have = column.value(k);
                        // Bitwise for floats: -0 and NaN must come out as the row executor's.
                        let same = match (&have, want) {
                            (Value::Float8(a), Value::Float8(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                            (Value::Float4(a), Value::Float4(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                            _ => &have == want,
                        };
                        prop_assert!(same, "row {}: vectorized {:?} gives {:?}, rows give {:?}", chosen[k], v, have, want);
                    }
                }
            }
        }
    }
}
