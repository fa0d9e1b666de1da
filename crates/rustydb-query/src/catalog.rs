//! The catalog, stored in the database itself: system tables are ordinary heap files with fixed
//! ids, read and written through the same MVCC path as user tables, so DDL is transactional for
//! free (a rolled-back CREATE TABLE leaves an invisible catalog row; a DROP becomes visible only
//! at commit).
//!
//! | file | table | columns |
//! |---|---|---|
//! | 1 | `rustydb_tables`    | table_id int4, name text, primary_key text (comma-separated column positions), compression text (`lz4`, `zstd` or `none`), checks text, foreign_keys text, primary_key_name text (empty or NULL: `<table>_pkey`), slot_count int4 (slots ever handed out; NULL: the number of columns) |
//! | 2 | `rustydb_columns`   | table_id int4, position int4, name text, type_oid int4, typmod int4, not_null bool, default_expr text (SQL text; empty: none), slot int4 (where its value sits in a stored row; NULL: its position) |
//! | 3 | `rustydb_roles`     | name text, superuser bool, can_login bool, create_db bool, create_role bool, inherit bool, connection_limit int4 (-1: none), valid_until timestamptz (infinity: none), password text (a SCRAM-SHA-256 verifier, or empty: none), password_outside text (argon2 hash for REST/embedded checks, or empty), password_history text (earlier verifiers, newline-separated) |
//! | 4 | `rustydb_databases` | name text, owner text |
//! | 5 | `rustydb_indexes`   | index_id int4, name text, table_id int4, columns text (comma-separated column positions, each with ` desc` if descending), is_unique bool, method text (`btree`, `hash` or `lsm`) |
//! | 6 | `rustydb_views`     | name text, definition text, columns text |
//! | 7 | `rustydb_sequences` | seq_id int4, name text, increment int8, min_value int8, max_value int8, start_value int8, cycle bool, owner_table int4 (0: none), owner_column int4 (positions live in `sequences/<id>`, see `sequence.rs`) |
//! | 8 | `rustydb_acl`       | kind text, object text, column_position int4 (-1: the whole object), grantee text (empty: PUBLIC), grantor text, privileges text, grant_options text (PostgreSQL's letters, `arwdDxt`...; see `acl.rs`) |
//! | 9 | `rustydb_members`   | role text, member text, admin_option bool, grantor text (GRANT role TO member) |
//! | 10 | `rustydb_owners`   | kind text, object text, owner text (no row: the bootstrap superuser owns it) |
//! | 11 | `rustydb_policies` | table_name text, name text, command text, permissive bool, roles text (comma-separated; empty: PUBLIC), using_expr text, check_expr text (see `row_security.rs`) |
//! | 12 | `rustydb_row_security` | table_name text, enabled bool, forced bool |
//! | 13 | `rustydb_statistic` | table_id int4, position int4 (-1: the table's own row), type_oid int4, typmod int4, row_count float8, null_frac float8, avg_width int4, n_distinct float8, mcv text, mcf text (comma-separated), histogram text (see `statistics.rs`) |
//!
//! User tables get ids from [`FIRST_USER_TABLE`] up; a table's heap is the file with its id.
//! Indexes take ids from the same sequence (PostgreSQL's relations share one namespace too);
//! an index's file, and a table's primary key index's, is its id with [`INDEX_FILES`] set.

use crate::access;
use crate::context::ExecContext;
pub use crate::schemas::{Lookup, QualifiedName};
use rustydb_foundation::{Column, DataType, DbError, FileId, Result, Schema, TableId, TupleId, Value};
use rustydb_storage::Compression;
use rustydb_txn::Liveness;
use std::collections::HashMap;

/// The first id handed to a user table.
pub const FIRST_USER_TABLE: u32 = 16384;

/// A table's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// The table's id (its heap is the file with the same number).
    pub id: TableId,
    /// Its name.
    pub name: String,
    /// The namespace (schema) it is in (see `schemas.rs`).
    pub namespace: u32,
    /// Its columns.
    pub schema: Schema,
    /// Positions of the primary key columns (empty if none).
    pub primary_key: Vec<usize>,
    /// How the table's large rows are compressed (`WITH (compression = ...)`).
    pub compression: Compression,
    /// The table's secondary indexes (CREATE INDEX), as visible to the reading snapshot.
    pub indexes: Vec<IndexDef>,
    /// Its CHECK constraints, in the order they were added.
    pub checks: Vec<CheckDef>,
    /// Its foreign keys (the references it makes), in the order they were added.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// The name of its primary key constraint (declared by CREATE TABLE) when that is not
    /// `<table>_pkey`: the table was renamed since, or the constraint.
    pub primary_key_constraint: Option<String>,
    /// Where its columns sit in its stored rows.
    pub layout: Layout,
}

/// Where a table's columns sit in its stored rows. A dropped column keeps its slot, as
/// PostgreSQL keeps a dropped attribute: rows are never rewritten for a drop, every version
/// of a row (those older snapshots and VACUUM read too) decodes the same way, and a slot is
/// never handed out twice, so a column added later cannot read a dropped one's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// Per column position, its slot; empty when each column sits at its own position.
    pub slots: Vec<usize>,
    /// Slots ever handed out; 0 when that is the number of columns.
    pub count: usize,
}

/// What a foreign key does to the rows referencing a key that is deleted or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FkAction {
    /// NO ACTION (the default): the change fails while references remain.
    NoAction,
    /// RESTRICT: the same, checked at once.
    Restrict,
    /// CASCADE: referencing rows are deleted, or take the new key.
    Cascade,
    /// SET NULL: referencing columns become NULL.
    SetNull,
    /// SET DEFAULT: referencing columns take their defaults.
    SetDefault,
}

impl FkAction {
    /// PostgreSQL's code (`confdeltype`, `confupdtype`).
    pub fn code(self) -> &'static str {
        match self {
            FkAction::NoAction => "a",
            FkAction::Restrict => "r",
            FkAction::Cascade => "c",
            FkAction::SetNull => "n",
            FkAction::SetDefault => "d",
        }
    }

    fn from_code(code: &str) -> Option<FkAction> {
        [FkAction::NoAction, FkAction::Restrict, FkAction::Cascade, FkAction::SetNull, FkAction::SetDefault]
            .into_iter()
            .find(|a| a.code() == code)
    }

    /// The SQL words, as `pg_get_constraintdef` writes them.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key: columns of this table that must match a unique key of `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns (this table's positions).
    pub columns: Vec<usize>,
    /// The referenced table (`TableId(0)` while binding a table that references itself).
    pub parent: TableId,
    /// The referenced columns (the parent's positions), in the order `columns` pairs them.
    pub parent_columns: Vec<usize>,
    /// ON DELETE.
    pub on_delete: FkAction,
    /// ON UPDATE.
    pub on_update: FkAction,
}

/// A CHECK constraint: its name and its predicate over the table's columns, as SQL text
/// (bound again by each statement that writes the table, see `check_constraint.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDef {
    /// The constraint's name (unique among the table's constraints).
    pub name: String,
    /// The predicate, as SQL.
    pub predicate: String,
}

/// How an index is organised (`USING ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexMethod {
    /// A B+tree: equality and ranges.
    BTree,
    /// Linear hashing: equality only.
    Hash,
    /// A log-structured merge tree: equality and ranges, for write-heavy tables.
    Lsm,
}

impl IndexMethod {
    /// The name in SQL and in the catalog.
    pub fn name(self) -> &'static str {
        match self {
            IndexMethod::BTree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Lsm => "lsm",
        }
    }

    /// Whether the method keeps keys in order (serves ranges).
    pub fn ordered(self) -> bool {
        matches!(self, IndexMethod::BTree | IndexMethod::Lsm)
    }

    /// The method called `name`.
    pub fn parse(name: &str) -> Option<IndexMethod> {
        match name {
            "btree" => Some(IndexMethod::BTree),
            "hash" => Some(IndexMethod::Hash),
            "lsm" => Some(IndexMethod::Lsm),
            _ => None,
        }
    }
}

/// A secondary index's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// The index's id (from the relation id sequence).
    pub id: TableId,
    /// Its name.
    pub name: String,
    /// The namespace (schema) it is in: its table's.
    pub namespace: u32,
    /// The indexed table.
    pub table: TableId,
    /// Positions of the key columns, in key order.
    pub columns: Vec<usize>,
    /// Per key column: DESC.
    pub descending: Vec<bool>,
    /// UNIQUE.
    pub unique: bool,
    /// USING.
    pub method: IndexMethod,
    /// The index of a primary key added by ALTER TABLE (one declared by CREATE TABLE is the
    /// table's own primary index).
    pub primary: bool,
    /// The index backs a UNIQUE or PRIMARY KEY constraint (CREATE TABLE's, ALTER TABLE ADD's)
    /// rather than being made by CREATE UNIQUE INDEX: `pg_constraint` lists it.
    pub constraint: bool,
}

impl IndexDef {
    /// The data file holding the index (an LSM tree's identity in the log; its files are in
    /// storage's auxiliary directory of this id).
    pub fn file(&self) -> FileId {
        FileId(self.id.0 | INDEX_FILES)
    }

    /// The index key of `values` (one per key column), each column in its direction.
    pub fn key(&self, values: &[Value]) -> Vec<u8> {
        rustydb_index::keycode::encode_key_directed(values, &self.descending)
    }

    /// Whether the first key column is descending.
    pub fn first_descending(&self) -> bool {
        self.descending.first().copied().unwrap_or(false)
    }
}

impl TableDef {
    /// The heap file holding the table's rows.
    pub fn file(&self) -> FileId {
        FileId(self.id.0)
    }

    /// The data file of the table's primary key index (table ids stay below 2^30).
    pub fn primary_index_file(&self) -> FileId {
        FileId(self.id.0 | INDEX_FILES)
    }

    /// True for the catalog's own tables.
    pub fn is_system(&self) -> bool {
        self.id.0 < FIRST_USER_TABLE
    }

    /// Column `position`'s slot in a stored row.
    pub fn slot(&self, position: usize) -> usize {
        self.layout.slots.get(position).copied().unwrap_or(position)
    }

    /// Slots ever handed out: the next column added takes this one.
    pub fn slot_count(&self) -> usize {
        if self.layout.count > 0 { self.layout.count } else { self.schema.len() }
    }

    /// The layout once one more column is added (it takes the next slot).
    pub fn layout_with_added_column(&self) -> Layout {
        let slot = self.slot_count();
        let position = self.schema.len();
        if self.plain_layout() && slot == position {
            return Layout::default();
        }
        let mut slots: Vec<usize> = (0..position).map(|p| self.slot(p)).collect();
        slots.push(slot);
        Layout { slots, count: slot + 1 }
    }

    /// Whether each column sits at its own position in stored rows.
    pub fn plain_layout(&self) -> bool {
        self.layout.slots.is_empty()
    }

    /// The name PostgreSQL gives the primary key constraint and its index.
    pub fn primary_key_name(&self) -> String {
        self.primary_key_constraint.clone().unwrap_or_else(|| format!("{}_pkey", self.name))
    }
}

/// The bit that marks an index's file id.
pub const INDEX_FILES: u32 = 1 << 30;

/// A role: a user when it may log in (`CREATE ROLE` / `CREATE USER`).
#[derive(Clone, PartialEq, Eq)]
pub struct RoleDef {
    /// Role name.
    pub name: String,
    /// Bypasses privilege checks.
    pub superuser: bool,
    /// May connect.
    pub can_login: bool,
    /// May create databases.
    pub create_db: bool,
    /// May create, alter and drop other roles.
    pub create_role: bool,
    /// Uses the privileges of roles it is a member of.
    pub inherit: bool,
    /// Concurrent connections allowed (-1: no limit).
    pub connection_limit: i32,
    /// After this moment (microseconds since 2000-01-01 UTC) its password no longer works.
    pub valid_until: Option<i64>,
    /// Its password as a SCRAM-SHA-256 verifier (never the password itself).
    pub password: Option<String>,
    /// The same password hashed for checks outside the wire protocol (argon2), if known.
    pub password_outside: Option<String>,
    /// Verifiers of its earlier passwords, newest first (for the password reuse rule).
    pub password_history: Vec<String>,
}

impl RoleDef {
    /// A role with PostgreSQL's defaults for `CREATE ROLE name`.
    pub fn new(name: impl Into<String>) -> Self {
        RoleDef {
            name: name.into(),
            superuser: false,
            can_login: false,
            create_db: false,
            create_role: false,
            inherit: true,
            connection_limit: -1,
            valid_until: None,
            password: None,
            password_outside: None,
            password_history: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RoleDef {
    /// Leaves the verifier out: it is not the password, but an offline guessing attack starts
    /// from it, so it stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleDef")
            .field("name", &self.name)
            .field("superuser", &self.superuser)
            .field("can_login", &self.can_login)
            .field("create_db", &self.create_db)
            .field("create_role", &self.create_role)
            .field("inherit", &self.inherit)
            .field("connection_limit", &self.connection_limit)
            .field("valid_until", &self.valid_until)
            .field("password", &self.password.as_ref().map(|_| "<verifier>"))
            .field("password_outside", &self.password_outside.as_ref().map(|_| "<hash>"))
            .field("password_history", &self.password_history.len())
            .finish()
    }
}

fn system_table(id: u32, name: &str, columns: &[(&str, DataType)]) -> TableDef {
    let columns = columns.iter().map(|(n, t)| Column::new(*n, *t).not_null()).collect();
    TableDef {
        id: TableId(id),
        name: name.into(),
        namespace: crate::schemas::PG_CATALOG_NAMESPACE,
        schema: Schema::new(columns),
        primary_key: Vec::new(),
        compression: Compression::default(),
        indexes: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        primary_key_constraint: None,
        layout: Default::default(),
    }
}

/// The catalog's own tables; the discriminant is the table's (and its heap file's) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Tables = 1,
    Columns = 2,
    Roles = 3,
    Databases = 4,
    Indexes = 5,
    Views = 6,
    Sequences = 7,
    Acl = 8,
    Members = 9,
    Owners = 10,
    Policies = 11,
    RowSecurity = 12,
    Statistic = 13,
    Namespaces = 14,
    Descriptions = 15,
}

/// Where the catalog rows naming objects of one database keep their namespace: the column
/// [`access::scan`] filters on and [`access::insert_raw`] fills (see `databases.rs`). `None`
/// for catalogs shared by every database (roles, memberships, databases, namespaces) and for
/// those whose rows hang off a table id (columns, statistics), unique across databases.
pub(crate) fn namespace_column(table: &TableDef) -> Option<usize> {
    Some(match table.id.0 {
        t if t == System::Tables as u32 => 8,
        t if t == System::Indexes as u32 => 8,
        t if t == System::Views as u32 => 3,
        t if t == System::Sequences as u32 => 9,
        t if t == System::Acl as u32 => 7,
        t if t == System::Owners as u32 => 3,
        t if t == System::Policies as u32 => 7,
        t if t == System::RowSecurity as u32 => 3,
        _ => return None,
    })
}

/// The namespace of a row of a catalog with a [`namespace_column`], `None` for a row every
/// database sees: the owner and ACL rows of databases themselves. A NULL namespace (a row
/// written before databases had namespaces) is [`PUBLIC_NAMESPACE`].
pub(crate) fn row_namespace(table: &TableDef, row: &[Value], column: usize) -> Option<u32> {
    let shared_kind = table.id.0 == System::Acl as u32 || table.id.0 == System::Owners as u32;
    if shared_kind && row.first().is_some_and(|k| *k == Value::Text("database".into())) {
        return None;
    }
    match row.get(column) {
        Some(Value::Int4(n)) => Some(*n as u32),
        _ => Some(PUBLIC_NAMESPACE),
    }
}

/// The internal id of the bootstrap database's `public` namespace, which every row from before
/// namespaces belongs to. It is PostgreSQL's oid of `public`, which `pg_namespace` shows for
/// every database's `public`.
pub const PUBLIC_NAMESPACE: u32 = 2200;

/// The privilege catalogs (`acl.rs` reads and writes their rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrivilegeTable {
    /// `rustydb_acl`.
    Acl,
    /// `rustydb_members`.
    Members,
    /// `rustydb_owners`.
    Owners,
    /// `rustydb_policies`.
    Policies,
    /// `rustydb_row_security`.
    RowSecurity,
}

/// The definition of one of the privilege catalogs.
pub(crate) fn privilege_table(table: PrivilegeTable) -> &'static TableDef {
    system(match table {
        PrivilegeTable::Acl => System::Acl,
        PrivilegeTable::Members => System::Members,
        PrivilegeTable::Owners => System::Owners,
        PrivilegeTable::Policies => System::Policies,
        PrivilegeTable::RowSecurity => System::RowSecurity,
    })
}

/// Notes that the statement changes the catalog (see [`changing`]); for `acl.rs`.
pub(crate) fn note_change(ctx: &mut ExecContext<'_>) {
    changing(ctx);
}

/// The system tables' definitions, built once.
static SYSTEM_TABLES: std::sync::LazyLock<[TableDef; 15]> = std::sync::LazyLock::new(|| {
    use DataType::*;
    [
        system_table(
            System::Tables as u32,
            "rustydb_tables",
            // `checks` was added later: older rows read it as NULL, which is none.
            &[
                ("table_id", Int4),
                ("name", Text),
                ("primary_key", Text),
                ("compression", Text),
                ("checks", Text),
                ("foreign_keys", Text),
                ("primary_key_name", Text),
                // NULL: as many slots as columns.
                ("slot_count", Int4),
                // The namespace the table is in (see `databases.rs`); NULL: `PUBLIC_NAMESPACE`.
                ("namespace", Int4),
            ],
        ),
        system_table(
            System::Columns as u32,
            "rustydb_columns",
            &[
                ("table_id", Int4),
                ("position", Int4),
                ("name", Text),
                ("type_oid", Int4),
                ("typmod", Int4),
                ("not_null", Bool),
                ("default_expr", Text),
                // Added later: older rows read it as NULL, which is the column's position.
                ("slot", Int4),
            ],
        ),
        system_table(
            System::Roles as u32,
            "rustydb_roles",
            &[
                ("name", Text),
                ("superuser", Bool),
                ("can_login", Bool),
                ("create_db", Bool),
                ("create_role", Bool),
                ("inherit", Bool),
                ("connection_limit", Int4),
                ("valid_until", TimestampTz),
                ("password", Text),
                // Added later: older rows read them as NULL (none).
                ("password_outside", Text),
                ("password_history", Text),
            ],
        ),
        // `database_id` was added later: NULL is the bootstrap database's id (`BOOTSTRAP_DATABASE`).
        system_table(
            System::Databases as u32,
            "rustydb_databases",
            &[("name", Text), ("owner", Text), ("database_id", Int4)],
        ),
        system_table(
            System::Indexes as u32,
            "rustydb_indexes",
            &[
                ("index_id", Int4),
                ("name", Text),
                ("table_id", Int4),
                ("columns", Text),
                ("is_unique", Bool),
                ("method", Text),
                // Added later: older rows read them as NULL, which is false.
                ("is_primary", Bool),
                ("is_constraint", Bool),
                ("namespace", Int4),
            ],
        ),
        system_table(
            System::Views as u32,
            "rustydb_views",
            // `search_path` was added later: NULL is the view's own namespace.
            &[("name", Text), ("definition", Text), ("columns", Text), ("namespace", Int4), ("search_path", Text)],
        ),
        system_table(
            System::Sequences as u32,
            "rustydb_sequences",
            &[
                ("seq_id", Int4),
                ("name", Text),
                ("increment", Int8),
                ("min_value", Int8),
                ("max_value", Int8),
                ("start_value", Int8),
                ("cycle", Bool),
                ("owner_table", Int4),
                ("owner_column", Int4),
                ("namespace", Int4),
            ],
        ),
        system_table(
            System::Acl as u32,
            "rustydb_acl",
            &[
                ("kind", Text),
                ("object", Text),
                ("column_position", Int4),
                ("grantee", Text),
                ("grantor", Text),
                ("privileges", Text),
                ("grant_options", Text),
                ("namespace", Int4),
            ],
        ),
        system_table(
            System::Members as u32,
            "rustydb_members",
            &[("role", Text), ("member", Text), ("admin_option", Bool), ("grantor", Text)],
        ),
        system_table(
            System::Owners as u32,
            "rustydb_owners",
            &[("kind", Text), ("object", Text), ("owner", Text), ("namespace", Int4)],
        ),
        system_table(
            System::Policies as u32,
            "rustydb_policies",
            &[
                ("table_name", Text),
                ("name", Text),
                ("command", Text),
                ("permissive", Bool),
                ("roles", Text),
                ("using_expr", Text),
                ("check_expr", Text),
                ("namespace", Int4),
                // Added later: NULL is the table's namespace (see `row_security::Policy`).
                ("search_path", Text),
            ],
        ),
        system_table(
            System::RowSecurity as u32,
            "rustydb_row_security",
            &[("table_name", Text), ("enabled", Bool), ("forced", Bool), ("namespace", Int4)],
        ),
        system_table(
            System::Statistic as u32,
            "rustydb_statistic",
            &[
                ("table_id", Int4),
                ("position", Int4),
                ("type_oid", Int4),
                ("typmod", Int4),
                ("row_count", Float8),
                ("null_frac", Float8),
                ("avg_width", Int4),
                ("n_distinct", Float8),
                ("mcv", Text),
                ("mcf", Text),
                ("histogram", Text),
            ],
        ),
        system_table(
            System::Namespaces as u32,
            "rustydb_namespaces",
            &[("namespace_id", Int4), ("name", Text), ("database_id", Int4), ("owner", Text)],
        ),
        system_table(
            System::Descriptions as u32,
            "rustydb_descriptions",
            &[("objoid", Int4), ("classoid", Int4), ("objsubid", Int4), ("description", Text)],
        ),
    ]
});

/// The definitions of the system tables.
pub fn system_tables() -> &'static [TableDef] {
    &*SYSTEM_TABLES
}

fn system(table: System) -> &'static TableDef {
    &SYSTEM_TABLES[table as usize - 1]
}

/// Rebuilds a [`DataType`] from the (type OID, typmod) pair stored in `rustydb_columns`: the
/// char types take their length from the typmod, the others are [`DataType::from_oid`]'s.
pub fn data_type_from_oid(oid: i32, typmod: i32) -> Result<DataType> {
    let len = (typmod >= 4).then(|| (typmod - 4) as u32);
    match oid {
        1042 => Ok(DataType::Char(len.unwrap_or(1))),
        1043 => Ok(DataType::Varchar(len)),
        // Precision in the high 16 bits, the scale (signed, 11 bits) in the low ones.
        1700 => Ok(DataType::Numeric((typmod >= 4).then(|| {
            let m = typmod - 4;
            ((m >> 16) as u16, (((m & 0x7ff) ^ 0x400) - 0x400) as i16)
        }))),
        other => u32::try_from(other)
            .ok()
            .and_then(DataType::from_oid)
            .filter(|t| *t != DataType::Unknown)
            .ok_or_else(|| DbError::Corruption(format!("catalog names unknown type oid {other}"))),
    }
}

/// The table with id `id`, if it exists.
pub fn find_table_by_id(ctx: &mut ExecContext<'_>, id: TableId) -> Result<Option<TableDef>> {
    // Ids are unique across databases: whichever database the table is in.
    let tables = access::scan_unscoped(ctx, system(System::Tables))?;
    let Some((_, row)) = tables.into_iter().find(|(_, r)| r[0] == Value::Int4(id.0 as i32)) else {
        return Ok(None);
    };
    // A table of the session's database is read through the cache (foreign key checks ask
    // for their parents by id on every write).
    let namespace = row_namespace(system(System::Tables), &row, 8).unwrap_or(PUBLIC_NAMESPACE);
    if ctx.schemas().is_ok_and(|s| s.contains(namespace)) {
        return find_table_in(ctx, namespace, &text(&row[1])?);
    }
    table_from_row(ctx, &row).map(Some)
}

/// The table an unqualified `name` stands for, if any: a system table, or the first of that
/// name along the search path (see `schemas.rs`).
pub fn find_table(ctx: &mut ExecContext<'_>, name: &str) -> Result<Option<TableDef>> {
    if let Some(t) = system_tables().iter().find(|t| t.name == name).cloned() {
        return Ok(Some(t));
    }
    let path = ctx.search_path()?;
    for (i, namespace) in path.iter().enumerate() {
        if let Some(t) = find_table_in(ctx, *namespace, name)? {
            return Ok(Some(t));
        }
        // A view of the name in this schema is what the name means, not a table further on.
        if i + 1 < path.len() && find_view_in(ctx, *namespace, name)?.is_some() {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The table `name` stands for, qualified or not.
pub fn find_table_named(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<TableDef>> {
    match name.namespace(ctx)? {
        Lookup::Path => find_table(ctx, &name.name),
        Lookup::In(namespace) => find_table_in(ctx, namespace, &name.name),
        Lookup::Catalog => Ok(system_tables().iter().find(|t| t.name == name.name).cloned()),
        Lookup::Nowhere => Ok(None),
    }
}

/// The table called `name` in namespace `namespace`, if it exists: from the catalog cache
/// when it holds it (see `catalog_cache.rs`), otherwise read from the catalog (and cached).
pub fn find_table_in(ctx: &mut ExecContext<'_>, namespace: u32, name: &str) -> Result<Option<TableDef>> {
    if ctx.txn.catalog_changed {
        return read_table(ctx, namespace, name);
    }
    let cache = ctx.engine.catalog_cache().clone();
    if let Some(t) = cache.table(namespace, name) {
        return Ok(Some(TableDef::clone(&t)));
    }
    let generation = cache.generation();
    let found = read_table(ctx, namespace, name)?;
    if let Some(t) = &found {
        cache.insert(generation, namespace, std::sync::Arc::new(t.clone()));
    }
    Ok(found)
}

/// Notes that the context's transaction changes the catalog: it reads the catalog itself from
/// now on, and its commit makes the cache's entries stale. Every change registers the hook
/// again, as a rolled-back savepoint takes the hooks registered after it with it.
fn changing(ctx: &mut ExecContext<'_>) {
    ctx.txn.catalog_changed = true;
    let cache = ctx.engine.catalog_cache().clone();
    ctx.txn.on_commit(move || cache.invalidate());
}

/// Reads the definition of table `name` of `namespace` from the catalog.
fn read_table(ctx: &mut ExecContext<'_>, namespace: u32, name: &str) -> Result<Option<TableDef>> {
    let sys = system(System::Tables);
    let tables = access::scan(ctx, sys)?;
    let Some((_, row)) = tables
        .into_iter()
        .find(|(_, r)| r[1] == Value::Text(name.into()) && row_namespace(sys, r, 8) == Some(namespace))
    else {
        return Ok(None);
    };
    table_from_row(ctx, &row).map(Some)
}

/// The definition of the table whose `rustydb_tables` row is `row`.
fn table_from_row(ctx: &mut ExecContext<'_>, row: &[Value]) -> Result<TableDef> {
    let name = text(&row[1])?;
    let id = int(&row[0])?;
    let mut columns: Vec<(i32, Column)> = Vec::new();
    let mut slots: Vec<(i32, usize)> = Vec::new();
    for (_, c) in access::scan(ctx, system(System::Columns))? {
        if int(&c[0])? == id {
            let position = int(&c[1])?;
            slots.push((
                position,
                match c.get(7) {
                    Some(Value::Int4(s)) => *s as usize,
                    _ => position as usize,
                },
            ));
            let ty = data_type_from_oid(int(&c[3])?, int(&c[4])?)?;
            let mut col = Column::new(text(&c[2])?, ty);
            col.nullable = c[5] != Value::Bool(true);
            col.default = match c.get(6) {
                Some(Value::Text(d)) if !d.is_empty() => Some(d.clone()),
                _ => None,
            };
            columns.push((int(&c[1])?, col));
        }
    }
    columns.sort_by_key(|(pos, _)| *pos);
    slots.sort_by_key(|(pos, _)| *pos);
    let slots: Vec<usize> = slots.into_iter().map(|(_, s)| s).collect();
    let count = match row.get(7) {
        Some(Value::Int4(n)) => *n as usize,
        _ => columns.len(),
    };
    let layout = if slots.iter().enumerate().all(|(p, s)| p == *s) && count == columns.len() {
        Layout::default()
    } else {
        let plain = slots.iter().enumerate().all(|(p, s)| p == *s);
        Layout { slots: if plain { Vec::new() } else { slots }, count }
    };
    let primary_key = positions(&text(&row[2])?)?;
    let indexes = table_indexes(ctx, TableId(id as u32))?;
    let compression = text(&row[3])?;
    let compression = Compression::parse(&compression)
        .ok_or_else(|| DbError::Corruption(format!("catalog names unknown compression {compression:?}")))?;
    Ok(TableDef {
        id: TableId(id as u32),
        name,
        namespace: row_namespace(system(System::Tables), row, 8).unwrap_or(PUBLIC_NAMESPACE),
        schema: Schema::new(columns.into_iter().map(|(_, c)| c).collect()),
        primary_key,
        compression,
        indexes,
        checks: decode_checks(row.get(4))?,
        foreign_keys: decode_foreign_keys(row.get(5))?,
        primary_key_constraint: match row.get(6) {
            Some(Value::Text(name)) if !name.is_empty() => Some(name.clone()),
            _ => None,
        },
        layout,
    })
}

/// The `foreign_keys` column: six NUL-separated fields per key (name, columns, parent id,
/// parent columns, ON DELETE code, ON UPDATE code).
fn encode_foreign_keys(keys: &[ForeignKeyDef]) -> Value {
    let list = |c: &[usize]| c.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let mut parts: Vec<String> = Vec::new();
    for k in keys {
        parts.extend([
            k.name.clone(),
            list(&k.columns),
            k.parent.0.to_string(),
            list(&k.parent_columns),
            k.on_delete.code().to_string(),
            k.on_update.code().to_string(),
        ]);
    }
    Value::Text(parts.join(&NAME_SEPARATOR.to_string()))
}

fn decode_foreign_keys(value: Option<&Value>) -> Result<Vec<ForeignKeyDef>> {
    let Some(Value::Text(text)) = value else { return Ok(Vec::new()) };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || DbError::Corruption(format!("bad foreign key list {text:?}"));
    let parts: Vec<&str> = text.split(NAME_SEPARATOR).collect();
    if !parts.len().is_multiple_of(6) {
        return Err(bad());
    }
    parts
        .chunks(6)
        .map(|p| {
            Ok(ForeignKeyDef {
                name: p[0].to_string(),
                columns: positions(p[1])?,
                parent: TableId(p[2].parse().map_err(|_| bad())?),
                parent_columns: positions(p[3])?,
                on_delete: FkAction::from_code(p[4]).ok_or_else(bad)?,
                on_update: FkAction::from_code(p[5]).ok_or_else(bad)?,
            })
        })
        .collect()
}

/// Replaces table `table`'s foreign keys (in the context's transaction).
pub fn set_foreign_keys(ctx: &mut ExecContext<'_>, table: &TableDef, keys: &[ForeignKeyDef]) -> Result<()> {
    rewrite_table_row(ctx, table, |row| row[5] = encode_foreign_keys(keys))
}

/// The names of the tables whose foreign keys reference each table, by its id: from the
/// catalog cache when it holds them (most tables are referenced by none, and every write asks).
pub fn referencing_tables(ctx: &mut ExecContext<'_>) -> Result<crate::catalog_cache::Referrers> {
    let cache = ctx.engine.catalog_cache().clone();
    let namespace = ctx.namespace()?;
    if !ctx.txn.catalog_changed
        && let Some(r) = cache.referrers(namespace)
    {
        return Ok(r);
    }
    let generation = cache.generation();
    let mut map: std::collections::HashMap<TableId, Vec<(u32, String)>> = std::collections::HashMap::new();
    for t in list_tables(ctx)? {
        for k in &t.foreign_keys {
            let children = map.entry(k.parent).or_default();
            let child = (t.namespace, t.name.clone());
            if !children.contains(&child) {
                children.push(child);
            }
        }
    }
    let map = std::sync::Arc::new(map);
    if !ctx.txn.catalog_changed {
        cache.insert_referrers(generation, namespace, map.clone());
    }
    Ok(map)
}

/// The `checks` column: each constraint's name and predicate, all separated by NUL (which
/// neither an identifier nor SQL text outside a literal can hold, and literals are written
/// with escapes).
fn encode_checks(checks: &[CheckDef]) -> Value {
    let parts: Vec<&str> = checks.iter().flat_map(|c| [c.name.as_str(), c.predicate.as_str()]).collect();
    Value::Text(parts.join(&NAME_SEPARATOR.to_string()))
}

fn decode_checks(value: Option<&Value>) -> Result<Vec<CheckDef>> {
    let Some(Value::Text(text)) = value else { return Ok(Vec::new()) };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = text.split(NAME_SEPARATOR).collect();
    if !parts.len().is_multiple_of(2) {
        return Err(DbError::Corruption(format!("bad CHECK constraint list {text:?}")));
    }
    Ok(parts.chunks(2).map(|p| CheckDef { name: p[0].to_string(), predicate: p[1].to_string() }).collect())
}

/// Replaces table `table`'s CHECK constraints (in the context's transaction).
pub fn set_checks(ctx: &mut ExecContext<'_>, table: &TableDef, checks: &[CheckDef]) -> Result<()> {
    rewrite_table_row(ctx, table, |row| row[4] = encode_checks(checks))
}

/// Replaces table `table`'s `rustydb_tables` row with `change` applied.
fn rewrite_table_row(ctx: &mut ExecContext<'_>, table: &TableDef, change: impl Fn(&mut Vec<Value>)) -> Result<()> {
    changing(ctx);
    let sys = system(System::Tables);
    let id = Value::Int4(table.id.0 as i32);
    for (tid, mut row) in access::scan(ctx, sys)? {
        if row[0] == id {
            row.resize(sys.schema.len(), Value::Null);
            change(&mut row);
            replaced(access::delete(ctx, sys, tid)?)?;
            access::insert_raw(ctx, sys, &row)?;
        }
    }
    Ok(())
}

fn positions(list: &str) -> Result<Vec<usize>> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| DbError::Corruption(format!("bad column position list {list:?}"))))
        .collect()
}

/// An index's key columns as stored: positions, each followed by ` desc` if descending
/// (`"2,0 desc"`).
fn index_columns(list: &str) -> Result<(Vec<usize>, Vec<bool>)> {
    let mut columns = Vec::new();
    let mut descending = Vec::new();
    for part in list.split(',').filter(|s| !s.is_empty()) {
        let (position, desc) = match part.strip_suffix(" desc") {
            Some(p) => (p, true),
            None => (part, false),
        };
        columns.push(
            position.parse::<usize>().map_err(|_| DbError::Corruption(format!("bad index column list {list:?}")))?,
        );
        descending.push(desc);
    }
    Ok((columns, descending))
}

/// The stored form [`index_columns`] reads.
fn encode_index_columns(index: &IndexDef) -> String {
    let columns: Vec<String> = index
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| if index.descending.get(i) == Some(&true) { format!("{c} desc") } else { c.to_string() })
        .collect();
    columns.join(",")
}

fn index_from_row(row: &[Value]) -> Result<IndexDef> {
    let method = text(&row[5])?;
    let (columns, descending) = index_columns(&text(&row[3])?)?;
    Ok(IndexDef {
        id: TableId(int(&row[0])? as u32),
        name: text(&row[1])?,
        namespace: row_namespace(system(System::Indexes), row, 8).unwrap_or(PUBLIC_NAMESPACE),
        table: TableId(int(&row[2])? as u32),
        columns,
        descending,
        unique: row[4] == Value::Bool(true),
        method: IndexMethod::parse(&method)
            .ok_or_else(|| DbError::Corruption(format!("catalog names unknown index method {method:?}")))?,
        primary: row.get(6) == Some(&Value::Bool(true)),
        constraint: row.get(7) == Some(&Value::Bool(true)),
    })
}

/// The indexes of table `table`, as visible to the context's snapshot.
fn table_indexes(ctx: &mut ExecContext<'_>, table: TableId) -> Result<Vec<IndexDef>> {
    let id = Value::Int4(table.0 as i32);
    let mut out = Vec::new();
    // By table id, unique across databases.
    for (_, row) in access::scan_unscoped(ctx, system(System::Indexes))? {
        if row[2] == id {
            out.push(index_from_row(&row)?);
        }
    }
    out.sort_by_key(|i| i.id.0);
    Ok(out)
}

/// Finds an index by its name, qualified or not.
pub fn find_index(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<IndexDef>> {
    let sys = system(System::Indexes);
    let rows = access::scan(ctx, sys)?;
    let wanted = Value::Text(name.name.clone());
    let find =
        |namespace: u32| rows.iter().find(|(_, r)| r[1] == wanted && row_namespace(sys, r, 8) == Some(namespace));
    for namespace in name.namespaces(ctx)? {
        if let Some((_, row)) = find(namespace) {
            return index_from_row(row).map(Some);
        }
    }
    Ok(None)
}

/// Records a new index in the catalog (in the context's transaction).
pub fn create_index(ctx: &mut ExecContext<'_>, index: &IndexDef) -> Result<()> {
    changing(ctx);
    access::insert_raw(
        ctx,
        system(System::Indexes),
        &[
            Value::Int4(index.id.0 as i32),
            Value::Text(index.name.clone()),
            Value::Int4(index.table.0 as i32),
            Value::Text(encode_index_columns(index)),
            Value::Bool(index.unique),
            Value::Text(index.method.name().into()),
            Value::Bool(index.primary),
            Value::Bool(index.constraint),
            Value::Int4(index.namespace as i32),
        ],
    )?;
    Ok(())
}

/// Removes an index's catalog row (in the context's transaction).
pub fn drop_index(ctx: &mut ExecContext<'_>, index: &IndexDef) -> Result<()> {
    changing(ctx);
    let sys = system(System::Indexes);
    let id = Value::Int4(index.id.0 as i32);
    for (tid, row) in access::scan(ctx, sys)? {
        if row[0] == id {
            access::delete(ctx, sys, tid)?;
        }
    }
    Ok(())
}

/// Every user table of the context's database visible to its snapshot.
pub fn list_tables(ctx: &mut ExecContext<'_>) -> Result<Vec<TableDef>> {
    let sys = system(System::Tables);
    let names: Vec<(u32, String)> = access::scan(ctx, sys)?
        .into_iter()
        .map(|(_, r)| Ok((row_namespace(sys, &r, 8).unwrap_or(PUBLIC_NAMESPACE), text(&r[1])?)))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(names.len());
    for (namespace, name) in names {
        out.extend(find_table_in(ctx, namespace, &name)?);
    }
    Ok(out)
}

/// Every user table of every database (the engine's startup).
pub fn list_all_tables(ctx: &mut ExecContext<'_>) -> Result<Vec<TableDef>> {
    let rows = access::scan_unscoped(ctx, system(System::Tables))?;
    rows.iter().map(|(_, row)| table_from_row(ctx, row)).collect()
}

/// True if a relation called `name` exists in `namespace` for anyone: visible to this
/// transaction, or created by a transaction still in progress (whose snapshot this one cannot
/// see). The DDL lock is held while this is asked and the new row written, so two sessions
/// cannot both create `name`.
pub fn name_in_use(ctx: &mut ExecContext<'_>, namespace: u32, name: &str) -> Result<bool> {
    if system_tables().iter().any(|t| t.name == name) {
        return Ok(true);
    }
    // Tables, indexes, views and sequences share one namespace.
    for (sys, column) in [
        (system(System::Tables), 1),
        (system(System::Indexes), 1),
        (system(System::Views), 0),
        (system(System::Sequences), 1),
    ] {
        let heap = ctx.engine.txn_manager().storage().heap(sys.file())?;
        for (tid, row) in access::scan_all_versions(ctx, sys)? {
            if row[column] == Value::Text(name.into())
                && namespace_column(sys).is_none_or(|c| row_namespace(sys, &row, c) == Some(namespace))
                && ctx.engine.txn_manager().liveness(ctx.txn, &heap, tid)? != Liveness::Dead
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A relation by namespace and name (what a view or a DROP names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The namespace (schema) it is in.
    pub namespace: u32,
    /// Its name.
    pub name: String,
}

impl Relation {
    /// Relation `name` of `namespace`.
    pub fn new(namespace: u32, name: &str) -> Self {
        Relation { namespace, name: name.to_string() }
    }
}

/// Whether a table or view called `name` is in `namespace` (what a name in FROM finds).
pub fn relation_exists(ctx: &mut ExecContext<'_>, namespace: u32, name: &str) -> Result<bool> {
    Ok(find_table_in(ctx, namespace, name)?.is_some() || find_view_in(ctx, namespace, name)?.is_some())
}

/// Whether a transaction other than the context's is creating or dropping a table, view,
/// index or sequence in `namespace` (DROP SCHEMA must not take the schema from under it).
pub(crate) fn namespace_has_pending_rows(ctx: &mut ExecContext<'_>, namespace: u32) -> Result<bool> {
    for sys in [system(System::Tables), system(System::Indexes), system(System::Views), system(System::Sequences)] {
        let Some(column) = namespace_column(sys) else { continue };
        let heap = ctx.engine.txn_manager().storage().heap(sys.file())?;
        for (tid, row) in access::scan_all_versions(ctx, sys)? {
            if row_namespace(sys, &row, column) == Some(namespace)
                && matches!(ctx.engine.txn_manager().liveness(ctx.txn, &heap, tid)?, Liveness::Pending(_))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A sequence (CREATE SEQUENCE, or a SERIAL column's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceDef {
    /// Its id (from the relation id sequence; its state file is named by it).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// The namespace (schema) it is in.
    pub namespace: u32,
    /// INCREMENT BY (never 0).
    pub increment: i64,
    /// MINVALUE.
    pub min: i64,
    /// MAXVALUE.
    pub max: i64,
    /// START WITH.
    pub start: i64,
    /// CYCLE.
    pub cycle: bool,
    /// The column that owns it (table id, column position): dropped with the table.
    pub owner: Option<(u32, usize)>,
}

fn sequence_from_row(r: &[Value]) -> Result<SequenceDef> {
    let big = |v: &Value| match v {
        Value::Int8(n) => Ok(*n),
        other => Err(DbError::Corruption(format!("catalog expected a bigint, found {other:?}"))),
    };
    let owner_table = int(&r[7])?;
    Ok(SequenceDef {
        id: int(&r[0])? as u32,
        name: text(&r[1])?,
        namespace: row_namespace(system(System::Sequences), r, 9).unwrap_or(PUBLIC_NAMESPACE),
        increment: big(&r[2])?,
        min: big(&r[3])?,
        max: big(&r[4])?,
        start: big(&r[5])?,
        cycle: r[6] == Value::Bool(true),
        owner: (owner_table != 0).then(|| (owner_table as u32, int(&r[8]).unwrap_or(0) as usize)),
    })
}

/// Records a new sequence (in the context's transaction).
pub fn create_sequence(ctx: &mut ExecContext<'_>, seq: &SequenceDef) -> Result<()> {
    changing(ctx);
    let (owner_table, owner_column) = seq.owner.map_or((0, 0), |(t, c)| (t as i32, c as i32));
    let row = [
        Value::Int4(seq.id as i32),
        Value::Text(seq.name.clone()),
        Value::Int8(seq.increment),
        Value::Int8(seq.min),
        Value::Int8(seq.max),
        Value::Int8(seq.start),
        Value::Bool(seq.cycle),
        Value::Int4(owner_table),
        Value::Int4(owner_column),
        Value::Int4(seq.namespace as i32),
    ];
    access::insert_raw(ctx, system(System::Sequences), &row)?;
    Ok(())
}

/// Every sequence, with its catalog row's address.
pub fn list_sequences(ctx: &mut ExecContext<'_>) -> Result<Vec<(TupleId, SequenceDef)>> {
    let mut out = Vec::new();
    for (tid, row) in access::scan(ctx, system(System::Sequences))? {
        out.push((tid, sequence_from_row(&row)?));
    }
    Ok(out)
}

/// The sequence `name` stands for, qualified or not, with its catalog row's address.
pub fn find_sequence(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<(TupleId, SequenceDef)>> {
    let all = list_sequences(ctx)?;
    for namespace in name.namespaces(ctx)? {
        if let Some(found) = all.iter().find(|(_, s)| s.name == name.name && s.namespace == namespace) {
            return Ok(Some(found.clone()));
        }
    }
    Ok(None)
}

/// The sequence called `name` in namespace `namespace`.
pub fn find_sequence_in(
    ctx: &mut ExecContext<'_>,
    namespace: u32,
    name: &str,
) -> Result<Option<(TupleId, SequenceDef)>> {
    Ok(list_sequences(ctx)?.into_iter().find(|(_, s)| s.name == name && s.namespace == namespace))
}

/// Removes a sequence's catalog row (in the context's transaction).
pub fn drop_sequence(ctx: &mut ExecContext<'_>, tid: TupleId) -> Result<()> {
    changing(ctx);
    access::delete(ctx, system(System::Sequences), tid)?;
    Ok(())
}

/// A view: a stored query, expanded wherever the view is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewDef {
    /// The view's name.
    pub name: String,
    /// The namespace (schema) it is in.
    pub namespace: u32,
    /// The search path its query's names resolve along: its CREATE VIEW's.
    pub search_path: Vec<u32>,
    /// The query, as SQL text.
    pub definition: String,
    /// Its column names (the query's own, or those CREATE VIEW gave).
    pub columns: Vec<String>,
}

/// Separates the stored column names (no identifier holds it: the tokenizer refuses it).
const NAME_SEPARATOR: char = '\u{0}';

/// The view `name` stands for, qualified or not, if it exists.
pub fn find_view(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<(TupleId, ViewDef)>> {
    let all = views(ctx)?;
    let along_path = name.schema.is_none();
    for namespace in name.namespaces(ctx)? {
        if let Some(found) = all.iter().find(|(_, v)| v.name == name.name && v.namespace == namespace) {
            return Ok(Some(found.clone()));
        }
        // A table of the name in this schema is what an unqualified name means.
        if along_path && find_table_in(ctx, namespace, &name.name)?.is_some() {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The view called `name` in namespace `namespace`.
pub fn find_view_in(ctx: &mut ExecContext<'_>, namespace: u32, name: &str) -> Result<Option<(TupleId, ViewDef)>> {
    // A namespace is one database's: no other database's view matches it.
    Ok(views(ctx)?.iter().find(|(_, v)| v.name == name && v.namespace == namespace).cloned())
}

fn view_from_row(row: &[Value]) -> Result<ViewDef> {
    let columns = text(&row[2])?;
    let columns = columns.split(NAME_SEPARATOR).filter(|c| !c.is_empty()).map(str::to_string).collect();
    let namespace = row_namespace(system(System::Views), row, 3).unwrap_or(PUBLIC_NAMESPACE);
    let search_path = match row.get(4) {
        Some(Value::Text(path)) => positions(path)?.into_iter().map(|n| n as u32).collect(),
        // Written before schemas: its own namespace, the only one there was.
        _ => vec![namespace],
    };
    Ok(ViewDef { name: text(&row[0])?, namespace, search_path, definition: text(&row[1])?, columns })
}

/// Records a new view (in the context's transaction).
pub fn create_view(ctx: &mut ExecContext<'_>, view: &ViewDef) -> Result<()> {
    changing(ctx);
    let columns = view.columns.join(&NAME_SEPARATOR.to_string());
    let path: Vec<String> = view.search_path.iter().map(u32::to_string).collect();
    let row = [
        Value::Text(view.name.clone()),
        Value::Text(view.definition.clone()),
        Value::Text(columns),
        Value::Int4(view.namespace as i32),
        Value::Text(path.join(",")),
    ];
    access::insert_raw(ctx, system(System::Views), &row)?;
    Ok(())
}

/// Removes a view's catalog row (in the context's transaction).
pub fn drop_view(ctx: &mut ExecContext<'_>, tid: TupleId) -> Result<()> {
    changing(ctx);
    match access::delete(ctx, system(System::Views), tid)? {
        rustydb_txn::Delete::Done => Ok(()),
        _ => Err(DbError::serialization_failure()),
    }
}

/// Records a new table in the catalog (in the context's transaction).
pub fn create_table(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<()> {
    changing(ctx);
    let pk: Vec<String> = table.primary_key.iter().map(usize::to_string).collect();
    let id = Value::Int4(table.id.0 as i32);
    access::insert_raw(
        ctx,
        system(System::Tables),
        &[
            id.clone(),
            Value::Text(table.name.clone()),
            Value::Text(pk.join(",")),
            Value::Text(table.compression.name().into()),
            encode_checks(&table.checks),
            encode_foreign_keys(&table.foreign_keys),
            Value::Text(table.primary_key_constraint.clone().unwrap_or_default()),
            Value::Int4(table.slot_count() as i32),
            Value::Int4(table.namespace as i32),
        ],
    )?;
    for (pos, col) in table.schema.columns.iter().enumerate() {
        access::insert_raw(ctx, system(System::Columns), &column_row(table, pos, col, table.slot(pos)))?;
    }
    Ok(())
}

/// A `rustydb_columns` row.
fn column_row(table: &TableDef, position: usize, col: &Column, slot: usize) -> [Value; 8] {
    [
        Value::Int4(table.id.0 as i32),
        Value::Int4(position as i32),
        Value::Text(col.name.clone()),
        Value::Int4(col.data_type.oid() as i32),
        Value::Int4(col.data_type.type_modifier()),
        Value::Bool(!col.nullable),
        Value::Text(col.default.clone().unwrap_or_default()),
        Value::Int4(slot as i32),
    ]
}

/// Adds column `col` to `table` after its last (in the context's transaction). Rows already
/// stored are shorter; they read the new column as NULL until rewritten.
pub fn add_column(ctx: &mut ExecContext<'_>, table: &TableDef, col: &Column) -> Result<()> {
    changing(ctx);
    let slot = table.slot_count();
    access::insert_raw(ctx, system(System::Columns), &column_row(table, table.schema.len(), col, slot))?;
    rewrite_table_row(ctx, table, |row| row[7] = Value::Int4(slot as i32 + 1))
}

/// Marks column `position` of `table` NOT NULL (in the context's transaction).
pub fn set_not_null(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize) -> Result<()> {
    rewrite_column(ctx, table, position, |row| row[5] = Value::Bool(true))
}

/// Lets column `position` of `table` hold NULL (in the context's transaction).
pub fn set_nullable(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize) -> Result<()> {
    rewrite_column(ctx, table, position, |row| row[5] = Value::Bool(false))
}

/// Gives column `position` of `table` type `to` (in the context's transaction).
pub fn set_column_type(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, to: DataType) -> Result<()> {
    rewrite_column(ctx, table, position, |row| {
        row[3] = Value::Int4(to.oid() as i32);
        row[4] = Value::Int4(to.type_modifier());
    })
}

/// Sets or drops column `position`'s DEFAULT (in the context's transaction).
pub fn set_default(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, default: Option<&str>) -> Result<()> {
    rewrite_column(ctx, table, position, |row| row[6] = Value::Text(default.unwrap_or_default().to_string()))
}

/// Replaces the catalog row of column `position` of `table` with `change` applied. Rows
/// written before a column of `rustydb_columns` existed are filled out first.
fn rewrite_column(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    position: usize,
    change: impl Fn(&mut Vec<Value>),
) -> Result<()> {
    changing(ctx);
    let sys = system(System::Columns);
    let (id, pos) = (Value::Int4(table.id.0 as i32), Value::Int4(position as i32));
    for (tid, mut row) in access::scan(ctx, sys)? {
        if row[0] == id && row[1] == pos {
            let before = row.clone();
            // Rows from before `default_expr` and `slot` existed: none, and the position.
            if row.len() < 7 {
                row.resize(7, Value::Text(String::new()));
            }
            row.resize(sys.schema.len(), Value::Null);
            change(&mut row);
            if row != before {
                access::delete(ctx, sys, tid)?;
                access::insert_raw(ctx, sys, &row)?;
            }
        }
    }
    Ok(())
}

/// Replaces, in system table `def`, each row `change` alters (it returns whether it did), in
/// the context's transaction. Rows are widened to the table's columns first (rows written
/// before a later column existed are shorter).
pub(crate) fn rewrite_rows(
    ctx: &mut ExecContext<'_>,
    def: &TableDef,
    mut change: impl FnMut(&mut Vec<Value>) -> Result<bool>,
) -> Result<usize> {
    let mut changed = 0;
    for (tid, mut row) in access::scan(ctx, def)? {
        let width = row.len().max(def.schema.len());
        row.resize(width, Value::Null);
        if change(&mut row)? {
            changing(ctx);
            replaced(access::delete(ctx, def, tid)?)?;
            access::insert_raw(ctx, def, &row)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// A catalog row about to be replaced must have been deleted now: one another transaction
/// changed meanwhile is a conflict (40001), never a second copy of the row.
fn replaced(outcome: rustydb_txn::Delete) -> Result<()> {
    match outcome {
        rustydb_txn::Delete::Done | rustydb_txn::Delete::AlreadyMine => Ok(()),
        _ => Err(DbError::serialization_failure()),
    }
}

/// Renames table `table` (in the context's transaction). Its primary key keeps its name, as
/// in PostgreSQL.
pub fn rename_table(ctx: &mut ExecContext<'_>, table: &TableDef, to: &str) -> Result<()> {
    let pkey = (!table.primary_key.is_empty()).then(|| table.primary_key_name());
    rewrite_table_row(ctx, table, |row| {
        row[1] = Value::Text(to.into());
        if let Some(name) = &pkey {
            row[6] = Value::Text(name.clone());
        }
    })
}

/// Renames the primary key constraint CREATE TABLE declared for `table`.
pub fn rename_primary_key(ctx: &mut ExecContext<'_>, table: &TableDef, to: &str) -> Result<()> {
    rewrite_table_row(ctx, table, |row| row[6] = Value::Text(to.into()))
}

/// Renames column `position` of `table` (in the context's transaction).
pub fn rename_column(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, to: &str) -> Result<()> {
    rewrite_column(ctx, table, position, |row| row[2] = Value::Text(to.into()))
}

/// Renames index `index` (in the context's transaction).
pub fn rename_index(ctx: &mut ExecContext<'_>, index: &IndexDef, to: &str) -> Result<()> {
    let id = Value::Int4(index.id.0 as i32);
    rewrite_rows(ctx, system(System::Indexes), |row| {
        Ok(row[0] == id && {
            row[1] = Value::Text(to.into());
            true
        })
    })?;
    Ok(())
}

/// Replaces view `view`'s catalog row (at `tid`) with `view` (in the context's transaction).
pub fn replace_view(ctx: &mut ExecContext<'_>, tid: TupleId, view: &ViewDef) -> Result<()> {
    drop_view(ctx, tid)?;
    create_view(ctx, view)
}

/// Removes column `position` from `table`'s catalog rows, leaving the definition `narrowed`
/// (the table without it: later positions one less, and the keys, indexes, CHECK constraints
/// and foreign keys that remain). Indexes `narrowed` no longer holds are the caller's to drop;
/// the sequences the table's columns own move with their columns.
pub fn drop_column(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, narrowed: &TableDef) -> Result<()> {
    changing(ctx);
    let id = Value::Int4(table.id.0 as i32);
    let columns = system(System::Columns);
    for (tid, mut row) in access::scan(ctx, columns)? {
        if row[0] != id {
            continue;
        }
        let pos = int(&row[1])? as usize;
        if pos >= position {
            access::delete(ctx, columns, tid)?;
        }
        if pos > position {
            // The column keeps its slot (stored explicitly: NULL would now mean pos - 1).
            row.resize(columns.schema.len(), Value::Null);
            row[1] = Value::Int4(pos as i32 - 1);
            row[7] = Value::Int4(table.slot(pos) as i32);
            access::insert_raw(ctx, columns, &row)?;
        }
    }
    let pk: Vec<String> = narrowed.primary_key.iter().map(usize::to_string).collect();
    let slot_count = table.slot_count();
    rewrite_table_row(ctx, table, |row| {
        row[7] = Value::Int4(slot_count as i32);
        row[2] = Value::Text(pk.join(","));
        row[4] = encode_checks(&narrowed.checks);
        row[5] = encode_foreign_keys(&narrowed.foreign_keys);
    })?;
    for index in &narrowed.indexes {
        let index_id = Value::Int4(index.id.0 as i32);
        rewrite_rows(ctx, system(System::Indexes), |row| {
            let list = Value::Text(encode_index_columns(index));
            Ok(row[0] == index_id && row[3] != list && {
                row[3] = list;
                true
            })
        })?;
    }
    rewrite_rows(ctx, system(System::Sequences), |row| {
        let owner_column = int(&row[8]).unwrap_or(0);
        Ok(row[7] == id && owner_column as usize > position && {
            row[8] = Value::Int4(owner_column - 1);
            true
        })
    })?;
    Ok(())
}

/// Replaces table `table`'s statistics by `stats` (in the context's transaction).
pub fn replace_statistics(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    stats: &crate::statistics::TableStats,
) -> Result<()> {
    changing(ctx);
    forget_statistics(ctx, table)?;
    let sys = system(System::Statistic);
    let id = Value::Int4(table.id.0 as i32);
    let float = Value::Float8;
    access::insert_raw(
        ctx,
        sys,
        &[
            id.clone(),
            Value::Int4(-1),
            Value::Int4(0),
            Value::Int4(-1),
            float(stats.rows),
            float(0.0),
            Value::Int4(0),
            float(0.0),
            Value::Text(String::new()),
            Value::Text(String::new()),
            Value::Text(String::new()),
        ],
    )?;
    for (position, column) in stats.columns.iter().enumerate() {
        let (Some(c), Some(def)) = (column, table.schema.columns.get(position)) else { continue };
        let freqs: Vec<String> = c.mcf.iter().map(|f| f.to_string()).collect();
        access::insert_raw(
            ctx,
            sys,
            &[
                id.clone(),
                Value::Int4(position as i32),
                Value::Int4(def.data_type.oid() as i32),
                Value::Int4(def.data_type.type_modifier()),
                float(stats.rows),
                float(c.null_frac),
                Value::Int4(c.avg_width),
                float(c.n_distinct),
                Value::Text(crate::statistics::encode_values(&c.mcv)),
                Value::Text(freqs.join(",")),
                Value::Text(crate::statistics::encode_values(&c.histogram)),
            ],
        )?;
    }
    Ok(())
}

/// Removes table `table`'s statistics (it was dropped, or its columns moved or changed type).
pub fn forget_statistics(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<()> {
    let sys = system(System::Statistic);
    let id = Value::Int4(table.id.0 as i32);
    for (tid, row) in access::scan(ctx, sys)? {
        if row[0] == id {
            changing(ctx);
            replaced(access::delete(ctx, sys, tid)?)?;
        }
    }
    Ok(())
}

/// Removes column `position`'s statistics; with `shift`, those of the columns after it move
/// down one place (the column was dropped).
pub fn forget_column_statistics(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    position: usize,
    shift: bool,
) -> Result<()> {
    let sys = system(System::Statistic);
    let id = Value::Int4(table.id.0 as i32);
    for (tid, mut row) in access::scan(ctx, sys)? {
        if row[0] != id {
            continue;
        }
        let pos = int(&row[1])?;
        if pos == position as i32 || (shift && pos > position as i32) {
            changing(ctx);
            replaced(access::delete(ctx, sys, tid)?)?;
        }
        if shift && pos > position as i32 {
            row[1] = Value::Int4(pos - 1);
            access::insert_raw(ctx, sys, &row)?;
        }
    }
    Ok(())
}

/// Every table's statistics as the catalog holds them.
pub fn read_statistics(ctx: &mut ExecContext<'_>) -> Result<HashMap<TableId, crate::statistics::TableStats>> {
    let mut out: HashMap<TableId, crate::statistics::TableStats> = HashMap::new();
    let float = |v: &Value| match v {
        Value::Float8(f) => Ok(*f),
        other => Err(DbError::Corruption(format!("statistics expected a double, found {other:?}"))),
    };
    for (_, row) in access::scan(ctx, system(System::Statistic))? {
        let table = TableId(int(&row[0])? as u32);
        let position = int(&row[1])?;
        let entry =
            out.entry(table).or_insert_with(|| crate::statistics::TableStats { rows: 0.0, columns: Vec::new() });
        entry.rows = float(&row[4])?;
        if position < 0 {
            continue;
        }
        let ty = data_type_from_oid(int(&row[2])?, int(&row[3])?)?;
        let mcf = text(&row[9])?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f64>().map_err(|_| DbError::Corruption(format!("bad frequency list {s:?}"))))
            .collect::<Result<Vec<_>>>()?;
        // A column whose values no longer read (its type changed since) has no statistics.
        let (Ok(mcv), Ok(histogram)) = (
            crate::statistics::decode_values(&text(&row[8])?, ty),
            crate::statistics::decode_values(&text(&row[10])?, ty),
        ) else {
            continue;
        };
        if mcv.len() != mcf.len() {
            continue;
        }
        let column = crate::statistics::ColumnStats {
            null_frac: float(&row[5])?,
            avg_width: int(&row[6])?,
            n_distinct: float(&row[7])?,
            mcv,
            mcf,
            histogram,
        };
        let position = position as usize;
        if entry.columns.len() <= position {
            entry.columns.resize(position + 1, None);
        }
        entry.columns[position] = Some(column);
    }
    Ok(out)
}

/// Removes a table's catalog rows (in the context's transaction).
pub fn drop_table(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<()> {
    changing(ctx);
    let id = Value::Int4(table.id.0 as i32);
    for sys in [system(System::Tables), system(System::Columns)] {
        for (tid, row) in access::scan(ctx, sys)? {
            if row[0] == id {
                access::delete(ctx, sys, tid)?;
            }
        }
    }
    for index in &table.indexes {
        drop_index(ctx, index)?;
    }
    forget_statistics(ctx, table)?;
    Ok(())
}

/// The highest table id in any version of any `rustydb_tables` row, committed or not, so ids
/// are never handed out twice.
pub fn max_table_id(ctx: &mut ExecContext<'_>) -> Result<u32> {
    let mut max = FIRST_USER_TABLE - 1;
    for sys in [System::Tables, System::Indexes] {
        for (_, row) in access::scan_all_versions(ctx, system(sys))? {
            max = max.max(int(&row[0])? as u32);
        }
    }
    Ok(max)
}

/// What VACUUM must keep of the catalogs that hand out ids: in `rustydb_tables` and
/// `rustydb_indexes` ([`max_table_id`] reads them), `rustydb_databases` and
/// `rustydb_namespaces`, the versions holding the highest id any version holds, as (the id's
/// column, the id). That version may be dead (its object dropped), and is then the only record
/// that the id was handed out: removing it would let the id be handed out again — to a table
/// whose file the log's record of the old DROP could remove at the next recovery, or to a
/// database that would inherit what was left of the old one's. `None` for every other table.
pub fn id_high_water(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Option<(usize, i32)>> {
    let column = match table.id.0 {
        t if t == System::Tables as u32 || t == System::Indexes as u32 || t == System::Namespaces as u32 => 0,
        t if t == System::Databases as u32 => 2,
        _ => return Ok(None),
    };
    let mut max = None;
    for (_, row) in access::scan_all_versions(ctx, table)? {
        if let Some(Value::Int4(id)) = row.get(column) {
            max = max.max(Some(*id));
        }
    }
    Ok(max.map(|id| (column, id)))
}

/// Finds a role by name.
pub fn find_role(ctx: &mut ExecContext<'_>, name: &str) -> Result<Option<RoleDef>> {
    Ok(find_role_row(ctx, name)?.map(|(_, role)| role))
}

/// Finds a role by name, with its catalog row's address.
pub fn find_role_row(ctx: &mut ExecContext<'_>, name: &str) -> Result<Option<(TupleId, RoleDef)>> {
    for (tid, row) in access::scan(ctx, system(System::Roles))? {
        if row[0] == Value::Text(name.into()) {
            return Ok(Some((tid, role_from_row(&row)?)));
        }
    }
    Ok(None)
}

/// Every role, in the order they were created (the bootstrap superuser first).
pub fn list_roles(ctx: &mut ExecContext<'_>) -> Result<Vec<RoleDef>> {
    access::scan(ctx, system(System::Roles))?.iter().map(|(_, r)| role_from_row(r)).collect()
}

/// A role's catalog row. Rows written before a column existed are shorter: the missing
/// columns read as PostgreSQL's defaults.
fn role_from_row(r: &[Value]) -> Result<RoleDef> {
    let flag = |i: usize, default: bool| match r.get(i) {
        Some(Value::Bool(b)) => *b,
        _ => default,
    };
    Ok(RoleDef {
        name: text(&r[0])?,
        superuser: flag(1, false),
        can_login: flag(2, false),
        create_db: flag(3, flag(1, false)),
        create_role: flag(4, flag(1, false)),
        inherit: flag(5, true),
        connection_limit: match r.get(6) {
            Some(Value::Int4(n)) => *n,
            _ => -1,
        },
        valid_until: match r.get(7) {
            Some(Value::TimestampTz(t)) if *t != i64::MAX => Some(*t),
            _ => None,
        },
        password: match r.get(8) {
            Some(Value::Text(p)) if !p.is_empty() => Some(p.clone()),
            _ => None,
        },
        password_outside: match r.get(9) {
            Some(Value::Text(p)) if !p.is_empty() => Some(p.clone()),
            _ => None,
        },
        password_history: match r.get(10) {
            Some(Value::Text(h)) => h.split('\n').filter(|v| !v.is_empty()).map(str::to_string).collect(),
            _ => Vec::new(),
        },
    })
}

fn role_row(role: &RoleDef) -> [Value; 11] {
    [
        Value::Text(role.name.clone()),
        Value::Bool(role.superuser),
        Value::Bool(role.can_login),
        Value::Bool(role.create_db),
        Value::Bool(role.create_role),
        Value::Bool(role.inherit),
        Value::Int4(role.connection_limit),
        Value::TimestampTz(role.valid_until.unwrap_or(i64::MAX)),
        Value::Text(role.password.clone().unwrap_or_default()),
        Value::Text(role.password_outside.clone().unwrap_or_default()),
        // Verifiers hold no newline.
        Value::Text(role.password_history.join("\n")),
    ]
}

/// Records a new role (in the context's transaction).
pub fn create_role(ctx: &mut ExecContext<'_>, role: &RoleDef) -> Result<()> {
    changing(ctx);
    access::insert_raw(ctx, system(System::Roles), &role_row(role))?;
    Ok(())
}

/// Replaces the role whose row is at `tid` (in the context's transaction).
pub fn replace_role(ctx: &mut ExecContext<'_>, tid: TupleId, role: &RoleDef) -> Result<()> {
    drop_role(ctx, tid)?;
    create_role(ctx, role)
}

/// Removes the role whose row is at `tid` (in the context's transaction).
pub fn drop_role(ctx: &mut ExecContext<'_>, tid: TupleId) -> Result<()> {
    changing(ctx);
    access::delete(ctx, system(System::Roles), tid)?;
    Ok(())
}

/// `rustydb_databases`: name, owner, database id (see `databases.rs`).
pub(crate) fn databases_table() -> &'static TableDef {
    system(System::Databases)
}

/// `rustydb_descriptions`: object oid, catalog oid, sub-id, text (see `comments.rs`).
pub(crate) fn descriptions_table() -> &'static TableDef {
    system(System::Descriptions)
}

/// `rustydb_namespaces`: namespace id, name, database id, owner (see `databases.rs`).
pub(crate) fn namespaces_table() -> &'static TableDef {
    system(System::Namespaces)
}

/// Deletes every catalog row of the context's database's objects that is left once its tables
/// and sequences are dropped (views, owners, ACLs, policies): DROP DATABASE.
pub(crate) fn delete_namespace_rows(ctx: &mut ExecContext<'_>) -> Result<()> {
    changing(ctx);
    for sys in system_tables() {
        let Some(column) = namespace_column(sys) else { continue };
        for (tid, row) in access::scan(ctx, sys)? {
            if row_namespace(sys, &row, column).is_some() {
                access::delete(ctx, sys, tid)?;
            }
        }
    }
    Ok(())
}

/// Every database: its name and its owner's name.
pub fn list_databases(ctx: &mut ExecContext<'_>) -> Result<Vec<(String, String)>> {
    let mut databases = Vec::new();
    for (_, r) in access::scan(ctx, system(System::Databases))? {
        databases.push((text(&r[0])?, text(&r[1])?));
    }
    Ok(databases)
}

/// Every view, with where its catalog row is.
pub fn list_views(ctx: &mut ExecContext<'_>) -> Result<Vec<(TupleId, ViewDef)>> {
    let all = views(ctx)?;
    let schemas = ctx.schemas()?;
    Ok(all.iter().filter(|(_, v)| schemas.contains(v.namespace)).cloned().collect())
}

/// Views, from the catalog cache when it holds them (every reference to a view, and every
/// unqualified name the search path passes, asks). The cache holds every database's:
/// callers pick their database's by namespace.
fn views(ctx: &mut ExecContext<'_>) -> Result<crate::catalog_cache::Views> {
    let decode = |rows: Vec<(TupleId, Vec<Value>)>| -> Result<Vec<(TupleId, ViewDef)>> {
        rows.into_iter().map(|(tid, row)| Ok((tid, view_from_row(&row)?))).collect()
    };
    if ctx.txn.catalog_changed {
        let rows = access::scan(ctx, system(System::Views))?;
        return Ok(std::sync::Arc::new(decode(rows)?));
    }
    let cache = ctx.engine.catalog_cache().clone();
    let all = match cache.views() {
        Some(all) => all,
        None => {
            let generation = cache.generation();
            let rows = ctx.with_catalog_snapshot(|ctx| access::scan_unscoped(ctx, system(System::Views)))?;
            let all: crate::catalog_cache::Views = std::sync::Arc::new(decode(rows)?);
            cache.insert_views(generation, all.clone());
            all
        }
    };
    Ok(all)
}

/// Gives the databases owned by role `from` to the same role under its new name `to`.
pub fn rename_database_owner(ctx: &mut ExecContext<'_>, from: &str, to: &str) -> Result<()> {
    let table = system(System::Databases);
    for (tid, r) in access::scan(ctx, table)? {
        if r[1] == Value::Text(from.into()) {
            changing(ctx);
            let mut row = r.clone();
            row[1] = Value::Text(to.into());
            replaced(access::delete(ctx, table, tid)?)?;
            access::insert_raw(ctx, table, &row)?;
        }
    }
    Ok(())
}

/// True if the database exists.
pub fn database_exists(ctx: &mut ExecContext<'_>, name: &str) -> Result<bool> {
    Ok(access::scan(ctx, system(System::Databases))?.iter().any(|(_, r)| r[0] == Value::Text(name.into())))
}

/// Writes the first-start contents: the bootstrap superuser and databases.
pub fn bootstrap(ctx: &mut ExecContext<'_>, superuser: &str, database: &str) -> Result<()> {
    let role =
        RoleDef { superuser: true, can_login: true, create_db: true, create_role: true, ..RoleDef::new(superuser) };
    access::insert_raw(ctx, system(System::Roles), &role_row(&role))?;
    crate::databases::bootstrap(ctx, superuser, database)
}

fn int(v: &Value) -> Result<i32> {
    match v {
        Value::Int4(i) => Ok(*i),
        other => Err(DbError::Corruption(format!("catalog expected an integer, found {other:?}"))),
    }
}

pub(crate) fn text(v: &Value) -> Result<String> {
    match v {
        Value::Text(s) => Ok(s.clone()),
        other => Err(DbError::Corruption(format!("catalog expected text, found {other:?}"))),
    }
}
