//! `rustydb`: the command-line client.
//!
//! Without a subcommand it is an SQL shell over the wire protocol, with psql's connection flags
//! (`-h`, `-p`, `-U`, `-d`, and `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`): on a
//! terminal, line editing with history (`~/.rustydb_history`) and tab completion of keywords
//! and table names; otherwise (a pipe, `-f FILE`, `-c SQL`) it runs what it is given. Output is
//! psql's aligned table, expanded records (`-x`, `\x`), CSV or JSON.
//!
//! Subcommands: `init DIR` creates a data directory, `check DIR` verifies a stopped one's pages
//! offline, `dump` writes a database as SQL. Exit status follows psql: 0 done, 1 a problem of
//! the client's own (a missing file), 2 no connection, 3 a script stopped by an error with
//! `-v ON_ERROR_STOP=1`; `check` exits 1 when it finds damage.

pub mod admin;
pub mod client;
pub mod complete;
pub mod output;
pub mod shell;
pub mod split;

use clap::{ArgAction, Parser, Subcommand};
use client::{Client, ConnectOptions};
use output::Format;
use shell::{LineSource, Shell, TextLines};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

/// The `rustydb` command line.
#[derive(Debug, Parser)]
#[command(name = "rustydb", version, about = "RustyDB's SQL shell and admin tool", disable_help_flag = true)]
pub struct Args {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Server host.
    #[arg(short = 'h', long, env = "PGHOST", default_value = "127.0.0.1", global = true)]
    pub host: String,
    /// Server port.
    #[arg(short = 'p', long, env = "PGPORT", default_value_t = 5432, global = true)]
    pub port: u16,
    /// Role to connect as.
    #[arg(short = 'U', long = "username", env = "PGUSER", default_value = "rustydb", global = true)]
    pub user: String,
    /// Database (defaults to the role's name, as psql's does).
    #[arg(short = 'd', long = "dbname", env = "PGDATABASE", global = true)]
    pub database: Option<String>,
    /// Run this SQL (or meta-command) and exit; may be given more than once.
    #[arg(short = 'c', long = "command")]
    pub commands: Vec<String>,
    /// Run the commands in this file and exit.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Expanded output (one record per block).
    #[arg(short = 'x', long)]
    pub expanded: bool,
    /// CSV output.
    #[arg(long)]
    pub csv: bool,
    /// psql-style variable: only `ON_ERROR_STOP=1` has an effect.
    #[arg(short = 'v', long = "variable", value_name = "NAME=VALUE")]
    pub variables: Vec<String>,
    /// Database to connect to (as a positional argument, like psql's).
    pub dbname: Option<String>,
    /// An admin command instead of the shell.
    #[command(subcommand)]
    pub admin: Option<Admin>,
}

/// The admin subcommands.
#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Create and bootstrap a data directory.
    Init {
        /// The directory (created).
        dir: PathBuf,
    },
    /// Verify every page of a stopped data directory (checksums, identities, headers).
    Check {
        /// The directory.
        dir: PathBuf,
    },
    /// Write a database as SQL (schema, then data as COPY) to stdout or a file.
    Dump {
        /// Output file (stdout when absent).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
}

impl Args {
    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            database: self.database.clone().or_else(|| self.dbname.clone()).unwrap_or_else(|| self.user.clone()),
            password: std::env::var("PGPASSWORD").ok(),
            application_name: "rustydb".into(),
        }
    }

    fn format(&self) -> Format {
        if self.expanded {
            Format::Expanded
        } else if self.csv {
            Format::Csv
        } else {
            self.format.unwrap_or(Format::Table)
        }
    }
}

/// The terminal: rustyline with history and completion.
struct Terminal {
    editor: rustyline::Editor<complete::SqlHelper, rustyline::history::DefaultHistory>,
    history: Option<PathBuf>,
}

impl LineSource for Terminal {
    fn next_line(&mut self, prompt: &str) -> Option<String> {
        match self.editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = self.editor.add_history_entry(line.as_str());
                }
                Some(line)
            }
            // Ctrl-C abandons the line, as in psql; Ctrl-D ends the session.
            Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
            Err(_) => None,
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(path) = &self.history {
            let _ = self.editor.save_history(path);
        }
    }
}

/// Runs the command line; returns the process exit code.
pub fn run(args: Args) -> u8 {
    let mut stdout = std::io::stdout();
    match &args.admin {
        Some(Admin::Init { dir }) => {
            return match admin::init(dir, &mut stdout) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("rustydb init: {e}");
                    1
                }
            };
        }
        Some(Admin::Check { dir }) => {
            return match admin::check(dir, &mut stdout) {
                Ok(0) => 0,
                Ok(_) => 1,
                Err(e) => {
                    eprintln!("rustydb check: {e}");
                    2
                }
            };
        }
        _ => {}
    }
    let options = args.connect_options();
    let mut client = match Client::connect(&options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "rustydb: error: connection to server at \"{}\", port {} failed: {e}",
                options.host, options.port
            );
            return 2;
        }
    };
    if let Some(Admin::Dump { output }) = &args.admin {
        let result = match output {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => {
                    let mut w = std::io::BufWriter::new(f);
                    admin::dump(&mut client, &options.database, &mut w)
                        .and_then(|()| w.flush().map_err(|e| rustydb_foundation::DbError::io("writing the dump", e)))
                }
                Err(e) => {
                    eprintln!("rustydb dump: {}: {e}", path.display());
                    return 1;
                }
            },
            None => admin::dump(&mut client, &options.database, &mut stdout.lock()),
        };
        client.close();
        return match result {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("rustydb dump: {e}");
                1
            }
        };
    }
    let on_error_stop = args.variables.iter().any(|v| {
        let (name, value) = v.split_once('=').unwrap_or((v, ""));
        name.eq_ignore_ascii_case("ON_ERROR_STOP") && matches!(value.to_ascii_lowercase().as_str(), "1" | "on" | "true")
    });
    let mut out = std::io::stdout().lock();
    let mut shell = Shell::new(client, &options.user, &options.database, args.format(), &mut out);
    shell.on_error_stop = on_error_stop;
    let completed = if !args.commands.is_empty() {
        // Each -c runs on its own, as psql runs them; an error fails the exit status.
        let mut all = true;
        for command in &args.commands {
            if !shell.run(&mut TextLines::new(command)) || shell.errors > 0 {
                all = false;
                if on_error_stop {
                    break;
                }
            }
        }
        shell.close();
        return if all { 0 } else { 1 };
    } else if let Some(path) = &args.file {
        match std::fs::read_to_string(path) {
            Ok(text) => shell.run(&mut TextLines::new(&text)),
            Err(e) => {
                eprintln!("rustydb: {}: {e}", path.display());
                return 1;
            }
        }
    } else if std::io::stdin().is_terminal() {
        let helper = complete::SqlHelper { tables: shell.tables.clone() };
        shell.refresh_tables();
        let mut editor = match rustyline::Editor::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("rustydb: the terminal cannot be used: {e}");
                return 1;
            }
        };
        editor.set_helper(Some(helper));
        let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustydb_history"));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        println!(
            "rustydb ({}, server {})\nType \"\\?\" for help.\n",
            env!("CARGO_PKG_VERSION"),
            shell.server_version()
        );
        let mut terminal = Terminal { editor, history };
        shell.run(&mut terminal)
    } else {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("rustydb: reading stdin: {e}");
            return 1;
        }
        shell.run(&mut TextLines::new(&text))
    };
    shell.close();
    if completed { 0 } else { 3 }
}
