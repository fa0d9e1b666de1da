//! Per-query memory: a bump arena for the tuples a scan copies off its pages, and the
//! statement's memory budget.
//!
//! ## Why an arena
//! A scan copies each page's tuples out before it lets go of the page latch (a latch must not
//! be held while the executor works). Copied one `Vec` a tuple, a scan of a million rows makes
//! a million allocations only to drop them a page later. A [`TupleArena`] instead appends a
//! page's tuples back to back into one buffer and forgets them all at once when the next page
//! begins: once it has grown to the largest page's worth, scanning allocates nothing for tuple
//! bytes at all. A query owns one arena and reuses it for every page it reads.
//!
//! ## Why a budget
//! A statement that materialises rows (a result set, a sort, the targets of an UPDATE) can ask
//! for more memory than the machine has. [`MemoryBudget`] counts what a statement holds and
//! refuses past its limit with SQLSTATE 53200 (`out_of_memory`) — the error PostgreSQL gives
//! when an allocation fails — so one runaway query fails cleanly instead of taking the server
//! down. The buffer pool is sized separately and never grows; together they bound the server.

use rustydb_foundation::{DbError, Result, SqlState, TupleId};

/// A page's worth of tuples copied into one reusable buffer.
#[derive(Debug, Default)]
pub struct TupleArena {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tid: TupleId,
    start: usize,
    len: usize,
}

impl TupleArena {
    /// An empty arena (it grows on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every tuple, keeping the memory for the next page.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    /// Copies `tuple` (at `tid`) in.
    pub fn push(&mut self, tid: TupleId, tuple: &[u8]) {
        self.entries.push(Entry { tid, start: self.bytes.len(), len: tuple.len() });
        self.bytes.extend_from_slice(tuple);
    }

    /// Number of tuples held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no tuple is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `i`th tuple and its address.
    pub fn get(&self, i: usize) -> Option<(TupleId, &[u8])> {
        self.entries.get(i).map(|e| (e.tid, &self.bytes[e.start..e.start + e.len]))
    }

    /// The tuples in order.
    pub fn iter(&self) -> impl Iterator<Item = (TupleId, &[u8])> + '_ {
        self.entries.iter().map(|e| (e.tid, &self.bytes[e.start..e.start + e.len]))
    }

    /// Keeps only the tuples `keep` accepts, in order (their bytes stay where they are).
    pub fn retain(&mut self, mut keep: impl FnMut(TupleId, &[u8]) -> bool) {
        let bytes = &self.bytes;
        self.entries.retain(|e| keep(e.tid, &bytes[e.start..e.start + e.len]));
    }

    /// Orders the tuples by slot (their bytes stay where they are).
    pub fn sort_by_slot(&mut self) {
        self.entries.sort_by_key(|e| e.tid.slot);
    }

    /// Bytes the arena holds on to (its capacity, not what the current page uses).
    pub fn footprint(&self) -> usize {
        self.bytes.capacity() + self.entries.capacity() * std::mem::size_of::<Entry>()
    }
}

/// What one statement may hold in memory, and what it holds now.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    limit: usize,
    used: usize,
    peak: usize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        MemoryBudget { limit, used: 0, peak: 0 }
    }

    /// Counts `bytes` more, held for `what` ("the result set"), until the statement ends or
    /// they are [released](Self::release); past the limit it is SQLSTATE 53200 and nothing is
    /// counted.
    pub fn charge(&mut self, bytes: usize, what: &str) -> Result<()> {
        let used = self.used.saturating_add(bytes);
        if used > self.limit {
            return Err(DbError::sql(
                SqlState::OutOfMemory,
                format!(
                    "out of memory: {what} needs more than the statement's limit of {} (statement_memory_limit_mb)",
                    human(self.limit)
                ),
            ));
        }
        self.used = used;
        self.peak = self.peak.max(used);
        Ok(())
    }

    /// Gives back `bytes` counted earlier, for rows an operator has let go of before the
    /// statement ends (a recursive query's previous work table).
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Bytes counted now.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The most counted at once.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

fn human(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => format!("{} GB", b >> 30),
        b if b >= 1 << 20 => format!("{} MB", b >> 20),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{FileId, PageId};

    fn tid(slot: u16) -> TupleId {
        TupleId { page: PageId::new(FileId(1), 0), slot }
    }

    #[test]
    fn the_arena_keeps_tuples_in_order_filters_and_reuses_its_memory() {
        let mut arena = TupleArena::new();
        for slot in [3u16, 1, 2] {
            arena.push(tid(slot), &vec![slot as u8; 100 * usize::from(slot)]);
        }
        arena.sort_by_slot();
        let slots: Vec<u16> = arena.iter().map(|(t, _)| t.slot).collect();
        assert_eq!(slots, [1, 2, 3]);
        assert_eq!(arena.get(1).unwrap().1, &[2u8; 200][..]);
        arena.retain(|t, bytes| t.slot != 2 && !bytes.is_empty());
        assert_eq!(arena.len(), 2);
        assert_eq!(arena.get(1).unwrap().1, &[3u8; 300][..]);
        let footprint = arena.footprint();
        for _ in 0..100 {
            arena.clear();
            assert!(arena.is_empty());
            for slot in 0..3 {
                arena.push(tid(slot), &[7; 200]);
            }
        }
        assert_eq!(arena.footprint(), footprint, "a warm arena does not grow");
    }

    #[test]
    fn the_budget_refuses_past_its_limit_with_53200_and_counts_releases() {
        let mut budget = MemoryBudget::new(1 << 20);
        budget.charge(600 << 10, "a sort").unwrap();
        let err = budget.charge(600 << 10, "the result set").unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::OutOfMemory);
        assert!(err.to_string().contains("the result set") && err.to_string().contains("1 MB"), "{err}");
        assert_eq!(budget.used(), 600 << 10, "a refused charge counts nothing");
        budget.charge(424 << 10, "the rest").unwrap();
        assert_eq!(budget.peak(), 1 << 20, "the limit itself may be reached");
    }
}
