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

/// Committed table definitions by namespace and name, and what else is read per database.
#[derive(Debug, Default)]
pub struct CatalogCache {
    generation: AtomicU64,
    tables: RwLock<HashMap<TableKey, (u64, Arc<TableDef>)>>,
    /// Roles, owners, ACLs and memberships (see `acl.rs`) by namespace, with the generation read.
    security: RwLock<HashMap<u32, (u64, Arc<crate::acl::SecurityCatalog>)>>,
    /// The tables whose foreign keys reference each table, by namespace, with the generation read.
    referrers: RwLock<HashMap<u32, (u64, Referrers)>>,
    /// ANALYZE's statistics (see `statistics.rs`), with the generation read.
    statistics: RwLock<Option<(u64, crate::statistics::Statistics)>>,
    /// The views of every database, with the generation read (a session picks its own
    /// database's when it looks: filtering them when filling would depend on whose schemas,
    /// read when, did the filling).
    views: RwLock<Option<(u64, Views)>>,
    /// Each database's schemas by the database's name, with the generation read.
    schemas: RwLock<HashMap<String, (u64, Arc<crate::schemas::SchemaSet>)>>,
}

/// A table's namespace and name.
type TableKey = (u32, String);

/// Views, with their catalog rows' addresses.
pub type Views = Arc<Vec<(rustydb_foundation::TupleId, crate::catalog::ViewDef)>>;

/// The names of the tables whose foreign keys reference each table, by its id.
pub type Referrers = Arc<HashMap<rustydb_foundation::TableId, Vec<(u32, String)>>>;

/// Entries of older generations are dead; a map is pruned of them past this many entries.
const PRUNE_PAST: usize = 4096;

impl CatalogCache {
    /// The current generation: read it before scanning the catalog to fill an entry.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached definition of table `name` in `namespace`, if it is still valid.
    pub fn table(&self, namespace: u32, name: &str) -> Option<Arc<TableDef>> {
        let generation = self.generation();
        let tables = self.tables.read();
        tables.get(&(namespace, name.to_string())).filter(|(g, _)| *g == generation).map(|(_, t)| t.clone())
    }

    /// Records `table`, of `namespace`, as read from the catalog at `generation`.
    pub fn insert(&self, generation: u64, namespace: u32, table: Arc<TableDef>) {
        let mut tables = self.tables.write();
        if generation != self.generation() {
            return;
        }
        if tables.len() > PRUNE_PAST {
            tables.retain(|_, (g, _)| *g == generation);
        }
        tables.insert((namespace, table.name.clone()), (generation, table));
    }

    /// The cached security catalog of `namespace`, if it is still valid.
    pub fn security(&self, namespace: u32) -> Option<Arc<crate::acl::SecurityCatalog>> {
        current(&self.security.read(), &namespace, self.generation())
    }

    /// Records the security catalog of `namespace` as read at `generation`.
    pub fn insert_security(&self, generation: u64, namespace: u32, catalog: Arc<crate::acl::SecurityCatalog>) {
        self.put(&self.security, generation, namespace, catalog);
    }

    /// The cached map of referencing tables of `namespace`, if it is still valid.
    pub fn referrers(&self, namespace: u32) -> Option<Referrers> {
        current(&self.referrers.read(), &namespace, self.generation())
    }

    /// Records the map of referencing tables of `namespace` as read at `generation`.
    pub fn insert_referrers(&self, generation: u64, namespace: u32, referrers: Referrers) {
        self.put(&self.referrers, generation, namespace, referrers);
    }

    /// The cached views of every database, if still valid.
    pub fn views(&self) -> Option<Views> {
        let generation = self.generation();
        self.views.read().as_ref().filter(|(g, _)| *g == generation).map(|(_, v)| v.clone())
    }

    /// Records the views of every database, as read at `generation`.
    pub fn insert_views(&self, generation: u64, views: Views) {
        let mut slot = self.views.write();
        if generation == self.generation() {
            *slot = Some((generation, views));
        }
    }

    /// The cached schemas of database `database`, if they are still valid.
    pub fn schemas(&self, database: &str) -> Option<Arc<crate::schemas::SchemaSet>> {
        let generation = self.generation();
        self.schemas.read().get(database).filter(|(g, _)| *g == generation).map(|(_, n)| n.clone())
    }

    /// Records database `database`'s schemas as read at `generation`.
    pub fn insert_schemas(&self, generation: u64, database: &str, schemas: Arc<crate::schemas::SchemaSet>) {
        self.put(&self.schemas, generation, database.to_string(), schemas);
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

    fn put<K: std::hash::Hash + Eq, V>(&self, map: &RwLock<HashMap<K, (u64, V)>>, generation: u64, key: K, value: V) {
        let mut map = map.write();
        if generation != self.generation() {
            return;
        }
        if map.len() > PRUNE_PAST {
            map.retain(|_, (g, _)| *g == generation);
        }
        map.insert(key, (generation, value));
    }
}

/// The entry of `key` in `map` if it was read at `generation`.
fn current<K: std::hash::Hash + Eq, V: Clone>(map: &HashMap<K, (u64, V)>, key: &K, generation: u64) -> Option<V> {
    map.get(key).filter(|(g, _)| *g == generation).map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{Schema, TableId};

    fn table(name: &str) -> Arc<TableDef> {
        Arc::new(TableDef {
            id: TableId(20_000),
            name: name.into(),
            namespace: crate::catalog::PUBLIC_NAMESPACE,
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
        cache.insert(g, 2200, table("t"));
        assert!(cache.table(2200, "t").is_some());
        assert!(cache.table(16_384, "t").is_none(), "a table was found in another database");
        cache.invalidate();
        assert!(cache.table(2200, "t").is_none(), "an entry outlived a catalog change");
        // A scan that overlapped a change is not cached.
        cache.insert(g, 2200, table("t"));
        assert!(cache.table(2200, "t").is_none());
        cache.insert(cache.generation(), 2200, table("t"));
        assert!(cache.table(2200, "t").is_some());
    }
}
