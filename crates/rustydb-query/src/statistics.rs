//! ANALYZE and the statistics it keeps: per table, how many rows it had; per column, the
//! fraction of NULLs, the number of distinct values, the most common values with their
//! frequencies, and an equi-depth histogram of the rest — PostgreSQL's `pg_statistic`, with
//! its conventions (a negative `n_distinct` is a fraction of the rows, so it scales as the
//! table grows), read back through `pg_stats`.
//!
//! ANALYZE reads every visible row but keeps a uniform random sample of at most
//! [`SAMPLE_ROWS`] (reservoir sampling: memory stays bounded on any table); the figures come
//! from the sample, the distinct count through the Haas–Stokes estimator PostgreSQL uses.
//! The results replace the table's rows in `rustydb_statistic`, in the statement's
//! transaction, and reach planners through the catalog cache when it commits.

use crate::access;
use crate::catalog::{self, TableDef};
use crate::context::ExecContext;
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DataType, DbError, Result, TableId, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The most rows ANALYZE keeps as its sample (PostgreSQL: 300 × the statistics target 100).
pub const SAMPLE_ROWS: usize = 30_000;
/// The most common values and histogram buckets kept per column (the statistics target).
pub const TARGET: usize = 100;
/// Values whose key is longer than this (bytes) stay out of the value lists.
const WIDTH_THRESHOLD: usize = 1024;

/// What ANALYZE found about one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// The fraction of rows holding NULL.
    pub null_frac: f64,
    /// The average width of a non-NULL value, in bytes.
    pub avg_width: i32,
    /// Distinct non-NULL values: a count if positive, minus a fraction of the rows if
    /// negative (PostgreSQL's convention).
    pub n_distinct: f64,
    /// The most common values, most common first.
    pub mcv: Vec<Value>,
    /// Their frequencies (fractions of all rows).
    pub mcf: Vec<f64>,
    /// Bounds of equal-population buckets over the other non-NULL values, ascending.
    pub histogram: Vec<Value>,
}

impl ColumnStats {
    /// The distinct count for a table of `rows` rows.
    pub fn distinct(&self, rows: f64) -> f64 {
        if self.n_distinct < 0.0 { (-self.n_distinct * rows).max(1.0) } else { self.n_distinct.max(1.0) }
    }
}

/// What ANALYZE found about one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    /// Its live rows then.
    pub rows: f64,
    /// Per column position (`None`: not analyzed, as a column added since).
    pub columns: Vec<Option<ColumnStats>>,
}

impl TableStats {
    /// Column `position`'s statistics, if it has them.
    pub fn column(&self, position: usize) -> Option<&ColumnStats> {
        self.columns.get(position).and_then(Option::as_ref)
    }
}

/// Every analyzed table's statistics, by id.
pub type Statistics = Arc<HashMap<TableId, Arc<TableStats>>>;

/// A xorshift generator for the reservoir: ANALYZE needs a fair sample, not a secure one.
struct Sampler(u64);

impl Sampler {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The sample of `table`'s visible rows (reservoir sampling), and how many rows there were.
fn sample(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<(Vec<Vec<Value>>, u64)> {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Sampler(seed | 1);
    let mut kept: Vec<Vec<Value>> = Vec::new();
    let mut seen = 0u64;
    let access = crate::plan::Access::SeqScan;
    let mut scan = crate::exec::TableScan::new(table, &access, None);
    while let Some(rows) = scan.next(ctx, &[])? {
        for (_, row) in rows {
            seen += 1;
            if kept.len() < SAMPLE_ROWS {
                kept.push(row.to_vec());
            } else {
                let slot = rng.below(seen) as usize;
                if slot < SAMPLE_ROWS {
                    kept[slot] = row.to_vec();
                }
            }
        }
    }
    Ok((kept, seen))
}

/// The statistics of one column from `values` (the sample's, NULLs included), the sample
/// being `n` rows of a table of `total`.
pub fn column_stats(values: Vec<Value>, total: f64) -> ColumnStats {
    let n = values.len() as f64;
    let all: Vec<(Vec<u8>, Value)> = values
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| (rustydb_index::keycode::encode_key(std::slice::from_ref(&v)), v))
        .collect();
    let non_null = all.len() as f64;
    let widths: usize = all.iter().map(|(k, _)| k.len().saturating_sub(1)).sum();
    // Values wider than this count as distinct and stay out of the lists, as PostgreSQL
    // leaves out values over 1 kB: statistics stay small.
    let (mut keyed, wide): (Vec<_>, Vec<_>) = all.into_iter().partition(|(k, _)| k.len() <= WIDTH_THRESHOLD);
    let wide = wide.len() as f64;
    let null_frac = if n > 0.0 { 1.0 - non_null / n } else { 0.0 };
    let avg_width = if non_null == 0.0 { 0 } else { (widths as f64 / non_null).round() as i32 };
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    // Runs of equal values: (value, count), in value order.
    let mut runs: Vec<(Value, usize)> = Vec::new();
    let mut i = 0;
    while i < keyed.len() {
        let mut j = i + 1;
        while j < keyed.len() && keyed[j].0 == keyed[i].0 {
            j += 1;
        }
        runs.push((keyed[i].1.clone(), j - i));
        i = j;
    }
    let d = runs.len() as f64 + wide;
    let f1 = runs.iter().filter(|(_, c)| *c == 1).count() as f64 + wide;
    let sampled_all = n >= total;
    let mut n_distinct = if sampled_all || f1 == 0.0 {
        // Every value seen more than once, or the whole table read: the count is d.
        d
    } else {
        // Haas and Stokes' Duj1, as PostgreSQL's analyze.c.
        let estimate = (non_null * d) / (non_null - f1 + f1 * non_null / (total * (1.0 - null_frac)).max(1.0));
        estimate.clamp(d, (total * (1.0 - null_frac)).max(d))
    };
    // Distinct values that grow with the table are kept as a fraction of it.
    if total > 0.0 && n_distinct > 0.1 * total {
        n_distinct = -(n_distinct / total).min(1.0);
    }
    // Most common values: those seen clearly more often than the average value, or all of
    // them when every distinct value fits in the list and was seen more than once.
    let mut by_count: Vec<&(Value, usize)> = runs.iter().collect();
    by_count.sort_by_key(|b| std::cmp::Reverse(b.1));
    let all_fit = runs.len() <= TARGET && (sampled_all || f1 == 0.0);
    let average = if d > 0.0 { non_null / d } else { 0.0 };
    let mut mcv = Vec::new();
    let mut mcf = Vec::new();
    for (value, count) in by_count.into_iter().take(TARGET) {
        if !all_fit && (*count < 2 || (*count as f64) < average * 1.25) {
            break;
        }
        mcv.push(value.clone());
        mcf.push(*count as f64 / n.max(1.0));
    }
    // The histogram: equal-population bounds over the values not in the MCV list.
    let rest: Vec<&Value> = keyed.iter().filter(|(_, v)| !mcv.contains(v)).map(|(_, v)| v).collect();
    let distinct_rest = runs.len().saturating_sub(mcv.len());
    let mut histogram = Vec::new();
    if distinct_rest >= 2 && !rest.is_empty() {
        let buckets = TARGET.min(distinct_rest - 1).max(1);
        for b in 0..=buckets {
            let at = (b * (rest.len() - 1)) / buckets;
            histogram.push(rest[at].clone());
        }
        histogram.dedup();
    }
    ColumnStats { null_frac, avg_width, n_distinct, mcv, mcf, histogram }
}

/// Analyzes `table`: samples it, and replaces its catalog statistics (in the context's
/// transaction).
pub fn analyze_table(ctx: &mut ExecContext<'_>, table: &TableDef, only: &[usize]) -> Result<TableStats> {
    let (rows, total) = sample(ctx, table)?;
    let total = total as f64;
    let previous = read_table(ctx, table)?;
    let mut columns = Vec::with_capacity(table.schema.len());
    for position in 0..table.schema.len() {
        if !only.is_empty() && !only.contains(&position) {
            columns.push(previous.as_ref().and_then(|p| p.column(position).cloned()));
            continue;
        }
        let values = rows.iter().map(|r| r.get(position).cloned().unwrap_or(Value::Null)).collect();
        columns.push(Some(column_stats(values, total)));
    }
    let stats = TableStats { rows: total, columns };
    catalog::replace_statistics(ctx, table, &stats)?;
    Ok(stats)
}

/// `ANALYZE [VERBOSE] [table [(columns)], ...]` (and VACUUM's ANALYZE option): every user
/// table when none is named.
pub fn analyze(
    ctx: &mut ExecContext<'_>,
    targets: &[(catalog::QualifiedName, Vec<String>)],
    verbose: bool,
) -> Result<StatementResult> {
    let mut result = StatementResult::tag("ANALYZE");
    let tables: Vec<(TableDef, Vec<usize>)> = if targets.is_empty() {
        // Each locked as a named one is, and read again under the lock (one dropped
        // meanwhile is passed over).
        let mut out = Vec::new();
        for t in catalog::list_tables(ctx)? {
            if crate::schemas::is_others_temp(ctx, t.namespace)? {
                continue;
            }
            // Only the tables the user owns are locked (and analyzed); the others are skipped
            // with a warning below.
            if crate::acl::require_owner(ctx, crate::acl::ObjectRef::table(&t)).is_err() {
                out.push((t, Vec::new()));
                continue;
            }
            let lock = rustydb_txn::LockMode::ShareUpdateExclusive;
            if let Some(t) = access::open_table_in(ctx, t.namespace, &t.name, lock, rustydb_txn::WaitPolicy::Block)? {
                out.push((t, Vec::new()));
            }
        }
        out
    } else {
        let mut out = Vec::new();
        for (name, columns) in targets {
            let table = access::open_table(
                ctx,
                name,
                rustydb_txn::LockMode::ShareUpdateExclusive,
                rustydb_txn::WaitPolicy::Block,
            )?
            .ok_or_else(|| DbError::undefined_table(name))?;
            let positions =
                columns.iter().map(|c| crate::binder::target_column(&table, c)).collect::<Result<Vec<_>>>()?;
            out.push((table, positions));
        }
        out
    };
    for (table, columns) in tables {
        if table.is_system() {
            continue;
        }
        if crate::acl::require_owner(ctx, crate::acl::ObjectRef::table(&table)).is_err() {
            result.notices.push(Notice::warning(
                "01000",
                format!("permission denied to analyze \"{}\", skipping it", table.name),
            ));
            continue;
        }
        // A wait for the table's lock: read what its holder committed (a concurrent ANALYZE's
        // statistics), as a statement that waited does under READ COMMITTED.
        if ctx.waited_for_lock && ctx.txn.isolation() == rustydb_txn::IsolationLevel::ReadCommitted {
            ctx.snapshot = ctx.engine.txn_manager().retake_snapshot(ctx.txn);
        }
        let stats = analyze_table(ctx, &table, &columns)?;
        if verbose {
            result.notices.push(Notice::info(format!(
                "\"{}\": {} live rows, {} rows in sample",
                table.name,
                stats.rows,
                stats.rows.min(SAMPLE_ROWS as f64)
            )));
        }
    }
    Ok(result)
}

/// `table`'s statistics as the catalog holds them now.
fn read_table(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Option<TableStats>> {
    Ok(catalog::read_statistics(ctx)?.remove(&table.id))
}

/// Every analyzed table's statistics: from the catalog cache when it holds them.
pub fn load(ctx: &mut ExecContext<'_>) -> Result<Statistics> {
    let cache = ctx.engine.catalog_cache().clone();
    if !ctx.txn.catalog_changed
        && let Some(s) = cache.statistics()
    {
        return Ok(s);
    }
    let generation = cache.generation();
    // What is committed now, as the cache holds for everyone: not this transaction's
    // (possibly older) snapshot, unless it changed the catalog itself.
    let read = if ctx.txn.catalog_changed {
        catalog::read_statistics(ctx)?
    } else {
        ctx.with_catalog_snapshot(catalog::read_statistics)?
    };
    let map: HashMap<TableId, Arc<TableStats>> = read.into_iter().map(|(id, s)| (id, Arc::new(s))).collect();
    let map = Arc::new(map);
    if !ctx.txn.catalog_changed {
        cache.insert_statistics(generation, map.clone());
    }
    Ok(map)
}

/// A stored value list: `v`, then each value's text after its length in bytes and a colon
/// (`v1:a3:b c`); the empty string for none. Lengths, not separators: a text value may hold
/// any character.
pub(crate) fn encode_values(values: &[Value]) -> String {
    if values.is_empty() {
        return String::new();
    }
    let mut out = String::from("v");
    for v in values {
        let text = v.to_pg_text().unwrap_or_default();
        out.push_str(&text.len().to_string());
        out.push(':');
        out.push_str(&text);
    }
    out
}

/// The values [`encode_values`] wrote, read as `ty`.
pub(crate) fn decode_values(text: &str, ty: DataType) -> Result<Vec<Value>> {
    let Some(mut rest) = text.strip_prefix('v') else { return Ok(Vec::new()) };
    let bad = || DbError::Corruption(format!("bad statistics value list {text:?}"));
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':').ok_or_else(bad)?;
        let len: usize = len.parse().map_err(|_| bad())?;
        let value = tail.get(..len).ok_or_else(bad)?;
        out.push(Value::parse_as(value, ty)?);
        rest = &tail[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: impl IntoIterator<Item = i64>) -> Vec<Value> {
        v.into_iter().map(Value::Int8).collect()
    }

    #[test]
    fn a_unique_column_scales_with_the_table() {
        let s = column_stats(ints(0..1000), 1000.0);
        assert_eq!(s.n_distinct, -1.0);
        assert!(s.mcv.is_empty());
        assert_eq!(s.histogram.first(), Some(&Value::Int8(0)));
        assert_eq!(s.histogram.last(), Some(&Value::Int8(999)));
        assert_eq!(s.histogram.len(), TARGET + 1);
        assert_eq!(s.null_frac, 0.0);
    }

    #[test]
    fn a_few_values_are_all_common_and_nulls_are_counted() {
        let mut values = ints((0..900).map(|i| i % 3));
        values.extend(std::iter::repeat_n(Value::Null, 100));
        let s = column_stats(values, 1000.0);
        assert_eq!(s.n_distinct, 3.0);
        assert!((s.null_frac - 0.1).abs() < 1e-9);
        assert_eq!(s.mcv.len(), 3);
        assert!(s.mcf.iter().all(|f| (f - 0.3).abs() < 1e-9));
        assert!(s.histogram.is_empty());
    }

    #[test]
    fn a_sample_estimates_distinct_values_beyond_it() {
        // A sample of 1,000 rows from 100,000 with every value seen once: many more exist.
        let s = column_stats(ints(0..1000), 100_000.0);
        assert!(s.n_distinct < 0.0, "unique in the sample reads as growing with the table");
        let skewed = column_stats(ints((0..1000).map(|i| if i < 500 { 7 } else { i })), 100_000.0);
        assert_eq!(skewed.mcv.first(), Some(&Value::Int8(7)));
        assert!((skewed.mcf[0] - 0.5).abs() < 1e-9);
    }

    #[test]
    fn values_round_trip_through_their_text() {
        let values = vec![Value::Text("a b".into()), Value::Text("".into()), Value::Text("z".into())];
        let text = encode_values(&values);
        assert_eq!(decode_values(&text, DataType::Text).unwrap(), values);
        let empty = vec![Value::Text(String::new())];
        assert_eq!(decode_values(&encode_values(&empty), DataType::Text).unwrap(), empty);
        let odd = vec![Value::Text("a\u{0}b:3".into()), Value::Text("é:".into())];
        assert_eq!(decode_values(&encode_values(&odd), DataType::Text).unwrap(), odd);
        assert!(decode_values(&encode_values(&[]), DataType::Int4).unwrap().is_empty());
    }
}
