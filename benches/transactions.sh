#!/usr/bin/env bash
# transactions.sh A_PORT B_PORT -- the transaction benchmarks of issue 5, pgbench custom scripts
# (simple protocol, -n) against two endpoints on 127.0.0.1, alternating cell by cell, printing TPS
# and the ratio A/B. Run both servers with fsync on (RustyDB always fsyncs its commits).
#
#   ro_txn   BEGIN; SELECT v FROM kv WHERE id = :id; COMMIT;   (read-only transaction)
#   ro_bare  SELECT v FROM kv WHERE id = :id;                   (the same read, autocommit)
#   commit   INSERT INTO ins VALUES (:v, 'x');                  (one fsync'd commit each)
#   update   UPDATE kv SET v = 'updated' WHERE id = :id;       (dead versions for (auto)vacuum)
#
# ro_txn beside ro_bare gives the begin+commit overhead of a read-only transaction: three round
# trips instead of one, so the ratio ro_txn/ro_bare is also shown per server.
# After the update cells, kv's size on disk (heap and primary key, after a CHECKPOINT) is shown
# for both, beside its size after the load: what vacuum keeps it to.
# Knobs: DURATION [10] seconds per cell, RO_CLIENTS ["1"], COMMIT_CLIENTS ["1 8 64"], UPDATE_CLIENTS ["8"],
# A_USER [rustydb], B_USER [postgres], A_DB [rustydb], B_DB [bench].
set -eu -o pipefail
A_PORT=${1:?A port}; B_PORT=${2:?B port}
DURATION=${DURATION:-10}; RO_CLIENTS=${RO_CLIENTS:-"1"}; COMMIT_CLIENTS=${COMMIT_CLIENTS:-"1 8 64"}
UPDATE_CLIENTS=${UPDATE_CLIENTS:-"8"}; A_DATA=${A_DATA:-}
A_USER=${A_USER:-rustydb}; B_USER=${B_USER:-postgres}; A_DB=${A_DB:-rustydb}; B_DB=${B_DB:-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/ro_txn.sql" <<'SQL'
\set id random(1, 10000)
BEGIN;
SELECT v FROM kv WHERE id = :id;
COMMIT;
SQL
cat > "$work/ro_bare.sql" <<'SQL'
\set id random(1, 10000)
SELECT v FROM kv WHERE id = :id;
SQL
cat > "$work/update.sql" <<'SQL'
\set id random(1, 10000)
UPDATE kv SET v = 'updated' WHERE id = :id;
SQL
cat > "$work/commit.sql" <<'SQL'
\set v random(1, 1000000)
INSERT INTO ins VALUES (:v, 'x');
SQL

. "$(dirname "$0")/common.sh"

setup "$A_PORT" "$A_USER" "$A_DB"
setup "$B_PORT" "$B_USER" "$B_DB"
printf '%-8s %7s %10s %10s %7s\n' workload clients A_tps B_tps A/B
declare -A got
for script in ro_bare ro_txn; do
  for c in $RO_CLIENTS; do
    a=$(tps "$A_PORT" "$A_USER" "$A_DB" "$script" "$c"); b=$(tps "$B_PORT" "$B_USER" "$B_DB" "$script" "$c")
    got[$script,$c]="$a $b"
    printf '%-8s %7s %10s %10s %7s\n' "$script" "$c" "$a" "$b" "$(ratio "$a" "$b")"
  done
done
for c in $RO_CLIENTS; do
  read -r a_bare b_bare <<< "${got[ro_bare,$c]}"; read -r a_txn b_txn <<< "${got[ro_txn,$c]}"
  echo "read-only transaction / bare read at $c client(s): A $(ratio "$a_txn" "$a_bare"), B $(ratio "$b_txn" "$b_bare")"
done
for c in $COMMIT_CLIENTS; do
  a=$(tps "$A_PORT" "$A_USER" "$A_DB" commit "$c"); b=$(tps "$B_PORT" "$B_USER" "$B_DB" commit "$c")
  printf '%-8s %7s %10s %10s %7s\n' commit "$c" "$a" "$b" "$(ratio "$a" "$b")"
done
# kv's size: PostgreSQL's from pg_table_size + pg_indexes_size; RustyDB's from its data files
# (A_DATA: its data directory; the heap is base/<table id>, the primary key base/<id | 2^30>).
kv_size() { # port user db
  if [ "$1" = "$B_PORT" ]; then
    psql -X -qtA -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "CHECKPOINT" \
         -c "SELECT pg_table_size('kv') + pg_indexes_size('kv')" 2>/dev/null | tail -n 1
  elif [ -n "$A_DATA" ]; then
    id=$(psql -X -qtA -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "CHECKPOINT" \
         -c "SELECT table_id FROM rustydb_tables WHERE name = 'kv'" | tail -n 1)
    echo $(( $(stat -c %s "$A_DATA/base/$id") + $(stat -c %s "$A_DATA/base/$((id | 1 << 30))") ))
  else echo "?"; fi
}
a_before=$(kv_size "$A_PORT" "$A_USER" "$A_DB"); b_before=$(kv_size "$B_PORT" "$B_USER" "$B_DB")
for c in $UPDATE_CLIENTS; do
  a=$(tps "$A_PORT" "$A_USER" "$A_DB" update "$c"); b=$(tps "$B_PORT" "$B_USER" "$B_DB" update "$c")
  printf '%-8s %7s %10s %10s %7s\n' update "$c" "$a" "$b" "$(ratio "$a" "$b")"
done
echo "kv heap+index bytes after load -> after the updates: A $a_before -> $(kv_size "$A_PORT" "$A_USER" "$A_DB"), B $b_before -> $(kv_size "$B_PORT" "$B_USER" "$B_DB")"
