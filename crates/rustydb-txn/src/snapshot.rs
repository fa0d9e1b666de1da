//! Snapshots and the visibility rule.

use crate::StatusTable;
use crate::tuple::Header;
use rustydb_foundation::TxnId;

/// What was committed at one instant: every id below `xmax` not in `in_progress` (and not
/// aborted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The first id not yet handed out when the snapshot was taken.
    pub xmax: TxnId,
    /// Ids in progress when the snapshot was taken, sorted.
    pub in_progress: Vec<u64>,
}

impl Snapshot {
    /// True if `id`'s work is visible to this snapshot (not counting the reader's own).
    pub fn sees_committed(&self, id: TxnId, status: &StatusTable) -> bool {
        id < self.xmax && self.in_progress.binary_search(&id.0).is_err() && !status.is_aborted(id)
    }

    /// True if the version with `header` is visible under this snapshot to the reader whose
    /// own work is done under the ids `mine` (its transaction id and the subtransaction ids of
    /// its savepoints not rolled back).
    pub fn sees(&self, header: &Header, mine: &[TxnId], status: &StatusTable) -> bool {
        let seen = |id: TxnId| mine.contains(&id) || self.sees_committed(id, status);
        seen(header.xmin) && (header.xmax == TxnId::NONE || !seen(header.xmax))
    }
}
