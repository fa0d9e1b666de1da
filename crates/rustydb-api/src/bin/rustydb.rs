//! `rustydb`: RustyDB's SQL shell and admin tool. See `rustydb --help` and `rustydb_api::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rustydb_api::cli::run(rustydb_api::cli::Args::parse()))
}
