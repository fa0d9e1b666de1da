//! Access-path choice. With no statistics yet the rule is simple and always right: if the WHERE
//! clause pins every primary key column to a constant with `=`, look the key up in the primary
//! index (at most one live row); failing that, the first unique index, then the first index
//! (in creation order) whose every column is pinned so; otherwise scan. The full filter is still
//! applied to what an index returns, so the choice never changes results. Cost-based choice
//! over statistics comes with the optimizer.

use crate::catalog::TableDef;
use crate::expr::{BinaryOp, Expr};
use crate::plan::Access;
use rustydb_foundation::DataType;

/// Chooses how to find the rows of `table` that pass `filter`.
pub fn choose_access(table: &TableDef, filter: Option<&Expr>) -> Access {
    let mut conjuncts = Vec::new();
    if let Some(f) = filter {
        split_and(f, &mut conjuncts);
    }
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
    for index in by_preference {
        if let Some(key) = pinned(&index.columns) {
            return Access::Index { index: index.clone(), key };
        }
    }
    Access::SeqScan
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
    let ty = constant.data_type();
    let same_encoding = ty == column_type
        || (ty.is_integer() && column_type.is_integer())
        || (ty.is_string() && column_type.is_string() && !matches!(column_type, DataType::Char(_)));
    (constant.is_constant() && same_encoding).then(|| constant.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{Column, Schema, TableId, Value};

    fn table() -> TableDef {
        TableDef {
            id: TableId(20000),
            name: "t".into(),
            schema: Schema::new(vec![Column::new("id", DataType::Int4), Column::new("v", DataType::Float8)]),
            primary_key: vec![0],
            compression: Default::default(),
            indexes: Vec::new(),
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
    fn a_secondary_index_serves_equality_on_all_its_columns() {
        use crate::catalog::{IndexDef, IndexMethod};
        let mut t = table();
        t.primary_key.clear();
        let index = |id, unique| IndexDef {
            id: TableId(id),
            name: format!("i{id}"),
            table: t.id,
            columns: vec![1],
            unique,
            method: IndexMethod::Hash,
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
