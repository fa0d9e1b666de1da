//! Hash aggregation over column batches.
//!
//! Each batch's group keys are evaluated as columns and turned into one group number per row
//! (a hash table from the keys, unboxed, to the group's number); each aggregate then runs a
//! tight loop over its argument column, adding into that aggregate's array of per-group
//! states. Groups are numbered, and output, in the order they first appear, as in the row
//! executor.
//!
//! The aggregates taken: `count(*)`, `count`, `sum`, `avg`, `min` and `max` of integers and
//! floats, `bool_and` and `bool_or`, each with FILTER but without DISTINCT. Their results are
//! the row executor's to the bit: integer sums are exact (in i128) and become bigint or
//! numeric as the call's type says, float sums add in scan order (real in single precision)
//! and fail on overflow, and `min`/`max` keep the
//! newer of two equal values (`-0` against `0`). Group keys are integers or booleans.

use super::Pipeline;
use super::batch::ColumnBatch;
use super::column::{Column, Data, Kind};
use super::expr::VExpr;
use crate::context::ExecContext;
use crate::exec::Row;
use crate::exec::float_sum;
use crate::rel::{AggCall, AggFunc, Rel};
use crate::types::out_of_range;
use rustydb_foundation::value::total_float_cmp;
use rustydb_foundation::{DataType, DbError, Numeric, Result, Value};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-rotate hash for the unboxed keys (SipHash's resistance to chosen keys buys
/// nothing for a statement's own group table and costs a third of the aggregation).
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type KeyMap<K> = HashMap<K, u32, BuildHasherDefault<KeyHasher>>;

/// The per-group states of one aggregate call.
#[derive(Debug, Clone)]
enum States {
    Count(Vec<i64>),
    SumInt { sums: Vec<i128>, seen: Vec<bool> },
    SumFloat { sums: Vec<f64>, seen: Vec<bool> },
    AvgInt { sums: Vec<i128>, counts: Vec<i64> },
    AvgFloat { sums: Vec<f64>, counts: Vec<i64> },
    ExtremeInt { best: Vec<i64>, seen: Vec<bool> },
    ExtremeFloat { best: Vec<f64>, seen: Vec<bool> },
    Bool { acc: Vec<bool>, seen: Vec<bool> },
}

impl States {
    fn grow(&mut self, groups: usize) {
        match self {
            States::Count(v) => v.resize(groups, 0),
            States::SumInt { sums, seen } => {
                sums.resize(groups, 0);
                seen.resize(groups, false);
            }
            States::SumFloat { sums, seen } => {
                // -0.0, addition's identity: a sum of negative zeros is -0, as in PostgreSQL.
                sums.resize(groups, -0.0);
                seen.resize(groups, false);
            }
            States::AvgInt { sums, counts } => {
                sums.resize(groups, 0);
                counts.resize(groups, 0);
            }
            States::AvgFloat { sums, counts } => {
                sums.resize(groups, 0.0);
                counts.resize(groups, 0);
            }
            States::ExtremeInt { best, seen } => {
                best.resize(groups, 0);
                seen.resize(groups, false);
            }
            States::ExtremeFloat { best, seen } => {
                best.resize(groups, 0.0);
                seen.resize(groups, false);
            }
            States::Bool { acc, seen } => {
                acc.resize(groups, false);
                seen.resize(groups, false);
            }
        }
    }
}

/// One aggregate call, vectorized.
#[derive(Debug, Clone)]
struct Call {
    func: AggFunc,
    /// The result's type.
    ty: DataType,
    arg: Option<VExpr>,
    filter: Option<VExpr>,
    states: States,
}

impl Call {
    fn compile(call: &AggCall) -> Option<Call> {
        if call.distinct || !call.order.is_empty() {
            return None;
        }
        let filter = match &call.filter {
            Some(f) => Some(VExpr::compile(f).filter(|f| f.ty() == DataType::Bool)?),
            None => None,
        };
        let arg = match call.args.as_slice() {
            [] => None,
            [a] => Some(VExpr::compile(a)?),
            _ => return None,
        };
        let kind = arg.as_ref().and_then(|a| Kind::of(a.ty()));
        let states = match (call.func, kind) {
            (AggFunc::CountStar, None) | (AggFunc::Count, Some(_)) => States::Count(Vec::new()),
            (AggFunc::Sum, Some(Kind::Int)) => States::SumInt { sums: Vec::new(), seen: Vec::new() },
            (AggFunc::Sum, Some(Kind::Float)) => States::SumFloat { sums: Vec::new(), seen: Vec::new() },
            (AggFunc::Avg, Some(Kind::Int)) => States::AvgInt { sums: Vec::new(), counts: Vec::new() },
            (AggFunc::Avg, Some(Kind::Float)) => States::AvgFloat { sums: Vec::new(), counts: Vec::new() },
            (AggFunc::Min | AggFunc::Max, Some(Kind::Int)) => States::ExtremeInt { best: Vec::new(), seen: Vec::new() },
            (AggFunc::Min | AggFunc::Max, Some(Kind::Float)) => {
                States::ExtremeFloat { best: Vec::new(), seen: Vec::new() }
            }
            (AggFunc::BoolAnd | AggFunc::BoolOr, Some(Kind::Bool)) => {
                States::Bool { acc: Vec::new(), seen: Vec::new() }
            }
            _ => return None,
        };
        Some(Call { func: call.func, ty: call.ty, arg, filter, states })
    }

    /// Adds the batch's rows (`groups[i]` is row `i`'s group) into the states.
    fn update(&mut self, batch: &super::batch::ColumnBatch, groups: &[u32]) -> Result<()> {
        let rows = batch.selection.as_deref();
        // With a FILTER, the argument is evaluated only on the rows that pass it (as the row
        // executor does: `sum(1 / k) FILTER (WHERE k <> 0)` must not divide by zero).
        let narrowed: Option<(Vec<u32>, Vec<u32>)> = match &self.filter {
            None => None,
            Some(f) => {
                // Selected as WHERE selects (a NULL left side of AND stops there).
                let physical = super::select(batch, rows.map(<[u32]>::to_vec), f)?;
                // Each passing row's position among the rows in play, for its group.
                let mut dense = Vec::with_capacity(physical.len());
                let mut k = 0;
                for &p in &physical {
                    match rows {
                        None => k = p as usize,
                        Some(r) => {
                            while r[k] != p {
                                k += 1;
                            }
                        }
                    }
                    dense.push(groups[k]);
                }
                Some((physical, dense))
            }
        };
        let (rows, groups) = match &narrowed {
            None => (rows, groups),
            Some((physical, groups)) => (Some(physical.as_slice()), groups.as_slice()),
        };
        let Some(arg) = &self.arg else {
            // count(*)
            if let States::Count(n) = &mut self.states {
                for g in groups {
                    n[*g as usize] += 1;
                }
            }
            return Ok(());
        };
        let column = arg.eval(batch, rows)?;
        let take = |i: usize| !column.is_null(i);
        let min = self.func == AggFunc::Min;
        match (&mut self.states, &column.data) {
            (States::Count(n), _) => {
                for (i, g) in groups.iter().enumerate() {
                    n[*g as usize] += i64::from(take(i));
                }
            }
            (States::SumInt { sums, seen }, Data::Int(v)) => {
                for (i, g) in groups.iter().enumerate() {
                    if take(i) {
                        sums[*g as usize] += i128::from(v[i]);
                        seen[*g as usize] = true;
                    }
                }
            }
            (States::SumFloat { sums, seen }, Data::Float(v)) => {
                let single = self.ty == DataType::Float4;
                if single {
                    for (i, g) in groups.iter().enumerate() {
                        if take(i) {
                            let g = *g as usize;
                            sums[g] = float_sum(sums[g], v[i], single)?;
                            seen[g] = true;
                        }
                    }
                } else {
                    add_floats(sums, seen, v, groups, column.nulls.as_deref())?;
                }
            }
            (States::AvgInt { sums, counts }, Data::Int(v)) => {
                for (i, g) in groups.iter().enumerate() {
                    if take(i) {
                        sums[*g as usize] += i128::from(v[i]);
                        counts[*g as usize] += 1;
                    }
                }
            }
            (States::AvgFloat { sums, counts }, Data::Float(v)) => {
                for (i, g) in groups.iter().enumerate() {
                    if take(i) {
                        let g = *g as usize;
                        sums[g] = float_sum(sums[g], v[i], false)?;
                        counts[g] += 1;
                    }
                }
            }
            (States::ExtremeInt { best, seen }, Data::Int(v)) => {
                for (i, g) in groups.iter().enumerate() {
                    let g = *g as usize;
                    if take(i) && (!seen[g] || if min { v[i] <= best[g] } else { v[i] >= best[g] }) {
                        best[g] = v[i];
                        seen[g] = true;
                    }
                }
            }
            (States::ExtremeFloat { best, seen }, Data::Float(v)) => {
                for (i, g) in groups.iter().enumerate() {
                    let g = *g as usize;
                    if take(i) {
                        // Ties take the newer value, as the row executor does (-0 against 0).
                        let ord = total_float_cmp(v[i], best[g]);
                        if !seen[g] || if min { ord.is_le() } else { ord.is_ge() } {
                            best[g] = v[i];
                            seen[g] = true;
                        }
                    }
                }
            }
            (States::Bool { acc, seen }, Data::Bool(v)) => {
                let and = self.func == AggFunc::BoolAnd;
                for (i, g) in groups.iter().enumerate() {
                    let g = *g as usize;
                    if take(i) {
                        acc[g] = if !seen[g] {
                            v[i]
                        } else if and {
                            acc[g] && v[i]
                        } else {
                            acc[g] || v[i]
                        };
                        seen[g] = true;
                    }
                }
            }
            _ => return Err(DbError::Internal(format!("vectorized {:?} over {}", self.func, column.ty))),
        }
        Ok(())
    }

    /// Adds group `s` of `other` (states of the same call, from another table) into group `d`.
    fn combine(&mut self, d: usize, other: &States, s: usize) -> Result<()> {
        let min = self.func == AggFunc::Min;
        match (&mut self.states, other) {
            (States::Count(a), States::Count(b)) => a[d] += b[s],
            (States::SumInt { sums, seen }, States::SumInt { sums: b, seen: b_seen }) if b_seen[s] => {
                sums[d] += b[s];
                seen[d] = true;
            }
            (States::SumFloat { sums, seen }, States::SumFloat { sums: b, seen: b_seen }) if b_seen[s] => {
                sums[d] = if seen[d] { float_sum(sums[d], b[s], self.ty == DataType::Float4)? } else { b[s] };
                seen[d] = true;
            }
            (States::AvgInt { sums, counts }, States::AvgInt { sums: b, counts: b_counts }) => {
                sums[d] += b[s];
                counts[d] += b_counts[s];
            }
            (States::AvgFloat { sums, counts }, States::AvgFloat { sums: b, counts: b_counts }) if b_counts[s] > 0 => {
                sums[d] = if counts[d] > 0 { float_sum(sums[d], b[s], false)? } else { b[s] };
                counts[d] += b_counts[s];
            }
            (States::ExtremeInt { best, seen }, States::ExtremeInt { best: b, seen: b_seen }) if b_seen[s] => {
                if !seen[d] || if min { b[s] <= best[d] } else { b[s] >= best[d] } {
                    best[d] = b[s];
                    seen[d] = true;
                }
            }
            (States::ExtremeFloat { best, seen }, States::ExtremeFloat { best: b, seen: b_seen }) if b_seen[s] => {
                let ord = total_float_cmp(b[s], best[d]);
                if !seen[d] || if min { ord.is_le() } else { ord.is_ge() } {
                    best[d] = b[s];
                    seen[d] = true;
                }
            }
            (States::Bool { acc, seen }, States::Bool { acc: b, seen: b_seen }) if b_seen[s] => {
                acc[d] = if !seen[d] {
                    b[s]
                } else if self.func == AggFunc::BoolAnd {
                    acc[d] && b[s]
                } else {
                    acc[d] || b[s]
                };
                seen[d] = true;
            }
            // The other side saw no value for the group: nothing to add.
            (States::SumInt { .. }, States::SumInt { .. })
            | (States::SumFloat { .. }, States::SumFloat { .. })
            | (States::AvgFloat { .. }, States::AvgFloat { .. })
            | (States::ExtremeInt { .. }, States::ExtremeInt { .. })
            | (States::ExtremeFloat { .. }, States::ExtremeFloat { .. })
            | (States::Bool { .. }, States::Bool { .. }) => {}
            _ => return Err(DbError::Internal("merging states of different aggregates".into())),
        }
        Ok(())
    }

    /// Group `g`'s result.
    fn finish(&self, g: usize) -> Result<Value> {
        let ty = self.ty;
        let arg_ty = self.arg.as_ref().map_or(DataType::Int8, VExpr::ty);
        Ok(match &self.states {
            States::Count(n) => Value::Int8(n[g]),
            States::SumInt { seen, .. }
            | States::SumFloat { seen, .. }
            | States::ExtremeInt { seen, .. }
            | States::ExtremeFloat { seen, .. }
            | States::Bool { seen, .. }
                if !seen[g] =>
            {
                Value::Null
            }
            States::AvgInt { counts, .. } | States::AvgFloat { counts, .. } if counts[g] == 0 => Value::Null,
            States::SumInt { sums, .. } if ty == DataType::Numeric(None) => Value::Numeric(Numeric::from_i128(sums[g])),
            States::SumInt { sums, .. } => {
                Value::Int8(i64::try_from(sums[g]).map_err(|_| out_of_range(DataType::Int8))?)
            }
            States::SumFloat { sums, .. } if ty == DataType::Float4 => Value::Float4(sums[g] as f32),
            States::SumFloat { sums, .. } => Value::Float8(sums[g]),
            States::AvgInt { sums, counts } => {
                Value::Numeric(Numeric::from_i128(sums[g]).div(&Numeric::from_i64(counts[g]))?)
            }
            States::AvgFloat { sums, counts } => Value::Float8(sums[g] / counts[g] as f64),
            States::ExtremeInt { best, .. } => {
                let c = Column { ty: arg_ty, data: Data::Int(vec![best[g]]), nulls: None };
                c.value(0)
            }
            States::ExtremeFloat { best, .. } => {
                let c = Column { ty: arg_ty, data: Data::Float(vec![best[g]]), nulls: None };
                c.value(0)
            }
            States::Bool { acc, .. } => Value::Bool(acc[g]),
        })
    }
}

/// Group numbers for rows by their key columns.
#[derive(Debug)]
enum Grouping {
    /// No keys: one group.
    Single,
    /// One integer or boolean key.
    One { map: KeyMap<i64>, null: Option<u32> },
    /// Several: the keys, with a leading word of NULL flags.
    Many(KeyMap<Box<[i64]>>),
}

/// An aggregate over a vectorized pipeline.
#[derive(Debug)]
pub struct VectorAggregate<'p> {
    input: Pipeline<'p>,
    keys: Vec<VExpr>,
    calls: Vec<Call>,
}

impl<'p> VectorAggregate<'p> {
    /// The vectorized form of an aggregate of `input` by `groups`, if there is one.
    pub fn build(input: &'p Rel, groups: &'p [crate::expr::Expr], aggregates: &'p [AggCall]) -> Option<Self> {
        if groups.len() > 63 {
            return None;
        }
        let keys = groups
            .iter()
            .map(|g| VExpr::compile(g).filter(|k| matches!(Kind::of(k.ty()), Some(Kind::Int | Kind::Bool))))
            .collect::<Option<Vec<_>>>()?;
        let calls = aggregates.iter().map(Call::compile).collect::<Option<Vec<_>>>()?;
        let mut above: Vec<&VExpr> = keys.iter().collect();
        for c in &calls {
            above.extend(c.arg.iter().chain(c.filter.iter()));
        }
        let input = Pipeline::build(input, &above)?;
        Some(VectorAggregate { input, keys, calls })
    }

    /// Aggregates the input, keeping at most about `hash_mem` bytes of groups: once the groups
    /// fill it, rows of groups not yet in the table go to `overflow` (as rows of the input's
    /// columns, with their keys) for the row executor to aggregate later. Gives back each
    /// group's row (its keys, then its aggregates) and the bytes counted for them against the
    /// statement's memory, which the caller releases once the rows are consumed.
    pub(crate) fn run(
        &mut self,
        ctx: &mut ExecContext<'_>,
        hash_mem: usize,
        overflow: &mut crate::exec::Overflow<'_>,
    ) -> Result<(Vec<Row>, usize)> {
        let mut table = Table::new(self.keys.len(), self.calls.clone());
        let reserve = crate::exec::partition_buffers(hash_mem);
        let mut held = 0usize;
        let mut full = false;
        while let Some(mut batch) = self.input.next(ctx)? {
            let (columns, before) = table.assign(&self.keys, &batch, !full)?;
            if full {
                spill_missing(&mut batch, &columns, &mut table.groups, overflow, ctx)?;
            }
            let bytes = table.grow_from(before);
            if bytes > 0 {
                if crate::exec::charge_leaving_room(&mut ctx.memory, bytes, reserve, "a hash aggregate", before == 0)? {
                    held += bytes;
                } else {
                    // The statement's limit came first: the groups made so far stay (uncounted
                    // for this batch's), and rows of new ones go to disk from now on.
                    full = true;
                }
                full |= held > hash_mem;
            }
            table.update(&batch)?;
        }
        Ok((table.finish()?, held))
    }

    /// Aggregates the input on the statement's thread and `workers` more, each scanning its
    /// share of the table's pages (and probing the input's hash join, if it has one) into a
    /// table of its own (see `super::parallel`); the tables are then merged. `None` if the
    /// input is not a scan (or a join probed by a scan) the workers can share, or if a
    /// worker's table outgrew its share of `hash_mem` (the caller then aggregates serially,
    /// spilling as it must: the input has not been read).
    pub(crate) fn run_parallel(
        &mut self,
        ctx: &mut ExecContext<'_>,
        hash_mem: usize,
        workers: usize,
    ) -> Result<Option<(Vec<Row>, usize)>> {
        if !self.input.prepare_parallel(ctx)? {
            return Ok(None);
        }
        let Some(plan) = self.input.parallel_plan() else { return Ok(None) };
        let keys = &self.keys;
        let template = &self.calls;
        let outcome = super::parallel::run(ctx, &plan, workers, |shares| {
            let limit = hash_mem / shares;
            move |next: &mut dyn FnMut() -> Result<Option<ColumnBatch>>, stop: &std::sync::atomic::AtomicBool| {
                // A worker gives up (and the others with it) when its table outgrows its share.
                let mut table = Table::new(keys.len(), template.clone());
                let mut held = 0usize;
                while let Some(batch) = next()? {
                    let (_, before) = table.assign(keys, &batch, true)?;
                    held += table.grow_from(before);
                    if held > limit {
                        return Ok(None);
                    }
                    table.update(&batch)?;
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(None);
                    }
                }
                Ok(Some((table, held)))
            }
        })?;
        let Some(tables) = outcome else { return Ok(None) };
        let mut tables = tables.into_iter();
        let Some((mut merged, _)) = tables.next() else { return Ok(None) };
        for (table, _) in tables {
            merged.merge(table)?;
        }
        let held = merged.bytes();
        if ctx.memory.charge(held, "a hash aggregate").is_err() {
            // The merged groups do not fit what the statement may hold: the serial pass,
            // which spills, runs instead (its input is still unread, its join still built).
            return Ok(None);
        }
        // The input's join (if any) is done with: its build side is let go of.
        self.input.release(ctx);
        Ok(Some((merged.finish()?, held)))
    }
}

/// One table of groups: their keys, numbers and per-call states.
struct Table {
    grouping: Grouping,
    key_rows: Vec<Row>,
    calls: Vec<Call>,
    /// The group of each row of the last batch assigned.
    groups: Vec<u32>,
    /// What a group costs besides its key row: its map entry and a state per call.
    per_group: usize,
}

impl Table {
    /// An empty table for `keys` group keys (with its one group if there are none).
    fn new(keys: usize, mut calls: Vec<Call>) -> Self {
        let grouping = match keys {
            0 => Grouping::Single,
            1 => Grouping::One { map: KeyMap::default(), null: None },
            _ => Grouping::Many(KeyMap::default()),
        };
        let mut key_rows: Vec<Row> = Vec::new();
        if keys == 0 {
            key_rows.push(Vec::new());
            calls.iter_mut().for_each(|c| c.states.grow(1));
        }
        let per_group = 16 + 8 * (keys + 1) + 24 * calls.len();
        Table { grouping, key_rows, calls, groups: Vec::new(), per_group }
    }

    /// Gives each row of `batch` its group (in `groups`), making new groups if `admit` (else
    /// rows of groups not in the table get [`NO_GROUP`]). Returns the rows' key columns and the
    /// number of groups before the batch.
    fn assign(&mut self, keys: &[VExpr], batch: &ColumnBatch, admit: bool) -> Result<(Vec<Column>, usize)> {
        let rows = batch.selection.as_deref();
        let columns = keys.iter().map(|k| k.eval(batch, rows)).collect::<Result<Vec<_>>>()?;
        let before = self.key_rows.len();
        // Groups are numbered in u32 (the memory limit normally comes first).
        if before + batch.rows() >= u32::MAX as usize {
            return Err(super::join::too_many("a hash aggregate"));
        }
        self.groups.clear();
        assign(&mut self.grouping, &columns, batch.rows(), &mut self.groups, &mut self.key_rows, admit);
        Ok((columns, before))
    }

    /// Makes room in the states for the groups made since there were `before`; returns what
    /// they cost.
    fn grow_from(&mut self, before: usize) -> usize {
        if self.key_rows.len() == before {
            return 0;
        }
        let len = self.key_rows.len();
        self.calls.iter_mut().for_each(|c| c.states.grow(len));
        self.key_rows[before..].iter().map(|r| crate::context::row_bytes(r) + self.per_group).sum()
    }

    /// Adds the rows of `batch` (whose groups [`Table::assign`] gave) into the states.
    fn update(&mut self, batch: &ColumnBatch) -> Result<()> {
        for call in &mut self.calls {
            call.update(batch, &self.groups)?;
        }
        Ok(())
    }

    /// What the table's groups cost.
    fn bytes(&self) -> usize {
        self.key_rows.iter().map(|r| crate::context::row_bytes(r) + self.per_group).sum()
    }

    /// Adds the groups of `other` (a table of the same aggregate) into this one.
    fn merge(&mut self, other: Table) -> Result<()> {
        for (g, key) in other.key_rows.iter().enumerate() {
            let before = self.key_rows.len();
            let target = self.find_or_make(key);
            self.grow_from(before);
            for (mine, theirs) in self.calls.iter_mut().zip(&other.calls) {
                mine.combine(target as usize, &theirs.states, g)?;
            }
        }
        Ok(())
    }

    /// The number of the group with keys `key`, made if there is none.
    fn find_or_make(&mut self, key: &[Value]) -> u32 {
        let word = |v: &Value| match v {
            Value::Bool(b) => i64::from(*b),
            other => other.as_i64().unwrap_or(0),
        };
        let next = self.key_rows.len() as u32;
        let (g, made) = match &mut self.grouping {
            Grouping::Single => (0, false),
            Grouping::One { null, .. } if key[0].is_null() => match null {
                Some(g) => (*g, false),
                None => (*null.insert(next), true),
            },
            Grouping::One { map, .. } => match map.entry(word(&key[0])) {
                std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
                std::collections::hash_map::Entry::Vacant(e) => (*e.insert(next), true),
            },
            Grouping::Many(map) => {
                let mut words = vec![0i64; key.len() + 1];
                for (k, v) in key.iter().enumerate() {
                    if v.is_null() {
                        words[0] |= 1 << k;
                    } else {
                        words[k + 1] = word(v);
                    }
                }
                match map.get(words.as_slice()) {
                    Some(g) => (*g, false),
                    None => {
                        map.insert(words.into_boxed_slice(), next);
                        (next, true)
                    }
                }
            }
        };
        if made {
            self.key_rows.push(key.to_vec());
        }
        g
    }

    /// Each group's row: its keys, then its aggregates.
    fn finish(self) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(self.key_rows.len());
        for (g, mut row) in self.key_rows.into_iter().enumerate() {
            for call in &self.calls {
                row.push(call.finish(g)?);
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// The group number [`assign`] gives a row whose group is not in the table (and may not be made).
const NO_GROUP: u32 = u32::MAX;

/// Sends the rows of `batch` whose group is not in the table ([`NO_GROUP`] in `groups`) to
/// `overflow`, and takes them out of the batch and of `groups`. `columns` are the rows' keys.
fn spill_missing(
    batch: &mut super::batch::ColumnBatch,
    columns: &[Column],
    groups: &mut Vec<u32>,
    overflow: &mut crate::exec::Overflow<'_>,
    ctx: &mut ExecContext<'_>,
) -> Result<()> {
    if !groups.contains(&NO_GROUP) {
        return Ok(());
    }
    let physical = |i: usize| batch.selection.as_ref().map_or(i, |s| s[i] as usize);
    let mut kept = Vec::with_capacity(groups.len());
    for (i, &g) in groups.iter().enumerate() {
        if g != NO_GROUP {
            kept.push(physical(i) as u32);
            continue;
        }
        let key: Row = columns.iter().map(|c| c.value(i)).collect();
        let at = physical(i);
        overflow.write(ctx, &key, &batch.row(at))?;
    }
    groups.retain(|&g| g != NO_GROUP);
    batch.selection = Some(kept);
    Ok(())
}

/// Appends to `groups` the group number of each of the `len` rows whose keys are `columns`,
/// numbering new groups as they appear (and appending their keys to `key_rows`) if `admit`,
/// else giving rows of groups not in the table [`NO_GROUP`].
fn assign(
    grouping: &mut Grouping,
    columns: &[Column],
    len: usize,
    groups: &mut Vec<u32>,
    key_rows: &mut Vec<Row>,
    admit: bool,
) {
    let word = |c: &Column, i: usize| match &c.data {
        Data::Int(v) => v[i],
        Data::Bool(v) => i64::from(v[i]),
        Data::Float(v) => v[i].to_bits() as i64,
    };
    match grouping {
        Grouping::Single => groups.resize(len, 0),
        Grouping::One { map, null } => {
            let c = &columns[0];
            for i in 0..len {
                let g = if !admit {
                    if c.is_null(i) {
                        null.unwrap_or(NO_GROUP)
                    } else {
                        map.get(&word(c, i)).copied().unwrap_or(NO_GROUP)
                    }
                } else if c.is_null(i) {
                    *null.get_or_insert_with(|| {
                        key_rows.push(vec![Value::Null]);
                        (key_rows.len() - 1) as u32
                    })
                } else {
                    *map.entry(word(c, i)).or_insert_with(|| {
                        key_rows.push(vec![c.value(i)]);
                        (key_rows.len() - 1) as u32
                    })
                };
                groups.push(g);
            }
        }
        Grouping::Many(map) => {
            let mut key = vec![0i64; columns.len() + 1];
            for i in 0..len {
                let mut nulls = 0i64;
                for (k, c) in columns.iter().enumerate() {
                    if c.is_null(i) {
                        nulls |= 1 << k;
                        key[k + 1] = 0;
                    } else {
                        key[k + 1] = word(c, i);
                    }
                }
                key[0] = nulls;
                let g = match map.get(key.as_slice()) {
                    Some(g) => *g,
                    None if !admit => NO_GROUP,
                    None => {
                        let g = key_rows.len() as u32;
                        key_rows.push(columns.iter().map(|c| c.value(i)).collect());
                        map.insert(key.clone().into_boxed_slice(), g);
                        g
                    }
                };
                groups.push(g);
            }
        }
    }
}

/// Groups up to this many get [`add_floats`]'s plain pass (it saves their sums first).
const PLAIN_SUM_GROUPS: usize = 4096;

/// Adds `v[i]` into `sums[groups[i]]` for each row `i` not NULL, in row order, with
/// PostgreSQL's overflow check (a sum of finite values that comes out infinite is 22003).
///
/// The check costs more than the addition, so the additions run plainly first; only if some
/// sum that was finite ends up not finite is the batch redone value by value from the saved
/// sums, which finds the error exactly: once a sum is infinite or NaN it stays so, so a batch
/// after which every sum that was finite still is met no overflow.
fn add_floats(sums: &mut [f64], seen: &mut [bool], v: &[f64], groups: &[u32], nulls: Option<&[bool]>) -> Result<()> {
    let take = |i: usize| nulls.is_none_or(|n| !n[i]);
    if sums.len() <= PLAIN_SUM_GROUPS {
        let saved = sums.to_vec();
        match nulls {
            None if sums.len() == 1 => {
                let mut total = sums[0];
                for x in &v[..groups.len()] {
                    total += x;
                }
                sums[0] = total;
                seen[0] |= !groups.is_empty();
            }
            _ => {
                for (i, g) in groups.iter().enumerate() {
                    if take(i) {
                        sums[*g as usize] += v[i];
                        seen[*g as usize] = true;
                    }
                }
            }
        }
        // Only a sum that was finite can have overflowed (one already infinite or NaN, from
        // such an input, stays so without an error).
        if !sums.iter().zip(&saved).any(|(now, before)| before.is_finite() && !now.is_finite()) {
            return Ok(());
        }
        sums.copy_from_slice(&saved);
    }
    for (i, g) in groups.iter().enumerate() {
        if take(i) {
            let g = *g as usize;
            sums[g] = float_sum(sums[g], v[i], false)?;
            seen[g] = true;
        }
    }
    Ok(())
}
