//! Hash joins over column batches.
//!
//! The right input (the build side, as in the row executor) is read whole into columns, and
//! its rows are chained by key: a hash table from the unboxed key to the first and last row
//! with it, and a `next` array linking rows with the same key in input order. Left batches
//! then stream through: their key columns are evaluated once per batch, each row finds its
//! chain, and the output is built column by column by gathering the left rows and the build
//! rows the pairs name. Pairs come out in the row executor's order (left rows in order, each
//! with its partners in build order); a left join pads an unpaired left row with NULLs.
//!
//! **Spilling**: past `work_mem` × `hash_mem_multiplier` of build rows, the join spills as the
//! row executor's does (see `exec::join`): the build rows held and to come, then the probe
//! rows, go as rows to hash partitions of one split, and the row executor joins the pairs; its
//! rows come back up as column batches.
//!
//! Taken: inner joins (any further condition becomes a filter over the joined rows) and left
//! joins without one, on equality keys that are integers or booleans on both sides. A NULL
//! key matches nothing.

use super::batch::ColumnBatch;
use super::column::{Column, Data, Kind, NO_ROW};
use super::expr::VExpr;
use super::{Pipeline, Stage, mark};
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::rel::{JoinKind, Rel};
use rustydb_foundation::Result;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Pairs a join hands up at a time, at most (whole left rows, so a little more).
const TARGET_PAIRS: usize = 2048;

type KeyMap<K> = HashMap<K, (u32, u32), BuildHasherDefault<super::aggregate::KeyHasher>>;

#[derive(Debug)]
enum Table {
    One(KeyMap<i64>),
    Many(KeyMap<Box<[i64]>>),
}

/// A left batch being probed.
#[derive(Debug)]
pub struct Pending {
    batch: ColumnBatch,
    keys: Vec<Column>,
    /// The next row (of the batch's rows in play) to probe.
    next: usize,
    /// The next build row of that row's chain, if it is part-way through it.
    chain: u32,
}

impl Pending {
    /// True once every row of the batch is joined.
    pub fn is_done(&self) -> bool {
        self.next >= self.batch.rows()
    }
}

/// 54000 for more rows than a u32 numbers (the memory limit normally comes first).
pub(super) fn too_many(what: &str) -> rustydb_foundation::DbError {
    rustydb_foundation::DbError::sql(
        rustydb_foundation::SqlState::ProgramLimitExceeded,
        format!("{what} has more than {} rows", NO_ROW - 1),
    )
}

/// A vectorized hash join.
pub struct HashJoin<'p> {
    kind: JoinKind,
    probe: Pipeline<'p>,
    build: Option<Pipeline<'p>>,
    left_keys: Vec<VExpr>,
    right_keys: Vec<VExpr>,
    left_reads: Vec<bool>,
    right_reads: Vec<bool>,
    /// The build side's columns the join reads: those read above, and those its keys read.
    build_reads: Vec<bool>,
    equi: &'p [(Expr, Expr)],
    condition: Option<&'p Expr>,
    /// Once spilled: the row executor's join of the partition pairs.
    spilled: Option<Box<dyn crate::exec::Operator + 'p>>,
    /// The build side's output types.
    right_types: Vec<Option<rustydb_foundation::DataType>>,
    /// The build side's columns (those read above), all its rows.
    columns: Vec<Option<Column>>,
    table: Table,
    next: Vec<u32>,
    pending: Option<Pending>,
    done: bool,
    /// Bytes counted against the statement's memory for the build side, given back at the end.
    held: usize,
}

/// What probing needs of a loaded join, borrowed read-only: every thread of a parallel scan
/// probes through one (see `super::parallel`).
#[derive(Debug, Clone, Copy)]
pub struct Probe<'j> {
    kind: JoinKind,
    left_keys: &'j [VExpr],
    left_reads: &'j [bool],
    right_reads: &'j [bool],
    right_types: &'j [Option<rustydb_foundation::DataType>],
    columns: &'j [Option<Column>],
    table: &'j Table,
    next: &'j [u32],
}

impl Probe<'_> {
    /// A probe batch, its keys evaluated, ready for [`Probe::pairs`].
    pub fn start(&self, batch: ColumnBatch) -> Result<Pending> {
        let keys =
            self.left_keys.iter().map(|k| k.eval(&batch, batch.selection.as_deref())).collect::<Result<Vec<_>>>()?;
        Ok(Pending { batch, keys, next: 0, chain: NO_ROW })
    }

    /// The next joined rows of `pending` (about [`TARGET_PAIRS`] pairs, possibly none), in the
    /// row executor's order.
    pub fn pairs(&self, pending: &mut Pending, scratch: &mut Vec<i64>) -> Result<ColumnBatch> {
        let rows = pending.batch.rows();
        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
        while pending.next < rows && lefts.len() < TARGET_PAIRS {
            let k = pending.next;
            let physical = pending.batch.selection.as_ref().map_or(k as u32, |s| s[k]);
            let fresh = pending.chain == NO_ROW;
            let mut at = if fresh { self.first(&pending.keys, k, scratch) } else { pending.chain };
            if fresh && at == NO_ROW && self.kind == JoinKind::Left {
                lefts.push(physical);
                rights.push(NO_ROW);
            }
            while at != NO_ROW && lefts.len() < TARGET_PAIRS {
                lefts.push(physical);
                rights.push(at);
                at = self.next[at as usize];
            }
            pending.chain = at;
            if at == NO_ROW {
                pending.next += 1;
            }
        }
        self.joined(&pending.batch, &lefts, &rights)
    }

    /// The first build row with the keys of the pending batch's row `k`.
    fn first(&self, keys: &[Column], k: usize, scratch: &mut Vec<i64>) -> u32 {
        if keys.iter().any(|c| c.is_null(k)) {
            return NO_ROW;
        }
        let found = match &self.table {
            Table::One(map) => map.get(&word(&keys[0], k)),
            Table::Many(map) => {
                scratch.clear();
                scratch.extend(keys.iter().map(|c| word(c, k)));
                map.get(scratch.as_slice())
            }
        };
        found.map_or(NO_ROW, |chain| chain.0)
    }

    /// The joined rows for the pairs (`lefts[i]`, `rights[i]`).
    fn joined(&self, left: &ColumnBatch, lefts: &[u32], rights: &[u32]) -> Result<ColumnBatch> {
        let mut columns = Vec::with_capacity(self.left_reads.len() + self.right_reads.len());
        for (i, r) in self.left_reads.iter().enumerate() {
            columns.push(if *r { Some(left.column(i)?.gather(lefts)) } else { None });
        }
        for (i, r) in self.right_reads.iter().enumerate() {
            columns.push(match (&self.columns[i], r) {
                (Some(c), true) => Some(c.gather_or_null(rights)),
                // A build side with no rows: every read right column is NULL.
                (None, true) => {
                    let ty = self.right_types.get(i).copied().flatten().ok_or_else(|| {
                        rustydb_foundation::DbError::Internal(format!("join column {i} read but not built"))
                    })?;
                    let mut c = Column::with_capacity(ty, rights.len());
                    for _ in rights {
                        c.push_null();
                    }
                    Some(c)
                }
                _ => None,
            });
        }
        Ok(ColumnBatch { len: lefts.len(), columns, selection: None })
    }
}

impl std::fmt::Debug for HashJoin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashJoin")
            .field("kind", &self.kind)
            .field("probe", &self.probe)
            .field("spilled", &self.spilled.is_some())
            .finish_non_exhaustive()
    }
}

/// Writes the rows in play of `batch` (cut or padded to `width` columns) to `partitions` by
/// their `keys`, those with a NULL key only if `keep_null`.
fn write_rows(
    batch: &ColumnBatch,
    keys: &[VExpr],
    width: usize,
    keep_null: bool,
    partitions: &mut crate::exec::Partitions,
) -> Result<()> {
    let selection = batch.selection.as_deref();
    let keys = keys.iter().map(|k| k.eval(batch, selection)).collect::<Result<Vec<_>>>()?;
    for i in 0..batch.rows() {
        let key: Vec<rustydb_foundation::Value> = keys.iter().map(|c| c.value(i)).collect();
        if !keep_null && key.iter().any(rustydb_foundation::Value::is_null) {
            continue;
        }
        let mut row = batch.row(selection.map_or(i, |s| s[i] as usize));
        row.resize(width, rustydb_foundation::Value::Null);
        partitions.write_row(&key, &row)?;
    }
    Ok(())
}

/// Which kind a key is hashed as, if it can be.
fn key_kind(e: &VExpr) -> Option<Kind> {
    Kind::of(e.ty()).filter(|k| matches!(k, Kind::Int | Kind::Bool))
}

/// A key column's value at `i` as a word (the caller checks NULL).
fn word(c: &Column, i: usize) -> i64 {
    match &c.data {
        Data::Int(v) => v[i],
        Data::Bool(v) => i64::from(v[i]),
        Data::Float(v) => v[i].to_bits() as i64,
    }
}

impl<'p> HashJoin<'p> {
    /// The vectorized join of `left` and `right`, and the filter to apply after it, if the
    /// join is one this module takes.
    pub(super) fn build(
        kind: JoinKind,
        (left, right): (&'p Rel, &'p Rel),
        equi: &'p [(Expr, Expr)],
        condition: Option<&'p Expr>,
        reads: &[bool],
    ) -> Option<(HashJoin<'p>, Option<Stage>)> {
        if equi.is_empty() || !matches!(kind, JoinKind::Inner | JoinKind::Left) {
            return None;
        }
        if kind == JoinKind::Left && condition.is_some() {
            return None;
        }
        let (left_width, right_width) = (left.output().len(), right.output().len());
        let mut left_keys = Vec::with_capacity(equi.len());
        let mut right_keys = Vec::with_capacity(equi.len());
        let mut left_reads = vec![false; left_width];
        let mut right_reads = vec![false; right_width];
        for (i, r) in reads.iter().enumerate() {
            if *r {
                match i.checked_sub(left_width) {
                    None => left_reads[i] = true,
                    Some(j) => *right_reads.get_mut(j)? = true,
                }
            }
        }
        // The left and right columns the probe and the build read for the keys.
        let (mut probe_reads, mut build_reads) = (left_reads.clone(), right_reads.clone());
        for (l, r) in equi {
            let (l, r) = (VExpr::compile(l)?, VExpr::compile(r)?);
            (key_kind(&l)? == key_kind(&r)?).then_some(())?;
            mark(&l, &mut probe_reads).then_some(())?;
            mark(&r, &mut build_reads).then_some(())?;
            left_keys.push(l);
            right_keys.push(r);
        }
        let filter = match condition {
            None => None,
            Some(c) => {
                let c = VExpr::compile(c)?;
                let mut joined = vec![false; left_width + right_width];
                mark(&c, &mut joined).then_some(())?;
                for (i, r) in joined.iter().enumerate() {
                    if *r {
                        match i.checked_sub(left_width) {
                            None => {
                                left_reads[i] = true;
                                probe_reads[i] = true;
                            }
                            Some(j) => {
                                right_reads[j] = true;
                                build_reads[j] = true;
                            }
                        }
                    }
                }
                Some(Stage::Filter(c))
            }
        };
        let probe = Pipeline::reading(left, &probe_reads)?;
        let build = Pipeline::reading(right, &build_reads)?;
        let mut right_types = build.output_types();
        right_types.resize(right_width, None);
        let table = if equi.len() == 1 { Table::One(KeyMap::default()) } else { Table::Many(KeyMap::default()) };
        Some((
            HashJoin {
                kind,
                probe,
                build: Some(build),
                left_keys,
                right_keys,
                left_reads,
                right_reads,
                build_reads,
                equi,
                condition,
                spilled: None,
                right_types,
                columns: Vec::new(),
                table,
                next: Vec::new(),
                pending: None,
                done: false,
                held: 0,
            },
            filter,
        ))
    }

    /// Reads the build side whole and chains its rows by key; past the join's memory, spills
    /// it and the probe side instead (see the module documentation).
    fn load(&mut self, ctx: &mut ExecContext<'_>, mut build: Pipeline<'p>) -> Result<()> {
        self.columns = vec![None; self.build_reads.len()];
        let hash_mem = ctx.hash_mem();
        let reserve = crate::exec::partition_buffers(hash_mem);
        let mut held = 0usize;
        let mut rows = 0u32;
        let mut key = vec![0i64; self.right_keys.len()];
        while let Some(batch) = build.next(ctx)? {
            let selection = batch.selection.as_deref();
            let n = batch.rows();
            let bytes = n * (32 + 9 * self.build_reads.iter().filter(|r| **r).count());
            if rows > 0 && held + bytes > hash_mem {
                return self.spill(ctx, batch, build, held);
            }
            if !crate::exec::charge_leaving_room(&mut ctx.memory, bytes, reserve, "a join's inner side", rows == 0)? {
                return self.spill(ctx, batch, build, held);
            }
            held += bytes;
            let keys = self.right_keys.iter().map(|k| k.eval(&batch, selection)).collect::<Result<Vec<_>>>()?;
            for (i, slot) in self.columns.iter_mut().enumerate() {
                if !self.build_reads[i] {
                    continue;
                }
                let part = batch.column(i)?;
                let part = match selection {
                    None => part.clone(),
                    Some(s) => part.gather(s),
                };
                match slot {
                    None => *slot = Some(part),
                    Some(c) => c.append(&part),
                }
            }
            // Build rows are numbered in u32, NO_ROW excepted.
            if rows as usize + n >= NO_ROW as usize {
                return Err(too_many("a join's inner side"));
            }
            for k in 0..n {
                let row = rows + k as u32;
                self.next.push(NO_ROW);
                if keys.iter().any(|c| c.is_null(k)) {
                    continue;
                }
                let chain = match &mut self.table {
                    Table::One(map) => map.entry(word(&keys[0], k)).or_insert((row, NO_ROW)),
                    Table::Many(map) => {
                        for (slot, c) in key.iter_mut().zip(&keys) {
                            *slot = word(c, k);
                        }
                        if !map.contains_key(key.as_slice()) {
                            map.insert(key.clone().into_boxed_slice(), (row, NO_ROW));
                        }
                        map.get_mut(key.as_slice()).expect("just inserted")
                    }
                };
                if chain.1 != NO_ROW {
                    self.next[chain.1 as usize] = row;
                }
                chain.1 = row;
            }
            rows += n as u32;
        }
        self.held = held;
        Ok(())
    }

    /// Spills the build rows held, `batch` and the rest of `build`, then every probe row, to
    /// hash partitions of one split, and hands their pairs to the row executor's join.
    /// `held_bytes` is what the rows held count against the statement's memory.
    fn spill(
        &mut self,
        ctx: &mut ExecContext<'_>,
        batch: ColumnBatch,
        mut build: Pipeline<'p>,
        held_bytes: usize,
    ) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let (left_width, right_width) = (self.left_reads.len(), self.right_reads.len());
        let mut spill = None;
        let mut builds = crate::exec::Partitions::new(ctx, &mut spill, 0, hash_mem)?;
        // The rows held, as a batch of their columns.
        let len = self.next.len();
        let held = ColumnBatch { len, columns: std::mem::take(&mut self.columns), selection: None };
        self.table = match self.table {
            Table::One(_) => Table::One(KeyMap::default()),
            Table::Many(_) => Table::Many(KeyMap::default()),
        };
        self.next = Vec::new();
        let mut batch = Some(batch);
        let mut from = Some(held).filter(|h| h.len > 0);
        loop {
            let Some(b) = from.take().or_else(|| batch.take()) else {
                match build.next(ctx)? {
                    Some(b) => {
                        from = Some(b);
                        continue;
                    }
                    None => break,
                }
            };
            // Build rows with a NULL key match nothing, and this join pads no build row.
            write_rows(&b, &self.right_keys, right_width, false, &mut builds)?;
        }
        ctx.memory.release(held_bytes);
        let builds = builds.finish_all(ctx)?;
        let mut probes = crate::exec::Partitions::new(ctx, &mut spill, 0, hash_mem)?;
        let pad_left = self.kind == JoinKind::Left;
        while let Some(b) = self.probe.next(ctx)? {
            write_rows(&b, &self.left_keys, left_width, pad_left, &mut probes)?;
        }
        let pairs = probes.finish_all(ctx)?.into_iter().zip(builds).collect();
        self.spilled = Some(crate::exec::join_partitions(
            self.kind,
            self.equi,
            self.condition,
            (left_width, right_width),
            pairs,
            spill,
        ));
        Ok(())
    }

    /// Ends the join: its build side is let go of, and its memory given back.
    pub fn release(&mut self, ctx: &mut ExecContext<'_>) {
        self.done = true;
        self.columns = Vec::new();
        self.next = Vec::new();
        self.table = match self.table {
            Table::One(_) => Table::One(KeyMap::default()),
            Table::Many(_) => Table::Many(KeyMap::default()),
        };
        ctx.memory.release(std::mem::take(&mut self.held));
    }

    /// The loaded join, to probe through.
    fn view(&self) -> Probe<'_> {
        Probe {
            kind: self.kind,
            left_keys: &self.left_keys,
            left_reads: &self.left_reads,
            right_reads: &self.right_reads,
            right_types: &self.right_types,
            columns: &self.columns,
            table: &self.table,
            next: &self.next,
        }
    }

    /// Loads the build side if it is not yet; true if the join can then be probed by worker
    /// threads (it did not spill, and nothing of it has been output).
    pub fn prepare_parallel(&mut self, ctx: &mut ExecContext<'_>) -> Result<bool> {
        if let Some(build) = self.build.take() {
            self.load(ctx, build)?;
        }
        Ok(self.spilled.is_none() && self.pending.is_none() && !self.done)
    }

    /// The join to probe through and its probe side's scan and stages, if that side is a scan
    /// worker threads can share (after [`HashJoin::prepare_parallel`]).
    pub fn parallel_parts(&self) -> Option<(Probe<'_>, &super::scan::ColumnScan<'p>, &[Stage])> {
        let (scan, stages) = self.probe.scan_and_stages()?;
        Some((self.view(), scan, stages))
    }

    /// The type of each joined column the batches hold (`None` for those left out).
    pub fn output_types(&self) -> Vec<Option<rustydb_foundation::DataType>> {
        let mut types = self.probe.output_types();
        types.resize(self.left_reads.len(), None);
        types.iter_mut().zip(&self.left_reads).for_each(|(t, r)| *t = t.filter(|_| *r));
        types.extend(self.right_types.iter().zip(&self.right_reads).map(|(t, r)| t.filter(|_| *r)));
        types
    }

    /// The next joined batch, or `None` at the end.
    pub fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<ColumnBatch>> {
        if let Some(build) = self.build.take() {
            self.load(ctx, build)?;
        }
        if let Some(spilled) = &mut self.spilled {
            let Some(rows) = spilled.next(ctx)? else { return Ok(None) };
            return Ok(Some(ColumnBatch::from_rows(&rows, &self.output_types())));
        }
        let mut scratch = Vec::new();
        loop {
            if self.done {
                return Ok(None);
            }
            let mut pending = match self.pending.take() {
                Some(p) => p,
                None => match self.probe.next(ctx)? {
                    None => {
                        self.release(ctx);
                        return Ok(None);
                    }
                    Some(batch) => self.view().start(batch)?,
                },
            };
            let batch = self.view().pairs(&mut pending, &mut scratch)?;
            if !pending.is_done() {
                self.pending = Some(pending);
            }
            if batch.len > 0 {
                return Ok(Some(batch));
            }
        }
    }
}
