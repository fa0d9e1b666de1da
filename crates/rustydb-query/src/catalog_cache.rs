//! The catalog cache: table definitions as last committed, so that a statement does not scan
//! the system tables to resolve each name (three scans and a dozen decoded rows per table,
//! most of the binding time of a primary-key lookup).
//!
//! Correctness rests on one counter, the catalog *generation*:
//!
//! - An entry is valid only while the generation is the one read before the catalog scan
//!   that filled it. A scan overlapping a commit of catalog changes is tagged with the older
//!   generation and so is never used.
//! - A transaction that changes the catalog bumps the generation when it commits, before it
//!   releases its locks (its commit hook; see `TxnManager::commit`). A statement that waited
//!   for such a transaction's table lock therefore always misses and reads the new state.
//! - A transaction that has changed the catalog itself never uses the cache: only it can see
//!   its uncommitted changes. Rolling back needs nothing, as the committed state is unchanged.
//!
//! What the cache returns is the latest committed catalog, which is what PostgreSQL's catalog
//! lookups read too (they use a fresh catalog snapshot, not the transaction's).

use crate::catalog::TableDef;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Committed table definitions by name.
#[derive(Debug, Default)]
pub struct CatalogCache {
    generation: AtomicU64,
    tables: RwLock<HashMap<String, (u64, Arc<TableDef>)>>,
    /// Roles, owners, ACLs and memberships (see `acl.rs`), with the generation read.
    security: RwLock<Option<(u64, Arc<crate::acl::SecurityCatalog>)>>,
    /// The tables whose foreign keys reference each table, with the generation read.
    referrers: RwLock<Option<(u64, Referrers)>>,
    /// ANALYZE's statistics (see `statistics.rs`), with the generation read.
    statistics: RwLock<Option<(u64, crate::statistics::Statistics)>>,
}

/// The names of the tables whose foreign keys reference each table, by its id.
pub type Referrers = Arc<HashMap<rustydb_foundation::TableId, Vec<String>>>;

impl CatalogCache {
    /// The current generation: read it before scanning the catalog to fill an entry.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached definition of table `name`, if it is still valid.
    pub fn table(&self, name: &str) -> Option<Arc<TableDef>> {
        let generation = self.generation();
        let tables = self.tables.read();
        tables.get(name).filter(|(g, _)| *g == generation).map(|(_, t)| t.clone())
    }

    /// Records `table` as read from the catalog at `generation`.
    pub fn insert(&self, generation: u64, table: Arc<TableDef>) {
        let mut tables = self.tables.write();
        if generation != self.generation() {
            return;
        }
        // Entries of older generations are dead; drop them now and then so the map stays small.
        if tables.len() > 4096 {
            tables.retain(|_, (g, _)| *g == generation);
        }
        tables.insert(table.name.clone(), (generation, table));
    }

    /// The cached security catalog, if it is still valid.
    pub fn security(&self) -> Option<Arc<crate::acl::SecurityCatalog>> {
        let generation = self.generation();
        self.security.read().as_ref().filter(|(g, _)| *g == generation).map(|(_, c)| c.clone())
    }

    /// Records the security catalog as read at `generation`.
    pub fn insert_security(&self, generation: u64, catalog: Arc<crate::acl::SecurityCatalog>) {
        let mut security = self.security.write();
        if generation == self.generation() {
            *security = Some((generation, catalog));
        }
    }

    /// The cached map of referencing tables, if it is still valid.
    pub fn referrers(&self) -> Option<Referrers> {
        let generation = self.generation();
        self.referrers.read().as_ref().filter(|(g, _)| *g == generation).map(|(_, r)| r.clone())
    }

    /// Records the map of referencing tables as read at `generation`.
    pub fn insert_referrers(&self, generation: u64, referrers: Referrers) {
        let mut slot = self.referrers.write();
        if generation == self.generation() {
            *slot = Some((generation, referrers));
        }
    }

    /// The cached statistics, if they are still valid.
    pub fn statistics(&self) -> Option<crate::statistics::Statistics> {
        let generation = self.generation();
        self.statistics.read().as_ref().filter(|(g, _)| *g == generation).map(|(_, s)| s.clone())
    }

    /// Records the statistics as read at `generation`.
    pub fn insert_statistics(&self, generation: u64, statistics: crate::statistics::Statistics) {
        let mut slot = self.statistics.write();
        if generation == self.generation() {
            *slot = Some((generation, statistics));
        }
    }

    /// Catalog changes committed: every entry is stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{Schema, TableId};

    fn table(name: &str) -> Arc<TableDef> {
        Arc::new(TableDef {
            id: TableId(20_000),
            name: name.into(),
            schema: Schema::new(Vec::new()),
            primary_key: Vec::new(),
            compression: Default::default(),
            indexes: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            primary_key_constraint: None,
            layout: Default::default(),
        })
    }

    #[test]
    fn entries_live_only_within_their_generation() {
        let cache = CatalogCache::default();
        let g = cache.generation();
        cache.insert(g, table("t"));
        assert!(cache.table("t").is_some());
        cache.invalidate();
        assert!(cache.table("t").is_none(), "an entry outlived a catalog change");
        // A scan that overlapped a change is not cached.
        cache.insert(g, table("t"));
        assert!(cache.table("t").is_none());
        cache.insert(cache.generation(), table("t"));
        assert!(cache.table("t").is_some());
    }
}
