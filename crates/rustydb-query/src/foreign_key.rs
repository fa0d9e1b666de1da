//! Foreign keys: defining them, and keeping every reference pointing at a row that exists.
//!
//! Two sides, each checked as rows are written (PostgreSQL checks NO ACTION at the end of the
//! statement; RustyDB checks each row as it goes, which differs only for a statement that
//! changes both ends of a reference at once):
//!
//! - **A referencing row** (INSERT, UPDATE of its key columns, COPY): the referenced key must
//!   be a row of the parent, found through the parent's unique index on the referenced columns
//!   and locked FOR SHARE until the transaction ends. A concurrent DELETE of that row waits for
//!   the lock, so the reference cannot be left dangling. A key holding a NULL references
//!   nothing (MATCH SIMPLE).
//! - **A referenced row** (DELETE, UPDATE of the referenced columns): the rows referencing it
//!   are looked for with a fresh snapshot, so one committed by a transaction that held the
//!   FOR SHARE lock this change waited for is seen. Then the constraint's action: NO ACTION
//!   and RESTRICT fail with 23503; CASCADE deletes them (and what references them in turn) or
//!   gives them the new key; SET NULL and SET DEFAULT change their columns.
//!
//! The referenced columns must carry a unique constraint or index (42830), so the first side
//! is an index lookup; the second uses an index of the child whose columns are the key's if
//! there is one, and reads the whole child otherwise (as PostgreSQL does without an index).

use crate::access;
use crate::bind_expr::ident_name;
use crate::catalog::{self, FkAction, ForeignKeyDef, TableDef};
use crate::context::ExecContext;
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use rustydb_index::{Index, keycode};
use rustydb_txn::{LockMode, RowLock, WaitPolicy};
use sqlparser::ast;
use std::collections::BTreeSet;

/// A foreign key defined while binding: the referenced table is named, its id filled in when
/// the constraint is created.
pub fn define(
    ctx: &mut ExecContext<'_>,
    child: &TableDef,
    fk: &ast::ForeignKeyConstraint,
    column: Option<&str>,
    taken: &[String],
) -> Result<ForeignKeyDef> {
    if fk.match_kind.is_some() || fk.characteristics.is_some() {
        return Err(DbError::unsupported("MATCH and DEFERRABLE on foreign keys"));
    }
    let names: Vec<String> = match column {
        Some(c) => vec![c.to_string()],
        None => fk.columns.iter().map(ident_name).collect(),
    };
    let columns = names
        .iter()
        .map(|n| {
            child.schema.index_of(n).ok_or_else(|| {
                DbError::sql(
                    SqlState::UndefinedColumn,
                    format!("column \"{n}\" referenced in foreign key constraint does not exist"),
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    let parent_name = crate::binder::table_name(&fk.foreign_table)?;
    // A table may reference itself: while it is being created it is `child`, with id 0.
    // The child is itself the parent if the name reaches it: qualified with its schema, or,
    // unqualified, if the child's schema comes first on the search path among those holding a
    // table of the name (the child counting as there while CREATE TABLE makes it).
    let temp = crate::schemas::temp_namespace(ctx)?;
    let child_is_temp = child.namespace == crate::schemas::SESSION_TEMP || Some(child.namespace) == temp;
    let reaches_child = parent_name.name == child.name
        && match &parent_name.schema {
            Some(schema) if schema == "pg_temp" => child_is_temp,
            Some(schema) => ctx.schemas()?.name(child.namespace) == Some(schema.as_str()),
            // A temporary table is searched first: its own name reaches it.
            None if child_is_temp => true,
            None => {
                let mut first = None;
                for namespace in ctx.search_path()?.iter().copied() {
                    if namespace == child.namespace
                        || crate::catalog::find_table_in(ctx, namespace, &parent_name.name)?.is_some()
                    {
                        first = Some(namespace);
                        break;
                    }
                }
                first == Some(child.namespace)
            }
        };
    let parent = if reaches_child {
        child.clone()
    } else {
        let Some(parent) = access::open_table(ctx, &parent_name, LockMode::ShareRowExclusive, WaitPolicy::Block)?
        else {
            return Err(DbError::undefined_table(&parent_name));
        };
        // Other sessions write a permanent table; a temporary one is one session's alone.
        let parent_is_temp = Some(parent.namespace) == temp;
        if parent_is_temp != child_is_temp {
            let message = if child_is_temp {
                "constraints on temporary tables may reference only temporary tables"
            } else {
                "constraints on permanent tables may reference only permanent tables"
            };
            return Err(DbError::sql(SqlState::InvalidTableDefinition, message));
        }
        parent
    };
    let parent_columns = if fk.referred_columns.is_empty() {
        if parent.primary_key.is_empty() {
            let pk = parent.indexes.iter().find(|i| i.primary).map(|i| i.columns.clone());
            pk.ok_or_else(|| {
                DbError::sql(
                    SqlState::UndefinedObject,
                    format!("there is no primary key for referenced table \"{}\"", parent.name),
                )
            })?
        } else {
            parent.primary_key.clone()
        }
    } else {
        fk.referred_columns
            .iter()
            .map(|c| {
                let n = ident_name(c);
                parent.schema.index_of(&n).ok_or_else(|| {
                    DbError::sql(
                        SqlState::UndefinedColumn,
                        format!("column \"{n}\" referenced in foreign key constraint does not exist"),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?
    };
    if parent_columns.len() != columns.len() {
        return Err(DbError::sql(
            SqlState::InvalidForeignKey,
            "number of referencing and referenced columns for foreign key disagree",
        ));
    }
    let wanted: BTreeSet<usize> = parent_columns.iter().copied().collect();
    let same = |cols: &[usize]| cols.iter().copied().collect::<BTreeSet<usize>>() == wanted;
    let unique = (!parent.primary_key.is_empty() && same(&parent.primary_key))
        || parent.indexes.iter().any(|i| i.unique && same(&i.columns));
    if !unique {
        return Err(DbError::sql(
            SqlState::InvalidForeignKey,
            format!("there is no unique constraint matching given keys for referenced table \"{}\"", parent.name),
        ));
    }
    let name = match &fk.name {
        Some(n) => ident_name(n),
        None => {
            let base = format!("{}_{}_fkey", child.name, names.join("_"));
            crate::check_constraint::first_untaken(&base, taken)
        }
    };
    for (&c, &p) in columns.iter().zip(&parent_columns) {
        let (ct, pt) = (child.schema.columns[c].data_type, parent.schema.columns[p].data_type);
        let comparable = (ct.is_numeric() && pt.is_numeric()) || (ct.is_string() && pt.is_string()) || ct == pt;
        if !comparable {
            return Err(DbError::sql(
                SqlState::DatatypeMismatch,
                format!("foreign key constraint \"{name}\" cannot be implemented"),
            )
            .with_detail(format!(
                "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                child.schema.columns[c].name,
                parent.schema.columns[p].name,
                ct.sql_name(),
                pt.sql_name()
            )));
        }
    }
    let action = |a: &Option<ast::ReferentialAction>| match a {
        None | Some(ast::ReferentialAction::NoAction) => FkAction::NoAction,
        Some(ast::ReferentialAction::Restrict) => FkAction::Restrict,
        Some(ast::ReferentialAction::Cascade) => FkAction::Cascade,
        Some(ast::ReferentialAction::SetNull) => FkAction::SetNull,
        Some(ast::ReferentialAction::SetDefault) => FkAction::SetDefault,
    };
    Ok(ForeignKeyDef {
        name,
        columns,
        parent: parent.id,
        parent_columns,
        on_delete: action(&fk.on_delete),
        on_update: action(&fk.on_update),
    })
}

/// A reference `table` makes.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The constraint.
    pub fk: ForeignKeyDef,
    /// The referenced table.
    pub parent: TableDef,
}

/// A reference another table makes to `table`.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// The constraint (the child's).
    pub fk: ForeignKeyDef,
    /// The referencing table.
    pub child: TableDef,
}

/// Both sides of `table`'s foreign keys, loaded for one statement.
#[derive(Debug, Clone, Default)]
pub struct ForeignKeys {
    /// The references it makes.
    pub references: Vec<Reference>,
    /// The references made to it.
    pub referrers: Vec<Referrer>,
}

impl ForeignKeys {
    /// Loads both sides and locks the other tables: referenced ones ROW SHARE (their rows are
    /// only locked), referencing ones ROW EXCLUSIVE (actions may change them).
    pub fn load(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<ForeignKeys> {
        let mut fks = ForeignKeys::default();
        for fk in &table.foreign_keys {
            let parent = if fk.parent == table.id {
                table.clone()
            } else {
                let Some(parent) = catalog::find_table_by_id(ctx, fk.parent)? else { continue };
                access::lock_table(ctx, &parent, LockMode::RowShare, WaitPolicy::Block)?;
                parent
            };
            fks.references.push(Reference { fk: fk.clone(), parent });
        }
        let referencing = catalog::referencing_tables(ctx)?;
        for (namespace, name) in referencing.get(&table.id).into_iter().flatten() {
            let child = if *name == table.name && *namespace == table.namespace {
                table.clone()
            } else {
                let Some(child) = catalog::find_table_in(ctx, *namespace, name)? else { continue };
                access::lock_table(ctx, &child, LockMode::RowExclusive, WaitPolicy::Block)?;
                child
            };
            for fk in child.foreign_keys.iter().filter(|k| k.parent == table.id) {
                fks.referrers.push(Referrer { fk: fk.clone(), child: child.clone() });
            }
        }
        Ok(fks)
    }

    /// True when the table takes part in no foreign key.
    pub fn is_empty(&self) -> bool {
        self.references.is_empty() && self.referrers.is_empty()
    }
}

/// `values` cast to the types of `table`'s `columns` (an int8 key looked up in an int4 index).
fn cast_key(table: &TableDef, columns: &[usize], values: &[Value]) -> Result<Vec<Value>> {
    columns
        .iter()
        .zip(values)
        .map(|(&c, v)| crate::types::cast_value(v.clone(), table.schema.columns[c].data_type, false))
        .collect()
}

/// The rows of `table` whose `columns` may equal `key` (already of their types), through an
/// index on exactly those columns; `None` if there is none.
fn index_candidates(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    columns: &[usize],
    key: &[Value],
) -> Result<Option<Vec<TupleId>>> {
    let wanted: BTreeSet<usize> = columns.iter().copied().collect();
    let ordered = |index_columns: &[usize]| -> Vec<Value> {
        index_columns
            .iter()
            .map(|ic| columns.iter().position(|c| c == ic).map_or(Value::Null, |i| key[i].clone()))
            .collect()
    };
    let same = |cols: &[usize]| cols.len() == columns.len() && cols.iter().copied().collect::<BTreeSet<_>>() == wanted;
    if !table.primary_key.is_empty()
        && same(&table.primary_key)
        && let Some(pk) = ctx.engine.primary_index(table)
    {
        return Ok(Some(pk.index.lookup(&keycode::encode_key(&ordered(&table.primary_key)))?));
    }
    for def in &table.indexes {
        if same(&def.columns) {
            let open = ctx.engine.open_index(def)?;
            return Ok(Some(open.index.lookup(&def.key(&ordered(&def.columns)))?));
        }
    }
    Ok(None)
}

fn key_text(table: &TableDef, columns: &[usize], key: &[Value]) -> String {
    let names: Vec<&str> = columns.iter().map(|&c| table.schema.columns[c].name.as_str()).collect();
    format!("Key ({})=({})", names.join(", "), access::format_row(key))
}

/// 23503 unless each key of `row` that `table` references is a row of its parent, which is
/// then locked FOR SHARE. With `old` (an UPDATE), keys that did not change are not checked.
pub fn check_references(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    fks: &ForeignKeys,
    old: Option<&[Value]>,
    row: &[Value],
) -> Result<()> {
    for r in &fks.references {
        let key: Vec<Value> = r.fk.columns.iter().map(|&c| row[c].clone()).collect();
        if key.iter().any(Value::is_null) {
            continue;
        }
        if let Some(old) = old
            && r.fk.columns.iter().all(|&c| old.get(c) == row.get(c))
        {
            continue;
        }
        if !lock_parent(ctx, &r.parent, &r.fk.parent_columns, &key)? {
            return Err(DbError::sql(
                SqlState::ForeignKeyViolation,
                format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                    table.name, r.fk.name
                ),
            )
            .with_detail(format!(
                "{} is not present in table \"{}\".",
                key_text(table, &r.fk.columns, &key),
                r.parent.name
            )));
        }
    }
    Ok(())
}

/// Finds the row of `parent` whose `columns` equal `key` and locks it FOR SHARE; false if
/// there is none.
fn lock_parent(ctx: &mut ExecContext<'_>, parent: &TableDef, columns: &[usize], key: &[Value]) -> Result<bool> {
    let key = cast_key(parent, columns, key)?;
    let candidates = match index_candidates(ctx, parent, columns, &key)? {
        Some(tids) => tids,
        None => access::scan(ctx, parent)?.into_iter().map(|(tid, _)| tid).collect(),
    };
    let heap = ctx.engine.txn_manager().storage().heap(parent.file())?;
    let matches = |row: &[Value]| columns.iter().zip(&key).all(|(&c, v)| row.get(c) == Some(v));
    for tid in candidates {
        let Some(row) = access::fetch(ctx, parent, tid)? else { continue };
        if !matches(&row) {
            continue;
        }
        let mut current = tid;
        loop {
            let tm = ctx.engine.txn_manager();
            match tm.lock_row(ctx.txn, &heap, current, LockMode::Share, WaitPolicy::Block, &parent.name)? {
                RowLock::Locked => return Ok(true),
                RowLock::Skipped | RowLock::Gone => break,
                RowLock::Updated(newer) => match access::fetch_newer(ctx, parent, newer)? {
                    Some(row) if matches(&row) => current = newer,
                    _ => break,
                },
            }
        }
    }
    Ok(false)
}

/// The rows of `r.child` referencing parent key `key` (in the order of `r.fk.parent_columns`),
/// read with a snapshot of what is committed now (and this transaction's own changes).
fn referencing_rows(ctx: &mut ExecContext<'_>, r: &Referrer, key: &[Value]) -> Result<Vec<(TupleId, Vec<Value>)>> {
    // What is committed now, whatever the isolation level: a reference committed after this
    // transaction's snapshot must still stop (or follow) the change.
    let fresh = ctx.engine.txn_manager().current_snapshot();
    let saved = std::mem::replace(&mut ctx.snapshot, fresh);
    let found = (|| {
        let key = cast_key(&r.child, &r.fk.columns, key)?;
        let matches = |row: &[Value]| r.fk.columns.iter().zip(&key).all(|(&c, v)| row.get(c) == Some(v));
        let rows = match index_candidates(ctx, &r.child, &r.fk.columns, &key)? {
            Some(tids) => {
                let mut rows = Vec::new();
                for tid in tids {
                    if let Some(row) = access::fetch(ctx, &r.child, tid)? {
                        rows.push((tid, row));
                    }
                }
                rows
            }
            None => access::scan(ctx, &r.child)?,
        };
        Ok(rows.into_iter().filter(|(_, row)| matches(row)).collect())
    })();
    ctx.snapshot = saved;
    found
}

fn still_referenced(table: &TableDef, r: &Referrer, key: &[Value]) -> DbError {
    DbError::sql(
        SqlState::ForeignKeyViolation,
        format!(
            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
            table.name, r.fk.name, r.child.name
        ),
    )
    .with_detail(format!(
        "{} is still referenced from table \"{}\".",
        key_text(table, &r.fk.parent_columns, key),
        r.child.name
    ))
}

/// What deleting `old` from `table` does to the rows referencing it.
pub fn on_delete(ctx: &mut ExecContext<'_>, table: &TableDef, fks: &ForeignKeys, old: &[Value]) -> Result<()> {
    for r in &fks.referrers {
        let key: Vec<Value> = r.fk.parent_columns.iter().map(|&c| old[c].clone()).collect();
        if key.iter().any(Value::is_null) {
            continue;
        }
        let children = referencing_rows(ctx, r, &key)?;
        if children.is_empty() {
            continue;
        }
        match r.fk.on_delete {
            FkAction::NoAction | FkAction::Restrict => return Err(still_referenced(table, r, &key)),
            FkAction::Cascade => {
                let child_fks = ForeignKeys::load(ctx, &r.child)?;
                for (tid, row) in children {
                    if let Some((_, deleted)) = crate::executor::claim(ctx, &r.child, None, tid, row)? {
                        on_delete(ctx, &r.child, &child_fks, &deleted)?;
                    }
                }
            }
            FkAction::SetNull | FkAction::SetDefault => set_columns(ctx, r, r.fk.on_delete, children, None)?,
        }
    }
    Ok(())
}

/// What changing `old` into `new` in `table` does to the rows referencing `old`'s key.
pub fn on_update(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    fks: &ForeignKeys,
    old: &[Value],
    new: &[Value],
) -> Result<()> {
    for r in &fks.referrers {
        if r.fk.parent_columns.iter().all(|&c| old[c] == new[c]) {
            continue;
        }
        let key: Vec<Value> = r.fk.parent_columns.iter().map(|&c| old[c].clone()).collect();
        if key.iter().any(Value::is_null) {
            continue;
        }
        let children = referencing_rows(ctx, r, &key)?;
        if children.is_empty() {
            continue;
        }
        match r.fk.on_update {
            FkAction::NoAction | FkAction::Restrict => return Err(still_referenced(table, r, &key)),
            FkAction::Cascade => {
                let new_key: Vec<Value> = r.fk.parent_columns.iter().map(|&c| new[c].clone()).collect();
                set_columns(ctx, r, FkAction::Cascade, children, Some(&new_key))?;
            }
            FkAction::SetNull | FkAction::SetDefault => set_columns(ctx, r, r.fk.on_update, children, None)?,
        }
    }
    Ok(())
}

/// Gives the referencing columns of `children` new values: the new key (CASCADE), NULL or the
/// columns' defaults. The changed rows must still satisfy their table's CHECK constraints and
/// (for SET DEFAULT) reference an existing row.
fn set_columns(
    ctx: &mut ExecContext<'_>,
    r: &Referrer,
    action: FkAction,
    children: Vec<(TupleId, Vec<Value>)>,
    new_key: Option<&[Value]>,
) -> Result<()> {
    let child = &r.child;
    let mut values = Vec::with_capacity(r.fk.columns.len());
    for (i, &c) in r.fk.columns.iter().enumerate() {
        values.push(match (action, new_key) {
            (FkAction::Cascade, Some(key)) => {
                crate::types::cast_value(key[i].clone(), child.schema.columns[c].data_type, false)?
            }
            (FkAction::SetDefault, _) => {
                let default = crate::binder::column_default(ctx, &child.schema.columns[c])?;
                crate::exec::eval(ctx, &default, &[])?
            }
            _ => Value::Null,
        });
    }
    let checks = crate::check_constraint::bind_all(ctx, child)?;
    let child_fks = ForeignKeys::load(ctx, child)?;
    for (tid, row) in children {
        let Some((tid, old)) = crate::executor::claim(ctx, child, None, tid, row)? else { continue };
        let mut new = old.clone();
        for (&c, v) in r.fk.columns.iter().zip(&values) {
            new[c] = v.clone();
        }
        crate::check_constraint::enforce(ctx, child, &checks, &new)?;
        if action == FkAction::SetDefault {
            check_references(ctx, child, &child_fks, Some(&old), &new)?;
        }
        let new_tid = access::insert(ctx, child, &new)?;
        access::link_update(ctx, child, tid, new_tid)?;
        on_update(ctx, child, &child_fks, &old, &new)?;
    }
    Ok(())
}

/// 23503 if a row `table` holds now references nothing under the new foreign key `fk`
/// (ALTER TABLE ADD CONSTRAINT ... FOREIGN KEY).
pub fn validate_existing(ctx: &mut ExecContext<'_>, table: &TableDef, fk: &ForeignKeyDef) -> Result<()> {
    let Some(parent) = catalog::find_table_by_id(ctx, fk.parent)? else {
        return Err(DbError::Internal(format!("the table referenced by \"{}\" is gone", fk.name)));
    };
    let fks = ForeignKeys { references: vec![Reference { fk: fk.clone(), parent }], referrers: Vec::new() };
    for (_, row) in access::scan(ctx, table)? {
        check_references(ctx, table, &fks, None, &row)?;
    }
    Ok(())
}
