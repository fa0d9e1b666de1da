//! What depends on a relation being dropped: foreign keys of other tables (found by the
//! caller) and views, whose stored query names the relation, directly or through another view.
//! PostgreSQL records these dependencies in `pg_depend`; RustyDB finds the views by reading
//! their definitions (`sql_names::reads_relation`: the name in a FROM list, unless the text
//! declares a CTE of that name). The views are read with a catalog snapshot taken after the
//! DROP's locks, so one created meanwhile is seen.
//!
//! The report reads as PostgreSQL's: without CASCADE, 2BP01 listing every dependent object;
//! with it, one notice (`drop cascades to view v`, or `drop cascades to N other objects` with
//! the list as its DETAIL).

use crate::catalog::{self, Relation, ViewDef};
use crate::context::ExecContext;
use crate::result::Notice;
use rustydb_foundation::{DbError, Result, SqlState, TupleId};

/// Whether `view`'s query reads `relation`: names it in a FROM list qualified with its
/// schema, or unqualified where the view's search path finds it first.
pub(crate) fn view_reads(ctx: &mut ExecContext<'_>, view: &ViewDef, relation: &Relation) -> Result<bool> {
    text_reads(ctx, &view.definition, &view.search_path, relation)
}

/// Whether stored SQL `sql`, whose names resolve along `search_path`, reads `relation` (see
/// [`view_reads`]; policies' expressions are read the same way).
pub(crate) fn text_reads(
    ctx: &mut ExecContext<'_>,
    sql: &str,
    search_path: &[u32],
    relation: &Relation,
) -> Result<bool> {
    let qualifiers = crate::sql_names::relation_qualifiers(sql, &relation.name)?;
    if qualifiers.is_empty() {
        return Ok(false);
    }
    let schemas = ctx.schemas()?;
    let schema = schemas.name(relation.namespace).unwrap_or_default();
    if qualifiers.iter().flatten().any(|q| q == schema) {
        return Ok(true);
    }
    if !qualifiers.contains(&None) {
        return Ok(false);
    }
    // Unqualified: the relation if its schema is the first on the text's path holding the name.
    for &namespace in search_path {
        if catalog::relation_exists(ctx, namespace, &relation.name)? {
            return Ok(namespace == relation.namespace);
        }
    }
    Ok(false)
}

/// The objects that depend on what a DROP names, in the order PostgreSQL lists them.
#[derive(Debug, Default)]
pub struct Dependents {
    /// "constraint k on table c depends on table t", "view v depends on view w", ...
    lines: Vec<String>,
    /// "constraint k on table c", "view v", ...: what CASCADE drops.
    objects: Vec<String>,
    /// The dependent views, with their catalog rows.
    pub views: Vec<(TupleId, ViewDef)>,
}

impl Dependents {
    /// Records that `object` (e.g. "constraint k on table c") depends on `on` (e.g. "table t").
    pub fn add(&mut self, object: String, on: &str) {
        self.lines.push(format!("{object} depends on {on}"));
        self.objects.push(object);
    }

    /// Adds the views that depend on `relations` (noun and relation: `("table", t)`), and the
    /// views that depend on those, leaving out the views in `dropped` (dropped anyway).
    pub fn add_views(
        &mut self,
        ctx: &mut ExecContext<'_>,
        relations: &[(&str, Relation)],
        dropped: &[Relation],
    ) -> Result<()> {
        let views = ctx.with_catalog_snapshot(catalog::list_views)?;
        let mut remaining: Vec<(TupleId, ViewDef)> = views
            .into_iter()
            .filter(|(_, v)| !dropped.iter().any(|d| d.namespace == v.namespace && d.name == v.name))
            .collect();
        for (noun, relation) in relations {
            self.visit(ctx, &mut remaining, noun, relation)?;
        }
        Ok(())
    }

    /// Depth first, as PostgreSQL lists them: each view found, then what reads it.
    fn visit(
        &mut self,
        ctx: &mut ExecContext<'_>,
        remaining: &mut Vec<(TupleId, ViewDef)>,
        noun: &str,
        relation: &Relation,
    ) -> Result<()> {
        let mut i = 0;
        while i < remaining.len() {
            if !view_reads(ctx, &remaining[i].1, relation)? {
                i += 1;
                continue;
            }
            let (tid, view) = remaining.remove(i);
            self.add(format!("view {}", view.name), &format!("{noun} {}", relation.name));
            let read = Relation::new(view.namespace, &view.name);
            self.views.push((tid, view));
            self.visit(ctx, remaining, "view", &read)?;
            // What the visit took out shifted the rest: look again from the start.
            i = 0;
        }
        Ok(())
    }

    /// True if nothing depends.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Without CASCADE: 2BP01 if anything depends on `what` ("table t"; `None` for several
    /// objects). With it: the notice telling what goes too, if anything does.
    pub fn check(&self, what: Option<&str>, cascade: bool) -> Result<Option<Notice>> {
        if self.is_empty() {
            return Ok(None);
        }
        if !cascade {
            let message = match what {
                Some(what) => format!("cannot drop {what} because other objects depend on it"),
                None => "cannot drop desired object(s) because other objects depend on them".into(),
            };
            return Err(DbError::sql(SqlState::DependentObjectsStillExist, message)
                .with_detail(self.lines.join("\n"))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        Ok(Some(match self.objects.as_slice() {
            [one] => Notice::plain(format!("drop cascades to {one}")),
            many => Notice::plain(format!("drop cascades to {} other objects", many.len()))
                .with_detail(many.iter().map(|o| format!("drop cascades to {o}")).collect::<Vec<_>>().join("\n")),
        }))
    }

    /// Drops the dependent views (CASCADE).
    pub fn drop_views(&self, ctx: &mut ExecContext<'_>) -> Result<()> {
        for (tid, view) in &self.views {
            catalog::drop_view(ctx, *tid)?;
            crate::acl::forget(ctx, &crate::acl::ObjectRef::view(view))?;
        }
        Ok(())
    }
}
