//! PostgreSQL's `~`, `~*`, `!~` and `!~*`, on the `regex` crate.
//!
//! PostgreSQL's advanced regular expressions and the crate's syntax agree on what catalogs
//! and applications commonly write (anchors, classes, alternation, repetition); constructs
//! only one side has (back-references, lookaround) are refused with 2201B. Patterns are
//! compiled once per thread and kept (a statement matches one pattern against many rows).

use rustydb_foundation::{DbError, Result, SqlState};
use std::cell::RefCell;
use std::collections::HashMap;

/// Compiled patterns kept per thread; beyond this many the cache starts over.
const CACHED: usize = 64;

thread_local! {
    static PATTERNS: RefCell<HashMap<(String, bool), regex::Regex>> = RefCell::new(HashMap::new());
}

/// True if `pattern` matches somewhere in `text` (`ci`: ignoring case).
pub fn is_match(text: &str, pattern: &str, ci: bool) -> Result<bool> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (pattern.to_string(), ci);
        if let Some(re) = cache.get(&key) {
            return Ok(re.is_match(text));
        }
        let re = regex::RegexBuilder::new(pattern).case_insensitive(ci).build().map_err(|e| {
            DbError::sql(SqlState::InvalidRegularExpression, format!("invalid regular expression: {e}"))
        })?;
        let found = re.is_match(text);
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(key, re);
        Ok(found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_as_postgres_does() {
        assert!(is_match("pg_toast", "^pg_", false).unwrap());
        assert!(!is_match("public", "^pg_", false).unwrap());
        assert!(is_match("acc", "^(acc)$", false).unwrap());
        assert!(is_match("ABC", "b", true).unwrap());
        assert!(!is_match("ABC", "b", false).unwrap());
        assert_eq!(is_match("x", "(", false).unwrap_err().sqlstate(), SqlState::InvalidRegularExpression);
    }
}
