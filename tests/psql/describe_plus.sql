-- \d+ TABLE: storage, compression, statistics target and description columns. PostgreSQL 15
-- prints the same for this script.
CREATE TABLE wide (id INT PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', amount NUMERIC(10,2), doc JSONB, made DATE, flag BOOLEAN, raw BYTEA, at TIMESTAMPTZ, u UUID);
CREATE INDEX wide_name ON wide (name);
\d+ wide
