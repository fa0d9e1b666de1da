//! Settings a client asks for in its startup packet: parameters other than the user, the
//! database and the replication flag (`DateStyle`, `TimeZone`, `extra_float_digits`, ... as
//! drivers send them), and `-c name=value` switches in the `options` parameter (libpq's
//! `options` and `PGOPTIONS`), read as PostgreSQL's `pg_split_opts` reads them: words split
//! on whitespace, a backslash taking the next character literally.
//!
//! PostgreSQL applies the `options` switches first and the other parameters after them, so a
//! parameter wins over a switch naming the same setting; so does this.

use std::collections::HashMap;

/// Startup parameters that are not settings (application_name is, but the connection applies
/// the packet's own first, so that a switch in `options` wins over it).
const NOT_SETTINGS: [&str; 5] = ["user", "database", "options", "replication", "application_name"];

/// Settings a connection does not take from its startup packet: those the server fixes for
/// every connection and reports in ParameterStatus (the client encoding is always UTF8, whatever
/// spelling the driver sends, and times print in UTC), and the current transaction's, which
/// belong to a transaction, not to a session.
const FIXED: [&str; 4] = ["client_encoding", "timezone", "transaction_isolation", "transaction_read_only"];

/// The (name, value) settings the startup parameters ask for, in the order to apply them.
pub fn requested_settings(params: &HashMap<String, String>) -> Vec<(String, String)> {
    let applied = |name: &str| {
        let name = name.to_ascii_lowercase();
        !FIXED.contains(&name.as_str()) && !name.starts_with("_pq_.")
    };
    let mut out: Vec<(String, String)> = params
        .get("options")
        .map(|o| option_settings(o))
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| applied(k))
        .collect();
    let mut rest: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| applied(k) && !NOT_SETTINGS.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    rest.sort();
    out.extend(rest);
    out
}

/// The `-c name=value` (or `--name=value`) switches of an `options` string. A dash in a name
/// stands for an underscore, as PostgreSQL reads it; other switches are ignored.
fn option_settings(options: &str) -> Vec<(String, String)> {
    let words = split_words(options);
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let assignment = if word == "-c" {
            words.next()
        } else if let Some(rest) = word.strip_prefix("-c") {
            Some(rest.to_string())
        } else {
            word.strip_prefix("--").map(str::to_string)
        };
        if let Some((name, value)) = assignment.as_deref().and_then(|a| a.split_once('=')) {
            out.push((name.replace('-', "_"), value.to_string()));
        }
    }
    out
}

/// Words separated by whitespace; a backslash makes the next character part of the word.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '\\' {
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
            } else {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn switches_come_first_and_parameters_after_them() {
        let p = params(&[
            ("user", "alice"),
            ("database", "db"),
            ("application_name", "psql"),
            ("options", "-c work_mem=64MB  -cstatement-timeout=5s --search_path=a\\ b -x -c datestyle=SQL"),
            ("datestyle", "ISO, MDY"),
            ("extra_float_digits", "3"),
            ("client_encoding", "utf8"),
            ("TimeZone", "Europe/Berlin"),
            ("_pq_.something", "x"),
        ]);
        assert_eq!(
            requested_settings(&p),
            vec![
                ("work_mem".into(), "64MB".into()),
                ("statement_timeout".into(), "5s".into()),
                ("search_path".into(), "a b".into()),
                ("datestyle".into(), "SQL".into()),
                ("datestyle".into(), "ISO, MDY".into()),
                ("extra_float_digits".into(), "3".into()),
            ]
        );
    }

    #[test]
    fn fixed_settings_are_not_taken_from_switches_either() {
        let p =
            params(&[("options", "-c client_encoding=LATIN1 -c TimeZone=CET -c transaction_isolation=serializable")]);
        assert!(requested_settings(&p).is_empty());
    }

    #[test]
    fn odd_options_are_read_as_postgres_reads_them() {
        assert!(option_settings("").is_empty());
        assert!(option_settings("-c").is_empty(), "a switch without its value");
        assert!(option_settings("-c novalue").is_empty());
        assert_eq!(option_settings("-c a=b=c"), vec![("a".into(), "b=c".into())]);
        assert_eq!(option_settings("-c x=\\\\"), vec![("x".into(), "\\".into())]);
    }
}
