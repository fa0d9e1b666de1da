//! Privileges over the wire, as PostgreSQL 15 has them: two login roles and a group role, each
//! privilege granted, used, revoked and denied with 42501; inherited through a role (and not
//! through a NOINHERIT member); column privileges; sequences; views read with their owner's
//! privileges; CREATE on `public`; ownership; grant options and CASCADE; CONNECT; prepared
//! statements checked again at execution; the same checks in the embedded API; and grants that
//! survive a restart.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, ok, sqlstate};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

async fn denied(client: &Client, sql: &str) {
    assert_eq!(sqlstate(client, sql).await, SqlState::INSUFFICIENT_PRIVILEGE, "{sql}");
}

async fn setup(server: &TestServer) -> (Client, Client, Client) {
    let admin = server.connect().await;
    ok(
        &admin,
        "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN NOINHERIT; CREATE ROLE staff;
         CREATE TABLE t (id int PRIMARY KEY, a int, b text);
         INSERT INTO t VALUES (1, 10, 'one'), (2, 20, 'two');",
    )
    .await;
    let alice = server.connect_as("alice", "rustydb").await.unwrap();
    let bob = server.connect_as("bob", "rustydb").await.unwrap();
    (admin, alice, bob)
}

/// Each table privilege: denied, granted (to the user, then through a role), revoked.
#[tokio::test]
async fn each_table_privilege_is_granted_inherited_and_revoked() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    let uses = [
        ("SELECT", "SELECT count(*) FROM t"),
        ("INSERT", "INSERT INTO t (id) VALUES (100)"),
        ("UPDATE", "UPDATE t SET b = 'x' WHERE false"),
        ("DELETE", "DELETE FROM t WHERE false"),
        ("TRUNCATE", "TRUNCATE t"),
    ];
    for (privilege, sql) in uses {
        // Every use needs its own privilege, nothing else will do.
        denied(&alice, sql).await;
        ok(&admin, &format!("GRANT {privilege} ON t TO alice")).await;
        ok(&alice, &format!("BEGIN; {sql}; ROLLBACK")).await;
        ok(&admin, &format!("REVOKE {privilege} ON t FROM alice")).await;
        denied(&alice, sql).await;
        // Through a role: alice (INHERIT) uses it, bob (NOINHERIT) does not.
        ok(&admin, &format!("GRANT {privilege} ON t TO staff")).await;
        ok(&admin, "GRANT staff TO alice, bob").await;
        ok(&alice, &format!("BEGIN; {sql}; ROLLBACK")).await;
        denied(&bob, sql).await;
        ok(&admin, "REVOKE staff FROM alice, bob").await;
        denied(&alice, sql).await;
        ok(&admin, &format!("REVOKE {privilege} ON t FROM staff")).await;
    }
    // UPDATE with a WHERE that reads columns also needs SELECT, as in PostgreSQL.
    ok(&admin, "GRANT UPDATE ON t TO alice").await;
    ok(&alice, "UPDATE t SET b = 'x' WHERE false").await;
    denied(&alice, "UPDATE t SET b = 'x' WHERE id = 1").await;
    ok(&admin, "GRANT SELECT ON t TO alice").await;
    ok(&alice, "UPDATE t SET b = 'x' WHERE id = 1").await;
    // PUBLIC covers everyone.
    denied(&bob, "SELECT * FROM t").await;
    ok(&admin, "GRANT SELECT ON t TO PUBLIC").await;
    ok(&bob, "SELECT * FROM t").await;
    // has_table_privilege answers as the checks do.
    let row = admin
        .query_one("SELECT has_table_privilege('alice', 't', 'UPDATE'), has_table_privilege('bob', 't', 'DELETE')", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert!(!row.get::<_, bool>(1));
    // ... and so it does when its arguments come from rows (psql's \l+ asks it per database).
    let rows = admin
        .query(
            "SELECT r.u, has_table_privilege(r.u, 't', r.p) FROM (VALUES ('alice', 'UPDATE'), ('bob', 'DELETE'), \
             ('bob', 'SELECT'), (NULL, 'SELECT')) r(u, p) ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(Option<String>, Option<bool>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        [
            (Some("alice".into()), Some(true)),
            (Some("bob".into()), Some(false)),
            (Some("bob".into()), Some(true)),
            (None, None),
        ]
    );
    // Errors say what PostgreSQL says.
    let err = alice.simple_query("DELETE FROM t").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().message(), "permission denied for table t");
}

#[tokio::test]
async fn column_privileges_cover_only_their_columns() {
    let server = TestServer::start();
    let (admin, alice, _bob) = setup(&server).await;
    ok(&admin, "GRANT SELECT (id, a) ON t TO alice; GRANT UPDATE (b) ON t TO alice").await;
    let rows = alice.query("SELECT id, a FROM t ORDER BY id", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    ok(&alice, "SELECT count(*) FROM t").await;
    denied(&alice, "SELECT b FROM t").await;
    denied(&alice, "SELECT * FROM t").await;
    denied(&alice, "SELECT id FROM t WHERE b = 'one'").await;
    ok(&alice, "UPDATE t SET b = 'uno' WHERE id = 1").await;
    denied(&alice, "UPDATE t SET a = 0 WHERE id = 1").await;
    // A table-level REVOKE takes the column grants too.
    ok(&admin, "REVOKE SELECT ON t FROM alice").await;
    denied(&alice, "SELECT id FROM t").await;
    // Unknown columns and privileges a column cannot have.
    assert_eq!(sqlstate(&admin, "GRANT SELECT (nope) ON t TO alice").await, SqlState::UNDEFINED_COLUMN);
    assert_eq!(sqlstate(&admin, "GRANT USAGE ON t TO alice").await, SqlState::INVALID_GRANT_OPERATION);
}

/// RETURNING reads the columns it returns, and naming an ON CONFLICT arbiter reads its
/// columns: both need SELECT on them, as in PostgreSQL; DO UPDATE needs UPDATE.
#[tokio::test]
async fn returning_and_on_conflict_need_select_on_what_they_read() {
    let server = TestServer::start();
    let (admin, alice, _bob) = setup(&server).await;
    ok(&admin, "GRANT INSERT ON t TO alice").await;
    ok(&alice, "INSERT INTO t VALUES (3, 30, 'three')").await;
    denied(&alice, "INSERT INTO t VALUES (4, 40, 'four') RETURNING id").await;
    ok(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT DO NOTHING").await;
    denied(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT (id) DO NOTHING").await;
    ok(&admin, "GRANT SELECT (id) ON t TO alice").await;
    ok(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT (id) DO NOTHING").await;
    ok(&alice, "INSERT INTO t VALUES (4, 40, 'four') RETURNING id").await;
    denied(&alice, "INSERT INTO t VALUES (5, 50, 'five') RETURNING a").await;
    denied(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT (id) DO UPDATE SET a = 1").await;
    ok(&admin, "GRANT UPDATE (a) ON t TO alice").await;
    ok(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT (id) DO UPDATE SET a = excluded.a + 1").await;
    // Reading the existing row's `a` needs SELECT on it.
    denied(&alice, "INSERT INTO t VALUES (3, 0, 'x') ON CONFLICT (id) DO UPDATE SET a = t.a + 1").await;
    let a: i32 = admin.query_one("SELECT a FROM t WHERE id = 3", &[]).await.unwrap().get(0);
    assert_eq!(a, 1);
}

#[tokio::test]
async fn sequences_views_and_the_public_schema() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    // Sequences: USAGE for nextval, SELECT for currval, UPDATE for setval.
    ok(&admin, "CREATE SEQUENCE s").await;
    denied(&alice, "SELECT nextval('s')").await;
    ok(&admin, "GRANT USAGE ON SEQUENCE s TO alice").await;
    ok(&alice, "SELECT nextval('s'), currval('s')").await;
    denied(&alice, "SELECT setval('s', 5)").await;
    ok(&admin, "GRANT UPDATE ON SEQUENCE s TO alice").await;
    ok(&alice, "SELECT setval('s', 5)").await;
    // A view reads its tables with its owner's privileges: alice needs SELECT on the view only.
    ok(&admin, "CREATE VIEW v AS SELECT id, a FROM t").await;
    denied(&alice, "SELECT * FROM v").await;
    ok(&admin, "GRANT SELECT ON v TO alice").await;
    assert_eq!(alice.query("SELECT * FROM v", &[]).await.unwrap().len(), 2);
    denied(&alice, "SELECT * FROM t").await;
    // PostgreSQL 15: only the database owner creates in `public` until CREATE is granted.
    denied(&alice, "CREATE TABLE mine (x int)").await;
    ok(&admin, "GRANT CREATE ON SCHEMA public TO alice").await;
    ok(&alice, "CREATE TABLE mine (x int); INSERT INTO mine VALUES (1)").await;
    // alice owns it: bob may not read it until she grants, and may not drop it at all.
    denied(&bob, "SELECT * FROM mine").await;
    ok(&alice, "GRANT SELECT ON mine TO bob").await;
    ok(&bob, "SELECT * FROM mine").await;
    let err = bob.simple_query("DROP TABLE mine").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().message(), "must be owner of table mine");
    // The owner's view of someone else's table fails at use, as the owner lacks SELECT.
    ok(&alice, "CREATE VIEW peek AS SELECT b FROM t; GRANT SELECT ON peek TO bob").await;
    denied(&bob, "SELECT * FROM peek").await;
    ok(&admin, "GRANT SELECT ON t TO alice").await;
    ok(&bob, "SELECT * FROM peek").await;
}

#[tokio::test]
async fn ownership_grant_options_and_cascade() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    // A grant option lets alice pass SELECT on; she cannot pass on what she lacks.
    ok(&admin, "GRANT SELECT ON t TO alice WITH GRANT OPTION; GRANT INSERT ON t TO alice").await;
    ok(&alice, "GRANT SELECT ON t TO bob").await;
    ok(&bob, "SELECT * FROM t").await;
    let warned = alice.simple_query("GRANT INSERT ON t TO bob").await;
    assert!(warned.is_ok(), "a grant without the option warns (01007), it does not fail");
    denied(&bob, "INSERT INTO t (id) VALUES (9)").await;
    // Taking alice's option back must cascade to bob's grant.
    assert_eq!(
        sqlstate(&admin, "REVOKE GRANT OPTION FOR SELECT ON t FROM alice").await,
        SqlState::DEPENDENT_OBJECTS_STILL_EXIST
    );
    ok(&admin, "REVOKE GRANT OPTION FOR SELECT ON t FROM alice CASCADE").await;
    denied(&bob, "SELECT * FROM t").await;
    ok(&alice, "SELECT * FROM t").await;
    // Ownership: only the owner drops or alters; ALTER TABLE OWNER TO hands it over.
    denied(&alice, "DROP TABLE t").await;
    denied(&alice, "CREATE INDEX t_a ON t (a)").await;
    ok(&admin, "ALTER TABLE t OWNER TO alice").await;
    ok(&alice, "CREATE INDEX t_a ON t (a); DELETE FROM t WHERE id = 2").await;
    // A role that owns something or holds privileges cannot be dropped.
    assert_eq!(sqlstate(&admin, "DROP ROLE alice").await, SqlState::DEPENDENT_OBJECTS_STILL_EXIST);
    // Memberships need the admin option; cycles are refused.
    ok(&admin, "GRANT staff TO alice WITH ADMIN OPTION").await;
    ok(&alice, "GRANT staff TO bob").await;
    denied(&bob, "GRANT staff TO alice").await;
    assert_eq!(sqlstate(&admin, "GRANT alice TO staff").await, SqlState::INVALID_GRANT_OPERATION);
    assert_eq!(sqlstate(&admin, "GRANT staff TO nobody").await, SqlState::UNDEFINED_OBJECT);
    // VACUUM skips (with PostgreSQL's warning) the tables the user does not own.
    let (client, mut connection) =
        tokio_postgres::connect(&server.conn_str("bob", "rustydb"), tokio_postgres::NoTls).await.unwrap();
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        use futures::StreamExt;
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if let Ok(tokio_postgres::AsyncMessage::Notice(n)) = message {
                let _ = tx.send(n.message().to_string());
            }
        }
    });
    client.simple_query("VACUUM t").await.unwrap();
    assert_eq!(notices.recv().await.unwrap(), "skipping \"t\" --- only table or database owner can vacuum it");
    // CHECKPOINT is for superusers, as in PostgreSQL 15.
    let err = alice.simple_query("CHECKPOINT").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    ok(&admin, "CHECKPOINT").await;
    // Renaming a role carries its grants along.
    ok(&admin, "CREATE ROLE carol LOGIN; GRANT SELECT ON t TO carol; ALTER ROLE carol RENAME TO caroline").await;
    let caroline = server.connect_as("caroline", "rustydb").await.unwrap();
    ok(&caroline, "SELECT * FROM t").await;
}

#[tokio::test]
async fn connect_prepared_statements_embedded_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path());
    let (admin, alice, _bob) = setup(&server).await;
    ok(&admin, "GRANT SELECT ON t TO alice").await;
    // A statement prepared while allowed is checked again when it runs.
    let prepared = alice.prepare("SELECT a FROM t WHERE id = $1").await.unwrap();
    assert_eq!(alice.query_one(&prepared, &[&1i32]).await.unwrap().get::<_, i32>(0), 10);
    ok(&admin, "REVOKE SELECT ON t FROM alice").await;
    let err = alice.query_one(&prepared, &[&1i32]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    // CONNECT: PUBLIC has it until revoked.
    ok(&admin, "REVOKE CONNECT ON DATABASE rustydb FROM PUBLIC").await;
    let refused = server.connect_as("alice", "rustydb").await.unwrap_err();
    assert_eq!(refused.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    ok(&admin, "GRANT CONNECT ON DATABASE rustydb TO alice; GRANT SELECT (a) ON t TO alice").await;
    drop(server);
    // Grants are catalog rows: they survive a restart.
    let server = TestServer::start_in(dir.path());
    let alice = server.connect_as("alice", "rustydb").await.unwrap();
    ok(&alice, "SELECT a FROM t").await;
    denied(&alice, "SELECT b FROM t").await;
    drop(server);
    // The embedded API passes the same checks.
    let db = rustydb_api::Database::open(dir.path()).unwrap();
    let mut embedded = db.connect_as("alice", "rustydb").unwrap();
    assert_eq!(embedded.query("SELECT a FROM t").unwrap().len(), 2);
    let err = embedded.query("SELECT b FROM t").unwrap_err();
    assert_eq!(err.sqlstate().code(), "42501");
}

/// EXECUTE on functions: PUBLIC holds it until revoked; granted back to one role, through a
/// group role, and asked about with has_function_privilege.
#[tokio::test]
async fn function_execute_is_revoked_from_public_and_granted_back() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    ok(&admin, "GRANT SELECT ON t TO PUBLIC").await;
    let call = "SELECT upper(b) FROM t WHERE id = 1";
    assert_eq!(alice.query_one(call, &[]).await.unwrap().get::<_, String>(0), "ONE");
    ok(&admin, "REVOKE EXECUTE ON FUNCTION pg_catalog.upper(text) FROM PUBLIC").await;
    let err = alice.query_one(call, &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    assert_eq!(err.as_db_error().unwrap().message(), "permission denied for function upper");
    // Inside a WHERE clause too; other functions are untouched; superusers are not checked.
    denied(&bob, "SELECT id FROM t WHERE upper(b) = 'ONE'").await;
    ok(&alice, "SELECT lower(b) FROM t").await;
    ok(&admin, call).await;
    ok(&admin, "GRANT EXECUTE ON FUNCTION upper TO staff; GRANT staff TO alice").await;
    ok(&alice, call).await;
    denied(&bob, call).await;
    let asked = "SELECT has_function_privilege('bob', 'upper(text)', 'EXECUTE'), has_function_privilege('alice', 'upper(text)', 'EXECUTE')";
    let row = admin.query_one(asked, &[]).await.unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, bool>(1)), (false, true));
    assert_eq!(
        sqlstate(&admin, "GRANT EXECUTE ON FUNCTION no_such_function(int) TO alice").await,
        SqlState::UNDEFINED_FUNCTION
    );
    assert_eq!(sqlstate(&admin, "GRANT SELECT ON FUNCTION upper TO alice").await, SqlState::INVALID_GRANT_OPERATION);
    ok(&admin, "GRANT EXECUTE ON FUNCTION upper(text) TO PUBLIC").await;
    ok(&bob, call).await;
}

#[tokio::test]
async fn set_role_acts_with_the_roles_privileges_until_reset() {
    let server = TestServer::start();
    let admin = server.connect().await;
    admin
        .batch_execute(
            "create table secret (a int); insert into secret values (1);
             create role reader login; create role auditor; grant auditor to reader;
             grant select on secret to auditor; create role stranger;",
        )
        .await
        .unwrap();
    let reader = server.connect_as("reader", "rustydb").await.unwrap();
    // reader inherits auditor's SELECT; as itself it may read, after SET ROLE too.
    reader.query("select * from secret", &[]).await.unwrap();
    reader.batch_execute("set role auditor").await.unwrap();
    let who: String = reader.query_one("select current_user", &[]).await.unwrap().get(0);
    assert_eq!(who, "auditor");
    let shown: String = reader.query_one("show role", &[]).await.unwrap().get(0);
    assert_eq!(shown, "auditor");
    reader.query("select * from secret", &[]).await.unwrap();
    // Not a role it is not a member of, nor one that does not exist.
    assert_eq!(sqlstate(&reader, "set role stranger").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&reader, "set role nobody").await, SqlState::UNDEFINED_OBJECT);
    // set_config() is held to the same rule as SET ROLE.
    assert_eq!(
        sqlstate(&reader, "select set_config('role', 'rustydb', false)").await,
        SqlState::INSUFFICIENT_PRIVILEGE
    );
    let row = reader.query_one("select current_user, session_user", &[]).await.unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("auditor".into(), "reader".into()));
    // The login role cannot be dropped from under the session, whatever role it acts as.
    admin.batch_execute("create role boss createrole").await.unwrap();
    assert_eq!(sqlstate(&admin, "set role boss; drop role rustydb").await, SqlState::OBJECT_IN_USE);
    admin.batch_execute("reset role").await.unwrap();
    reader.batch_execute("reset role").await.unwrap();
    let who: String = reader.query_one("select current_user", &[]).await.unwrap().get(0);
    assert_eq!(who, "reader");
    // A superuser that sets a plain role gives up its powers: it reads what the role may.
    admin.batch_execute("set role stranger").await.unwrap();
    denied(&admin, "select * from secret").await;
    // SET LOCAL ROLE ends with its transaction, and a rolled-back SET ROLE is undone.
    admin.batch_execute("set role none").await.unwrap();
    admin.batch_execute("begin; set local role stranger; commit").await.unwrap();
    admin.query("select * from secret", &[]).await.unwrap();
    admin.batch_execute("begin; set role stranger; rollback").await.unwrap();
    admin.query("select * from secret", &[]).await.unwrap();
}

#[tokio::test]
async fn a_database_owner_owns_its_public_schema_but_not_the_catalogs() {
    let server = TestServer::start();
    let admin = server.connect().await;
    admin.batch_execute("create role maker login createdb").await.unwrap();
    let maker = server.connect_as("maker", "rustydb").await.unwrap();
    maker.batch_execute("create database makers").await.unwrap();
    let own = server.connect_as("maker", "makers").await.unwrap();
    // Its database's public schema is its own (PostgreSQL 15's pg_database_owner)…
    own.batch_execute("create table mine (a int); insert into mine values (1)").await.unwrap();
    // …but the catalogs, shared by every database, are not: no reading or writing them.
    denied(&own, "update rustydb_roles set superuser = true where name = current_user").await;
    denied(&own, "select password from rustydb_roles").await;
    let superuser: bool =
        admin.query_one("select rolsuper from pg_roles where rolname = 'maker'", &[]).await.unwrap().get(0);
    assert!(!superuser);
    // In the bootstrap database, owned by the superuser, it may not create tables.
    assert_eq!(sqlstate(&maker, "create table nope (a int)").await, SqlState::INSUFFICIENT_PRIVILEGE);
}
