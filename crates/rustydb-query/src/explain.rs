//! EXPLAIN and EXPLAIN ANALYZE, in PostgreSQL's text layout:
//!
//! ```text
//! Hash Join  (cost=1.09..2.19 rows=4 width=72) (actual time=0.031..0.035 rows=4 loops=1)
//!   Hash Cond: (a.id = b.id)
//!   ->  Seq Scan on a  (cost=0.00..1.04 rows=4 width=36) (actual time=...)
//!   ->  Hash  (cost=1.04..1.04 rows=4 width=36)
//!         ->  Seq Scan on b  (cost=0.00..1.04 rows=4 width=36)
//! ```
//!
//! The plan shown is the one that runs: the optimized, resolved operator tree, with the
//! expressions printed from the same tree before resolution (which still has column names).
//! Resolution keeps the tree's shape, so the two are walked side by side.
//!
//! Estimates come from each table's page count and a few fixed selectivities (PostgreSQL's
//! defaults when it has no statistics); costs use PostgreSQL's unit costs (a page 1.0, a row
//! 0.01, an operator 0.0025), so the numbers read like PostgreSQL's and rank plans the same
//! way, though they are not PostgreSQL's figures. ANALYZE runs the query with each operator
//! counted and timed (inclusive of its inputs, as PostgreSQL reports), and discards the rows.

use crate::access;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::expr::{BinaryOp, Expr, SubqueryKind};
use crate::plan::{Access, QueryPlan, RangeEnd};
use crate::rel::{JoinKind, Rel, SetOpKind};
use crate::result::{ResultColumn, StatementResult};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// EXPLAIN's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Run the query and show actual rows and times.
    pub analyze: bool,
    /// Show estimated costs, rows and widths.
    pub costs: bool,
    /// Show actual times (with ANALYZE).
    pub timing: bool,
    /// Show planning and execution time at the end.
    pub summary: bool,
    /// Show each operator's output columns.
    pub verbose: bool,
}

/// A bound EXPLAIN of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    /// The plan that runs.
    pub plan: QueryPlan,
    /// The same tree before resolution, for names.
    pub shown: Rel,
    /// Column names by id.
    pub names: Vec<String>,
    /// Options.
    pub options: ExplainOptions,
    /// Binding and planning time.
    pub planning: Duration,
}

/// The options of `EXPLAIN [ANALYZE] [VERBOSE]` and `EXPLAIN (option [value], ...)`; 0A000
/// for formats other than text, 42601 for unknown options.
pub fn options(analyze: bool, verbose: bool, list: &[(String, Option<String>)]) -> Result<ExplainOptions> {
    let mut o = ExplainOptions { analyze, costs: true, timing: true, summary: false, verbose };
    let mut summary = None;
    for (name, value) in list {
        let flag = match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("true" | "on" | "1") => true,
            Some("false" | "off" | "0") => false,
            Some(other) if name != "format" => {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("{name} requires a Boolean value, not \"{other}\""),
                ));
            }
            Some(_) => true,
        };
        match name.as_str() {
            "analyze" => o.analyze = flag,
            "verbose" => o.verbose = flag,
            "costs" => o.costs = flag,
            "timing" => o.timing = flag,
            "summary" => summary = Some(flag),
            "buffers" | "settings" | "wal" => {}
            "format" => {
                let format = value.as_deref().unwrap_or("text").to_ascii_lowercase();
                if format != "text" {
                    return Err(DbError::sql(
                        SqlState::FeatureNotSupported,
                        format!("EXPLAIN format \"{format}\" is not supported; only text is"),
                    ));
                }
            }
            other => {
                return Err(DbError::sql(SqlState::SyntaxError, format!("unrecognized EXPLAIN option \"{other}\"")));
            }
        }
    }
    o.summary = summary.unwrap_or(o.analyze);
    Ok(o)
}

/// What ANALYZE measured of one operator.
#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    rows: u64,
    loops: u64,
    first: Duration,
    total: Duration,
}

/// Counters by operator address.
type Counters = Rc<RefCell<HashMap<usize, Measured>>>;

/// What operators reported of their work, by operator address: (label, line) pairs, such as
/// ("Sort Method", "Sort Method: quicksort  Memory: 25kB").
type Notes = HashMap<usize, Vec<(&'static str, String)>>;

thread_local! {
    /// The counters of the EXPLAIN ANALYZE running on this thread. An operator tree is opened
    /// and run on one thread, within one statement, so a thread-local reaches every operator
    /// `exec::open` makes without threading a parameter through each of them.
    static MEASURING: RefCell<Option<Counters>> = const { RefCell::new(None) };
    /// The notes operators left (see [`note`]).
    static NOTES: RefCell<Notes> = RefCell::new(HashMap::new());
    /// The operator whose `next` is running, innermost (its address; 0 for none).
    static CURRENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Under EXPLAIN ANALYZE, records a line the running operator prints under its node (as
/// PostgreSQL's "Sort Method: ..." and "Batches: ..."); a later note of the same label (the
/// operator run again, in a loop) replaces the earlier.
pub(crate) fn note(label: &'static str, line: impl FnOnce() -> String) {
    if !measuring() {
        return;
    }
    let current = CURRENT.with(std::cell::Cell::get);
    NOTES.with(|notes| {
        let mut notes = notes.borrow_mut();
        let lines = notes.entry(current).or_default();
        let line = line();
        match lines.iter_mut().find(|(l, _)| *l == label) {
            Some(entry) => entry.1 = line,
            None => lines.push((label, line)),
        }
    });
}

/// Bytes as PostgreSQL's EXPLAIN prints memory and disk use: whole kilobytes, rounded up.
pub(crate) fn kilobytes(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// Counting on this thread until dropped (so an error or a panic cannot leave it on).
struct Measuring;

impl Measuring {
    fn start(counters: Counters) -> Measuring {
        MEASURING.with(|m| *m.borrow_mut() = Some(counters));
        NOTES.with(|n| n.borrow_mut().clear());
        Measuring
    }
}

impl Drop for Measuring {
    fn drop(&mut self) {
        MEASURING.with(|m| *m.borrow_mut() = None);
        CURRENT.with(|c| c.set(0));
    }
}

/// True while an EXPLAIN ANALYZE runs its statement on this thread.
pub(crate) fn measuring() -> bool {
    MEASURING.with(|m| m.borrow().is_some())
}

/// Wraps `op` (opened for `rel`) in a counter when an EXPLAIN ANALYZE is running.
pub(crate) fn instrument<'p>(
    rel: &'p Rel,
    op: Box<dyn crate::exec::Operator + 'p>,
) -> Box<dyn crate::exec::Operator + 'p> {
    match MEASURING.with(|m| m.borrow().clone()) {
        None => op,
        Some(counters) => {
            counters.borrow_mut().entry(rel as *const Rel as usize).or_default().loops += 1;
            Box::new(Counted { op, key: rel as *const Rel as usize, counters, started: false })
        }
    }
}

struct Counted<'p> {
    op: Box<dyn crate::exec::Operator + 'p>,
    key: usize,
    counters: Counters,
    started: bool,
}

impl crate::exec::Operator for Counted<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<crate::exec::Batch>> {
        let start = Instant::now();
        let outer = CURRENT.with(|c| c.replace(self.key));
        let batch = self.op.next(ctx);
        CURRENT.with(|c| c.set(outer));
        let batch = batch?;
        let spent = start.elapsed();
        let mut counters = self.counters.borrow_mut();
        let m = counters.entry(self.key).or_default();
        m.total += spent;
        if !self.started {
            self.started = true;
            m.first += m.total;
        }
        if let Some(b) = &batch {
            m.rows += b.len() as u64;
        }
        Ok(batch)
    }
}

/// Runs an EXPLAIN: the plan's lines, as rows of one text column `QUERY PLAN`.
pub fn execute(ctx: &mut ExecContext<'_>, explain: &Explain) -> Result<StatementResult> {
    let measured = if explain.options.analyze {
        let counters = Rc::new(RefCell::new(HashMap::new()));
        let start = Instant::now();
        {
            let _measuring = Measuring::start(counters.clone());
            // The rows are counted and let go of, a batch at a time.
            let mut op = crate::exec::open(&explain.plan.rel, &Rc::from(Vec::new()));
            while op.next(ctx)?.is_some() {}
        }
        let elapsed = start.elapsed();
        let counters = counters.borrow().clone();
        Some((counters, elapsed))
    } else {
        None
    };
    let notes: Notes = NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()));
    let relations = count_relations(&explain.shown);
    let stats = crate::statistics::load(ctx)?;
    let mut printer = Printer {
        ctx,
        stats,
        names: &explain.names,
        options: explain.options,
        measured: measured.as_ref().map(|(m, _)| m),
        notes: &notes,
        qualify: relations > 1,
        lines: Vec::new(),
        subplans: 0,
    };
    printer.node(&explain.plan.rel, &explain.shown, 0)?;
    let mut lines = printer.lines;
    if explain.options.summary {
        lines.push(format!("Planning Time: {:.3} ms", explain.planning.as_secs_f64() * 1000.0));
        if let Some((_, elapsed)) = &measured {
            lines.push(format!("Execution Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0));
        }
    }
    Ok(StatementResult {
        tag: "EXPLAIN".into(),
        columns: Some(vec![ResultColumn { name: "QUERY PLAN".into(), data_type: DataType::Text }]),
        rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
        ..Default::default()
    })
}

/// How many relations the plan reads, subqueries included: names are qualified past one.
fn count_relations(rel: &Rel) -> usize {
    let own = usize::from(matches!(
        rel,
        Rel::Scan { .. } | Rel::Function { .. } | Rel::Values { .. } | Rel::WorkTable { .. }
    ));
    let mut sub = 0;
    for e in rel.exprs() {
        e.walk(&mut |x| {
            if let Expr::Subquery(sq) = x {
                sub += count_relations(&sq.plan);
            }
        });
    }
    own + sub + rel.inputs().into_iter().map(count_relations).sum::<usize>()
}

/// Estimated rows, width and cost of an operator's output.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    rows: f64,
    width: usize,
    startup: f64,
    total: f64,
}

/// PostgreSQL's unit costs.
const PAGE: f64 = 1.0;
const ROW: f64 = 0.01;
const OPERATOR: f64 = 0.0025;
/// Selectivities PostgreSQL assumes without statistics.
const EQUALITY: f64 = 0.005;
const INEQUALITY: f64 = 1.0 / 3.0;

fn type_width(ty: DataType) -> usize {
    match ty {
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Float4 | DataType::Date => 4,
        DataType::Int8 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => 8,
        DataType::Interval | DataType::Uuid => 16,
        DataType::Char(n) | DataType::Varchar(Some(n)) => n.min(1000) as usize + 1,
        _ => 32,
    }
}

fn selectivity(e: &Expr) -> f64 {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => selectivity(left) * selectivity(right),
        Expr::Binary { op: BinaryOp::Or, left, right, .. } => {
            let (a, b) = (selectivity(left), selectivity(right));
            a + b - a * b
        }
        Expr::Binary { op: BinaryOp::Eq, .. } => EQUALITY,
        Expr::Binary { op: BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq, .. } => INEQUALITY,
        Expr::AnyOf(items) => (items.len() as f64 * EQUALITY).min(1.0),
        Expr::IsNull { negated, .. } => {
            if *negated {
                0.995
            } else {
                EQUALITY
            }
        }
        _ => 0.5,
    }
}

fn conjuncts(e: &Expr) -> usize {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => conjuncts(left) + conjuncts(right),
        _ => 1,
    }
}

struct Printer<'a, 'c> {
    ctx: &'a mut ExecContext<'c>,
    /// ANALYZE's statistics: row counts and selectivities where tables have them.
    stats: crate::statistics::Statistics,
    names: &'a [String],
    options: ExplainOptions,
    measured: Option<&'a HashMap<usize, Measured>>,
    /// What operators noted under ANALYZE (see [`note`]).
    notes: &'a Notes,
    qualify: bool,
    lines: Vec<String>,
    subplans: usize,
}

/// One operator's lines (header, properties, inputs), estimate and (ANALYZE) counts.
struct Block {
    est: Estimate,
    lines: Vec<String>,
    actual: Option<Measured>,
}

impl Block {
    /// The block as an input of another: `->` before the header, the rest indented under it.
    fn nested(self, out: &mut Vec<String>, indent: &str) {
        for (i, line) in self.lines.into_iter().enumerate() {
            let lead = if i == 0 { "->  " } else { "    " };
            out.push(format!("{indent}{lead}{line}"));
        }
    }
}

impl Printer<'_, '_> {
    /// Prints the whole plan into `self.lines`.
    fn node(&mut self, rel: &Rel, shown: &Rel, _depth: usize) -> Result<()> {
        let block = self.block(rel, shown)?;
        self.lines.extend(block.lines);
        Ok(())
    }

    /// The block of `rel` (resolved), with names from `shown` (the same node unresolved).
    fn block(&mut self, rel: &Rel, shown: &Rel) -> Result<Block> {
        // A projection happens inside PostgreSQL's nodes: print its input (a SELECT without
        // FROM is a Result node).
        if let (Rel::Project { input, exprs, .. }, Rel::Project { input: shown_input, exprs: shown_exprs, .. }) =
            (rel, shown)
        {
            let values_row = matches!(input.as_ref(), Rel::Values { rows, .. } if rows.len() == 1);
            let mut block = if values_row {
                let est = Estimate { rows: 1.0, width: exprs.len() * 4, startup: 0.0, total: 0.01 };
                self.header("Result".into(), est, rel)
            } else {
                self.block(input, shown_input)?
            };
            self.subplans(&mut block, exprs.iter().collect(), shown_exprs.iter().collect())?;
            return Ok(block);
        }
        let inputs: Vec<&Rel> = rel.inputs();
        let shown_inputs: Vec<&Rel> = shown.inputs();
        if inputs.len() != shown_inputs.len() {
            return Err(DbError::Internal("EXPLAIN: the resolved plan changed shape".into()));
        }
        let mut children = Vec::new();
        for (child, shown_child) in inputs.iter().zip(&shown_inputs) {
            children.push(self.block(child, shown_child)?);
        }
        let est =
            |i: usize| children.get(i).map_or(Estimate { rows: 1.0, width: 0, startup: 0.0, total: 0.0 }, |c| c.est);
        let mut props: Vec<String> = Vec::new();
        let (name, est) = match (rel, shown) {
            (Rel::Scan { table, filter, access, .. }, Rel::Scan { filter: shown_filter, .. }) => {
                let pages = f64::from(access::page_count(self.ctx, table)?);
                let width: usize = table.schema.columns.iter().map(|c| type_width(c.data_type)).sum();
                let per_page = (8160 / (width + 28)).max(1) as f64;
                let analyzed = self.stats.get(&table.id).cloned();
                let rows_in = analyzed.as_ref().map_or(pages * per_page, |s| s.rows).max(1.0);
                let quals = filter.as_ref().map_or(0, conjuncts) as f64;
                let selectivity = match (&analyzed, filter) {
                    (Some(s), Some(f)) => crate::estimate::selectivity(f, &|i| s.column(i).map(|c| (c, s.rows))),
                    (None, Some(f)) => selectivity(f),
                    (_, None) => 1.0,
                };
                let (name, est) = match access {
                    Access::SeqScan => {
                        let total = pages * PAGE + rows_in * (ROW + quals * OPERATOR);
                        let rows = (rows_in * selectivity).max(1.0);
                        (format!("Seq Scan on {}", table.name), Estimate { rows, width, startup: 0.0, total })
                    }
                    _ => {
                        let (index, columns, cond) = self.index_condition(table, access)?;
                        props.push(format!("Index Cond: {cond}"));
                        let unique = matches!(access, Access::PrimaryKey(_))
                            || matches!(access, Access::Index { index, .. } if index.unique);
                        let rows = if unique { 1.0 } else { (rows_in * selectivity).max(1.0) };
                        let total = 0.29 + 8.0 + rows * ROW;
                        let covered = filter.as_ref().is_some_and(|f| conjuncts(f) <= columns);
                        if covered {
                            return Ok(self.finish(
                                format!("Index Scan using {index} on {}", table.name),
                                Estimate { rows, width, startup: 0.29, total },
                                rel,
                                props,
                                children,
                            ));
                        }
                        (
                            format!("Index Scan using {index} on {}", table.name),
                            Estimate { rows, width, startup: 0.29, total },
                        )
                    }
                };
                if let Some(f) = shown_filter {
                    props.push(format!("Filter: {}", self.expr(f)));
                }
                (name, est)
            }
            (Rel::Filter { predicate, .. }, Rel::Filter { predicate: shown_predicate, .. }) => {
                // PostgreSQL has no filter node: the condition belongs to the node below.
                let mut child = children.pop().ok_or_else(|| DbError::Internal("a filter without input".into()))?;
                let mut inserted = vec![format!("  Filter: {}", self.expr(shown_predicate))];
                // The node shows the rows that passed, and how many the filter removed.
                let passed = self.measured.and_then(|m| m.get(&(rel as *const Rel as usize))).copied();
                if let (Some(passed), Some(read)) = (passed, child.actual) {
                    let head_end = child.lines[0].find(" (actual").unwrap_or(child.lines[0].len());
                    child.lines[0] = format!("{}{}", &child.lines[0][..head_end], self.actual(&passed));
                    let removed = read.rows.saturating_sub(passed.rows) / read.loops.max(1);
                    inserted.push(format!("  Rows Removed by Filter: {removed}"));
                }
                let at = 1 + child.lines[1..]
                    .iter()
                    .take_while(|l| {
                        !l.starts_with("  ->") && !l.starts_with("  SubPlan") && !l.starts_with("  InitPlan")
                    })
                    .count();
                for (i, line) in inserted.into_iter().enumerate() {
                    child.lines.insert(at + i, line);
                }
                let rows_in = child.est.rows;
                let origins = rel.inputs().first().map(|i| crate::estimate::provenance(i)).unwrap_or_default();
                let stats = &self.stats;
                let s = crate::estimate::selectivity(predicate, &|i| {
                    crate::estimate::column_of(stats, origins.get(i).copied().flatten())
                });
                child.est.rows = (rows_in * s).max(1.0);
                child.est.total += rows_in * OPERATOR * conjuncts(predicate) as f64;
                let mut block = child;
                self.subplans(&mut block, vec![predicate], vec![shown_predicate])?;
                return Ok(block);
            }
            (
                Rel::Join { kind, equi, condition, .. },
                Rel::Join { equi: shown_equi, condition: shown_condition, .. },
            ) => {
                let (left, right) = (est(0), est(1));
                let kind_name = match kind {
                    JoinKind::Inner => "",
                    JoinKind::Left => " Left",
                    JoinKind::Right => " Right",
                    JoinKind::Full => " Full",
                };
                let width = left.width + right.width;
                if equi.is_empty() {
                    let rows = (left.rows * right.rows * condition.as_ref().map_or(1.0, selectivity)).max(1.0);
                    if let Some(c) = shown_condition {
                        props.push(format!("Join Filter: {}", self.expr(c)));
                    }
                    let total = left.total + right.total + left.rows * right.rows * OPERATOR + rows * ROW;
                    let startup = left.startup + right.total;
                    // The inner side is materialized once.
                    let inner = children.pop().map(|c| self.wrap("Materialize", c));
                    children.extend(inner);
                    (
                        format!("Nested Loop{kind_name} Join").replace("Nested Loop Join", "Nested Loop"),
                        Estimate { rows, width, startup, total },
                    )
                } else {
                    let keys: Vec<String> =
                        shown_equi.iter().map(|(l, r)| format!("({} = {})", self.bare(l), self.bare(r))).collect();
                    let cond = if keys.len() == 1 { keys[0].clone() } else { format!("({})", keys.join(" AND ")) };
                    props.push(format!("Hash Cond: {cond}"));
                    if let Some(c) = shown_condition {
                        props.push(format!("Join Filter: {}", self.expr(c)));
                    }
                    let (lo, ro) = match rel {
                        Rel::Join { left, right, .. } => {
                            (crate::estimate::provenance(left), crate::estimate::provenance(right))
                        }
                        _ => (Vec::new(), Vec::new()),
                    };
                    let analyzed: Option<f64> = equi
                        .iter()
                        .map(|(l, r)| crate::estimate::key_selectivity(&self.stats, (l, r), (&lo, &ro)))
                        .product();
                    let s = analyzed.unwrap_or_else(|| {
                        EQUALITY.powi(equi.len() as i32).max(1.0 / left.rows.max(right.rows).max(1.0))
                    });
                    let rows = (left.rows * right.rows * s).max(1.0);
                    let startup = right.total + right.rows * ROW;
                    let total = startup + left.total + left.rows * OPERATOR * equi.len() as f64 + rows * ROW;
                    let inner = children.pop().map(|c| self.wrap("Hash", c));
                    children.extend(inner);
                    (format!("Hash{kind_name} Join"), Estimate { rows, width, startup, total })
                }
            }
            (Rel::Aggregate { groups, aggregates, output, .. }, Rel::Aggregate { groups: shown_groups, .. }) => {
                let input = est(0);
                let width = output.len() * 8;
                if groups.is_empty() {
                    let total = input.total + input.rows * OPERATOR * aggregates.len().max(1) as f64;
                    ("Aggregate".to_string(), Estimate { rows: 1.0, width, startup: total, total: total + ROW })
                } else {
                    let keys: Vec<String> = shown_groups.iter().map(|g| self.bare(g)).collect();
                    props.push(format!("Group Key: {}", keys.join(", ")));
                    let rows = input.rows.clamp(1.0, 200.0);
                    let startup = input.total + input.rows * OPERATOR * (groups.len() + aggregates.len()) as f64;
                    ("HashAggregate".to_string(), Estimate { rows, width, startup, total: startup + rows * ROW })
                }
            }
            (Rel::Window { .. }, Rel::Window { .. }) => {
                let input = est(0);
                ("WindowAgg".to_string(), Estimate { total: input.total + input.rows * OPERATOR, ..input })
            }
            (Rel::Sort { keys, .. }, Rel::Sort { keys: shown_keys, .. }) => {
                let input = est(0);
                let shown: Vec<String> = shown_keys
                    .iter()
                    .zip(keys)
                    .map(|(k, _)| {
                        let mut s = self.bare(&k.expr);
                        if k.descending {
                            s.push_str(" DESC");
                        }
                        if k.nulls_first != k.descending {
                            s.push_str(if k.nulls_first { " NULLS FIRST" } else { " NULLS LAST" });
                        }
                        s
                    })
                    .collect();
                props.push(format!("Sort Key: {}", shown.join(", ")));
                let n = input.rows.max(2.0);
                let startup = input.total + 2.0 * OPERATOR * n * n.log2();
                ("Sort".to_string(), Estimate { startup, total: startup + input.rows * ROW, ..input })
            }
            (Rel::Limit { limit, offset, .. }, _) => {
                let input = est(0);
                let wanted = limit.map_or(input.rows, |l| (l + offset) as f64).min(input.rows);
                let fraction = if input.rows > 0.0 { wanted / input.rows } else { 1.0 };
                let rows = limit.map_or(input.rows - *offset as f64, |l| (l as f64).min(input.rows)).max(1.0);
                let total = input.startup + (input.total - input.startup) * fraction;
                ("Limit".to_string(), Estimate { rows, total, ..input })
            }
            (Rel::Distinct { .. }, _) => {
                let input = est(0);
                (
                    "Unique".to_string(),
                    Estimate {
                        rows: input.rows.clamp(1.0, 200.0),
                        total: input.total + input.rows * OPERATOR,
                        ..input
                    },
                )
            }
            (Rel::SetOp { kind, all, .. }, _) => {
                let (l, r) = (est(0), est(1));
                let name = match (kind, all) {
                    (SetOpKind::Union, true) => "Append".to_string(),
                    (SetOpKind::Union, false) => "HashSetOp Union".to_string(),
                    (SetOpKind::Intersect, all) => format!("HashSetOp Intersect{}", if *all { " All" } else { "" }),
                    (SetOpKind::Except, all) => format!("HashSetOp Except{}", if *all { " All" } else { "" }),
                };
                let rows = if *kind == SetOpKind::Union { l.rows + r.rows } else { l.rows };
                (
                    name,
                    Estimate { rows, width: l.width, startup: 0.0, total: l.total + r.total + (l.rows + r.rows) * ROW },
                )
            }
            (Rel::RecursiveUnion { .. }, _) => {
                let (b, r) = (est(0), est(1));
                (
                    "Recursive Union".to_string(),
                    Estimate {
                        rows: b.rows + r.rows * 10.0,
                        width: b.width,
                        startup: 0.0,
                        total: b.total + r.total * 10.0,
                    },
                )
            }
            (Rel::WorkTable { output, .. }, _) => (
                "WorkTable Scan".to_string(),
                Estimate { rows: 10.0, width: output.len() * 8, startup: 0.0, total: 0.2 },
            ),
            (Rel::Values { rows, output }, _) => {
                let n = rows.len() as f64;
                (
                    "Values Scan on \"*VALUES*\"".to_string(),
                    Estimate { rows: n.max(1.0), width: output.len() * 4, startup: 0.0, total: n * ROW },
                )
            }
            (Rel::Function { calls, output, .. }, _) => {
                let names: Vec<&str> = calls.iter().map(|c| c.func.name()).collect();
                (
                    format!("Function Scan on {}", names.join(", ")),
                    Estimate { rows: 1000.0, width: output.len() * 4, startup: 0.0, total: 10.0 },
                )
            }
            (Rel::Lateral { kind, condition, .. }, Rel::Lateral { condition: shown_condition, .. }) => {
                let (l, r) = (est(0), est(1));
                if let Some(c) = shown_condition {
                    props.push(format!("Join Filter: {}", self.expr(c)));
                }
                let name = if *kind == JoinKind::Left { "Nested Loop Left Join" } else { "Nested Loop" };
                let rows = (l.rows * r.rows * condition.as_ref().map_or(1.0, selectivity)).max(1.0);
                (
                    name.to_string(),
                    Estimate {
                        rows,
                        width: l.width + r.width,
                        startup: l.startup + r.startup,
                        total: l.total + l.rows * r.total,
                    },
                )
            }
            (Rel::LockRows { .. }, _) => {
                let input = est(0);
                ("LockRows".to_string(), Estimate { total: input.total + input.rows * ROW, ..input })
            }
            _ => return Err(DbError::Internal("EXPLAIN: the resolved plan changed shape".into())),
        };
        let mut block = self.finish(name, est, rel, props, children);
        let exprs = rel.exprs();
        let shown_exprs = shown.exprs();
        self.subplans(&mut block, exprs, shown_exprs)?;
        Ok(block)
    }

    /// A node's block from its header, properties and input blocks.
    fn finish(&mut self, name: String, est: Estimate, rel: &Rel, props: Vec<String>, children: Vec<Block>) -> Block {
        let mut block = self.header(name, est, rel);
        block.lines.extend(props.into_iter().map(|p| format!("  {p}")));
        if let Some(notes) = self.notes.get(&(rel as *const Rel as usize)) {
            block.lines.extend(notes.iter().map(|(_, line)| format!("  {line}")));
        }
        for child in children {
            child.nested(&mut block.lines, "  ");
        }
        block
    }

    /// A node's header line: its name, estimate and (ANALYZE) what it did.
    fn header(&mut self, name: String, est: Estimate, rel: &Rel) -> Block {
        let mut line = name;
        if self.options.costs {
            line.push_str(&format!(
                "  (cost={:.2}..{:.2} rows={:.0} width={})",
                est.startup,
                est.total.max(est.startup),
                est.rows,
                est.width
            ));
        }
        let actual = self.measured.and_then(|m| m.get(&(rel as *const Rel as usize))).copied();
        if self.measured.is_some() {
            match &actual {
                Some(m) => line.push_str(&self.actual(m)),
                None => line.push_str(" (never executed)"),
            }
        }
        Block { est, lines: vec![line], actual }
    }

    fn actual(&self, m: &Measured) -> String {
        let loops = m.loops.max(1);
        let rows = (m.rows as f64 / loops as f64).round();
        if self.options.timing {
            let per = |d: Duration| d.as_secs_f64() * 1000.0 / loops as f64;
            format!(" (actual time={:.3}..{:.3} rows={rows:.0} loops={})", per(m.first), per(m.total), m.loops)
        } else {
            format!(" (actual rows={rows:.0} loops={})", m.loops)
        }
    }

    /// `child` under a node of its own (PostgreSQL's Hash and Materialize above a join's
    /// inner side), with the child's estimate.
    fn wrap(&self, name: &str, child: Block) -> Block {
        let est = child.est;
        let mut line = name.to_string();
        if self.options.costs {
            line.push_str(&format!(
                "  (cost={:.2}..{:.2} rows={:.0} width={})",
                est.total, est.total, est.rows, est.width
            ));
        }
        let actual = child.actual;
        if let Some(m) = &actual {
            line.push_str(&self.actual(m));
        }
        let mut lines = vec![line];
        child.nested(&mut lines, "  ");
        Block { est, lines, actual }
    }

    /// The SubPlans and InitPlans of a node's expressions: uncorrelated subqueries run once
    /// (InitPlan), correlated ones per row (SubPlan).
    fn subplans(&mut self, block: &mut Block, exprs: Vec<&Expr>, shown: Vec<&Expr>) -> Result<()> {
        let mut found: Vec<(&Rel, bool)> = Vec::new();
        for e in &exprs {
            e.walk(&mut |x| {
                if let Expr::Subquery(sq) = x {
                    found.push((&sq.plan, sq.correlated));
                }
            });
        }
        let mut shown_found: Vec<&Rel> = Vec::new();
        for e in &shown {
            e.walk(&mut |x| {
                if let Expr::Subquery(sq) = x {
                    shown_found.push(&sq.plan);
                }
            });
        }
        for ((plan, correlated), shown_plan) in found.into_iter().zip(shown_found) {
            self.subplans += 1;
            let label = if correlated { "SubPlan" } else { "InitPlan" };
            block.lines.push(format!("  {label} {}", self.subplans));
            let child = self.block(plan, shown_plan)?;
            child.nested(&mut block.lines, "    ");
        }
        Ok(())
    }

    /// The access path's index name, how many key columns it covers, and its condition.
    fn index_condition(&mut self, table: &TableDef, access: &Access) -> Result<(String, usize, String)> {
        let column = |i: usize| table.schema.columns.get(i).map_or("?".to_string(), |c| c.name.clone());
        let equal = |cols: &[usize], keys: &[Expr], this: &Self| -> String {
            let parts: Vec<String> =
                cols.iter().zip(keys).map(|(c, k)| format!("({} = {})", column(*c), this.expr(k))).collect();
            if parts.len() == 1 { parts[0].clone() } else { format!("({})", parts.join(" AND ")) }
        };
        Ok(match access {
            Access::PrimaryKey(keys) => (table.primary_key_name(), keys.len(), equal(&table.primary_key, keys, self)),
            Access::Index { index, key } => (index.name.clone(), key.len(), equal(&index.columns, key, self)),
            Access::IndexRange { index, lower, upper } => {
                let (name, first) = match index {
                    Some(i) => (i.name.clone(), i.columns.first().copied().unwrap_or(0)),
                    None => (table.primary_key_name(), table.primary_key.first().copied().unwrap_or(0)),
                };
                let col = column(first);
                let bound = |end: &Option<RangeEnd>, strict: &str, loose: &str| {
                    end.as_ref().map(|e| {
                        format!("({col} {} {})", if e.inclusive { loose } else { strict }, self.expr(&e.value))
                    })
                };
                let parts: Vec<String> =
                    [bound(lower, ">", ">="), bound(upper, "<", "<=")].into_iter().flatten().collect();
                let n = parts.len();
                (name, n, if n == 1 { parts[0].clone() } else { format!("({})", parts.join(" AND ")) })
            }
            Access::SeqScan => (String::new(), 0, String::new()),
        })
    }

    /// An expression as PostgreSQL's EXPLAIN deparses it (top-level operators parenthesized).
    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Binary { .. }
            | Expr::IsNull { .. }
            | Expr::Like { .. }
            | Expr::Not(_)
            | Expr::Negate(_)
            | Expr::AnyOf(_) => self.bare(e),
            other => self.bare(other),
        }
    }

    fn column_name(&self, id: usize) -> String {
        let name = self.names.get(id).cloned().unwrap_or_else(|| format!("${id}"));
        match name.split_once('.') {
            Some((_, column)) if !self.qualify => column.to_string(),
            _ => name,
        }
    }

    /// An expression in PostgreSQL's deparsed form.
    fn bare(&self, e: &Expr) -> String {
        match e {
            Expr::Column { index, .. } => self.column_name(*index),
            Expr::Outer { index, .. } => format!("$outer{index}"),
            Expr::Param { index, .. } => format!("${}", index + 1),
            Expr::Literal { value, ty } => literal(value, *ty),
            Expr::Binary { op, left, right, .. } => {
                let symbol = match op {
                    BinaryOp::And => "AND",
                    BinaryOp::Or => "OR",
                    other => other.symbol(),
                };
                format!("({} {symbol} {})", self.bare(left), self.bare(right))
            }
            Expr::Not(inner) => format!("(NOT {})", self.bare(inner)),
            Expr::Negate(inner) => format!("(- {})", self.bare(inner)),
            Expr::IsNull { arg, negated } => {
                format!("({} IS {}NULL)", self.bare(arg), if *negated { "NOT " } else { "" })
            }
            Expr::Cast { arg, to, .. } => format!("({})::{}", self.bare(arg), to),
            Expr::Like { arg, pattern, negated, case_insensitive } => {
                let op = match (negated, case_insensitive) {
                    (false, false) => "~~",
                    (true, false) => "!~~",
                    (false, true) => "~~*",
                    (true, true) => "!~~*",
                };
                format!("({} {op} {})", self.bare(arg), self.bare(pattern))
            }
            Expr::AnyOf(items) => {
                let parts: Vec<String> = items.iter().map(|i| self.bare(i)).collect();
                format!("({})", parts.join(" OR "))
            }
            Expr::Call { func, args, .. } => {
                let args: Vec<String> = args.iter().map(|a| self.bare(a)).collect();
                format!("{}({})", crate::functions::display_name(func), args.join(", "))
            }
            Expr::Case { branches, otherwise, .. } => {
                let mut s = String::from("CASE");
                for (when, then) in branches {
                    s.push_str(&format!(" WHEN {} THEN {}", self.bare(when), self.bare(then)));
                }
                if let Some(o) = otherwise {
                    s.push_str(&format!(" ELSE {}", self.bare(o)));
                }
                s.push_str(" END");
                s
            }
            Expr::Subquery(sq) => match &sq.kind {
                SubqueryKind::Exists => "(EXISTS (subquery))".into(),
                SubqueryKind::Any { arg, op } => format!("({} {} ANY (subquery))", self.bare(arg), op.symbol()),
                SubqueryKind::All { arg, op } => format!("({} {} ALL (subquery))", self.bare(arg), op.symbol()),
                _ => "(subquery)".into(),
            },
        }
    }
}

/// A constant as EXPLAIN shows it: numbers bare, everything else quoted with its type.
fn literal(value: &Value, ty: DataType) -> String {
    match value {
        Value::Null => format!("NULL::{ty}"),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => value.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            let text = other.to_pg_text().unwrap_or_default().replace('\'', "''");
            format!("'{text}'::{}", if ty == DataType::Unknown { DataType::Text } else { ty })
        }
    }
}
