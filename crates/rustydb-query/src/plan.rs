//! Bound statements: what the binder produces and the executor runs. Nothing here refers to
//! sqlparser's AST; names are resolved to catalog entries and column positions, and every
//! expression is typed.

use crate::catalog::{IndexDef, IndexMethod, TableDef};
use crate::check_constraint::BoundCheck;
use crate::expr::Expr;
use crate::rel::Rel;
use crate::result::ResultColumn;
use rustydb_foundation::Column;
use rustydb_txn::{IsolationLevel, LockMode, WaitPolicy};

/// How rows of a table are found.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Read every page.
    SeqScan,
    /// Look the primary key up in its index; the expressions are constant, one per key column.
    PrimaryKey(Vec<Expr>),
    /// Look a key up in a secondary index; constant expressions, one per index column.
    Index {
        /// The index.
        index: IndexDef,
        /// The key.
        key: Vec<Expr>,
    },
    /// Scan a range of a B+tree's first column: the primary key's (`index` is `None`) or a
    /// secondary index's. At least one end is set; rows with NULL there are never in range.
    IndexRange {
        /// The index (`None`: the primary key).
        index: Option<IndexDef>,
        /// Lower end.
        lower: Option<RangeEnd>,
        /// Upper end.
        upper: Option<RangeEnd>,
    },
}

impl Access {
    /// The key and range-end expressions.
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            Access::SeqScan => Vec::new(),
            Access::PrimaryKey(key) | Access::Index { key, .. } => key.iter().collect(),
            Access::IndexRange { lower, upper, .. } => lower.iter().chain(upper.iter()).map(|end| &end.value).collect(),
        }
    }

    /// The key and range-end expressions, mutably.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Access::SeqScan => Vec::new(),
            Access::PrimaryKey(key) | Access::Index { key, .. } => key.iter_mut().collect(),
            Access::IndexRange { lower, upper, .. } => {
                lower.iter_mut().chain(upper.iter_mut()).map(|end| &mut end.value).collect()
            }
        }
    }
}

/// One end of an index range: a constant, and whether it is included.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeEnd {
    /// The bound (constant).
    pub value: Expr,
    /// `<=` / `>=` rather than `<` / `>`.
    pub inclusive: bool,
}

/// One ORDER BY key, evaluated over the sort's input row.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The key.
    pub expr: Expr,
    /// Descending order.
    pub descending: bool,
    /// NULLs before non-NULLs (PostgreSQL's default: NULLS LAST ascending, FIRST descending).
    pub nulls_first: bool,
}

/// A bound, optimized and resolved query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    /// The operators.
    pub rel: Rel,
    /// Output column names and types.
    pub columns: Vec<ResultColumn>,
}

/// `FOR SHARE` or `FOR UPDATE`, with what to do about rows others hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLockClause {
    /// FOR UPDATE (X) rather than FOR SHARE (S).
    pub exclusive: bool,
    /// Wait, NOWAIT or SKIP LOCKED.
    pub policy: WaitPolicy,
}

/// Rows for an INSERT.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertSource {
    /// `VALUES (...), (...)`: one expression per table column, already coerced.
    Values(Vec<Vec<Expr>>),
    /// `INSERT ... SELECT`: the query, then one expression per table column over its output row.
    Query(Box<QueryPlan>, Vec<Expr>),
}

/// RETURNING: what each row an INSERT, UPDATE or DELETE writes gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Returning {
    /// One expression per output column, over the row as written (the old row for DELETE),
    /// by table position.
    pub exprs: Vec<Expr>,
    /// The output columns.
    pub columns: Vec<ResultColumn>,
}

/// The unique constraints an `ON CONFLICT` clause arbitrates on: a conflict on one of these
/// takes the clause's action; a conflict on any other is still 23505.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arbiters {
    /// The table's own primary key.
    pub primary_key: bool,
    /// Unique secondary indexes (an `ALTER TABLE ... ADD PRIMARY KEY`'s among them), by id.
    pub indexes: Vec<rustydb_foundation::TableId>,
}

impl Arbiters {
    /// Whether the unique index `index` arbitrates.
    pub fn has_index(&self, index: &IndexDef) -> bool {
        self.indexes.contains(&index.id)
    }

    /// Whether nothing arbitrates (a plain INSERT).
    pub fn is_empty(&self) -> bool {
        !self.primary_key && self.indexes.is_empty()
    }
}

/// What `ON CONFLICT` does with a row that conflicts on an arbiter.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictAction {
    /// DO NOTHING: the row is skipped.
    Nothing,
    /// DO UPDATE: the existing row is updated. The expressions read the existing row's
    /// columns at table positions `0..n` and the proposed row's (`excluded`) at `n..2n`.
    Update {
        /// (column position, new value).
        assignments: Vec<(usize, Expr)>,
        /// `WHERE`: rows that fail it are left alone.
        filter: Option<Expr>,
        /// Row-level security's WITH CHECK over the updated row (table positions).
        check: Option<Expr>,
    },
}

/// The join that finds the rows of `UPDATE ... FROM` and `DELETE ... USING` (see
/// [`crate::dml_join`]): each row is the target's row, its tuple id, then the other relations'
/// columns the statement reads.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedRows {
    /// The join, resolved.
    pub rel: Rel,
    /// The target's width: its row is `row[..width]`, its tuple id `row[width]`.
    pub width: usize,
    /// WHERE and row-level security's USING over the joined row: checked on every row found,
    /// and again on a row's newest version when a concurrent update replaced it.
    pub filter: Option<Expr>,
}

/// `INSERT ... ON CONFLICT`.
#[derive(Debug, Clone, PartialEq)]
pub struct OnConflict {
    /// The constraints it arbitrates on.
    pub arbiters: Arbiters,
    /// What it does.
    pub action: ConflictAction,
}

/// A bound statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// SELECT (and VALUES, and set operations).
    Select(QueryPlan),
    /// EXPLAIN [ANALYZE] of a query.
    Explain(Box<crate::explain::Explain>),
    /// CREATE / ALTER / DROP ROLE.
    Role(crate::roles::RoleStatement),
    /// GRANT / REVOKE, ALTER ... OWNER TO.
    Grant(crate::grant::GrantStatement),
    /// CREATE / ALTER / DROP POLICY, ALTER TABLE ... ROW LEVEL SECURITY.
    Policy(crate::row_security::PolicyStatement),
    /// `ALTER TABLE ... ALTER COLUMN ... SET DEFAULT expr | DROP DEFAULT`.
    SetDefault {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The column's position.
        position: usize,
        /// The new default's SQL text (`None`: drop it).
        default: Option<String>,
    },
    /// `ALTER TABLE ... ADD [CONSTRAINT name] PRIMARY KEY | UNIQUE (columns)`.
    AddKey {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The constraint's name, if given.
        name: Option<String>,
        /// Key column positions.
        columns: Vec<usize>,
        /// PRIMARY KEY rather than UNIQUE.
        primary: bool,
    },
    /// `COPY ... TO STDOUT`: the query's rows in a COPY format.
    CopyTo {
        /// The rows.
        plan: QueryPlan,
        /// Format and options.
        options: crate::copy::CopyOptions,
    },
    /// INSERT.
    Insert {
        /// Target.
        table: TableDef,
        /// Rows.
        source: InsertSource,
        /// Row-level security's WITH CHECK over each new row (table positions).
        check: Option<Expr>,
        /// The table's CHECK constraints.
        constraints: Vec<BoundCheck>,
        /// ON CONFLICT.
        on_conflict: Option<OnConflict>,
        /// RETURNING.
        returning: Option<Returning>,
    },
    /// UPDATE.
    Update {
        /// Target.
        table: TableDef,
        /// (column position, new value over the old row).
        assignments: Vec<(usize, Expr)>,
        /// WHERE.
        filter: Option<Expr>,
        /// How target rows are found.
        access: Access,
        /// Row-level security's WITH CHECK over each new row (table positions).
        check: Option<Expr>,
        /// The table's CHECK constraints.
        constraints: Vec<BoundCheck>,
        /// RETURNING.
        returning: Option<Returning>,
        /// `FROM`: the rows come from this join (and the expressions are over its rows).
        from: Option<JoinedRows>,
    },
    /// DELETE.
    Delete {
        /// Target.
        table: TableDef,
        /// WHERE.
        filter: Option<Expr>,
        /// How target rows are found.
        access: Access,
        /// RETURNING.
        returning: Option<Returning>,
        /// `USING`: the rows come from this join (and RETURNING is over its rows).
        using: Option<JoinedRows>,
    },
    /// CREATE / DROP / ALTER SCHEMA (see `schemas.rs`).
    Schema(crate::schemas::SchemaCommand),
    /// CREATE TABLE.
    CreateTable {
        /// Name.
        name: String,
        /// The namespace (schema) it goes in.
        namespace: u32,
        /// Columns.
        columns: Vec<Column>,
        /// Primary key column positions.
        primary_key: Vec<usize>,
        /// UNIQUE constraints: name (if given) and column positions, each kept by a unique
        /// B+tree index.
        unique: Vec<(Option<String>, Vec<usize>)>,
        /// `WITH (compression = ...)`.
        compression: rustydb_storage::Compression,
        /// `WITH (encrypted = ...)`; `None`: the key store's default.
        encrypted: Option<bool>,
        /// IF NOT EXISTS.
        if_not_exists: bool,
        /// SERIAL and identity columns: position, the range of the integer type and the
        /// sequence options (each gets a sequence it owns and a `nextval` default).
        serials: Vec<(usize, (i64, i64), Vec<sqlparser::ast::SequenceOptions>)>,
        /// CHECK constraints, named.
        checks: Vec<crate::catalog::CheckDef>,
        /// Foreign keys, named (a parent of `TableId(0)` is the new table itself).
        foreign_keys: Vec<crate::catalog::ForeignKeyDef>,
    },
    /// `CREATE TABLE ... AS` and `SELECT ... INTO` (see `create_table_as.rs`).
    CreateTableAs(crate::create_table_as::CreateTableAs),
    /// `ALTER TABLE ... DROP COLUMN | RENAME ...`, `ALTER INDEX ... RENAME TO` (see
    /// `alter_table.rs`).
    AlterTable {
        /// The change.
        action: crate::alter_table::AlterAction,
        /// The command tag (`ALTER TABLE`, `ALTER INDEX`).
        command: &'static str,
    },
    /// MERGE.
    Merge(Box<crate::merge::MergePlan>),
    /// `ANALYZE [table [(columns)]]` (see `statistics.rs`).
    Analyze {
        /// The tables with the columns to look at (none: all); empty for every table.
        targets: Vec<(crate::catalog::QualifiedName, Vec<String>)>,
        /// VERBOSE.
        verbose: bool,
    },
    /// An ALTER TABLE of several actions, one statement each, bound and run in turn.
    AlterTableSteps(Vec<sqlparser::ast::Statement>),
    /// `ALTER TABLE ... ADD [CONSTRAINT name] FOREIGN KEY ...`.
    AddForeignKey {
        /// The table (locked SHARE ROW EXCLUSIVE).
        table: TableDef,
        /// The constraint, named.
        fk: crate::catalog::ForeignKeyDef,
    },
    /// `ALTER TABLE ... ADD [COLUMN] [IF NOT EXISTS] column ...`.
    AddColumn {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The new column (its default as SQL text).
        column: Column,
        /// IF NOT EXISTS.
        if_not_exists: bool,
        /// A UNIQUE constraint on it: its name, if given.
        unique: Option<Option<String>>,
        /// A CHECK constraint on it, named.
        check: Option<crate::catalog::CheckDef>,
    },
    /// `ALTER TABLE ... ADD [CONSTRAINT name] CHECK (...)`.
    AddCheck {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The constraint, named.
        check: crate::catalog::CheckDef,
    },
    /// `ALTER TABLE ... DROP CONSTRAINT [IF EXISTS] name`.
    DropConstraint {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The constraint's name.
        name: String,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// CREATE SEQUENCE (its id is handed out when it runs).
    CreateSequence {
        /// The definition.
        def: crate::catalog::SequenceDef,
        /// IF NOT EXISTS.
        if_not_exists: bool,
    },
    /// DROP SEQUENCE.
    DropSequence {
        /// Names.
        names: Vec<crate::catalog::QualifiedName>,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// CREATE [UNIQUE] INDEX.
    CreateIndex {
        /// Name (PostgreSQL's `table_col_idx` if none was given).
        name: Option<String>,
        /// The indexed table.
        table: TableDef,
        /// Key column positions.
        columns: Vec<usize>,
        /// Per key column: DESC.
        descending: Vec<bool>,
        /// UNIQUE.
        unique: bool,
        /// USING.
        method: IndexMethod,
        /// IF NOT EXISTS.
        if_not_exists: bool,
    },
    /// DROP INDEX.
    DropIndex {
        /// Names.
        names: Vec<crate::catalog::QualifiedName>,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// CREATE [OR REPLACE] VIEW.
    CreateView {
        /// The view.
        view: crate::catalog::ViewDef,
        /// OR REPLACE.
        or_replace: bool,
    },
    /// DROP VIEW.
    DropView {
        /// Names.
        names: Vec<crate::catalog::QualifiedName>,
        /// IF EXISTS.
        if_exists: bool,
        /// CASCADE: views reading these go too.
        cascade: bool,
    },
    /// COMMENT ON.
    Comment(crate::comments::CommentOn),
    /// TRUNCATE.
    Truncate {
        /// The tables.
        names: Vec<crate::catalog::QualifiedName>,
    },
    /// DROP TABLE.
    DropTable {
        /// Names.
        names: Vec<crate::catalog::QualifiedName>,
        /// IF EXISTS.
        if_exists: bool,
        /// CASCADE: foreign keys of other tables referencing them are dropped too.
        cascade: bool,
    },
    /// BEGIN / START TRANSACTION.
    Begin {
        /// Requested isolation level.
        isolation: Option<IsolationLevel>,
        /// READ ONLY (`Some(true)`) or READ WRITE, if named.
        read_only: Option<bool>,
    },
    /// COMMIT / END.
    Commit,
    /// ROLLBACK / ABORT.
    Rollback,
    /// SAVEPOINT name.
    Savepoint {
        /// The savepoint's name.
        name: String,
    },
    /// RELEASE [SAVEPOINT] name.
    ReleaseSavepoint {
        /// The savepoint's name.
        name: String,
    },
    /// ROLLBACK TO [SAVEPOINT] name.
    RollbackToSavepoint {
        /// The savepoint's name.
        name: String,
    },
    /// SET TRANSACTION (this transaction) or SET SESSION CHARACTERISTICS AS TRANSACTION.
    SetTransaction {
        /// Isolation level, if named.
        isolation: Option<IsolationLevel>,
        /// READ ONLY (`Some(true)`) or READ WRITE (`Some(false)`), if named.
        read_only: Option<bool>,
        /// The session's defaults rather than this transaction.
        session: bool,
    },
    /// SET name = value; `None` sets the default (`SET ... TO DEFAULT`, `RESET`).
    Set {
        /// The setting, lower case.
        name: String,
        /// The value as text.
        value: Option<String>,
        /// `SET LOCAL`: until the transaction ends, not beyond.
        local: bool,
    },
    /// `SELECT set_config(name, value, is_local)`: a SET answering with the new value.
    SetConfig {
        /// The setting, lower case.
        name: String,
        /// The value (NULL: the default).
        value: Option<String>,
        /// `is_local`: until the transaction ends.
        local: bool,
        /// The result column's name.
        column: String,
    },
    /// LOCK TABLE.
    LockTable {
        /// The tables.
        names: Vec<crate::catalog::QualifiedName>,
        /// The mode.
        mode: LockMode,
        /// NOWAIT.
        nowait: bool,
    },
    /// SHOW name (`all` for every setting).
    Show {
        /// The setting, lower case.
        name: String,
    },
    /// `DEALLOCATE [PREPARE] name | ALL`: forgets one of the session's prepared statements
    /// (those of the protocol's Parse and of PREPARE alike), or all of them.
    Deallocate {
        /// The statement, or `None` for ALL.
        name: Option<String>,
    },
}

impl Statement {
    /// True for statements that change data or schema (refused in READ ONLY transactions).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Statement::Insert { .. }
                | Statement::Update { .. }
                | Statement::Delete { .. }
                | Statement::CreateTable { .. }
                | Statement::CreateTableAs(_)
                | Statement::Schema(_)
                | Statement::DropTable { .. }
                | Statement::Truncate { .. }
                | Statement::Comment(_)
                | Statement::CreateView { .. }
                | Statement::DropView { .. }
                | Statement::CreateIndex { .. }
                | Statement::DropIndex { .. }
                | Statement::AddKey { .. }
                | Statement::AddCheck { .. }
                | Statement::AddColumn { .. }
                | Statement::AddForeignKey { .. }
                | Statement::DropConstraint { .. }
                | Statement::AlterTable { .. }
                | Statement::AlterTableSteps(_)
                | Statement::Merge(_)
                | Statement::Analyze { .. }
                | Statement::Role(_)
                | Statement::Grant(_)
                | Statement::Policy(_)
                | Statement::SetDefault { .. }
                | Statement::CreateSequence { .. }
                | Statement::DropSequence { .. }
        )
    }

    /// The columns of the rows the statement returns, if it returns any (SELECT, and DML
    /// with RETURNING).
    pub fn result_columns(&self) -> Option<Vec<ResultColumn>> {
        match self {
            Statement::Select(plan) => Some(plan.columns.clone()),
            Statement::Explain(_) => {
                Some(vec![ResultColumn { name: "QUERY PLAN".into(), data_type: rustydb_foundation::DataType::Text }])
            }
            Statement::Insert { returning, .. }
            | Statement::Update { returning, .. }
            | Statement::Delete { returning, .. } => returning.as_ref().map(|r| r.columns.clone()),
            Statement::SetConfig { column, .. } => {
                Some(vec![ResultColumn { name: column.clone(), data_type: rustydb_foundation::DataType::Text }])
            }
            _ => None,
        }
    }

    /// The command name in messages ("cannot execute INSERT in a read-only transaction").
    pub fn command_name(&self) -> &'static str {
        match self {
            Statement::Select(_) => "SELECT",
            Statement::Explain(_) => "EXPLAIN",
            Statement::Role(r) => r.command_name(),
            Statement::Grant(g) => g.command_name(),
            Statement::Policy(p) => p.command_name(),
            Statement::SetDefault { .. } => "ALTER TABLE",
            Statement::AlterTable { command, .. } => command,
            Statement::AlterTableSteps(_) => "ALTER TABLE",
            Statement::Merge(_) => "MERGE",
            Statement::Analyze { .. } => "ANALYZE",
            Statement::CreateSequence { .. } => "CREATE SEQUENCE",
            Statement::DropSequence { .. } => "DROP SEQUENCE",
            Statement::CopyTo { .. } => "COPY",
            Statement::AddKey { .. }
            | Statement::AddCheck { .. }
            | Statement::AddColumn { .. }
            | Statement::AddForeignKey { .. }
            | Statement::DropConstraint { .. } => "ALTER TABLE",
            Statement::Insert { .. } => "INSERT",
            Statement::Update { .. } => "UPDATE",
            Statement::Delete { .. } => "DELETE",
            Statement::CreateTable { .. } => "CREATE TABLE",
            Statement::CreateTableAs(_) => "CREATE TABLE AS",
            Statement::Schema(c) => c.tag(),
            Statement::DropTable { .. } => "DROP TABLE",
            Statement::Truncate { .. } => "TRUNCATE TABLE",
            Statement::Comment(_) => "COMMENT",
            Statement::CreateView { .. } => "CREATE VIEW",
            Statement::DropView { .. } => "DROP VIEW",
            Statement::CreateIndex { .. } => "CREATE INDEX",
            Statement::DropIndex { .. } => "DROP INDEX",
            Statement::Begin { .. } => "BEGIN",
            Statement::Commit => "COMMIT",
            Statement::Rollback => "ROLLBACK",
            Statement::Savepoint { .. } => "SAVEPOINT",
            Statement::ReleaseSavepoint { .. } => "RELEASE",
            Statement::RollbackToSavepoint { .. } => "ROLLBACK",
            Statement::SetTransaction { .. } | Statement::Set { .. } => "SET",
            Statement::SetConfig { .. } => "SELECT",
            Statement::Show { .. } => "SHOW",
            Statement::Deallocate { .. } => "DEALLOCATE",
            Statement::LockTable { .. } => "LOCK TABLE",
        }
    }
}
