//! Join order by cost, for a cluster of inner joins whose every relation has statistics.
//!
//! Plans are left-deep: each step hash-joins the rows so far (probed) with one more relation
//! (built into the hash table). A step costs its output rows, plus twice the rows it builds
//! from (building a hash table costs more per row than probing it), plus the rows it probes
//! with; a plan costs the sum of its steps. Up to [`EXHAUSTIVE`] relations the cheapest order
//! is found by dynamic programming over subsets (PostgreSQL searches exhaustively below its
//! `geqo_threshold` of 12 too); beyond, greedily, each step taking the relation that keeps the
//! rows so far smallest.
//!
//! The rows of a set of relations do not depend on the order they were joined in: the product
//! of their rows and of the selectivities of the conditions among them (see `estimate.rs`).

use crate::estimate::Estimator;
use crate::expr::Expr;
use crate::rel::{ColumnId, Rel};
use crate::statistics::Statistics;
use std::collections::HashSet;

/// The most relations ordered by exhaustive search.
pub const EXHAUSTIVE: usize = 10;

/// The weight of a row built into a hash table, against one probed or produced.
const BUILD: f64 = 2.0;

/// The cheapest order of `leaves` (indexes into it), or `None` if some leaf's rows cannot be
/// estimated (a table without statistics): then the caller's heuristic order stands.
pub fn by_cost(
    stats: &Statistics,
    leaves: &[Rel],
    leaf_ids: &[HashSet<ColumnId>],
    spanning: &[(Expr, HashSet<ColumnId>)],
) -> Option<Vec<usize>> {
    let n = leaves.len();
    if !(2..=63).contains(&n) {
        return None;
    }
    let refs: Vec<&Rel> = leaves.iter().collect();
    let estimator = Estimator::new(stats, &refs);
    let rows: Vec<f64> = leaves.iter().map(|l| estimator.rows(l)).collect::<Option<_>>()?;
    // Each condition among the leaves: the leaves it reads, and how many rows it keeps.
    let conditions: Vec<(u64, f64)> = spanning
        .iter()
        .filter_map(|(c, f)| {
            let mask =
                leaf_ids.iter().enumerate().filter(|(_, ids)| !ids.is_disjoint(f)).fold(0u64, |m, (i, _)| m | 1 << i);
            (mask.count_ones() >= 2).then(|| (mask, estimator.selectivity(c)))
        })
        .collect();
    let cards = Cardinality { rows: &rows, conditions: &conditions };
    Some(if n <= EXHAUSTIVE { exhaustive(n, &cards) } else { greedy(n, &cards) })
}

/// The rows of sets of relations.
struct Cardinality<'a> {
    rows: &'a [f64],
    conditions: &'a [(u64, f64)],
}

impl Cardinality<'_> {
    fn of(&self, set: u64) -> f64 {
        let mut out = 1.0;
        for (i, r) in self.rows.iter().enumerate() {
            if set & (1 << i) != 0 {
                out *= r;
            }
        }
        for (mask, s) in self.conditions {
            if mask & !set == 0 {
                out *= s;
            }
        }
        out.max(1.0)
    }

    /// The cost of joining relation `next` to the set `before`.
    fn step(&self, before: u64, next: usize) -> f64 {
        self.of(before | 1 << next) + BUILD * self.rows[next] + self.of(before)
    }
}

/// Dynamic programming over every subset: the cheapest left-deep order.
fn exhaustive(n: usize, cards: &Cardinality<'_>) -> Vec<usize> {
    let full = (1u64 << n) - 1;
    // Per subset: (cost, last relation added); subsets of a set are numerically smaller.
    let mut best: Vec<Option<(f64, usize)>> = vec![None; 1 << n];
    // Every relation is read once whatever the order: the first costs nothing more.
    for (i, slot) in (0..n).map(|i| (i, 1usize << i)) {
        best[slot] = Some((0.0, i));
    }
    for set in 1..=full {
        if set.count_ones() < 2 {
            continue;
        }
        for last in 0..n {
            if set & (1 << last) == 0 {
                continue;
            }
            let before = set & !(1 << last);
            let Some((cost, _)) = best[before as usize] else { continue };
            let total = cost + cards.step(before, last);
            if best[set as usize].is_none_or(|(c, _)| total < c) {
                best[set as usize] = Some((total, last));
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut set = full;
    while set != 0 {
        let (_, last) = best[set as usize].unwrap_or((0.0, set.trailing_zeros() as usize));
        order.push(last);
        set &= !(1 << last);
    }
    order.reverse();
    order
}

/// Greedy: the smallest relation first, then each step the one that keeps the rows smallest.
fn greedy(n: usize, cards: &Cardinality<'_>) -> Vec<usize> {
    let first = (0..n).min_by(|&a, &b| cards.rows[a].total_cmp(&cards.rows[b])).unwrap_or(0);
    let mut order = vec![first];
    let mut set = 1u64 << first;
    while order.len() < n {
        let next = (0..n)
            .filter(|i| set & (1 << i) == 0)
            .min_by(|&a, &b| cards.step(set, a).total_cmp(&cards.step(set, b)))
            .unwrap_or(0);
        order.push(next);
        set |= 1 << next;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_relations_join_first_and_the_big_one_is_probed() {
        // A fact table of a million rows and two dimensions, each joined to it.
        let rows = [1_000_000.0, 100.0, 10_000.0];
        let conditions = [(0b011, 1.0 / 100.0), (0b101, 1.0 / 10_000.0)];
        let cards = Cardinality { rows: &rows, conditions: &conditions };
        let order = exhaustive(3, &cards);
        assert_eq!(order[0], 0, "the fact table is probed, never built: {order:?}");
        assert_eq!(greedy(3, &cards).len(), 3);
        // A selective filter makes a dimension the driver.
        let rows = [1_000_000.0, 1.0, 10_000.0];
        let conditions = [(0b011, 1.0 / 100.0), (0b101, 1.0 / 10_000.0)];
        let cards = Cardinality { rows: &rows, conditions: &conditions };
        let order = exhaustive(3, &cards);
        assert!(order.iter().position(|&i| i == 1) < order.iter().position(|&i| i == 2), "{order:?}");
    }

    #[test]
    fn a_cross_product_waits_for_the_conditions() {
        // 0-1 and 1-2 are joined by conditions; 0 and 2 are not.
        let rows = [1000.0, 1000.0, 1000.0];
        let conditions = [(0b011, 0.001), (0b110, 0.001)];
        let cards = Cardinality { rows: &rows, conditions: &conditions };
        let order = exhaustive(3, &cards);
        assert_eq!(order[..2].iter().filter(|&&i| i == 1).count(), 1, "1 is among the first two: {order:?}");
    }
}
