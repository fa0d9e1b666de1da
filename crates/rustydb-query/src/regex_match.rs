//! PostgreSQL's `~`, `~*`, `!~` and `!~*` and the patterns of the `regexp_*` functions, on the
//! `regex` crate.
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

/// How a pattern is matched (the `regexp_*` functions' flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// `i`, or the `~*` operators.
    pub case_insensitive: bool,
    /// `n`: `.` does not match a newline and `^`/`$` match at line ends. Without it, as in
    /// PostgreSQL, `.` matches anything and `^`/`$` only the ends of the string.
    pub newline_sensitive: bool,
    /// `x`: whitespace and `#` comments in the pattern are ignored.
    pub extended: bool,
    /// `p`: `.` does not match a newline (`^`/`$` still only at the ends).
    pub dot_stops_at_newline: bool,
    /// `w`: `^`/`$` match at line ends (`.` still matches a newline).
    pub anchors_at_newlines: bool,
    /// `q`: the pattern is a literal string.
    pub literal: bool,
}

thread_local! {
    static PATTERNS: RefCell<HashMap<(String, Options), regex::Regex>> = RefCell::new(HashMap::new());
}

/// Runs `f` on `pattern` compiled with `options` (compiled once per thread and kept); 2201B
/// if the pattern is not a valid regular expression.
pub fn with_regex<T>(pattern: &str, options: Options, f: impl FnOnce(&regex::Regex) -> T) -> Result<T> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (pattern.to_string(), options);
        if let Some(re) = cache.get(&key) {
            return Ok(f(re));
        }
        let escaped;
        let source = if options.literal {
            escaped = regex::escape(pattern);
            &escaped
        } else {
            pattern
        };
        let re = regex::RegexBuilder::new(source)
            .case_insensitive(options.case_insensitive)
            .dot_matches_new_line(!(options.newline_sensitive || options.dot_stops_at_newline))
            .multi_line(options.newline_sensitive || options.anchors_at_newlines)
            .ignore_whitespace(options.extended && !options.literal)
            .build()
            .map_err(|e| {
                DbError::sql(SqlState::InvalidRegularExpression, format!("invalid regular expression: {e}"))
            })?;
        let result = f(&re);
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(key, re);
        Ok(result)
    })
}

/// True if `pattern` matches somewhere in `text` (`ci`: ignoring case).
pub fn is_match(text: &str, pattern: &str, ci: bool) -> Result<bool> {
    with_regex(pattern, Options { case_insensitive: ci, ..Options::default() }, |re| re.is_match(text))
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
        // As in PostgreSQL, `.` matches a newline.
        assert!(is_match("a\nb", "a.b", false).unwrap());
    }
}
