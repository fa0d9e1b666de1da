#!/usr/bin/env bash
# first-path.sh A_PORT B_PORT -- pgbench custom scripts (simple protocol, no pgbench tables, -n)
# against two endpoints on 127.0.0.1, alternating cell by cell, printing TPS and the ratio A/B.
# Works with what RustyDB supports today; the full suite is ../shared/bench/compare.sh.
#
#   point   SELECT v FROM kv WHERE id = :id      (primary key lookup, 10,000 rows)
#   insert  INSERT INTO ins VALUES (:id, :v)      (autocommit: one fsync'd commit each)
#   select1 SELECT 1                              (round-trip floor)
#
# Knobs: DURATION [10] seconds per cell, CLIENTS ["1 4"], A_USER [rustydb], B_USER [postgres],
# A_DB [rustydb], B_DB [bench].
set -eu -o pipefail
A_PORT=${1:?A port}; B_PORT=${2:?B port}
DURATION=${DURATION:-10}; CLIENTS=${CLIENTS:-"1 4"}
A_USER=${A_USER:-rustydb}; B_USER=${B_USER:-postgres}; A_DB=${A_DB:-rustydb}; B_DB=${B_DB:-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/point.sql" <<'SQL'
\set id random(1, 10000)
SELECT v FROM kv WHERE id = :id;
SQL
cat > "$work/insert.sql" <<'SQL'
\set v random(1, 1000000)
INSERT INTO ins VALUES (:v, 'x');
SQL
echo 'SELECT 1;' > "$work/select1.sql"

. "$(dirname "$0")/common.sh"

setup "$A_PORT" "$A_USER" "$A_DB"
setup "$B_PORT" "$B_USER" "$B_DB"
printf '%-8s %7s %10s %10s %7s\n' workload clients A_tps B_tps A/B
for script in point insert select1; do
  for c in $CLIENTS; do
    a=$(tps "$A_PORT" "$A_USER" "$A_DB" "$script" "$c")
    b=$(tps "$B_PORT" "$B_USER" "$B_DB" "$script" "$c")
    printf '%-8s %7s %10s %10s %7s\n' "$script" "$c" "$a" "$b" "$(ratio "$a" "$b")"
  done
done
