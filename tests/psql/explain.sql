-- EXPLAIN in PostgreSQL's text layout. These are RustyDB's plans (PostgreSQL's optimizer may
-- choose others), kept as snapshots so that an optimizer change shows as a diff. COSTS OFF keeps
-- them independent of table sizes; ANALYZE runs with TIMING OFF and SUMMARY OFF so that only
-- the (deterministic) actual row counts show.
CREATE TABLE a (id int PRIMARY KEY, name text, v int);
CREATE TABLE b (id int PRIMARY KEY, a_id int, w numeric);
INSERT INTO a SELECT g, 'n' || g, g % 10 FROM generate_series(1, 100) g;
INSERT INTO b SELECT g, g % 20, g * 1.5 FROM generate_series(1, 50) g;
CREATE INDEX b_a ON b (a_id);
EXPLAIN (COSTS OFF) SELECT * FROM a WHERE id = 5;
EXPLAIN (COSTS OFF) SELECT * FROM a WHERE id BETWEEN 3 AND 7;
EXPLAIN (COSTS OFF) SELECT name FROM a WHERE v > 3 AND name LIKE 'n1%';
EXPLAIN (COSTS OFF) SELECT * FROM b WHERE a_id = 7;
EXPLAIN (COSTS OFF) SELECT a.name, b.w FROM a JOIN b ON a.id = b.a_id WHERE b.w > 10 ORDER BY b.w DESC LIMIT 5;
EXPLAIN (COSTS OFF) SELECT * FROM a LEFT JOIN b ON a.v < b.a_id;
EXPLAIN (COSTS OFF) SELECT v, count(*) FROM a GROUP BY v HAVING count(*) > 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM a;
EXPLAIN (COSTS OFF) SELECT * FROM a WHERE v = (SELECT max(a_id) FROM b);
EXPLAIN (COSTS OFF) SELECT 1;
EXPLAIN (COSTS OFF) SELECT id FROM a UNION ALL SELECT id FROM b;
EXPLAIN (COSTS OFF) SELECT * FROM generate_series(1, 3);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM a WHERE v = 3;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT a.id FROM a JOIN b ON a.id = b.a_id;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM a WHERE id IN (SELECT a_id FROM b WHERE w < 20);
-- What sorts and hash aggregates did, as PostgreSQL prints it: in memory, then spilled. The
-- memory and disk figures follow from what the executor counts per row and per group: a change
-- to those sizes changes them here, on purpose.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM a ORDER BY name;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM a ORDER BY name LIMIT 3;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT v, count(*) FROM a GROUP BY v;
SET work_mem = '64kB';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g ORDER BY 2, 1 DESC;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT g % 5000, count(*) FROM generate_series(1, 20000) g GROUP BY 1;
RESET work_mem;
EXPLAIN (COSTS OFF) SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.a_id = a.id AND b.w > 70);
EXPLAIN SELECT 1;
