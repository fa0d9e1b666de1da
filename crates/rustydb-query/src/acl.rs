//! Privileges as data: what the catalog records about who may do what (owners, access control
//! lists, role memberships), what a statement asks for, and the contract the security layer
//! implements to decide.
//!
//! ## Where the decision is made
//! The binder records an [`AccessRequest`] for every object a statement touches, as PostgreSQL's
//! range table records required permissions: a relation with the privileges needed and the
//! columns read, inserted and updated; an object needing one privilege (CREATE on the schema);
//! an object only its owner may change. Before the statement runs, the session hands the
//! requests and a [`SecurityCatalog`] (everything privilege checks read, as one immutable value)
//! to the engine's [`AccessControl`] — the security layer's, installed by the server and the
//! embedded API alike, so wire, REST and embedded statements pass the same gate. An engine
//! without one checks nothing (the query crate's own tests run that way).
//!
//! Statements that find their objects only while running (DROP, TRUNCATE, LOCK, `nextval`)
//! check through [`require`] at that point, with the same contract.
//!
//! ## The data
//! - Owners live in `rustydb_owners`; an object without a row (created before ownership was
//!   recorded, or the database's `public` schema) belongs to the database owner.
//! - An object's ACL is PostgreSQL's: items of (grantee or PUBLIC, grantor, privileges, grant
//!   options), one `rustydb_acl` row each. An object with no rows has its kind's default ACL
//!   ([`default_acl`]); the first GRANT or REVOKE writes the default out and edits it, as
//!   PostgreSQL materialises `relacl` on first change. Column privileges are separate ACLs keyed
//!   by column position.
//! - Memberships (`GRANT role TO member`) live in `rustydb_members`.
//!
//! Roles are referred to by name everywhere; renaming a role rewrites the three tables.

use crate::catalog::QualifiedName;
use crate::catalog::{self, PrivilegeTable, RoleDef, text};
use crate::context::ExecContext;
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// One privilege, with PostgreSQL's ACL letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// `a`: INSERT.
    Insert,
    /// `r`: SELECT.
    Select,
    /// `w`: UPDATE.
    Update,
    /// `d`: DELETE.
    Delete,
    /// `D`: TRUNCATE.
    Truncate,
    /// `x`: REFERENCES.
    References,
    /// `t`: TRIGGER.
    Trigger,
    /// `X`: EXECUTE.
    Execute,
    /// `U`: USAGE.
    Usage,
    /// `C`: CREATE.
    Create,
    /// `c`: CONNECT.
    Connect,
    /// `T`: TEMPORARY.
    Temporary,
}

impl Privilege {
    /// Every privilege, in the order PostgreSQL prints ACL letters (`arwdDxtXUCTc`).
    pub const ALL: [Privilege; 12] = [
        Privilege::Insert,
        Privilege::Select,
        Privilege::Update,
        Privilege::Delete,
        Privilege::Truncate,
        Privilege::References,
        Privilege::Trigger,
        Privilege::Execute,
        Privilege::Usage,
        Privilege::Create,
        Privilege::Temporary,
        Privilege::Connect,
    ];

    /// The ACL letter.
    pub fn letter(self) -> char {
        match self {
            Privilege::Insert => 'a',
            Privilege::Select => 'r',
            Privilege::Update => 'w',
            Privilege::Delete => 'd',
            Privilege::Truncate => 'D',
            Privilege::References => 'x',
            Privilege::Trigger => 't',
            Privilege::Execute => 'X',
            Privilege::Usage => 'U',
            Privilege::Create => 'C',
            Privilege::Connect => 'c',
            Privilege::Temporary => 'T',
        }
    }

    /// The SQL keyword.
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Insert => "INSERT",
            Privilege::Select => "SELECT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
            Privilege::Truncate => "TRUNCATE",
            Privilege::References => "REFERENCES",
            Privilege::Trigger => "TRIGGER",
            Privilege::Execute => "EXECUTE",
            Privilege::Usage => "USAGE",
            Privilege::Create => "CREATE",
            Privilege::Connect => "CONNECT",
            Privilege::Temporary => "TEMPORARY",
        }
    }

    /// The privilege a keyword names (`TEMP` too), as `has_*_privilege` and GRANT take them.
    pub fn parse(word: &str) -> Option<Privilege> {
        let word = word.trim().to_ascii_uppercase();
        if word == "TEMP" {
            return Some(Privilege::Temporary);
        }
        Privilege::ALL.into_iter().find(|p| p.name() == word)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of privileges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PrivilegeSet(u16);

impl PrivilegeSet {
    /// No privileges.
    pub const EMPTY: PrivilegeSet = PrivilegeSet(0);

    /// The set of `privileges`.
    pub fn of(privileges: &[Privilege]) -> Self {
        PrivilegeSet(privileges.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// True if `p` is in the set.
    pub fn contains(self, p: Privilege) -> bool {
        self.0 & p.bit() != 0
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Both sets together.
    pub fn union(self, other: PrivilegeSet) -> Self {
        PrivilegeSet(self.0 | other.0)
    }

    /// What both sets hold.
    pub fn intersect(self, other: PrivilegeSet) -> Self {
        PrivilegeSet(self.0 & other.0)
    }

    /// This set without `other`'s privileges.
    pub fn minus(self, other: PrivilegeSet) -> Self {
        PrivilegeSet(self.0 & !other.0)
    }

    /// The privileges, in ACL letter order.
    pub fn iter(self) -> impl Iterator<Item = Privilege> {
        Privilege::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The ACL letters (`arwdDxt`).
    pub fn letters(self) -> String {
        self.iter().map(Privilege::letter).collect()
    }

    /// Parses ACL letters as stored.
    pub fn parse_letters(letters: &str) -> Result<Self> {
        let mut set = PrivilegeSet::EMPTY;
        for c in letters.chars() {
            let p = Privilege::ALL
                .into_iter()
                .find(|p| p.letter() == c)
                .ok_or_else(|| DbError::Corruption(format!("unknown privilege letter {c:?} in the catalog")))?;
            set = set.union(PrivilegeSet::of(&[p]));
        }
        Ok(set)
    }
}

/// The kinds of object that have owners and privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A view (a relation with table privileges).
    View,
    /// A sequence.
    Sequence,
    /// A database.
    Database,
    /// A schema (`public`).
    Schema,
    /// A function, by name (its overloads share one ACL).
    Function,
}

impl ObjectKind {
    /// The noun in messages ("permission denied for view v").
    pub fn noun(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Database => "database",
            ObjectKind::Schema => "schema",
            ObjectKind::Function => "function",
        }
    }

    /// Whether objects of the kind live in a schema (relations: tables, views, sequences).
    pub fn in_schema(self) -> bool {
        matches!(self, ObjectKind::Table | ObjectKind::View | ObjectKind::Sequence)
    }

    fn parse(tag: &str) -> Result<Self> {
        Ok(match tag {
            "table" => ObjectKind::Table,
            "view" => ObjectKind::View,
            "sequence" => ObjectKind::Sequence,
            "database" => ObjectKind::Database,
            "schema" => ObjectKind::Schema,
            "function" => ObjectKind::Function,
            other => return Err(DbError::Corruption(format!("unknown object kind {other:?} in the catalog"))),
        })
    }

    /// The privileges that apply to the kind (PostgreSQL's ACL_ALL_RIGHTS_*).
    pub fn applicable(self) -> PrivilegeSet {
        use Privilege::*;
        match self {
            ObjectKind::Table | ObjectKind::View => {
                PrivilegeSet::of(&[Insert, Select, Update, Delete, Truncate, References, Trigger])
            }
            ObjectKind::Sequence => PrivilegeSet::of(&[Usage, Select, Update]),
            ObjectKind::Database => PrivilegeSet::of(&[Create, Temporary, Connect]),
            ObjectKind::Schema => PrivilegeSet::of(&[Usage, Create]),
            ObjectKind::Function => PrivilegeSet::of(&[Execute]),
        }
    }
}

/// An object: its kind, name and, for a relation, the namespace (schema) it is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// What it is.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
    /// A relation's namespace; 0 for the kinds outside schemas (databases, schemas, functions).
    pub namespace: u32,
}

impl ObjectRef {
    /// The object `name` of a kind outside schemas (a database, schema or function).
    pub fn new(kind: ObjectKind, name: impl Into<String>) -> Self {
        debug_assert!(!kind.in_schema(), "a relation named without its namespace");
        ObjectRef { kind, name: name.into(), namespace: 0 }
    }

    /// Relation `name` of `kind` in `namespace`.
    pub fn relation(kind: ObjectKind, namespace: u32, name: impl Into<String>) -> Self {
        ObjectRef { kind, name: name.into(), namespace }
    }

    /// Table `table`.
    pub fn table(table: &crate::catalog::TableDef) -> Self {
        ObjectRef::relation(ObjectKind::Table, table.namespace, table.name.as_str())
    }

    /// View `view`.
    pub fn view(view: &crate::catalog::ViewDef) -> Self {
        ObjectRef::relation(ObjectKind::View, view.namespace, view.name.as_str())
    }

    /// Sequence `sequence`.
    pub fn sequence(sequence: &crate::catalog::SequenceDef) -> Self {
        ObjectRef::relation(ObjectKind::Sequence, sequence.namespace, sequence.name.as_str())
    }

    /// "table t", as messages name it.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind.noun(), self.name)
    }
}

/// One ACL item: `grantee=privileges/grantor`, `*` after a letter marking a grant option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclItem {
    /// The role given the privileges (`None`: PUBLIC, every role).
    pub grantee: Option<String>,
    /// Who gave them.
    pub grantor: String,
    /// The privileges.
    pub privileges: PrivilegeSet,
    /// Those the grantee may grant on (a subset of `privileges`).
    pub grant_options: PrivilegeSet,
}

impl std::fmt::Display for AclItem {
    /// PostgreSQL's `aclitem` text: `alice=a*r/postgres`, `=r/postgres` for PUBLIC.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut letters = String::new();
        for p in self.privileges.iter() {
            letters.push(p.letter());
            if self.grant_options.contains(p) {
                letters.push('*');
            }
        }
        write!(f, "{}={}/{}", self.grantee.as_deref().unwrap_or(""), letters, self.grantor)
    }
}

/// The ACL of an object (or one column of it) when no GRANT or REVOKE has touched it.
pub fn default_acl(kind: ObjectKind, owner: &str) -> Vec<AclItem> {
    use Privilege::*;
    let item = |grantee: Option<&str>, privileges: PrivilegeSet| AclItem {
        grantee: grantee.map(str::to_string),
        grantor: owner.to_string(),
        privileges,
        grant_options: PrivilegeSet::EMPTY,
    };
    match kind {
        ObjectKind::Table | ObjectKind::View | ObjectKind::Sequence => vec![item(Some(owner), kind.applicable())],
        // PostgreSQL gives PUBLIC CONNECT and TEMPORARY on databases, and (since 15) only
        // USAGE on `public`.
        ObjectKind::Database => {
            vec![item(None, PrivilegeSet::of(&[Temporary, Connect])), item(Some(owner), kind.applicable())]
        }
        ObjectKind::Schema => vec![item(Some(owner), kind.applicable()), item(None, PrivilegeSet::of(&[Usage]))],
        // PUBLIC may execute every function until a REVOKE says otherwise.
        ObjectKind::Function => vec![item(None, PrivilegeSet::of(&[Execute])), item(Some(owner), kind.applicable())],
    }
}

/// A role membership: `member` is a member of `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The role whose privileges are shared.
    pub role: String,
    /// The member.
    pub member: String,
    /// WITH ADMIN OPTION: the member may grant `role` to others.
    pub admin_option: bool,
    /// Who granted it.
    pub grantor: String,
}

/// What a role is, as privilege checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFlags {
    /// Bypasses every check.
    pub superuser: bool,
    /// Uses the privileges of the roles it is a member of.
    pub inherit: bool,
    /// May create roles and grant memberships in non-superuser roles.
    pub create_role: bool,
}

/// Where an ACL lives: an object, or one column of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclKey {
    /// The object.
    pub object: ObjectRef,
    /// The column's position (`None`: the object itself).
    pub column: Option<usize>,
}

/// Everything privilege checks read, as of one moment: built from the catalog once per catalog
/// generation and shared (see [`load`]).
#[derive(Debug, Clone, Default)]
pub struct SecurityCatalog {
    /// Roles by name.
    pub roles: HashMap<String, RoleFlags>,
    /// Memberships.
    pub members: Vec<Membership>,
    /// Explicit ACLs (objects with none use [`default_acl`]).
    pub acls: HashMap<AclKey, Vec<AclItem>>,
    /// Recorded owners.
    pub owners: HashMap<ObjectRef, String>,
    /// Databases and their owners; the first is the bootstrap database.
    pub databases: Vec<(String, String)>,
    /// The session's database, whose owner owns its `public` schema (PostgreSQL 15's
    /// `pg_database_owner`).
    pub database: String,
    /// Row-level security policies.
    pub policies: Vec<crate::row_security::Policy>,
    /// Tables with RLS flags: (enabled, forced).
    pub rls: HashMap<ObjectRef, (bool, bool)>,
    /// The database's schemas by namespace: what a relation's USAGE check names.
    pub schema_names: HashMap<u32, String>,
}

impl SecurityCatalog {
    /// The owner of `object`: a database's own; otherwise recorded; for schema `public`
    /// without a recorded owner (no ALTER SCHEMA ... OWNER TO), the session's database's owner
    /// (PostgreSQL 15's `pg_database_owner`); otherwise (the system catalogs, built-in
    /// functions) the bootstrap database's owner, the bootstrap superuser.
    pub fn owner(&self, object: &ObjectRef) -> &str {
        let database = match object.kind {
            ObjectKind::Database => Some(object.name.as_str()),
            ObjectKind::Schema if object.name == "public" && !self.owners.contains_key(object) => {
                Some(self.database.as_str())
            }
            _ => None,
        };
        if let Some(database) = database
            && let Some((_, owner)) = self.databases.iter().find(|(name, _)| name == database)
        {
            return owner;
        }
        if let Some(owner) = self.owners.get(object) {
            return owner;
        }
        self.databases.first().map_or("", |(_, owner)| owner.as_str())
    }

    /// The ACL of `object` (or of its column): explicit, or the kind's default; a column
    /// without one has none.
    pub fn acl(&self, object: &ObjectRef, column: Option<usize>) -> Vec<AclItem> {
        let key = AclKey { object: object.clone(), column };
        match self.acls.get(&key) {
            Some(items) => items.clone(),
            None if column.is_some() => Vec::new(),
            None => default_acl(object.kind, self.owner(object)),
        }
    }

    /// The columns of `object` that have ACLs of their own.
    pub fn column_acls(&self, object: &ObjectRef) -> Vec<(usize, &Vec<AclItem>)> {
        let mut out: Vec<(usize, &Vec<AclItem>)> = self
            .acls
            .iter()
            .filter(|(k, _)| k.object == *object)
            .filter_map(|(k, items)| k.column.map(|c| (c, items)))
            .collect();
        out.sort_by_key(|(c, _)| *c);
        out
    }

    /// True if `role` is a superuser.
    pub fn is_superuser(&self, role: &str) -> bool {
        self.roles.get(role).is_some_and(|r| r.superuser)
    }

    /// `user` and every role it is a member of, directly or not; with `inheriting`, only the
    /// memberships that pass privileges on (followed onward through roles with INHERIT).
    pub fn roles_of(&self, user: &str, inheriting: bool) -> Vec<String> {
        let mut out = vec![user.to_string()];
        let mut i = 0;
        while i < out.len() {
            let current = out[i].clone();
            i += 1;
            if inheriting && !self.roles.get(&current).is_some_and(|r| r.inherit) {
                continue;
            }
            for m in self.members.iter().filter(|m| m.member == current) {
                if !out.contains(&m.role) {
                    out.push(m.role.clone());
                }
            }
        }
        out
    }
}

/// What a statement needs of one relation it reads or writes (PostgreSQL's range table entry
/// permissions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationAccess {
    /// The relation.
    pub object: ObjectRef,
    /// The privileges needed (SELECT, INSERT, UPDATE, DELETE, ...).
    pub required: PrivilegeSet,
    /// Columns read (empty with SELECT required: any one column's SELECT will do).
    pub selected: BTreeSet<usize>,
    /// Columns given values by an INSERT.
    pub inserted: BTreeSet<usize>,
    /// Columns assigned by an UPDATE.
    pub updated: BTreeSet<usize>,
    /// The role checked (a view's owner for the relations its query reads; `None`: the
    /// session's user).
    pub check_as: Option<String>,
    /// The binder's column ids for the relation's columns, in order (to find `selected` once
    /// the statement is bound).
    pub(crate) column_ids: Vec<usize>,
}

impl RelationAccess {
    /// A request for `required` on `object`, columns to be filled in.
    pub fn new(object: ObjectRef, required: PrivilegeSet) -> Self {
        RelationAccess {
            object,
            required,
            selected: BTreeSet::new(),
            inserted: BTreeSet::new(),
            updated: BTreeSet::new(),
            check_as: None,
            column_ids: Vec::new(),
        }
    }
}

/// One thing a statement needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessRequest {
    /// Reading or writing a relation.
    Relation(RelationAccess),
    /// One of `any_of` on an object (`nextval` takes USAGE or UPDATE).
    Object {
        /// The object.
        object: ObjectRef,
        /// Any one of these suffices.
        any_of: PrivilegeSet,
    },
    /// Changing an object only its owner (or a member of the owning role) may change.
    Owner {
        /// The object.
        object: ObjectRef,
    },
}

/// What a role holds on an object: privileges, and the subset it may grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// The privileges.
    pub privileges: PrivilegeSet,
    /// Those it may grant.
    pub grant_options: PrivilegeSet,
}

/// The security layer's decisions. Implementations must be pure functions of their arguments:
/// the catalog is the whole truth.
pub trait AccessControl: Send + Sync + std::fmt::Debug {
    /// Allows `request` for `user`, or says why not (42501).
    fn check(&self, catalog: &SecurityCatalog, user: &str, request: &AccessRequest) -> Result<()>;

    /// What `user` holds on `object` (or on its column `column`, column privileges only),
    /// counting the roles whose privileges it has.
    fn held(&self, catalog: &SecurityCatalog, user: &str, object: &ObjectRef, column: Option<usize>) -> Held;

    /// True if `user` has the privileges of `role` (is it, or inherits from it).
    fn has_privileges_of(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool;

    /// True if `user` is a member of `role`, directly or not, whatever INHERIT says.
    fn is_member_of(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool;

    /// True if `user` may grant and revoke membership in `role`.
    fn may_administer(&self, catalog: &SecurityCatalog, user: &str, role: &str) -> bool;

    /// The row-level security filter for `user` on `table` for `command` — its USING clauses,
    /// or (`with_check`) those rows written must pass — or `None` where RLS does not apply.
    fn row_filter(
        &self,
        catalog: &SecurityCatalog,
        user: &str,
        table: &ObjectRef,
        command: crate::row_security::PolicyCommand,
        with_check: bool,
    ) -> Option<crate::row_security::RowFilter>;
}

/// The security catalog as the context's transaction sees it: the shared copy of the latest
/// committed catalog, or (once the transaction has changed the catalog itself) one read now.
pub fn load(ctx: &mut ExecContext<'_>) -> Result<Arc<SecurityCatalog>> {
    if ctx.txn.catalog_changed {
        return read(ctx).map(Arc::new);
    }
    let cache = ctx.engine.catalog_cache().clone();
    let namespace = ctx.namespace()?;
    if let Some(c) = cache.security(namespace) {
        return Ok(c);
    }
    let generation = cache.generation();
    let loaded = Arc::new(ctx.with_catalog_snapshot(read)?);
    cache.insert_security(generation, namespace, loaded.clone());
    Ok(loaded)
}

fn read(ctx: &mut ExecContext<'_>) -> Result<SecurityCatalog> {
    let mut out = SecurityCatalog::default();
    for role in catalog::list_roles(ctx)? {
        out.roles.insert(role.name.clone(), flags(&role));
    }
    for (_, row) in crate::access::scan(ctx, catalog::privilege_table(PrivilegeTable::Members))? {
        out.members.push(Membership {
            role: text(&row[0])?,
            member: text(&row[1])?,
            admin_option: row[2] == Value::Bool(true),
            grantor: text(&row[3])?,
        });
    }
    let owners = catalog::privilege_table(PrivilegeTable::Owners);
    for (_, row) in crate::access::scan(ctx, owners)? {
        out.owners.insert(object_of_row(owners, &row)?, text(&row[2])?);
    }
    for (_, row) in crate::access::scan(ctx, catalog::privilege_table(PrivilegeTable::Acl))? {
        let (key, item) = acl_from_row(&row)?;
        out.acls.entry(key).or_default().push(item);
    }
    // In id order: the bootstrap database first.
    out.databases = crate::databases::list(ctx)?.into_iter().map(|(_, d)| (d.name, d.owner)).collect();
    out.database = ctx.database.to_string();
    let (policies, flags) = crate::row_security::read(ctx)?;
    out.policies = policies;
    out.rls = flags.into_iter().map(|(t, e, f)| (t, (e, f))).collect();
    out.schema_names = ctx.schemas()?.iter().map(|s| (s.id, s.name.clone())).collect();
    Ok(out)
}

/// The object a row of `rustydb_owners` or `rustydb_acl` (`table`) is about.
fn object_of_row(table: &crate::catalog::TableDef, row: &[Value]) -> Result<ObjectRef> {
    let kind = ObjectKind::parse(&text(&row[0])?)?;
    let namespace = match catalog::namespace_column(table) {
        Some(column) if kind.in_schema() => catalog::row_namespace(table, row, column).unwrap_or_default(),
        _ => 0,
    };
    Ok(ObjectRef { kind, name: text(&row[1])?, namespace })
}

/// The namespace column's value for a row about `object`: a relation's namespace; `None` for
/// the other kinds, whose rows [`crate::access::insert_raw`] puts in the database's `public`.
fn namespace_value(object: &ObjectRef) -> Option<Value> {
    object.kind.in_schema().then_some(Value::Int4(object.namespace as i32))
}

fn acl_from_row(row: &[Value]) -> Result<(AclKey, AclItem)> {
    let column = match row[2] {
        Value::Int4(c) if c >= 0 => Some(c as usize),
        _ => None,
    };
    let grantee = text(&row[3])?;
    Ok((
        AclKey { object: object_of_row(catalog::privilege_table(PrivilegeTable::Acl), row)?, column },
        AclItem {
            grantee: (!grantee.is_empty()).then_some(grantee),
            grantor: text(&row[4])?,
            privileges: PrivilegeSet::parse_letters(&text(&row[5])?)?,
            grant_options: PrivilegeSet::parse_letters(&text(&row[6])?)?,
        },
    ))
}

fn kind_tag(kind: ObjectKind) -> Value {
    Value::Text(kind.noun().into())
}

/// Checks the requests the binder recorded for the statement about to run (and forgets them).
pub fn check_statement(ctx: &mut ExecContext<'_>) -> Result<()> {
    let requests = std::mem::take(&mut ctx.access_requests);
    if requests.is_empty() {
        return Ok(());
    }
    let Some(control) = ctx.engine.access_control().cloned() else { return Ok(()) };
    let catalog = load(ctx)?;
    for request in &requests {
        control.check(&catalog, ctx.user, request)?;
    }
    Ok(())
}

/// Checks one request now (for statements that find their objects while running).
pub fn require(ctx: &mut ExecContext<'_>, request: AccessRequest) -> Result<()> {
    let Some(control) = ctx.engine.access_control().cloned() else { return Ok(()) };
    let catalog = load(ctx)?;
    control.check(&catalog, ctx.user, &request)
}

/// Checks that the session's user owns `object` (42501 "must be owner of ...").
pub fn require_owner(ctx: &mut ExecContext<'_>, object: ObjectRef) -> Result<()> {
    require(ctx, AccessRequest::Owner { object })
}

/// The CREATE privilege on the schema of namespace `namespace`, which new tables, views and
/// sequences need.
pub fn require_create_in_schema(ctx: &mut ExecContext<'_>, namespace: u32) -> Result<()> {
    let schemas = ctx.schemas()?;
    let name = schemas.name(namespace).unwrap_or("public");
    require(
        ctx,
        AccessRequest::Object {
            object: ObjectRef::new(ObjectKind::Schema, name),
            any_of: PrivilegeSet::of(&[Privilege::Create]),
        },
    )
}

/// Records a read of relation `object` (a FROM item).
pub(crate) fn note_relation(ctx: &mut ExecContext<'_>, access: RelationAccess) {
    ctx.access_requests.push(AccessRequest::Relation(access));
}

/// After a query is bound: the columns each FROM item's relation had read, from the ids the
/// bound plan (`rel`, still in binder ids) reads anywhere. Requests from `first` on are filled.
pub(crate) fn note_reads(ctx: &mut ExecContext<'_>, first: usize, rel: &crate::rel::Rel) {
    if ctx.engine.access_control().is_none() || first >= ctx.access_requests.len() {
        return;
    }
    let mut read = std::collections::HashSet::new();
    read_ids(rel, &mut read, true);
    for request in &mut ctx.access_requests[first..] {
        if let AccessRequest::Relation(r) = request {
            for (position, id) in r.column_ids.iter().enumerate() {
                if read.contains(id) {
                    r.selected.insert(position);
                }
            }
        }
    }
}

/// Every column id `rel` reads: in its operators' expressions, its subqueries, what set
/// operations pass through, and (at the top) its output.
fn read_ids(rel: &crate::rel::Rel, out: &mut std::collections::HashSet<usize>, top: bool) {
    use crate::expr::Expr;
    use crate::rel::Rel;
    if top {
        out.extend(rel.output());
    }
    for e in rel.exprs() {
        e.walk(&mut |x| match x {
            Expr::Column { index, .. } => {
                out.insert(*index);
            }
            Expr::Subquery(sq) => read_ids(&sq.plan, out, true),
            _ => {}
        });
    }
    if matches!(rel, Rel::SetOp { .. } | Rel::RecursiveUnion { .. }) {
        for input in rel.inputs() {
            out.extend(input.output());
        }
    }
    for input in rel.inputs() {
        read_ids(input, out, false);
    }
}

/// Gives `object` to `new_owner` (ALTER ... OWNER TO): its explicit ACL's items naming the old
/// owner, as grantor or grantee, name the new one, and the owner row changes.
pub fn transfer_ownership(
    ctx: &mut ExecContext<'_>,
    catalog: &SecurityCatalog,
    object: &ObjectRef,
    new_owner: &str,
) -> Result<()> {
    let old_owner = catalog.owner(object).to_string();
    let key = AclKey { object: object.clone(), column: None };
    if catalog.acls.contains_key(&key) {
        let mut items = catalog.acl(object, None);
        for item in &mut items {
            if item.grantor == old_owner {
                item.grantor = new_owner.to_string();
            }
            if item.grantee.as_deref() == Some(old_owner.as_str()) {
                item.grantee = Some(new_owner.to_string());
            }
        }
        write_acl(ctx, &key, &items)?;
    }
    set_owner(ctx, object, new_owner)
}

/// Records that the session's user owns the new object `object`.
pub fn record_owner(ctx: &mut ExecContext<'_>, object: &ObjectRef) -> Result<()> {
    let owner = ctx.user.to_string();
    set_owner(ctx, object, &owner)
}

/// Makes `owner` the owner of `object` (ALTER ... OWNER TO).
pub fn set_owner(ctx: &mut ExecContext<'_>, object: &ObjectRef, owner: &str) -> Result<()> {
    catalog::note_change(ctx);
    delete_rows(ctx, PrivilegeTable::Owners, |row| row_names(PrivilegeTable::Owners, row, object))?;
    let mut row = vec![kind_tag(object.kind), Value::Text(object.name.clone()), Value::Text(owner.into())];
    row.extend(namespace_value(object));
    crate::access::insert_raw(ctx, catalog::privilege_table(PrivilegeTable::Owners), &row)?;
    Ok(())
}

/// Records that the statement calls function `name` (once per statement and function): it
/// needs EXECUTE, checked with the statement's other requests.
pub fn note_execute(ctx: &mut ExecContext<'_>, name: &str) {
    if ctx.engine.access_control().is_none() {
        return;
    }
    let object = ObjectRef::new(ObjectKind::Function, name);
    let any_of = PrivilegeSet::of(&[Privilege::Execute]);
    let seen = ctx.access_requests.iter().any(|r| matches!(r, AccessRequest::Object { object: o, .. } if *o == object));
    if !seen {
        ctx.access_requests.push(AccessRequest::Object { object, any_of });
    }
}

/// Forgets a dropped object's owner and ACLs (a new object of the same name starts afresh).
pub fn forget(ctx: &mut ExecContext<'_>, object: &ObjectRef) -> Result<()> {
    catalog::note_change(ctx);
    delete_rows(ctx, PrivilegeTable::Owners, |row| row_names(PrivilegeTable::Owners, row, object))?;
    delete_rows(ctx, PrivilegeTable::Acl, |row| row_names(PrivilegeTable::Acl, row, object))?;
    if object.kind == ObjectKind::Table {
        crate::row_security::forget_table(ctx, object.namespace, &object.name)?;
    }
    Ok(())
}

/// A relation's name changed: its owner and ACL rows follow (and, for a table, its policies).
pub fn rename_object(ctx: &mut ExecContext<'_>, object: &ObjectRef, to: &str) -> Result<()> {
    for table in [PrivilegeTable::Owners, PrivilegeTable::Acl] {
        catalog::rewrite_rows(ctx, catalog::privilege_table(table), |row| {
            Ok(row_names(table, row, object) && {
                row[1] = Value::Text(to.into());
                true
            })
        })?;
    }
    if object.kind == ObjectKind::Table {
        crate::row_security::rename_table(ctx, object.namespace, &object.name, to)?;
    }
    Ok(())
}

/// Column `position` of table `table` was dropped: its privileges go, and those of the
/// columns after it move down one place.
pub fn drop_column(ctx: &mut ExecContext<'_>, table: &crate::catalog::TableDef, position: usize) -> Result<()> {
    let object = ObjectRef::table(table);
    let column = Value::Int4(position as i32);
    delete_rows(ctx, PrivilegeTable::Acl, |row| row_names(PrivilegeTable::Acl, row, &object) && row[2] == column)?;
    catalog::rewrite_rows(ctx, catalog::privilege_table(PrivilegeTable::Acl), |row| {
        Ok(row_names(PrivilegeTable::Acl, row, &object) && matches!(row[2], Value::Int4(p) if p > position as i32) && {
            if let Value::Int4(p) = row[2] {
                row[2] = Value::Int4(p - 1);
            }
            true
        })
    })?;
    catalog::note_change(ctx);
    Ok(())
}

/// Whether `row`, of the owners or ACL catalog, is about `object`.
fn row_names(table: PrivilegeTable, row: &[Value], object: &ObjectRef) -> bool {
    row[0] == kind_tag(object.kind)
        && row[1] == Value::Text(object.name.clone())
        && (!object.kind.in_schema() || {
            let def = catalog::privilege_table(table);
            catalog::namespace_column(def).and_then(|c| catalog::row_namespace(def, row, c)) == Some(object.namespace)
        })
}

fn delete_rows(ctx: &mut ExecContext<'_>, table: PrivilegeTable, matches: impl Fn(&[Value]) -> bool) -> Result<usize> {
    let def = catalog::privilege_table(table);
    let mut doomed: Vec<TupleId> = Vec::new();
    for (tid, row) in crate::access::scan(ctx, def)? {
        if matches(&row) {
            doomed.push(tid);
        }
    }
    for tid in &doomed {
        crate::access::delete(ctx, def, *tid)?;
    }
    Ok(doomed.len())
}

/// Replaces the ACL of `key` by `items` (written out even when empty, so an object whose every
/// privilege was revoked does not fall back to its default).
pub fn write_acl(ctx: &mut ExecContext<'_>, key: &AclKey, items: &[AclItem]) -> Result<()> {
    catalog::note_change(ctx);
    let column = Value::Int4(key.column.map_or(-1, |c| c as i32));
    delete_rows(ctx, PrivilegeTable::Acl, |row| row_names(PrivilegeTable::Acl, row, &key.object) && row[2] == column)?;
    let def = catalog::privilege_table(PrivilegeTable::Acl);
    let placeholder;
    let items: &[AclItem] = if items.is_empty() && key.column.is_none() {
        // An emptied object ACL is kept as one PUBLIC item that grants nothing.
        placeholder = [AclItem {
            grantee: None,
            grantor: String::new(),
            privileges: PrivilegeSet::EMPTY,
            grant_options: PrivilegeSet::EMPTY,
        }];
        &placeholder
    } else {
        items
    };
    for item in items {
        let mut row = vec![
            kind_tag(key.object.kind),
            Value::Text(key.object.name.clone()),
            column.clone(),
            Value::Text(item.grantee.clone().unwrap_or_default()),
            Value::Text(item.grantor.clone()),
            Value::Text(item.privileges.letters()),
            Value::Text(item.grant_options.letters()),
        ];
        row.extend(namespace_value(&key.object));
        crate::access::insert_raw(ctx, def, &row)?;
    }
    Ok(())
}

/// Adds a membership row.
pub fn add_member(ctx: &mut ExecContext<'_>, m: &Membership) -> Result<()> {
    catalog::note_change(ctx);
    delete_rows(ctx, PrivilegeTable::Members, |row| {
        row[0] == Value::Text(m.role.clone()) && row[1] == Value::Text(m.member.clone())
    })?;
    let row = [
        Value::Text(m.role.clone()),
        Value::Text(m.member.clone()),
        Value::Bool(m.admin_option),
        Value::Text(m.grantor.clone()),
    ];
    crate::access::insert_raw(ctx, catalog::privilege_table(PrivilegeTable::Members), &row)?;
    Ok(())
}

/// Removes `member`'s membership in `role`; false if there was none.
pub fn remove_member(ctx: &mut ExecContext<'_>, role: &str, member: &str) -> Result<bool> {
    catalog::note_change(ctx);
    let removed = delete_rows(ctx, PrivilegeTable::Members, |row| {
        row[0] == Value::Text(role.into()) && row[1] == Value::Text(member.into())
    })?;
    Ok(removed > 0)
}

/// A role's name changed: its ownerships, ACL items and memberships follow.
pub fn rename_role(ctx: &mut ExecContext<'_>, from: &str, to: &str) -> Result<()> {
    let from_v = Value::Text(from.into());
    let to_v = Value::Text(to.into());
    for (table, columns) in [
        (PrivilegeTable::Owners, &[2usize][..]),
        (PrivilegeTable::Acl, &[3, 4][..]),
        (PrivilegeTable::Members, &[0, 1, 3][..]),
    ] {
        let def = catalog::privilege_table(table);
        // Roles are shared by every database: so are the rows naming them.
        for (tid, mut row) in crate::access::scan_unscoped(ctx, def)? {
            if columns.iter().any(|&c| row[c] == from_v) {
                catalog::note_change(ctx);
                for &c in columns {
                    if row[c] == from_v {
                        row[c] = to_v.clone();
                    }
                }
                crate::access::delete(ctx, def, tid)?;
                crate::access::insert_raw(ctx, def, &row)?;
            }
        }
    }
    Ok(())
}

/// What keeps role `role` from being dropped: the objects it owns and those it has privileges
/// on, as PostgreSQL's 2BP01 detail lists them. Its memberships go with it (see
/// [`drop_role_memberships`]).
pub fn role_dependents(ctx: &mut ExecContext<'_>, role: &str) -> Result<Vec<String>> {
    let catalog = load(ctx)?;
    let mut out = Vec::new();
    let mut owned: Vec<&ObjectRef> = catalog.owners.iter().filter(|(_, o)| *o == role).map(|(k, _)| k).collect();
    owned.sort();
    for object in owned {
        out.push(format!("owner of {}", object.describe()));
    }
    for (name, owner) in &catalog.databases {
        if owner == role {
            out.push(format!("owner of database {name}"));
        }
    }
    let mut keys: Vec<&AclKey> = catalog
        .acls
        .iter()
        .filter(|(_, items)| {
            items.iter().any(|i| i.grantee.as_deref() == Some(role) || (i.grantor == role && !i.privileges.is_empty()))
        })
        .map(|(k, _)| k)
        .collect();
    keys.sort_by(|a, b| (&a.object, a.column).cmp(&(&b.object, b.column)));
    for key in keys {
        out.push(match key.column {
            None => format!("privileges for {}", key.object.describe()),
            Some(c) => format!("privileges for column {} of {}", c + 1, key.object.describe()),
        });
    }
    out.extend(dependents_elsewhere(ctx, role)?);
    Ok(out)
}

/// "N objects in database D" for each other database where `role` owns objects or holds or
/// granted privileges, as PostgreSQL's DROP ROLE detail counts them.
fn dependents_elsewhere(ctx: &mut ExecContext<'_>, role: &str) -> Result<Vec<String>> {
    let here = ctx.namespace()?;
    let name = Value::Text(role.into());
    let mut counts: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for (table, columns) in [(PrivilegeTable::Owners, &[2usize][..]), (PrivilegeTable::Acl, &[3, 4][..])] {
        let def = catalog::privilege_table(table);
        let column = catalog::namespace_column(def).unwrap_or(usize::MAX);
        for (_, row) in crate::access::scan_unscoped(ctx, def)? {
            let namespace = catalog::row_namespace(def, &row, column);
            if namespace.is_some_and(|n| n != here) && columns.iter().any(|&c| row[c] == name) {
                *counts.entry(namespace.unwrap_or(here)).or_default() += 1;
            }
        }
    }
    let mut out = Vec::new();
    for (namespace, count) in counts {
        let database = crate::databases::database_of_namespace(ctx, namespace)?.unwrap_or_else(|| "?".into());
        out.push(match count {
            1 => format!("1 object in database {database}"),
            n => format!("{n} objects in database {database}"),
        });
    }
    Ok(out)
}

/// Removes every membership of or in `role` (DROP ROLE).
pub fn drop_role_memberships(ctx: &mut ExecContext<'_>, role: &str) -> Result<()> {
    let name = Value::Text(role.into());
    let removed = delete_rows(ctx, PrivilegeTable::Members, |row| row[0] == name || row[1] == name)?;
    if removed > 0 {
        catalog::note_change(ctx);
    }
    Ok(())
}

/// The role flags of a [`RoleDef`].
fn flags(role: &RoleDef) -> RoleFlags {
    RoleFlags { superuser: role.superuser, inherit: role.inherit, create_role: role.create_role }
}

/// The relation `name` stands for (table, view or sequence), with its kind; `None` if there
/// is none or it is a system catalog. Each namespace of the search path is looked in for all
/// three kinds before the next, as they share one namespace in PostgreSQL.
pub fn find_relation(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<Option<ObjectRef>> {
    if name.namespace(ctx)? != crate::catalog::Lookup::Nowhere
        && catalog::system_tables().iter().any(|t| t.name == name.name)
    {
        return Ok(None);
    }
    for namespace in name.namespaces(ctx)? {
        if catalog::find_table_in(ctx, namespace, &name.name)?.is_some() {
            return Ok(Some(ObjectRef::relation(ObjectKind::Table, namespace, name.name.as_str())));
        }
        if catalog::find_view_in(ctx, namespace, &name.name)?.is_some() {
            return Ok(Some(ObjectRef::relation(ObjectKind::View, namespace, name.name.as_str())));
        }
        if catalog::find_sequence_in(ctx, namespace, &name.name)?.is_some() {
            return Ok(Some(ObjectRef::relation(ObjectKind::Sequence, namespace, name.name.as_str())));
        }
    }
    Ok(None)
}

/// The position of `column` in relation `object` (a table's or a view's columns); 42703 if it
/// has none of that name.
pub fn column_position(ctx: &mut ExecContext<'_>, object: &ObjectRef, column: &str) -> Result<usize> {
    let columns: Vec<String> = match object.kind {
        ObjectKind::Table => catalog::find_table_in(ctx, object.namespace, &object.name)?
            .map(|t| t.schema.columns.iter().map(|c| c.name.clone()).collect()),
        ObjectKind::View => catalog::find_view_in(ctx, object.namespace, &object.name)?.map(|(_, v)| v.columns),
        _ => None,
    }
    .unwrap_or_default();
    columns.iter().position(|c| c == column).ok_or_else(|| {
        DbError::sql(
            SqlState::UndefinedColumn,
            format!("column \"{column}\" of relation \"{}\" does not exist", object.name),
        )
    })
}

/// 42501 as PostgreSQL words a missing privilege.
pub fn permission_denied(object: &ObjectRef) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, format!("permission denied for {}", object.describe()))
}

/// 42501 as PostgreSQL words a missing ownership.
pub fn must_be_owner(object: &ObjectRef) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, format!("must be owner of {}", object.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_items_print_as_postgresql_prints_them() {
        let item = AclItem {
            grantee: Some("alice".into()),
            grantor: "postgres".into(),
            privileges: PrivilegeSet::of(&[Privilege::Select, Privilege::Insert]),
            grant_options: PrivilegeSet::of(&[Privilege::Insert]),
        };
        assert_eq!(item.to_string(), "alice=a*r/postgres");
        let public = AclItem { grantee: None, grant_options: PrivilegeSet::EMPTY, ..item };
        assert_eq!(public.to_string(), "=ar/postgres");
        assert_eq!(default_acl(ObjectKind::Table, "o")[0].to_string(), "o=arwdDxt/o");
        assert_eq!(default_acl(ObjectKind::Sequence, "o")[0].to_string(), "o=rwU/o");
        let db: Vec<String> = default_acl(ObjectKind::Database, "o").iter().map(ToString::to_string).collect();
        assert_eq!(db, ["=Tc/o", "o=CTc/o"]);
    }

    #[test]
    fn letters_round_trip_and_unknown_letters_are_corruption() {
        let all = ObjectKind::Table.applicable();
        assert_eq!(PrivilegeSet::parse_letters(&all.letters()).unwrap(), all);
        assert!(PrivilegeSet::parse_letters("q").is_err());
        assert_eq!(Privilege::parse("temp"), Some(Privilege::Temporary));
        assert_eq!(Privilege::parse(" select "), Some(Privilege::Select));
        assert_eq!(Privilege::parse("fly"), None);
    }
}
