-- \dp: table, column and view privileges and row-level security policies. pg_get_expr hands
-- back a policy's expression as it was written, so these are written as PostgreSQL deparses them.
CREATE ROLE alice LOGIN;
CREATE ROLE staff;
CREATE TABLE t (id int PRIMARY KEY, a int, owner_name text);
CREATE TABLE plain (x int);
CREATE VIEW v AS SELECT id FROM t;
GRANT SELECT, INSERT ON t TO alice WITH GRANT OPTION;
GRANT UPDATE (a) ON t TO staff;
GRANT SELECT ON v TO staff;
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON t USING ((owner_name = CURRENT_USER));
CREATE POLICY staff_ins ON t AS RESTRICTIVE FOR INSERT TO alice, staff WITH CHECK ((a > 0));
REVOKE ALL ON plain FROM rustydb;
\dp
\dp t
