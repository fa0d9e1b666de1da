//! ORDER BY, LIMIT/OFFSET and DISTINCT.
//!
//! Sorting reads its whole input, evaluating the keys once per row, and sorts stably (rows
//! with equal keys keep their input order). Under a LIMIT the sort is bounded (top-N): it
//! keeps only the best `limit + offset` rows seen so far, so `ORDER BY v LIMIT 10` over a
//! large table holds ten rows, not the table, and most rows are dismissed by one comparison
//! with the current worst kept key. An unbounded sort holds at most `work_mem` of rows and
//! merges sorted runs from temporary files beyond that ([`super::external_sort`]).

use super::external_sort::{ExternalSort, Sorted};
use super::{Batch, Blocking, Operator, Row, with_env};
use crate::context::ExecContext;
use crate::plan::SortKey;
use rustydb_foundation::{Result, Value};
use std::cmp::Ordering;
use std::rc::Rc;

/// Compares two rows' evaluated sort keys.
pub fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
        let ord = key_order(k, (x.is_null(), y.is_null()), || x.sql_cmp(y).unwrap_or(Ordering::Equal));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// One sort key's order of two values, given which are NULL and, for two non-NULL values,
/// their ascending order: NULLs placed as the key says, DESC reversing the values' order.
pub(crate) fn key_order(key: &SortKey, (a_null, b_null): (bool, bool), values: impl FnOnce() -> Ordering) -> Ordering {
    let nulls_low = |o: Ordering| if key.nulls_first { o } else { o.reverse() };
    match (a_null, b_null) {
        (true, true) => Ordering::Equal,
        (true, false) => nulls_low(Ordering::Less),
        (false, true) => nulls_low(Ordering::Greater),
        (false, false) if key.descending => values().reverse(),
        (false, false) => values(),
    }
}

/// The sort operator.
pub struct SortOp<'p> {
    input: Box<dyn Operator + 'p>,
    keys: &'p [SortKey],
    outer: Rc<[Value]>,
    /// Only the first `bound` rows are wanted (a LIMIT above).
    bound: Option<usize>,
    /// The sorted rows, once the input has been read (unbounded sorts).
    output: Option<Sorted>,
}

impl<'p> SortOp<'p> {
    /// Sorts `input` by `keys`.
    pub fn new(input: Box<dyn Operator + 'p>, keys: &'p [SortKey], outer: Rc<[Value]>) -> Self {
        SortOp { input, keys, outer, bound: None, output: None }
    }

    /// Sorts `input` by `keys`, keeping only the first `bound` rows.
    pub fn bounded(input: Box<dyn Operator + 'p>, keys: &'p [SortKey], outer: Rc<[Value]>, bound: usize) -> Self {
        SortOp { input, keys, outer, bound: Some(bound), output: None }
    }

    /// Reads the whole input into a sort that spills past `work_mem`.
    fn sort_all(&mut self, ctx: &mut ExecContext<'_>) -> Result<Sorted> {
        let mut sort = ExternalSort::new(self.keys, ctx.work_mem());
        while let Some(evaluated) = self.next_keyed(ctx)? {
            for (key, row) in evaluated {
                sort.push(ctx, key, row)?;
            }
        }
        let (held, spill) = (sort.held(), sort.spill());
        let sorted = sort.finish(ctx)?;
        crate::explain::note("Sort Method", || match spill.or_else(|| sorted.spill()) {
            None => format!("Sort Method: quicksort  Memory: {}kB", crate::explain::kilobytes(held as u64)),
            Some(spill) => format!("Sort Method: external merge  Disk: {}kB", crate::explain::kilobytes(spill.bytes())),
        });
        Ok(sorted)
    }
}

impl Operator for SortOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let output = match &mut self.output {
            Some(sorted) => sorted,
            None => {
                let sorted = self.sort_all(ctx)?;
                self.output.insert(sorted)
            }
        };
        let batch = output.next_rows(ctx, super::BATCH_ROWS)?;
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// The best `bound` of the (key, row) pairs offered, in stable order: offers accumulate and
/// are sorted and cut back to `bound` now and then; between cuts, a row whose key is not
/// better than the worst kept one is dismissed at once (a later equal row would sort after it).
pub(crate) struct TopN<'k> {
    keys: &'k [SortKey],
    bound: usize,
    kept: Vec<(Row, Row)>,
    worst: Option<Row>,
}

impl<'k> TopN<'k> {
    /// Keeps the best `bound` rows by `keys`.
    pub(crate) fn new(keys: &'k [SortKey], bound: usize) -> Self {
        TopN { keys, bound, kept: Vec::new(), worst: None }
    }

    /// The worst key kept, once `bound` rows are: a row not better than it is not wanted.
    pub(crate) fn worst(&self) -> Option<&[Value]> {
        self.worst.as_deref()
    }

    /// The best rows, in order (with their keys, to count their memory).
    pub(crate) fn finish(mut self) -> Vec<(Row, Row)> {
        self.cut();
        self.kept
    }

    /// Offers a row with its evaluated keys.
    pub(crate) fn offer(&mut self, key: Row, row: Row) {
        if self.bound == 0 {
            return;
        }
        if let Some(worst) = &self.worst
            && compare_keys(self.keys, &key, worst) != Ordering::Less
        {
            return;
        }
        self.kept.push((key, row));
        if self.kept.len() >= (2 * self.bound).max(1024) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let keys = self.keys;
        self.kept.sort_by(|a, b| compare_keys(keys, &a.0, &b.0));
        self.kept.truncate(self.bound);
        if self.kept.len() == self.bound {
            self.worst = self.kept.last().map(|(k, _)| k.clone());
        }
    }
}

impl SortOp<'_> {
    /// The next input batch, each row with its evaluated sort keys.
    fn next_keyed(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Vec<(Row, Row)>>> {
        let Some(batch) = self.input.next(ctx)? else { return Ok(None) };
        let keys = self.keys;
        with_env(ctx, &self.outer, |env, _| {
            batch
                .into_iter()
                .map(|row| Ok((keys.iter().map(|k| k.expr.eval(&row, env)).collect::<Result<Row>>()?, row)))
                .collect::<Result<Vec<_>>>()
        })
        .map(Some)
    }
}

impl Blocking for SortOp<'_> {
    fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        if let Some(bound) = self.bound {
            let mut top = TopN::new(self.keys, bound);
            while let Some(evaluated) = self.next_keyed(ctx)? {
                for (key, row) in evaluated {
                    top.offer(key, row);
                }
            }
            let kept = top.finish();
            let mut held = 0;
            for (k, row) in &kept {
                ctx.hold_row(k, "a sort")?;
                ctx.hold_row(row, "a sort")?;
                held += crate::context::row_bytes(k) + crate::context::row_bytes(row);
            }
            crate::explain::note("Sort Method", || {
                format!("Sort Method: top-N heapsort  Memory: {}kB", crate::explain::kilobytes(held as u64))
            });
            return Ok(kept.into_iter().map(|(_, row)| row).collect());
        }
        let mut rows = Vec::new();
        while let Some(batch) = Operator::next(self, ctx)? {
            rows.extend(batch);
        }
        Ok(rows)
    }
}

/// OFFSET then LIMIT; stops pulling once the limit is met.
pub struct LimitOp<'p> {
    input: Box<dyn Operator + 'p>,
    remaining: Option<u64>,
    skip: u64,
}

impl<'p> LimitOp<'p> {
    /// At most `limit` rows of `input` after the first `offset`.
    pub fn new(input: Box<dyn Operator + 'p>, limit: Option<u64>, offset: u64) -> Self {
        LimitOp { input, remaining: limit, skip: offset }
    }
}

impl Operator for LimitOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            let Some(mut batch) = self.input.next(ctx)? else { return Ok(None) };
            if self.skip > 0 {
                let dropped = (self.skip as usize).min(batch.len());
                batch.drain(..dropped);
                self.skip -= dropped as u64;
            }
            if let Some(left) = &mut self.remaining {
                batch.truncate((*left).min(usize::MAX as u64) as usize);
                *left -= batch.len() as u64;
            }
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
        }
    }
}
