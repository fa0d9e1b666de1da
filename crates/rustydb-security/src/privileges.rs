//! Privilege decisions: the [`AccessControl`] the engine asks before every statement runs.
//!
//! The rules are PostgreSQL 15's:
//!
//! - **Superusers** pass every check.
//! - **Whose privileges count.** A role uses its own privileges, PUBLIC's, and — if it has
//!   INHERIT — those of every role it is a member of, following memberships onward only through
//!   roles that have INHERIT themselves (`has_privs_of_role`). Membership without inheritance
//!   still counts where PostgreSQL counts plain membership (ALTER ... OWNER TO, cycles).
//! - **Owners** hold what their object's ACL gives them (by default everything) and may always
//!   grant: the owner implicitly holds every grant option (`aclmask`).
//! - **Relations** (`ExecCheckOneRelPerms`): each required privilege is held on the relation, or —
//!   for SELECT, INSERT and UPDATE — on every column the statement reads, inserts or updates
//!   (for a SELECT that reads no column, on any one column).
//! - **Memberships** are granted by superusers, by CREATEROLE roles (not for superuser roles), and
//!   by members holding the admin option.
//! - **Row-level security** applies to a table with RLS enabled, except to superusers and (unless
//!   the table FORCEs it) its owner: the policies for the command and for roles whose privileges
//!   the user has give the filter; with none, no row passes.
//!
//! Everything is a pure function of the [`SecurityCatalog`] the engine hands in; there is no
//! state here, so one checker serves every session.

use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_query::acl::{
    self, AccessControl, AccessRequest, Held, ObjectKind, ObjectRef, Privilege, PrivilegeSet, SecurityCatalog,
};
use rustydb_query::row_security::{PolicyClause, PolicyCommand, RowFilter};

/// PostgreSQL's privilege rules over the catalog's ACLs.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrivilegeChecker;

impl PrivilegeChecker {
    /// `user` and the roles whose privileges it has.
    fn privileged_roles(catalog: &SecurityCatalog, user: &str) -> Vec<String> {
        catalog.roles_of(user, true)
    }

    fn held_by(catalog: &SecurityCatalog, roles: &[String], object: &ObjectRef, column: Option<usize>) -> Held {
        let mut held = Held::default();
        for item in catalog.acl(object, column) {
            if item.grantee.as_ref().is_none_or(|g| roles.contains(g)) {
                held.privileges = held.privileges.union(item.privileges);
                held.grant_options = held.grant_options.union(item.grant_options);
            }
        }
        if column.is_none() && roles.iter().any(|r| r == catalog.owner(object)) {
            held.grant_options = object.kind.applicable();
        }
        held
    }

    /// A relation is reached through its schema: USAGE on that (PostgreSQL checks it when
    /// the name is looked up).
    fn check_schema_usage(catalog: &SecurityCatalog, roles: &[String], object: &ObjectRef) -> Result<()> {
        if !object.kind.in_schema() {
            return Ok(());
        }
        let Some(name) = catalog.schema_names.get(&object.namespace) else { return Ok(()) };
        let schema = ObjectRef::new(ObjectKind::Schema, name.as_str());
        if Self::held_by(catalog, roles, &schema, None).privileges.contains(Privilege::Usage) {
            Ok(())
        } else {
            Err(acl::permission_denied(&schema))
        }
    }

    fn check_relation(catalog: &SecurityCatalog, user: &str, r: &acl::RelationAccess) -> Result<()> {
        let roles = Self::privileged_roles(catalog, user);
        Self::check_schema_usage(catalog, &roles, &r.object)?;
        let held = Self::held_by(catalog, &roles, &r.object, None).privileges;
        let missing = r.required.minus(held);
        if missing.is_empty() {
            return Ok(());
        }
        let column_level = PrivilegeSet::of(&[Privilege::Select, Privilege::Insert, Privilege::Update]);
        if !missing.minus(column_level).is_empty() {
            return Err(acl::permission_denied(&r.object));
        }
        let column_acls = catalog.column_acls(&r.object);
        for p in missing.iter() {
            let columns = match p {
                Privilege::Select => &r.selected,
                Privilege::Insert => &r.inserted,
                _ => &r.updated,
            };
            let on_column = |c: usize| Self::held_by(catalog, &roles, &r.object, Some(c)).privileges.contains(p);
            let ok = if columns.is_empty() {
                column_acls.iter().any(|(c, _)| on_column(*c))
            } else {
                columns.iter().all(|c| on_column(*c))
            };
            if !ok {
                return Err(acl::permission_denied(&r.object));
            }
        }
        Ok(())
    }
}

impl AccessControl for PrivilegeChecker {
    fn check(&self, catalog: &SecurityCatalog, user: &str, request: &AccessRequest) -> Result<()> {
        let user = match request {
            AccessRequest::Relation(r) => r.check_as.as_deref().unwrap_or(user),
            _ => user,
        };
        if catalog.is_superuser(user) {
            return Ok(());
        }
        match request {
            AccessRequest::Relation(r) => Self::check_relation(catalog, user, r),
            AccessRequest::Object { object, any_of } => {
                Self::check_schema_usage(catalog, &Self::privileged_roles(catalog, user), object)?;
                let held = self.held(catalog, user, object, None).privileges;
                if held.intersect(*any_of).is_empty() {
                    return Err(acl::permission_denied(object));
                }
                Ok(())
            }
            AccessRequest::Owner { object } => {
                if self.has_privileges_of(catalog, user, catalog.owner(object)) {
                    Ok(())
                } else {
                    Err(acl::must_be_owner(object))
                }
            }
        }
    }

    fn held(&self, catalog: &SecurityCatalog, user: &str, object: &ObjectRef, column: Option<usize>) -> Held {
        if catalog.is_superuser(user) {
            let all = object.kind.applicable();
            return Held { privileges: all, grant_options: all };
        }
        Self::held_by(catalog, &Self::privileged_roles(catalog, user), object, column)
    }

    fn has_privileges_of(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool {
        catalog.is_superuser(user) || Self::privileged_roles(catalog, user).iter().any(|r| r == role)
    }

    fn is_member_of(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool {
        catalog.roles_of(user, false).iter().any(|r| r == role)
    }

    fn may_administer(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool {
        if catalog.is_superuser(user) {
            return true;
        }
        if catalog.is_superuser(role) {
            return false;
        }
        if catalog.roles.get(user).is_some_and(|r| r.create_role) {
            return true;
        }
        let mine = catalog.roles_of(user, false);
        catalog.members.iter().any(|m| m.role == role && m.admin_option && mine.contains(&m.member))
    }

    fn row_filter(
        &self,
        catalog: &SecurityCatalog,
        user: &str,
        table: &ObjectRef,
        command: PolicyCommand,
        with_check: bool,
    ) -> Option<RowFilter> {
        let (enabled, forced) = catalog.rls.get(table).copied().unwrap_or_default();
        if !enabled || catalog.is_superuser(user) {
            return None;
        }
        // The owner bypasses its table's policies unless the table FORCEs them.
        let owner = catalog.owner(table);
        if !forced && self.has_privileges_of(catalog, user, owner) {
            return None;
        }
        let roles = Self::privileged_roles(catalog, user);
        let mut filter = RowFilter::default();
        for p in catalog.policies.iter().filter(|p| p.table == table.name && p.namespace == table.namespace) {
            if p.command != PolicyCommand::All && p.command != command {
                continue;
            }
            if !p.roles.is_empty() && !p.roles.iter().any(|r| roles.contains(r)) {
                continue;
            }
            // Written rows: WITH CHECK, or USING where the policy has none.
            let clause = if with_check { p.with_check.as_ref().or(p.using.as_ref()) } else { p.using.as_ref() };
            let clause = clause.cloned().unwrap_or_else(|| "true".to_string());
            if p.permissive {
                filter.permissive.push(PolicyClause { sql: clause, search_path: p.search_path.clone() });
            } else {
                filter.restrictive.push(PolicyClause { sql: clause, search_path: p.search_path.clone() });
            }
        }
        Some(filter)
    }
}

/// Refuses a login to a database the role may not CONNECT to (42501, as PostgreSQL's FATAL).
pub fn check_connect(catalog: &SecurityCatalog, user: &str, database: &str) -> Result<()> {
    let object = ObjectRef::new(ObjectKind::Database, database);
    if PrivilegeChecker.held(catalog, user, &object, None).privileges.contains(Privilege::Connect) {
        return Ok(());
    }
    Err(DbError::sql(SqlState::InsufficientPrivilege, format!("permission denied for database \"{database}\""))
        .with_detail("User does not have CONNECT privilege."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_query::acl::{AclItem, AclKey, Membership, RelationAccess, RoleFlags};

    fn role(superuser: bool, inherit: bool) -> RoleFlags {
        RoleFlags { superuser, inherit, create_role: false }
    }

    fn catalog() -> SecurityCatalog {
        let mut c = SecurityCatalog::default();
        c.databases.push(("db".into(), "admin".into()));
        c.roles.insert("admin".into(), role(true, true));
        c.roles.insert("alice".into(), role(false, true));
        c.roles.insert("bob".into(), role(false, false));
        c.roles.insert("staff".into(), role(false, true));
        c.roles.insert("owner".into(), role(false, true));
        let member = |r: &str, m: &str| Membership {
            role: r.into(),
            member: m.into(),
            admin_option: false,
            grantor: "admin".into(),
        };
        c.members.push(member("staff", "alice"));
        c.members.push(member("staff", "bob"));
        let t = ObjectRef::relation(ObjectKind::Table, 2200, "t");
        c.owners.insert(t.clone(), "owner".into());
        let item = |grantee: &str, privileges: &[Privilege]| AclItem {
            grantee: Some(grantee.into()),
            grantor: "owner".into(),
            privileges: PrivilegeSet::of(privileges),
            grant_options: PrivilegeSet::EMPTY,
        };
        c.acls.insert(
            AclKey { object: t.clone(), column: None },
            vec![item("owner", &[Privilege::Select, Privilege::Insert]), item("staff", &[Privilege::Select])],
        );
        c.acls.insert(AclKey { object: t, column: Some(1) }, vec![item("bob", &[Privilege::Update])]);
        c
    }

    fn relation(required: &[Privilege]) -> RelationAccess {
        RelationAccess::new(ObjectRef::relation(ObjectKind::Table, 2200, "t"), PrivilegeSet::of(required))
    }

    fn code(r: Result<()>) -> &'static str {
        r.map_or_else(|e| e.sqlstate().code(), |()| "ok")
    }

    #[test]
    fn inheritance_follows_the_inherit_attribute() {
        let c = catalog();
        let check = |user: &str, r: RelationAccess| code(PrivilegeChecker.check(&c, user, &AccessRequest::Relation(r)));
        assert_eq!(check("alice", relation(&[Privilege::Select])), "ok");
        // bob is a member of staff but NOINHERIT.
        assert_eq!(check("bob", relation(&[Privilege::Select])), "42501");
        assert_eq!(check("alice", relation(&[Privilege::Delete])), "42501");
        assert_eq!(check("admin", relation(&[Privilege::Delete])), "ok");
        // The owner revoked its own DELETE (the explicit ACL lacks it) but may still grant it.
        assert_eq!(check("owner", relation(&[Privilege::Delete])), "42501");
        let held = PrivilegeChecker.held(&c, "owner", &ObjectRef::relation(ObjectKind::Table, 2200, "t"), None);
        assert!(held.grant_options.contains(Privilege::Delete));
        assert!(PrivilegeChecker.is_member_of(&c, "bob", "staff"));
        assert!(!PrivilegeChecker.has_privileges_of(&c, "bob", "staff"));
    }

    #[test]
    fn column_privileges_cover_exactly_their_columns() {
        let c = catalog();
        let check = |r: RelationAccess| code(PrivilegeChecker.check(&c, "bob", &AccessRequest::Relation(r)));
        let mut update = relation(&[Privilege::Update]);
        update.updated.insert(1);
        assert_eq!(check(update.clone()), "ok");
        update.updated.insert(0);
        assert_eq!(check(update), "42501");
        // A view's reads are checked as its owner.
        let mut as_owner = relation(&[Privilege::Insert]);
        as_owner.check_as = Some("owner".into());
        assert_eq!(check(as_owner), "ok");
    }

    #[test]
    fn connect_comes_from_public_by_default() {
        let c = catalog();
        assert!(check_connect(&c, "alice", "db").is_ok());
        let mut revoked = c.clone();
        let db = ObjectRef::new(ObjectKind::Database, "db");
        revoked
            .acls
            .insert(AclKey { object: db, column: None }, acl::default_acl(ObjectKind::Database, "admin")[1..].to_vec());
        assert_eq!(check_connect(&revoked, "alice", "db").unwrap_err().sqlstate().code(), "42501");
        assert!(check_connect(&revoked, "admin", "db").is_ok());
    }
}
