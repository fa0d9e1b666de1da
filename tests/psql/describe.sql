-- \d TABLE, \d INDEX and \du. PostgreSQL 15 prints the same for this script, but for the superuser's
-- name and attributes (postgres there, with Replication; rustydb here).
CREATE TABLE acc (aid INT PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', bal BIGINT, note VARCHAR(20), made TIMESTAMP DEFAULT now(), ok BOOLEAN DEFAULT true, score DOUBLE PRECISION DEFAULT 1.5);
CREATE INDEX acc_name ON acc (name);
CREATE UNIQUE INDEX acc_note ON acc (note DESC, bal);
CREATE TABLE tags (id SERIAL, tag TEXT UNIQUE, n SMALLINT DEFAULT -1);
CREATE INDEX tags_h ON tags USING hash (tag);
CREATE TABLE plain (a INT, b CHAR(3), c DATE);
CREATE TABLE ckd (a INT CHECK (a > 0), b INT, CONSTRAINT b_small CHECK (b < 10 AND b > a));
\d acc
\d tags
\d plain
\d ckd
\d acc_note
\d acc_pkey
\d tags_tag_key
CREATE ROLE reader;
CREATE ROLE alice LOGIN CREATEDB CONNECTION LIMIT 3;
GRANT reader TO alice;
\du
CREATE VIEW tag_names AS SELECT id, upper(tag) AS shout, id * 2.5 AS scaled FROM tags;
\d tag_names
