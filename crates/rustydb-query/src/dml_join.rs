//! `UPDATE ... FROM` and `DELETE ... USING`: the rows to change are found by joining the
//! target table, with each row's tuple id, to the other relations, and the optimizer plans
//! that join like any other. A target row joined to several rows is changed once, with the
//! first of them (PostgreSQL leaves which one unspecified).
//!
//! Every expression of the statement — SET values, WHERE, RETURNING — is bound over the joined
//! row and evaluated over it with the target's columns replaced: by the row's current values
//! for SET (so a row a concurrent update replaced is changed from its newest version) and for
//! re-checking WHERE then, by the new values for RETURNING.

use crate::acl::{AccessRequest, RelationAccess};
use crate::bind_expr::{self, boolean};
use crate::bind_query::QueryBinder;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::plan::{Access, JoinedRows};
use crate::rel::{ColumnId, JoinKind, Rel};
use rustydb_foundation::{DataType, DbError, Result};
use sqlparser::ast;
use std::collections::BTreeSet;

/// How the target meets the other relations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape<'a> {
    /// UPDATE ... FROM, DELETE ... USING: an inner join, filtered by the WHERE clause.
    Where(Option<&'a ast::Expr>),
    /// MERGE: the source LEFT JOIN the target ON this condition (target columns and tuple id
    /// NULL where no target row matched). The filter returned is the condition, for
    /// re-checking a target row's newer version.
    MergeOn(&'a ast::Expr),
}

/// Binds the join for a target `table` (aliased `alias`) and the FROM/USING `items`, with
/// `work` binding the statement's own expressions in its scope; `exprs` lists them for
/// resolution over the joined row. Returns `work`'s result and the join.
#[allow(clippy::too_many_arguments)]
pub(crate) fn over_join<T>(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    alias: &str,
    mut access: RelationAccess,
    items: &[ast::TableWithJoins],
    shape: Shape<'_>,
    work: impl FnOnce(&mut QueryBinder<'_, '_>) -> Result<T>,
    exprs: impl Fn(&mut T) -> Vec<&mut Expr>,
) -> Result<(T, JoinedRows)> {
    let first_request = ctx.access_requests.len();
    let width = table.schema.len();
    let mut binder = QueryBinder::for_table(ctx, table, alias);
    let mut source: Option<Rel> = None;
    for item in items {
        let rel = binder.bind_from_item(item, false)?;
        source = Some(match source {
            None => rel,
            Some(left) => Rel::Join {
                kind: JoinKind::Inner,
                left: Box::new(left),
                right: Box::new(rel),
                equi: Vec::new(),
                condition: None,
            },
        });
    }
    let source = source.ok_or_else(|| DbError::Internal("FROM without relations".into()))?;
    let filter = match shape {
        Shape::Where(selection) => selection.map(|w| boolean(bind_expr::bind(w, &mut binder)?, "WHERE")).transpose()?,
        Shape::MergeOn(on) => Some(boolean(bind_expr::bind(on, &mut binder)?, "JOIN/ON")?),
    };
    let mut out = work(&mut binder)?;
    let tid = binder.add_column("ctid", DataType::Int8);

    // The columns the statement reads: the target's (for its privileges) and the others'
    // (which the join must carry up).
    let mut read: BTreeSet<ColumnId> = BTreeSet::new();
    for e in exprs(&mut out).into_iter().map(|e| &*e).chain(filter.iter()) {
        read.extend(crate::optimize::free_columns(e));
    }
    access.selected.extend(read.iter().copied().filter(|id| *id < width));
    if !access.selected.is_empty() {
        access.required = access.required.union(crate::acl::PrivilegeSet::of(&[crate::acl::Privilege::Select]));
    }
    let carried: Vec<(ColumnId, DataType)> =
        read.iter().copied().filter(|id| *id >= width && *id != tid).map(|id| (id, binder.type_of(id))).collect();
    let names = binder.into_names();

    let mut scan_output: Vec<ColumnId> = (0..width).collect();
    scan_output.push(tid);
    let scan = Rel::Scan {
        table: std::sync::Arc::new(table.clone()),
        output: scan_output,
        filter: None,
        access: Access::SeqScan,
        tid: true,
        needed: None,
    };
    let joined = match shape {
        Shape::Where(_) => {
            let joined = Rel::Join {
                kind: JoinKind::Inner,
                left: Box::new(scan),
                right: Box::new(source),
                equi: Vec::new(),
                condition: None,
            };
            match &filter {
                Some(predicate) => Rel::Filter { input: Box::new(joined), predicate: predicate.clone() },
                None => joined,
            }
        }
        Shape::MergeOn(_) => Rel::Join {
            kind: JoinKind::Left,
            left: Box::new(source),
            right: Box::new(scan),
            equi: Vec::new(),
            condition: filter.clone(),
        },
    };
    // Only what the statement reads goes up: the target row, its tuple id, the read columns.
    let mut output: Vec<ColumnId> = (0..width).collect();
    output.push(tid);
    output.extend(carried.iter().map(|(id, _)| *id));
    let column = |index: ColumnId, ty: DataType| Expr::Column { index, ty };
    let mut columns: Vec<Expr> = table.schema.columns.iter().enumerate().map(|(i, c)| column(i, c.data_type)).collect();
    columns.push(column(tid, DataType::Int8));
    columns.extend(carried.iter().map(|(id, ty)| column(*id, *ty)));
    let rel = Rel::Project { input: Box::new(joined), exprs: columns, output: output.clone() };
    crate::acl::note_reads(ctx, first_request, &rel);
    ctx.access_requests.push(AccessRequest::Relation(access));

    let rel = crate::resolve::resolve(crate::optimize::optimize(rel), &names)?;
    for e in exprs(&mut out) {
        let taken = std::mem::replace(e, Expr::literal(rustydb_foundation::Value::Null));
        *e = crate::resolve::resolve_expr(taken, &output, &names)?;
    }
    let filter = filter.map(|f| crate::resolve::resolve_expr(f, &output, &names)).transpose()?;
    Ok((out, JoinedRows { rel, width, filter }))
}

/// The FROM list of an UPDATE (before or after SET), if it has one.
pub(crate) fn update_from(update: &ast::Update) -> Option<&[ast::TableWithJoins]> {
    match &update.from {
        Some(ast::UpdateTableFromKind::BeforeSet(items) | ast::UpdateTableFromKind::AfterSet(items)) => Some(items),
        None => None,
    }
}
