CREATE TABLE acc (aid INT PRIMARY KEY, name TEXT);
CREATE INDEX acc_name ON acc (name);
CREATE TABLE b (x INT);
ALTER TABLE b ADD PRIMARY KEY (x);
CREATE VIEW v AS SELECT aid FROM acc;
\d
\dt
\di
\dv
\dn
\l
\x
SELECT 1 AS a, 'two' AS b;
\x
\timing on
\timing off
SELECT relname, relkind FROM pg_class WHERE relnamespace = 2200 ORDER BY relname;
