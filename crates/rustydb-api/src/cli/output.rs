//! Result printing in psql's layouts: aligned tables, expanded records (`\x`), and CSV and
//! JSON for scripts.

use serde_json::{Map, Value as Json};
use std::fmt::Write as _;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// psql's aligned table with a `(n rows)` footer.
    Table,
    /// One `-[ RECORD n ]-` block per row (psql's `\x`).
    Expanded,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
}

/// One result set: column names and text values (`None`: NULL).
#[derive(Debug, Clone, Default)]
pub struct ResultSet {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of text values.
    pub rows: Vec<Vec<Option<String>>>,
    /// Which columns are numeric (right-aligned); when empty, a column whose every value is
    /// a number is.
    pub numeric: Vec<bool>,
}

/// Formats `set` as `format` prints it.
pub fn render(set: &ResultSet, format: Format) -> String {
    match format {
        Format::Table => table(set),
        Format::Expanded => expanded(set),
        Format::Csv => csv(set),
        Format::Json => json(set),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// A column is right-aligned when every value in it is a number, as psql aligns numeric types.
fn numeric(set: &ResultSet, column: usize) -> bool {
    if let Some(n) = set.numeric.get(column) {
        return *n;
    }
    let mut any = false;
    for row in &set.rows {
        if let Some(v) = &row[column] {
            if v.parse::<f64>().is_err() {
                return false;
            }
            any = true;
        }
    }
    any
}

fn table(set: &ResultSet) -> String {
    let n = set.columns.len();
    let mut widths: Vec<usize> = set.columns.iter().map(|c| width(c)).collect();
    for row in &set.rows {
        for (i, v) in row.iter().enumerate() {
            widths[i] = widths[i].max(v.as_deref().map_or(0, width));
        }
    }
    let right: Vec<bool> = (0..n).map(|i| numeric(set, i)).collect();
    let mut out = String::new();
    // Header cells centred in their width, as psql centres them.
    let header: Vec<String> = set
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| {
            let pad = w - width(c);
            format!("{}{c}{}", " ".repeat(pad / 2), " ".repeat(pad - pad / 2))
        })
        .collect();
    let _ = writeln!(out, " {} ", header.join(" | "));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    let _ = writeln!(out, "{}", rule.join("+"));
    for row in &set.rows {
        let mut line = String::from(" ");
        for (i, v) in row.iter().enumerate() {
            let v = v.as_deref().unwrap_or("");
            let pad = " ".repeat(widths[i] - width(v));
            if i > 0 {
                line.push_str(" | ");
            }
            if right[i] {
                line.push_str(&pad);
                line.push_str(v);
            } else {
                line.push_str(v);
                // The last column is not padded out, as in psql.
                if i + 1 < n {
                    line.push_str(&pad);
                }
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let count = set.rows.len();
    let _ = writeln!(out, "({count} {})\n", if count == 1 { "row" } else { "rows" });
    out
}

fn expanded(set: &ResultSet) -> String {
    if set.rows.is_empty() {
        return "(0 rows)\n\n".into();
    }
    let name_width = set.columns.iter().map(|c| width(c)).max().unwrap_or(0);
    let value_width = set.rows.iter().flatten().map(|v| v.as_deref().map_or(0, width)).max().unwrap_or(0);
    let mut out = String::new();
    for (r, row) in set.rows.iter().enumerate() {
        // psql's record line: the title, dashes to the names' width, then `-+-` and dashes to
        // the values' width, each part only where the title has not already passed it.
        let title = format!("-[ RECORD {} ]", r + 1);
        let mut line = title.clone();
        let mut reclen = width(&title) as i64;
        while (width(&line) as i64) < name_width as i64 {
            line.push('-');
        }
        reclen -= name_width as i64;
        for part in ['-', '+', '-'] {
            if reclen <= 0 {
                line.push(part);
            }
            reclen -= 1;
        }
        for _ in reclen.max(0)..value_width as i64 {
            line.push('-');
        }
        let _ = writeln!(out, "{line}");
        for (c, v) in set.columns.iter().zip(row) {
            let _ = writeln!(out, "{c:<name_width$} | {}", v.as_deref().unwrap_or(""));
        }
    }
    out.push('\n');
    out
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn csv(set: &ResultSet) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", set.columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
    for row in &set.rows {
        let _ = writeln!(
            out,
            "{}",
            row.iter().map(|v| v.as_deref().map_or(String::new(), csv_field)).collect::<Vec<_>>().join(",")
        );
    }
    out
}

fn json(set: &ResultSet) -> String {
    let rows: Vec<Json> = set
        .rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            for (c, v) in set.columns.iter().zip(row) {
                object.insert(c.clone(), v.as_ref().map_or(Json::Null, |v| Json::String(v.clone())));
            }
            Json::Object(object)
        })
        .collect();
    Json::Array(rows).to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ResultSet {
        ResultSet {
            columns: vec!["id".into(), "name".into()],
            rows: vec![vec![Some("1".into()), Some("ann".into())], vec![Some("10".into()), None]],
            numeric: vec![],
        }
    }

    #[test]
    fn tables_look_like_psqls() {
        assert_eq!(render(&set(), Format::Table), " id | name \n----+------\n  1 | ann\n 10 | \n(2 rows)\n\n");
        let one = ResultSet { columns: vec!["?column?".into()], rows: vec![vec![Some("1".into())]], numeric: vec![] };
        assert_eq!(render(&one, Format::Table), " ?column? \n----------\n        1\n(1 row)\n\n");
        let none = ResultSet { columns: vec!["?column?".into()], rows: vec![], numeric: vec![] };
        assert_eq!(render(&none, Format::Table), " ?column? \n----------\n(0 rows)\n\n");
    }

    #[test]
    fn expanded_csv_and_json() {
        assert_eq!(
            render(&set(), Format::Expanded),
            "-[ RECORD 1 ]\nid   | 1\nname | ann\n-[ RECORD 2 ]\nid   | 10\nname | \n\n"
        );
        let wide = ResultSet {
            columns: vec!["id".into(), "name_of_column".into()],
            rows: vec![vec![Some("1".into()), Some("a long value here".into())]],
            numeric: vec![true, false],
        };
        assert_eq!(
            render(&wide, Format::Expanded),
            "-[ RECORD 1 ]--+------------------\nid             | 1\nname_of_column | a long value here\n\n"
        );
        assert_eq!(render(&ResultSet::default(), Format::Expanded), "(0 rows)\n\n");
        let tricky = ResultSet {
            columns: vec!["a".into()],
            rows: vec![vec![Some("x,\"y\"".into())], vec![None]],
            numeric: vec![],
        };
        assert_eq!(render(&tricky, Format::Csv), "a\n\"x,\"\"y\"\"\"\n\n");
        assert_eq!(render(&set(), Format::Json), "[{\"id\":\"1\",\"name\":\"ann\"},{\"id\":\"10\",\"name\":null}]\n");
    }
}
