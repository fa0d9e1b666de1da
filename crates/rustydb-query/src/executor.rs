//! The executor: runs bound statements against the heap through MVCC. Rows flow a page at a
//! time from the access path through the filter; a query without ORDER BY stops reading as
//! soon as its LIMIT is met. UPDATE and DELETE first collect their targets and then change
//! them, so a statement never sees its own new versions (no Halloween problem).

use crate::access;
use crate::access::Insertion;
use crate::acl::{self, ObjectRef};
use crate::catalog::{self, IndexDef, IndexMethod, QualifiedName, TableDef};
use crate::context::ExecContext;
use crate::exec;
use crate::expr::Expr;
use crate::plan::{
    Access, Arbiters, ConflictAction, InsertSource, JoinedRows, OnConflict, QueryPlan, Returning, Statement,
};
use crate::result::{Notice, SpooledRows, StatementResult};
use crate::vacuum;
use rustydb_foundation::{DbError, Result, Schema, SqlState, TupleId, Value};
use rustydb_index::keycode;
use rustydb_txn::{Delete, IsolationLevel, LockMode, WaitPolicy};
use std::collections::HashSet;

/// Runs a bound statement (not transaction control, which the session handles).
pub fn execute(ctx: &mut ExecContext<'_>, stmt: &Statement) -> Result<StatementResult> {
    match stmt {
        Statement::Explain(explain) => crate::explain::execute(ctx, explain),
        Statement::Select(plan) if ctx.spool_results => {
            let (rows, spooled) = select_spooled(ctx, plan)?;
            let count = rows.len() as u64 + spooled.as_ref().map_or(0, SpooledRows::remaining);
            Ok(StatementResult {
                tag: format!("SELECT {count}"),
                columns: Some(plan.columns.clone()),
                rows,
                spooled,
                ..Default::default()
            })
        }
        Statement::Select(plan) => {
            let rows = select(ctx, plan)?;
            Ok(StatementResult {
                tag: format!("SELECT {}", rows.len()),
                columns: Some(plan.columns.clone()),
                rows,
                ..Default::default()
            })
        }
        Statement::CopyTo { plan, options } => copy_to(ctx, plan, options),
        Statement::Role(statement) => crate::roles::execute(ctx, statement),
        Statement::Grant(statement) => crate::grant::execute(ctx, statement),
        Statement::Policy(statement) => crate::row_security::execute(ctx, statement),
        Statement::SetDefault { table, position, default } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            let _ddl = ctx.engine.ddl_lock().lock();
            catalog::set_default(ctx, table, *position, default.as_deref())?;
            Ok(StatementResult::tag("ALTER TABLE"))
        }
        Statement::Insert { table, source, check, constraints, on_conflict, returning } => {
            let checks = RowChecks { policy: check.as_ref(), constraints };
            insert(ctx, table, source, &checks, on_conflict.as_ref(), returning.as_ref())
        }
        Statement::Update { table, assignments, filter, access, check, constraints, returning, from } => {
            let target = Target { table, filter: filter.as_ref(), access, joined: from.as_ref() };
            let checks = RowChecks { policy: check.as_ref(), constraints };
            update(ctx, &target, assignments, &checks, returning.as_ref())
        }
        Statement::AddCheck { table, check } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            let _ddl = ctx.engine.ddl_lock().lock();
            crate::check_constraint::validate_existing(ctx, table, check)?;
            let mut checks = table.checks.clone();
            checks.push(check.clone());
            catalog::set_checks(ctx, table, &checks)?;
            Ok(StatementResult::tag("ALTER TABLE"))
        }
        Statement::AlterTable { action, command } => crate::alter_table::execute(ctx, action, command),
        Statement::Merge(plan) => crate::merge::execute(ctx, plan),
        Statement::Analyze { targets, verbose } => crate::statistics::analyze(ctx, targets, *verbose),
        Statement::AlterTableSteps(steps) => {
            let mut result = StatementResult::tag("ALTER TABLE");
            for step in steps {
                let bound = crate::binder::bind(ctx, step)?;
                acl::check_statement(ctx)?;
                // As for a statement of its own: one that waited for a lock reads what the
                // holder committed.
                if ctx.waited_for_lock && ctx.txn.isolation() == IsolationLevel::ReadCommitted {
                    ctx.snapshot = ctx.engine.txn_manager().retake_snapshot(ctx.txn);
                }
                result.notices.extend(execute(ctx, &bound)?.notices);
            }
            Ok(result)
        }
        Statement::DropConstraint { table, name, if_exists } => drop_constraint(ctx, table, name, *if_exists),
        Statement::AddForeignKey { table, fk } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            crate::foreign_key::validate_existing(ctx, table, fk)?;
            let _ddl = ctx.engine.ddl_lock().lock();
            let mut keys = table.foreign_keys.clone();
            keys.push(fk.clone());
            catalog::set_foreign_keys(ctx, table, &keys)?;
            Ok(StatementResult::tag("ALTER TABLE"))
        }
        Statement::AddColumn { table, column, if_not_exists, unique, check } => {
            add_column(ctx, table, column, *if_not_exists, (unique.as_ref(), check.as_ref()))
        }
        Statement::Delete { table, filter, access, returning, using } => {
            delete(ctx, &Target { table, filter: filter.as_ref(), access, joined: using.as_ref() }, returning.as_ref())
        }
        Statement::CreateTable {
            name,
            namespace,
            columns,
            primary_key,
            unique,
            compression,
            encrypted,
            if_not_exists,
            serials,
            checks,
            foreign_keys,
        } => {
            let spec = TableSpec {
                name,
                namespace: *namespace,
                columns,
                primary_key,
                unique,
                compression: *compression,
                encrypted: *encrypted,
                serials,
                checks,
                foreign_keys,
            };
            create_table(ctx, &spec, *if_not_exists)
        }
        Statement::CreateTableAs(create) => crate::create_table_as::execute(ctx, create),
        Statement::Schema(command) => crate::schemas::execute(ctx, command),
        Statement::CreateSequence { def, if_not_exists } => {
            acl::require_create_in_schema(ctx, def.namespace)?;
            let _ddl = ctx.engine.ddl_lock().lock();
            if *if_not_exists && catalog::name_in_use(ctx, def.namespace, &def.name)? {
                let message = format!("relation \"{}\" already exists, skipping", def.name);
                return Ok(StatementResult::tag("CREATE SEQUENCE").with_notice(Notice::plain(message)));
            }
            let def = catalog::SequenceDef { id: ctx.engine.allocate_table_id().0, ..def.clone() };
            crate::sequence::create(ctx, &def)?;
            Ok(StatementResult::tag("CREATE SEQUENCE"))
        }
        Statement::DropSequence { names, if_exists } => crate::sequence::drop_statement(ctx, names, *if_exists),
        Statement::DropTable { names, if_exists, cascade } => drop_tables(ctx, names, *if_exists, *cascade),
        Statement::CreateView { view, or_replace } => create_view(ctx, view, *or_replace),
        Statement::Truncate { names } => truncate(ctx, names),
        Statement::Comment(comment) => crate::comments::execute(ctx, comment),
        Statement::DropView { names, if_exists, cascade } => drop_views(ctx, names, *if_exists, *cascade),
        Statement::CreateIndex { name, table, columns, descending, unique, method, if_not_exists } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            let spec = IndexSpec {
                name: name.as_deref(),
                table,
                columns,
                descending,
                unique: *unique,
                method: *method,
                primary: false,
                constraint: false,
            };
            create_index(ctx, &spec, *if_not_exists)
        }
        Statement::DropIndex { names, if_exists } => drop_indexes(ctx, names, *if_exists),
        Statement::LockTable { names, mode, nowait } => lock_tables(ctx, names, *mode, *nowait),
        Statement::AddKey { table, name, columns, primary } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            add_key(ctx, table, name.as_deref(), columns, *primary)
        }
        Statement::Begin { .. }
        | Statement::Commit
        | Statement::Rollback
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::RollbackToSavepoint { .. }
        | Statement::SetTransaction { .. }
        | Statement::Set { .. }
        | Statement::SetConfig { .. }
        | Statement::Show { .. }
        | Statement::Deallocate { .. } => Err(DbError::Internal("transaction control reached the executor".into())),
    }
}

/// `COPY ... TO STDOUT`: the rows encoded, one chunk per row. The binary signature goes out
/// with the first row, as PostgreSQL sends it (tokio-postgres's binary reader expects it
/// there). When the session spools results, the chunks are spooled as they are made, so a
/// table of any size can be copied out in `work_mem`.
fn copy_to(ctx: &mut ExecContext<'_>, plan: &QueryPlan, options: &crate::copy::CopyOptions) -> Result<StatementResult> {
    let mut out = exec::RecordSpool::new(ctx, ctx.spool_results);
    let mut chunk = Vec::new();
    options.encode_start(&mut chunk);
    if options.header {
        options.encode_header(&plan.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(), &mut chunk);
        out.push(ctx, &chunk)?;
        chunk.clear();
    }
    let mut input = exec::open(&plan.rel, &std::rc::Rc::from(Vec::new()));
    while let Some(batch) = input.next(ctx)? {
        for row in &batch {
            options.encode_row(row, &mut chunk);
            out.push(ctx, &chunk)?;
            chunk.clear();
        }
    }
    drop(input);
    // The header (CSV) and the binary trailer are not rows.
    let count = out.len() - u64::from(options.header);
    options.encode_end(&mut chunk);
    if !chunk.is_empty() {
        out.push(ctx, &chunk)?;
    }
    let binary = options.format == crate::copy::CopyFormat::Binary;
    let chunks = crate::result::CopyChunks::new(out.finish()?);
    Ok(StatementResult {
        tag: format!("COPY {count}"),
        copy: Some(crate::result::CopyResponse::Out { columns: plan.columns.len(), chunks, binary }),
        ..Default::default()
    })
}

/// Runs a query into a spool: the rows if they fitted in `work_mem`, else none and the spool.
fn select_spooled(ctx: &mut ExecContext<'_>, plan: &QueryPlan) -> Result<(Vec<Vec<Value>>, Option<SpooledRows>)> {
    Ok(match exec::Spool::of_query(ctx, &plan.rel, |_, _| Ok(true))?.finish()?.into_memory() {
        Ok(rows) => (rows, None),
        Err(disk) => (Vec::new(), Some(SpooledRows::new(disk))),
    })
}

/// Runs a query and returns its output rows.
pub fn select(ctx: &mut ExecContext<'_>, plan: &QueryPlan) -> Result<Vec<Vec<Value>>> {
    exec::collect(ctx, &plan.rel, "the result set")
}

/// 42501 for DDL or LOCK TABLE on a system catalog.
fn system_catalog(name: &str) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, format!("permission denied: \"{name}\" is a system catalog"))
}

/// LOCK TABLE: only in a transaction block, where the locks last until it ends.
fn lock_tables(
    ctx: &mut ExecContext<'_>,
    names: &[QualifiedName],
    mode: LockMode,
    nowait: bool,
) -> Result<StatementResult> {
    if !ctx.in_block {
        return Err(DbError::sql(
            SqlState::NoActiveSqlTransaction,
            "LOCK TABLE can only be used in transaction blocks",
        ));
    }
    let policy = if nowait { WaitPolicy::NoWait } else { WaitPolicy::Block };
    for name in names {
        match access::open_table(ctx, name, mode, policy)? {
            Some(t) if t.is_system() => return Err(system_catalog(&t.name)),
            Some(table) => {
                // PostgreSQL's LockTableAclCheck: SELECT for ACCESS SHARE, a write privilege
                // for ROW EXCLUSIVE, UPDATE, DELETE or TRUNCATE for anything stronger.
                use acl::Privilege::*;
                let any_of = match mode {
                    LockMode::AccessShare => acl::PrivilegeSet::of(&[Select]),
                    LockMode::RowExclusive => acl::PrivilegeSet::of(&[Insert, Update, Delete, Truncate]),
                    _ => acl::PrivilegeSet::of(&[Update, Delete, Truncate]),
                };
                let object = ObjectRef::table(&table);
                acl::require(ctx, acl::AccessRequest::Object { object, any_of })?;
            }
            None => return Err(DbError::undefined_table(name)),
        }
    }
    Ok(StatementResult::tag("LOCK TABLE"))
}

/// What a row written to a table must pass: row-level security's WITH CHECK (42501) and the
/// table's CHECK constraints (23514).
struct RowChecks<'a> {
    policy: Option<&'a Expr>,
    constraints: &'a [crate::check_constraint::BoundCheck],
}

impl RowChecks<'_> {
    fn apply(&self, ctx: &mut ExecContext<'_>, table: &TableDef, row: &[Value]) -> Result<()> {
        check_row(ctx, table, self.policy, row)?;
        crate::check_constraint::enforce(ctx, table, self.constraints, row)
    }
}

/// `ALTER TABLE ... ADD COLUMN`. Rows already stored are shorter and read the new column as
/// NULL; with a DEFAULT each is rewritten (a new version, through the ordinary update path, so
/// indexes and the log follow) with the default evaluated for it, as PostgreSQL evaluates a
/// volatile default per row. NOT NULL is checked against them (23502).
fn add_column(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    column: &rustydb_foundation::Column,
    if_not_exists: bool,
    (unique, check): (Option<&Option<String>>, Option<&catalog::CheckDef>),
) -> Result<StatementResult> {
    acl::require_owner(ctx, ObjectRef::table(table))?;
    if table.schema.index_of(&column.name).is_some() {
        let message = format!("column \"{}\" of relation \"{}\" already exists", column.name, table.name);
        if if_not_exists {
            return Ok(StatementResult::tag("ALTER TABLE").with_notice(Notice::plain(format!("{message}, skipping"))));
        }
        return Err(DbError::sql(SqlState::DuplicateColumn, message));
    }
    let mut widened = table.clone();
    let mut columns = table.schema.columns.clone();
    columns.push(column.clone());
    widened.schema = Schema::new(columns);
    widened.layout = table.layout_with_added_column();
    {
        let _ddl = ctx.engine.ddl_lock().lock();
        catalog::add_column(ctx, table, column)?;
    }
    if column.default.is_some() || !column.nullable {
        let default = crate::binder::column_default(ctx, column)?;
        let mut rewritten = 0;
        let done = access::scan(ctx, table)?.into_iter().try_for_each(|(tid, mut row)| {
            let value = exec::eval(ctx, &default, &[])?;
            if value.is_null() && !column.nullable {
                return Err(DbError::sql(
                    SqlState::NotNullViolation,
                    format!("column \"{}\" of relation \"{}\" contains null values", column.name, table.name),
                ));
            }
            if column.default.is_some() {
                row.resize(table.schema.len(), Value::Null);
                row.push(value);
                access::rewrite_version(ctx, table, &widened, tid, &row)?;
                rewritten += 1;
            }
            Ok(())
        });
        vacuum::note_changes(ctx, table, rewritten, rewritten);
        done?;
    }
    if let Some(check) = check {
        crate::check_constraint::validate_existing(ctx, &widened, check)?;
        let mut checks = table.checks.clone();
        checks.push(check.clone());
        let _ddl = ctx.engine.ddl_lock().lock();
        catalog::set_checks(ctx, &widened, &checks)?;
        widened.checks = checks;
    }
    if let Some(name) = unique {
        let position = widened.schema.len() - 1;
        add_key(ctx, &widened, name.as_deref(), &[position], false)?;
    }
    Ok(StatementResult::tag("ALTER TABLE"))
}

/// `ALTER TABLE ... DROP CONSTRAINT`: a CHECK constraint, or the index of a UNIQUE or
/// PRIMARY KEY constraint added by ALTER TABLE or declared UNIQUE. 42704 for none (a NOTICE
/// with IF EXISTS).
fn drop_constraint(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    name: &str,
    if_exists: bool,
) -> Result<StatementResult> {
    acl::require_owner(ctx, ObjectRef::table(table))?;
    if table.checks.iter().any(|c| c.name == name) {
        let _ddl = ctx.engine.ddl_lock().lock();
        let checks: Vec<catalog::CheckDef> = table.checks.iter().filter(|c| c.name != name).cloned().collect();
        catalog::set_checks(ctx, table, &checks)?;
        return Ok(StatementResult::tag("ALTER TABLE"));
    }
    if table.foreign_keys.iter().any(|k| k.name == name) {
        let _ddl = ctx.engine.ddl_lock().lock();
        let keys: Vec<catalog::ForeignKeyDef> = table.foreign_keys.iter().filter(|k| k.name != name).cloned().collect();
        catalog::set_foreign_keys(ctx, table, &keys)?;
        return Ok(StatementResult::tag("ALTER TABLE"));
    }
    if table.indexes.iter().any(|i| i.name == name && (i.constraint || i.primary)) {
        let schema = ctx.schemas()?.name(table.namespace).map(str::to_string);
        let index = QualifiedName { schema, name: name.to_string() };
        drop_indexes(ctx, &[index], false)?;
        return Ok(StatementResult::tag("ALTER TABLE"));
    }
    if !table.primary_key.is_empty() && name == table.primary_key_name() {
        return Err(DbError::unsupported("dropping the primary key declared by CREATE TABLE"));
    }
    let message = format!("constraint \"{name}\" of relation \"{}\" does not exist", table.name);
    if if_exists {
        return Ok(StatementResult::tag("ALTER TABLE").with_notice(Notice::plain(format!("{message}, skipping"))));
    }
    Err(DbError::sql(SqlState::UndefinedObject, message))
}

/// Row-level security's WITH CHECK on a row about to be written (42501 if it fails).
fn check_row(ctx: &mut ExecContext<'_>, table: &TableDef, check: Option<&Expr>, row: &[Value]) -> Result<()> {
    if let Some(check) = check
        && exec::eval(ctx, check, row)? != Value::Bool(true)
    {
        return Err(crate::row_security::violation(&table.name));
    }
    Ok(())
}

/// The rows a DML statement wrote, and what its RETURNING list gives back for them.
struct Written<'r> {
    returning: Option<&'r Returning>,
    count: u64,
    rows: Vec<Vec<Value>>,
}

impl<'r> Written<'r> {
    fn new(returning: Option<&'r Returning>) -> Self {
        Written { returning, count: 0, rows: Vec::new() }
    }

    /// Counts `row` as written, and evaluates the RETURNING list over it.
    fn add(&mut self, ctx: &mut ExecContext<'_>, row: &[Value]) -> Result<()> {
        self.count += 1;
        if let Some(r) = self.returning {
            let out: Vec<Value> =
                exec::with_env(ctx, &[], |env, _| r.exprs.iter().map(|e| e.eval(row, env)).collect::<Result<_>>())?;
            ctx.hold_row(&out, "the RETURNING rows")?;
            self.rows.push(out);
        }
        Ok(())
    }

    /// The statement's result: its tag, and the returned rows if it has a RETURNING list.
    fn result(self, tag: String) -> StatementResult {
        StatementResult {
            tag,
            columns: self.returning.map(|r| r.columns.clone()),
            rows: self.rows,
            ..Default::default()
        }
    }
}

fn insert(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    source: &InsertSource,
    checks: &RowChecks<'_>,
    on_conflict: Option<&OnConflict>,
    returning: Option<&Returning>,
) -> Result<StatementResult> {
    let fks = crate::foreign_key::ForeignKeys::load(ctx, table)?;
    let mut insert = Inserter {
        table,
        checks,
        on_conflict,
        fks: &fks,
        written: Written::new(returning),
        inserted: 0,
        updated: 0,
        mine: HashSet::new(),
    };
    let done = insert.all(ctx, source);
    // Counted whether or not the statement completes: a failed one leaves dead versions.
    vacuum::note_changes(ctx, table, insert.inserted + insert.updated, insert.updated);
    done?;
    let count = insert.written.count;
    Ok(insert.written.result(format!("INSERT 0 {count}")))
}

/// An INSERT under way: what it checks, and what it has written so far.
struct Inserter<'a, 'r> {
    table: &'a TableDef,
    checks: &'a RowChecks<'a>,
    on_conflict: Option<&'a OnConflict>,
    fks: &'a crate::foreign_key::ForeignKeys,
    written: Written<'r>,
    inserted: u64,
    updated: u64,
    /// The versions this statement wrote: DO UPDATE may not change one of them again.
    mine: HashSet<TupleId>,
}

impl Inserter<'_, '_> {
    /// Inserts every row `source` gives. A query's rows go in a batch at a time as it yields
    /// them, so INSERT ... SELECT holds no more than a batch whatever its size; but a query
    /// that reads the target table is run to the end first (into a spool), since it would see
    /// the rows this statement writes (a statement sees its own writes) and might never end.
    fn all(&mut self, ctx: &mut ExecContext<'_>, source: &InsertSource) -> Result<()> {
        match source {
            InsertSource::Values(rows) => {
                let rows: Vec<Vec<Value>> = exec::with_env(ctx, &[], |env, _| {
                    rows.iter().map(|r| r.iter().map(|e| e.eval(&[], env)).collect::<Result<Vec<_>>>()).collect()
                })?;
                rows.iter().try_for_each(|row| self.one(ctx, row))
            }
            // ON CONFLICT DO UPDATE may also write, through a cascading foreign key, to a
            // table the query reads.
            InsertSource::Query(query, row)
                if query.rel.reads_table(self.table.id)
                    || matches!(self.on_conflict, Some(OnConflict { action: ConflictAction::Update { .. }, .. })) =>
            {
                let mut spooled = exec::Spool::of_query(ctx, &query.rel, |_, _| Ok(true))?.finish()?;
                while let Some(r) = spooled.next(ctx)? {
                    let values = exec::with_env(ctx, &[], |env, _| {
                        row.iter().map(|e| e.eval(&r, env)).collect::<Result<Vec<_>>>()
                    })?;
                    self.one(ctx, &values)?;
                }
                Ok(())
            }
            InsertSource::Query(query, row) => {
                let mut input = exec::open(&query.rel, &std::rc::Rc::from(Vec::new()));
                while let Some(batch) = input.next(ctx)? {
                    let rows: Vec<Vec<Value>> = exec::with_env(ctx, &[], |env, _| {
                        batch.iter().map(|r| row.iter().map(|e| e.eval(r, env)).collect::<Result<Vec<_>>>()).collect()
                    })?;
                    drop(batch);
                    rows.iter().try_for_each(|row| self.one(ctx, row))?;
                }
                Ok(())
            }
        }
    }

    /// Inserts one row: checks it, then inserts it or (ON CONFLICT) skips it or updates the
    /// row it conflicts with.
    fn one(&mut self, ctx: &mut ExecContext<'_>, row: &[Value]) -> Result<()> {
        let (table, on_conflict) = (self.table, self.on_conflict);
        let no_arbiters = Arbiters::default();
        let arbiters = on_conflict.map_or(&no_arbiters, |c| &c.arbiters);
        self.checks.apply(ctx, table, row)?;
        crate::foreign_key::check_references(ctx, table, self.fks, None, row)?;
        loop {
            let existing = match access::insert_arbitrated(ctx, table, row, arbiters)? {
                Insertion::Inserted(tid) => {
                    self.inserted += 1;
                    if on_conflict.is_some() {
                        self.mine.insert(tid);
                    }
                    return self.written.add(ctx, row);
                }
                Insertion::Conflict(existing) => existing,
            };
            let Some(OnConflict { action: ConflictAction::Update { assignments, filter, check }, .. }) = on_conflict
            else {
                return Ok(());
            };
            if self.mine.contains(&existing) {
                return Err(DbError::sql(
                    SqlState::CardinalityViolation,
                    "ON CONFLICT DO UPDATE command cannot affect row a second time",
                )
                .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
            }
            let policy = check.as_ref();
            let checks = RowChecks { policy, ..*self.checks };
            let update = ConflictUpdate { assignments, filter: filter.as_ref(), checks, fks: self.fks };
            match update_conflicting(ctx, table, existing, row, &update)? {
                Upsert::Updated(tid, new) => {
                    self.updated += 1;
                    self.mine.insert(tid);
                    return self.written.add(ctx, &new);
                }
                Upsert::Skipped => return Ok(()),
                Upsert::Retry => {}
            }
        }
    }
}

/// `ON CONFLICT DO UPDATE`'s SET list, WHERE and row-level security check.
struct ConflictUpdate<'a> {
    assignments: &'a [(usize, Expr)],
    filter: Option<&'a Expr>,
    checks: RowChecks<'a>,
    fks: &'a crate::foreign_key::ForeignKeys,
}

/// What became of a row that conflicted under `ON CONFLICT DO UPDATE`.
enum Upsert {
    /// The existing row was updated into this new version.
    Updated(TupleId, Vec<Value>),
    /// The WHERE clause left it alone.
    Skipped,
    /// The existing row changed or went meanwhile: insert (or conflict) again.
    Retry,
}

/// Updates `existing`, the live row `proposed` conflicted with, by the SET list over both.
///
/// The row is read whatever the snapshot: under READ COMMITTED a conflict with a row committed
/// after the statement began still updates it, as in PostgreSQL. Under REPEATABLE READ and
/// SERIALIZABLE a row the snapshot cannot see is a serialization failure (40001).
fn update_conflicting(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    existing: TupleId,
    proposed: &[Value],
    update: &ConflictUpdate<'_>,
) -> Result<Upsert> {
    if ctx.txn.isolation() != IsolationLevel::ReadCommitted && access::fetch(ctx, table, existing)?.is_none() {
        return Err(DbError::sql(
            SqlState::SerializationFailure,
            "could not serialize access due to concurrent update",
        ));
    }
    let Some(old) = access::fetch_newer(ctx, table, existing)? else { return Ok(Upsert::Retry) };
    let both: Vec<Value> = old.iter().chain(proposed).cloned().collect();
    if !exec::passes(ctx, update.filter, &both)? {
        return Ok(Upsert::Skipped);
    }
    // A version's contents never change, so what was read is what is deleted.
    match access::delete(ctx, table, existing)? {
        Delete::Done => {}
        Delete::AlreadyMine => {
            return Err(DbError::sql(
                SqlState::CardinalityViolation,
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
            ));
        }
        Delete::Updated(_) | Delete::Gone => return Ok(Upsert::Retry),
    }
    let mut new = old;
    for (pos, expr) in update.assignments {
        new[*pos] = exec::eval(ctx, expr, &both)?;
    }
    update.checks.apply(ctx, table, &new)?;
    crate::foreign_key::check_references(ctx, table, update.fks, Some(&both[..new.len()]), &new)?;
    let new_tid = access::insert(ctx, table, &new)?;
    access::link_update(ctx, table, existing, new_tid)?;
    crate::foreign_key::on_update(ctx, table, update.fks, &both[..new.len()], &new)?;
    Ok(Upsert::Updated(new_tid, new))
}

/// The rows an UPDATE or DELETE changes: its table, WHERE and access path.
struct Target<'a> {
    table: &'a TableDef,
    filter: Option<&'a Expr>,
    access: &'a Access,
    /// UPDATE ... FROM / DELETE ... USING: rows come from this join.
    joined: Option<&'a JoinedRows>,
}

/// A row to change: its tuple id, its values, and (UPDATE ... FROM, DELETE ... USING) the
/// joined row it came with.
struct Candidate {
    tid: TupleId,
    row: Vec<Value>,
    joined: Option<Vec<Value>>,
}

impl Candidate {
    /// The row the statement's expressions see: the joined row with the target's columns
    /// replaced by `values`, or `values` alone.
    fn scope(&self, values: &[Value]) -> Vec<Value> {
        match &self.joined {
            None => values.to_vec(),
            Some(joined) => values.iter().chain(&joined[values.len()..]).cloned().collect(),
        }
    }
}

impl Target<'_> {
    /// The rows to change, all read (and spooled) before any is changed.
    fn candidates(&self, ctx: &mut ExecContext<'_>) -> Result<Candidates> {
        let spool = match self.joined {
            None => {
                let mut spool = exec::Spool::new(ctx);
                let mut scan = exec::TableScan::new(self.table, self.access, self.filter);
                while let Some(rows) = scan.next(ctx, &[])? {
                    for (tid, mut row) in rows {
                        row.push(exec::encode_tid(tid));
                        spool.push(ctx, row)?;
                    }
                }
                spool
            }
            Some(j) => exec::Spool::of_query(ctx, &j.rel, |ctx, joined| exec::passes(ctx, j.filter.as_ref(), joined))?,
        };
        Ok(Candidates { rows: spool.finish()?, width: self.joined.map(|j| j.width) })
    }

    /// Deletes a candidate's row (see [`claim`]), re-checking the statement's condition on a
    /// newer version over the candidate's scope.
    fn claim(&self, ctx: &mut ExecContext<'_>, c: &Candidate) -> Result<Option<(TupleId, Vec<Value>)>> {
        match self.joined {
            None => claim(ctx, self.table, self.filter, c.tid, c.row.clone()),
            Some(j) => claim_checked(ctx, self.table, c.tid, c.row.clone(), |ctx, newer| {
                exec::passes(ctx, j.filter.as_ref(), &c.scope(newer))
            }),
        }
    }
}

/// The rows an UPDATE or DELETE changes, read back one at a time.
struct Candidates {
    /// Each row with its tuple id after it, or the joined row (which holds the id).
    rows: exec::Spooled,
    /// The target's columns in a joined row.
    width: Option<usize>,
}

impl Candidates {
    fn next(&mut self, ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Option<Candidate>> {
        let Some(mut row) = self.rows.next(ctx)? else { return Ok(None) };
        Ok(Some(match self.width {
            None => {
                let tid = row.pop().ok_or_else(|| DbError::Internal("a spooled row without its tuple id".into()))?;
                Candidate { tid: exec::decode_tid(table, &tid)?, row, joined: None }
            }
            Some(width) => {
                let tid = exec::decode_tid(table, &row[width])?;
                Candidate { tid, row: row[..width].to_vec(), joined: Some(row) }
            }
        }))
    }
}

fn update(
    ctx: &mut ExecContext<'_>,
    target: &Target<'_>,
    assignments: &[(usize, Expr)],
    checks: &RowChecks<'_>,
    returning: Option<&Returning>,
) -> Result<StatementResult> {
    let table = target.table;
    let mut written = Written::new(returning);
    let fks = crate::foreign_key::ForeignKeys::load(ctx, table)?;
    let mut each = |ctx: &mut ExecContext<'_>, candidate: Candidate| -> Result<()> {
        let Some((tid, old)) = target.claim(ctx, &candidate)? else { return Ok(()) };
        let scope = candidate.scope(&old);
        let mut new = old.clone();
        for (pos, expr) in assignments {
            new[*pos] = exec::eval(ctx, expr, &scope)?;
        }
        checks.apply(ctx, table, &new)?;
        crate::foreign_key::check_references(ctx, table, &fks, Some(&old), &new)?;
        let new_tid = access::insert(ctx, table, &new)?;
        access::link_update(ctx, table, tid, new_tid)?;
        crate::foreign_key::on_update(ctx, table, &fks, &old, &new)?;
        written.add(ctx, &candidate.scope(&new))
    };
    let done = (|| {
        let mut candidates = target.candidates(ctx)?;
        while let Some(c) = candidates.next(ctx, table)? {
            each(ctx, c)?;
        }
        Ok(())
    })();
    // An update leaves one dead version per row, whether it commits (the old one) or not.
    let count = written.count;
    vacuum::note_changes(ctx, table, count, count);
    done?;
    Ok(written.result(format!("UPDATE {count}")))
}

/// Deletes the version at `tid` for an UPDATE or DELETE, and returns the version deleted: the
/// one found, or under READ COMMITTED the newest version of the row if a concurrent update
/// committed meanwhile and that version still passes `filter` (PostgreSQL's re-check). `None`
/// if the row is no longer there to change (or this statement already changed it, as a
/// cascade reaching a row twice does).
pub(crate) fn claim(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    filter: Option<&Expr>,
    tid: TupleId,
    row: Vec<Value>,
) -> Result<Option<(TupleId, Vec<Value>)>> {
    claim_checked(ctx, table, tid, row, |ctx, newer| exec::passes(ctx, filter, newer))
}

/// [`claim`] with the re-check on a newer version given as `recheck`.
pub(crate) fn claim_checked(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    mut tid: TupleId,
    mut row: Vec<Value>,
    mut recheck: impl FnMut(&mut ExecContext<'_>, &[Value]) -> Result<bool>,
) -> Result<Option<(TupleId, Vec<Value>)>> {
    loop {
        match access::delete(ctx, table, tid)? {
            Delete::Done => return Ok(Some((tid, row))),
            Delete::AlreadyMine | Delete::Gone => return Ok(None),
            Delete::Updated(newer) => {
                let Some(newer_row) = access::fetch_newer(ctx, table, newer)? else { return Ok(None) };
                if !recheck(ctx, &newer_row)? {
                    return Ok(None);
                }
                (tid, row) = (newer, newer_row);
            }
        }
    }
}

fn delete(ctx: &mut ExecContext<'_>, target: &Target<'_>, returning: Option<&Returning>) -> Result<StatementResult> {
    let fks = crate::foreign_key::ForeignKeys::load(ctx, target.table)?;
    delete_rows(ctx, target, returning, &fks)
}

/// DELETE's work, with the foreign keys whose actions each deleted row triggers (none for
/// TRUNCATE, which checks references up front).
fn delete_rows(
    ctx: &mut ExecContext<'_>,
    target: &Target<'_>,
    returning: Option<&Returning>,
    fks: &crate::foreign_key::ForeignKeys,
) -> Result<StatementResult> {
    let mut written = Written::new(returning);
    let mut each = |ctx: &mut ExecContext<'_>, c: Candidate| match target.claim(ctx, &c)? {
        Some((_, old)) => {
            crate::foreign_key::on_delete(ctx, target.table, fks, &old)?;
            written.add(ctx, &c.scope(&old))
        }
        None => Ok(()),
    };
    let done = (|| {
        let mut candidates = target.candidates(ctx)?;
        while let Some(c) = candidates.next(ctx, target.table)? {
            each(ctx, c)?;
        }
        Ok(())
    })();
    let count = written.count;
    vacuum::note_changes(ctx, target.table, 0, count);
    done?;
    Ok(written.result(format!("DELETE {count}")))
}

/// What CREATE TABLE asks for.
pub(crate) struct TableSpec<'a> {
    pub name: &'a str,
    pub namespace: u32,
    pub columns: &'a [rustydb_foundation::Column],
    pub primary_key: &'a [usize],
    pub unique: &'a [(Option<String>, Vec<usize>)],
    pub compression: rustydb_storage::Compression,
    pub encrypted: Option<bool>,
    pub serials: &'a [(usize, (i64, i64), Vec<sqlparser::ast::SequenceOptions>)],
    pub checks: &'a [catalog::CheckDef],
    pub foreign_keys: &'a [catalog::ForeignKeyDef],
}

pub(crate) fn create_table(
    ctx: &mut ExecContext<'_>,
    spec: &TableSpec<'_>,
    if_not_exists: bool,
) -> Result<StatementResult> {
    let TableSpec {
        name,
        namespace,
        columns,
        primary_key,
        unique,
        compression,
        encrypted,
        serials,
        checks,
        foreign_keys,
    } = *spec;
    // CREATE TEMP TABLE makes the session's temporary schema if it has none yet.
    let namespace = match namespace {
        crate::schemas::SESSION_TEMP => crate::schemas::ensure_temp_namespace(ctx)?,
        n => n,
    };
    acl::require_create_in_schema(ctx, namespace)?;
    let table = {
        let _ddl = ctx.engine.ddl_lock().lock();
        // Each SERIAL column's sequence, named as PostgreSQL names it (t_id_seq, t_id_seq1...).
        let mut columns = columns.to_vec();
        let mut sequences = Vec::new();
        if !catalog::name_in_use(ctx, namespace, name)? {
            for (position, range, options) in serials {
                let (position, range) = (*position, *range);
                let seq_name = first_free_name(ctx, namespace, &format!("{name}_{}_seq", columns[position].name))?;
                // The default names the sequence with its schema, so whatever search path
                // the inserting session has, it reaches this one (PostgreSQL keeps its oid).
                let schemas = ctx.schemas()?;
                let schema = schemas.name(namespace).unwrap_or("public");
                let reach = format!(
                    "{}.{}",
                    crate::sql_names::quote_name_part(schema),
                    crate::sql_names::quote_name_part(&seq_name)
                );
                columns[position].default = Some(format!("nextval('{}')", reach.replace('\'', "''")));
                let mut def = crate::sequence::define(0, &seq_name, options, range)?;
                def.namespace = namespace;
                sequences.push((position, def));
            }
        }
        let created =
            new_table(ctx, (namespace, name), &columns, primary_key, (compression, encrypted), (checks, foreign_keys))?;
        if let Some(table) = &created {
            for (position, def) in sequences {
                let id = ctx.engine.allocate_table_id().0;
                crate::sequence::create(ctx, &catalog::SequenceDef { id, owner: Some((table.id.0, position)), ..def })?;
            }
        }
        match created {
            Some(t) => t,
            None if if_not_exists => {
                let message = format!("relation \"{name}\" already exists, skipping");
                return Ok(StatementResult::tag("CREATE TABLE").with_notice(Notice::plain(message)));
            }
            None => return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{name}\" already exists"))),
        }
    };
    // UNIQUE constraints are unique indexes named as PostgreSQL names them (t_a_key, t_a_key1...).
    for (given, key) in unique {
        let index_name = match given {
            Some(n) => n.clone(),
            None => {
                let names: Vec<&str> = key.iter().map(|&c| table.schema.columns[c].name.as_str()).collect();
                first_free_name(ctx, table.namespace, &format!("{}_{}_key", table.name, names.join("_")))?
            }
        };
        let spec = IndexSpec {
            name: Some(&index_name),
            table: &table,
            columns: key,
            descending: &vec![false; key.len()],
            unique: true,
            method: IndexMethod::BTree,
            primary: false,
            constraint: true,
        };
        create_index(ctx, &spec, false)?;
    }
    Ok(StatementResult::tag("CREATE TABLE"))
}

/// Records a new table (under the DDL lock); `None` if the name is taken.
fn new_table(
    ctx: &mut ExecContext<'_>,
    (namespace, name): (u32, &str),
    columns: &[rustydb_foundation::Column],
    primary_key: &[usize],
    (compression, encrypted): (rustydb_storage::Compression, Option<bool>),
    (checks, foreign_keys): (&[catalog::CheckDef], &[catalog::ForeignKeyDef]),
) -> Result<Option<TableDef>> {
    crate::schemas::require_live(ctx, namespace)?;
    if catalog::name_in_use(ctx, namespace, name)? {
        return Ok(None);
    }
    let encrypt = encrypted.unwrap_or_else(|| ctx.engine.encryption().is_some_and(|e| e.encrypt_by_default()));
    let id = ctx.engine.allocate_table_id();
    let table = TableDef {
        id,
        name: name.to_string(),
        namespace,
        schema: Schema::new(columns.to_vec()),
        primary_key: primary_key.to_vec(),
        compression,
        indexes: Vec::new(),
        checks: checks.to_vec(),
        // A reference to the table itself was bound before it had an id.
        foreign_keys: foreign_keys
            .iter()
            .map(|k| catalog::ForeignKeyDef { parent: if k.parent.0 == 0 { id } else { k.parent }, ..k.clone() })
            .collect(),
        primary_key_constraint: None,
        layout: Default::default(),
    };
    if encrypt {
        // The key is durable, and the cipher installed, before any page of the table exists.
        let files = [table.file(), table.primary_index_file()];
        crate::encryption::store(ctx)?.encrypt_table(ctx.engine.txn_manager().storage().disk(), table.id, &files)?;
    }
    catalog::create_table(ctx, &table)?;
    acl::record_owner(ctx, &ObjectRef::table(&table))?;
    access::apply_storage_settings(ctx, &table)?;
    if !table.primary_key.is_empty() {
        ctx.engine.create_primary_index(&table)?;
    }
    Ok(Some(table))
}

fn drop_tables(
    ctx: &mut ExecContext<'_>,
    names: &[QualifiedName],
    if_exists: bool,
    cascade: bool,
) -> Result<StatementResult> {
    // The tables' locks first: waiting for them while holding the DDL lock could deadlock
    // with a transaction that holds one and wants the DDL lock, unseen by the lock manager.
    let mut opened = Vec::with_capacity(names.len());
    for name in names {
        if let Err(e) = name.check_schema(ctx)
            && !if_exists
        {
            return Err(e);
        }
        opened.push(access::open_table(ctx, name, LockMode::AccessExclusive, WaitPolicy::Block)?);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    // The catalog as it is now that the locks are held, as PostgreSQL's DDL reads it: a view
    // or a referencing table committed while this waited is seen (and its rows changed).
    ctx.with_catalog_snapshot(|ctx| drop_opened_tables(ctx, names, opened, if_exists, cascade))
}

/// DROP TABLE once the tables are locked.
fn drop_opened_tables(
    ctx: &mut ExecContext<'_>,
    names: &[QualifiedName],
    opened: Vec<Option<TableDef>>,
    if_exists: bool,
    cascade: bool,
) -> Result<StatementResult> {
    let mut result = StatementResult::tag("DROP TABLE");
    let mut found = Vec::new();
    for (name, table) in names.iter().zip(opened) {
        match table {
            Some(t) if t.is_system() => return Err(system_catalog(&t.name)),
            Some(t) => found.push(t),
            None if catalog::find_view(ctx, name)?.is_some() => {
                return Err(wrong_kind(&name.name, "table", "DROP VIEW", "view"));
            }
            None if if_exists => result.notices.push(skipping(ctx, name, "table")?),
            None => return Err(DbError::sql(SqlState::UndefinedTable, format!("table \"{name}\" does not exist"))),
        }
    }
    for table in &found {
        acl::require_owner(ctx, ObjectRef::table(table))?;
    }
    // Foreign keys of other tables referencing these, and views reading them: 2BP01, or
    // dropped with CASCADE.
    let ids: Vec<rustydb_foundation::TableId> = found.iter().map(|t| t.id).collect();
    let mut dependents = crate::dependents::Dependents::default();
    let mut narrowed: Vec<(TableDef, Vec<catalog::ForeignKeyDef>)> = Vec::new();
    for other in catalog::list_tables(ctx)? {
        if ids.contains(&other.id) {
            continue;
        }
        let (dependent, kept): (Vec<_>, Vec<_>) =
            other.foreign_keys.iter().cloned().partition(|k| ids.contains(&k.parent));
        if dependent.is_empty() {
            continue;
        }
        for k in &dependent {
            let parent = found.iter().find(|t| t.id == k.parent).map_or("?", |t| t.name.as_str());
            dependents.add(format!("constraint {} on table {}", k.name, other.name), &format!("table {parent}"));
        }
        narrowed.push((other, kept));
    }
    let relations: Vec<(&str, catalog::Relation)> =
        found.iter().map(|t| ("table", catalog::Relation::new(t.namespace, &t.name))).collect();
    dependents.add_views(ctx, &relations, &[])?;
    let what = match found.as_slice() {
        [one] => Some(format!("table {}", one.name)),
        _ => None,
    };
    if let Some(notice) = dependents.check(what.as_deref(), cascade)? {
        result.notices.push(notice);
    }
    for (other, kept) in narrowed {
        catalog::set_foreign_keys(ctx, &other, &kept)?;
    }
    dependents.drop_views(ctx)?;
    for table in found {
        catalog::drop_table(ctx, &table)?;
        acl::forget(ctx, &ObjectRef::table(&table))?;
        // The sequences of its SERIAL columns go with it.
        for (tid, seq) in catalog::list_sequences(ctx)? {
            if seq.owner.is_some_and(|(t, _)| t == table.id.0) {
                crate::sequence::drop(ctx, tid, &seq)?;
            }
        }
        ctx.engine.drop_table_on_commit(ctx.txn, &table);
    }
    Ok(result)
}

/// TRUNCATE: every row deleted, under an ACCESS EXCLUSIVE lock on each table. Unlike
/// PostgreSQL's (which swaps in an empty file), this TRUNCATE is an MVCC delete: slower on a
/// large table, but a snapshot taken before it still reads the rows, and VACUUM reclaims them.
fn truncate(ctx: &mut ExecContext<'_>, names: &[QualifiedName]) -> Result<StatementResult> {
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        match access::open_table(ctx, name, LockMode::AccessExclusive, WaitPolicy::Block)? {
            Some(t) if t.is_system() => return Err(system_catalog(&t.name)),
            Some(t) => tables.push(t),
            None if catalog::find_view(ctx, name)?.is_some() => {
                return Err(DbError::sql(SqlState::WrongObjectType, format!("\"{}\" is not a table", name.name)));
            }
            None => return Err(DbError::undefined_table(name)),
        }
    }
    for table in &tables {
        let access =
            acl::RelationAccess::new(ObjectRef::table(table), acl::PrivilegeSet::of(&[acl::Privilege::Truncate]));
        acl::require(ctx, acl::AccessRequest::Relation(access))?;
    }
    // A table referenced by one not truncated with it cannot be emptied (0A000).
    let ids: Vec<rustydb_foundation::TableId> = tables.iter().map(|t| t.id).collect();
    for other in catalog::list_tables(ctx)? {
        if ids.contains(&other.id) {
            continue;
        }
        if let Some(parent) = tables.iter().find(|t| other.foreign_keys.iter().any(|k| k.parent == t.id)) {
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                "cannot truncate a table referenced in a foreign key constraint",
            )
            .with_detail(format!("Table \"{}\" references \"{}\".", other.name, parent.name))
            .with_hint(format!("Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.", other.name)));
        }
    }
    let none = crate::foreign_key::ForeignKeys::default();
    for table in &tables {
        delete_rows(ctx, &Target { table, filter: None, access: &Access::SeqScan, joined: None }, None, &none)?;
    }
    Ok(StatementResult::tag("TRUNCATE TABLE"))
}

/// 42809 for DROP TABLE of a view and the like.
fn wrong_kind(name: &str, expected: &str, instead: &str, actual: &str) -> DbError {
    DbError::sql(SqlState::WrongObjectType, format!("\"{name}\" is not a {expected}"))
        .with_detail(format!("Use {instead} to remove a {actual}."))
}

fn create_view(ctx: &mut ExecContext<'_>, view: &catalog::ViewDef, or_replace: bool) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    crate::schemas::require_live(ctx, view.namespace)?;
    let mut replaced = false;
    if let Some((tid, old)) = catalog::find_view_in(ctx, view.namespace, &view.name)?
        && or_replace
    {
        // A replacement keeps the view's owner and privileges; only its owner may make one.
        acl::require_owner(ctx, ObjectRef::view(&old))?;
        replaced = true;
        // PostgreSQL lets a replacement add columns at the end, not change or drop any.
        if old.columns.len() > view.columns.len() {
            return Err(DbError::sql(SqlState::InvalidTableDefinition, "cannot drop columns from view"));
        }
        catalog::drop_view(ctx, tid)?;
    } else if catalog::name_in_use(ctx, view.namespace, &view.name)? {
        return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{}\" already exists", view.name)));
    }
    if !replaced {
        acl::require_create_in_schema(ctx, view.namespace)?;
    }
    catalog::create_view(ctx, view)?;
    if !replaced {
        acl::record_owner(ctx, &ObjectRef::view(view))?;
    }
    Ok(StatementResult::tag("CREATE VIEW"))
}

fn drop_views(
    ctx: &mut ExecContext<'_>,
    names: &[QualifiedName],
    if_exists: bool,
    cascade: bool,
) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag("DROP VIEW");
    let mut found: Vec<(TupleId, catalog::ViewDef)> = Vec::new();
    for name in names {
        if let Err(e) = name.check_schema(ctx)
            && !if_exists
        {
            return Err(e);
        }
        match catalog::find_view(ctx, name)? {
            Some((tid, view)) => {
                acl::require_owner(ctx, ObjectRef::view(&view))?;
                found.push((tid, view));
            }
            None if catalog::find_table_named(ctx, name)?.is_some() => {
                return Err(wrong_kind(&name.name, "view", "DROP TABLE", "table"));
            }
            None if if_exists => result.notices.push(skipping(ctx, name, "view")?),
            None => {
                return Err(DbError::sql(SqlState::UndefinedTable, format!("view \"{}\" does not exist", name.name)));
            }
        }
    }
    // Views reading these: 2BP01, or dropped with CASCADE.
    let mut dependents = crate::dependents::Dependents::default();
    let relations: Vec<(&str, catalog::Relation)> =
        found.iter().map(|(_, v)| ("view", catalog::Relation::new(v.namespace, &v.name))).collect();
    let dropping: Vec<catalog::Relation> = relations.iter().map(|(_, r)| r.clone()).collect();
    dependents.add_views(ctx, &relations, &dropping)?;
    let what = match found.as_slice() {
        [(_, one)] => Some(format!("view {}", one.name)),
        _ => None,
    };
    if let Some(notice) = dependents.check(what.as_deref(), cascade)? {
        result.notices.push(notice);
    }
    dependents.drop_views(ctx)?;
    for (tid, view) in found {
        catalog::drop_view(ctx, tid)?;
        acl::forget(ctx, &ObjectRef::view(&view))?;
    }
    Ok(result)
}

/// The notice of DROP ... IF EXISTS for a missing `name` of `kind`: PostgreSQL names the
/// schema when that is what is missing.
pub(crate) fn skipping(ctx: &mut ExecContext<'_>, name: &QualifiedName, kind: &str) -> Result<Notice> {
    Ok(Notice::plain(match (&name.schema, name.namespace(ctx)?) {
        (Some(schema), catalog::Lookup::Nowhere) => format!("schema \"{schema}\" does not exist, skipping"),
        _ => format!("{kind} \"{}\" does not exist, skipping", name.name),
    }))
}

/// `base`, or `base1`, `base2`... whichever is free first in `namespace` (PostgreSQL's
/// naming of indexes).
fn first_free_name(ctx: &mut ExecContext<'_>, namespace: u32, base: &str) -> Result<String> {
    let mut candidate = base.to_string();
    let mut n = 0;
    while catalog::name_in_use(ctx, namespace, &candidate)? {
        n += 1;
        candidate = format!("{base}{n}");
    }
    Ok(candidate)
}

/// What CREATE INDEX asks for.
struct IndexSpec<'a> {
    name: Option<&'a str>,
    table: &'a TableDef,
    columns: &'a [usize],
    descending: &'a [bool],
    unique: bool,
    method: IndexMethod,
    primary: bool,
    constraint: bool,
}

/// PostgreSQL's name for an unnamed index: table, columns, `idx`, joined by underscores.
fn default_index_name(table: &TableDef, columns: &[usize]) -> String {
    let mut parts = vec![table.name.clone()];
    parts.extend(columns.iter().map(|&c| table.schema.columns[c].name.clone()));
    parts.push("idx".into());
    parts.join("_")
}

fn create_index(ctx: &mut ExecContext<'_>, spec: &IndexSpec<'_>, if_not_exists: bool) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let table = spec.table;
    let name = match spec.name {
        Some(n) => n.to_string(),
        None => {
            // An unnamed index takes the first free name of table_col_idx, table_col_idx1, ...
            first_free_name(ctx, table.namespace, &default_index_name(table, spec.columns))?
        }
    };
    if catalog::name_in_use(ctx, table.namespace, &name)? {
        let message = format!("relation \"{name}\" already exists");
        if if_not_exists {
            return Ok(StatementResult::tag("CREATE INDEX").with_notice(Notice::plain(format!("{message}, skipping"))));
        }
        return Err(DbError::sql(SqlState::DuplicateTable, message));
    }
    let def = IndexDef {
        id: ctx.engine.allocate_table_id(),
        name,
        namespace: table.namespace,
        table: table.id,
        columns: spec.columns.to_vec(),
        descending: spec.descending.to_vec(),
        unique: spec.unique,
        method: spec.method,
        primary: spec.primary,
        constraint: spec.constraint,
    };
    build_index(ctx, table, &def)?;
    Ok(StatementResult::tag("CREATE INDEX"))
}

/// Builds index `def` over `table`'s rows and records it in the catalog (its name already
/// checked free): 23505 if a unique index meets two visible rows with one key.
pub(crate) fn build_index(ctx: &mut ExecContext<'_>, table: &TableDef, def: &IndexDef) -> Result<()> {
    if let Some(encryption) = ctx.engine.encryption()
        && encryption.is_encrypted(table.id)
    {
        crate::encryption::check_index_method(&table.name, def.method)?;
        encryption.add_file(ctx.engine.txn_manager().storage().disk(), table.id, def.file())?;
    }
    let key_of = |row: &[Value]| -> Vec<Value> { def.columns.iter().map(|&c| row[c].clone()).collect() };
    if def.unique {
        // Only rows this transaction can see must be unique; older versions stay indexed.
        let mut keys: Vec<Vec<Value>> = access::scan(ctx, table)?
            .iter()
            .map(|(_, row)| key_of(row))
            .filter(|k| !k.iter().any(Value::is_null))
            .collect();
        keys.sort_by_key(|k| keycode::encode_key(k));
        if let Some(pair) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(access::duplicate_in_build(table, &def.name, &def.columns, &pair[0]));
        }
    }
    let mut entries: Vec<(Vec<u8>, TupleId)> =
        access::scan_all_versions(ctx, table)?.into_iter().map(|(tid, row)| (def.key(&key_of(&row)), tid)).collect();
    entries.sort_unstable();
    let open = ctx.engine.create_index(def, table)?;
    open.index.build(entries)?;
    catalog::create_index(ctx, def)
}

/// `ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY | UNIQUE (cols)`: a unique B+tree index
/// over the rows there are, named as PostgreSQL names the constraint (`t_pkey`, `t_a_key`); a
/// primary key also makes its columns NOT NULL, which every row must already satisfy.
fn add_key(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    name: Option<&str>,
    columns: &[usize],
    primary: bool,
) -> Result<StatementResult> {
    if primary {
        if !table.primary_key.is_empty() || table.indexes.iter().any(|i| i.primary) {
            return Err(DbError::sql(
                SqlState::InvalidTableDefinition,
                format!("multiple primary keys for table \"{}\" are not allowed", table.name),
            ));
        }
        for (_, row) in access::scan(ctx, table)? {
            if let Some(&c) = columns.iter().find(|&&c| row[c].is_null()) {
                return Err(DbError::sql(
                    SqlState::NotNullViolation,
                    format!(
                        "column \"{}\" of relation \"{}\" contains null values",
                        table.schema.columns[c].name, table.name
                    ),
                ));
            }
        }
    }
    let name = match name {
        Some(n) => n.to_string(),
        None if primary => first_free_name(ctx, table.namespace, &table.primary_key_name())?,
        None => {
            let names: Vec<&str> = columns.iter().map(|&c| table.schema.columns[c].name.as_str()).collect();
            first_free_name(ctx, table.namespace, &format!("{}_{}_key", table.name, names.join("_")))?
        }
    };
    let spec = IndexSpec {
        name: Some(&name),
        table,
        columns,
        descending: &vec![false; columns.len()],
        unique: true,
        method: IndexMethod::BTree,
        primary,
        constraint: true,
    };
    create_index(ctx, &spec, false)?;
    if primary {
        for &c in columns {
            catalog::set_not_null(ctx, table, c)?;
        }
    }
    Ok(StatementResult::tag("ALTER TABLE"))
}

fn drop_indexes(ctx: &mut ExecContext<'_>, names: &[QualifiedName], if_exists: bool) -> Result<StatementResult> {
    // Each index is resolved as the catalog holds it now and its table locked before the DDL
    // lock (see drop_tables); one whose lock was waited for is resolved again.
    let mut resolved = Vec::with_capacity(names.len());
    for name in names {
        if let Err(e) = name.check_schema(ctx)
            && !if_exists
        {
            return Err(e);
        }
        let mut index = ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))?;
        if let Some(def) = &index
            && let Some(table) = ctx.with_catalog_snapshot(|ctx| catalog::find_table_by_id(ctx, def.table))?
            && access::lock_table(ctx, &table, LockMode::AccessExclusive, WaitPolicy::Block)?
        {
            index = ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))?;
        }
        resolved.push(index);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag("DROP INDEX");
    let mut found = Vec::new();
    for (name, index) in names.iter().zip(resolved) {
        match index {
            Some(index) if index.primary => {
                let table = catalog::find_table_by_id(ctx, index.table)?.map(|t| t.name).unwrap_or_default();
                let name = &index.name;
                return Err(DbError::sql(
                    SqlState::DependentObjectsStillExist,
                    format!("cannot drop index {name} because constraint {name} on table {table} requires it"),
                ));
            }
            Some(index) => {
                // An index belongs to its table's owner (PostgreSQL: "must be owner of index").
                if let Some(table) = catalog::find_table_by_id(ctx, index.table)? {
                    acl::require_owner(ctx, ObjectRef::table(&table)).map_err(|e| match e.sqlstate() {
                        SqlState::InsufficientPrivilege => DbError::sql(
                            SqlState::InsufficientPrivilege,
                            format!("must be owner of index {}", index.name),
                        ),
                        _ => e,
                    })?;
                }
                found.push(index)
            }
            None if if_exists => result.notices.push(skipping(ctx, name, "index")?),
            None => {
                return Err(DbError::sql(SqlState::UndefinedObject, format!("index \"{}\" does not exist", name.name)));
            }
        }
    }
    for index in found {
        catalog::drop_index(ctx, &index)?;
        ctx.engine.drop_index_on_commit(ctx.txn, &index);
    }
    Ok(result)
}
