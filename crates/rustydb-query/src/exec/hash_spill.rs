//! Hash partitions on disk, for hash tables that outgrow their memory (PostgreSQL's "hybrid
//! hash" spilling, as its hash aggregate has done since version 13).
//!
//! An operator whose table is full keeps the groups (or keys) it holds and sends every row
//! whose key is not among them to one of a few partitions, chosen by a hash of the key. Rows
//! with equal keys always meet in the same partition, so once the table's own groups are done,
//! each partition is a smaller input of the same problem, worked through with the memory the
//! table gave back. A partition that again overflows is split the same way with a hash seeded
//! by its depth, so that its keys spread over new partitions instead of landing together again.
//!
//! An aggregate's row goes to disk with its evaluated key (see [`write_pair`]), so a volatile
//! group key is evaluated once per row. Joins and set operations send rows alone
//! ([`Partitions::write_row`]) and evaluate their keys again when they read them back.
//!
//! Every partition is a run of the operator's one [`Spill`] file, sealed as every spilled block
//! is.

use super::key::hash_row;
use super::spill::{BLOCK_BYTES, Spill, SpillReader, SpillWriter, read_pair, write_pair};
use super::{BATCH_ROWS, Batch, Operator, Row};
use crate::context::ExecContext;
use rustydb_foundation::{Result, Value};
use std::hash::{Hash, Hasher};

/// Partitions at each split, at least.
const MIN_PARTITIONS: usize = 4;
/// Partitions at each split, at most.
const MAX_PARTITIONS: usize = 64;

/// How many partitions a split of a table allowed `hash_mem` bytes makes: each partition holds
/// a block in memory while it is written, and together they take at most a quarter of it (as
/// PostgreSQL's `hash_choose_num_partitions` bounds them).
fn partition_count(hash_mem: usize) -> usize {
    (hash_mem / 4 / BLOCK_BYTES).clamp(MIN_PARTITIONS, MAX_PARTITIONS)
}

/// The memory a split's partitions take while they are written: a table keeps this much of the
/// statement's memory free, so that it can always spill.
pub(crate) fn partition_buffers(hash_mem: usize) -> usize {
    partition_count(hash_mem) * BLOCK_BYTES
}

/// Counts `bytes` more of a hash table against the statement's memory, with `room` more kept
/// free (the partitions a spill needs, see [`partition_buffers`]): `Ok(true)` if counted;
/// `Ok(false)` if the statement's limit comes first and the table can spill instead; the 53200
/// itself if it cannot (`must`: a table still empty, which spilling would not shrink).
pub(crate) fn charge_leaving_room(
    memory: &mut rustydb_storage::arena::MemoryBudget,
    bytes: usize,
    room: usize,
    what: &str,
    must: bool,
) -> Result<bool> {
    match memory.charge(bytes + room, what) {
        Ok(()) => {
            memory.release(room);
            Ok(true)
        }
        Err(e) if must => Err(e),
        Err(_) => Ok(false),
    }
}

/// The partition of `key` among `count`, at split depth `depth`.
pub(crate) fn partition_of(key: &[Value], depth: u32, count: usize) -> usize {
    let mut h = std::hash::DefaultHasher::new();
    depth.hash(&mut h);
    hash_row(key, &mut h);
    (h.finish() % count as u64) as usize
}

/// Rows sent to disk by one split, partitioned by their keys.
pub(crate) struct Partitions {
    depth: u32,
    writers: Vec<SpillWriter>,
    /// Memory counted for the writers' blocks.
    buffers: usize,
}

impl Partitions {
    /// A split at depth `depth` (0 for the operator's input, 1 for a partition of it, ...) of a
    /// table allowed `hash_mem` bytes, writing to the operator's spill file in `spill`.
    pub(crate) fn new(
        ctx: &mut ExecContext<'_>,
        spill: &mut Option<Spill>,
        depth: u32,
        hash_mem: usize,
    ) -> Result<Self> {
        let spill = Spill::get_or_create(spill, ctx)?;
        let count = partition_count(hash_mem);
        let buffers = partition_buffers(hash_mem);
        ctx.memory.charge(buffers, "a hash table's partitions on disk")?;
        Ok(Partitions { depth, writers: (0..count).map(|_| spill.create()).collect(), buffers })
    }

    /// Sends a row, with its key, to the key's partition.
    pub(crate) fn write(&mut self, key: &[Value], row: &[Value]) -> Result<()> {
        let p = partition_of(key, self.depth, self.writers.len());
        write_pair(&mut self.writers[p], key, row)
    }

    /// Sends a row to its key's partition without the key (for a reader that evaluates it
    /// again).
    pub(crate) fn write_row(&mut self, key: &[Value], row: &[Value]) -> Result<()> {
        let p = partition_of(key, self.depth, self.writers.len());
        write_pair(&mut self.writers[p], &[], row)
    }

    /// Every partition, in order, those without rows too (so that two splits of the same
    /// depth and size pair up).
    pub(crate) fn finish_all(self, ctx: &mut ExecContext<'_>) -> Result<Vec<Partition>> {
        ctx.memory.release(self.buffers);
        let depth = self.depth + 1;
        self.writers.into_iter().map(|w| Ok(Partition { reader: w.finish()?, depth })).collect()
    }

    /// The partitions that got rows, each to be read back, with the depth to split them at.
    pub(crate) fn finish(self, ctx: &mut ExecContext<'_>) -> Result<Vec<Partition>> {
        ctx.memory.release(self.buffers);
        let depth = self.depth + 1;
        let mut out = Vec::new();
        for writer in self.writers {
            if writer.records() > 0 {
                out.push(Partition { reader: writer.finish()?, depth });
            }
        }
        Ok(out)
    }
}

/// One partition's rows, read back in the order they were written.
pub(crate) struct Partition {
    reader: SpillReader,
    /// The depth a split of this partition is at.
    pub(crate) depth: u32,
}

impl Partition {
    /// True if the partition holds no row.
    pub(crate) fn is_empty(&self) -> bool {
        self.reader.remaining() == 0
    }

    /// The next (key, row) pair, or `None` after the last.
    pub(crate) fn next(&mut self) -> Result<Option<(Row, Row)>> {
        self.reader.next()?.map(read_pair).transpose()
    }
}

/// A table's way to disk at one depth: its [`Partitions`], made when the first row is sent.
pub(crate) struct Overflow<'s> {
    spill: &'s mut Option<Spill>,
    depth: u32,
    hash_mem: usize,
    partitions: Option<Partitions>,
}

impl<'s> Overflow<'s> {
    /// Rows a table at depth `depth`, allowed `hash_mem` bytes, has no room for, written to the
    /// operator's spill file in `spill` (made when needed).
    pub(crate) fn new(spill: &'s mut Option<Spill>, depth: u32, hash_mem: usize) -> Self {
        Overflow { spill, depth, hash_mem, partitions: None }
    }

    /// Sends a row, with its key, to disk.
    pub(crate) fn write(&mut self, ctx: &mut ExecContext<'_>, key: &[Value], row: &[Value]) -> Result<()> {
        let partitions = match &mut self.partitions {
            Some(p) => p,
            None => self.partitions.insert(Partitions::new(ctx, self.spill, self.depth, self.hash_mem)?),
        };
        partitions.write(key, row)
    }

    /// The partitions that got rows (none if no row was sent).
    pub(crate) fn finish(self, ctx: &mut ExecContext<'_>) -> Result<Vec<Partition>> {
        self.partitions.map_or_else(|| Ok(Vec::new()), |p| p.finish(ctx))
    }
}

/// A partition's rows (without their keys) as an operator's output.
pub(crate) struct PartitionOp(pub(crate) Option<Partition>);

impl Operator for PartitionOp {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        ctx.interrupt.check()?;
        let Some(partition) = &mut self.0 else { return Ok(None) };
        let mut batch = Vec::new();
        while batch.len() < BATCH_ROWS
            && let Some((_, row)) = partition.next()?
        {
            batch.push(row);
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// The rest of an operator that spilled both its inputs (a hash join, INTERSECT, EXCEPT): an
/// operator of its own for each pair of partitions of the split, run one after another.
pub(crate) struct PairWalk<'p> {
    /// (left, right) pairs, the next last.
    pairs: Vec<(Partition, Partition)>,
    current: Option<Box<dyn Operator + 'p>>,
}

impl<'p> PairWalk<'p> {
    /// A walk over `pairs`, in their order.
    pub(crate) fn new(mut pairs: Vec<(Partition, Partition)>) -> Self {
        pairs.reverse();
        PairWalk { pairs, current: None }
    }

    /// The next batch: the current pair's, or the next pair's, whose operator `open` makes from
    /// the pair's two inputs and the depth a split of them is at.
    pub(crate) fn next(
        &mut self,
        ctx: &mut ExecContext<'_>,
        mut open: impl FnMut(Box<dyn Operator + 'p>, Box<dyn Operator + 'p>, u32) -> Box<dyn Operator + 'p>,
    ) -> Result<Option<Batch>> {
        loop {
            if let Some(current) = &mut self.current {
                if let Some(batch) = current.next(ctx)? {
                    return Ok(Some(batch));
                }
                self.current = None;
            }
            let Some((left, right)) = self.pairs.pop() else { return Ok(None) };
            let depth = left.depth;
            self.current = Some(open(Box::new(PartitionOp(Some(left))), Box::new(PartitionOp(Some(right))), depth));
        }
    }
}
