-- COMMENT ON and the descriptions psql shows: \d+ (table and columns), \dn+, and the
-- description functions. PostgreSQL 15 prints the same for this script.
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, at DATE);
COMMENT ON TABLE notes IS 'What people wrote';
COMMENT ON COLUMN notes.body IS 'The text itself';
COMMENT ON COLUMN notes.at IS 'When';
COMMENT ON COLUMN notes.at IS NULL;
CREATE VIEW recent AS SELECT id, body FROM notes;
COMMENT ON VIEW recent IS 'The latest notes';
CREATE SCHEMA scratch;
COMMENT ON SCHEMA scratch IS 'Throwaway work';
\d+ notes
SELECT c.relname, obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c WHERE c.relname IN ('notes', 'recent', 'notes_pkey') ORDER BY 1;
SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname = 'notes' AND a.attnum > 0 ORDER BY a.attnum;
SELECT n.nspname, obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = 'scratch';
-- A comment is transactional, and '' removes it.
BEGIN;
COMMENT ON TABLE notes IS 'Rolled back';
ROLLBACK;
SELECT obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.relname = 'notes';
COMMENT ON TABLE notes IS '';
SELECT obj_description(c.oid, 'pg_class') IS NULL AS gone FROM pg_class c WHERE c.relname = 'notes';
