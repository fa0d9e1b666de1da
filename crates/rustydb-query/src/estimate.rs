//! Selectivity and cardinality estimates from ANALYZE's statistics, with PostgreSQL's rules
//! (`selfuncs.c`) where a column has statistics and its defaults where it has none:
//!
//! - `col = const`: the value's frequency if it is a most common value, else the rest of the
//!   non-NULL rows spread evenly over the other distinct values; `col = col'` of two
//!   relations: 1 / the larger distinct count.
//! - `col < const` and the other ranges: the fraction of the histogram below the constant
//!   (interpolated inside a bucket for numbers), plus the common values that qualify.
//! - `IS NULL`: the NULL fraction. AND multiplies, OR adds less the overlap, NOT subtracts.
//! - Anything else: PostgreSQL's defaults (0.005 for equality, 1/3 for a range, 0.5 for the
//!   rest).
//!
//! Estimates feed the join order (`optimize.rs`) and EXPLAIN's row counts; they never change
//! a result.

use crate::expr::{BinaryOp, Expr};
use crate::rel::{ColumnId, Rel};
use crate::statistics::{ColumnStats, Statistics, TableStats};
use rustydb_foundation::{TableId, Value};
use rustydb_index::keycode::encode_key;
use std::collections::HashMap;

/// PostgreSQL's selectivity of `=` without statistics.
pub const DEFAULT_EQ: f64 = 0.005;
/// Of `<`, `>`... without statistics.
pub const DEFAULT_INEQ: f64 = 1.0 / 3.0;
/// Of anything else.
pub const DEFAULT_OTHER: f64 = 0.5;

/// A column's statistics and its table's row count, as an expression's column finds them.
pub type ColumnInfo<'a> = Option<(&'a ColumnStats, f64)>;

/// The selectivity of predicate `e`, `column` giving the statistics behind a column index
/// of `e` (if any).
pub fn selectivity<'s>(e: &Expr, column: &dyn Fn(ColumnId) -> ColumnInfo<'s>) -> f64 {
    let s = match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => selectivity(left, column) * selectivity(right, column),
        Expr::Binary { op: BinaryOp::Or, left, right, .. } => {
            let (a, b) = (selectivity(left, column), selectivity(right, column));
            a + b - a * b
        }
        Expr::Not(inner) => 1.0 - selectivity(inner, column),
        Expr::Binary { op, left, right, .. } => comparison(*op, left, right, column),
        Expr::IsNull { arg, negated, .. } => {
            let null_frac = match arg.as_ref() {
                Expr::Column { index, .. } => column(*index).map(|(c, _)| c.null_frac),
                _ => None,
            };
            match (null_frac, negated) {
                (Some(f), false) => f,
                (Some(f), true) => 1.0 - f,
                (None, false) => DEFAULT_EQ,
                (None, true) => 1.0 - DEFAULT_EQ,
            }
        }
        Expr::AnyOf(items) => (items.len() as f64 * DEFAULT_EQ).min(1.0),
        Expr::Literal { value: Value::Bool(b), .. } => f64::from(u8::from(*b)),
        _ => DEFAULT_OTHER,
    };
    s.clamp(0.0, 1.0)
}

/// A comparison's selectivity.
fn comparison<'s>(op: BinaryOp, left: &Expr, right: &Expr, column: &dyn Fn(ColumnId) -> ColumnInfo<'s>) -> f64 {
    let as_column = |e: &Expr| match e {
        Expr::Column { index, .. } => Some(*index),
        Expr::Cast { arg, .. } => match arg.as_ref() {
            Expr::Column { index, .. } => Some(*index),
            _ => None,
        },
        _ => None,
    };
    let as_constant = |e: &Expr| match e {
        Expr::Literal { value, .. } if !value.is_null() => Some(value.clone()),
        _ => None,
    };
    // Column op constant, either way round (the operator mirrored when the constant is left).
    let (col, value, op) = match (as_column(left), as_column(right)) {
        (Some(c), None) => (c, as_constant(right), op),
        (None, Some(c)) => (c, as_constant(left), mirror(op)),
        (Some(a), Some(b)) => {
            return match op {
                BinaryOp::Eq => join_equality(column(a), column(b)),
                BinaryOp::NotEq => 1.0 - join_equality(column(a), column(b)),
                _ => DEFAULT_INEQ,
            };
        }
        (None, None) => return default_for(op),
    };
    let Some((stats, rows)) = column(col) else { return default_for(op) };
    // The constant in the column's type, so that keys compare (`v < 1000` on a double).
    let value = value.map(|v| comparable(stats, v));
    match op {
        BinaryOp::Eq => match &value {
            Some(v) => equals(stats, rows, v),
            // A parameter: the average frequency of a value.
            None => (1.0 - stats.null_frac) / stats.distinct(rows),
        },
        BinaryOp::NotEq => match &value {
            Some(v) => (1.0 - stats.null_frac - equals(stats, rows, v)).max(0.0),
            None => 1.0 - DEFAULT_EQ,
        },
        BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => match &value {
            Some(v) => range(stats, op, v),
            None => DEFAULT_INEQ,
        },
        _ => DEFAULT_OTHER,
    }
}

/// `v` converted to the type of the values `stats` holds (unchanged if it cannot be).
fn comparable(stats: &ColumnStats, v: Value) -> Value {
    let Some(ty) = stats.histogram.first().or(stats.mcv.first()).and_then(Value::data_type) else { return v };
    if v.data_type() == Some(ty) {
        return v;
    }
    crate::types::cast_value(v.clone(), ty, false).unwrap_or(v)
}

fn default_for(op: BinaryOp) -> f64 {
    match op {
        BinaryOp::Eq => DEFAULT_EQ,
        BinaryOp::NotEq => 1.0 - DEFAULT_EQ,
        BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => DEFAULT_INEQ,
        _ => DEFAULT_OTHER,
    }
}

/// `a op b` as `b op' a`.
fn mirror(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        other => other,
    }
}

/// The key order of `v` (the order ANALYZE sorted values in).
fn key(v: &Value) -> Vec<u8> {
    encode_key(std::slice::from_ref(v))
}

/// `col = v`, in a table of `rows` rows.
fn equals(stats: &ColumnStats, rows: f64, v: &Value) -> f64 {
    let k = key(v);
    if let Some(f) = stats.mcv.iter().position(|m| key(m) == k).and_then(|i| stats.mcf.get(i)) {
        return *f;
    }
    let common: f64 = stats.mcf.iter().sum();
    let others = (stats.distinct(rows) - stats.mcv.len() as f64).max(1.0);
    ((1.0 - stats.null_frac - common) / others).clamp(0.0, 1.0)
}

/// `col op v` for a range operator.
fn range(stats: &ColumnStats, op: BinaryOp, v: &Value) -> f64 {
    let k = key(v);
    let below = |value_key: &[u8]| match op {
        BinaryOp::Lt => value_key < k.as_slice(),
        BinaryOp::LtEq => value_key <= k.as_slice(),
        BinaryOp::Gt => value_key > k.as_slice(),
        _ => value_key >= k.as_slice(),
    };
    let common: f64 = stats.mcv.iter().zip(&stats.mcf).filter(|(m, _)| below(&key(m))).map(|(_, f)| *f).sum();
    let rest = (1.0 - stats.null_frac - stats.mcf.iter().sum::<f64>()).max(0.0);
    let h = &stats.histogram;
    if h.len() < 2 {
        return (common + rest * DEFAULT_INEQ).clamp(0.0, 1.0);
    }
    // The fraction of the histogram's population below v.
    let keys: Vec<Vec<u8>> = h.iter().map(key).collect();
    let buckets = (h.len() - 1) as f64;
    let at = keys.partition_point(|b| b.as_slice() < k.as_slice());
    let fraction_below = if at == 0 {
        0.0
    } else if at >= h.len() {
        1.0
    } else {
        // Inside bucket at-1 .. at: interpolate for numbers, half a bucket otherwise.
        let within = match (h[at - 1].as_f64(), h[at].as_f64(), v.as_f64()) {
            (Some(lo), Some(hi), Some(x)) if hi > lo => ((x - lo) / (hi - lo)).clamp(0.0, 1.0),
            _ => 0.5,
        };
        ((at - 1) as f64 + within) / buckets
    };
    let fraction = match op {
        BinaryOp::Lt | BinaryOp::LtEq => fraction_below,
        _ => 1.0 - fraction_below,
    };
    (common + rest * fraction).clamp(0.0, 1.0)
}

/// `a = b` between two relations' columns: 1 / the larger distinct count.
fn join_equality(a: ColumnInfo<'_>, b: ColumnInfo<'_>) -> f64 {
    let distinct = |c: ColumnInfo<'_>| c.map(|(s, rows)| s.distinct(rows));
    match (distinct(a), distinct(b)) {
        (Some(x), Some(y)) => 1.0 / x.max(y).max(1.0),
        (Some(x), None) | (None, Some(x)) => 1.0 / x.max(1.0),
        (None, None) => DEFAULT_EQ,
    }
}

/// Where each base-table column of a plan comes from, for estimating over column ids.
#[allow(missing_debug_implementations)]
pub struct Estimator<'a> {
    stats: &'a Statistics,
    columns: HashMap<ColumnId, (TableId, usize)>,
}

impl<'a> Estimator<'a> {
    /// An estimator over the scans of `rels`.
    pub fn new(stats: &'a Statistics, rels: &[&Rel]) -> Self {
        let mut columns = HashMap::new();
        fn walk(rel: &Rel, out: &mut HashMap<ColumnId, (TableId, usize)>) {
            if let Rel::Scan { table, output, .. } = rel {
                for (position, id) in output.iter().take(table.schema.len()).enumerate() {
                    out.insert(*id, (table.id, position));
                }
            }
            for input in rel.inputs() {
                walk(input, out);
            }
        }
        for rel in rels {
            walk(rel, &mut columns);
        }
        Estimator { stats, columns }
    }

    fn table(&self, id: TableId) -> Option<&'a TableStats> {
        self.stats.get(&id).map(|s| s.as_ref())
    }

    /// The statistics behind column id `id`.
    pub fn column(&self, id: ColumnId) -> ColumnInfo<'a> {
        let (table, position) = self.columns.get(&id)?;
        let stats = self.table(*table)?;
        Some((stats.column(*position)?, stats.rows))
    }

    /// The selectivity of `e` over column ids.
    pub fn selectivity(&self, e: &Expr) -> f64 {
        selectivity(e, &|id| self.column(id))
    }

    /// The rows `rel` returns, if every table it reads has statistics.
    pub fn rows(&self, rel: &Rel) -> Option<f64> {
        Some(match rel {
            Rel::Scan { table, filter, .. } => {
                let rows = self.table(table.id)?.rows;
                (rows * filter.as_ref().map_or(1.0, |f| self.selectivity(f))).max(1.0)
            }
            Rel::Filter { input, predicate } => (self.rows(input)? * self.selectivity(predicate)).max(1.0),
            Rel::Project { input, .. } | Rel::Sort { input, .. } => self.rows(input)?,
            Rel::Values { rows, .. } => rows.len().max(1) as f64,
            Rel::Join { left, right, equi, condition, .. } => {
                let mut s: f64 = equi.iter().map(|(l, r)| self.selectivity(&eq(l, r))).product();
                if let Some(c) = condition {
                    s *= self.selectivity(c);
                }
                (self.rows(left)? * self.rows(right)? * s).max(1.0)
            }
            _ => return None,
        })
    }
}

/// A column's origin: a table's column (table, position), or `None` for a computed one.
pub type Origin = Option<(TableId, usize)>;

/// Where each output column of a resolved plan comes from. Expressions of a resolved plan
/// index their input's columns by position.
pub fn provenance(rel: &Rel) -> Vec<Origin> {
    let through = |exprs: &[Expr], input: &Rel| -> Vec<Origin> {
        let from = provenance(input);
        exprs
            .iter()
            .map(|e| match e {
                Expr::Column { index, .. } => from.get(*index).copied().flatten(),
                _ => None,
            })
            .collect()
    };
    match rel {
        Rel::Scan { table, output, .. } => {
            (0..output.len()).map(|p| (p < table.schema.len()).then_some((table.id, p))).collect()
        }
        Rel::Filter { input, .. }
        | Rel::Sort { input, .. }
        | Rel::Limit { input, .. }
        | Rel::Distinct { input }
        | Rel::LockRows { input, .. } => provenance(input),
        Rel::Project { input, exprs, .. } => through(exprs, input),
        Rel::Join { left, right, .. } | Rel::Lateral { left, right, .. } => {
            let mut out = provenance(left);
            out.extend(provenance(right));
            out
        }
        Rel::Aggregate { input, groups, output, .. } => {
            let mut out = through(groups, input);
            out.resize(output.len(), None);
            out
        }
        other => vec![None; other.output().len()],
    }
}

/// The statistics of a column a resolved plan's provenance names.
pub fn column_of(stats: &Statistics, origin: Origin) -> ColumnInfo<'_> {
    let (table, position) = origin?;
    let t = stats.get(&table)?;
    Some((t.column(position)?, t.rows))
}

/// The selectivity of `a = b` between two sides' columns (positions into `left` and
/// `right`), if both are plain columns.
pub fn key_selectivity(
    stats: &Statistics,
    (l, r): (&Expr, &Expr),
    (left, right): (&[Origin], &[Origin]),
) -> Option<f64> {
    let (Expr::Column { index: a, .. }, Expr::Column { index: b, .. }) = (l, r) else { return None };
    let (a, b) =
        (column_of(stats, left.get(*a).copied().flatten()), column_of(stats, right.get(*b).copied().flatten()));
    (a.is_some() || b.is_some()).then(|| join_equality(a, b))
}

/// `l = r`, for estimating a hash key pair.
pub fn eq(l: &Expr, r: &Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(l.clone()),
        right: Box::new(r.clone()),
        ty: rustydb_foundation::DataType::Bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::column_stats;
    use rustydb_foundation::DataType;

    fn col(index: usize) -> Expr {
        Expr::Column { index, ty: DataType::Int8 }
    }

    fn lit(v: i64) -> Expr {
        Expr::Literal { value: Value::Int8(v), ty: DataType::Int8 }
    }

    fn cmp(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool }
    }

    #[test]
    fn ranges_follow_the_histogram_and_equality_the_common_values() {
        // 0..1000 uniform, plus 7 as a third of the rows.
        let mut values: Vec<Value> = (0..1000).map(Value::Int8).collect();
        values.extend(std::iter::repeat_n(Value::Int8(7), 500));
        let stats = column_stats(values, 1500.0);
        let info = |_: ColumnId| -> ColumnInfo<'_> { Some((&stats, 1500.0)) };
        let lt = selectivity(&cmp(BinaryOp::Lt, col(0), lit(500)), &info);
        assert!((lt - 0.666).abs() < 0.05, "half the uniform rows and all the 7s: {lt}");
        let gt = selectivity(&cmp(BinaryOp::Gt, lit(500), col(0)), &info);
        assert!((gt - lt).abs() < 1e-9, "a constant on the left mirrors the operator");
        let seven = selectivity(&cmp(BinaryOp::Eq, col(0), lit(7)), &info);
        assert!((seven - 501.0 / 1500.0).abs() < 0.01, "{seven}");
        let other = selectivity(&cmp(BinaryOp::Eq, col(0), lit(8)), &info);
        assert!(other < 0.01, "{other}");
        let none = selectivity(&cmp(BinaryOp::Gt, col(0), lit(5000)), &info);
        assert!(none < 0.01, "{none}");
        // A constant of another type is compared as the column's.
        let small = Expr::Literal { value: Value::Int4(500), ty: DataType::Int4 };
        let lt4 = selectivity(&cmp(BinaryOp::Lt, col(0), small), &info);
        assert!((lt4 - lt).abs() < 1e-9);
        let floats: Vec<Value> = (0..1000).map(|i| Value::Float8(f64::from(i))).collect();
        let fstats = column_stats(floats, 1000.0);
        let finfo = |_: ColumnId| -> ColumnInfo<'_> { Some((&fstats, 1000.0)) };
        let f = selectivity(&cmp(BinaryOp::Lt, col(0), lit(100)), &finfo);
        assert!((f - 0.1).abs() < 0.02, "{f}");
    }

    #[test]
    fn without_statistics_the_defaults_apply() {
        let info = |_: ColumnId| -> ColumnInfo<'_> { None };
        assert_eq!(selectivity(&cmp(BinaryOp::Eq, col(0), lit(1)), &info), DEFAULT_EQ);
        assert_eq!(selectivity(&cmp(BinaryOp::Lt, col(0), lit(1)), &info), DEFAULT_INEQ);
    }
}
