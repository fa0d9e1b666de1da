//! Row-level security over the wire, following the examples of PostgreSQL's documentation
//! (§5.8 "Row Security Policies"): default deny, per-user rows with `current_user`, separate
//! read and write policies, WITH CHECK on written rows, restrictive policies, the owner's bypass
//! and FORCE, views reading as their owner, and the DDL's errors.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, ok, sqlstate};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// The first column of every row, in order.
async fn column(client: &Client, sql: &str) -> Vec<String> {
    client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e:?}")).iter().map(|r| r.get(0)).collect()
}

async fn count(client: &Client, sql: &str) -> u64 {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .unwrap()
}

async fn setup(server: &TestServer) -> (Client, Client, Client) {
    let admin = server.connect().await;
    ok(
        &admin,
        "CREATE ROLE managers; CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; GRANT managers TO alice;
         CREATE TABLE accounts (manager text, company text, contact_email text);
         INSERT INTO accounts VALUES ('alice', 'acme', 'a@acme'), ('bob', 'globex', 'b@globex'), ('alice', 'initech', 'a@initech');
         GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO PUBLIC;",
    )
    .await;
    let alice = server.connect_as("alice", "rustydb").await.unwrap();
    let bob = server.connect_as("bob", "rustydb").await.unwrap();
    (admin, alice, bob)
}

#[tokio::test]
async fn policies_filter_reads_and_check_writes() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    // Enabled with no policy: default deny, for reads and writes.
    ok(&admin, "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY").await;
    assert!(column(&alice, "SELECT company FROM accounts").await.is_empty());
    assert_eq!(
        sqlstate(&alice, "INSERT INTO accounts VALUES ('alice', 'x', 'y')").await,
        SqlState::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(count(&alice, "UPDATE accounts SET company = 'z'").await, 0);
    // The documentation's first example: managers see their own accounts.
    ok(&admin, "CREATE POLICY account_managers ON accounts TO managers USING (manager = current_user)").await;
    assert_eq!(column(&alice, "SELECT company FROM accounts ORDER BY company").await, ["acme", "initech"]);
    assert!(column(&bob, "SELECT company FROM accounts").await.is_empty(), "bob is not in managers");
    // The policy is evaluated before the query's own predicate: one that would fail on a
    // hidden row (bob's) does not run on it, so it cannot reveal the row exists.
    let probe = "SELECT company FROM accounts WHERE 1 / (CASE WHEN manager = 'bob' THEN 0 ELSE 1 END) = 1";
    assert_eq!(column(&alice, probe).await.len(), 2);
    // Filters compose with the query's own WHERE, joins and aggregates.
    assert_eq!(column(&alice, "SELECT count(*)::text FROM accounts WHERE company <> 'acme'").await, ["1"]);
    assert_eq!(
        column(&alice, "SELECT a.company FROM accounts a JOIN accounts b ON a.company = b.company").await.len(),
        2
    );
    // UPDATE and DELETE reach only visible rows; a written row must still pass (WITH CHECK
    // defaults to USING).
    assert_eq!(count(&alice, "UPDATE accounts SET contact_email = 'new@x'").await, 2);
    let err = alice.simple_query("UPDATE accounts SET manager = 'bob' WHERE company = 'acme'").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "new row violates row-level security policy for table \"accounts\""
    );
    ok(&alice, "INSERT INTO accounts VALUES ('alice', 'umbrella', 'a@umbrella')").await;
    assert_eq!(
        sqlstate(&alice, "INSERT INTO accounts VALUES ('bob', 'hooli', 'x')").await,
        SqlState::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(count(&alice, "DELETE FROM accounts WHERE company = 'globex'").await, 0, "bob's row is invisible");
    assert_eq!(count(&alice, "DELETE FROM accounts WHERE company = 'umbrella'").await, 1);
    // The owner (and superusers) bypass the policies; FORCE makes them apply to the owner.
    assert_eq!(column(&admin, "SELECT company FROM accounts").await.len(), 3);
    ok(&admin, "ALTER TABLE accounts OWNER TO bob").await;
    assert_eq!(column(&bob, "SELECT company FROM accounts").await.len(), 3, "the owner bypasses");
    ok(&bob, "ALTER TABLE accounts FORCE ROW LEVEL SECURITY").await;
    assert!(column(&bob, "SELECT company FROM accounts").await.is_empty(), "unless forced");
    ok(&bob, "ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY; ALTER TABLE accounts DISABLE ROW LEVEL SECURITY").await;
    assert_eq!(column(&alice, "SELECT company FROM accounts").await.len(), 3, "disabled: no filter");
}

#[tokio::test]
async fn separate_read_and_write_policies_and_restrictive_ones() {
    let server = TestServer::start();
    let (admin, alice, bob) = setup(&server).await;
    // The documentation's users example: everyone reads every row, changes only their own.
    ok(
        &admin,
        "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
         CREATE POLICY read_all ON accounts FOR SELECT USING (true);
         CREATE POLICY own_insert ON accounts FOR INSERT WITH CHECK (manager = current_user);
         CREATE POLICY own_update ON accounts FOR UPDATE USING (manager = current_user);
         CREATE POLICY own_delete ON accounts FOR DELETE USING (manager = current_user);",
    )
    .await;
    assert_eq!(column(&bob, "SELECT company FROM accounts").await.len(), 3);
    assert_eq!(count(&bob, "UPDATE accounts SET contact_email = 'x'").await, 1);
    assert_eq!(count(&bob, "DELETE FROM accounts WHERE company = 'acme'").await, 0);
    assert_eq!(
        sqlstate(&bob, "INSERT INTO accounts VALUES ('alice', 'x', 'y')").await,
        SqlState::INSUFFICIENT_PRIVILEGE
    );
    ok(&bob, "INSERT INTO accounts VALUES ('bob', 'hooli', 'b@hooli')").await;
    // A restrictive policy must pass as well as a permissive one.
    ok(&admin, "CREATE POLICY no_initech ON accounts AS RESTRICTIVE FOR SELECT USING (company <> 'initech')").await;
    assert_eq!(column(&alice, "SELECT company FROM accounts ORDER BY 1").await, ["acme", "globex", "hooli"]);
    // ALTER POLICY and DROP POLICY.
    ok(&admin, "ALTER POLICY no_initech ON accounts USING (company <> 'acme')").await;
    assert_eq!(column(&alice, "SELECT company FROM accounts ORDER BY 1").await, ["globex", "hooli", "initech"]);
    ok(&admin, "DROP POLICY no_initech ON accounts; DROP POLICY IF EXISTS no_initech ON accounts").await;
    assert_eq!(column(&alice, "SELECT company FROM accounts").await.len(), 4);
    // A view reads with its owner's policies: the owner of `mine` is alice, a manager.
    ok(&admin, "CREATE POLICY managers_only ON accounts AS RESTRICTIVE FOR SELECT TO bob USING (false)").await;
    assert!(column(&bob, "SELECT company FROM accounts").await.is_empty());
    ok(&admin, "GRANT CREATE ON SCHEMA public TO alice").await;
    ok(&alice, "CREATE VIEW visible AS SELECT company FROM accounts; GRANT SELECT ON visible TO bob").await;
    assert_eq!(column(&bob, "SELECT company FROM visible").await.len(), 4, "as the view's owner");
}

#[tokio::test]
async fn policy_ddl_errors() {
    let server = TestServer::start();
    let (admin, alice, _bob) = setup(&server).await;
    ok(&admin, "CREATE POLICY p ON accounts USING (true)").await;
    assert_eq!(sqlstate(&admin, "CREATE POLICY p ON accounts USING (true)").await, SqlState::DUPLICATE_OBJECT);
    assert_eq!(sqlstate(&admin, "CREATE POLICY q ON accounts USING (nope = 1)").await, SqlState::UNDEFINED_COLUMN);
    assert_eq!(sqlstate(&admin, "CREATE POLICY q ON accounts USING (1)").await, SqlState::DATATYPE_MISMATCH);
    assert_eq!(sqlstate(&admin, "CREATE POLICY q ON nosuch USING (true)").await, SqlState::UNDEFINED_TABLE);
    assert_eq!(
        sqlstate(&admin, "CREATE POLICY q ON accounts TO nobody USING (true)").await,
        SqlState::UNDEFINED_OBJECT
    );
    assert_eq!(sqlstate(&admin, "DROP POLICY q ON accounts").await, SqlState::UNDEFINED_OBJECT);
    assert_eq!(sqlstate(&alice, "CREATE POLICY q ON accounts USING (true)").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(
        sqlstate(&alice, "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY").await,
        SqlState::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(sqlstate(&admin, "CREATE POLICY q ON accounts FOR INSERT USING (true)").await, SqlState::SYNTAX_ERROR);
    // COPY FROM cannot check policies row by row here: refused, as PostgreSQL refuses it.
    ok(&admin, "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY").await;
    let copy = alice.copy_in::<_, bytes::Bytes>("COPY accounts FROM STDIN").await;
    let code = match copy {
        Err(e) => e.code().cloned(),
        Ok(sink) => {
            use futures::SinkExt;
            futures::pin_mut!(sink);
            sink.send(bytes::Bytes::from_static(b"alice\tx\ty\n")).await.ok();
            sink.finish().await.err().and_then(|e| e.code().cloned())
        }
    };
    assert_eq!(code, Some(SqlState::FEATURE_NOT_SUPPORTED));
    // Dropping the table drops its policies: a new table of that name starts without any.
    ok(&admin, "DROP TABLE accounts; CREATE TABLE accounts (manager text); INSERT INTO accounts VALUES ('x')").await;
    ok(&admin, "GRANT SELECT ON accounts TO alice").await;
    assert_eq!(column(&alice, "SELECT manager FROM accounts").await, ["x"]);
}
