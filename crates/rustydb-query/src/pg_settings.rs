//! `pg_settings`: the session's settings as PostgreSQL's view shows them, for tools that read
//! settings by query rather than by SHOW. Values are in the view's base units (`setting` of
//! `statement_timeout` is milliseconds, of `work_mem` kilobytes), with `unit` saying which.

use crate::context::ExecContext;
use crate::pg_catalog::Relation;
use rustydb_foundation::{DataType, Value};

/// Settings whose value is a duration, shown in milliseconds.
const DURATIONS: [&str; 5] = [
    "deadlock_timeout",
    "idle_in_transaction_session_timeout",
    "lock_timeout",
    "log_min_duration_statement",
    "statement_timeout",
];

/// A value and its unit in the view's terms.
fn in_base_unit(name: &str, shown: &str) -> (String, Option<&'static str>) {
    if DURATIONS.contains(&name) {
        if shown == "-1" {
            return ("-1".into(), Some("ms"));
        }
        let ms = crate::settings::parse_duration_ms(shown).map_or(0, |d| d.as_millis());
        return (ms.to_string(), Some("ms"));
    }
    if name == "work_mem" {
        let kb = crate::settings::parse_work_mem_kb(shown).unwrap_or(crate::settings::DEFAULT_WORK_MEM_KB);
        return (kb.to_string(), Some("kB"));
    }
    (shown.into(), None)
}

/// The name as PostgreSQL spells it in the view (a few keep their capitals there).
fn display_name(name: &str) -> &str {
    match name {
        "datestyle" => "DateStyle",
        "intervalstyle" => "IntervalStyle",
        "timezone" => "TimeZone",
        other => other,
    }
}

/// The type of a setting's value as `vartype` names it.
fn vartype(name: &str, value: &str) -> &'static str {
    if DURATIONS.contains(&name)
        || matches!(
            name,
            "work_mem"
                | "block_size"
                | "max_identifier_length"
                | "server_version_num"
                | "extra_float_digits"
                | "max_parallel_workers_per_gather"
        )
    {
        "integer"
    } else if name == "hash_mem_multiplier" {
        "real"
    } else if matches!(value, "on" | "off") {
        "bool"
    } else if matches!(
        name,
        "default_transaction_isolation"
            | "transaction_isolation"
            | "client_min_messages"
            | "intervalstyle"
            | "bytea_output"
            | "synchronous_commit"
    ) {
        "enum"
    } else {
        "string"
    }
}

/// The rows of `pg_settings`.
pub fn relation(ctx: &mut ExecContext<'_>) -> Relation {
    use DataType::{Bool, Int4, Text};
    let columns = vec![
        ("name", Text),
        ("setting", Text),
        ("unit", Text),
        ("category", Text),
        ("short_desc", Text),
        ("extra_desc", Text),
        ("context", Text),
        ("vartype", Text),
        ("source", Text),
        ("min_val", Text),
        ("max_val", Text),
        ("enumvals", DataType::Array(rustydb_foundation::ElementType::Text)),
        ("boot_val", Text),
        ("reset_val", Text),
        ("sourcefile", Text),
        ("sourceline", Int4),
        ("pending_restart", Bool),
    ];
    let defaults = crate::settings::SessionSettings::default();
    let text = |s: &str| Value::Text(s.to_string());
    let rows = ctx
        .settings
        .map(|s| s.all(None))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, shown)| {
            let (setting, unit) = in_base_unit(&name, &shown);
            let boot =
                defaults.show(&name, None).map(|d| in_base_unit(&name, &d).0).unwrap_or_else(|_| setting.clone());
            let context = if crate::settings::is_fixed(&name) {
                "internal"
            } else if name == "log_min_duration_statement" {
                "superuser"
            } else {
                "user"
            };
            let source = if setting == boot { "default" } else { "session" };
            vec![
                text(display_name(&name)),
                text(&setting),
                unit.map_or(Value::Null, text),
                text(if crate::settings::is_fixed(&name) { "Preset Options" } else { "Client Connection Defaults" }),
                text(""),
                Value::Null,
                text(context),
                text(vartype(&name, &shown)),
                text(source),
                Value::Null,
                Value::Null,
                Value::Null,
                text(&boot),
                text(&setting),
                Value::Null,
                Value::Null,
                Value::Bool(false),
            ]
        })
        .collect();
    Relation { columns, rows }
}
