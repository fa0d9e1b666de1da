//! A sqllogictest runner that drives the server over the wire, written for SQLite's corpus
//! (`../shared/conformance/sqlite`).
//!
//! The `sqllogictest` crate parses the files; running them is ours, because the corpus needs what
//! the crate's runner does not do:
//! - values are printed the way SQLite's own runner printed them, by the query's type letter
//!   (`I` integer with booleans as 0/1, `R` as `%.3f`, `T` with `(empty)` and `@` for bytes
//!   outside printable ASCII, `NULL`), one value per line;
//! - result sets above the hash threshold (8 unless a file says otherwise) are compared as the MD5
//!   of their values, each followed by `\n`, after sorting;
//! - guard lines may end in `# comment`, and `halt` may itself be guarded (`onlyif mssql` then
//!   `halt`), which the crate's parser would instead attach to the next record: both are settled
//!   on the text before parsing, so a file can never "pass" by running nothing;
//! - every record is counted, and a failing record does not stop the file.
//!
//! A runner option rewrites every `CREATE INDEX` to another access method, so the `index/` files
//! (answers that must not depend on the index) check each kind of index in turn.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use md5::{Digest, Md5};
use sqllogictest::{Condition, DefaultColumnType, QueryExpect, Record, SortMode, StatementExpect};
use tokio_postgres::{Client, SimpleQueryMessage};

/// How to run a file.
#[derive(Debug, Clone)]
pub struct Options {
    /// Labels this engine answers to in `skipif` / `onlyif` guards.
    pub labels: Vec<String>,
    /// Rewrite `CREATE INDEX` to `USING <method>` where that method can build the index.
    pub index_method: Option<String>,
    /// How many failures to describe in [`FileResult::failures`].
    pub max_reported: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { labels: vec!["postgresql".into(), "postgres".into()], index_method: None, max_reported: 10 }
    }
}

/// The outcome of one file.
#[derive(Debug, Default, Clone)]
pub struct FileResult {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Failures by kind: the SQLSTATE of an error, or [`WRONG_RESULT`] / [`UNEXPECTED_SUCCESS`].
    pub failure_kinds: BTreeMap<String, usize>,
    /// The first few failures: location, SQL, and what went wrong.
    pub failures: Vec<String>,
}

/// The failure kind of a query that answered, but not what the file expects.
pub const WRONG_RESULT: &str = "wrong result";
/// The failure kind of a record that should have failed and did not.
pub const UNEXPECTED_SUCCESS: &str = "unexpected success";
/// The failure kind of a statement that failed with another error than the one expected.
pub const WRONG_ERROR: &str = "wrong error";

/// What went wrong with one record: its kind (see [`FileResult::failure_kinds`]) and a description.
type Problem = Option<(String, String)>;

impl std::fmt::Display for FileResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

/// Runs the sqllogictest file at `path` on `client` (which should see an empty database).
pub async fn run_file(client: &Client, path: &Path, options: &Options) -> Result<FileResult, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = settle_guards(&text, &options.labels);
    let records = sqllogictest::parse::<DefaultColumnType>(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut result = FileResult::default();
    let mut threshold = 8usize;
    for record in records {
        match record {
            Record::HashThreshold { threshold: t, .. } => threshold = t as usize,
            Record::Halt { .. } => break,
            Record::Statement { loc, conditions, sql, expected, .. } => {
                if skip(&conditions, &options.labels) {
                    result.skipped += 1;
                    continue;
                }
                let sql = rewrite_index(&sql, options.index_method.as_deref());
                let outcome = client.simple_query(&sql).await;
                let problem: Problem = match (&expected, outcome) {
                    (StatementExpect::Ok, Ok(_)) => None,
                    (StatementExpect::Error(want), Err(e)) => wrong_error(want, &e),
                    (StatementExpect::Count(n), Ok(messages)) => {
                        let count = messages.iter().find_map(|m| match m {
                            SimpleQueryMessage::CommandComplete(c) => Some(*c),
                            _ => None,
                        });
                        (count != Some(*n)).then(|| (WRONG_RESULT.into(), format!("expected count {n}, got {count:?}")))
                    }
                    (_, Ok(_)) => Some((UNEXPECTED_SUCCESS.into(), "expected an error, statement succeeded".into())),
                    (_, Err(e)) => Some(describe(&e)),
                };
                result.record(problem, &loc.to_string(), &sql, options.max_reported);
            }
            Record::Query { loc, conditions, sql, expected, .. } => {
                if skip(&conditions, &options.labels) {
                    result.skipped += 1;
                    continue;
                }
                let outcome = client.simple_query(&sql).await;
                let problem: Problem = match (expected, outcome) {
                    (QueryExpect::Error(want), Err(e)) => wrong_error(&want, &e),
                    (QueryExpect::Error(_), Ok(_)) => {
                        Some((UNEXPECTED_SUCCESS.into(), "expected an error, query succeeded".into()))
                    }
                    (QueryExpect::Results { .. }, Err(e)) => Some(describe(&e)),
                    (QueryExpect::Results { types, sort_mode, results, .. }, Ok(messages)) => {
                        let actual = render(&messages, &types, sort_mode, threshold);
                        let expected: Vec<&str> = results.iter().map(|l| l.trim()).collect();
                        (actual != expected).then(|| {
                            (WRONG_RESULT.into(), format!("expected {}, got {}", preview(&expected), preview(&actual)))
                        })
                    }
                };
                result.record(problem, &loc.to_string(), &sql, options.max_reported);
            }
            _ => {}
        }
    }
    Ok(result)
}

/// The problem with an error that is not the one expected (`error (SQLSTATE)` or a regex on
/// the message; the corpus only ever says `error`, which any error matches).
fn wrong_error(want: &sqllogictest::ExpectedError, e: &tokio_postgres::Error) -> Problem {
    let (code, message) = describe(e);
    (!want.is_match(&message, Some(&code)))
        .then(|| (WRONG_ERROR.into(), format!("expected error {want}, got {code}: {message}")))
}

impl FileResult {
    fn record(&mut self, problem: Problem, loc: &str, sql: &str, max_reported: usize) {
        match problem {
            None => self.passed += 1,
            Some((kind, problem)) => {
                self.failed += 1;
                *self.failure_kinds.entry(kind).or_default() += 1;
                if self.failures.len() < max_reported {
                    let sql: String = sql.chars().take(300).collect();
                    self.failures.push(format!("{loc}: {problem}\n    {sql}"));
                }
            }
        }
    }
}

fn describe(e: &tokio_postgres::Error) -> (String, String) {
    match e.as_db_error() {
        Some(db) => (db.code().code().to_string(), format!("error {}: {}", db.code().code(), db.message())),
        None => ("no SQLSTATE".into(), format!("error: {e}")),
    }
}

fn preview<S: AsRef<str>>(values: &[S]) -> String {
    let shown: Vec<&str> = values.iter().take(12).map(AsRef::as_ref).collect();
    let more = if values.len() > 12 { format!(" … ({} values)", values.len()) } else { String::new() };
    format!("[{}]{more}", shown.join(", "))
}

/// Whether `conditions` exclude a record for an engine with `labels`.
fn skip(conditions: &[Condition], labels: &[String]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::OnlyIf { label } => !labels.contains(label),
        Condition::SkipIf { label } => labels.contains(label),
    })
}

/// Strips `# comments` from guard lines and settles guarded `halt`s: a halt that applies to us
/// ends the text there; one that does not is removed together with its guards.
fn settle_guards(text: &str, labels: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut guards: Vec<Condition> = Vec::new();
    let mut guard_lines = 0usize;
    for line in text.lines() {
        let code = line.split(" #").next().unwrap_or(line).trim_end();
        let tokens: Vec<&str> = code.split_whitespace().collect();
        match tokens.as_slice() {
            ["skipif", label] | ["onlyif", label] => {
                let label = (*label).to_string();
                guards.push(if tokens[0] == "skipif" {
                    Condition::SkipIf { label }
                } else {
                    Condition::OnlyIf { label }
                });
                guard_lines += 1;
                out.push(code.to_string());
            }
            ["halt"] => {
                if !skip(&guards, labels) {
                    out.truncate(out.len() - guard_lines);
                    break;
                }
                out.truncate(out.len() - guard_lines);
                guards.clear();
                guard_lines = 0;
            }
            _ => {
                guards.clear();
                guard_lines = 0;
                out.push(line.to_string());
            }
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// `CREATE [UNIQUE] INDEX ... ON t (cols)` → `... ON t USING method (cols)`, where `method` can
/// build that index (a hash index takes one column, not unique, without ASC/DESC).
fn rewrite_index(sql: &str, method: Option<&str>) -> String {
    let Some(method) = method else { return sql.to_string() };
    let upper = sql.to_ascii_uppercase();
    let is_create_index =
        upper.trim_start().starts_with("CREATE INDEX") || upper.trim_start().starts_with("CREATE UNIQUE INDEX");
    let Some(open) = sql.find('(') else { return sql.to_string() };
    if !is_create_index || upper.contains(" USING ") {
        return sql.to_string();
    }
    if method.eq_ignore_ascii_case("hash") {
        let columns = &upper[open..];
        let unique = upper.trim_start().starts_with("CREATE UNIQUE");
        if unique || columns.contains(',') || columns.contains(" ASC") || columns.contains(" DESC") {
            return sql.to_string();
        }
    }
    format!("{} USING {method} {}", sql[..open].trim_end(), &sql[open..])
}

/// The values of a result as the corpus prints them: formatted by type letter, sorted by the
/// sort mode, and hashed above `threshold` values.
fn render(
    messages: &[SimpleQueryMessage],
    types: &[DefaultColumnType],
    sort_mode: Option<SortMode>,
    threshold: usize,
) -> Vec<String> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for message in messages {
        if let SimpleQueryMessage::Row(row) = message {
            let values = (0..row.len())
                .map(|i| format_value(row.get(i), types.get(i).unwrap_or(&DefaultColumnType::Any)))
                .collect();
            rows.push(values);
        }
    }
    let mut values: Vec<String> = match sort_mode {
        Some(SortMode::RowSort) => {
            rows.sort();
            rows.into_iter().flatten().collect()
        }
        Some(SortMode::ValueSort) => {
            let mut values: Vec<String> = rows.into_iter().flatten().collect();
            values.sort();
            values
        }
        _ => rows.into_iter().flatten().collect(),
    };
    if threshold > 0 && values.len() > threshold {
        let mut md5 = Md5::new();
        for value in &values {
            md5.update(value.as_bytes());
            md5.update(b"\n");
        }
        let mut hex = String::with_capacity(32);
        for byte in md5.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        values = vec![format!("{} values hashing to {hex}", values.len())];
    }
    values
}

/// One value printed as SQLite's sqllogictest runner printed it for type letter `kind`.
fn format_value(value: Option<&str>, kind: &DefaultColumnType) -> String {
    let Some(value) = value else { return "NULL".into() };
    match kind {
        DefaultColumnType::Integer => match value {
            "t" | "true" => "1".into(),
            "f" | "false" => "0".into(),
            _ => value
                .parse::<i64>()
                .ok()
                .or_else(|| value.parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or_else(|| leading_integer(value))
                .to_string(),
        },
        DefaultColumnType::FloatingPoint => {
            format!("{:.3}", value.parse::<f64>().unwrap_or_else(|_| leading_integer(value) as f64))
        }
        DefaultColumnType::Text | DefaultColumnType::Any => {
            if value.is_empty() {
                return "(empty)".into();
            }
            value.bytes().map(|b| if (b' '..=b'~').contains(&b) { b as char } else { '@' }).collect()
        }
    }
}

/// SQLite's text-to-integer conversion: the longest leading integer, else 0.
fn leading_integer(text: &str) -> i64 {
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    text[..end].parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_halt_applies_only_to_its_engine() {
        let labels = vec!["postgresql".to_string()];
        let text = "statement ok\nA\n\nonlyif mssql # comment\nhalt\n\nstatement ok\nB\n";
        let settled = settle_guards(text, &labels);
        assert!(settled.contains("\nB\n") && !settled.contains("halt"), "{settled}");
        let text = "statement ok\nA\n\nskipif mssql\nhalt\n\nstatement ok\nB\n";
        let settled = settle_guards(text, &labels);
        assert!(settled.contains("A") && !settled.contains("B"), "{settled}");
    }

    #[test]
    fn values_print_as_sqlite_printed_them() {
        assert_eq!(format_value(Some("t"), &DefaultColumnType::Integer), "1");
        assert_eq!(format_value(Some("-7.9"), &DefaultColumnType::Integer), "-7");
        assert_eq!(format_value(Some("2"), &DefaultColumnType::FloatingPoint), "2.000");
        assert_eq!(format_value(Some(""), &DefaultColumnType::Text), "(empty)");
        assert_eq!(format_value(Some("é"), &DefaultColumnType::Text), "@@");
        assert_eq!(format_value(None, &DefaultColumnType::Text), "NULL");
    }

    #[test]
    fn index_rewrite_respects_what_a_method_can_build() {
        let sql = "CREATE INDEX idx_tab1_0 on tab1 (col0)";
        assert_eq!(rewrite_index(sql, Some("hash")), "CREATE INDEX idx_tab1_0 on tab1 USING hash (col0)");
        let multi = "CREATE INDEX i ON tab2 (col1,col0)";
        assert_eq!(rewrite_index(multi, Some("hash")), multi);
        assert_eq!(rewrite_index(multi, Some("lsm")), "CREATE INDEX i ON tab2 USING lsm (col1,col0)");
        assert_eq!(rewrite_index("INSERT INTO t VALUES (1)", Some("lsm")), "INSERT INTO t VALUES (1)");
    }
}
