//! End-to-end tests of `xtask check-layers`: throwaway workspaces in a temporary directory,
//! checked by the real binary through `cargo metadata`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

/// The hint printed under upward dependencies.
const HINT: &str = "hint: move the code down into the lower crate";

/// A throwaway workspace: a root manifest with a layer table and one empty library per crate.
struct Workspace {
    /// Keeps the directory alive for the test's duration.
    dir: TempDir,
}

impl Workspace {
    /// Creates a workspace with the given `layers` table body and crates `(name, manifest tail)`,
    /// where the tail holds the crate's dependency sections (path dependencies as `../name`).
    fn new(layers: &str, crates: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("create temp dir");
        let members: Vec<String> = crates.iter().map(|(name, _)| format!("{name:?}")).collect();
        write(
            &dir.path().join("Cargo.toml"),
            &format!(
                "[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n\
                 [workspace.metadata.layers]\n{layers}\n",
                members.join(", ")
            ),
        );
        for (name, tail) in crates {
            let root = dir.path().join(name);
            write(
                &root.join("Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
                     publish = false\n\n{tail}\n"
                ),
            );
            write(&root.join("src/lib.rs"), "");
        }
        Workspace { dir }
    }

    /// Runs `xtask check-layers --manifest-path <root>/Cargo.toml`.
    fn check(&self) -> Outcome {
        run_check_layers(&self.dir.path().join("Cargo.toml"))
    }
}

/// Writes `contents` to `path`, creating parent directories.
fn write(path: &Path, contents: &str) {
    let parent = path.parent().expect("path has a parent");
    fs::create_dir_all(parent).expect("create dirs");
    fs::write(path, contents).expect("write file");
}

/// The result of one run of the binary.
struct Outcome {
    /// The process output.
    output: Output,
    /// stdout and stderr, concatenated.
    text: String,
}

impl Outcome {
    /// Asserts a non-zero exit whose output contains every one of `needles`.
    fn assert_fails_with(&self, needles: &[&str]) {
        assert!(!self.output.status.success(), "expected failure, got success:\n{}", self.text);
        assert_eq!(self.output.status.code(), Some(1), "{}", self.text);
        for needle in needles {
            assert!(self.text.contains(needle), "output lacks {needle:?}:\n{}", self.text);
        }
    }
}

/// Runs the built binary's `check-layers` on `manifest`.
fn run_check_layers(manifest: &Path) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("check-layers")
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("run xtask");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Outcome { output, text }
}

/// The table used by most tests: two layered crates.
const LOW_HIGH: &str = "low = 1\nhigh = 2";

#[test]
fn clean_workspace_passes() {
    let ws = Workspace::new(
        "low = 1\nhigh = 2\napp = \"composition\"\nhelpers = \"test-support\"\ntool = \"tooling\"",
        &[
            ("low", "[dev-dependencies]\nhelpers = { path = \"../helpers\" }"),
            (
                "high",
                "[dependencies]\nlow = { path = \"../low\" }\n\n\
                 [build-dependencies]\nlow = { path = \"../low\" }\n\n\
                 [target.'cfg(unix)'.dependencies]\nlow = { path = \"../low\" }",
            ),
            (
                "app",
                "[dependencies]\nhigh = { path = \"../high\" }\n\n\
                 [dev-dependencies]\nhelpers = { path = \"../helpers\" }",
            ),
            ("helpers", "[dependencies]\nlow = { path = \"../low\" }"),
            ("tool", ""),
        ],
    );
    let outcome = ws.check();
    assert!(outcome.output.status.success(), "{}", outcome.text);
    assert!(outcome.text.contains("check-layers: 5 crates, 7 internal edges, all point down"), "{}", outcome.text);
}

#[test]
fn upward_normal_edge_fails() {
    let ws = Workspace::new(LOW_HIGH, &[("low", "[dependencies]\nhigh = { path = \"../high\" }"), ("high", "")]);
    ws.check().assert_fails_with(&["low (layer 1) -> high (layer 2): upward dependency (normal)", HINT]);
}

#[test]
fn upward_dev_edge_fails() {
    let ws = Workspace::new(LOW_HIGH, &[("low", "[dev-dependencies]\nhigh = { path = \"../high\" }"), ("high", "")]);
    ws.check().assert_fails_with(&["low (layer 1) -> high (layer 2): upward dependency (dev)", HINT]);
}

#[test]
fn cfg_gated_upward_edge_fails() {
    let ws = Workspace::new(
        LOW_HIGH,
        &[("low", "[target.'cfg(unix)'.dependencies]\nhigh = { path = \"../high\" }"), ("high", "")],
    );
    ws.check().assert_fails_with(&["low (layer 1) -> high (layer 2): upward dependency (normal) [target: cfg(unix)]"]);
}

#[test]
fn optional_upward_edge_fails() {
    let ws = Workspace::new(
        LOW_HIGH,
        &[
            (
                "low",
                "[dependencies]\nhigh = { path = \"../high\", optional = true }\n\n\
                 [features]\nextra = [\"dep:high\"]",
            ),
            ("high", ""),
        ],
    );
    ws.check().assert_fails_with(&["low (layer 1) -> high (layer 2): upward dependency (normal) [optional]"]);
}

#[test]
fn upward_build_edge_fails() {
    let ws = Workspace::new(LOW_HIGH, &[("low", "[build-dependencies]\nhigh = { path = \"../high\" }"), ("high", "")]);
    ws.check().assert_fails_with(&["low (layer 1) -> high (layer 2): upward dependency (build)"]);
}

#[test]
fn unclassified_crate_fails() {
    let ws = Workspace::new("low = 1", &[("low", ""), ("rustydb-foo", "[dependencies]\nlow = { path = \"../low\" }")]);
    ws.check().assert_fails_with(&["rustydb-foo is not in [workspace.metadata.layers]"]);
}

#[test]
fn dependency_on_tooling_crate_fails() {
    let ws = Workspace::new(
        "low = 1\nxtask = \"tooling\"",
        &[("low", "[dev-dependencies]\nxtask = { path = \"../xtask\" }"), ("xtask", "")],
    );
    ws.check().assert_fails_with(&["low (layer 1) -> xtask (tooling): tooling crates may not be depended on (dev)"]);
}

#[test]
fn tooling_crate_depending_on_workspace_fails() {
    let ws = Workspace::new(
        "low = 1\nxtask = \"tooling\"",
        &[("low", ""), ("xtask", "[dependencies]\nlow = { path = \"../low\" }")],
    );
    ws.check()
        .assert_fails_with(&["xtask (tooling) -> low (layer 1): tooling crates may not depend on workspace crates"]);
}

#[test]
fn test_support_as_normal_dependency_fails() {
    let ws = Workspace::new(
        "low = 1\nhelpers = \"test-support\"",
        &[("low", "[dependencies]\nhelpers = { path = \"../helpers\" }"), ("helpers", "")],
    );
    ws.check().assert_fails_with(&[
        "low (layer 1) -> helpers (test-support): test-support crates may only be dev-dependencies (normal)",
    ]);
}

#[test]
fn dependency_on_composition_crate_fails() {
    let ws = Workspace::new(
        "server = \"composition\"\ne2e = \"composition\"",
        &[("server", ""), ("e2e", "[dependencies]\nserver = { path = \"../server\" }")],
    );
    ws.check().assert_fails_with(&[
        "e2e (composition) -> server (composition): composition crates may not be depended on (normal)",
    ]);
}

#[test]
fn stale_and_invalid_table_entries_fail() {
    let ws = Workspace::new("low = 9\nrustydb-gone = 2", &[("low", "")]);
    ws.check()
        .assert_fails_with(&["gives low the invalid value 9", "names rustydb-gone, which is not a workspace package"]);
}

#[test]
fn broken_manifest_fails_with_cargo_error() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let outcome = run_check_layers(&dir.path().join("Cargo.toml"));
    outcome.assert_fails_with(&["cargo metadata --manifest-path"]);
}

#[test]
fn real_workspace_passes() {
    let manifest = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"));
    let outcome = run_check_layers(manifest);
    assert!(outcome.output.status.success(), "{}", outcome.text);
    assert!(outcome.text.contains("all point down"), "{}", outcome.text);
}
