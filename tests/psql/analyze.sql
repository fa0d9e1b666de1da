-- Plans from ANALYZE's statistics: row estimates that follow the data, the join order chosen
-- by cost (the big table probed, the filtered dimension built first), and the index expected
-- to return the fewest rows (none when a sequential scan reads less). Snapshots: an optimizer
-- change shows as a diff. The row estimates match PostgreSQL 15's; the costs are RustyDB's.
CREATE TABLE fact (id int, d1 int, d2 int, v float8);
CREATE TABLE dim1 (id int PRIMARY KEY, name text);
CREATE TABLE dim2 (id int PRIMARY KEY, grp int);
INSERT INTO fact SELECT g, g % 100, g % 5000, g FROM generate_series(1, 20000) g;
INSERT INTO dim1 SELECT g, 'n' || g FROM generate_series(0, 99) g;
INSERT INTO dim2 SELECT g, g % 10 FROM generate_series(0, 4999) g;
CREATE INDEX fact_d1 ON fact (d1);
CREATE INDEX fact_id ON fact (id);
-- Without statistics: FROM order, each step joining a connected relation.
EXPLAIN (COSTS OFF) SELECT count(*) FROM dim2, fact, dim1 WHERE fact.d1 = dim1.id AND fact.d2 = dim2.id AND dim2.grp = 3;
ANALYZE;
EXPLAIN SELECT count(*) FROM dim2, fact, dim1 WHERE fact.d1 = dim1.id AND fact.d2 = dim2.id AND dim2.grp = 3;
EXPLAIN SELECT * FROM fact WHERE d1 = 5;
EXPLAIN SELECT * FROM fact WHERE d1 = 5 AND id = 77;
EXPLAIN SELECT * FROM fact WHERE d1 < 50;
EXPLAIN SELECT * FROM fact WHERE id < 100;
EXPLAIN SELECT * FROM dim2 WHERE grp = 3;
SELECT count(*) FROM dim2, fact, dim1 WHERE fact.d1 = dim1.id AND fact.d2 = dim2.id AND dim2.grp = 3;
SELECT tablename, attname, null_frac, n_distinct FROM pg_stats WHERE tablename IN ('dim2', 'fact') ORDER BY 1, 2;
