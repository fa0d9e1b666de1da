#!/usr/bin/env bash
# analytics.sh A_PORT B_PORT -- issue 6's analytic queries over a ROWS-row table
# t (id bigint, k int, v double precision, s text) and a 100,000-row table d, on two endpoints
# on 127.0.0.1, printing each query's best time of REPEATS runs and the speed-up B/A.
# Both run with parallelism off (max_parallel_workers_per_gather=0, through PGOPTIONS, which
# both servers read), as the issue asks; PARALLEL=n allows n workers per query on both.
#
#   count_sum   SELECT count(*), sum(v) FROM t
#   group_k100  SELECT k % 100, count(*), sum(v) FROM t GROUP BY k % 100
#   hash_join   SELECT count(*) FROM t JOIN d ON t.k = d.id
#   order_limit SELECT id, v FROM t ORDER BY v LIMIT 10
#   filtered    SELECT count(*) FROM t WHERE v < 0.001
#
# Knobs: ROWS [10000000], REPEATS [3], LOAD [1] (0 reuses loaded tables), PARALLEL [0], A_USER [rustydb],
# B_USER [postgres], A_DB [rustydb], B_DB [bench].
set -eu -o pipefail
A_PORT=${1:?A port}; B_PORT=${2:?B port}
ROWS=${ROWS:-10000000}; REPEATS=${REPEATS:-3}; LOAD=${LOAD:-1}
A_USER=${A_USER:-rustydb}; B_USER=${B_USER:-postgres}; A_DB=${A_DB:-rustydb}; B_DB=${B_DB:-bench}
export PGOPTIONS="-c max_parallel_workers_per_gather=${PARALLEL:-0}"

sql() { # port user db sql...
  local port=$1 user=$2 db=$3; shift 3
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d "$db" "$@"
}

load() { # port user db
  sql "$1" "$2" "$3" -c "DROP TABLE IF EXISTS t" -c "DROP TABLE IF EXISTS d" \
    -c "CREATE TABLE t (id bigint PRIMARY KEY, k int, v double precision, s text)" \
    -c "CREATE TABLE d (id int PRIMARY KEY, name text)" >/dev/null
  local chunk=1000000 start=1
  while [ "$start" -le "$ROWS" ]; do
    local end=$((start + chunk - 1)); [ "$end" -gt "$ROWS" ] && end=$ROWS
    sql "$1" "$2" "$3" -c "INSERT INTO t SELECT g, (g * 31) % 100000 + 1, ((g * 7919) % 1000003)::float8 / 1000003, 'row ' || g FROM generate_series($start::bigint, $end) g" >/dev/null
    start=$((end + 1))
  done
  sql "$1" "$2" "$3" -c "INSERT INTO d SELECT g, 'name ' || g FROM generate_series(1, 100000) g" -c "VACUUM" >/dev/null 2>&1 || true
}

best_ms() { # port user db query: the best of $REPEATS runs, in milliseconds
  local best=""
  for _ in $(seq "$REPEATS"); do
    local ms
    ms=$( { printf '\\timing on\n%s;\n' "$4" | sql "$1" "$2" "$3" -o /dev/null; } 2>&1 | awk '/^Time:/ {print $2}' | tail -1)
    if [ -z "$best" ] || awk -v a="$ms" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$ms; fi
  done
  echo "$best"
}

if [ "$LOAD" = 1 ]; then
  for side in A B; do
    port_var=${side}_PORT; user_var=${side}_USER; db_var=${side}_DB
    started=$(date +%s.%N)
    load "${!port_var}" "${!user_var}" "${!db_var}"
    echo "loaded $ROWS rows into $side in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
  done
fi

queries=(
  "count_sum|SELECT count(*), sum(v) FROM t"
  "group_k100|SELECT k % 100, count(*), sum(v) FROM t GROUP BY k % 100"
  "hash_join|SELECT count(*) FROM t JOIN d ON t.k = d.id"
  "order_limit|SELECT id, v FROM t ORDER BY v LIMIT 10"
  "filtered|SELECT count(*) FROM t WHERE v < 0.001"
)
printf '%-12s %12s %12s %8s\n' query A_ms B_ms B/A
for entry in "${queries[@]}"; do
  name=${entry%%|*}; query=${entry#*|}
  a=$(best_ms "$A_PORT" "$A_USER" "$A_DB" "$query")
  b=$(best_ms "$B_PORT" "$B_USER" "$B_DB" "$query")
  printf '%-12s %12s %12s %8s\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", (a>0 ? b/a : 0)}')"
done
