//! Rewrites of bound plans that never change a result:
//!
//! - **Predicate pushdown.** WHERE and ON conjuncts move down to the lowest operator that has
//!   every column they read: into a scan (where `resolve` turns them into an access path),
//!   through projections and sorts (substituting the projected expressions), below an
//!   aggregate when they read group keys only, and into the preserved side of an outer join
//!   (WHERE) or its nullable side (ON). They never pass a LIMIT or a locking node.
//! - **Join order.** A cluster of inner joins and cross products (`FROM a, b, c WHERE ...` or
//!   `JOIN ... ON`) is flattened and rebuilt left-deep, each step adding the first relation (in
//!   FROM order) that some condition connects to those joined so far, so conditions apply as
//!   early as possible and no cross product is formed while a connected relation is left.
//!   Without statistics this is the whole cost model; ANALYZE-driven costs replace it.
//! - **Hash keys.** Each join's `left = right` conjuncts (one side over each input, no
//!   subquery) become its equality keys, cast to one type, so the executor hashes them.
//!
//! Column ids make all of this position-free: operators above a reordered join find their
//! columns by id, and `resolve` computes positions afterwards.

use crate::expr::{BinaryOp, Expr};
use crate::rel::{ColumnId, JoinKind, Rel};
use crate::statistics::Statistics;
use rustydb_foundation::DataType;
use std::collections::{HashMap, HashSet};

/// Optimizes a bound plan (joins in the heuristic order: no statistics).
pub fn optimize(rel: Rel) -> Rel {
    optimize_with(rel, None)
}

/// Optimizes a bound plan, ordering joins by ANALYZE's statistics where every table joined
/// has them.
pub fn optimize_with(rel: Rel, stats: Option<&Statistics>) -> Rel {
    let mut rel = push_down(rel, Vec::new(), stats);
    let required: HashSet<ColumnId> = rel.output().into_iter().collect();
    prune_columns(&mut rel, &required);
    rel
}

/// Projection pushdown into scans: marks in each scan which table columns anything above it
/// reads, so the others are never decoded (a text column skipped is an allocation and a UTF-8
/// check saved per row). `required` is what the node's consumer reads of its output. Each node
/// asks of its inputs what passes through it plus every column its own expressions read
/// (subqueries' outer references included); the nodes whose result depends on whole rows
/// (DISTINCT, set operations, recursion, row locks, the left side of LATERAL) ask for all.
/// Subqueries' own plans are not pruned: their scans decode every column.
fn prune_columns(rel: &mut Rel, required: &HashSet<ColumnId>) {
    let mut needs = required.clone();
    for e in rel.exprs() {
        needs.extend(free_columns(e));
    }
    let whole_rows =
        matches!(rel, Rel::Distinct { .. } | Rel::SetOp { .. } | Rel::RecursiveUnion { .. } | Rel::LockRows { .. });
    let lateral = matches!(rel, Rel::Lateral { .. });
    if let Rel::Scan { table, output, needed, .. } = rel {
        let mask: Vec<bool> = output.iter().take(table.schema.len()).map(|id| needs.contains(id)).collect();
        *needed = (!mask.iter().all(|n| *n)).then(|| mask.into_boxed_slice());
        return;
    }
    for (i, input) in rel.inputs_mut().into_iter().enumerate() {
        let input_required: HashSet<ColumnId> =
            if whole_rows || (lateral && i == 0) { input.output().into_iter().collect() } else { needs.clone() };
        prune_columns(input, &input_required);
    }
}

/// Splits `e` into its AND-ed conjuncts.
pub fn split_and(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        other => out.push(other),
    }
}

/// The conjuncts AND-ed back together.
pub fn and_all(conjuncts: Vec<Expr>) -> Option<Expr> {
    conjuncts.into_iter().reduce(|a, b| Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(a),
        right: Box::new(b),
        ty: DataType::Bool,
    })
}

fn filtered(rel: Rel, conjuncts: Vec<Expr>) -> Rel {
    match and_all(conjuncts) {
        None => rel,
        Some(predicate) => Rel::Filter { input: Box::new(rel), predicate },
    }
}

/// The column ids an expression reads, including those its subqueries read from outside
/// themselves.
pub fn free_columns(e: &Expr) -> HashSet<ColumnId> {
    let mut out = HashSet::new();
    expr_columns(e, &mut out);
    out
}

fn expr_columns(e: &Expr, out: &mut HashSet<ColumnId>) {
    e.walk(&mut |x| match x {
        Expr::Column { index, .. } => {
            out.insert(*index);
        }
        Expr::Subquery(sq) => out.extend(rel_free_columns(&sq.plan)),
        _ => {}
    });
}

/// The ids a plan reads but does not make: its references to enclosing queries.
pub(crate) fn rel_free_columns(rel: &Rel) -> HashSet<ColumnId> {
    let mut read = HashSet::new();
    let mut made = HashSet::new();
    fn visit(rel: &Rel, read: &mut HashSet<ColumnId>, made: &mut HashSet<ColumnId>) {
        for e in rel.exprs() {
            expr_columns(e, read);
        }
        made.extend(rel.output());
        for input in rel.inputs() {
            visit(input, read, made);
        }
    }
    visit(rel, &mut read, &mut made);
    read.retain(|id| !made.contains(id));
    read
}

/// Replaces each column read in `e` by `map`'s expression for it (a projection's output by its
/// definition). Only called for expressions without subqueries.
fn substitute(e: Expr, map: &HashMap<ColumnId, &Expr>) -> Expr {
    match e {
        Expr::Column { index, .. } if map.contains_key(&index) => map[&index].clone(),
        mut other => {
            for child in other.children_mut() {
                let taken = std::mem::replace(child, Expr::literal(rustydb_foundation::Value::Null));
                *child = substitute(taken, map);
            }
            other
        }
    }
}

fn push_down(rel: Rel, mut preds: Vec<Expr>, stats: Option<&Statistics>) -> Rel {
    match rel {
        Rel::Filter { input, predicate } => {
            // A lower filter's conjuncts come first, so they are evaluated first: row-level
            // security's filter sits right on its scan, and a query's own predicate must not
            // see (and fail on, or leak through an error) rows the policies hide.
            let mut lower = Vec::new();
            split_and(predicate, &mut lower);
            lower.append(&mut preds);
            push_down(*input, lower, stats)
        }
        Rel::Join { kind: JoinKind::Inner, .. } => join_cluster(rel, preds, stats),
        Rel::Join { kind, left, right, condition, .. } => {
            let left_ids: HashSet<ColumnId> = left.output().into_iter().collect();
            let right_ids: HashSet<ColumnId> = right.output().into_iter().collect();
            let (mut to_left, mut to_right, mut above, mut on) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for p in preds {
                let f = free_columns(&p);
                if kind == JoinKind::Left && f.is_subset(&left_ids) {
                    to_left.push(p);
                } else if kind == JoinKind::Right && f.is_subset(&right_ids) {
                    to_right.push(p);
                } else {
                    above.push(p);
                }
            }
            let mut conjuncts = Vec::new();
            if let Some(c) = condition {
                split_and(c, &mut conjuncts);
            }
            for c in conjuncts {
                let f = free_columns(&c);
                if kind == JoinKind::Left && !f.is_empty() && f.is_subset(&right_ids) {
                    to_right.push(c);
                } else if kind == JoinKind::Right && !f.is_empty() && f.is_subset(&left_ids) {
                    to_left.push(c);
                } else {
                    on.push(c);
                }
            }
            let left = push_down(*left, to_left, stats);
            let right = push_down(*right, to_right, stats);
            let (equi, condition) = hash_keys(on, &left_ids, &right_ids);
            filtered(Rel::Join { kind, left: Box::new(left), right: Box::new(right), equi, condition }, above)
        }
        Rel::Scan { table, output, filter, access, tid, needed } => {
            if let Some(f) = filter {
                split_and(f, &mut preds);
            }
            Rel::Scan { table, output, filter: and_all(preds), access, tid, needed }
        }
        Rel::Project { input, exprs, output } => {
            let map: HashMap<ColumnId, &Expr> = output.iter().copied().zip(exprs.iter()).collect();
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for p in preds {
                let f = free_columns(&p);
                let movable = !p.has_subquery() && f.iter().all(|id| map.get(id).is_some_and(|e| !e.has_subquery()));
                if movable { down.push(substitute(p, &map)) } else { keep.push(p) }
            }
            let input = push_down(*input, down, stats);
            filtered(Rel::Project { input: Box::new(input), exprs, output }, keep)
        }
        Rel::Aggregate { input, groups, aggregates, output } => {
            let map: HashMap<ColumnId, &Expr> = output.iter().copied().zip(groups.iter()).collect();
            let (mut down, mut keep) = (Vec::new(), Vec::new());
            for p in preds {
                let f = free_columns(&p);
                let movable = !p.has_subquery()
                    && !f.is_empty()
                    && f.iter().all(|id| map.get(id).is_some_and(|e| !e.has_subquery()));
                if movable { down.push(substitute(p, &map)) } else { keep.push(p) }
            }
            let input = push_down(*input, down, stats);
            filtered(Rel::Aggregate { input: Box::new(input), groups, aggregates, output }, keep)
        }
        Rel::Sort { input, keys } => Rel::Sort { input: Box::new(push_down(*input, preds, stats)), keys },
        Rel::Window { input, calls, output } => {
            filtered(Rel::Window { input: Box::new(push_down(*input, Vec::new(), stats)), calls, output }, preds)
        }
        Rel::Distinct { input } => Rel::Distinct { input: Box::new(push_down(*input, preds, stats)) },
        Rel::Limit { input, limit, offset } => {
            filtered(Rel::Limit { input: Box::new(push_down(*input, Vec::new(), stats)), limit, offset }, preds)
        }
        Rel::LockRows { input, table, filter, lock } => filtered(
            Rel::LockRows { input: Box::new(push_down(*input, Vec::new(), stats)), table, filter, lock },
            preds,
        ),
        Rel::SetOp { kind, all, left, right, output } => {
            let left = Box::new(push_down(*left, Vec::new(), stats));
            let right = Box::new(push_down(*right, Vec::new(), stats));
            filtered(Rel::SetOp { kind, all, left, right, output }, preds)
        }
        Rel::RecursiveUnion { base, recursive, all, work, output } => {
            let base = Box::new(push_down(*base, Vec::new(), stats));
            let recursive = Box::new(push_down(*recursive, Vec::new(), stats));
            filtered(Rel::RecursiveUnion { base, recursive, all, work, output }, preds)
        }
        leaf @ (Rel::Values { .. } | Rel::WorkTable { .. } | Rel::Function { .. }) => filtered(leaf, preds),
        Rel::Lateral { kind, left, right, condition } => {
            let (left, right) = (push_down(*left, Vec::new(), stats), push_down(*right, Vec::new(), stats));
            filtered(Rel::Lateral { kind, left: Box::new(left), right: Box::new(right), condition }, preds)
        }
    }
}

/// Flattens a tree of inner joins into its leaves and conditions.
fn flatten(rel: Rel, leaves: &mut Vec<Rel>, conditions: &mut Vec<Expr>) {
    match rel {
        Rel::Join { kind: JoinKind::Inner, left, right, equi, condition } => {
            flatten(*left, leaves, conditions);
            flatten(*right, leaves, conditions);
            for (l, r) in equi {
                conditions.push(Expr::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(l),
                    right: Box::new(r),
                    ty: DataType::Bool,
                });
            }
            if let Some(c) = condition {
                split_and(c, conditions);
            }
        }
        other => leaves.push(other),
    }
}

fn join_cluster(rel: Rel, preds: Vec<Expr>, stats: Option<&Statistics>) -> Rel {
    let mut leaves = Vec::new();
    let mut conditions = preds;
    flatten(rel, &mut leaves, &mut conditions);
    let leaf_ids: Vec<HashSet<ColumnId>> = leaves.iter().map(|l| l.output().into_iter().collect()).collect();
    let mut own: Vec<Vec<Expr>> = vec![Vec::new(); leaves.len()];
    let mut spanning: Vec<(Expr, HashSet<ColumnId>)> = Vec::new();
    for c in conditions {
        let f = free_columns(&c);
        match leaf_ids.iter().position(|ids| f.is_subset(ids)) {
            Some(i) => own[i].push(c),
            None => spanning.push((c, f)),
        }
    }
    let leaves: Vec<Rel> = leaves.into_iter().zip(own).map(|(l, p)| push_down(l, p, stats)).collect();
    let order = stats
        .and_then(|s| crate::join_order::by_cost(s, &leaves, &leaf_ids, &spanning))
        .unwrap_or_else(|| connected_order(&leaf_ids, &spanning));
    // The leaves in join order (`order` is a permutation of their indexes; a cluster has two
    // or more).
    let mut rank = vec![0; order.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut ordered: Vec<(usize, (Rel, HashSet<ColumnId>))> = leaves.into_iter().zip(leaf_ids).enumerate().collect();
    ordered.sort_by_key(|(i, _)| rank[*i]);
    let mut ordered = ordered.into_iter().map(|(_, leaf)| leaf);
    let Some((mut current, mut ids)) = ordered.next() else {
        return filtered(Rel::Values { rows: Vec::new(), output: Vec::new() }, Vec::new());
    };
    for (leaf, leaf_set) in ordered {
        let joined: HashSet<ColumnId> = ids.union(&leaf_set).copied().collect();
        let (now, later): (Vec<_>, Vec<_>) = spanning.into_iter().partition(|(_, f)| f.is_subset(&joined));
        spanning = later;
        let (equi, condition) = hash_keys(now.into_iter().map(|(c, _)| c).collect(), &ids, &leaf_set);
        current = Rel::Join { kind: JoinKind::Inner, left: Box::new(current), right: Box::new(leaf), equi, condition };
        ids = joined;
    }
    // Conditions reading columns of no leaf (enclosing queries' only) were placed on a leaf;
    // anything left here reads outside the cluster and stays above it.
    filtered(current, spanning.into_iter().map(|(c, _)| c).collect())
}

/// The join order without statistics: FROM order, except that each step takes the first
/// relation some condition connects to those joined so far (no cross product while a
/// connected relation is left).
fn connected_order(leaf_ids: &[HashSet<ColumnId>], spanning: &[(Expr, HashSet<ColumnId>)]) -> Vec<usize> {
    let mut remaining: Vec<usize> = (1..leaf_ids.len()).collect();
    let mut order = vec![0];
    let mut ids: HashSet<ColumnId> = leaf_ids[0].clone();
    while !remaining.is_empty() {
        let connected = remaining.iter().position(|&i| {
            let leaf = &leaf_ids[i];
            spanning.iter().any(|(_, f)| {
                !f.is_disjoint(leaf) && !f.is_disjoint(&ids) && f.iter().all(|c| leaf.contains(c) || ids.contains(c))
            })
        });
        let next = remaining.remove(connected.unwrap_or(0));
        ids.extend(leaf_ids[next].iter().copied());
        order.push(next);
    }
    order
}

/// Splits a join's conjuncts into equality keys (left expression, right expression) and the
/// rest.
fn hash_keys(
    conjuncts: Vec<Expr>,
    left: &HashSet<ColumnId>,
    right: &HashSet<ColumnId>,
) -> (Vec<(Expr, Expr)>, Option<Expr>) {
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for c in conjuncts {
        match equality_key(&c, left, right) {
            Some(pair) => keys.push(pair),
            None => rest.push(c),
        }
    }
    (keys, and_all(rest))
}

fn equality_key(c: &Expr, left: &HashSet<ColumnId>, right: &HashSet<ColumnId>) -> Option<(Expr, Expr)> {
    let Expr::Binary { op: BinaryOp::Eq, left: a, right: b, .. } = c else { return None };
    if c.has_subquery() {
        return None;
    }
    let (fa, fb) = (free_columns(a), free_columns(b));
    if fa.is_empty() || fb.is_empty() {
        return None;
    }
    let (l, r) = if fa.is_subset(left) && fb.is_subset(right) {
        (a.as_ref().clone(), b.as_ref().clone())
    } else if fa.is_subset(right) && fb.is_subset(left) {
        (b.as_ref().clone(), a.as_ref().clone())
    } else {
        return None;
    };
    let (lt, rt) = (l.data_type(), r.data_type());
    // Keys hash by value, so both sides must have one representation.
    let common = if lt == rt && !matches!(lt, DataType::Char(_)) {
        return Some((l, r));
    } else if lt.is_integer() && rt.is_integer() {
        DataType::Int8
    } else if lt.is_numeric() && rt.is_numeric() {
        DataType::Float8
    } else if matches!((lt, rt), (DataType::Text | DataType::Varchar(_), DataType::Text | DataType::Varchar(_))) {
        DataType::Text
    } else {
        return None;
    };
    let cast = |e: Expr, from: DataType| {
        if from == common { e } else { Expr::Cast { arg: Box::new(e), to: common, explicit: false } }
    };
    Some((cast(l, lt), cast(r, rt)))
}
