//! The interactive shell and script runner: statements and psql-style meta-commands read from
//! a line source (the terminal through rustyline, a file for `\i` and `-f`, or stdin), run
//! over a wire connection, and printed in the chosen format.

use super::client::{Answer, Client, Outcome};
use super::output::{Format, ResultSet, render};
use super::split::Splitter;
use std::io::Write;
use std::time::Instant;

/// Where lines come from.
pub trait LineSource {
    /// The next line (without its newline), or `None` at the end. `prompt` is shown on a
    /// terminal.
    fn next_line(&mut self, prompt: &str) -> Option<String>;
}

/// Lines of a string (a file, stdin, `-c`).
#[derive(Debug)]
pub struct TextLines {
    lines: std::vec::IntoIter<String>,
}

impl TextLines {
    /// The lines of `text`.
    pub fn new(text: &str) -> Self {
        TextLines { lines: text.lines().map(str::to_string).collect::<Vec<_>>().into_iter() }
    }
}

impl LineSource for TextLines {
    fn next_line(&mut self, _prompt: &str) -> Option<String> {
        self.lines.next()
    }
}

/// What a meta-command asks of the loop.
enum Flow {
    Continue,
    Quit,
}

/// The shell's state.
pub struct Shell<'o> {
    client: Client,
    /// The output format; `\x` toggles expanded.
    pub format: Format,
    /// `\timing`.
    pub timing: bool,
    /// Stop at the first error (psql's `ON_ERROR_STOP`).
    pub on_error_stop: bool,
    /// Errors so far.
    pub errors: usize,
    database: String,
    user: String,
    out: &'o mut dyn Write,
    /// Table names for tab completion, refreshed after DDL.
    pub tables: std::sync::Arc<parking_lot::Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Shell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell").field("format", &self.format).field("database", &self.database).finish()
    }
}

/// True for `COPY ... FROM STDIN` (whose data follows in the input, up to `\.`).
fn copies_from_stdin(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    words.first() == Some(&"COPY") && words.windows(2).any(|w| w == ["FROM", "STDIN"] || w == ["FROM", "STDIN;"])
}

impl<'o> Shell<'o> {
    /// A shell over `client`, printing to `out`.
    pub fn new(client: Client, user: &str, database: &str, format: Format, out: &'o mut dyn Write) -> Self {
        Shell {
            client,
            format,
            timing: false,
            on_error_stop: false,
            errors: 0,
            database: database.into(),
            user: user.into(),
            out,
            tables: Default::default(),
        }
    }

    /// The server's version string.
    pub fn server_version(&self) -> &str {
        &self.client.server_version
    }

    /// Reads and runs everything `input` gives. Returns false if it stopped at an error with
    /// `on_error_stop`.
    pub fn run(&mut self, input: &mut dyn LineSource) -> bool {
        let mut splitter = Splitter::default();
        loop {
            let prompt =
                if splitter.in_statement() { format!("{}-# ", self.database) } else { format!("{}=# ", self.database) };
            let Some(line) = input.next_line(&prompt) else { break };
            if !splitter.in_statement() && line.trim_start().starts_with('\\') {
                match self.meta(line.trim(), &mut splitter) {
                    Ok(Flow::Continue) => continue,
                    Ok(Flow::Quit) => return true,
                    Err(message) => {
                        let _ = writeln!(std::io::stderr(), "{message}");
                        self.errors += 1;
                        if self.on_error_stop {
                            return false;
                        }
                        continue;
                    }
                }
            }
            for statement in splitter.push_line(&line) {
                if !self.statement(&statement, input) && self.on_error_stop {
                    return false;
                }
            }
        }
        if let Some(rest) = splitter.finish()
            && !self.statement(&rest, input)
            && self.on_error_stop
        {
            return false;
        }
        true
    }

    /// Runs one statement; false on an error.
    pub fn statement(&mut self, sql: &str, input: &mut dyn LineSource) -> bool {
        let started = Instant::now();
        let mut copy_lines = || {
            if !copies_from_stdin(sql) {
                return None;
            }
            let mut data = Vec::new();
            while let Some(line) = input.next_line(">> ") {
                if line == "\\." {
                    break;
                }
                data.extend_from_slice(line.as_bytes());
                data.push(b'\n');
            }
            Some(data)
        };
        let answer = match self.client.simple_query(sql, &mut copy_lines) {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "connection to server lost: {e}");
                self.errors += 1;
                return false;
            }
        };
        let ok = self.print(&answer);
        if self.timing {
            let _ = writeln!(self.out, "Time: {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
        }
        let upper = sql.trim_start().to_ascii_uppercase();
        if ["CREATE", "DROP", "ALTER"].iter().any(|k| upper.starts_with(k)) {
            self.refresh_tables();
        }
        ok
    }

    fn print(&mut self, answer: &Answer) -> bool {
        for notice in &answer.notices {
            let _ = writeln!(std::io::stderr(), "{}", notice.render());
        }
        for outcome in &answer.outcomes {
            match outcome {
                Outcome::Rows { columns, rows, numeric, .. } => {
                    let set = ResultSet { columns: columns.clone(), rows: rows.clone(), numeric: numeric.clone() };
                    let _ = self.out.write_all(render(&set, self.format).as_bytes());
                }
                Outcome::Command(tag) => {
                    if matches!(self.format, Format::Table | Format::Expanded) {
                        let _ = writeln!(self.out, "{tag}");
                    }
                }
                Outcome::CopyOut { data, .. } => {
                    let _ = self.out.write_all(data);
                }
                Outcome::Empty => {}
            }
        }
        let _ = self.out.flush();
        match &answer.error {
            Some(e) => {
                let _ = writeln!(std::io::stderr(), "{}", e.render());
                self.errors += 1;
                false
            }
            None => true,
        }
    }

    /// Reloads the table names tab completion offers.
    pub fn refresh_tables(&mut self) {
        let names: Vec<String> = self
            .client
            .rows("SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        *self.tables.lock() = names;
    }

    fn meta(&mut self, line: &str, splitter: &mut Splitter) -> Result<Flow, String> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        match command {
            "\\q" | "\\quit" => return Ok(Flow::Quit),
            "\\x" => {
                let on = match args.first().copied() {
                    Some("on") => true,
                    Some("off") => false,
                    _ => self.format != Format::Expanded,
                };
                self.format = if on { Format::Expanded } else { Format::Table };
                let _ = writeln!(self.out, "Expanded display is {}.", if on { "on" } else { "off" });
            }
            "\\timing" => {
                self.timing = match args.first().copied() {
                    Some("on") => true,
                    Some("off") => false,
                    _ => !self.timing,
                };
                let _ = writeln!(self.out, "Timing is {}.", if self.timing { "on" } else { "off" });
            }
            "\\pset" => match args.as_slice() {
                ["format", f] => {
                    self.format = match *f {
                        "aligned" | "table" => Format::Table,
                        "csv" => Format::Csv,
                        "json" => Format::Json,
                        "expanded" => Format::Expanded,
                        other => {
                            return Err(format!(
                                "\\pset: allowed formats are aligned, csv, json, expanded (not {other})"
                            ));
                        }
                    };
                    let _ = writeln!(self.out, "Output format is {}.", args[1]);
                }
                _ => return Err("\\pset: only \"format\" is supported".into()),
            },
            "\\i" | "\\include" => {
                let path = args.first().ok_or("\\i: missing required argument")?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                if !self.run(&mut TextLines::new(&text)) {
                    return Err(format!("{path}: stopped at an error"));
                }
            }
            "\\d" | "\\dt" if args.is_empty() => {
                let views = if command == "\\d" { "" } else { " AND table_type = 'BASE TABLE'" };
                let listing = self.client.rows(&format!(
                    "SELECT table_schema, table_name, CASE table_type WHEN 'BASE TABLE' THEN 'table' ELSE 'view' END \
                     FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema'){views} \
                     ORDER BY 1, 2"
                ))?;
                let set = ResultSet {
                    columns: vec!["Schema".into(), "Name".into(), "Type".into()],
                    rows: listing,
                    numeric: vec![false; 3],
                };
                let _ = writeln!(self.out, "{:^width$}", "List of relations", width = 23);
                let _ = self.out.write_all(render(&set, Format::Table).as_bytes());
            }
            "\\d" => {
                let table = args[0].replace('\'', "''");
                let columns = self.client.rows(&format!(
                    "SELECT column_name, data_type, CASE is_nullable WHEN 'NO' THEN 'not null' ELSE '' END, \
                     coalesce(column_default, '') FROM information_schema.columns \
                     WHERE table_name = '{table}' ORDER BY ordinal_position"
                ))?;
                if columns.is_empty() {
                    return Err(format!("Did not find any relation named \"{}\".", args[0]));
                }
                let set = ResultSet {
                    columns: vec!["Column".into(), "Type".into(), "Nullable".into(), "Default".into()],
                    rows: columns,
                    numeric: vec![false; 4],
                };
                let _ = writeln!(self.out, "Table \"public.{}\"", args[0]);
                let _ = self.out.write_all(render(&set, Format::Table).as_bytes());
            }
            "\\conninfo" => {
                let _ = writeln!(
                    self.out,
                    "You are connected to database \"{}\" as user \"{}\".",
                    self.database, self.user
                );
            }
            "\\r" => {
                splitter.reset();
                let _ = writeln!(self.out, "Query buffer reset (cleared).");
            }
            "\\?" => {
                let _ = writeln!(
                    self.out,
                    "  \\q                quit\n  \\x [on|off]       toggle expanded output\n  \\timing [on|off]  toggle timing of statements\n  \\pset format F    aligned | csv | json | expanded\n  \\i FILE           run commands from FILE\n  \\d [NAME]         list tables, or describe one\n  \\dt               list tables\n  \\conninfo         show the connection\n  \\r                reset the query buffer"
                );
            }
            other => return Err(format!("invalid command {other}\nTry \\? for help.")),
        }
        Ok(Flow::Continue)
    }

    /// Closes the connection.
    pub fn close(self) {
        self.client.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_from_stdin_is_recognised() {
        assert!(copies_from_stdin("COPY t FROM STDIN;"));
        assert!(copies_from_stdin("copy t (a, b) from stdin with (format csv);"));
        assert!(!copies_from_stdin("COPY t TO STDOUT;"));
        assert!(!copies_from_stdin("SELECT 'copy from stdin';"));
    }
}
