//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.
//!
//! Steps: `fmt`, `clippy`, `layers` (in-process `check-layers`) and `test`. Set
//! `RUSTYDB_CI_SKIP` to a list of step names (e.g. `RUSTYDB_CI_SKIP=clippy,test`) to skip them
//! locally; CI itself never sets it.

use std::time::Instant;

use crate::{cargo, layers};

/// The environment variable listing steps to skip.
const SKIP_VAR: &str = "RUSTYDB_CI_SKIP";

/// What a step does.
#[derive(Debug)]
enum Action {
    /// Runs cargo with these arguments in the workspace root.
    Cargo(&'static [&'static str]),
    /// Runs `check-layers` in this process.
    Layers,
}

/// One CI step.
#[derive(Debug)]
struct Step {
    /// The short name used by `RUSTYDB_CI_SKIP`.
    name: &'static str,
    /// What to run.
    action: Action,
}

/// The steps, in the order they run.
const STEPS: &[Step] = &[
    Step { name: "fmt", action: Action::Cargo(&["fmt", "--all", "--", "--check"]) },
    Step { name: "clippy", action: Action::Cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]) },
    Step { name: "layers", action: Action::Layers },
    Step { name: "test", action: Action::Cargo(&["test", "--workspace"]) },
];

impl Step {
    /// The command line shown in the header.
    fn describe(&self) -> String {
        match self.action {
            Action::Cargo(args) => format!("cargo {}", args.join(" ")),
            Action::Layers => "cargo xtask check-layers (in-process)".to_owned(),
        }
    }

    /// Runs the step; `Err` explains the failure.
    fn execute(&self) -> Result<(), String> {
        match self.action {
            Action::Cargo(args) => {
                let status = cargo::command()
                    .args(args)
                    .current_dir(cargo::workspace_root())
                    .status()
                    .map_err(|e| format!("could not run `{}`: {e}", self.describe()))?;
                if status.success() { Ok(()) } else { Err(format!("`{}` failed ({status})", self.describe())) }
            }
            Action::Layers => layers::run(None),
        }
    }
}

/// Parses a `RUSTYDB_CI_SKIP` value into step names, rejecting unknown ones.
fn parse_skip(value: &str) -> Result<Vec<&str>, String> {
    let names: Vec<&str> = value.split(|c: char| !c.is_ascii_alphanumeric()).filter(|s| !s.is_empty()).collect();
    match names.iter().find(|n| !STEPS.iter().any(|s| s.name == **n)) {
        Some(unknown) => Err(format!(
            "{SKIP_VAR} names unknown step `{unknown}` (steps: {})",
            STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        )),
        None => Ok(names),
    }
}

/// Runs every step not skipped, stopping at the first failure.
pub fn run() -> Result<(), String> {
    let skip_value = std::env::var(SKIP_VAR).unwrap_or_default();
    let skip = parse_skip(&skip_value)?;
    let started = Instant::now();
    for step in STEPS {
        if skip.contains(&step.name) {
            println!("==> skipping {} ({SKIP_VAR})", step.name);
            continue;
        }
        println!("==> {}", step.describe());
        let step_started = Instant::now();
        let result = step.execute();
        let secs = step_started.elapsed().as_secs_f64();
        result.map_err(|why| format!("ci step `{}` failed after {secs:.1}s: {why}", step.name))?;
        println!("    {} ok in {secs:.1}s", step.name);
    }
    println!("ci: all steps passed in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_list_accepts_any_separator() {
        assert_eq!(parse_skip("").unwrap(), Vec::<&str>::new());
        assert_eq!(parse_skip("clippy,test").unwrap(), ["clippy", "test"]);
        assert_eq!(parse_skip(" fmt  layers ").unwrap(), ["fmt", "layers"]);
    }

    #[test]
    fn skip_list_rejects_unknown_steps() {
        let err = parse_skip("fmt,clipy").unwrap_err();
        assert!(err.contains("clipy"), "{err}");
    }

    #[test]
    fn steps_run_in_the_documented_order() {
        let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        assert_eq!(names, ["fmt", "clippy", "layers", "test"]);
        assert_eq!(STEPS[0].describe(), "cargo fmt --all -- --check");
        assert_eq!(STEPS[1].describe(), "cargo clippy --workspace --all-targets -- -D warnings");
        assert_eq!(STEPS[3].describe(), "cargo test --workspace");
    }
}
