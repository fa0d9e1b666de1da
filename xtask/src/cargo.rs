//! Running cargo from xtask: which binary, which workspace, and `cargo metadata`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The root of this repository's workspace (the parent of the xtask crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The root `Cargo.toml` of this repository's workspace.
pub fn workspace_manifest() -> PathBuf {
    workspace_root().join("Cargo.toml")
}

/// A `cargo` command: the binary from `$CARGO` (set when run through cargo), else `cargo`.
pub fn command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Runs `cargo metadata --no-deps --format-version 1` for `manifest` and parses its JSON.
pub fn metadata(manifest: &Path) -> Result<Value, String> {
    let output = command()
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata --manifest-path {} failed ({}):\n{}",
            manifest.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))
}
