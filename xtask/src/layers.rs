//! `cargo xtask check-layers`: the architecture, checked on every CI run.
//!
//! RustyDB is built in layers: foundation (1), storage (2), index (3), txn (4), query (5),
//! security (6), net (7) and api (8). The rule that keeps them apart is simple: **a lower layer
//! never names a higher one**. Storage knows nothing about SQL; the query engine knows nothing
//! about the wire protocol. That is what lets each layer be understood, tested and rebuilt on its
//! own, and it is what keeps the crate graph a fast, parallel, cycle-free build.
//!
//! When a lower layer needs something only a higher layer can provide (storage wanting to report
//! to the query engine, say), the need is met the other way round: the lower crate defines a
//! trait, the higher crate implements it, and a composition crate (`rustydb-server`) wires the two
//! together at start-up. The dependency arrow still points down.
//!
//! The layer of every workspace crate lives in the root `Cargo.toml`, as data:
//!
//! ```toml
//! [workspace.metadata.layers]
//! rustydb-foundation = 1
//! rustydb-server = "composition"
//! xtask = "tooling"
//! ```
//!
//! A value is one of:
//!
//! * an integer layer `1..=8`: may depend only on crates of a strictly lower layer, for every
//!   dependency kind (normal, build *and* dev: a dev-dependency pointing up is still a lower layer
//!   naming a higher one, and it still couples their builds);
//! * `"composition"`: sits above every layer, may depend on any layered crate, and nothing may
//!   depend on it;
//! * `"tooling"`: project automation such as `xtask`; it may depend on no workspace crate, and no
//!   workspace crate may depend on it;
//! * `"test-support"`: shared test helpers; may depend downward like a composition crate, but may
//!   only ever be a *dev*-dependency of others.
//!
//! Dependencies behind `[target.'cfg(..)'.dependencies]` and `optional` dependencies count like
//! any other: a feature or a platform must not be a way round the rule.
//!
//! [`check`] is a pure function of the `cargo metadata` JSON, so every rule is unit-tested on
//! hand-built values; [`run`] is the command that fetches the metadata and reports.

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

use crate::cargo;

/// The highest integer layer a crate may be given.
pub const MAX_LAYER: u64 = 8;

/// The hint printed under upward and same-layer dependencies.
const HINT_DOWNWARD: &str = "hint: move the code down into the lower crate, or define a trait in \
     the lower crate and implement it in the higher one (wired together in rustydb-server).";

/// The hint printed under dependencies on a composition crate.
const HINT_COMPOSITION: &str = "hint: composition crates are the roots of the graph; move the \
     shared code down into a layered crate and depend on that instead.";

/// The hint printed under dependencies from or onto a tooling crate.
const HINT_TOOLING: &str = "hint: tooling crates (like xtask) drive cargo from the outside; they \
     must not share code with the product. Copy the little they need, or move it into a layered \
     crate that the product owns.";

/// The hint printed under a test-support crate used outside `[dev-dependencies]`.
const HINT_TEST_SUPPORT: &str = "hint: move the dependency to [dev-dependencies]; test-support \
     crates must never reach a shipped build.";

/// The hint printed under problems with the layer table itself.
const HINT_TABLE: &str = "hint: every workspace crate needs exactly one entry in \
     [workspace.metadata.layers] in the root Cargo.toml: a layer 1..=8, \"composition\", \
     \"tooling\" or \"test-support\".";

/// Where a crate sits in the architecture, as given by `[workspace.metadata.layers]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A product layer, `1..=MAX_LAYER`; lower numbers are more fundamental.
    Layer(u64),
    /// Above every layer (the server binary, end-to-end tests); nothing depends on it.
    Composition,
    /// Project automation; shares no code with the workspace in either direction.
    Tooling,
    /// Shared test helpers; usable only as a dev-dependency.
    TestSupport,
}

impl Class {
    /// Parses a table value, or returns `None` if it is not a valid classification.
    fn parse(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => n.as_u64().filter(|layer| (1..=MAX_LAYER).contains(layer)).map(Class::Layer),
            Value::String(s) => match s.as_str() {
                "composition" => Some(Class::Composition),
                "tooling" => Some(Class::Tooling),
                "test-support" => Some(Class::TestSupport),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Class::Layer(n) => write!(f, "layer {n}"),
            Class::Composition => f.write_str("composition"),
            Class::Tooling => f.write_str("tooling"),
            Class::TestSupport => f.write_str("test-support"),
        }
    }
}

/// The section of the manifest a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// `[dependencies]` (metadata `kind: null`).
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

impl DepKind {
    /// Parses the metadata `kind` field.
    fn parse(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(DepKind::Normal),
            Value::String(s) if s == "dev" => Ok(DepKind::Dev),
            Value::String(s) if s == "build" => Ok(DepKind::Build),
            other => Err(format!("unknown dependency kind {other}")),
        }
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "normal",
            DepKind::Dev => "dev",
            DepKind::Build => "build",
        })
    }
}

/// One dependency declaration between two workspace crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The depending crate.
    pub from: String,
    /// The layer of the depending crate.
    pub from_class: Class,
    /// The crate depended on.
    pub to: String,
    /// The layer of the crate depended on.
    pub to_class: Class,
    /// Which dependency section declares the edge.
    pub kind: DepKind,
    /// The `cfg(..)` or target triple gating the edge, if any.
    pub target: Option<String>,
    /// Whether the dependency is `optional = true`.
    pub optional: bool,
}

impl fmt::Display for Edge {
    /// Renders `from (class) -> to (class)`; the kind and flags are added by [`Violation`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) -> {} ({})", self.from, self.from_class, self.to, self.to_class)
    }
}

/// Why an edge breaks the layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A layered crate depends on a higher layer.
    Upward,
    /// A layered crate depends on another crate of the same layer.
    SameLayer,
    /// Something depends on a composition crate.
    OnComposition,
    /// A tooling crate depends on a workspace crate.
    FromTooling,
    /// Something depends on a tooling crate.
    OnTooling,
    /// A test-support crate is used as a normal or build dependency.
    TestSupportNotDev,
}

impl Problem {
    /// The hint paragraph that explains how to fix this kind of problem.
    fn hint(self) -> &'static str {
        match self {
            Problem::Upward | Problem::SameLayer => HINT_DOWNWARD,
            Problem::OnComposition => HINT_COMPOSITION,
            Problem::FromTooling | Problem::OnTooling => HINT_TOOLING,
            Problem::TestSupportNotDev => HINT_TEST_SUPPORT,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Upward => "upward dependency",
            Problem::SameLayer => "same-layer dependency",
            Problem::OnComposition => "composition crates may not be depended on",
            Problem::FromTooling => "tooling crates may not depend on workspace crates",
            Problem::OnTooling => "tooling crates may not be depended on",
            Problem::TestSupportNotDev => "test-support crates may only be dev-dependencies",
        })
    }
}

/// One breach of the layering rules, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A dependency edge that does not point the way the rules allow.
    Edge {
        /// The offending edge.
        edge: Edge,
        /// Which rule it breaks.
        problem: Problem,
    },
    /// A workspace crate with no entry in the table.
    Unclassified {
        /// The crate's package name.
        krate: String,
    },
    /// A table entry naming no workspace crate (stale or misspelt).
    UnknownEntry {
        /// The table key.
        name: String,
    },
    /// A table entry whose value is not a layer or a known class.
    InvalidValue {
        /// The table key.
        krate: String,
        /// The value, rendered as JSON.
        value: String,
    },
    /// The table is absent or is not a table.
    MissingTable,
    /// The metadata JSON does not have the expected shape.
    Malformed(String),
}

impl Violation {
    /// The hint paragraph that explains how to fix this violation.
    pub fn hint(&self) -> &'static str {
        match self {
            Violation::Edge { problem, .. } => problem.hint(),
            Violation::Unclassified { .. }
            | Violation::UnknownEntry { .. }
            | Violation::InvalidValue { .. }
            | Violation::MissingTable => HINT_TABLE,
            Violation::Malformed(_) => "hint: check that `cargo metadata --format-version 1` works in this workspace.",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Edge { edge, problem } => {
                write!(f, "{edge}: {problem} ({})", edge.kind)?;
                if let Some(target) = &edge.target {
                    write!(f, " [target: {target}]")?;
                }
                if edge.optional {
                    f.write_str(" [optional]")?;
                }
                Ok(())
            }
            Violation::Unclassified { krate } => {
                write!(f, "{krate} is not in [workspace.metadata.layers]")
            }
            Violation::UnknownEntry { name } => {
                write!(f, "[workspace.metadata.layers] names {name}, which is not a workspace package")
            }
            Violation::InvalidValue { krate, value } => write!(
                f,
                "[workspace.metadata.layers] gives {krate} the invalid value {value} \
                 (expected a layer 1..={MAX_LAYER}, \"composition\", \"tooling\" or \"test-support\")"
            ),
            Violation::MissingTable => f.write_str("[workspace.metadata.layers] is missing from the root Cargo.toml"),
            Violation::Malformed(why) => write!(f, "unexpected cargo metadata: {why}"),
        }
    }
}

/// Counts of what was checked, for the success line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Workspace packages.
    pub crates: usize,
    /// Dependency declarations between workspace packages.
    pub internal_edges: usize,
}

/// A dependency declaration as read from the metadata.
#[derive(Debug)]
struct Dep {
    /// The real package name (not the `rename`).
    name: String,
    /// The manifest section.
    kind: DepKind,
    /// The target gate, if any.
    target: Option<String>,
    /// Whether it is optional.
    optional: bool,
}

/// A workspace package as read from the metadata.
#[derive(Debug)]
struct Package {
    /// The package name.
    name: String,
    /// Every dependency declaration, internal or not.
    deps: Vec<Dep>,
}

impl Package {
    /// The dependencies naming another workspace package.
    fn internal_deps<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a Dep> + 'a {
        self.deps.iter().filter(move |d| d.name != self.name && names.contains(&d.name.as_str()))
    }
}

/// Checks the layering of a workspace, given its `cargo metadata --format-version 1` JSON.
///
/// Returns every violation found (table problems first, then edges in package order); an empty
/// vector means the workspace is clean.
pub fn check(metadata: &Value) -> Vec<Violation> {
    let packages = match parse_packages(metadata) {
        Ok(packages) => packages,
        Err(why) => return vec![Violation::Malformed(why)],
    };
    let Some(table) = metadata.get("metadata").and_then(|m| m.get("layers")).and_then(Value::as_object) else {
        return vec![Violation::MissingTable];
    };
    let mut violations = table_violations(&packages, table);
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for package in &packages {
        for dep in package.internal_deps(&names) {
            violations.extend(edge_violation(table, package, dep));
        }
    }
    violations
}

/// Counts the workspace crates and the internal edges between them.
///
/// Malformed metadata counts as empty; [`check`] reports it.
pub fn summarize(metadata: &Value) -> Summary {
    let packages = parse_packages(metadata).unwrap_or_default();
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    Summary { crates: packages.len(), internal_edges: packages.iter().map(|p| p.internal_deps(&names).count()).sum() }
}

/// Reports unclassified crates, stale entries and invalid values.
fn table_violations(packages: &[Package], table: &Map<String, Value>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for package in packages {
        match table.get(&package.name) {
            None => violations.push(Violation::Unclassified { krate: package.name.clone() }),
            Some(value) if Class::parse(value).is_none() => {
                violations.push(Violation::InvalidValue { krate: package.name.clone(), value: value.to_string() });
            }
            Some(_) => {}
        }
    }
    for name in table.keys() {
        if !packages.iter().any(|p| &p.name == name) {
            violations.push(Violation::UnknownEntry { name: name.clone() });
        }
    }
    violations
}

/// Judges one internal edge; edges touching an unclassified crate are skipped (already reported).
fn edge_violation(table: &Map<String, Value>, from: &Package, dep: &Dep) -> Option<Violation> {
    let from_class = table.get(&from.name).and_then(Class::parse)?;
    let to_class = table.get(&dep.name).and_then(Class::parse)?;
    let problem = judge(from_class, to_class, dep.kind)?;
    let edge = Edge {
        from: from.name.clone(),
        from_class,
        to: dep.name.clone(),
        to_class,
        kind: dep.kind,
        target: dep.target.clone(),
        optional: dep.optional,
    };
    Some(Violation::Edge { edge, problem })
}

/// The rules: which edges between classes are allowed, and why the others are not.
fn judge(from: Class, to: Class, kind: DepKind) -> Option<Problem> {
    match (from, to) {
        (Class::Tooling, _) => Some(Problem::FromTooling),
        (_, Class::Tooling) => Some(Problem::OnTooling),
        (_, Class::TestSupport) if kind != DepKind::Dev => Some(Problem::TestSupportNotDev),
        (_, Class::TestSupport) => None,
        (_, Class::Composition) => Some(Problem::OnComposition),
        (Class::Layer(a), Class::Layer(b)) if b > a => Some(Problem::Upward),
        (Class::Layer(a), Class::Layer(b)) if b == a => Some(Problem::SameLayer),
        (_, Class::Layer(_)) => None,
    }
}

/// Reads the workspace packages (and only those) out of the metadata.
fn parse_packages(metadata: &Value) -> Result<Vec<Package>, String> {
    let members = metadata.get("workspace_members").and_then(Value::as_array).ok_or("no `workspace_members` array")?;
    let packages = metadata.get("packages").and_then(Value::as_array).ok_or("no `packages` array")?;
    packages.iter().filter(|p| p.get("id").is_some_and(|id| members.contains(id))).map(parse_package).collect()
}

/// Reads one package entry.
fn parse_package(package: &Value) -> Result<Package, String> {
    let name = str_field(package, "name").ok_or("a package has no `name`")?;
    let deps = package
        .get("dependencies")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("package {name} has no `dependencies` array"))?
        .iter()
        .map(|d| parse_dep(d).map_err(|why| format!("package {name}: {why}")))
        .collect::<Result<_, _>>()?;
    Ok(Package { name: name.to_owned(), deps })
}

/// Reads one dependency entry.
fn parse_dep(dep: &Value) -> Result<Dep, String> {
    let name = str_field(dep, "name").ok_or("a dependency has no `name`")?;
    let kind =
        DepKind::parse(dep.get("kind").unwrap_or(&Value::Null)).map_err(|why| format!("dependency {name}: {why}"))?;
    Ok(Dep {
        name: name.to_owned(),
        kind,
        target: str_field(dep, "target").map(str::to_owned),
        optional: dep.get("optional").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A string field of a JSON object, if present and a string.
fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// Renders a failure report: one line per violation, then each distinct hint once.
pub fn report(violations: &[Violation]) -> String {
    let mut out = String::new();
    let mut hints: Vec<&str> = Vec::new();
    for violation in violations {
        out.push_str(&violation.to_string());
        out.push('\n');
        if !hints.contains(&violation.hint()) {
            hints.push(violation.hint());
        }
    }
    for hint in hints {
        out.push('\n');
        out.push_str(hint);
        out.push('\n');
    }
    out
}

/// The `check-layers` command: fetches the metadata, checks it, and reports.
///
/// With no `manifest_path`, checks this repository's workspace. Prints the success line on
/// stdout, or the violations and hints on stderr and returns an error.
pub fn run(manifest_path: Option<&Path>) -> Result<(), String> {
    let default = cargo::workspace_manifest();
    let manifest = manifest_path.unwrap_or(&default);
    let metadata = cargo::metadata(manifest)?;
    let violations = check(&metadata);
    let summary = summarize(&metadata);
    if violations.is_empty() {
        println!("check-layers: {} crates, {} internal edges, all point down", summary.crates, summary.internal_edges);
        return Ok(());
    }
    eprint!("{}", report(&violations));
    let noun = if violations.len() == 1 { "violation" } else { "violations" };
    Err(format!(
        "check-layers: {} {noun} in {} ({} crates, {} internal edges)",
        violations.len(),
        manifest.display(),
        summary.crates,
        summary.internal_edges
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A dependency entry as `cargo metadata` prints it.
    fn dep(name: &str, kind: Option<&str>) -> Value {
        json!({
            "name": name,
            "source": null,
            "req": "*",
            "kind": kind,
            "rename": null,
            "optional": false,
            "uses_default_features": true,
            "features": [],
            "target": null,
            "registry": null,
        })
    }

    /// A dependency entry gated on a target.
    fn target_dep(name: &str, target: &str) -> Value {
        let mut d = dep(name, None);
        d["target"] = json!(target);
        d
    }

    /// An optional dependency entry.
    fn optional_dep(name: &str) -> Value {
        let mut d = dep(name, None);
        d["optional"] = json!(true);
        d
    }

    /// Metadata for a workspace of `packages` (name, dependencies) with the given layer table.
    fn metadata(layers: Value, packages: Vec<(&str, Vec<Value>)>) -> Value {
        let id = |name: &str| format!("path+file:///ws/{name}#0.1.0");
        let members: Vec<String> = packages.iter().map(|(name, _)| id(name)).collect();
        let packages: Vec<Value> = packages
            .into_iter()
            .map(|(name, deps)| json!({ "name": name, "id": id(name), "dependencies": deps }))
            .collect();
        json!({
            "packages": packages,
            "workspace_members": members,
            "metadata": { "layers": layers },
            "version": 1,
        })
    }

    /// The violations of a two-crate workspace `a -> b` with the given classes and edge.
    fn two(a: Value, b: Value, edge: Value) -> Vec<String> {
        let meta = metadata(json!({ "a": a, "b": b }), vec![("a", vec![edge]), ("b", vec![])]);
        check(&meta).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn downward_edges_of_every_kind_pass() {
        let meta = metadata(
            json!({ "foundation": 1, "storage": 2, "server": "composition" }),
            vec![
                ("foundation", vec![dep("serde", None)]),
                (
                    "storage",
                    vec![
                        dep("foundation", None),
                        dep("foundation", Some("dev")),
                        dep("foundation", Some("build")),
                        dep("tempfile", Some("dev")),
                    ],
                ),
                ("server", vec![dep("storage", None), dep("foundation", None)]),
            ],
        );
        assert_eq!(check(&meta), vec![]);
        let summary = summarize(&meta);
        assert_eq!(summary, Summary { crates: 3, internal_edges: 5 });
    }

    #[test]
    fn upward_normal_edge_is_reported_in_the_documented_shape() {
        let meta = metadata(
            json!({ "rustydb-storage": 2, "rustydb-query": 5 }),
            vec![("rustydb-storage", vec![dep("rustydb-query", None)]), ("rustydb-query", vec![])],
        );
        let violations = check(&meta);
        assert_eq!(violations.len(), 1);
        assert_eq!(
            violations[0].to_string(),
            "rustydb-storage (layer 2) -> rustydb-query (layer 5): upward dependency (normal)"
        );
        assert_eq!(violations[0].hint(), HINT_DOWNWARD);
    }

    #[test]
    fn upward_dev_and_build_edges_are_reported() {
        assert_eq!(
            two(json!(1), json!(2), dep("b", Some("dev"))),
            ["a (layer 1) -> b (layer 2): upward dependency (dev)"]
        );
        assert_eq!(
            two(json!(1), json!(2), dep("b", Some("build"))),
            ["a (layer 1) -> b (layer 2): upward dependency (build)"]
        );
    }

    #[test]
    fn same_layer_edge_is_reported() {
        assert_eq!(
            two(json!(3), json!(3), dep("b", None)),
            ["a (layer 3) -> b (layer 3): same-layer dependency (normal)"]
        );
    }

    #[test]
    fn target_gated_and_optional_edges_count() {
        assert_eq!(
            two(json!(1), json!(2), target_dep("b", "cfg(unix)")),
            ["a (layer 1) -> b (layer 2): upward dependency (normal) [target: cfg(unix)]"]
        );
        assert_eq!(
            two(json!(1), json!(2), optional_dep("b")),
            ["a (layer 1) -> b (layer 2): upward dependency (normal) [optional]"]
        );
        let mut both = target_dep("b", "cfg(windows)");
        both["optional"] = json!(true);
        assert_eq!(
            two(json!(1), json!(2), both),
            ["a (layer 1) -> b (layer 2): upward dependency (normal) [target: cfg(windows)] [optional]"]
        );
    }

    #[test]
    fn tooling_is_isolated_both_ways() {
        assert_eq!(
            two(json!(8), json!("tooling"), dep("b", Some("dev"))),
            ["a (layer 8) -> b (tooling): tooling crates may not be depended on (dev)"]
        );
        assert_eq!(
            two(json!("tooling"), json!(1), dep("b", None)),
            ["a (tooling) -> b (layer 1): tooling crates may not depend on workspace crates (normal)"]
        );
        assert_eq!(
            two(json!("composition"), json!("tooling"), dep("b", None)),
            ["a (composition) -> b (tooling): tooling crates may not be depended on (normal)"]
        );
        let violations = check(&metadata(
            json!({ "a": "tooling", "b": "tooling" }),
            vec![("a", vec![dep("b", None)]), ("b", vec![])],
        ));
        assert_eq!(violations.len(), 1, "one line per edge: {violations:?}");
        assert_eq!(violations[0].hint(), HINT_TOOLING);
    }

    #[test]
    fn composition_may_depend_down_but_not_be_depended_on() {
        assert_eq!(two(json!("composition"), json!(8), dep("b", None)), Vec::<String>::new());
        assert_eq!(
            two(json!("composition"), json!("composition"), dep("b", Some("dev"))),
            ["a (composition) -> b (composition): composition crates may not be depended on (dev)"]
        );
        assert_eq!(
            two(json!(8), json!("composition"), dep("b", None)),
            ["a (layer 8) -> b (composition): composition crates may not be depended on (normal)"]
        );
    }

    #[test]
    fn test_support_is_dev_only() {
        for from in [json!(1), json!("composition"), json!("test-support")] {
            assert_eq!(two(from, json!("test-support"), dep("b", Some("dev"))), Vec::<String>::new());
        }
        assert_eq!(
            two(json!(2), json!("test-support"), dep("b", None)),
            ["a (layer 2) -> b (test-support): test-support crates may only be dev-dependencies (normal)"]
        );
        assert_eq!(
            two(json!("composition"), json!("test-support"), dep("b", Some("build"))),
            ["a (composition) -> b (test-support): test-support crates may only be dev-dependencies (build)"]
        );
        assert_eq!(two(json!("test-support"), json!(8), dep("b", None)), Vec::<String>::new());
    }

    #[test]
    fn unclassified_crate_is_reported() {
        let meta = metadata(
            json!({ "rustydb-foundation": 1 }),
            vec![("rustydb-foundation", vec![]), ("rustydb-foo", vec![dep("rustydb-foundation", None)])],
        );
        let violations = check(&meta);
        assert_eq!(violations, vec![Violation::Unclassified { krate: "rustydb-foo".into() }]);
        assert_eq!(violations[0].to_string(), "rustydb-foo is not in [workspace.metadata.layers]");
    }

    #[test]
    fn stale_table_entry_is_reported() {
        let meta = metadata(json!({ "a": 1, "rustydb-gone": 2 }), vec![("a", vec![])]);
        assert_eq!(
            check(&meta).iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["[workspace.metadata.layers] names rustydb-gone, which is not a workspace package"]
        );
    }

    #[test]
    fn invalid_values_are_reported() {
        for bad in [json!(0), json!(9), json!(-1), json!(2.5), json!("compositon"), json!(true), json!([1])] {
            let meta = metadata(json!({ "a": bad.clone() }), vec![("a", vec![])]);
            let violations = check(&meta);
            assert_eq!(
                violations,
                vec![Violation::InvalidValue { krate: "a".into(), value: bad.to_string() }],
                "value {bad}"
            );
            assert!(violations[0].to_string().contains(&bad.to_string()));
        }
    }

    #[test]
    fn edges_touching_unclassified_crates_are_not_judged_twice() {
        let meta =
            metadata(json!({ "a": 1, "b": "bogus" }), vec![("a", vec![dep("b", None)]), ("b", vec![dep("a", None)])]);
        assert_eq!(check(&meta).len(), 1);
    }

    #[test]
    fn missing_table_is_reported_once() {
        let mut meta = metadata(json!({}), vec![("a", vec![]), ("b", vec![])]);
        meta["metadata"] = Value::Null;
        assert_eq!(check(&meta), vec![Violation::MissingTable]);
    }

    #[test]
    fn external_and_non_member_packages_are_ignored() {
        let mut meta = metadata(json!({ "a": 1 }), vec![("a", vec![dep("serde", None), dep("outsider", None)])]);
        let outsider = json!({
            "name": "outsider",
            "id": "registry+https://example.invalid#outsider@1.0.0",
            "dependencies": [dep("a", None)],
        });
        meta["packages"].as_array_mut().expect("packages array").push(outsider);
        assert_eq!(check(&meta), vec![]);
        assert_eq!(summarize(&meta), Summary { crates: 1, internal_edges: 0 });
    }

    #[test]
    fn malformed_metadata_is_reported() {
        let violations = check(&json!({ "packages": [] }));
        assert!(matches!(violations.as_slice(), [Violation::Malformed(_)]));
        let bad_kind = metadata(json!({ "a": 1 }), vec![("a", vec![dep("x", Some("weird"))])]);
        assert!(matches!(
            check(&bad_kind).as_slice(),
            [Violation::Malformed(why)] if why.contains("weird")
        ));
    }

    #[test]
    fn report_lists_each_violation_then_each_hint_once() {
        let meta = metadata(
            json!({ "a": 1, "b": 2, "c": 3 }),
            vec![("a", vec![dep("b", None), dep("c", Some("dev"))]), ("b", vec![]), ("c", vec![]), ("d", vec![])],
        );
        let text = report(&check(&meta));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "d is not in [workspace.metadata.layers]",
                "a (layer 1) -> b (layer 2): upward dependency (normal)",
                "a (layer 1) -> c (layer 3): upward dependency (dev)",
                "",
                HINT_TABLE,
                "",
                HINT_DOWNWARD,
            ]
        );
    }
}
