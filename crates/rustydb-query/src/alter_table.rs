//! ALTER TABLE's structural changes: DROP COLUMN, RENAME COLUMN, RENAME TO (of a table, view
//! or index) and RENAME CONSTRAINT, with PostgreSQL's rules for what depends on what.
//!
//! - **DROP COLUMN** takes the indexes, CHECK constraints and foreign keys of the table that
//!   involve the column with it, and the primary key if the column is in it. Objects elsewhere
//!   that need the column — a view reading it, a policy testing it, another table's foreign
//!   key referencing it — stop the drop with 2BP01, or go too under CASCADE. As in
//!   PostgreSQL, no row is rewritten: the column's slot in the stored rows is left unread (see
//!   `catalog::Layout`), so every version of a row, whichever snapshot or VACUUM reads it,
//!   decodes the same way.
//! - **Renames** change the catalog rows that hold the name, and rewrite the stored SQL texts
//!   that mention it (see `sql_names.rs`). A view is bound again after its text is rewritten;
//!   if it no longer binds to the same column types the rewrite guessed wrong (a bare name
//!   that belonged to another table), and the rename is refused rather than leave a broken
//!   view.
//!
//! Everything happens in the statement's transaction: a rollback restores the old definition
//! and the old rows.

use crate::acl::{self, ObjectKind, ObjectRef};
use crate::bind_expr::ident_name;
use crate::bind_query::QueryBinder;
use crate::catalog::QualifiedName;
use crate::catalog::{self, IndexDef, TableDef, ViewDef};
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::result::{Notice, StatementResult};
use crate::sql_names::{self, Renaming};
use crate::types::CastContext;
use crate::{access, vacuum};
use rustydb_foundation::{DataType, DbError, Result, Schema, SqlState, TupleId, Value};
use rustydb_txn::{LockMode, WaitPolicy};
use sqlparser::ast;

/// One of the changes this module makes, bound.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterAction {
    /// IF EXISTS met a missing table or column: nothing to do but tell.
    Skip(String),
    /// `DROP COLUMN`.
    DropColumn {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The column's position.
        position: usize,
        /// CASCADE: dependent objects elsewhere go too.
        cascade: bool,
    },
    /// `RENAME COLUMN ... TO ...`.
    RenameColumn {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The column's position.
        position: usize,
        /// The new name.
        to: String,
    },
    /// `RENAME TO ...` of a table, view or index.
    RenameRelation {
        /// What is renamed.
        relation: Relation,
        /// The new name.
        to: String,
    },
    /// `ALTER COLUMN ... SET NOT NULL` (`true`) or `DROP NOT NULL` (`false`).
    SetNotNull {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The column's position.
        position: usize,
        /// SET (true) or DROP (false).
        not_null: bool,
    },
    /// `ALTER COLUMN ... [SET DATA] TYPE ... [USING ...]`.
    SetType {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The column's position.
        position: usize,
        /// The new type.
        to: DataType,
        /// The column's new value, over the table's row (the USING expression, or the column
        /// cast to the new type), already coerced to `to`.
        using: Expr,
    },
    /// `RENAME CONSTRAINT ... TO ...`.
    RenameConstraint {
        /// The table (locked ACCESS EXCLUSIVE).
        table: TableDef,
        /// The constraint's name.
        from: String,
        /// Its new name.
        to: String,
    },
}

/// A relation a RENAME TO names.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// A table (locked ACCESS EXCLUSIVE).
    Table(TableDef),
    /// A view.
    View(ViewDef),
    /// An index (its table locked ACCESS EXCLUSIVE).
    Index(IndexDef),
}

/// Binds an ALTER TABLE whose single operation is one this module makes; `None` for others.
pub fn bind(ctx: &mut ExecContext<'_>, alter: &ast::AlterTable) -> Result<Option<AlterAction>> {
    let [op] = alter.operations.as_slice() else { return Ok(None) };
    let name = crate::binder::table_name(&alter.name)?;
    let handled = matches!(
        op,
        ast::AlterTableOperation::DropColumn { .. }
            | ast::AlterTableOperation::RenameColumn { .. }
            | ast::AlterTableOperation::RenameTable { .. }
            | ast::AlterTableOperation::RenameConstraint { .. }
            | ast::AlterTableOperation::AlterColumn {
                op: ast::AlterColumnOperation::SetNotNull
                    | ast::AlterColumnOperation::DropNotNull
                    | ast::AlterColumnOperation::SetDataType { .. },
                ..
            }
    );
    if !handled {
        return Ok(None);
    }
    if let ast::AlterTableOperation::RenameTable { table_name } = op {
        let (ast::RenameTableNameKind::To(to) | ast::RenameTableNameKind::As(to)) = table_name;
        let to = new_relation_name(to)?;
        return match open_relation(ctx, &name)? {
            Some(relation) => Ok(Some(AlterAction::RenameRelation { relation, to })),
            None if alter.if_exists => Ok(Some(skip_missing_relation(&name))),
            None => Err(DbError::undefined_table(name.to_string())),
        };
    }
    let Some(table) = access::open_table(ctx, &name, LockMode::AccessExclusive, WaitPolicy::Block)? else {
        if alter.if_exists {
            return Ok(Some(skip_missing_relation(&name)));
        }
        if catalog::find_view(ctx, &name)?.is_some() {
            return Err(DbError::sql(SqlState::WrongObjectType, format!("\"{}\" is not a table", name.name)));
        }
        return Err(DbError::undefined_table(name.to_string()));
    };
    if table.is_system() {
        return Err(DbError::sql(
            SqlState::InsufficientPrivilege,
            format!("permission denied: \"{name}\" is a system catalog"),
        ));
    }
    Ok(Some(match op {
        ast::AlterTableOperation::DropColumn { column_names, if_exists, drop_behavior, .. } => {
            let [column] = column_names.as_slice() else {
                return Err(DbError::unsupported("DROP COLUMN of several columns at once"));
            };
            let column = ident_name(column);
            match table.schema.index_of(&column) {
                Some(position) => {
                    let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                    AlterAction::DropColumn { table, position, cascade }
                }
                None if *if_exists => AlterAction::Skip(format!(
                    "column \"{column}\" of relation \"{}\" does not exist, skipping",
                    table.name
                )),
                None => {
                    return Err(DbError::sql(
                        SqlState::UndefinedColumn,
                        format!("column \"{column}\" of relation \"{}\" does not exist", table.name),
                    ));
                }
            }
        }
        ast::AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
            let from = ident_name(old_column_name);
            let position = table
                .schema
                .index_of(&from)
                .ok_or_else(|| DbError::sql(SqlState::UndefinedColumn, format!("column \"{from}\" does not exist")))?;
            AlterAction::RenameColumn { table, position, to: ident_name(new_column_name) }
        }
        ast::AlterTableOperation::RenameConstraint { old_name, new_name } => {
            AlterAction::RenameConstraint { table, from: ident_name(old_name), to: ident_name(new_name) }
        }
        ast::AlterTableOperation::AlterColumn { column_name, op } => {
            let position = crate::binder::target_column(&table, &ident_name(column_name))?;
            match op {
                ast::AlterColumnOperation::SetNotNull => AlterAction::SetNotNull { table, position, not_null: true },
                ast::AlterColumnOperation::DropNotNull => AlterAction::SetNotNull { table, position, not_null: false },
                ast::AlterColumnOperation::SetDataType { data_type, using, .. } => {
                    bind_set_type(ctx, table, position, data_type, using.as_ref())?
                }
                _ => unreachable!("filtered above"),
            }
        }
        _ => unreachable!("filtered above"),
    }))
}

/// Binds `ALTER COLUMN ... TYPE to [USING e]`: the new value of each row, coerced to `to` as
/// an assignment would (42804 without USING if the old type does not convert to the new one
/// automatically, as PostgreSQL says it).
fn bind_set_type(
    ctx: &mut ExecContext<'_>,
    table: TableDef,
    position: usize,
    data_type: &ast::DataType,
    using: Option<&ast::Expr>,
) -> Result<AlterAction> {
    if crate::binder::serial_range(data_type).is_some() {
        return Err(DbError::sql(SqlState::UndefinedObject, format!("type \"{data_type}\" does not exist")));
    }
    let to = crate::bind_expr::convert_type(data_type)?;
    let column = &table.schema.columns[position];
    let mut binder = QueryBinder::for_table(ctx, &table, &table.name);
    binder.forbid_aggregates("transform expressions");
    let bound = match using {
        Some(e) => crate::bind_expr::bind(e, &mut binder)?,
        None => {
            let e = ast::Expr::Identifier(ast::Ident::with_quote('"', column.name.clone()));
            crate::bind_expr::bind(&e, &mut binder)?
        }
    };
    let names = binder.into_names();
    if bound.has_subquery() {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "cannot use subquery in transform expression"));
    }
    let bound = crate::bind_expr::coerce_unknown(bound, to)?;
    let from = bound.data_type();
    if !crate::types::can_cast(from, to, CastContext::Assignment) {
        let message = match using {
            None => format!("column \"{}\" cannot be cast automatically to type {}", column.name, to.sql_name()),
            Some(_) => format!(
                "result of USING clause for column \"{}\" cannot be cast automatically to type {}",
                column.name,
                to.sql_name()
            ),
        };
        return Err(DbError::sql(SqlState::DatatypeMismatch, message).with_hint(format!(
            "You might need to specify \"USING {}::{}\".",
            sql_names::quote_ident(&column.name),
            to.sql_name()
        )));
    }
    let bound = crate::bind_expr::cast(bound, to, CastContext::Assignment)?;
    let layout: Vec<usize> = (0..table.schema.len()).collect();
    let using = crate::resolve::resolve_expr(bound, &layout, &names)?;
    Ok(AlterAction::SetType { table, position, to, using })
}

/// Binds `ALTER INDEX name RENAME TO new`.
pub fn bind_alter_index(
    ctx: &mut ExecContext<'_>,
    name: &ast::ObjectName,
    operation: &ast::AlterIndexOperation,
) -> Result<AlterAction> {
    let ast::AlterIndexOperation::RenameIndex { index_name } = operation;
    let name = crate::binder::table_name(name)?;
    let to = new_relation_name(index_name)?;
    // PostgreSQL lets ALTER INDEX rename any relation, as ALTER TABLE does.
    match open_relation(ctx, &name)? {
        Some(relation) => Ok(AlterAction::RenameRelation { relation, to }),
        None => Err(DbError::undefined_table(name.to_string())),
    }
}

/// The new name of a RENAME TO: unqualified (the relation stays in its schema).
fn new_relation_name(name: &ast::ObjectName) -> Result<String> {
    crate::binder::unqualified_name(name)
}

fn skip_missing_relation(name: &QualifiedName) -> AlterAction {
    AlterAction::Skip(format!("relation \"{name}\" does not exist, skipping"))
}

/// The table, view or index `name` stands for, locked for a rename.
fn open_relation(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<Relation>> {
    if let Some(table) = access::open_table(ctx, name, LockMode::AccessExclusive, WaitPolicy::Block)? {
        if table.is_system() {
            return Err(DbError::sql(
                SqlState::InsufficientPrivilege,
                format!("permission denied: \"{name}\" is a system catalog"),
            ));
        }
        return Ok(Some(Relation::Table(table)));
    }
    if let Some((_, view)) = catalog::find_view(ctx, name)? {
        return Ok(Some(Relation::View(view)));
    }
    if let Some(index) = ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))? {
        if let Some(table) = ctx.with_catalog_snapshot(|ctx| catalog::find_table_by_id(ctx, index.table))? {
            access::lock_table(ctx, &table, LockMode::AccessExclusive, WaitPolicy::Block)?;
        }
        // Resolved again: a rename or drop may have committed while the lock was waited for.
        return Ok(ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))?.map(Relation::Index));
    }
    if catalog::find_sequence(ctx, name)?.is_some() {
        return Err(DbError::unsupported("renaming a sequence"));
    }
    Ok(None)
}

/// Runs a bound ALTER; `command` is the tag it answers with.
pub fn execute(ctx: &mut ExecContext<'_>, action: &AlterAction, command: &'static str) -> Result<StatementResult> {
    let mut result = StatementResult::tag(command);
    match action {
        AlterAction::Skip(message) => result.notices.push(Notice::plain(message.clone())),
        AlterAction::DropColumn { table, position, cascade } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            // The tables whose foreign keys point here change too: lock them first (before
            // the DDL lock, as every path takes table locks before it).
            let referrers = catalog::referencing_tables(ctx)?.get(&table.id).cloned().unwrap_or_default();
            for (namespace, name) in referrers {
                access::open_table_in(ctx, namespace, &name, LockMode::ShareRowExclusive, WaitPolicy::Block)?;
            }
            result.notices = drop_column(ctx, table, *position, *cascade)?;
        }
        AlterAction::RenameColumn { table, position, to } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            rename_column(ctx, table, *position, to)?;
        }
        AlterAction::RenameRelation { relation, to } => rename_relation(ctx, relation, to)?,
        AlterAction::RenameConstraint { table, from, to } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            rename_constraint(ctx, table, from, to)?;
        }
        AlterAction::SetNotNull { table, position, not_null } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            set_not_null(ctx, table, *position, *not_null)?;
        }
        AlterAction::SetType { table, position, to, using } => {
            acl::require_owner(ctx, ObjectRef::table(table))?;
            set_type(ctx, table, *position, *to, using)?;
        }
    }
    Ok(result)
}

/// SET NOT NULL (23502 if a row holds NULL) or DROP NOT NULL (42P16 for a primary key column).
fn set_not_null(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, not_null: bool) -> Result<()> {
    let column = &table.schema.columns[position];
    if not_null {
        if !column.nullable {
            return Ok(());
        }
        // Every row committed before the lock was granted, not only those the statement's
        // snapshot sees.
        for (_, row) in ctx.with_catalog_snapshot(|ctx| access::scan(ctx, table))? {
            if row.get(position).is_none_or(Value::is_null) {
                return Err(DbError::sql(
                    SqlState::NotNullViolation,
                    format!("column \"{}\" of relation \"{}\" contains null values", column.name, table.name),
                ));
            }
        }
        let _ddl = ctx.engine.ddl_lock().lock();
        return catalog::set_not_null(ctx, table, position);
    }
    let in_key = table.primary_key.contains(&position)
        || table.indexes.iter().any(|i| i.primary && i.columns.contains(&position));
    if in_key {
        return Err(DbError::sql(
            SqlState::InvalidTableDefinition,
            format!("column \"{}\" is in a primary key", column.name),
        ));
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    catalog::set_nullable(ctx, table, position)
}

/// Types whose index keys encode alike (an index over one stays valid for the other): the
/// integers, the floats, the character types; any other type only with itself.
fn key_family(ty: DataType) -> DataType {
    match ty {
        DataType::Int2 | DataType::Int4 | DataType::Int8 => DataType::Int8,
        DataType::Float4 | DataType::Float8 => DataType::Float8,
        DataType::Varchar(_) | DataType::Char(_) | DataType::Text => DataType::Text,
        DataType::Numeric(_) => DataType::Numeric(None),
        other => other,
    }
}

/// ALTER COLUMN TYPE: every row gets a new version holding the converted value; the indexes
/// over the column are built again when the key encoding changes. Refused (0A000, as
/// PostgreSQL refuses it) for a column a view or a policy reads; refused too, as a RustyDB
/// limit, where the primary key or a foreign key would need its keys re-encoded.
fn set_type(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, to: DataType, using: &Expr) -> Result<()> {
    let column = table.schema.columns[position].clone();
    let recode = key_family(column.data_type) != key_family(to);
    let mut widened = table.clone();
    let mut columns = table.schema.columns.clone();
    columns[position].data_type = to;
    widened.schema = Schema::new(columns);
    let rebuilt: Vec<IndexDef> = if recode {
        table.indexes.iter().filter(|i| i.columns.contains(&position)).cloned().collect()
    } else {
        Vec::new()
    };
    {
        let _ddl = ctx.engine.ddl_lock().lock();
        let relation = catalog::Relation::new(table.namespace, &table.name);
        for (_, view) in catalog::list_views(ctx)? {
            if crate::dependents::view_reads(ctx, &view, &relation)?
                && sql_names::mentions(&view.definition, &column.name, true)?
            {
                return Err(DbError::sql(
                    SqlState::FeatureNotSupported,
                    "cannot alter type of a column used by a view or rule",
                )
                .with_detail(format!("rule _RETURN on view {} depends on column \"{}\"", view.name, column.name)));
            }
        }
        if let Some(policy) = crate::row_security::policies_mentioning(ctx, table, &column.name)?.first() {
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                "cannot alter type of a column used in a policy definition",
            )
            .with_detail(format!("policy {policy} on table {} depends on column \"{}\"", table.name, column.name)));
        }
        if recode && table.primary_key.contains(&position) {
            return Err(DbError::unsupported(format!(
                "changing a key column's type from {} to {} (the key's index would need rebuilding)",
                column.data_type.sql_name(),
                to.sql_name()
            )));
        }
        // A foreign key's columns keep their values only between integer types (a value
        // changes or the conversion fails); other conversions could orphan references.
        let integer = |t: DataType| matches!(t, DataType::Int2 | DataType::Int4 | DataType::Int8);
        if !(integer(column.data_type) && integer(to)) && column.data_type != to {
            let in_foreign_key = table.foreign_keys.iter().any(|k| k.columns.contains(&position))
                || catalog::list_tables(ctx)?.iter().any(|o| {
                    o.foreign_keys.iter().any(|k| k.parent == table.id && k.parent_columns.contains(&position))
                });
            if in_foreign_key {
                return Err(DbError::unsupported(format!(
                    "changing the type of foreign key column \"{}\" from {} to {}",
                    column.name,
                    column.data_type.sql_name(),
                    to.sql_name()
                )));
            }
        }
        if let Some(default) = &column.default {
            // The default as the column holds it now (typed, as PostgreSQL stores it) must
            // convert to the new type by itself.
            let parsed = crate::parser::parse_expr(default)?;
            let typed = rustydb_foundation::Column { data_type: to, ..column.clone() };
            let now = crate::binder::bind_default(ctx, &column, &parsed)?.data_type();
            if !crate::types::can_cast(now, to, CastContext::Assignment)
                || crate::binder::bind_default(ctx, &typed, &parsed).is_err()
            {
                return Err(DbError::sql(
                    SqlState::DatatypeMismatch,
                    format!(
                        "default for column \"{}\" cannot be cast automatically to type {}",
                        column.name,
                        to.sql_name()
                    ),
                ));
            }
        }
        catalog::set_column_type(ctx, table, position, to)?;
        catalog::forget_column_statistics(ctx, table, position, false)?;
        for index in &rebuilt {
            catalog::drop_index(ctx, index)?;
            ctx.engine.drop_index_on_commit(ctx.txn, index);
        }
    }
    widened.indexes.retain(|i| !rebuilt.iter().any(|r| r.id == i.id));
    let checks = crate::check_constraint::bind_all(ctx, &widened)?;
    let mut rewritten = 0;
    let done = access::scan(ctx, table)?.into_iter().try_for_each(|(tid, mut row)| {
        row.resize(table.schema.len(), Value::Null);
        let value = crate::exec::eval(ctx, using, &row)?;
        if value.is_null() && !column.nullable {
            return Err(DbError::sql(
                SqlState::NotNullViolation,
                format!("column \"{}\" of relation \"{}\" contains null values", column.name, table.name),
            ));
        }
        row[position] = value;
        for check in &checks {
            if crate::exec::eval(ctx, &check.predicate, &row)? == Value::Bool(false) {
                return Err(DbError::sql(
                    SqlState::CheckViolation,
                    format!(
                        "check constraint \"{}\" of relation \"{}\" is violated by some row",
                        check.name, table.name
                    ),
                ));
            }
        }
        access::rewrite_version(ctx, table, &widened, tid, &row)?;
        rewritten += 1;
        Ok(())
    });
    vacuum::note_changes(ctx, table, rewritten, rewritten);
    done?;
    for index in rebuilt {
        let def = IndexDef { id: ctx.engine.allocate_table_id(), ..index };
        crate::executor::build_index(ctx, &widened, &def)?;
        widened.indexes.push(def);
    }
    Ok(())
}

/// Something outside the table that needs a column being dropped.
enum Dependent {
    /// Another table's foreign key: (table, constraint).
    ForeignKey(TableDef, String),
    /// A view reading the column.
    View(TupleId, ViewDef),
    /// A policy of the table testing the column.
    Policy(String),
}

impl Dependent {
    fn describe(&self, table: &str) -> String {
        match self {
            Dependent::ForeignKey(other, name) => format!("constraint {name} on table {}", other.name),
            Dependent::View(_, view) => format!("view {}", view.name),
            Dependent::Policy(name) => format!("policy {name} on table {table}"),
        }
    }
}

/// DROP COLUMN: see the module comment. Returns the notices of what CASCADE dropped.
fn drop_column(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, cascade: bool) -> Result<Vec<Notice>> {
    let column = table.schema.columns[position].name.clone();
    let ddl = ctx.engine.ddl_lock().lock();
    let mut dependents = Vec::new();
    for other in catalog::list_tables(ctx)? {
        if other.id == table.id {
            continue;
        }
        for k in &other.foreign_keys {
            if k.parent == table.id && k.parent_columns.contains(&position) {
                dependents.push(Dependent::ForeignKey(other.clone(), k.name.clone()));
            }
        }
    }
    let relation = catalog::Relation::new(table.namespace, &table.name);
    for (tid, view) in catalog::list_views(ctx)? {
        if crate::dependents::view_reads(ctx, &view, &relation)?
            && sql_names::mentions(&view.definition, &column, true)?
        {
            dependents.push(Dependent::View(tid, view));
        }
    }
    for name in crate::row_security::policies_mentioning(ctx, table, &column)? {
        dependents.push(Dependent::Policy(name));
    }
    if !dependents.is_empty() && !cascade {
        let detail: Vec<String> = dependents
            .iter()
            .map(|d| format!("{} depends on column {column} of table {}", d.describe(&table.name), table.name))
            .collect();
        return Err(DbError::sql(
            SqlState::DependentObjectsStillExist,
            format!("cannot drop column {column} of table {} because other objects depend on it", table.name),
        )
        .with_detail(if dependents.len() == 1 { detail[0].clone() } else { detail.join("\n") })
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let mut notices = Vec::new();
    for d in &dependents {
        notices.push(Notice::plain(format!("drop cascades to {}", d.describe(&table.name))));
        match d {
            Dependent::ForeignKey(other, name) => {
                // Read again: an earlier dependent may have been a key of the same table.
                let other = catalog::find_table_in(ctx, other.namespace, &other.name)?.unwrap_or_else(|| other.clone());
                let kept: Vec<_> = other.foreign_keys.iter().filter(|k| &k.name != name).cloned().collect();
                catalog::set_foreign_keys(ctx, &other, &kept)?;
            }
            Dependent::View(tid, view) => {
                catalog::drop_view(ctx, *tid)?;
                acl::forget(ctx, &ObjectRef::view(view))?;
            }
            Dependent::Policy(name) => crate::row_security::drop_policy(ctx, table, name)?,
        }
    }
    let narrowed = narrowed(table, position, &column)?;
    // Other tables' foreign keys into this one follow the columns after it.
    let shift = |c: &usize| if *c > position { c - 1 } else { *c };
    for other in catalog::list_tables(ctx)? {
        if other.id != table.id && other.foreign_keys.iter().any(|k| k.parent == table.id) {
            let mut keys = other.foreign_keys.clone();
            for k in keys.iter_mut().filter(|k| k.parent == table.id) {
                k.parent_columns = k.parent_columns.iter().map(shift).collect();
            }
            catalog::set_foreign_keys(ctx, &other, &keys)?;
        }
    }
    // The sequence the column owns goes with it (before the owners after it move down).
    for (tid, seq) in catalog::list_sequences(ctx)? {
        if seq.owner == Some((table.id.0, position)) {
            crate::sequence::drop(ctx, tid, &seq)?;
        }
    }
    catalog::drop_column(ctx, table, position, &narrowed)?;
    for index in table.indexes.iter().filter(|i| !narrowed.indexes.iter().any(|n| n.id == i.id)) {
        catalog::drop_index(ctx, index)?;
        ctx.engine.drop_index_on_commit(ctx.txn, index);
    }
    if !table.primary_key.is_empty() && narrowed.primary_key.is_empty() {
        ctx.engine.drop_primary_index_on_commit(ctx.txn, table);
    }
    acl::drop_column(ctx, table, position)?;
    catalog::forget_column_statistics(ctx, table, position, true)?;
    drop(ddl);
    Ok(notices)
}

/// `table`'s definition without column `position` (named `column`): later positions one
/// less; the primary key, indexes, CHECK constraints and own foreign keys that involve it
/// gone.
fn narrowed(table: &TableDef, position: usize, column: &str) -> Result<TableDef> {
    let shift = |c: &usize| if *c > position { c - 1 } else { *c };
    let mut out = table.clone();
    let mut columns = table.schema.columns.clone();
    columns.remove(position);
    out.schema = Schema::new(columns);
    // The other columns keep their slots; the dropped one's is never used again.
    let mut slots: Vec<usize> = (0..table.schema.len()).map(|p| table.slot(p)).collect();
    slots.remove(position);
    out.layout = catalog::Layout { slots, count: table.slot_count() };
    out.primary_key =
        if table.primary_key.contains(&position) { Vec::new() } else { table.primary_key.iter().map(shift).collect() };
    out.indexes = table
        .indexes
        .iter()
        .filter(|i| !i.columns.contains(&position))
        .map(|i| IndexDef { columns: i.columns.iter().map(shift).collect(), ..i.clone() })
        .collect();
    out.checks = Vec::new();
    for check in &table.checks {
        if !sql_names::mentions(&check.predicate, column, false)? {
            out.checks.push(check.clone());
        }
    }
    out.foreign_keys = table
        .foreign_keys
        .iter()
        .filter(|k| !(k.columns.contains(&position) || k.parent == table.id && k.parent_columns.contains(&position)))
        .map(|k| {
            let mut k = k.clone();
            k.columns = k.columns.iter().map(shift).collect();
            if k.parent == table.id {
                k.parent_columns = k.parent_columns.iter().map(shift).collect();
            }
            k
        })
        .collect();
    Ok(out)
}

/// The views whose text `renaming` changes: each with its row, its new definition, and the
/// column types it has now.
fn views_to_rewrite(
    ctx: &mut ExecContext<'_>,
    relation: &catalog::Relation,
    renaming: Renaming<'_>,
) -> Result<Vec<(TupleId, ViewDef, Vec<DataType>)>> {
    let mut out = Vec::new();
    for (tid, view) in catalog::list_views(ctx)? {
        // Only views reading the relation itself, not one of the same name in another schema.
        if !sql_names::mentions_relation(&view.definition, &relation.name)?
            || !crate::dependents::view_reads(ctx, &view, relation)?
        {
            continue;
        }
        let what = match renaming {
            Renaming::Column { table, from, .. } => format!("column \"{from}\" of table \"{table}\""),
            Renaming::Table { from, .. } => format!("relation \"{from}\""),
        };
        let rewritten = sql_names::rename(&view.definition, renaming)
            .map_err(unrewritable(&what, &format!("view {}", view.name)))?;
        if let Some(definition) = rewritten {
            let types = crate::pg_catalog::view_column_types(ctx, &view).unwrap_or_default();
            out.push((tid, ViewDef { definition, ..view }, types));
        }
    }
    Ok(out)
}

/// Stores the rewritten views, then checks each binds to the column types it had (all
/// stored first: a view may read another one rewritten here). Runs without the DDL lock, as
/// binding a view waits for the locks of the tables it reads.
fn replace_views(ctx: &mut ExecContext<'_>, views: Vec<(TupleId, ViewDef, Vec<DataType>)>, what: &str) -> Result<()> {
    for (tid, view, _) in &views {
        catalog::replace_view(ctx, *tid, view)?;
    }
    for (_, view, types) in views {
        if crate::pg_catalog::view_column_types(ctx, &view).as_ref() != Some(&types) {
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                format!("cannot rename {what}: view {} refers to it in a way that cannot be rewritten", view.name),
            )
            .with_hint(format!("Drop view {} and create it again after the rename.", view.name)));
        }
    }
    Ok(())
}

/// The error of a text [`sql_names::rename`] refuses, naming what holds it.
fn unrewritable(what: &str, holder: &str) -> impl FnOnce(DbError) -> DbError {
    let message = format!("cannot rename {what}: {holder} refers to it in a way that cannot be rewritten");
    move |e| match e.sqlstate() {
        SqlState::FeatureNotSupported => DbError::sql(SqlState::FeatureNotSupported, message)
            .with_hint("Qualify the column with its table's name there, or drop and recreate it around the rename."),
        _ => e,
    }
}

/// RENAME COLUMN: the catalog row, and the CHECK constraints, policies and views naming it.
fn rename_column(ctx: &mut ExecContext<'_>, table: &TableDef, position: usize, to: &str) -> Result<()> {
    let from = table.schema.columns[position].name.clone();
    if table.schema.index_of(to).is_some() {
        return Err(DbError::sql(
            SqlState::DuplicateColumn,
            format!("column \"{to}\" of relation \"{}\" already exists", table.name),
        ));
    }
    let renaming = Renaming::Column { table: &table.name, from: &from, to };
    let what = format!("column \"{from}\" of table \"{}\"", table.name);
    // Bound before the rename, to know what each view means (and before the DDL lock, as
    // binding waits for table locks).
    let views = views_to_rewrite(ctx, &catalog::Relation::new(table.namespace, &table.name), renaming)?;
    {
        let _ddl = ctx.engine.ddl_lock().lock();
        catalog::rename_column(ctx, table, position, to)?;
        let mut checks = table.checks.clone();
        let mut changed = false;
        for check in &mut checks {
            let rewritten = sql_names::rename(&check.predicate, renaming)
                .map_err(unrewritable(&what, &format!("constraint {}", check.name)))?;
            if let Some(predicate) = rewritten {
                check.predicate = predicate;
                changed = true;
            }
        }
        if changed {
            catalog::set_checks(ctx, table, &checks)?;
        }
        crate::row_security::rename_column(ctx, table, &from, to).map_err(unrewritable(&what, "a policy"))?;
    }
    replace_views(ctx, views, &what)
}

/// RENAME TO: a table (with its privileges, policies and the views and CHECK texts naming
/// it), a view (and the views naming it) or an index.
fn rename_relation(ctx: &mut ExecContext<'_>, relation: &Relation, to: &str) -> Result<()> {
    let object = match relation {
        Relation::Table(t) => ObjectRef::table(t),
        Relation::View(view) => ObjectRef::view(view),
        Relation::Index(index) => {
            if let Some(table) = catalog::find_table_by_id(ctx, index.table)? {
                acl::require_owner(ctx, ObjectRef::table(&table)).map_err(|e| match e.sqlstate() {
                    SqlState::InsufficientPrivilege => {
                        DbError::sql(SqlState::InsufficientPrivilege, format!("must be owner of index {}", index.name))
                    }
                    _ => e,
                })?;
            }
            ObjectRef::relation(ObjectKind::Table, index.namespace, index.name.as_str())
        }
    };
    if !matches!(relation, Relation::Index(_)) {
        acl::require_owner(ctx, object.clone())?;
    }
    let from = object.name.clone();
    let renaming = Renaming::Table { from: &from, to };
    // Bound before the rename (and the DDL lock), to know what each view means; a renamed
    // view is stored under its new name below, not rewritten as a reader of itself.
    let mut views = if matches!(relation, Relation::Index(_)) {
        Vec::new()
    } else {
        views_to_rewrite(ctx, &catalog::Relation::new(object.namespace, &from), renaming)?
    };
    if let Relation::View(view) = relation {
        views.retain(|(_, v, _)| !(v.name == view.name && v.namespace == view.namespace));
    }
    let ddl = ctx.engine.ddl_lock().lock();
    if catalog::name_in_use(ctx, object.namespace, to)? {
        return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{to}\" already exists")));
    }
    if let Relation::Index(index) = relation {
        return catalog::rename_index(ctx, index, to);
    }
    match relation {
        Relation::Index(_) => unreachable!("renamed above"),
        Relation::Table(table) => {
            catalog::rename_table(ctx, table, to)?;
            let mut checks = table.checks.clone();
            let mut changed = false;
            for check in &mut checks {
                if let Some(predicate) = sql_names::rename(&check.predicate, renaming)? {
                    check.predicate = predicate;
                    changed = true;
                }
            }
            if changed {
                let renamed = TableDef { name: to.to_string(), ..table.clone() };
                catalog::set_checks(ctx, &renamed, &checks)?;
            }
        }
        Relation::View(view) => {
            let Some((tid, view)) = catalog::find_view_in(ctx, view.namespace, &view.name)? else {
                return Err(DbError::undefined_table(&view.name));
            };
            catalog::replace_view(ctx, tid, &ViewDef { name: to.to_string(), ..view })?;
        }
    }
    if !matches!(relation, Relation::Index(_)) {
        acl::rename_object(ctx, &object, to)?;
    }
    drop(ddl);
    replace_views(ctx, views, &format!("relation \"{from}\""))
}

/// RENAME CONSTRAINT: a CHECK constraint, a foreign key, or the index of a UNIQUE or PRIMARY
/// KEY constraint.
fn rename_constraint(ctx: &mut ExecContext<'_>, table: &TableDef, from: &str, to: &str) -> Result<()> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let taken = table.checks.iter().any(|c| c.name == to)
        || table.foreign_keys.iter().any(|k| k.name == to)
        || table.indexes.iter().any(|i| i.name == to && (i.constraint || i.primary))
        || (!table.primary_key.is_empty() && table.primary_key_name() == to);
    if taken {
        return Err(DbError::sql(
            SqlState::DuplicateObject,
            format!("constraint \"{to}\" for relation \"{}\" already exists", table.name),
        ));
    }
    if table.checks.iter().any(|c| c.name == from) {
        let mut checks = table.checks.clone();
        checks.iter_mut().filter(|c| c.name == from).for_each(|c| c.name = to.to_string());
        return catalog::set_checks(ctx, table, &checks);
    }
    if table.foreign_keys.iter().any(|k| k.name == from) {
        let mut keys = table.foreign_keys.clone();
        keys.iter_mut().filter(|k| k.name == from).for_each(|k| k.name = to.to_string());
        return catalog::set_foreign_keys(ctx, table, &keys);
    }
    if let Some(index) = table.indexes.iter().find(|i| i.name == from && (i.constraint || i.primary)) {
        if catalog::name_in_use(ctx, table.namespace, to)? {
            return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{to}\" already exists")));
        }
        return catalog::rename_index(ctx, index, to);
    }
    if !table.primary_key.is_empty() && table.primary_key_name() == from {
        if catalog::name_in_use(ctx, table.namespace, to)? {
            return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{to}\" already exists")));
        }
        return catalog::rename_primary_key(ctx, table, to);
    }
    Err(DbError::sql(
        SqlState::UndefinedObject,
        format!("constraint \"{from}\" for table \"{}\" does not exist", table.name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::Column;

    #[test]
    fn narrowing_drops_what_involves_the_column_and_shifts_the_rest() {
        let table = TableDef {
            id: rustydb_foundation::TableId(20000),
            name: "t".into(),
            namespace: catalog::PUBLIC_NAMESPACE,
            schema: Schema::new(vec![
                Column::new("a", DataType::Int4),
                Column::new("b", DataType::Int4),
                Column::new("c", DataType::Text),
            ]),
            primary_key: vec![2],
            compression: rustydb_storage::Compression::None,
            indexes: vec![
                IndexDef {
                    id: rustydb_foundation::TableId(20001),
                    name: "ab".into(),
                    namespace: catalog::PUBLIC_NAMESPACE,
                    table: rustydb_foundation::TableId(20000),
                    columns: vec![0, 1],
                    descending: vec![false, false],
                    unique: false,
                    method: catalog::IndexMethod::BTree,
                    primary: false,
                    constraint: false,
                },
                IndexDef {
                    id: rustydb_foundation::TableId(20002),
                    name: "c".into(),
                    namespace: catalog::PUBLIC_NAMESPACE,
                    table: rustydb_foundation::TableId(20000),
                    columns: vec![2],
                    descending: vec![true],
                    unique: true,
                    method: catalog::IndexMethod::BTree,
                    primary: false,
                    constraint: true,
                },
            ],
            checks: vec![
                catalog::CheckDef { name: "x".into(), predicate: "a < b".into() },
                catalog::CheckDef { name: "y".into(), predicate: "c <> 'a'".into() },
            ],
            foreign_keys: Vec::new(),
            primary_key_constraint: None,
            layout: Default::default(),
        };
        let n = narrowed(&table, 0, "a").unwrap();
        assert_eq!(n.schema.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(n.primary_key, [1]);
        assert_eq!(n.indexes.len(), 1);
        assert_eq!((n.indexes[0].name.as_str(), n.indexes[0].columns.as_slice()), ("c", &[1][..]));
        assert_eq!(n.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["y"]);
        let n = narrowed(&table, 2, "c").unwrap();
        assert!(n.primary_key.is_empty());
        assert_eq!(n.indexes.len(), 1);
    }
}
