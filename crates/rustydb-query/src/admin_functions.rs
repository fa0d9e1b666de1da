//! The server administration functions: `pg_sleep`, `pg_backend_pid`, `pg_cancel_backend` and
//! `pg_terminate_backend`. They act on sessions (through the registry in `backends.rs`), so
//! they are evaluated through the statement's context, as the sequence functions are.
//!
//! Who may signal whom follows PostgreSQL 15: a superuser may signal any session; another role
//! only sessions of roles whose privileges it has, and never a superuser's (42501).

use crate::context::ExecContext;
use rustydb_foundation::{DbError, Result, SqlState, Value};
use std::time::{Duration, Instant};

/// Which administration function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCall {
    /// `pg_sleep(seconds)`.
    Sleep,
    /// `pg_backend_pid()`.
    BackendPid,
    /// `pg_cancel_backend(pid)`.
    Cancel,
    /// `pg_terminate_backend(pid [, timeout])`.
    Terminate,
    /// `pg_relation_size` and its kin (see `size_functions.rs`).
    Size(crate::size_functions::SizeOf),
    /// A privilege function (`has_database_privilege`, ...) whose arguments vary by row (see
    /// `acl_functions.rs`), by its place in that module's list.
    Privilege(u8),
    /// `obj_description` and its kin (see `comments.rs`).
    Describe(crate::comments::DescriptionOf),
}

/// How often a sleep or a wait looks at the statement's interrupt.
const TICK: Duration = Duration::from_millis(10);

/// Runs `call` with its evaluated arguments.
pub fn call(ctx: &mut ExecContext<'_>, call: AdminCall, args: &[Value]) -> Result<Value> {
    match call {
        AdminCall::Sleep => {
            let seconds = match args.first() {
                Some(Value::Float8(s)) => *s,
                _ => return Ok(Value::Null),
            };
            // A negative, NaN or zero sleep returns at once, as PostgreSQL's does.
            let length = Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX);
            let until = Instant::now().checked_add(length);
            loop {
                ctx.interrupt.check()?;
                let now = Instant::now();
                let left = match until {
                    Some(until) if until <= now => return Ok(Value::Text(String::new())),
                    Some(until) => until - now,
                    None => TICK,
                };
                std::thread::sleep(left.min(TICK));
            }
        }
        AdminCall::BackendPid => Ok(Value::Int4(ctx.backend_pid)),
        AdminCall::Size(what) => crate::size_functions::call(ctx, what, args),
        AdminCall::Privilege(which) => crate::acl_functions::call(ctx, which, args),
        AdminCall::Describe(what) => crate::comments::describe(ctx, what, args),
        AdminCall::Cancel | AdminCall::Terminate => {
            let Some(Value::Int4(pid)) = args.first() else { return Ok(Value::Null) };
            let Some(backend) = ctx.engine.backends().find(*pid) else {
                // PostgreSQL warns "PID n is not a PostgreSQL backend process" and returns false.
                return Ok(Value::Bool(false));
            };
            may_signal(ctx, &backend.user, call)?;
            if call == AdminCall::Cancel {
                backend.cancel();
                return Ok(Value::Bool(true));
            }
            let timeout = match args.get(1) {
                Some(Value::Int8(ms)) if *ms < 0 => {
                    return Err(DbError::sql(SqlState::InvalidParameterValue, "\"timeout\" must not be negative"));
                }
                Some(Value::Int8(ms)) => Duration::from_millis(*ms as u64),
                _ => Duration::ZERO,
            };
            if *pid == ctx.backend_pid {
                // Its own session ends once this statement is done: nothing to wait for.
                backend.terminate();
                return Ok(Value::Bool(true));
            }
            backend.terminate();
            drop(backend);
            // With a timeout, true only once the session is gone.
            let until = Instant::now() + timeout;
            while !timeout.is_zero() && ctx.engine.backends().alive(*pid) {
                if Instant::now() >= until {
                    return Ok(Value::Bool(false));
                }
                ctx.interrupt.check()?;
                std::thread::sleep(TICK);
            }
            Ok(Value::Bool(true))
        }
    }
}

/// 42501 unless the session's role may signal a session of `target`.
pub(crate) fn may_signal(ctx: &mut ExecContext<'_>, target: &str, call: AdminCall) -> Result<()> {
    let Some(control) = ctx.engine.access_control().cloned() else { return Ok(()) };
    let catalog = crate::acl::load(ctx)?;
    if catalog.is_superuser(ctx.user) {
        return Ok(());
    }
    if catalog.is_superuser(target) {
        let what = if call == AdminCall::Cancel { "cancel superuser query" } else { "terminate superuser process" };
        return Err(DbError::sql(SqlState::InsufficientPrivilege, format!("must be a superuser to {what}")));
    }
    if !control.has_privileges_of(&catalog, ctx.user, target) {
        let what = if call == AdminCall::Cancel { "query is being canceled" } else { "process is being terminated" };
        return Err(DbError::sql(
            SqlState::InsufficientPrivilege,
            format!("must be a member of the role whose {what} or member of pg_signal_backend"),
        ));
    }
    Ok(())
}
