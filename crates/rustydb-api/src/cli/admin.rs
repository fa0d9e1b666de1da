//! The admin subcommands: `init` a data directory, `check` a stopped one's pages offline, and
//! `dump` a database as SQL that `rustydb -f` (or psql) replays.

use super::client::{Client, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use rustydb_foundation::{DbError, Result};
use std::io::Write;
use std::path::Path;

fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// `rustydb init DIR`: creates and bootstraps a data directory (superuser and database
/// `rustydb`), then closes it cleanly.
pub fn init(dir: &Path, out: &mut dyn Write) -> Result<()> {
    if dir.join("rustydb.control").exists() {
        return Err(DbError::sql(
            rustydb_foundation::SqlState::DuplicateObject,
            format!("{} is already a RustyDB data directory", dir.display()),
        ));
    }
    let db = crate::Database::open(dir)?;
    db.close()?;
    let _ = writeln!(
        out,
        "RustyDB data directory created in {}\nsuperuser \"rustydb\", database \"rustydb\"\nstart it with: rustydb-server --data-dir {}",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// `rustydb check DIR`: verifies every page; returns how many are damaged.
pub fn check(dir: &Path, out: &mut dyn Write) -> Result<usize> {
    let mut progress: Option<ProgressBar> = None;
    let report = rustydb_storage::check::check_directory(dir, |done, total| {
        progress.get_or_insert_with(|| bar(total, "checking pages")).set_position(done);
    })?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    for damaged in &report.damaged {
        let _ = writeln!(out, "DAMAGED {} page {}: {}", damaged.path.display(), damaged.page, damaged.problem);
    }
    let _ =
        writeln!(out, "{} data files, {} pages checked, {} damaged", report.files, report.pages, report.damaged.len());
    Ok(report.damaged.len())
}

fn rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    client.rows(sql).map_err(|e| DbError::Internal(format!("{sql}: {e}")))
}

/// An identifier as SQL text, quoted only when it must be (as pg_dump writes them).
pub fn ident(name: &str) -> String {
    rustydb_query::sql_names::quote_identifier(name)
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

struct Column {
    name: String,
    ty: String,
    not_null: bool,
    default: Option<String>,
}

/// The column type as written in DDL, from information_schema's spelling.
fn ddl_type(data_type: &str, length: Option<&str>) -> String {
    match (data_type, length) {
        ("character varying", Some(n)) => format!("character varying({n})"),
        ("character", Some(n)) => format!("character({n})"),
        (t, _) => t.to_string(),
    }
}

/// `rustydb dump`: writes `database`'s schema and data as SQL to `out`.
pub fn dump(client: &mut Client, database: &str, out: &mut dyn Write) -> Result<()> {
    let io = |e| DbError::io("writing the dump", e);
    let tables: Vec<String> = rows(
        client,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )?
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect();
    writeln!(out, "--\n-- RustyDB database dump of \"{database}\"\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n").map_err(io)?;
    let progress = bar(tables.len() as u64, "dumping tables");
    // Primary keys and indexes: (table, index name, unique, primary, method, column numbers).
    let indexes = rows(
        client,
        "SELECT t.relname, i_c.relname, i.indisunique, i.indisprimary, a.amname, i.indkey \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class i_c ON i_c.oid = i.indexrelid \
         JOIN pg_am a ON a.oid = i_c.relam ORDER BY 1, 2",
    )
    .unwrap_or_default();
    let mut sequences_after: Vec<String> = Vec::new();
    for table in &tables {
        let columns: Vec<Column> = rows(
            client,
            &format!(
                "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default \
                 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = {} ORDER BY ordinal_position",
                literal(table)
            ),
        )?
        .into_iter()
        .map(|r| Column {
            name: r[0].clone().unwrap_or_default(),
            ty: ddl_type(r[1].as_deref().unwrap_or("text"), r[2].as_deref()),
            not_null: r[3].as_deref() == Some("NO"),
            default: r[4].clone(),
        })
        .collect();
        let mut lines = Vec::new();
        for c in &columns {
            let mut line = format!("    {} ", ident(&c.name));
            // A serial column (its default is its own sequence's nextval) is written as one, so
            // the sequence comes back with it.
            let own_sequence = format!("nextval('{table}_{}_seq'", c.name);
            match (&c.default, c.ty.as_str()) {
                (Some(d), "integer" | "bigint" | "smallint") if d.starts_with(&own_sequence) => {
                    line.push_str(match c.ty.as_str() {
                        "bigint" => "bigserial",
                        "smallint" => "smallserial",
                        _ => "serial",
                    });
                    sequences_after.push(format!(
                        "SELECT setval({}, (SELECT coalesce(max({}), 0) + 1 FROM {}), false);",
                        literal(&format!("{table}_{}_seq", c.name)),
                        ident(&c.name),
                        ident(table)
                    ));
                }
                (default, _) => {
                    line.push_str(&c.ty);
                    if let Some(d) = default {
                        line.push_str(&format!(" DEFAULT {d}"));
                    }
                    if c.not_null {
                        line.push_str(" NOT NULL");
                    }
                }
            }
            lines.push(line);
        }
        let column_name =
            |n: &str| n.parse::<usize>().ok().and_then(|i| columns.get(i.wrapping_sub(1))).map(|c| ident(&c.name));
        for index in indexes.iter().filter(|i| i[0].as_deref() == Some(table.as_str())) {
            let cols: Vec<String> =
                index[5].as_deref().unwrap_or("").split_whitespace().filter_map(column_name).collect();
            if index[3].as_deref() == Some("t") {
                lines.push(format!("    PRIMARY KEY ({})", cols.join(", ")));
            }
        }
        writeln!(out, "CREATE TABLE {} (\n{}\n);\n", ident(table), lines.join(",\n")).map_err(io)?;
        for index in indexes.iter().filter(|i| i[0].as_deref() == Some(table.as_str()) && i[3].as_deref() != Some("t"))
        {
            let cols: Vec<String> =
                index[5].as_deref().unwrap_or("").split_whitespace().filter_map(column_name).collect();
            let unique = if index[2].as_deref() == Some("t") { "UNIQUE " } else { "" };
            let method = index[4].as_deref().unwrap_or("btree");
            writeln!(
                out,
                "CREATE {unique}INDEX {} ON {} USING {method} ({});\n",
                ident(index[1].as_deref().unwrap_or("")),
                ident(table),
                cols.join(", ")
            )
            .map_err(io)?;
        }
        let names: Vec<String> = columns.iter().map(|c| ident(&c.name)).collect();
        let copy = format!("COPY {} ({}) TO STDOUT", ident(table), names.join(", "));
        let answer = client.simple_query(&copy, &mut || None).map_err(|e| DbError::io("copying a table out", e))?;
        if let Some(e) = answer.error {
            return Err(DbError::Internal(format!("{copy}: {}", e.render())));
        }
        writeln!(out, "COPY {} ({}) FROM stdin;", ident(table), names.join(", ")).map_err(io)?;
        for outcome in answer.outcomes {
            if let Outcome::CopyOut { data, .. } = outcome {
                out.write_all(&data).map_err(io)?;
            }
        }
        writeln!(out, "\\.\n").map_err(io)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    for statement in sequences_after {
        writeln!(out, "{statement}").map_err(io)?;
    }
    let views =
        rows(client, "SELECT table_name, view_definition FROM information_schema.views ORDER BY 1").unwrap_or_default();
    for view in views {
        let (Some(name), Some(definition)) = (&view[0], &view[1]) else { continue };
        writeln!(out, "\nCREATE VIEW {} AS {};", ident(name), definition.trim().trim_end_matches(';')).map_err(io)?;
    }
    writeln!(out, "\n-- dump complete").map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(ident("orders"), "orders");
        assert_eq!(ident("Orders"), "\"Orders\"");
        assert_eq!(ident("a b\""), "\"a b\"\"\"");
        assert_eq!(ident("1st"), "\"1st\"");
        assert_eq!(ident("order"), "\"order\"");
        // Type and function-like keywords too, as pg_dump's fmtId quotes them.
        assert_eq!(ident("int"), "\"int\"");
        assert_eq!(ident("name"), "name");
        assert_eq!(ddl_type("character varying", Some("20")), "character varying(20)");
        assert_eq!(ddl_type("integer", None), "integer");
    }
}
