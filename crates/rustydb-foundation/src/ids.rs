//! Newtype ids. Explicit widths; each id type is distinct so a page number can never be passed
//! where a transaction id is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A transaction id. 0 is "none" (an unset xmax); ids grow monotonically and are never reused.
    TxnId(u64)
);
id_type!(
    /// A log sequence number: the byte position of a record in the write-ahead log.
    Lsn(u64)
);
id_type!(
    /// A table's (relation's) id, stable for the table's life; also names its catalog rows.
    TableId(u32)
);
id_type!(
    /// A data file's id. A table's heap file has the table's id; ids are never reused.
    FileId(u32)
);

impl TxnId {
    /// The "no transaction" id used for an unset xmax.
    pub const NONE: TxnId = TxnId(0);
    /// The first id handed to a user transaction; below it are reserved ids.
    pub const FIRST: TxnId = TxnId(3);
    /// The id under which the catalog bootstrap writes: always committed.
    pub const BOOTSTRAP: TxnId = TxnId(1);
}

/// A page address: which file, which page within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageId {
    /// The file holding the page.
    pub file: FileId,
    /// The page number within the file (page `n` starts at byte `n * page_size`).
    pub number: u32,
}

impl PageId {
    /// Page `number` of `file`.
    pub fn new(file: FileId, number: u32) -> Self {
        PageId { file, number }
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.number)
    }
}

/// A tuple address: page and slot, like PostgreSQL's ctid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TupleId {
    /// The page holding the tuple.
    pub page: PageId,
    /// The slot number within the page.
    pub slot: u16,
}

impl fmt::Display for TupleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.page, self.slot)
    }
}
