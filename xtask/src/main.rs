//! `cargo xtask`: project automation for RustyDB.
//!
//! * `cargo xtask check-layers [--manifest-path PATH]`: fail on any dependency that does not
//!   point down the layer table in `[workspace.metadata.layers]` (see [`layers`]).
//! * `cargo xtask ci`: fmt, clippy, check-layers and tests, in order (see [`ci`]).
//! * `cargo xtask slt [PART...]`: SQLite's conformance corpus, per file and in total (see [`slt`]).

mod cargo;
mod ci;
mod layers;
mod slt;

use std::path::PathBuf;
use std::process::ExitCode;

/// The usage text.
const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  check-layers [--manifest-path PATH]   check that every workspace dependency points down
  ci                                    run fmt, clippy, check-layers and tests, in order
  slt [PART...]                         run the conformance corpus (or the files whose path
                                        starts with a PART, e.g. select1.test, index/view)
  help                                  print this message

environment:
  RUSTYDB_CI_SKIP   steps for `ci` to skip, e.g. `clippy,test` (fmt, clippy, layers, test)";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// `check-layers`, with an optional manifest path.
    CheckLayers(Option<PathBuf>),
    /// `ci`.
    Ci,
    /// `slt`, with the parts of the corpus to run.
    Slt(Vec<String>),
    /// `help`, `-h` or `--help`.
    Help,
}

/// Parses the arguments after the program name.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or("no command given")?;
    match command.as_str() {
        "check-layers" => parse_check_layers(rest).map(Command::CheckLayers),
        "ci" if rest.is_empty() => Ok(Command::Ci),
        "ci" => Err(format!("ci takes no arguments, got `{}`", rest.join(" "))),
        "slt" => Ok(Command::Slt(rest.to_vec())),
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Parses the options of `check-layers`.
fn parse_check_layers(args: &[String]) -> Result<Option<PathBuf>, String> {
    let mut manifest = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let path = if arg == "--manifest-path" {
            args.next().ok_or("--manifest-path needs a value")?.as_str()
        } else if let Some(path) = arg.strip_prefix("--manifest-path=") {
            path
        } else {
            return Err(format!("check-layers: unexpected argument `{arg}`"));
        };
        manifest = Some(PathBuf::from(path));
    }
    Ok(manifest)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(why) => {
            eprintln!("error: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::CheckLayers(manifest) => layers::run(manifest.as_deref()),
        Command::Ci => ci::run(),
        Command::Slt(parts) => slt::run(&parts),
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned arguments from string slices.
    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse_args(&args(&["check-layers"])), Ok(Command::CheckLayers(None)));
        assert_eq!(
            parse_args(&args(&["check-layers", "--manifest-path", "x/Cargo.toml"])),
            Ok(Command::CheckLayers(Some("x/Cargo.toml".into())))
        );
        assert_eq!(
            parse_args(&args(&["check-layers", "--manifest-path=y/Cargo.toml"])),
            Ok(Command::CheckLayers(Some("y/Cargo.toml".into())))
        );
        assert_eq!(parse_args(&args(&["ci"])), Ok(Command::Ci));
        assert_eq!(parse_args(&args(&["slt", "index/view"])), Ok(Command::Slt(vec!["index/view".into()])));
        assert_eq!(parse_args(&args(&["--help"])), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_command_lines() {
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&args(&["deploy"])).is_err());
        assert!(parse_args(&args(&["ci", "--fast"])).is_err());
        assert!(parse_args(&args(&["check-layers", "--manifest-path"])).is_err());
        assert!(parse_args(&args(&["check-layers", "--verbose"])).is_err());
    }
}
