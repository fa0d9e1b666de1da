//! Relational plans: the tree of operators a query binds to, the optimizer rewrites and the
//! executor runs.
//!
//! One type serves two phases:
//! - **Bound** (what `bind_query` makes and `optimize` rewrites): every [`Expr::Column`] names a
//!   column *id*, unique in the statement. Operators that make columns (scans, projections,
//!   aggregates, set operations) say which ids they output, so a rewrite can move a predicate
//!   from one operator to another, or reorder joins, without renumbering anything.
//! - **Resolved** (after `resolve`): every `Column` is a position in the operator's input row,
//!   and a correlated subquery's references to enclosing queries are [`Expr::Outer`]s. Scans
//!   have their access path chosen. This is what the executor runs.

use crate::catalog::TableDef;
use crate::expr::Expr;
use crate::plan::{Access, RowLockClause, SortKey};
use rustydb_foundation::DataType;

/// A column's id in a bound plan.
pub type ColumnId = usize;

/// How a join pairs rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Pairs that pass the condition (a cross join has none).
    Inner,
    /// Inner, plus left rows with no partner (right side NULL).
    Left,
    /// Inner, plus right rows with no partner.
    Right,
    /// Inner, plus unpaired rows of both sides.
    Full,
}

/// UNION, INTERSECT or EXCEPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOpKind {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)`
    CountStar,
    /// `count(x)`: non-NULL values
    Count,
    /// `sum(x)`
    Sum,
    /// `avg(x)`
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `bool_and(x)`, `every(x)`
    BoolAnd,
    /// `bool_or(x)`
    BoolOr,
    /// `string_agg(x, delimiter)`
    StringAgg,
    /// `array_agg(x)`: every input value, NULLs included, in input order.
    ArrayAgg,
    /// `stddev(x)`, `stddev_samp(x)`
    StddevSamp,
    /// `stddev_pop(x)`
    StddevPop,
    /// `variance(x)`, `var_samp(x)`
    VarSamp,
    /// `var_pop(x)`
    VarPop,
    /// `json_agg(x)`: every input value, NULLs included, as a json array.
    JsonAgg,
    /// `jsonb_agg(x)`.
    JsonbAgg,
    /// `json_object_agg(key, value)`.
    JsonObjectAgg,
    /// `jsonb_object_agg(key, value)`.
    JsonbObjectAgg,
    /// `percentile_cont(fraction) WITHIN GROUP (ORDER BY x)`: interpolated.
    PercentileCont,
    /// `percentile_disc(fraction) WITHIN GROUP (ORDER BY x)`: an input value.
    PercentileDisc,
    /// `mode() WITHIN GROUP (ORDER BY x)`: the most frequent value.
    Mode,
}

impl AggFunc {
    /// An ordered-set aggregate: its value is computed over its inputs sorted by WITHIN GROUP.
    pub fn is_ordered_set(self) -> bool {
        matches!(self, AggFunc::PercentileCont | AggFunc::PercentileDisc | AggFunc::Mode)
    }
}

/// One aggregate call of an [`Rel::Aggregate`].
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Its arguments, over the aggregate's input row.
    pub args: Vec<Expr>,
    /// `DISTINCT`: each distinct argument value counts once.
    pub distinct: bool,
    /// `FILTER (WHERE ...)`: only rows passing it are aggregated.
    pub filter: Option<Expr>,
    /// `ORDER BY` inside the call (`string_agg(x, ',' ORDER BY y)`): the order inputs are
    /// added in.
    pub order: Vec<crate::plan::SortKey>,
    /// Result type.
    pub ty: DataType,
}

/// A window function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFunc {
    /// `row_number()`
    RowNumber,
    /// `rank()`
    Rank,
    /// `dense_rank()`
    DenseRank,
    /// `percent_rank()`
    PercentRank,
    /// `cume_dist()`
    CumeDist,
    /// `ntile(n)`
    Ntile,
    /// `lag(x [, offset [, default]])`
    Lag,
    /// `lead(x [, offset [, default]])`
    Lead,
    /// `first_value(x)`
    FirstValue,
    /// `last_value(x)`
    LastValue,
    /// `nth_value(x, n)`
    NthValue,
    /// An aggregate over the window frame.
    Aggregate(AggFunc),
}

/// One end of a window frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`
    UnboundedPreceding,
    /// `n PRECEDING` (ROWS only)
    Preceding(u64),
    /// `CURRENT ROW` (with its peers, in RANGE mode)
    CurrentRow,
    /// `n FOLLOWING` (ROWS only)
    Following(u64),
    /// `UNBOUNDED FOLLOWING`
    UnboundedFollowing,
}

/// A window frame: the rows of its partition a function sees for each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// ROWS (positions) rather than RANGE (peers count as one).
    pub rows: bool,
    /// First row.
    pub start: FrameBound,
    /// Last row.
    pub end: FrameBound,
}

/// One window function call of a [`Rel::Window`].
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCall {
    /// The function.
    pub func: WindowFunc,
    /// Its arguments, over the input row.
    pub args: Vec<Expr>,
    /// PARTITION BY.
    pub partition: Vec<Expr>,
    /// ORDER BY within the partition.
    pub order: Vec<SortKey>,
    /// The frame.
    pub frame: Frame,
    /// FILTER (WHERE ...) of an aggregate.
    pub filter: Option<Expr>,
    /// Result type.
    pub ty: DataType,
}

/// A relational operator and its inputs.
// A plan has one `Rel` per operator, built once per statement: the scan variant's size (its
// access path) costs nothing worth an extra box on every scan.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Rel {
    /// Literal rows (`VALUES`, or the one empty row of a SELECT without FROM).
    Values {
        /// The rows, each one expression per column.
        rows: Vec<Vec<Expr>>,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// A table's visible rows, filtered.
    Scan {
        /// The table.
        table: std::sync::Arc<TableDef>,
        /// One id per table column, then the row's tuple id if `tid` is set.
        output: Vec<ColumnId>,
        /// Rows that do not pass are not returned.
        filter: Option<Expr>,
        /// How rows are found (chosen by `resolve`; `SeqScan` before).
        access: Access,
        /// Output each row's tuple id (as int8) after its columns, for `LockRows`.
        tid: bool,
        /// Which table columns anything reads (set by the optimizer's column pruning): the
        /// others are not decoded and read as NULL. `None`: all.
        needed: Option<Box<[bool]>>,
    },
    /// Rows passing a predicate.
    Filter {
        /// Input.
        input: Box<Rel>,
        /// Only TRUE passes.
        predicate: Expr,
    },
    /// Computed columns.
    Project {
        /// Input.
        input: Box<Rel>,
        /// One expression per output column.
        exprs: Vec<Expr>,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// A join; the output row is the left row followed by the right row.
    Join {
        /// Inner or outer.
        kind: JoinKind,
        /// Left input.
        left: Box<Rel>,
        /// Right input.
        right: Box<Rel>,
        /// Equality keys (left expression, right expression) found by the optimizer: a hash
        /// join matches on them, NULL never matching.
        equi: Vec<(Expr, Expr)>,
        /// The rest of the join condition, over the joined row.
        condition: Option<Expr>,
    },
    /// Grouping and aggregates; output: the group keys, then the aggregates. Without group keys
    /// there is exactly one output row, even for no input.
    Aggregate {
        /// Input.
        input: Box<Rel>,
        /// Group keys.
        groups: Vec<Expr>,
        /// Aggregate calls.
        aggregates: Vec<AggCall>,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// Window functions: each input row, followed by the value of each call for it.
    Window {
        /// Input.
        input: Box<Rel>,
        /// The calls.
        calls: Vec<WindowCall>,
        /// Output column ids: the input's, then one per call.
        output: Vec<ColumnId>,
    },
    /// Rows in order.
    Sort {
        /// Input.
        input: Box<Rel>,
        /// Keys, over the input row.
        keys: Vec<SortKey>,
    },
    /// OFFSET and LIMIT.
    Limit {
        /// Input.
        input: Box<Rel>,
        /// Rows returned at most.
        limit: Option<u64>,
        /// Rows skipped first.
        offset: u64,
    },
    /// Duplicate rows removed (NULLs equal), first occurrence kept.
    Distinct {
        /// Input.
        input: Box<Rel>,
    },
    /// UNION / INTERSECT / EXCEPT [ALL]; columns match by position.
    SetOp {
        /// Which.
        kind: SetOpKind,
        /// ALL: keep duplicates.
        all: bool,
        /// Left input.
        left: Box<Rel>,
        /// Right input.
        right: Box<Rel>,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// `WITH RECURSIVE`: the base rows, then the recursive term run again and again over the
    /// rows the previous round added (its [`Rel::WorkTable`]), until a round adds none.
    RecursiveUnion {
        /// The non-recursive term.
        base: Box<Rel>,
        /// The recursive term.
        recursive: Box<Rel>,
        /// UNION ALL (otherwise rows already produced are dropped).
        all: bool,
        /// The work table's id, which the recursive term's [`Rel::WorkTable`] reads.
        work: usize,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// The rows the previous round of a [`Rel::RecursiveUnion`] added.
    WorkTable {
        /// Which recursion.
        work: usize,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// Set-returning function calls run in lockstep (see `table_function`): one column per
    /// call, then the row's ordinal (int8, from 1) with `ordinality`.
    Function {
        /// The calls; their arguments read only the outer row.
        calls: Vec<crate::table_function::TableCall>,
        /// WITH ORDINALITY.
        ordinality: bool,
        /// Output column ids.
        output: Vec<ColumnId>,
    },
    /// A LATERAL join: the right input runs once per left row, reading that row as its outer
    /// row (followed by the join's own outer row). The output row is the left row followed by
    /// the right row. Inner or left only.
    Lateral {
        /// Inner, or left (a left row with no right rows is kept, padded with NULLs).
        kind: JoinKind,
        /// Left input.
        left: Box<Rel>,
        /// Right input, correlated with the left row.
        right: Box<Rel>,
        /// The join condition, over the joined row.
        condition: Option<Expr>,
    },
    /// FOR SHARE / FOR UPDATE: locks each row (the input ends with a scan's tuple id) as it
    /// passes, in input order, as PostgreSQL's LockRows node does.
    LockRows {
        /// Input: a table's columns and tuple id.
        input: Box<Rel>,
        /// The table.
        table: std::sync::Arc<TableDef>,
        /// The query's WHERE over the table's columns, re-checked on a newer version of a row
        /// updated concurrently (READ COMMITTED).
        filter: Option<Expr>,
        /// Lock mode and wait policy.
        lock: RowLockClause,
    },
}

impl Rel {
    /// The ids of the output columns (bound plans).
    pub fn output(&self) -> Vec<ColumnId> {
        match self {
            Rel::Values { output, .. }
            | Rel::Scan { output, .. }
            | Rel::Project { output, .. }
            | Rel::Aggregate { output, .. }
            | Rel::SetOp { output, .. }
            | Rel::RecursiveUnion { output, .. }
            | Rel::Window { output, .. }
            | Rel::Function { output, .. }
            | Rel::WorkTable { output, .. } => output.clone(),
            Rel::Join { left, right, .. } | Rel::Lateral { left, right, .. } => {
                let mut out = left.output();
                out.extend(right.output());
                out
            }
            Rel::Filter { input, .. }
            | Rel::Sort { input, .. }
            | Rel::Limit { input, .. }
            | Rel::Distinct { input }
            | Rel::LockRows { input, .. } => input.output(),
        }
    }

    /// The inputs, mutably (in the order [`Rel::inputs`] gives them).
    pub fn inputs_mut(&mut self) -> Vec<&mut Rel> {
        match self {
            Rel::Values { .. } | Rel::Scan { .. } | Rel::WorkTable { .. } | Rel::Function { .. } => Vec::new(),
            Rel::Join { left, right, .. } | Rel::SetOp { left, right, .. } | Rel::Lateral { left, right, .. } => {
                vec![left, right]
            }
            Rel::RecursiveUnion { base, recursive, .. } => vec![base, recursive],
            Rel::Filter { input, .. }
            | Rel::Project { input, .. }
            | Rel::Aggregate { input, .. }
            | Rel::Window { input, .. }
            | Rel::Sort { input, .. }
            | Rel::Limit { input, .. }
            | Rel::Distinct { input }
            | Rel::LockRows { input, .. } => vec![input],
        }
    }

    /// The operator's inputs.
    pub fn inputs(&self) -> Vec<&Rel> {
        match self {
            Rel::Values { .. } | Rel::Scan { .. } | Rel::WorkTable { .. } | Rel::Function { .. } => Vec::new(),
            Rel::Join { left, right, .. } | Rel::SetOp { left, right, .. } | Rel::Lateral { left, right, .. } => {
                vec![left, right]
            }
            Rel::RecursiveUnion { base, recursive, .. } => vec![base, recursive],
            Rel::Filter { input, .. }
            | Rel::Project { input, .. }
            | Rel::Aggregate { input, .. }
            | Rel::Window { input, .. }
            | Rel::Sort { input, .. }
            | Rel::Limit { input, .. }
            | Rel::Distinct { input }
            | Rel::LockRows { input, .. } => vec![input],
        }
    }

    /// True if running the plan reads the table `id`: a scan of it anywhere, in a subquery or
    /// an index key included. A statement sees its own writes (there are no command ids), so
    /// INSERT ... SELECT reads a source that reads its target whole before writing.
    pub fn reads_table(&self, id: rustydb_foundation::TableId) -> bool {
        let in_exprs = |exprs: Vec<&Expr>| {
            exprs.into_iter().any(|e| {
                let mut found = false;
                e.walk(&mut |x| {
                    if let Expr::Subquery(sq) = x {
                        found |= sq.plan.reads_table(id);
                    }
                });
                found
            })
        };
        let scanned = match self {
            Rel::Scan { table, access, .. } => table.id == id || in_exprs(access.exprs()),
            _ => false,
        };
        scanned || in_exprs(self.exprs()) || self.inputs().into_iter().any(|input| input.reads_table(id))
    }

    /// The expressions the operator itself evaluates.
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            Rel::Values { rows, .. } => rows.iter().flatten().collect(),
            Rel::Scan { filter, .. } | Rel::LockRows { filter, .. } => filter.iter().collect(),
            Rel::Filter { predicate, .. } => vec![predicate],
            Rel::Function { calls, .. } => calls.iter().flat_map(|c| &c.args).collect(),
            Rel::Lateral { condition, .. } => condition.iter().collect(),
            Rel::Project { exprs, .. } => exprs.iter().collect(),
            Rel::Join { equi, condition, .. } => {
                equi.iter().flat_map(|(l, r)| [l, r]).chain(condition.iter()).collect()
            }
            Rel::Aggregate { groups, aggregates, .. } => groups
                .iter()
                .chain(
                    aggregates
                        .iter()
                        .flat_map(|a| a.args.iter().chain(a.filter.iter()).chain(a.order.iter().map(|k| &k.expr))),
                )
                .collect(),
            Rel::Window { calls, .. } => calls
                .iter()
                .flat_map(|c| {
                    c.args.iter().chain(&c.partition).chain(c.order.iter().map(|k| &k.expr)).chain(c.filter.iter())
                })
                .collect(),
            Rel::Sort { keys, .. } => keys.iter().map(|k| &k.expr).collect(),
            Rel::Limit { .. }
            | Rel::Distinct { .. }
            | Rel::SetOp { .. }
            | Rel::RecursiveUnion { .. }
            | Rel::WorkTable { .. } => Vec::new(),
        }
    }

    /// Every expression the operator holds, mutably: those [`Rel::exprs`] gives, and a scan's
    /// access path keys as well (the plan cache puts parameter values into all of them).
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Rel::Values { rows, .. } => rows.iter_mut().flatten().collect(),
            Rel::Scan { filter, access, .. } => filter.iter_mut().chain(access.exprs_mut()).collect(),
            Rel::LockRows { filter, .. } => filter.iter_mut().collect(),
            Rel::Filter { predicate, .. } => vec![predicate],
            Rel::Function { calls, .. } => calls.iter_mut().flat_map(|c| &mut c.args).collect(),
            Rel::Lateral { condition, .. } => condition.iter_mut().collect(),
            Rel::Project { exprs, .. } => exprs.iter_mut().collect(),
            Rel::Join { equi, condition, .. } => {
                equi.iter_mut().flat_map(|(l, r)| [l, r]).chain(condition.iter_mut()).collect()
            }
            Rel::Aggregate { groups, aggregates, .. } => groups
                .iter_mut()
                .chain(aggregates.iter_mut().flat_map(|a| {
                    a.args.iter_mut().chain(a.filter.iter_mut()).chain(a.order.iter_mut().map(|k| &mut k.expr))
                }))
                .collect(),
            Rel::Window { calls, .. } => calls
                .iter_mut()
                .flat_map(|c| {
                    c.args
                        .iter_mut()
                        .chain(c.partition.iter_mut())
                        .chain(c.order.iter_mut().map(|k| &mut k.expr))
                        .chain(c.filter.iter_mut())
                })
                .collect(),
            Rel::Sort { keys, .. } => keys.iter_mut().map(|k| &mut k.expr).collect(),
            Rel::Limit { .. }
            | Rel::Distinct { .. }
            | Rel::SetOp { .. }
            | Rel::RecursiveUnion { .. }
            | Rel::WorkTable { .. } => Vec::new(),
        }
    }
}
