//! Hash aggregation: input rows are grouped by their key values in a hash table, each group
//! holding one accumulator per aggregate call; when the input ends, each group becomes a row
//! of its keys and the aggregates' values. With no group keys there is one group, which exists
//! even for no input (`count(*)` of an empty table is 0, `sum` is NULL).
//!
//! Accumulators follow PostgreSQL: NULL inputs are skipped; `sum` of int2/int4 is exact (in
//! i128) and 22003 past bigint; `sum` of real adds in single precision, as `float4pl` does,
//! and float sums are 22003 when they overflow; `sum` and `avg` of bigint and numeric, and the variances of
//! integers and numeric, are exact numerics with PostgreSQL's result scales (integer inputs
//! are summed in i128 and converted once, at the end); over floats, `avg` and the variances
//! use double precision (Welford's method). DISTINCT remembers the argument values seen per
//! group, FILTER skips rows.

use super::{HashKey, Row, Runner};
use crate::context::row_bytes;
use crate::expr::{EvalEnv, Expr};
use crate::rel::{AggCall, AggFunc};
use crate::types::out_of_range;
use rustydb_foundation::{DataType, Interval, Numeric, Result, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
enum Acc {
    Count(i64),
    SumInt(Option<i128>),
    SumFloat(Option<f64>),
    SumNumeric(Option<Numeric>),
    SumInterval(Option<Interval>, i64),
    Avg {
        sum: f64,
        exact: i128,
        integral: bool,
        n: i64,
    },
    AvgNumeric {
        sum: Numeric,
        n: i64,
    },
    /// Count, sum and sum of squares of int2/int4 inputs (squares fit: < 2^62 each).
    IntMoments {
        n: i64,
        sum: i128,
        squares: i128,
    },
    NumericMoments {
        n: i64,
        sum: Numeric,
        squares: Numeric,
    },
    Extreme(Option<Value>),
    Bool(Option<bool>),
    Text(Option<String>),
    Array(Option<Vec<Value>>),
    /// json_agg's and jsonb_agg's values, or the object aggregates' (key, value) pairs.
    Json(Vec<Value>),
    JsonPairs(Vec<(Value, Value)>),
    Moments {
        n: f64,
        mean: f64,
        m2: f64,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Accumulator {
    acc: Acc,
    seen: Option<HashSet<HashKey>>,
    /// The arguments of an aggregate with an ORDER BY, after their sort keys, or the distinct
    /// arguments of one whose result depends on the order of its inputs (`array_agg(DISTINCT
    /// x)`, `string_agg`, the json aggregates; PostgreSQL sorts DISTINCT inputs): they are
    /// added, sorted, at the end.
    sorted: Option<Vec<Vec<Value>>>,
}

/// True for an aggregate whose result lists its inputs in order.
fn lists_inputs(func: AggFunc) -> bool {
    matches!(
        func,
        AggFunc::ArrayAgg
            | AggFunc::StringAgg
            | AggFunc::JsonAgg
            | AggFunc::JsonbAgg
            | AggFunc::JsonObjectAgg
            | AggFunc::JsonbObjectAgg
    )
}

pub(super) fn initial(call: &AggCall) -> Accumulator {
    let input = call.args.first().map_or(DataType::Unknown, Expr::data_type);
    let acc = match call.func {
        AggFunc::CountStar | AggFunc::Count => Acc::Count(0),
        AggFunc::Sum | AggFunc::Avg if input == DataType::Interval => Acc::SumInterval(None, 0),
        AggFunc::Sum if input.is_integer() => Acc::SumInt(None),
        AggFunc::Sum if call.ty == DataType::Numeric(None) => Acc::SumNumeric(None),
        AggFunc::Sum => Acc::SumFloat(None),
        AggFunc::Avg if matches!(input, DataType::Numeric(_)) => Acc::AvgNumeric { sum: Numeric::zero(), n: 0 },
        AggFunc::Avg => Acc::Avg { sum: 0.0, exact: 0, integral: input.is_integer(), n: 0 },
        AggFunc::Min | AggFunc::Max => Acc::Extreme(None),
        AggFunc::BoolAnd | AggFunc::BoolOr => Acc::Bool(None),
        AggFunc::StringAgg => Acc::Text(None),
        AggFunc::ArrayAgg => Acc::Array(None),
        AggFunc::JsonAgg | AggFunc::JsonbAgg => Acc::Json(Vec::new()),
        AggFunc::JsonObjectAgg | AggFunc::JsonbObjectAgg => Acc::JsonPairs(Vec::new()),
        // Computed from the sorted inputs at the end (see `ordered_set`).
        AggFunc::PercentileCont | AggFunc::PercentileDisc | AggFunc::Mode => Acc::Count(0),
        AggFunc::StddevSamp | AggFunc::StddevPop | AggFunc::VarSamp | AggFunc::VarPop => match input {
            DataType::Int2 | DataType::Int4 => Acc::IntMoments { n: 0, sum: 0, squares: 0 },
            DataType::Int8 | DataType::Numeric(_) => {
                Acc::NumericMoments { n: 0, sum: Numeric::zero(), squares: Numeric::zero() }
            }
            _ => Acc::Moments { n: 0.0, mean: 0.0, m2: 0.0 },
        },
    };
    let sorted = ((call.distinct && lists_inputs(call.func)) || !call.order.is_empty()).then(Vec::new);
    Accumulator { acc, seen: call.distinct.then(HashSet::new), sorted }
}

/// Adds `row` to accumulator `a` of `call`. Gives back how many bytes the accumulator grew by
/// (the values `string_agg`, `array_agg` and DISTINCT keep), for the caller to count.
pub(super) fn update(a: &mut Accumulator, call: &AggCall, row: &[Value], env: &EvalEnv<'_>) -> Result<usize> {
    if let Some(f) = &call.filter
        && !f.qual(row, env)?
    {
        return Ok(0);
    }
    if call.func == AggFunc::CountStar {
        if let Acc::Count(n) = &mut a.acc {
            *n += 1;
        }
        return Ok(0);
    }
    if call.func.is_ordered_set() {
        // The sorted value first, then the direct arguments; NULL values are left out.
        let mut entry = call.order.iter().map(|k| k.expr.eval(row, env)).collect::<Result<Vec<_>>>()?;
        if entry.first().is_none_or(Value::is_null) {
            return Ok(0);
        }
        for e in &call.args {
            entry.push(e.eval(row, env)?);
        }
        let grew = row_bytes(&entry);
        a.sorted.get_or_insert_with(Vec::new).push(entry);
        return Ok(grew);
    }
    let args = call.args.iter().map(|e| e.eval(row, env)).collect::<Result<Vec<_>>>()?;
    // Every aggregate but array_agg and the json aggregates skips NULL inputs.
    let keeps_nulls = matches!(
        call.func,
        AggFunc::ArrayAgg | AggFunc::JsonAgg | AggFunc::JsonbAgg | AggFunc::JsonObjectAgg | AggFunc::JsonbObjectAgg
    );
    if args.first().is_none_or(Value::is_null) && !keeps_nulls {
        return Ok(0);
    }
    let mut grew = 0;
    if let Some(seen) = &mut a.seen {
        if !seen.insert(HashKey(args.clone())) {
            return Ok(0);
        }
        grew += row_bytes(&args) + 16;
    }
    if let Some(sorted) = &mut a.sorted {
        if call.order.is_empty() {
            sorted.push(args);
        } else {
            let mut entry = call.order.iter().map(|k| k.expr.eval(row, env)).collect::<Result<Vec<_>>>()?;
            entry.extend(args);
            grew += row_bytes(&entry);
            sorted.push(entry);
        }
        return Ok(grew);
    }
    Ok(grew + apply(&mut a.acc, call, &args)?)
}

/// Adds one row's evaluated arguments to `acc`; gives back how many bytes it grew by.
fn apply(acc: &mut Acc, call: &AggCall, args: &[Value]) -> Result<usize> {
    let mut grew = 0;
    let v = &args[0];
    match acc {
        Acc::Count(n) => *n += 1,
        Acc::SumInt(s) => *s = Some(s.unwrap_or(0) + i128::from(v.as_i64().unwrap_or(0))),
        Acc::SumFloat(s) => {
            // The first value is the sum, as PostgreSQL's float8pl starts from it: -0.0 is
            // addition's identity (a sum of negative zeros is -0).
            *s = Some(float_sum(s.unwrap_or(-0.0), v.as_f64().unwrap_or(0.0), call.ty == DataType::Float4)?);
        }
        Acc::SumNumeric(s) => {
            let x = crate::expr::as_numeric(v)?;
            *s = Some(match s.take() {
                None => x.into_owned(),
                Some(sum) => sum.add(&x)?,
            });
        }
        Acc::SumInterval(s, n) => {
            if let Value::Interval(i) = v {
                *s = Some(match s.take() {
                    None => *i,
                    Some(sum) => sum.add(i)?,
                });
                *n += 1;
            }
        }
        Acc::AvgNumeric { sum, n } => {
            *sum = sum.add(crate::expr::as_numeric(v)?.as_ref())?;
            *n += 1;
        }
        Acc::IntMoments { n, sum, squares } => {
            let x = i128::from(v.as_i64().unwrap_or(0));
            *n += 1;
            *sum += x;
            *squares += x * x;
        }
        Acc::NumericMoments { n, sum, squares } => {
            let x = crate::expr::as_numeric(v)?;
            *n += 1;
            *sum = sum.add(&x)?;
            *squares = squares.add(&x.mul(&x)?)?;
        }
        Acc::Avg { sum, exact, integral, n } => {
            if *integral {
                *exact += i128::from(v.as_i64().unwrap_or(0));
            } else {
                *sum = float_sum(*sum, v.as_f64().unwrap_or(0.0), false)?;
            }
            *n += 1;
        }
        Acc::Extreme(best) => {
            let replace = match best {
                None => true,
                Some(b) => {
                    // Ties take the newer value, as PostgreSQL's `smaller`/`larger` functions
                    // do: it shows when equal values print differently (1.5 and 1.50).
                    let ord = v.sql_cmp(b).unwrap_or(Ordering::Equal);
                    if call.func == AggFunc::Min { ord.is_le() } else { ord.is_ge() }
                }
            };
            if replace {
                *best = Some(v.clone());
            }
        }
        Acc::Bool(b) => {
            let x = *v == Value::Bool(true);
            *b = Some(match (call.func, *b) {
                (AggFunc::BoolAnd, prev) => prev.unwrap_or(true) && x,
                (_, prev) => prev.unwrap_or(false) || x,
            });
        }
        Acc::Text(t) => {
            let piece = v.to_pg_text().unwrap_or_default();
            grew += piece.len();
            match t {
                None => *t = Some(piece),
                Some(s) => {
                    let delimiter = args.get(1).and_then(Value::to_pg_text).unwrap_or_default();
                    grew += delimiter.len();
                    s.push_str(&delimiter);
                    s.push_str(&piece);
                }
            }
        }
        Acc::Array(values) => {
            grew += v.footprint();
            values.get_or_insert_with(Vec::new).push(v.clone());
        }
        Acc::Json(values) => {
            grew += v.footprint();
            values.push(v.clone());
        }
        Acc::JsonPairs(pairs) => {
            let value = args.get(1).cloned().unwrap_or(Value::Null);
            grew += v.footprint() + value.footprint();
            pairs.push((v.clone(), value));
        }
        Acc::Moments { n, mean, m2 } => {
            let x = v.as_f64().unwrap_or(0.0);
            *n += 1.0;
            let delta = x - *mean;
            *mean += delta / *n;
            *m2 += delta * (x - *mean);
        }
    }
    Ok(grew)
}

/// `sum + x` as PostgreSQL's `float8pl` (or `float4pl`, in single precision, when `single`)
/// adds them: 22003 when finite operands overflow.
pub(crate) fn float_sum(sum: f64, x: f64, single: bool) -> Result<f64> {
    let total = if single { f64::from(sum as f32 + x as f32) } else { sum + x };
    if total.is_infinite() && sum.is_finite() && x.is_finite() {
        return Err(rustydb_foundation::DbError::sql(
            rustydb_foundation::SqlState::NumericValueOutOfRange,
            "value out of range: overflow",
        ));
    }
    Ok(total)
}

/// The variance or standard deviation of `n` exact values from their sum and sum of squares,
/// computed as PostgreSQL's `numeric_stddev_internal` does, so the digits and scale match:
/// `(n·Σx² − (Σx)²) / (n·(n−1))` (or `n·n` for the population forms) at the division's own
/// scale, and the root at that same scale.
fn numeric_moments(func: AggFunc, n: i64, sum: Numeric, squares: Numeric) -> Result<Value> {
    let sample = matches!(func, AggFunc::StddevSamp | AggFunc::VarSamp);
    if n == 0 || (sample && n == 1) {
        return Ok(Value::Null);
    }
    if sum.is_special() || squares.is_special() {
        return Ok(Value::Numeric(Numeric::nan()));
    }
    let count = Numeric::from_i64(n);
    let numerator = count.mul(&squares)?.sub(&sum.mul(&sum)?)?;
    if numerator.is_zero() || numerator.is_negative() {
        return Ok(Value::Numeric(Numeric::zero()));
    }
    let denominator = Numeric::from_i128(i128::from(n) * i128::from(if sample { n - 1 } else { n }));
    let scale = rustydb_foundation::numeric::arith::division_scale(&numerator, &denominator);
    let variance = numerator.div_to_scale(&denominator, scale)?;
    Ok(Value::Numeric(if matches!(func, AggFunc::StddevSamp | AggFunc::StddevPop) {
        variance.sqrt_to_scale(scale)?
    } else {
        variance
    }))
}

/// An ordered-set aggregate's value over its inputs `sorted` (each the sorted value, then the
/// direct arguments), as PostgreSQL's orderedsetaggs.c computes it.
fn ordered_set(call: &AggCall, sorted: &[Vec<Value>]) -> Result<Value> {
    let Some(first) = sorted.first() else { return Ok(Value::Null) };
    let n = sorted.len();
    if call.func == AggFunc::Mode {
        // The most frequent value; of equally frequent ones, the first in the sort order.
        let (mut best, mut best_count, mut run_start) = (0, 0, 0);
        for i in 1..=n {
            if i == n || sorted[i][0].sql_cmp(&sorted[run_start][0]) != Some(Ordering::Equal) {
                if i - run_start > best_count {
                    (best, best_count) = (run_start, i - run_start);
                }
                run_start = i;
            }
        }
        return Ok(sorted[best][0].clone());
    }
    let fraction = match first.get(1) {
        Some(Value::Float8(f)) => *f,
        _ => return Ok(Value::Null),
    };
    if !(0.0..=1.0).contains(&fraction) {
        return Err(rustydb_foundation::DbError::sql(
            rustydb_foundation::SqlState::NumericValueOutOfRange,
            format!("percentile value {} is not between 0 and 1", crate::settings::format_real(fraction)),
        ));
    }
    if call.func == AggFunc::PercentileDisc {
        // The first value whose position reaches the fraction of the inputs.
        let at = ((fraction * n as f64).ceil() as usize).max(1) - 1;
        return Ok(sorted[at.min(n - 1)][0].clone());
    }
    let position = fraction * (n - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    let value = |i: usize| sorted[i][0].as_f64().unwrap_or(0.0);
    Ok(Value::Float8(if lo == hi { value(lo) } else { value(lo) + (position - lo as f64) * (value(hi) - value(lo)) }))
}

pub(super) fn finish(mut a: Accumulator, call: &AggCall) -> Result<Value> {
    if let Some(mut sorted) = a.sorted.take() {
        let keys = call.order.len();
        if keys == 0 {
            // Ascending, NULLs last, as PostgreSQL sorts a DISTINCT aggregate's inputs.
            let ascending: Vec<crate::plan::SortKey> = sorted
                .first()
                .map(|first| {
                    first
                        .iter()
                        .map(|_| crate::plan::SortKey {
                            expr: Expr::literal(Value::Null),
                            descending: false,
                            nulls_first: false,
                        })
                        .collect()
                })
                .unwrap_or_default();
            sorted.sort_by(|x, y| super::order::compare_keys(&ascending, x, y));
        } else {
            // By the call's ORDER BY; stable, so equal keys keep their input order.
            sorted.sort_by(|x, y| super::order::compare_keys(&call.order, x, y));
        }
        if call.func.is_ordered_set() {
            return ordered_set(call, &sorted);
        }
        for entry in &sorted {
            apply(&mut a.acc, call, &entry[keys..])?;
        }
    }
    Ok(match a.acc {
        Acc::Count(n) => Value::Int8(n),
        Acc::SumInt(None) | Acc::SumFloat(None) | Acc::Extreme(None) | Acc::Bool(None) | Acc::Text(None) => Value::Null,
        Acc::SumNumeric(None) | Acc::SumInterval(None, _) => Value::Null,
        Acc::SumInterval(Some(s), n) if call.func == AggFunc::Avg => Value::Interval(s.div(n as f64)?),
        Acc::SumInterval(Some(s), _) => Value::Interval(s),
        Acc::SumNumeric(Some(s)) => Value::Numeric(s),
        Acc::SumInt(Some(s)) if call.ty == DataType::Numeric(None) => Value::Numeric(Numeric::from_i128(s)),
        Acc::SumInt(Some(s)) => Value::Int8(i64::try_from(s).map_err(|_| out_of_range(DataType::Int8))?),
        Acc::AvgNumeric { n: 0, .. } => Value::Null,
        Acc::AvgNumeric { sum, n } => Value::Numeric(sum.div(&Numeric::from_i64(n))?),
        Acc::IntMoments { n, sum, squares } => {
            numeric_moments(call.func, n, Numeric::from_i128(sum), Numeric::from_i128(squares))?
        }
        Acc::NumericMoments { n, sum, squares } => numeric_moments(call.func, n, sum, squares)?,
        Acc::SumFloat(Some(s)) => {
            if call.ty == DataType::Float4 {
                Value::Float4(s as f32)
            } else {
                Value::Float8(s)
            }
        }
        Acc::Avg { n: 0, .. } => Value::Null,
        Acc::Avg { exact, integral: true, n, .. } => {
            Value::Numeric(Numeric::from_i128(exact).div(&Numeric::from_i64(n))?)
        }
        Acc::Avg { sum, n, .. } => Value::Float8(sum / n as f64),
        Acc::Extreme(Some(v)) => v,
        Acc::Bool(Some(b)) => Value::Bool(b),
        Acc::Text(Some(s)) => Value::Text(s),
        Acc::Array(None) => Value::Null,
        Acc::Json(values) if values.is_empty() => Value::Null,
        Acc::JsonPairs(pairs) if pairs.is_empty() => Value::Null,
        Acc::Json(values) => crate::json_build::array(&values, call.func == AggFunc::JsonbAgg)?,
        Acc::JsonPairs(pairs) => crate::json_build::agg_object(&pairs, call.func == AggFunc::JsonbObjectAgg)?,
        Acc::Array(Some(values)) => match call.ty {
            DataType::Array(element) => Value::Array(element, values),
            other => return Err(rustydb_foundation::DbError::Internal(format!("array_agg typed {other}"))),
        },
        Acc::Moments { n, m2, .. } => {
            let sample = matches!(call.func, AggFunc::StddevSamp | AggFunc::VarSamp);
            let divisor = if sample { n - 1.0 } else { n };
            if divisor <= 0.0 {
                Value::Null
            } else {
                let var = (m2 / divisor).max(0.0);
                Value::Float8(if matches!(call.func, AggFunc::StddevSamp | AggFunc::StddevPop) {
                    var.sqrt()
                } else {
                    var
                })
            }
        }
    })
}

/// A hash table of groups, each with an accumulator per aggregate call, that holds at most
/// about `limit` bytes: once full, it still takes rows of the groups it has, and gives back
/// the keys of rows of any other (for the caller to send to disk).
pub(super) struct GroupTable<'p> {
    aggregates: &'p [AggCall],
    index: HashMap<HashKey, usize>,
    keys: Vec<Row>,
    states: Vec<Vec<Accumulator>>,
    /// Bytes counted against the statement's memory for the groups.
    held: usize,
    limit: usize,
    /// Memory kept free when a group is made (see [`GroupTable::new`]).
    reserve: usize,
    full: bool,
}

impl<'p> GroupTable<'p> {
    /// An empty table for `aggregates`, allowed `limit` bytes.
    pub(super) fn new(aggregates: &'p [AggCall], limit: usize) -> Self {
        // Room kept free when a group is made: for the partitions a spill needs, and for the
        // growth of the groups' accumulators once the statement's limit has made it full.
        let reserve = super::hash_spill::partition_buffers(limit) + limit / 8;
        GroupTable {
            aggregates,
            index: HashMap::new(),
            keys: Vec::new(),
            states: Vec::new(),
            held: 0,
            limit,
            reserve,
            full: false,
        }
    }

    /// The table of an aggregate without group keys: its one group, which exists even for no
    /// input (`count(*)` of an empty table is 0).
    pub(super) fn single(aggregates: &'p [AggCall]) -> Self {
        let mut table = GroupTable::new(aggregates, usize::MAX);
        table.index.insert(HashKey(Vec::new()), 0);
        table.keys.push(Vec::new());
        table.states.push(aggregates.iter().map(initial).collect());
        table
    }

    /// Adds `row`, whose group keys are `key`, to its group, which is made if the table has
    /// room. If it has not, the row is left out and its key given back.
    pub(super) fn add(
        &mut self,
        runner: &Runner<'_, '_>,
        env: &EvalEnv<'_>,
        key: Row,
        row: &[Value],
    ) -> Result<Option<Row>> {
        let key = HashKey(key);
        let slot = match self.index.get(&key) {
            Some(&i) => i,
            None if self.full => return Ok(Some(key.0)),
            None => {
                // The key is held twice (in the index and in the output's key rows).
                let bytes = 2 * row_bytes(&key.0)
                    + self.aggregates.len() * std::mem::size_of::<Accumulator>()
                    + 2 * std::mem::size_of::<usize>();
                let memory = &mut runner.ctx().memory;
                let must = self.keys.is_empty();
                if !super::hash_spill::charge_leaving_room(memory, bytes, self.reserve, "a hash aggregate", must)? {
                    // The statement's limit came first: rows of new groups go to disk from now on.
                    self.full = true;
                    return Ok(Some(key.0));
                }
                self.held += bytes;
                self.full = self.held > self.limit;
                let i = self.keys.len();
                self.keys.push(key.0.clone());
                self.states.push(self.aggregates.iter().map(initial).collect());
                self.index.insert(key, i);
                i
            }
        };
        let mut grew = 0;
        for (acc, call) in self.states[slot].iter_mut().zip(self.aggregates) {
            grew += update(acc, call, row, env)?;
        }
        if grew > 0 {
            // Accumulators that keep values count them too: a table they fill takes no more
            // groups (and past the statement's limit, it is 53200).
            runner.ctx().memory.charge(grew, "a hash aggregate")?;
            self.held += grew;
            self.full |= self.held > self.limit;
        }
        Ok(None)
    }

    /// Each group's row (its keys, then its aggregates), and the bytes counted for the groups,
    /// which the caller releases once the rows are consumed.
    pub(super) fn finish(self) -> Result<(Vec<Row>, usize)> {
        let mut out = Vec::with_capacity(self.keys.len());
        for (mut key, accs) in self.keys.into_iter().zip(self.states) {
            for (acc, call) in accs.into_iter().zip(self.aggregates) {
                key.push(finish(acc, call)?);
            }
            out.push(key);
        }
        Ok((out, self.held))
    }
}
