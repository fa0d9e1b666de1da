//! The privilege inquiry functions: `has_table_privilege`, `has_sequence_privilege`,
//! `has_column_privilege`, `has_database_privilege`, `has_schema_privilege`,
//! `has_function_privilege` and `pg_has_role`,
//! each with and without the leading role argument, answered by the engine's access control.
//!
//! They are evaluated while binding, so their arguments must be constants (names as text,
//! the common use); a column reference is refused with 0A000.

use crate::acl::{self, ObjectKind, ObjectRef, Privilege};
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use rustydb_foundation::{DbError, Result, SqlState, Value};

/// The functions' names.
const NAMES: &[&str] = &[
    "has_table_privilege",
    "has_sequence_privilege",
    "has_column_privilege",
    "has_database_privilege",
    "has_schema_privilege",
    "has_function_privilege",
    "pg_has_role",
];

/// Binds a privilege function call: `Ok(None)` if `name` is not one.
pub fn bind(ctx: Option<&mut ExecContext<'_>>, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
    if !NAMES.contains(&name) {
        return Ok(None);
    }
    // Another number of arguments is no function of this name (42883, from the caller).
    let arity = if name == "has_column_privilege" { 3 } else { 2 };
    if args.len() != arity && args.len() != arity + 1 {
        return Ok(None);
    }
    let Some(ctx) = ctx else { return Err(DbError::unsupported(format!("{name} here"))) };
    if !args.iter().all(Expr::is_constant) {
        // Arguments read from rows (psql's `\l+` asks has_database_privilege(d.datname, ...)
        // per database): answered per row, through the statement's context.
        let which = NAMES.iter().position(|n| *n == name).unwrap_or(0);
        return Ok(Some(Expr::Call {
            func: crate::functions::Function::Admin(crate::admin_functions::AdminCall::Privilege(which as u8)),
            args: args.to_vec(),
            ty: rustydb_foundation::DataType::Bool,
        }));
    }
    let values = args.iter().map(|a| a.eval(&[], &EvalEnv::new(ctx.user, ctx.database))).collect::<Result<Vec<_>>>()?;
    Ok(Some(Expr::literal(answer(ctx, name, &values)?)))
}

/// Runs privilege function `which` (its place in the list of names) with its evaluated
/// arguments, for a call whose arguments vary by row.
pub fn call(ctx: &mut ExecContext<'_>, which: u8, args: &[Value]) -> Result<Value> {
    let name = NAMES.get(usize::from(which)).copied().unwrap_or("has_table_privilege");
    answer(ctx, name, args)
}

/// The answer of privilege function `name` to `args`: NULL if any is NULL, as PostgreSQL's
/// strict functions answer.
fn answer(ctx: &mut ExecContext<'_>, name: &str, args: &[Value]) -> Result<Value> {
    let mut values = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::Null => return Ok(Value::Null),
            Value::Text(s) => values.push(s.clone()),
            other => values.push(other.to_string()),
        }
    }
    let column = name == "has_column_privilege";
    let arity = if column { 3 } else { 2 };
    let (user, rest) = match values.len() {
        n if n == arity + 1 => (values[0].clone(), &values[1..]),
        n if n == arity => (ctx.user.to_string(), &values[..]),
        _ => {
            return Err(DbError::sql(
                SqlState::UndefinedFunction,
                format!("function {name} with {} arguments does not exist", values.len()),
            ));
        }
    };
    let catalog = acl::load(ctx)?;
    if !catalog.roles.contains_key(&user) {
        return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{user}\" does not exist")));
    }
    let answer = match ctx.engine.access_control().cloned() {
        None => true,
        Some(control) if name == "pg_has_role" => {
            let role = &rest[0];
            if !catalog.roles.contains_key(role) {
                return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{role}\" does not exist")));
            }
            match rest[1].trim().to_ascii_uppercase().as_str() {
                "MEMBER" => control.is_member_of(&catalog, &user, role) || catalog.is_superuser(&user),
                "USAGE" => control.has_privileges_of(&catalog, &user, role),
                other => return Err(unrecognized(other)),
            }
        }
        Some(control) => {
            let object = object(ctx, name, &rest[0])?;
            let column = if column { Some(acl::column_position(ctx, &object, &rest[1])?) } else { None };
            let privileges = privileges(rest.last().map_or("", String::as_str))?;
            let table_level = control.held(&catalog, &user, &object, None);
            let column_level = column.map(|c| control.held(&catalog, &user, &object, Some(c))).unwrap_or_default();
            privileges.iter().any(|(p, option)| {
                let held = if *option {
                    table_level.grant_options.union(column_level.grant_options)
                } else {
                    table_level.privileges.union(column_level.privileges)
                };
                held.contains(*p)
            })
        }
    };
    Ok(Value::Bool(answer))
}

fn unrecognized(p: &str) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, format!("unrecognized privilege type: \"{p}\""))
}

/// A privilege list: `SELECT`, `select, insert`, `UPDATE WITH GRANT OPTION` (any one will do).
fn privileges(list: &str) -> Result<Vec<(Privilege, bool)>> {
    let mut out = Vec::new();
    for part in list.split(',') {
        let part = part.trim();
        let upper = part.to_ascii_uppercase();
        let (word, option) = match upper.strip_suffix(" WITH GRANT OPTION") {
            Some(w) => (w.trim().to_string(), true),
            None => (upper.clone(), false),
        };
        out.push((Privilege::parse(&word).ok_or_else(|| unrecognized(part))?, option));
    }
    Ok(out)
}

/// The object a function's name argument names; 42P01 (3D000, 3F000) if there is none.
fn object(ctx: &mut ExecContext<'_>, function: &str, name: &str) -> Result<ObjectRef> {
    let bare = name.trim_matches('"').to_string();
    match function {
        "has_database_privilege" => {
            if !crate::catalog::database_exists(ctx, &bare)? {
                return Err(DbError::sql(SqlState::InvalidCatalogName, format!("database \"{bare}\" does not exist")));
            }
            Ok(ObjectRef::new(ObjectKind::Database, bare))
        }
        "has_function_privilege" => {
            // `lower(text)` names the function's ACL, which its overloads share.
            let function = bare.split('(').next().unwrap_or_default().trim();
            let function = function.strip_prefix("pg_catalog.").unwrap_or(function).to_ascii_lowercase();
            Ok(ObjectRef::new(ObjectKind::Function, function))
        }
        "has_schema_privilege" => {
            let system = bare == "pg_catalog" || bare == "information_schema";
            if !system && ctx.schemas()?.by_name(&bare).is_none() {
                return Err(crate::schemas::undefined_schema(&bare));
            }
            Ok(ObjectRef::new(ObjectKind::Schema, bare))
        }
        _ => {
            let named = crate::schemas::parse_qualified(name, ctx.database)?;
            let object = acl::find_relation(ctx, &named)?.ok_or_else(|| DbError::undefined_table(named.to_string()))?;
            if function == "has_sequence_privilege" && object.kind != ObjectKind::Sequence {
                return Err(DbError::sql(SqlState::WrongObjectType, format!("\"{named}\" is not a sequence")));
            }
            Ok(object)
        }
    }
}
