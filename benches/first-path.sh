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

setup() { # port user db
  psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "DROP TABLE IF EXISTS kv" -c "DROP TABLE IF EXISTS ins" \
       -c "CREATE TABLE kv (id INT PRIMARY KEY, v TEXT)" -c "CREATE TABLE ins (v INT, s TEXT)" >/dev/null
  for start in $(seq 1 500 10000); do
    values=$(seq "$start" $((start + 499)) | awk '{printf "%s(%d, '\''value %d'\'')", (NR>1?",":""), $1, $1}')
    psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "INSERT INTO kv VALUES $values" >/dev/null
  done
}

tps() { # port user db script clients
  pgbench -n -M simple -h 127.0.0.1 -p "$1" -U "$2" -f "$work/$4.sql" -c "$5" -j "$([ "$5" -gt 1 ] && echo 2 || echo 1)" \
          -T "$DURATION" "$3" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

setup "$A_PORT" "$A_USER" "$A_DB"
setup "$B_PORT" "$B_USER" "$B_DB"
printf '%-8s %7s %10s %10s %7s\n' workload clients A_tps B_tps A/B
for script in point insert select1; do
  for c in $CLIENTS; do
    a=$(tps "$A_PORT" "$A_USER" "$A_DB" "$script" "$c")
    b=$(tps "$B_PORT" "$B_USER" "$B_DB" "$script" "$c")
    printf '%-8s %7s %10s %10s %7s\n' "$script" "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", (b>0 ? a/b : 0)}')"
  done
done
