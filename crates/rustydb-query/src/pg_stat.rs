//! The statistics views: `pg_stat_activity` (every open session: who, from where, doing what
//! since when) and `pg_stat_statements` (calls, time and rows per statement shape, as
//! PostgreSQL's extension of that name shows them, without needing CREATE EXTENSION).
//!
//! As in PostgreSQL, a role that is not a superuser sees other roles' sessions and statements
//! with `<insufficient privilege>` in place of their text.

use crate::catalog;
use crate::context::ExecContext;
use crate::pg_catalog::{Relation, role_oid};
use rustydb_foundation::{DataType, DbError, Result, Value};

/// The views this module provides.
pub const RELATIONS: [&str; 2] = ["pg_stat_activity", "pg_stat_statements"];

const HIDDEN: &str = "<insufficient privilege>";

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The rows of view `name`.
pub fn relation(ctx: &mut ExecContext<'_>, name: &str) -> Result<Relation> {
    use DataType::{Bool, Float8, Int4, Int8, Text, TimestampTz};
    let roles = catalog::list_roles(ctx)?;
    let databases = crate::databases::list(ctx)?;
    let superuser = roles.iter().any(|r| r.name == ctx.user && r.superuser);
    let role_id =
        |name: &str| roles.iter().position(|r| r.name == name).map_or(Value::Null, |i| Value::Int4(role_oid(i)));
    let db_id = |name: &str| {
        databases.iter().find(|(_, d)| d.name == name).map_or(Value::Null, |(_, d)| Value::Int4(d.id as i32))
    };
    let ts = |t: Option<i64>| t.map_or(Value::Null, Value::TimestampTz);
    match name {
        "pg_stat_activity" => {
            let rows = ctx
                .engine
                .backends()
                .snapshot()
                .into_iter()
                .map(|(b, info)| {
                    let visible = superuser || b.user == ctx.user;
                    let (addr, port) = match info.client {
                        Some(a) => (text(&a.ip().to_string()), Value::Int4(i32::from(a.port()))),
                        // PostgreSQL shows a Unix-socket client as NULL address, port -1.
                        None => (Value::Null, Value::Int4(-1)),
                    };
                    let hide = |v: Value| if visible { v } else { Value::Null };
                    vec![
                        db_id(&b.database),
                        text(&b.database),
                        Value::Int4(info.pid),
                        Value::Null,
                        role_id(&b.user),
                        text(&b.user),
                        text(&info.application_name),
                        hide(addr),
                        Value::Null,
                        hide(port),
                        Value::TimestampTz(b.started),
                        hide(ts(info.xact_start)),
                        hide(ts(info.query_start)),
                        hide(Value::TimestampTz(info.state_change)),
                        Value::Null,
                        Value::Null,
                        hide(text(info.state.name())),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        if visible { text(&info.query) } else { text(HIDDEN) },
                        text("client backend"),
                    ]
                })
                .collect();
            Ok(Relation {
                columns: vec![
                    ("datid", Int4),
                    ("datname", Text),
                    ("pid", Int4),
                    ("leader_pid", Int4),
                    ("usesysid", Int4),
                    ("usename", Text),
                    ("application_name", Text),
                    ("client_addr", Text),
                    ("client_hostname", Text),
                    ("client_port", Int4),
                    ("backend_start", TimestampTz),
                    ("xact_start", TimestampTz),
                    ("query_start", TimestampTz),
                    ("state_change", TimestampTz),
                    ("wait_event_type", Text),
                    ("wait_event", Text),
                    ("state", Text),
                    ("backend_xid", Text),
                    ("backend_xmin", Text),
                    ("query_id", Int8),
                    ("query", Text),
                    ("backend_type", Text),
                ],
                rows,
            })
        }
        "pg_stat_statements" => {
            let rows = ctx
                .engine
                .statement_stats()
                .snapshot()
                .into_iter()
                .map(|s| {
                    let visible = superuser || s.user == ctx.user;
                    vec![
                        role_id(&s.user),
                        db_id(&s.database),
                        Value::Bool(true),
                        if visible { Value::Int8(s.query_id) } else { Value::Null },
                        if visible { text(&s.query) } else { text(HIDDEN) },
                        Value::Int8(s.calls as i64),
                        Value::Float8(s.total_ms),
                        Value::Float8(s.min_ms),
                        Value::Float8(s.max_ms),
                        Value::Float8(s.mean_ms()),
                        Value::Float8(s.stddev_ms()),
                        Value::Int8(s.rows as i64),
                    ]
                })
                .collect();
            Ok(Relation {
                columns: vec![
                    ("userid", Int4),
                    ("dbid", Int4),
                    ("toplevel", Bool),
                    ("queryid", Int8),
                    ("query", Text),
                    ("calls", Int8),
                    ("total_exec_time", Float8),
                    ("min_exec_time", Float8),
                    ("max_exec_time", Float8),
                    ("mean_exec_time", Float8),
                    ("stddev_exec_time", Float8),
                    ("rows", Int8),
                ],
                rows,
            })
        }
        other => Err(DbError::Internal(format!("no statistics view {other}"))),
    }
}
