//! GRANT and REVOKE (privileges on objects and columns; membership in roles) and
//! `ALTER TABLE ... OWNER TO`, with PostgreSQL's rules:
//!
//! - The grantor is chosen as PostgreSQL's `select_best_grantor` chooses: a role with the
//!   owner's privileges grants as the owner; anyone else grants as itself, and only what it
//!   holds grant options for. Granting nothing it may grant is a warning (01007, 01006 for
//!   REVOKE), unless it holds no privilege on the object at all (42501).
//! - The first GRANT or REVOKE on an object writes its default ACL out, then edits it.
//! - Revoking a grant option others were granted through needs CASCADE (2BP01 otherwise),
//!   which revokes their grants too, recursively.
//! - Table-level REVOKE also revokes the same privileges granted on the table's columns.
//! - Membership: granting a role needs its admin option (or CREATEROLE for non-superuser
//!   roles, or superuser); a grant that would make a cycle is refused (0LP01).

use crate::acl::{self, AclItem, AclKey, Membership, ObjectKind, ObjectRef, Privilege, PrivilegeSet};
use crate::bind_expr::ident_name;
use crate::catalog::{self, QualifiedName};
use crate::context::ExecContext;
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;

/// What a privilege GRANT or REVOKE names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `[TABLE] names` (tables, views and sequences).
    Relations(Vec<QualifiedName>),
    /// `SEQUENCE names`.
    Sequences(Vec<QualifiedName>),
    /// `DATABASE names`.
    Databases(Vec<String>),
    /// `SCHEMA names`.
    Schemas(Vec<String>),
    /// `ALL TABLES IN SCHEMA names` (tables and views).
    AllTables(Vec<String>),
    /// `ALL SEQUENCES IN SCHEMA names`.
    AllSequences(Vec<String>),
    /// `FUNCTION name [(argument types)]`: a built-in function (all its overloads).
    Function {
        /// Its name (a `pg_catalog.` prefix dropped).
        name: String,
        /// The argument types given (checked to name an existing overload).
        arguments: Option<Vec<rustydb_foundation::DataType>>,
    },
    /// `ALL FUNCTIONS IN SCHEMA names`: the functions of `public`, of which there are none
    /// (the built-in ones live in `pg_catalog`).
    AllFunctions(Vec<String>),
}

/// A bound GRANT / REVOKE / ALTER ... OWNER TO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantStatement {
    /// Privileges on objects.
    Privileges {
        /// GRANT rather than REVOKE.
        grant: bool,
        /// The privileges, each with the columns it is limited to (empty: the whole object);
        /// `None` for ALL [PRIVILEGES].
        privileges: Option<Vec<(Privilege, Vec<String>)>>,
        /// The objects.
        target: Target,
        /// The grantees (`None`: PUBLIC).
        grantees: Vec<Option<String>>,
        /// WITH GRANT OPTION (GRANT) or GRANT OPTION FOR (REVOKE).
        grant_option: bool,
        /// CASCADE (REVOKE).
        cascade: bool,
    },
    /// Membership in roles.
    Roles {
        /// GRANT rather than REVOKE.
        grant: bool,
        /// The roles granted.
        roles: Vec<String>,
        /// Their new members.
        members: Vec<String>,
        /// WITH ADMIN OPTION (GRANT) or ADMIN OPTION FOR (REVOKE).
        admin_option: bool,
    },
    /// `ALTER TABLE name OWNER TO role` (tables, views and sequences).
    Owner {
        /// The relation.
        name: QualifiedName,
        /// The new owner.
        owner: String,
    },
}

impl GrantStatement {
    /// The command tag.
    pub fn command_name(&self) -> &'static str {
        match self {
            GrantStatement::Privileges { grant: true, .. } => "GRANT",
            GrantStatement::Privileges { grant: false, .. } => "REVOKE",
            GrantStatement::Roles { grant: true, .. } => "GRANT ROLE",
            GrantStatement::Roles { grant: false, .. } => "REVOKE ROLE",
            GrantStatement::Owner { .. } => "ALTER TABLE",
        }
    }
}

/// Binds `GRANT`.
pub fn bind_grant(g: &ast::Grant) -> Result<GrantStatement> {
    if g.as_grantor.is_some() || g.granted_by.is_some() || g.current_grants.is_some() {
        return Err(DbError::unsupported("GRANTED BY"));
    }
    bind(true, &g.privileges, g.objects.as_ref(), &g.grantees, g.with_grant_option, false)
}

/// Binds `REVOKE`.
pub fn bind_revoke(r: &ast::Revoke) -> Result<GrantStatement> {
    if r.granted_by.is_some() {
        return Err(DbError::unsupported("GRANTED BY"));
    }
    let cascade = matches!(r.cascade, Some(ast::CascadeOption::Cascade));
    bind(false, &r.privileges, r.objects.as_ref(), &r.grantees, r.grant_option_for, cascade)
}

fn bind(
    grant: bool,
    privileges: &ast::Privileges,
    objects: Option<&ast::GrantObjects>,
    grantees: &[ast::Grantee],
    option: bool,
    cascade: bool,
) -> Result<GrantStatement> {
    let names = grantees.iter().map(grantee).collect::<Result<Vec<_>>>()?;
    let Some(objects) = objects else {
        // A role grant (see parser/role_grants.rs): every action is a role.
        let ast::Privileges::Actions(actions) = privileges else {
            return Err(DbError::syntax("syntax error at or near \"TO\""));
        };
        let roles = actions
            .iter()
            .map(|a| match a {
                ast::Action::Role { role } => object_name(role),
                other => Err(DbError::syntax(format!("syntax error at or near \"{other}\""))),
            })
            .collect::<Result<Vec<_>>>()?;
        let members = names
            .into_iter()
            .map(|n| n.ok_or_else(|| DbError::sql(SqlState::UndefinedObject, "role \"public\" does not exist")))
            .collect::<Result<Vec<_>>>()?;
        return Ok(GrantStatement::Roles { grant, roles, members, admin_option: option });
    };
    let list = |names: &[ast::ObjectName]| names.iter().map(crate::binder::table_name).collect::<Result<Vec<_>>>();
    let plain = |names: &[ast::ObjectName]| names.iter().map(object_name).collect::<Result<Vec<_>>>();
    let target = match objects {
        ast::GrantObjects::Tables(n) | ast::GrantObjects::Views(n) => Target::Relations(list(n)?),
        ast::GrantObjects::Sequences(n) => Target::Sequences(list(n)?),
        ast::GrantObjects::Databases(n) => Target::Databases(plain(n)?),
        ast::GrantObjects::Schemas(n) => Target::Schemas(plain(n)?),
        ast::GrantObjects::AllTablesInSchema { schemas } => Target::AllTables(plain(schemas)?),
        ast::GrantObjects::AllSequencesInSchema { schemas } => Target::AllSequences(plain(schemas)?),
        ast::GrantObjects::AllFunctionsInSchema { schemas } => Target::AllFunctions(plain(schemas)?),
        ast::GrantObjects::Function { name, arg_types } => {
            let name = match name.0.as_slice() {
                [schema, function] if schema.to_string().eq_ignore_ascii_case("pg_catalog") => {
                    object_name(&ast::ObjectName(vec![function.clone()]))?
                }
                _ => object_name(name)?,
            };
            // `f` alone names every overload; `f()` names the one without arguments.
            let arguments = if arg_types.is_empty() {
                None
            } else {
                Some(arg_types.iter().map(crate::bind_expr::convert_type).collect::<Result<Vec<_>>>()?)
            };
            Target::Function { name, arguments }
        }
        other => return Err(DbError::unsupported(format!("privileges on {other}"))),
    };
    let privileges = match privileges {
        ast::Privileges::All { .. } => None,
        ast::Privileges::Actions(actions) => Some(actions.iter().map(action).collect::<Result<Vec<_>>>()?),
    };
    Ok(GrantStatement::Privileges { grant, privileges, target, grantees: names, grant_option: option, cascade })
}

/// A name that has one part (a role's, a database's, a schema's).
pub(crate) fn object_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(ident_name).ok_or_else(|| DbError::syntax(format!("improper name: {name}"))),
        _ => Err(DbError::syntax(format!("improper qualified name (too many dotted names): {name}"))),
    }
}

fn grantee(g: &ast::Grantee) -> Result<Option<String>> {
    match (&g.grantee_type, &g.name) {
        (ast::GranteesType::Public, _) => Ok(None),
        (_, Some(ast::GranteeName::ObjectName(name))) => {
            let name = object_name(name)?;
            Ok((name != "public").then_some(name))
        }
        _ => Err(DbError::syntax(format!("syntax error at or near \"{g}\""))),
    }
}

fn action(a: &ast::Action) -> Result<(Privilege, Vec<String>)> {
    let columns = |c: &Option<Vec<ast::Ident>>| c.iter().flatten().map(ident_name).collect::<Vec<_>>();
    Ok(match a {
        ast::Action::Select { columns: c } => (Privilege::Select, columns(c)),
        ast::Action::Insert { columns: c } => (Privilege::Insert, columns(c)),
        ast::Action::Update { columns: c } => (Privilege::Update, columns(c)),
        ast::Action::References { columns: c } => (Privilege::References, columns(c)),
        ast::Action::Delete => (Privilege::Delete, Vec::new()),
        ast::Action::Truncate => (Privilege::Truncate, Vec::new()),
        ast::Action::Trigger => (Privilege::Trigger, Vec::new()),
        ast::Action::Usage => (Privilege::Usage, Vec::new()),
        ast::Action::Create { obj_type: None } => (Privilege::Create, Vec::new()),
        ast::Action::Connect => (Privilege::Connect, Vec::new()),
        ast::Action::Temporary => (Privilege::Temporary, Vec::new()),
        ast::Action::Execute { obj_type: None } => (Privilege::Execute, Vec::new()),
        other => return Err(DbError::syntax(format!("unrecognized privilege type \"{other}\""))),
    })
}

/// Binds `ALTER TABLE name OWNER TO role`.
pub fn bind_owner(name: &ast::ObjectName, owner: &ast::Owner) -> Result<GrantStatement> {
    let owner = match owner {
        ast::Owner::Ident(i) => ident_name(i),
        ast::Owner::CurrentUser | ast::Owner::SessionUser => "current_user".into(),
        ast::Owner::CurrentRole => return Err(DbError::unsupported("OWNER TO CURRENT_ROLE")),
    };
    Ok(GrantStatement::Owner { name: crate::binder::table_name(name)?, owner })
}

/// Runs a bound GRANT / REVOKE / OWNER TO in the context's transaction.
pub fn execute(ctx: &mut ExecContext<'_>, statement: &GrantStatement) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag(statement.command_name());
    match statement {
        GrantStatement::Privileges { grant, privileges, target, grantees, grant_option, cascade } => {
            let catalog = acl::load(ctx)?;
            let mut resolved = Vec::with_capacity(grantees.len());
            for g in grantees {
                resolved.push(match g.as_deref() {
                    None => None,
                    Some("current_user" | "session_user") => Some(ctx.user.to_string()),
                    Some(name) if catalog.roles.contains_key(name) => Some(name.to_string()),
                    Some(name) => return Err(undefined_role(name)),
                });
            }
            let edit = Edit { grant: *grant, grant_option: *grant_option, cascade: *cascade };
            for object in objects(ctx, target)? {
                on_object(ctx, &edit, privileges.as_deref(), &object, &resolved, &mut result.notices)?;
            }
        }
        GrantStatement::Roles { grant, roles, members, admin_option } => {
            for role in roles {
                for member in members {
                    let notice = membership(ctx, *grant, role, member, *admin_option)?;
                    result.notices.extend(notice);
                }
            }
        }
        GrantStatement::Owner { name, owner } => change_owner(ctx, name, owner)?,
    }
    Ok(result)
}

fn undefined_role(name: &str) -> DbError {
    DbError::sql(SqlState::UndefinedObject, format!("role \"{name}\" does not exist"))
}

/// The namespaces of `schemas`; 3F000 for one that does not exist.
fn check_schemas(ctx: &mut ExecContext<'_>, schemas: &[String]) -> Result<Vec<u32>> {
    let set = ctx.schemas()?;
    schemas
        .iter()
        .map(|s| {
            // Temporary schemas are their sessions' own: not granted on.
            set.by_name(s)
                .filter(|_| !crate::schemas::is_temp_name(s))
                .map(|d| d.id)
                .ok_or_else(|| crate::schemas::undefined_schema(s))
        })
        .collect()
}

/// The objects a target names, each checked to exist.
fn objects(ctx: &mut ExecContext<'_>, target: &Target) -> Result<Vec<ObjectRef>> {
    let mut out = Vec::new();
    match target {
        Target::Relations(names) => {
            for name in names {
                out.push(acl::find_relation(ctx, name)?.ok_or_else(|| DbError::undefined_table(name))?);
            }
        }
        Target::Sequences(names) => {
            for name in names {
                match acl::find_relation(ctx, name)? {
                    Some(o) if o.kind == ObjectKind::Sequence => out.push(o),
                    Some(_) => {
                        return Err(DbError::sql(
                            SqlState::WrongObjectType,
                            format!("\"{}\" is not a sequence", name.name),
                        ));
                    }
                    None => return Err(DbError::undefined_table(name)),
                }
            }
        }
        Target::Databases(names) => {
            for name in names {
                if !catalog::database_exists(ctx, name)? {
                    return Err(DbError::sql(
                        SqlState::InvalidCatalogName,
                        format!("database \"{name}\" does not exist"),
                    ));
                }
                out.push(ObjectRef::new(ObjectKind::Database, name.as_str()));
            }
        }
        Target::Schemas(names) => {
            check_schemas(ctx, names)?;
            out.extend(names.iter().map(|n| ObjectRef::new(ObjectKind::Schema, n.as_str())));
        }
        Target::AllTables(schemas) => {
            let namespaces = check_schemas(ctx, schemas)?;
            for t in catalog::list_tables(ctx)? {
                if !t.is_system() && namespaces.contains(&t.namespace) {
                    out.push(ObjectRef::table(&t));
                }
            }
            for (_, v) in catalog::list_views(ctx)? {
                if namespaces.contains(&v.namespace) {
                    out.push(ObjectRef::view(&v));
                }
            }
            out.sort();
        }
        Target::Function { name, arguments } => {
            if !function_exists(name, arguments.as_deref()) {
                let types: Vec<&str> = arguments.iter().flatten().map(|t| t.sql_name()).collect();
                let shown = if arguments.is_some() { format!("{name}({})", types.join(", ")) } else { name.clone() };
                return Err(DbError::sql(SqlState::UndefinedFunction, format!("function {shown} does not exist")));
            }
            out.push(ObjectRef::new(ObjectKind::Function, name.as_str()));
        }
        Target::AllFunctions(schemas) => {
            check_schemas(ctx, schemas)?;
        }
        Target::AllSequences(schemas) => {
            let namespaces = check_schemas(ctx, schemas)?;
            for (_, s) in catalog::list_sequences(ctx)? {
                if namespaces.contains(&s.namespace) {
                    out.push(ObjectRef::sequence(&s));
                }
            }
            out.sort();
        }
    }
    Ok(out)
}

/// How the ACL items change.
#[derive(Debug, Clone, Copy)]
struct Edit {
    grant: bool,
    grant_option: bool,
    cascade: bool,
}

/// Who grants on `object` for the session's user, what it may grant, and whether it holds no
/// privilege on the object itself: the owner with every option if the user has the owner's
/// privileges; otherwise the user, with the options it holds.
fn grantor(
    ctx: &mut ExecContext<'_>,
    catalog: &acl::SecurityCatalog,
    object: &ObjectRef,
) -> (String, PrivilegeSet, bool) {
    let owner = catalog.owner(object).to_string();
    let Some(control) = ctx.engine.access_control().cloned() else {
        return (owner, object.kind.applicable(), false);
    };
    if catalog.is_superuser(ctx.user) || control.has_privileges_of(catalog, ctx.user, &owner) {
        return (owner, object.kind.applicable(), false);
    }
    let held = control.held(catalog, ctx.user, object, None);
    (ctx.user.to_string(), held.grant_options, held.privileges.is_empty())
}

fn on_object(
    ctx: &mut ExecContext<'_>,
    edit: &Edit,
    privileges: Option<&[(Privilege, Vec<String>)]>,
    object: &ObjectRef,
    grantees: &[Option<String>],
    notices: &mut Vec<Notice>,
) -> Result<()> {
    let catalog = acl::load(ctx)?;
    // What is asked, for the object and for its columns.
    let mut whole = PrivilegeSet::EMPTY;
    let mut columns: Vec<(usize, String, PrivilegeSet)> = Vec::new();
    match privileges {
        None => whole = object.kind.applicable(),
        Some(list) => {
            for (p, cols) in list {
                let kind = if cols.is_empty() { object.kind.noun() } else { "column" };
                let column_ok = matches!(object.kind, ObjectKind::Table | ObjectKind::View)
                    && matches!(p, Privilege::Select | Privilege::Insert | Privilege::Update | Privilege::References);
                if !object.kind.applicable().contains(*p) || (!cols.is_empty() && !column_ok) {
                    return Err(DbError::sql(
                        SqlState::InvalidGrantOperation,
                        format!("invalid privilege type {} for {kind}", p.name()),
                    ));
                }
                if cols.is_empty() {
                    whole = whole.union(PrivilegeSet::of(&[*p]));
                    continue;
                }
                for c in cols {
                    let position = acl::column_position(ctx, object, c)?;
                    match columns.iter_mut().find(|(pos, _, _)| *pos == position) {
                        Some(entry) => entry.2 = entry.2.union(PrivilegeSet::of(&[*p])),
                        None => columns.push((position, c.clone(), PrivilegeSet::of(&[*p]))),
                    }
                }
            }
        }
    }
    let (grantor, options, holds_nothing) = grantor(ctx, &catalog, object);
    // PostgreSQL's restrict_and_check_grant: no grant options and no privilege at all is an
    // error, not a warning.
    if !whole.is_empty() && options.is_empty() && holds_nothing {
        return Err(acl::permission_denied(object));
    }
    if !whole.is_empty() {
        let effective = whole.intersect(options);
        warn_if_short(edit.grant, privileges.is_none(), whole, effective, &format!("\"{}\"", object.name), notices);
        let key = AclKey { object: object.clone(), column: None };
        let mut items = catalog.acl(object, None);
        for g in grantees {
            apply(&mut items, g, &grantor, effective, edit)?;
        }
        acl::write_acl(ctx, &key, &items)?;
        if !edit.grant {
            // A table-level REVOKE takes the same privileges off every column.
            let column_level =
                PrivilegeSet::of(&[Privilege::Select, Privilege::Insert, Privilege::Update, Privilege::References]);
            let revoked = effective.intersect(column_level);
            for (column, current) in catalog.column_acls(object) {
                let mut items = current.clone();
                for g in grantees {
                    apply(&mut items, g, &grantor, revoked, edit)?;
                }
                acl::write_acl(ctx, &AclKey { object: object.clone(), column: Some(column) }, &items)?;
            }
        }
    }
    for (column, name, asked) in columns {
        let mut column_options = options;
        if let Some(control) = ctx.engine.access_control().cloned()
            && grantor == ctx.user
        {
            let held = control.held(&catalog, ctx.user, object, Some(column));
            column_options = column_options.union(held.grant_options);
            if column_options.is_empty() && holds_nothing && held.privileges.is_empty() {
                return Err(acl::permission_denied(object));
            }
        }
        let effective = asked.intersect(column_options);
        let what = format!("column \"{name}\" of relation \"{}\"", object.name);
        warn_if_short(edit.grant, false, asked, effective, &what, notices);
        let mut items = catalog.acl(object, Some(column));
        for g in grantees {
            apply(&mut items, g, &grantor, effective, edit)?;
        }
        acl::write_acl(ctx, &AclKey { object: object.clone(), column: Some(column) }, &items)?;
    }
    Ok(())
}

/// PostgreSQL's warnings when the grantor could grant (or revoke) less than was asked.
fn warn_if_short(
    grant: bool,
    all: bool,
    asked: PrivilegeSet,
    effective: PrivilegeSet,
    what: &str,
    out: &mut Vec<Notice>,
) {
    let (code, none, some) = if grant {
        ("01007", "no privileges were granted for", "not all privileges were granted for")
    } else {
        ("01006", "no privileges could be revoked for", "not all privileges could be revoked for")
    };
    if effective.is_empty() {
        out.push(Notice::warning(code, format!("{none} {what}")));
    } else if !all && effective != asked {
        out.push(Notice::warning(code, format!("{some} {what}")));
    }
}

/// Applies one grant or revoke of `privileges` by `grantor` to `grantee` in `items`.
fn apply(
    items: &mut Vec<AclItem>,
    grantee: &Option<String>,
    grantor: &str,
    privileges: PrivilegeSet,
    edit: &Edit,
) -> Result<()> {
    // The placeholder of an emptied ACL grants nothing; it goes once anything is edited.
    items.retain(|i| !i.privileges.is_empty());
    if privileges.is_empty() {
        return Ok(());
    }
    let position = items.iter().position(|i| i.grantee == *grantee && i.grantor == grantor);
    if edit.grant {
        if grantee.is_none() && edit.grant_option {
            return Err(DbError::sql(SqlState::InvalidGrantOperation, "grant options can only be granted to roles"));
        }
        let index = position.unwrap_or_else(|| {
            items.push(AclItem {
                grantee: grantee.clone(),
                grantor: grantor.to_string(),
                privileges: PrivilegeSet::EMPTY,
                grant_options: PrivilegeSet::EMPTY,
            });
            items.len() - 1
        });
        let item = &mut items[index];
        item.privileges = item.privileges.union(privileges);
        if edit.grant_option {
            item.grant_options = item.grant_options.union(privileges);
        }
        return Ok(());
    }
    let Some(index) = position else { return Ok(()) };
    let item = &mut items[index];
    let lost_options = item.grant_options.intersect(privileges);
    item.grant_options = item.grant_options.minus(privileges);
    if !edit.grant_option {
        item.privileges = item.privileges.minus(privileges);
    }
    // Grants made through the options taken away.
    if let Some(name) = grantee
        && !lost_options.is_empty()
    {
        let dependents: Vec<Option<String>> = items
            .iter()
            .filter(|i| i.grantor == *name && !i.privileges.intersect(lost_options).is_empty())
            .map(|i| i.grantee.clone())
            .collect();
        if !dependents.is_empty() && !edit.cascade {
            return Err(DbError::sql(SqlState::DependentObjectsStillExist, "dependent privileges exist")
                .with_hint("Use CASCADE to revoke them too."));
        }
        let cascaded = Edit { grant: false, grant_option: false, cascade: true };
        for dependent in dependents {
            apply(items, &dependent, name, lost_options, &cascaded)?;
        }
    }
    items.retain(|i| !i.privileges.is_empty());
    Ok(())
}

/// `GRANT role TO member` / `REVOKE role FROM member`.
fn membership(ctx: &mut ExecContext<'_>, grant: bool, role: &str, member: &str, admin: bool) -> Result<Option<Notice>> {
    let catalog = acl::load(ctx)?;
    let role = if role == "current_user" { ctx.user } else { role }.to_string();
    let member = if member == "current_user" { ctx.user } else { member }.to_string();
    if !catalog.roles.contains_key(&role) {
        return Err(undefined_role(&role));
    }
    if !catalog.roles.contains_key(&member) {
        return Err(undefined_role(&member));
    }
    let control = ctx.engine.access_control().cloned();
    if let Some(control) = &control
        && !control.may_administer(&catalog, ctx.user, &role)
    {
        let message = if catalog.is_superuser(&role) {
            "must be superuser to alter superusers".to_string()
        } else {
            format!("must have admin option on role \"{role}\"")
        };
        return Err(DbError::sql(SqlState::InsufficientPrivilege, message));
    }
    let existing = catalog.members.iter().find(|m| m.role == role && m.member == member).cloned();
    if grant {
        if role == member {
            return Err(DbError::sql(
                SqlState::InvalidGrantOperation,
                format!("role \"{member}\" is a member of role \"{role}\""),
            ));
        }
        // A cycle: `role` already belongs to `member`.
        if catalog.roles_of(&role, false).contains(&member) {
            return Err(DbError::sql(
                SqlState::InvalidGrantOperation,
                format!("role \"{role}\" is a member of role \"{member}\""),
            ));
        }
        if let Some(m) = &existing
            && (m.admin_option || !admin)
        {
            return Ok(Some(Notice::plain(format!("role \"{member}\" is already a member of role \"{role}\""))));
        }
        acl::add_member(
            ctx,
            &Membership {
                role,
                member,
                admin_option: admin || existing.is_some_and(|m| m.admin_option),
                grantor: ctx.user.to_string(),
            },
        )?;
        return Ok(None);
    }
    let Some(existing) = existing else {
        return Ok(Some(Notice::warning("01000", format!("role \"{member}\" is not a member of role \"{role}\""))));
    };
    if admin {
        acl::add_member(ctx, &Membership { admin_option: false, ..existing })?;
    } else {
        acl::remove_member(ctx, &role, &member)?;
    }
    Ok(None)
}

/// `ALTER TABLE name OWNER TO role`: the owner (or a superuser) gives a relation to a role it
/// is a member of; the ACL's items naming the old owner name the new one.
fn change_owner(ctx: &mut ExecContext<'_>, name: &QualifiedName, new_owner: &str) -> Result<()> {
    let new_owner = if new_owner == "current_user" { ctx.user } else { new_owner }.to_string();
    let object = acl::find_relation(ctx, name)?.ok_or_else(|| DbError::undefined_table(name))?;
    let catalog = acl::load(ctx)?;
    if !catalog.roles.contains_key(&new_owner) {
        return Err(undefined_role(&new_owner));
    }
    let old_owner = catalog.owner(&object).to_string();
    if old_owner == new_owner {
        return Ok(());
    }
    if let Some(control) = ctx.engine.access_control().cloned()
        && !catalog.is_superuser(ctx.user)
    {
        if !control.has_privileges_of(&catalog, ctx.user, &old_owner) {
            return Err(acl::must_be_owner(&object));
        }
        if !control.is_member_of(&catalog, ctx.user, &new_owner) {
            return Err(DbError::sql(
                SqlState::InsufficientPrivilege,
                format!("must be member of role \"{new_owner}\""),
            ));
        }
        // The new owner must be able to create in the relation's schema, as PostgreSQL asks.
        if let Some(schema) = catalog.schema_names.get(&object.namespace) {
            let schema = ObjectRef::new(ObjectKind::Schema, schema.as_str());
            if !control.held(&catalog, &new_owner, &schema, None).privileges.contains(Privilege::Create) {
                return Err(acl::permission_denied(&schema));
            }
        }
    }
    acl::transfer_ownership(ctx, &catalog, &object, &new_owner)
}

/// Whether `name` is a function (scalar, aggregate, window or catalog) taking `arguments`, or,
/// without them, taking some arguments (tried with up to three of type text or integer).
fn function_exists(name: &str, arguments: Option<&[rustydb_foundation::DataType]>) -> bool {
    use crate::expr::Expr;
    use rustydb_foundation::DataType as T;
    if crate::bind_aggregate::is_aggregate(name) || crate::bind_query::is_window_function(name) {
        return true;
    }
    let resolves = |types: &[T]| {
        let args: Vec<Expr> = types.iter().map(|&ty| Expr::Column { index: usize::MAX, ty }).collect();
        crate::functions::resolve(name, args.clone(), false).is_ok()
            || crate::pg_catalog::bind_function(None, name, &args).is_ok_and(|f| f.is_some())
    };
    match arguments {
        Some(types) => resolves(types),
        None => {
            let array = T::Array(rustydb_foundation::ElementType::Text);
            let shapes: [&[T]; 11] = [
                &[array],
                &[array, T::Text],
                &[array, T::Int8],
                &[],
                &[T::Text],
                &[T::Int8],
                &[T::Text, T::Text],
                &[T::Text, T::Int8],
                &[T::Float8],
                &[T::Text, T::Text, T::Text],
                &[T::Text, T::Int8, T::Int8],
            ];
            shapes.iter().any(|s| resolves(s))
        }
    }
}
