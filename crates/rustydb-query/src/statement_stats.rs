//! Statement statistics: what `pg_stat_statements` shows — calls, time and rows per statement
//! shape, for finding the statements worth optimising.
//!
//! Statements are grouped as PostgreSQL's extension groups them: by role, database and text
//! with its constants replaced by `$1`, `$2`, ... (so `WHERE id = 7` and `WHERE id = 8` are one
//! entry). The replacement is lexical: numbers and quoted strings outside identifiers and
//! comments become placeholders; a parameterised statement's own `$n` stay as they are. The
//! table keeps at most [`MAX_ENTRIES`]; when full, the least-called 5% make room, as the
//! extension's `pg_stat_statements.max` does.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

/// The most statement shapes kept (PostgreSQL's default `pg_stat_statements.max`).
pub const MAX_ENTRIES: usize = 5000;

/// One statement shape's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementStats {
    /// The role that ran it.
    pub user: String,
    /// The database.
    pub database: String,
    /// The normalised text.
    pub query: String,
    /// A hash of the normalised text (`queryid`).
    pub query_id: i64,
    /// Times run.
    pub calls: u64,
    /// Total, shortest and longest run time, in milliseconds.
    pub total_ms: f64,
    /// Shortest run.
    pub min_ms: f64,
    /// Longest run.
    pub max_ms: f64,
    /// Sum of squared run times (for the standard deviation).
    sum_sq_ms: f64,
    /// Rows returned or affected, in all.
    pub rows: u64,
}

impl StatementStats {
    /// Mean run time in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.total_ms / self.calls.max(1) as f64
    }

    /// Population standard deviation of run time, in milliseconds (as the extension reports).
    pub fn stddev_ms(&self) -> f64 {
        let n = self.calls.max(1) as f64;
        let mean = self.total_ms / n;
        (self.sum_sq_ms / n - mean * mean).max(0.0).sqrt()
    }
}

/// The table of all shapes.
///
/// Entries are keyed by a hash of role, database and normalised text, so recording a run
/// allocates nothing once its shape is known; the lock is held only for the update.
#[derive(Debug, Default)]
pub struct StatementStatsTable {
    entries: Mutex<HashMap<u64, StatementStats>>,
}

impl StatementStatsTable {
    /// Records one run of `sql`.
    pub fn record(&self, user: &str, database: &str, sql: &str, elapsed: Duration, rows: u64) {
        self.record_normalized(user, database, &normalize(sql), elapsed, rows);
    }

    /// Records one run of a statement whose [`normalize`]d text is `query` (a session keeps
    /// the last one, so a prepared statement run again is not normalised again).
    pub fn record_normalized(&self, user: &str, database: &str, query: &str, elapsed: Duration, rows: u64) {
        if query.is_empty() {
            return;
        }
        let ms = elapsed.as_secs_f64() * 1000.0;
        let id = query_id(query);
        let key = fnv(fnv(id as u64, user.as_bytes()), database.as_bytes());
        let mut entries = self.entries.lock();
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            evict(&mut entries);
        }
        let entry = entries.entry(key).or_insert_with(|| StatementStats {
            user: user.to_string(),
            database: database.to_string(),
            query_id: id,
            query: query.to_string(),
            calls: 0,
            total_ms: 0.0,
            min_ms: f64::INFINITY,
            max_ms: 0.0,
            sum_sq_ms: 0.0,
            rows: 0,
        });
        entry.calls += 1;
        entry.total_ms += ms;
        entry.sum_sq_ms += ms * ms;
        entry.min_ms = entry.min_ms.min(ms);
        entry.max_ms = entry.max_ms.max(ms);
        entry.rows += rows;
    }

    /// Every entry, most total time first.
    pub fn snapshot(&self) -> Vec<StatementStats> {
        let mut all: Vec<StatementStats> = self.entries.lock().values().cloned().collect();
        all.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        all
    }

    /// Forgets everything (`pg_stat_statements_reset()`).
    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}

fn evict(entries: &mut HashMap<u64, StatementStats>) {
    let mut calls: Vec<u64> = entries.values().map(|e| e.calls).collect();
    let cut = (entries.len() / 20).max(1);
    calls.sort_unstable();
    let threshold = calls[cut - 1];
    let mut removed = 0;
    entries.retain(|_, e| {
        if removed < cut && e.calls <= threshold {
            removed += 1;
            false
        } else {
            true
        }
    });
}

/// FNV-1a, continuing from `h`: stable across runs and versions (std's hasher is not).
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A separator, so ("ab", "c") and ("a", "bc") differ.
    (h ^ 0xff).wrapping_mul(0x0100_0000_01b3)
}

fn query_id(text: &str) -> i64 {
    fnv(0xcbf2_9ce4_8422_2325, text.as_bytes()) as i64
}

/// `sql` with its constants replaced by `$n` (numbered after any `$n` already there) and runs
/// of whitespace made one space.
pub fn normalize(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut next = highest_param(sql).saturating_add(1);
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut placeholder = |out: &mut String| {
        out.push('$');
        out.push_str(&next.to_string());
        next = next.saturating_add(1);
    };
    while i < bytes.len() {
        let c = bytes[i];
        let prev_ident = out.as_bytes().last().is_some_and(|p| p.is_ascii_alphanumeric() || *p == b'_' || *p == b'$');
        match c {
            b'\'' => {
                // A string; a preceding E/B/X prefix letter goes with it. Backslash escapes
                // exist only in E'' strings (standard_conforming_strings is on).
                let mut escapes = false;
                if out.ends_with(['E', 'e', 'B', 'b', 'X', 'x'])
                    && !out[..out.len() - 1].ends_with(|p: char| p.is_ascii_alphanumeric() || p == '_')
                {
                    escapes = out.ends_with(['E', 'e']);
                    out.pop();
                }
                i += 1;
                while i < bytes.len() {
                    if escapes && bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                placeholder(&mut out);
            }
            b'"' => {
                let end = sql[i + 1..].find('"').map_or(bytes.len(), |e| i + 2 + e);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(bytes.len(), |e| i + 4 + e);
            }
            b'0'..=b'9' if !prev_ident => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                    // An exponent's sign belongs to the number.
                    if matches!(bytes[i], b'e' | b'E') && matches!(bytes.get(i + 1), Some(b'+' | b'-')) {
                        i += 1;
                    }
                    i += 1;
                }
                placeholder(&mut out);
            }
            b'.' if !prev_ident && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                placeholder(&mut out);
            }
            c if c.is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    let trimmed = out.trim_end().trim_end_matches(';').trim_end();
    trimmed.to_string()
}

/// The largest `$n` in `sql` (0 if none).
fn highest_param(sql: &str) -> u32 {
    sql.match_indices('$')
        .filter_map(|(i, _)| {
            let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_become_placeholders() {
        assert_eq!(normalize("SELECT * FROM t WHERE id = 7"), "SELECT * FROM t WHERE id = $1");
        assert_eq!(
            normalize("select a1, 'x''y', 2.5e-3 from t2  where b = E'q\\'r';"),
            "select a1, $1, $2 from t2 where b = $3"
        );
        assert_eq!(
            normalize("UPDATE t SET v = v + $1 WHERE id = $2 AND k = 5"),
            "UPDATE t SET v = v + $1 WHERE id = $2 AND k = $3"
        );
        assert_eq!(
            normalize("SELECT \"col 1\" FROM t -- note 5\n WHERE x = .5 /* 9 */"),
            "SELECT \"col 1\" FROM t WHERE x = $1"
        );
        assert_eq!(normalize("  "), "");
        assert_eq!(normalize("SELECT 'C:\\', 5"), "SELECT $1, $2");
        assert_eq!(normalize("SELECT '$4294967295', $4294967295"), "SELECT $4294967295, $4294967295");
    }

    #[test]
    fn runs_group_by_shape_and_the_table_stays_bounded() {
        let table = StatementStatsTable::default();
        table.record("u", "d", "SELECT 1", Duration::from_millis(2), 1);
        table.record("u", "d", "SELECT 2", Duration::from_millis(4), 1);
        table.record("v", "d", "SELECT 3", Duration::from_millis(4), 1);
        let all = table.snapshot();
        let mine = all.iter().find(|s| s.user == "u").unwrap();
        assert_eq!((mine.calls, mine.rows, mine.query.as_str()), (2, 2, "SELECT $1"));
        assert!((mine.mean_ms() - 3.0).abs() < 1e-9);
        assert!((mine.stddev_ms() - 1.0).abs() < 1e-9);
        assert_eq!((mine.min_ms, mine.max_ms), (2.0, 4.0));
        for i in 0..MAX_ENTRIES + 10 {
            table.record("u", "d", &format!("SELECT c{i} FROM t"), Duration::from_millis(1), 0);
        }
        assert!(table.snapshot().len() <= MAX_ENTRIES);
        table.reset();
        assert!(table.snapshot().is_empty());
    }
}
