#!/usr/bin/env bash
# analytics.sh A_PORT B_PORT -- issue 6's analytical set, from ../shared/bench/olap: load.sql
# builds a 10M-row t (id bigint, k int, v double precision, s text) and a 100,000-row d from
# setseed(0.42), so both endpoints hold the same rows; queries.txt holds the five queries
# (count+sum, GROUP BY k % 100, hash join with d, ORDER BY v LIMIT 10, filtered scan). Each
# query runs REPEATS times on each endpoint, alternating A and B, and the script prints each
# side's median and the speed-up B/A of the medians, as the olap README asks.
# Both run with parallelism off (max_parallel_workers_per_gather=0, through PGOPTIONS, which
# both servers read), as the issue asks; PARALLEL=n allows n workers per query on both.
#
# Knobs: REPEATS [5], LOAD [1] (0 reuses loaded tables), PARALLEL [0], OLAP [../shared/bench/olap
# from the project root], A_USER [rustydb], B_USER [postgres], A_DB [olap], B_DB [olap]. The
# databases must exist (createdb / CREATE DATABASE olap).
set -eu -o pipefail
A_PORT=${1:?A port}; B_PORT=${2:?B port}
REPEATS=${REPEATS:-5}; LOAD=${LOAD:-1}
A_USER=${A_USER:-rustydb}; B_USER=${B_USER:-postgres}; A_DB=${A_DB:-olap}; B_DB=${B_DB:-olap}
OLAP=${OLAP:-$(cd "$(dirname "$0")/../.." && pwd)/shared/bench/olap}
export PGOPTIONS="-c max_parallel_workers_per_gather=${PARALLEL:-0}"

sql() { # port user db psql-arguments...
  local port=$1 user=$2 db=$3; shift 3
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d "$db" "$@"
}

ms_of() { # port user db query: one run's time in milliseconds
  { printf '\\timing on\n%s;\n' "$4" | sql "$1" "$2" "$3" -o /dev/null; } 2>&1 | awk '/^Time:/ {print $2}' | tail -1
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

if [ "$LOAD" = 1 ]; then
  for side in A B; do
    port_var=${side}_PORT; user_var=${side}_USER; db_var=${side}_DB
    started=$(date +%s.%N)
    sql "${!port_var}" "${!user_var}" "${!db_var}" -f "$OLAP/load.sql" >/dev/null
    echo "loaded $OLAP/load.sql into $side in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
  done
fi

printf '%-18s %12s %12s %8s\n' query A_ms B_ms B/A
while IFS='|' read -r name query; do
  [ -n "$name" ] || continue
  a_runs=""; b_runs=""
  for _ in $(seq "$REPEATS"); do
    a_runs+="$(ms_of "$A_PORT" "$A_USER" "$A_DB" "$query")"$'\n'
    b_runs+="$(ms_of "$B_PORT" "$B_USER" "$B_DB" "$query")"$'\n'
  done
  a=$(printf '%s' "$a_runs" | median); b=$(printf '%s' "$b_runs" | median)
  printf '%-18s %12s %12s %8s\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", (a>0 ? b/a : 0)}')"
done < "$OLAP/queries.txt"
