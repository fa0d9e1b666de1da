//! Access-path choice. With no statistics yet the rule is simple and always right: if the WHERE
//! clause pins every primary key column to a constant with `=`, look the key up in the primary
//! index (at most one live row); failing that, the first unique index, then the first index
//! (in creation order) whose every column is pinned so; otherwise scan. The full filter is still
//! applied to what an index returns, so the choice never changes results. Without an equality
//! key, comparisons (`<`, `<=`, `>`, `>=`, BETWEEN) with constants on the first column of the
//! primary key or of an ordered index (B+tree or LSM) scan that range of it. Where ANALYZE has
//! statistics for the table, the index expected to return the fewest rows is taken, and none
//! when that is more than a fifth of the table.

use crate::catalog::TableDef;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{Access, RangeEnd};
use crate::statistics::TableStats;
use rustydb_foundation::DataType;

/// Chooses how to find the rows of `table` that pass `filter`.
pub fn choose_access(table: &TableDef, filter: Option<&Expr>) -> Access {
    choose_access_with(table, filter, None)
}

/// The fraction of a table's rows past which an index scan is not worth it: the heap pages
/// it reads at random cost more than reading them all in order.
const INDEX_FRACTION: f64 = 0.2;

/// [`choose_access`], with ANALYZE's statistics of the table if it has them: among the
/// indexes a filter can use, the one expected to return the fewest rows, and none (a
/// sequential scan) when even that returns more than [`INDEX_FRACTION`] of the table.
pub fn choose_access_with(table: &TableDef, filter: Option<&Expr>, stats: Option<&TableStats>) -> Access {
    let mut conjuncts = Vec::new();
    if let Some(f) = filter {
        split_and(f, &mut conjuncts);
    }
    // The fraction of rows the conjuncts on `columns` keep, if the table has statistics.
    let fraction = |columns: &[usize]| -> Option<f64> {
        let stats = stats?;
        let lookup = |i: usize| stats.column(i).map(|c| (c, stats.rows));
        let on: Vec<&&Expr> = conjuncts
            .iter()
            .filter(|c| {
                let read = crate::optimize::free_columns(c);
                !read.is_empty() && read.iter().all(|r| columns.contains(r))
            })
            .collect();
        Some(on.iter().map(|c| crate::estimate::selectivity(c, &lookup)).product())
    };
    let worth = |columns: &[usize]| fraction(columns).is_none_or(|f| f <= INDEX_FRACTION);
    let pinned = |columns: &[usize]| -> Option<Vec<Expr>> {
        if columns.is_empty() {
            return None;
        }
        columns
            .iter()
            .map(|&col| conjuncts.iter().find_map(|c| equality_constant(c, col, table.schema.columns[col].data_type)))
            .collect()
    };
    if let Some(key) = pinned(&table.primary_key) {
        return Access::PrimaryKey(key);
    }
    let by_preference = table.indexes.iter().filter(|i| i.unique).chain(table.indexes.iter().filter(|i| !i.unique));
    let mut best: Option<(f64, Access)> = None;
    for index in by_preference {
        if let Some(key) = pinned(&index.columns) {
            let access = Access::Index { index: index.clone(), key };
            // A unique index finds one row; without statistics the first usable one is taken.
            let Some(f) = fraction(&index.columns).filter(|_| !index.unique) else { return access };
            if best.as_ref().is_none_or(|(b, _)| f < *b) {
                best = Some((f, access));
            }
        }
    }
    if let Some((f, access)) = best
        && f <= INDEX_FRACTION
    {
        return access;
    }
    let range = |column: usize| {
        let ty = table.schema.columns[column].data_type;
        let (mut lower, mut upper) = (None, None);
        for c in &conjuncts {
            for (bound, end) in comparison_constant(c, column, ty) {
                match bound {
                    Bound::Lower => lower = lower.or(Some(end)),
                    Bound::Upper => upper = upper.or(Some(end)),
                }
            }
        }
        (lower.is_some() || upper.is_some()).then_some((lower, upper))
    };
    if let Some(&c) = table.primary_key.first()
        && let Some((lower, upper)) = range(c)
        && worth(&[c])
    {
        return Access::IndexRange { index: None, lower, upper };
    }
    for index in table.indexes.iter().filter(|i| i.method.ordered()) {
        if let Some(&c) = index.columns.first()
            && let Some((lower, upper)) = range(c)
            && worth(&[c])
        {
            return Access::IndexRange { index: Some(index.clone()), lower, upper };
        }
    }
    Access::SeqScan
}

enum Bound {
    Lower,
    Upper,
}

/// If `e` compares `column` with a constant of the same key encoding (`=`, `<`, `<=`, `>`,
/// `>=`, either way round), the ends of a range it sets (`=` sets both: on the first column
/// of a composite index, equality is a range of keys).
fn comparison_constant(e: &Expr, column: usize, column_type: DataType) -> Vec<(Bound, RangeEnd)> {
    let Expr::Binary { op, left, right, .. } = e else { return Vec::new() };
    let (constant, flipped) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, c) if *index == column => (c, false),
        (c, Expr::Column { index, .. }) if *index == column => (c, true),
        _ => return Vec::new(),
    };
    let Some(constant) = keyed_constant(constant, column_type) else { return Vec::new() };
    let end = |inclusive| RangeEnd { value: constant.clone(), inclusive };
    // `5 < col` is `col > 5`.
    match (op, flipped) {
        (BinaryOp::Eq, _) => vec![(Bound::Lower, end(true)), (Bound::Upper, end(true))],
        (BinaryOp::Gt, false) | (BinaryOp::Lt, true) => vec![(Bound::Lower, end(false))],
        (BinaryOp::GtEq, false) | (BinaryOp::LtEq, true) => vec![(Bound::Lower, end(true))],
        (BinaryOp::Lt, false) | (BinaryOp::Gt, true) => vec![(Bound::Upper, end(false))],
        (BinaryOp::LtEq, false) | (BinaryOp::GtEq, true) => vec![(Bound::Upper, end(true))],
        _ => Vec::new(),
    }
}

/// True if constants of type `ty` encode as keys of a column of `column_type` do.
fn same_encoding(ty: DataType, column_type: DataType) -> bool {
    ty == column_type
        || (ty.is_integer() && column_type.is_integer())
        || (matches!(ty, DataType::Numeric(_)) && matches!(column_type, DataType::Numeric(_)))
        || (ty.is_string() && column_type.is_string() && !matches!(column_type, DataType::Char(_)))
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            split_and(left, out);
            split_and(right, out);
        }
        other => out.push(other),
    }
}

/// If `e` is `column = constant` (either way round) with a constant whose key encoding matches
/// the column's, the constant.
fn equality_constant(e: &Expr, column: usize, column_type: DataType) -> Option<Expr> {
    let Expr::Binary { op: BinaryOp::Eq, left, right, .. } = e else { return None };
    let constant = match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, c) | (c, Expr::Column { index, .. }) if *index == column => c,
        _ => return None,
    };
    keyed_constant(constant, column_type)
}

/// `constant` as a key of a column of `column_type`: itself if it encodes as the column's keys
/// do, an integer converted to numeric for a numeric column (numeric keys are not integer
/// keys), `None` otherwise.
fn keyed_constant(constant: &Expr, column_type: DataType) -> Option<Expr> {
    if !constant.is_fixed() {
        return None;
    }
    let ty = constant.data_type();
    if same_encoding(ty, column_type) {
        return Some(constant.clone());
    }
    if !(matches!(column_type, DataType::Numeric(_)) && ty.is_integer()) {
        return None;
    }
    // Folded as binding folds a cast of a constant (so a cached plan filled with a value is
    // the plan bound with it; see `plan_cache.rs`).
    crate::bind_expr::fold(Expr::Cast { arg: Box::new(constant.clone()), to: DataType::Numeric(None), explicit: false })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{Column, Schema, TableId, Value};

    fn table() -> TableDef {
        TableDef {
            id: TableId(20000),
            name: "t".into(),
            namespace: crate::catalog::PUBLIC_NAMESPACE,
            schema: Schema::new(vec![Column::new("id", DataType::Int4), Column::new("v", DataType::Float8)]),
            primary_key: vec![0],
            compression: Default::default(),
            indexes: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            primary_key_constraint: None,
            layout: Default::default(),
        }
    }

    fn eq(l: Expr, r: Expr) -> Expr {
        Expr::Binary { op: BinaryOp::Eq, left: Box::new(l), right: Box::new(r), ty: DataType::Bool }
    }

    #[test]
    fn key_equality_uses_the_index_and_anything_else_scans() {
        let id = Expr::Column { index: 0, ty: DataType::Int4 };
        let v = Expr::Column { index: 1, ty: DataType::Float8 };
        let five = Expr::literal(Value::Int4(5));
        assert_eq!(
            choose_access(&table(), Some(&eq(five.clone(), id.clone()))),
            Access::PrimaryKey(vec![five.clone()])
        );
        let both = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(eq(v.clone(), Expr::literal(Value::Float8(1.0)))),
            right: Box::new(eq(id.clone(), five.clone())),
            ty: DataType::Bool,
        };
        assert_eq!(choose_access(&table(), Some(&both)), Access::PrimaryKey(vec![five]));
        assert_eq!(choose_access(&table(), Some(&eq(id.clone(), Expr::literal(Value::Float8(5.0))))), Access::SeqScan);
        assert_eq!(choose_access(&table(), Some(&eq(id, v))), Access::SeqScan);
        assert_eq!(choose_access(&table(), None), Access::SeqScan);
    }

    #[test]
    fn comparisons_on_a_first_key_column_scan_a_range() {
        let id = Expr::Column { index: 0, ty: DataType::Int4 };
        let cmp = |op, l: Expr, r: Expr| Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool };
        let (three, nine) = (Expr::literal(Value::Int4(3)), Expr::literal(Value::Int4(9)));
        let both = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(cmp(BinaryOp::Lt, three.clone(), id.clone())),
            right: Box::new(cmp(BinaryOp::LtEq, id.clone(), nine.clone())),
            ty: DataType::Bool,
        };
        assert_eq!(
            choose_access(&table(), Some(&both)),
            Access::IndexRange {
                index: None,
                lower: Some(RangeEnd { value: three, inclusive: false }),
                upper: Some(RangeEnd { value: nine, inclusive: true }),
            }
        );
        let v = Expr::Column { index: 1, ty: DataType::Float8 };
        let on_v = cmp(BinaryOp::Gt, v, Expr::literal(Value::Float8(1.0)));
        assert_eq!(choose_access(&table(), Some(&on_v)), Access::SeqScan, "no index on v");
    }

    #[test]
    fn a_secondary_index_serves_equality_on_all_its_columns() {
        use crate::catalog::{IndexDef, IndexMethod};
        let mut t = table();
        t.primary_key.clear();
        let index = |id, unique| IndexDef {
            id: TableId(id),
            name: format!("i{id}"),
            namespace: crate::catalog::PUBLIC_NAMESPACE,
            table: t.id,
            columns: vec![1],
            descending: vec![false],
            unique,
            method: IndexMethod::Hash,
            primary: false,
            constraint: false,
        };
        t.indexes = vec![index(30000, false), index(30001, true)];
        let v = Expr::Column { index: 1, ty: DataType::Float8 };
        let one = Expr::literal(Value::Float8(1.0));
        let chosen = choose_access(&t, Some(&eq(v.clone(), one.clone())));
        assert_eq!(chosen, Access::Index { index: t.indexes[1].clone(), key: vec![one] }, "unique first");
        let id = Expr::Column { index: 0, ty: DataType::Int4 };
        assert_eq!(choose_access(&t, Some(&eq(id, Expr::literal(Value::Int4(1))))), Access::SeqScan);
    }
}
