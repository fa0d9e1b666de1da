//! The plan cache of prepared statements: bind and plan once, run many times.
//!
//! Without it every Execute binds its statement again: names resolved along the search path,
//! privileges and policies gathered, the plan optimized and its access paths chosen. For a
//! primary-key lookup that was a fifth of the server's CPU time under pgbench. A prepared
//! statement therefore keeps a *generic plan*: the statement bound with its parameters left as
//! [`Expr::Param`], which each execution fills with its values ([`substitute`]) before the
//! executor sees it.
//!
//! **When a generic plan is used.** Binding with values in hand (a *custom plan*, see
//! `params.rs`) may decide things from the values: fold a cast of a constant, keep a LIMIT
//! count, choose an index from the value's statistics. A generic plan is only kept if, for the
//! values of the execution that made it, it is exactly the custom plan once filled
//! ([`PartialEq`] on the bound statements). PostgreSQL makes the same trade with its own test
//! (five custom plans, then a generic one if its cost is no worse): here the second execution
//! makes the comparison (a statement run once never pays for it), and a statement whose plan
//! depends on its values keeps custom plans after [`ATTEMPTS`] tries. A plan that put in
//! something neither the catalog nor the settings determine (`now()`, the rows of
//! `pg_stat_activity`; `ExecContext::plan_volatile`) is never kept.
//!
//! **When a kept plan is valid.** The plan read the catalog as committed at one *generation*
//! (see `catalog_cache.rs`), under one role and one set of session settings (the search path
//! among them). It is used only while all of these are unchanged, and never by a transaction
//! that has changed the catalog itself (it may see what others cannot). Before it runs, it
//! takes again the table locks its binding took, in the same order; if waiting for one let a
//! catalog change commit, the generation has moved and the statement is bound afresh, as
//! PostgreSQL revalidates a cached plan after locking.
//!
//! Only SELECT, INSERT, UPDATE and DELETE are cached: the statements that run often, and whose
//! binding has no effect beyond its locks.

use crate::access::{self, TakenLock};
use crate::acl::AccessRequest;
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::params::Params;
use crate::plan::{ConflictAction, InsertSource, JoinedRows, Returning, Statement};
use crate::rel::Rel;
use crate::settings::SessionSettings;
use rustydb_foundation::{DataType, DbError, Result, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many executions may compare a generic plan with their custom one before the statement
/// settles for custom plans.
pub const ATTEMPTS: u8 = 3;

/// One prepared statement's cached plan, and how often each kind of plan ran.
#[derive(Debug, Default)]
pub struct PlanSlot {
    state: parking_lot::Mutex<SlotState>,
    generic_runs: AtomicU64,
    custom_runs: AtomicU64,
}

#[derive(Debug, Default)]
enum SlotState {
    /// No plan kept: an execution tries to make one (`failures` have not matched so far).
    #[default]
    Open,
    /// Tried and failed this many times.
    Failed(u8),
    /// A generic plan.
    Kept(Arc<CachedPlan>),
    /// Custom plans only.
    Never,
}

/// A generic plan and what its binding did besides.
#[derive(Debug)]
struct CachedPlan {
    key: PlanKey,
    statement: Statement,
    locks: Vec<TakenLock>,
    access_requests: Vec<AccessRequest>,
}

/// What a plan's validity rests on.
#[derive(Debug)]
struct PlanKey {
    generation: u64,
    role: String,
    in_block: bool,
    settings: SessionSettings,
}

/// Who is running a statement, and how: the parts of a [`PlanKey`] the session knows.
#[derive(Debug, Clone, Copy)]
pub struct Runner<'a> {
    /// The current role.
    pub role: &'a str,
    /// Inside a transaction block.
    pub in_block: bool,
    /// The session's settings.
    pub settings: &'a SessionSettings,
}

impl PlanKey {
    fn matches(&self, generation: u64, runner: &Runner<'_>) -> bool {
        self.generation == generation
            && self.in_block == runner.in_block
            && self.role == runner.role
            && self.settings == *runner.settings
    }
}

impl PlanSlot {
    /// Executions that ran the generic plan, and those that bound a custom one (the columns
    /// `generic_plans` and `custom_plans` of PostgreSQL's `pg_prepared_statements`).
    pub fn runs(&self) -> (u64, u64) {
        (self.generic_runs.load(Ordering::Relaxed), self.custom_runs.load(Ordering::Relaxed))
    }

    /// The kept plan filled with the statement's parameter values (`ctx.params`), its locks
    /// taken and its access requests noted in `ctx`; `None` if there is no valid one, and the
    /// statement is to be bound.
    pub fn reuse(&self, ctx: &mut ExecContext<'_>, runner: &Runner<'_>) -> Result<Option<Statement>> {
        if ctx.txn.catalog_changed {
            return Ok(None);
        }
        let plan = match &*self.state.lock() {
            SlotState::Kept(plan) => plan.clone(),
            _ => return Ok(None),
        };
        let cache = ctx.engine.catalog_cache().clone();
        if !plan.key.matches(cache.generation(), runner) {
            self.forget(&plan);
            return Ok(None);
        }
        for lock in &plan.locks {
            access::relock(ctx, lock)?;
        }
        // A catalog change may have committed while a lock was waited for.
        if cache.generation() != plan.key.generation {
            self.forget(&plan);
            return Ok(None);
        }
        ctx.locks_taken.extend(plan.locks.iter().cloned());
        ctx.access_requests.clone_from(&plan.access_requests);
        let mut statement = plan.statement.clone();
        substitute(&mut statement, &ctx.params)?;
        self.generic_runs.fetch_add(1, Ordering::Relaxed);
        Ok(Some(statement))
    }

    /// After `custom` was bound from `stmt` (the catalog at `generation`), binds `stmt` again
    /// with its parameters left open and keeps that plan if, filled with this execution's
    /// values, it is `custom`. `ctx` is left as binding `custom` left it.
    pub fn consider(
        &self,
        ctx: &mut ExecContext<'_>,
        stmt: &sqlparser::ast::Statement,
        custom: &Statement,
        generation: u64,
        runner: &Runner<'_>,
    ) {
        let before = self.custom_runs.fetch_add(1, Ordering::Relaxed) + self.generic_runs.load(Ordering::Relaxed);
        // A statement's first execution binds only its custom plan: a statement run once (a
        // driver's unnamed statement, prepared for each query) never pays for a second binding.
        if before == 0 || !matches!(*self.state.lock(), SlotState::Open | SlotState::Failed(_)) {
            return;
        }
        if ctx.txn.catalog_changed || !cacheable(custom) || ctx.params.values.is_none() {
            return;
        }
        if ctx.plan_volatile {
            *self.state.lock() = SlotState::Never;
            return;
        }
        let values = ctx.params.clone();
        let locks = std::mem::take(&mut ctx.locks_taken);
        let requests = std::mem::take(&mut ctx.access_requests);
        let waited = ctx.waited_for_lock;
        ctx.params = Params::preparing(values.types.clone());
        // The tables are locked already. A name that now means another table (one created
        // meanwhile earlier on the search path) is not waited for: the attempt just fails.
        let wait = ctx.txn.wait;
        ctx.txn.wait.lock_timeout = Some(std::time::Duration::from_millis(1));
        let generic = crate::binder::bind(ctx, stmt);
        ctx.txn.wait = wait;
        ctx.params = values;
        ctx.waited_for_lock = waited;
        let generic_locks = std::mem::replace(&mut ctx.locks_taken, locks);
        let generic_requests = std::mem::replace(&mut ctx.access_requests, requests);
        let volatile = std::mem::take(&mut ctx.plan_volatile);
        let matched = match generic {
            Ok(generic) if !volatile => {
                let mut filled = generic.clone();
                (substitute(&mut filled, &ctx.params).is_ok() && filled == *custom).then_some(generic)
            }
            _ => None,
        };
        let mut state = self.state.lock();
        *state = match (matched, &*state) {
            (Some(statement), _) => SlotState::Kept(Arc::new(CachedPlan {
                key: PlanKey {
                    generation,
                    role: runner.role.to_string(),
                    in_block: runner.in_block,
                    settings: runner.settings.clone(),
                },
                statement,
                locks: generic_locks,
                access_requests: generic_requests,
            })),
            (None, SlotState::Failed(n)) if n + 1 >= ATTEMPTS => SlotState::Never,
            (None, SlotState::Failed(n)) => SlotState::Failed(n + 1),
            (None, _) => SlotState::Failed(1),
        };
    }

    /// Drops `plan` if it is still the kept one: the next execution makes another.
    fn forget(&self, plan: &Arc<CachedPlan>) {
        let mut state = self.state.lock();
        if matches!(&*state, SlotState::Kept(kept) if Arc::ptr_eq(kept, plan)) {
            *state = SlotState::Open;
        }
    }
}

/// The statements whose plans are kept.
fn cacheable(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Select(_) | Statement::Insert { .. } | Statement::Update { .. } | Statement::Delete { .. }
    )
}

/// Puts the values of `params` in place of the parameters of `stmt`, and folds each cast of a
/// constant that results, as binding with the values folds it.
pub fn substitute(stmt: &mut Statement, params: &Params) -> Result<()> {
    let Some(values) = &params.values else {
        return Err(DbError::Internal("a generic plan run without parameter values".into()));
    };
    let fill = &mut |e: &mut Expr| fill_expr(e, values, &params.types);
    match stmt {
        Statement::Select(plan) => fill_rel(&mut plan.rel, fill),
        Statement::Insert { source, check, constraints, on_conflict, returning, .. } => {
            match source {
                InsertSource::Values(rows) => rows.iter_mut().flatten().try_for_each(&mut *fill)?,
                InsertSource::Query(plan, row) => {
                    fill_rel(&mut plan.rel, fill)?;
                    row.iter_mut().try_for_each(&mut *fill)?;
                }
            }
            check.iter_mut().chain(constraints.iter_mut().map(|c| &mut c.predicate)).try_for_each(&mut *fill)?;
            if let Some(conflict) = on_conflict
                && let ConflictAction::Update { assignments, filter, check } = &mut conflict.action
            {
                assignments
                    .iter_mut()
                    .map(|(_, e)| e)
                    .chain(filter.iter_mut())
                    .chain(check.iter_mut())
                    .try_for_each(&mut *fill)?;
            }
            fill_returning(returning, fill)
        }
        Statement::Update { assignments, filter, access, check, constraints, returning, from, .. } => {
            assignments
                .iter_mut()
                .map(|(_, e)| e)
                .chain(filter.iter_mut())
                .chain(access.exprs_mut())
                .chain(check.iter_mut())
                .chain(constraints.iter_mut().map(|c| &mut c.predicate))
                .try_for_each(&mut *fill)?;
            fill_joined(from, fill)?;
            fill_returning(returning, fill)
        }
        Statement::Delete { filter, access, returning, using, .. } => {
            filter.iter_mut().chain(access.exprs_mut()).try_for_each(&mut *fill)?;
            fill_joined(using, fill)?;
            fill_returning(returning, fill)
        }
        other => Err(DbError::Internal(format!("a generic plan for {}", other.command_name()))),
    }
}

type Fill<'f> = dyn FnMut(&mut Expr) -> Result<()> + 'f;

fn fill_returning(returning: &mut Option<Returning>, fill: &mut Fill<'_>) -> Result<()> {
    returning.iter_mut().flat_map(|r| &mut r.exprs).try_for_each(fill)
}

fn fill_joined(joined: &mut Option<JoinedRows>, fill: &mut Fill<'_>) -> Result<()> {
    if let Some(j) = joined {
        fill_rel(&mut j.rel, fill)?;
        j.filter.iter_mut().try_for_each(fill)?;
    }
    Ok(())
}

fn fill_rel(rel: &mut Rel, fill: &mut Fill<'_>) -> Result<()> {
    rel.exprs_mut().into_iter().try_for_each(&mut *fill)?;
    rel.inputs_mut().into_iter().try_for_each(|input| fill_rel(input, fill))
}

fn fill_expr(e: &mut Expr, values: &Arc<[Value]>, types: &[DataType]) -> Result<()> {
    if let Expr::Param { index, .. } = *e {
        let value = values
            .get(index)
            .cloned()
            .ok_or_else(|| DbError::Internal(format!("no value for parameter ${}", index + 1)))?;
        // As `Params::bind` makes it when binding with the values.
        *e = Expr::Literal { value, ty: types.get(index).copied().unwrap_or(DataType::Text) };
        return Ok(());
    }
    if let Expr::Subquery(sq) = e {
        fill_rel(&mut sq.plan, &mut |inner: &mut Expr| fill_expr(inner, values, types))?;
    }
    for child in e.children_mut() {
        fill_expr(child, values, types)?;
    }
    if matches!(e, Expr::Cast { .. }) && e.is_constant() {
        let cast = std::mem::replace(e, Expr::literal(Value::Null));
        *e = crate::bind_expr::fold(cast)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::session::{PreparedStatement, Session};
    use crate::{Engine, EngineOptions};
    use rustydb_foundation::{SqlState, Value};

    fn ok(s: &mut Session, sql: &str) -> crate::result::StatementResult {
        s.execute(sql).pop().unwrap().unwrap()
    }

    fn run(s: &mut Session, p: &PreparedStatement, values: Vec<Value>) -> Vec<Vec<Value>> {
        s.execute_prepared(p, values).unwrap().rows
    }

    fn int(i: i32) -> Value {
        Value::Int4(i)
    }

    fn engine() -> (tempfile::TempDir, std::sync::Arc<Engine>) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(64)).unwrap();
        (dir, engine)
    }

    #[test]
    fn a_key_lookup_is_bound_once_and_filled_with_each_execution_s_values() {
        let (_dir, engine) = engine();
        let mut s = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)");
        ok(&mut s, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
        let p = s.prepare("SELECT v FROM t WHERE id = $1", &[]).unwrap();
        for i in 1..=20 {
            assert_eq!(run(&mut s, &p, vec![int(i)]), [vec![Value::Text(format!("v{i}"))]]);
        }
        assert_eq!(p.plan.runs(), (18, 2), "(generic, custom) executions");
        assert!(run(&mut s, &p, vec![Value::Null]).is_empty());
        let update = s.prepare("UPDATE t SET v = v || $1 WHERE id = $2", &[]).unwrap();
        for _ in 0..3 {
            s.execute_prepared(&update, vec![Value::Text("!".into()), int(7)]).unwrap();
        }
        assert_eq!(update.plan.runs(), (1, 2));
        assert_eq!(run(&mut s, &p, vec![int(7)]), [vec![Value::Text("v7!!!".into())]]);
    }

    #[test]
    fn statements_whose_plan_depends_on_the_values_keep_custom_plans() {
        let (_dir, engine) = engine();
        let mut s = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY)");
        ok(&mut s, "INSERT INTO t SELECT g FROM generate_series(1, 10) g");
        let limit = s.prepare("SELECT id FROM t ORDER BY id LIMIT $1", &[]).unwrap();
        for n in [1, 2, 3, 4, 5] {
            assert_eq!(run(&mut s, &limit, vec![Value::Int8(n)]).len(), n as usize);
        }
        assert_eq!(limit.plan.runs(), (0, 5));
        // An OFFSET of 0 binds as no offset at all: the generic plan must not be kept from it.
        let page = s.prepare("SELECT id FROM t ORDER BY id LIMIT 2 OFFSET $1", &[]).unwrap();
        for _ in 0..3 {
            assert_eq!(run(&mut s, &page, vec![Value::Int8(0)]), [vec![int(1)], vec![int(2)]]);
        }
        assert_eq!(run(&mut s, &page, vec![Value::Int8(4)]), [vec![int(5)], vec![int(6)]]);
        assert_eq!(page.plan.runs(), (0, 4));
        // now() is the transaction's start: never kept in a plan.
        let now = s.prepare("SELECT now() FROM t WHERE id = $1", &[]).unwrap();
        let first = run(&mut s, &now, vec![int(1)]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = run(&mut s, &now, vec![int(1)]);
        assert_ne!(first, second, "now() did not move between transactions");
        assert_eq!(now.plan.runs(), (0, 2));
        let activity = s.prepare("SELECT count(*) FROM pg_stat_activity WHERE pid <> $1", &[]).unwrap();
        run(&mut s, &activity, vec![int(0)]);
        run(&mut s, &activity, vec![int(0)]);
        assert_eq!(activity.plan.runs(), (0, 2));
    }

    #[test]
    fn a_kept_plan_follows_catalog_changes_and_the_search_path() {
        let (_dir, engine) = engine();
        let mut s = engine.session("rustydb", "rustydb");
        let mut other = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY)");
        ok(&mut s, "INSERT INTO t VALUES (1)");
        let p = s.prepare("SELECT * FROM t WHERE id = $1", &[]).unwrap();
        run(&mut s, &p, vec![int(1)]);
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1)]]);
        // Another session's committed change is seen.
        ok(&mut other, "ALTER TABLE t ADD COLUMN w INT DEFAULT 5");
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1), int(5)]]);
        // The search path picks another table of the same name.
        ok(&mut s, "CREATE SCHEMA s2");
        ok(&mut s, "CREATE TABLE s2.t (id INT PRIMARY KEY, x TEXT)");
        ok(&mut s, "INSERT INTO s2.t VALUES (1, 'in s2')");
        run(&mut s, &p, vec![int(1)]);
        ok(&mut s, "SET search_path = s2, public");
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1), Value::Text("in s2".into())]]);
        ok(&mut s, "RESET search_path");
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1), int(5)]]);
        // A transaction that changed the catalog sees its own change.
        ok(&mut s, "BEGIN");
        run(&mut s, &p, vec![int(1)]);
        ok(&mut s, "ALTER TABLE t DROP COLUMN w");
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1)]]);
        ok(&mut s, "ROLLBACK");
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1), int(5)]]);
        // Each change above made the next execution bind again; with none, the plan is reused.
        assert_eq!(p.plan.runs(), (0, 9));
        assert_eq!(run(&mut s, &p, vec![int(1)]), [vec![int(1), int(5)]]);
        assert_eq!(p.plan.runs(), (1, 9));
        ok(&mut other, "DROP TABLE t");
        assert_eq!(s.execute_prepared(&p, vec![int(1)]).unwrap_err().sqlstate(), SqlState::UndefinedTable);
    }

    #[test]
    fn inserts_draw_one_sequence_value_per_row() {
        let (_dir, engine) = engine();
        let mut s = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE t (id SERIAL PRIMARY KEY, v INT CHECK (v > 0))");
        let p = s.prepare("INSERT INTO t (v) VALUES ($1) RETURNING id", &[]).unwrap();
        for i in 1..=5 {
            assert_eq!(run(&mut s, &p, vec![int(i * 10)]), [vec![int(i)]]);
        }
        assert_eq!(p.plan.runs(), (3, 2));
        let err = s.execute_prepared(&p, vec![int(-1)]).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::CheckViolation);
        assert_eq!(run(&mut s, &p, vec![int(60)]), [vec![int(7)]], "the failed row drew 6, as in PostgreSQL");
    }
}
