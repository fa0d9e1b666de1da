//! Tab completion for the shell: SQL keywords and the database's table names (refreshed after
//! each CREATE, DROP or ALTER).

use parking_lot::Mutex;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use std::sync::Arc;

/// Keywords offered, in upper case (matched without regard to case, completed in the case
/// the user began with).
const KEYWORDS: &[&str] = &[
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECKPOINT",
    "COMMIT",
    "COPY",
    "CREATE",
    "DATABASE",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "REFERENCES",
    "RIGHT",
    "ROLE",
    "ROLLBACK",
    "SAVEPOINT",
    "SELECT",
    "SEQUENCE",
    "SET",
    "SHOW",
    "TABLE",
    "THEN",
    "TRUE",
    "TRUNCATE",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USER",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
];

/// The rustyline helper.
#[derive(Debug)]
pub struct SqlHelper {
    /// Table names (shared with the shell, which refreshes them).
    pub tables: Arc<Mutex<Vec<String>>>,
}

/// Candidates for `word`: keywords (in the word's case) and table names.
pub fn candidates(word: &str, tables: &[String]) -> Vec<String> {
    if word.is_empty() {
        return Vec::new();
    }
    let lower = word.chars().all(|c| !c.is_ascii_uppercase());
    let upper_word = word.to_ascii_uppercase();
    let mut out: Vec<String> = tables.iter().filter(|t| t.starts_with(word)).cloned().collect();
    out.extend(
        KEYWORDS
            .iter()
            .filter(|k| k.starts_with(&upper_word))
            .map(|k| if lower { k.to_ascii_lowercase() } else { k.to_string() }),
    );
    out.dedup();
    out
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &line[start..pos];
        let tables = self.tables.lock().clone();
        let pairs =
            candidates(word, &tables).into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect();
        Ok((start, pairs))
    }
}

impl Hinter for SqlHelper {
    type Hint = String;
}
impl Highlighter for SqlHelper {}
impl Validator for SqlHelper {}
impl Helper for SqlHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_follow_the_case_typed_and_tables_are_offered() {
        let tables = vec!["sales".to_string(), "selections".to_string()];
        assert_eq!(candidates("sel", &tables), ["selections", "select"]);
        assert_eq!(candidates("SEL", &tables), ["SELECT"]);
        assert_eq!(candidates("sa", &tables), ["sales", "savepoint"]);
        assert!(candidates("", &tables).is_empty());
    }
}
