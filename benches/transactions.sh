#!/usr/bin/env bash
# transactions.sh A_PORT B_PORT -- the transaction benchmarks of issue 5, pgbench custom scripts
# (simple protocol, -n) against two endpoints on 127.0.0.1, alternating cell by cell, printing TPS
# and the ratio A/B. Run both servers with fsync on (RustyDB always fsyncs its commits).
#
#   ro_txn   BEGIN; SELECT v FROM kv WHERE id = :id; COMMIT;   (read-only transaction)
#   ro_bare  SELECT v FROM kv WHERE id = :id;                   (the same read, autocommit)
#   commit   INSERT INTO ins VALUES (:v, 'x');                  (one fsync'd commit each)
#
# ro_txn beside ro_bare gives the begin+commit overhead of a read-only transaction: three round
# trips instead of one, so the ratio ro_txn/ro_bare is also shown per server.
# Knobs: DURATION [10] seconds per cell, RO_CLIENTS ["1"], COMMIT_CLIENTS ["1 8 64"],
# A_USER [rustydb], B_USER [postgres], A_DB [rustydb], B_DB [bench].
set -eu -o pipefail
A_PORT=${1:?A port}; B_PORT=${2:?B port}
DURATION=${DURATION:-10}; RO_CLIENTS=${RO_CLIENTS:-"1"}; COMMIT_CLIENTS=${COMMIT_CLIENTS:-"1 8 64"}
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
cat > "$work/commit.sql" <<'SQL'
\set v random(1, 1000000)
INSERT INTO ins VALUES (:v, 'x');
SQL

setup() { # port user db
  psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "DROP TABLE IF EXISTS kv" -c "DROP TABLE IF EXISTS ins" \
       -c "CREATE TABLE kv (id INT PRIMARY KEY, v TEXT)" -c "CREATE TABLE ins (v INT, s TEXT)" >/dev/null 2>&1
  for start in $(seq 1 500 10000); do
    values=$(seq "$start" $((start + 499)) | awk '{printf "%s(%d, '\''value %d'\'')", (NR>1?",":""), $1, $1}')
    psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "INSERT INTO kv VALUES $values" >/dev/null
  done
}

tps() { # port user db script clients
  pgbench -n -M simple -h 127.0.0.1 -p "$1" -U "$2" -f "$work/$4.sql" -c "$5" -j "$([ "$5" -gt 1 ] && echo 2 || echo 1)" \
          -T "$DURATION" "$3" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b>0 ? a/b : 0)}'; }

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
