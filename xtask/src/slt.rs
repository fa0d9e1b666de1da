//! `cargo xtask slt [PART...]`: runs SQLite's sqllogictest corpus (`../shared/conformance/sqlite`)
//! over the wire, one fresh server per file, and prints passed/failed/skipped per file and in
//! total, in the format of the corpus's PostgreSQL 15 baseline (`pg15-baseline.txt`), so the
//! two can be compared line by line. PARTs select files whose path below the corpus starts
//! with them (`select1.test`, `index/view`, `random`); none means every file. The runner is
//! the `slt` binary of the tests package, built in release mode (the corpus has ~390k records).

use std::path::{Path, PathBuf};

use crate::cargo;

/// The corpus, beside the repository.
fn corpus() -> PathBuf {
    cargo::workspace_root().join("../shared/conformance/sqlite")
}

/// Every `.test` file below `dir`, sorted.
fn test_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("reading {}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("reading {}: {e}", d.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "test") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The files of `parts` (all if empty).
pub fn select(root: &Path, files: Vec<PathBuf>, parts: &[String]) -> Vec<PathBuf> {
    files
        .into_iter()
        .filter(|f| {
            let rel = f.strip_prefix(root).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            parts.is_empty() || parts.iter().any(|p| rel.starts_with(p.as_str()))
        })
        .collect()
}

/// Runs the corpus files of `parts`.
pub fn run(parts: &[String]) -> Result<(), String> {
    let root = corpus();
    if !root.is_dir() {
        return Err(format!("the conformance corpus is missing: {}", root.display()));
    }
    let files = select(&root, test_files(&root)?, parts);
    if files.is_empty() {
        return Err(format!("no corpus file matches {}", parts.join(" ")));
    }
    let status = cargo::command()
        .args(["run", "--release", "-q", "-p", "rustydb-tests", "--bin", "slt", "--"])
        .args(&files)
        .current_dir(cargo::workspace_root())
        .status()
        .map_err(|e| format!("could not run the slt runner: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("the slt runner failed ({status})")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_select_by_path_prefix() {
        let root = Path::new("/c");
        let files: Vec<PathBuf> =
            ["/c/select1.test", "/c/index/view/10/a.test", "/c/random/expr/b.test"].iter().map(PathBuf::from).collect();
        assert_eq!(select(root, files.clone(), &[]).len(), 3);
        assert_eq!(select(root, files.clone(), &["index/view".into()]), vec![PathBuf::from("/c/index/view/10/a.test")]);
        assert_eq!(select(root, files, &["select".into(), "random".into()]).len(), 2);
    }
}
