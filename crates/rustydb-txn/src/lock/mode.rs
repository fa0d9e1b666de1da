//! Lock modes and what they conflict with.
//!
//! PostgreSQL's eight table lock modes, because clients name them in `LOCK TABLE` and expect
//! their exact conflicts. Five of them are the textbook hierarchical modes under other names,
//! and among those five the matrix is exactly the standard one:
//!
//! | standard | PostgreSQL | taken by |
//! |---|---|---|
//! | IS  | ROW SHARE              | `SELECT ... FOR SHARE/UPDATE` (on the table) |
//! | IX  | ROW EXCLUSIVE          | INSERT, UPDATE, DELETE |
//! | S   | SHARE                  | CREATE INDEX; `FOR SHARE` on a row |
//! | SIX | SHARE ROW EXCLUSIVE    | `LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE` |
//! | X   | EXCLUSIVE              | `FOR UPDATE` on a row; writers on a row others lock |
//!
//! The other three sit around them: ACCESS SHARE (plain SELECT) conflicts only with ACCESS
//! EXCLUSIVE (DROP TABLE, and `LOCK TABLE` with no mode), and SHARE UPDATE EXCLUSIVE (VACUUM)
//! conflicts with itself and everything stronger than ROW EXCLUSIVE.

use std::fmt;

/// A lock mode, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// Plain reads (conflicts only with [`LockMode::AccessExclusive`]).
    AccessShare = 0,
    /// IS: intention to read-lock rows.
    RowShare = 1,
    /// IX: intention to write rows.
    RowExclusive = 2,
    /// VACUUM and other work that must not run twice at once.
    ShareUpdateExclusive = 3,
    /// S: read, and keep everyone from writing.
    Share = 4,
    /// SIX: S plus the intention to write rows.
    ShareRowExclusive = 5,
    /// X: only ACCESS SHARE readers may coexist (on a row: no one).
    Exclusive = 6,
    /// Nobody else at all (DROP TABLE).
    AccessExclusive = 7,
}

impl LockMode {
    /// The textbook names of the five hierarchical modes.
    pub const IS: LockMode = LockMode::RowShare;
    /// IX.
    pub const IX: LockMode = LockMode::RowExclusive;
    /// S.
    pub const S: LockMode = LockMode::Share;
    /// SIX.
    pub const SIX: LockMode = LockMode::ShareRowExclusive;
    /// X.
    pub const X: LockMode = LockMode::Exclusive;

    /// Every mode, weakest first.
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// This mode as a bit of a [`ModeSet`].
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The modes this one conflicts with, as a bit set (PostgreSQL's table).
    pub const fn conflicts(self) -> u8 {
        use LockMode::*;
        const fn set(modes: &[LockMode]) -> u8 {
            let mut bits = 0;
            let mut i = 0;
            while i < modes.len() {
                bits |= modes[i].bit();
                i += 1;
            }
            bits
        }
        match self {
            AccessShare => set(&[AccessExclusive]),
            RowShare => set(&[Exclusive, AccessExclusive]),
            RowExclusive => set(&[Share, ShareRowExclusive, Exclusive, AccessExclusive]),
            ShareUpdateExclusive => set(&[ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]),
            Share => set(&[RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive]),
            ShareRowExclusive => {
                set(&[RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive])
            }
            Exclusive => set(&[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            AccessExclusive => 0xff,
        }
    }

    /// True if a holder of `self` and one of `other` (different transactions) cannot coexist.
    pub const fn conflicts_with(self, other: LockMode) -> bool {
        self.conflicts() & other.bit() != 0
    }

    /// The name PostgreSQL prints (`ShareLock`, `AccessExclusiveLock`, ...).
    pub fn pg_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pg_name())
    }
}

/// Modes one transaction holds on one target, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModeSet(pub u8);

impl ModeSet {
    /// True if any held mode conflicts with `mode`.
    pub fn conflicts_with(self, mode: LockMode) -> bool {
        self.0 & mode.conflicts() != 0
    }

    /// True if `mode` is held (or a mode that implies it: holding X does not imply S here; a
    /// request is "held" only if the same mode was granted).
    pub fn contains(self, mode: LockMode) -> bool {
        self.0 & mode.bit() != 0
    }

    /// Adds `mode`.
    pub fn insert(&mut self, mode: LockMode) {
        self.0 |= mode.bit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_symmetric_and_standard_among_the_five() {
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a} vs {b}");
            }
        }
        // The textbook compatibility matrix for IS, IX, S, SIX, X (true = compatible).
        let five = [LockMode::IS, LockMode::IX, LockMode::S, LockMode::SIX, LockMode::X];
        let compatible = [
            [true, true, true, true, false],
            [true, true, false, false, false],
            [true, false, true, false, false],
            [true, false, false, false, false],
            [false, false, false, false, false],
        ];
        for (i, a) in five.iter().enumerate() {
            for (j, b) in five.iter().enumerate() {
                assert_eq!(!a.conflicts_with(*b), compatible[i][j], "{a} vs {b}");
            }
        }
        assert!(!LockMode::AccessShare.conflicts_with(LockMode::Exclusive));
        assert!(LockMode::AccessShare.conflicts_with(LockMode::AccessExclusive));
        assert!(LockMode::ShareUpdateExclusive.conflicts_with(LockMode::ShareUpdateExclusive));
        assert!(!LockMode::ShareUpdateExclusive.conflicts_with(LockMode::RowExclusive));
    }
}
