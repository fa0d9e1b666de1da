#!/usr/bin/env bash
# recovery.sh [MB] -- recovery time per GB of write-ahead log, RustyDB beside PostgreSQL 15.
# Each server, with automatic checkpoints off, takes MB [256] of log from multi-row inserts of
# incompressible rows, is killed with SIGKILL (PostgreSQL: pg_ctl stop -m immediate) and
# restarted; the time its startup reports for replay is scaled to one GB.
# Needs a release build: cargo build --release -p rustydb-server.
set -eu -o pipefail
MB=${1:-256}
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/rustydb-server"
[ -x "$bin" ] || { echo "build first: cargo build --release -p rustydb-server" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill -9 $rpid 2>/dev/null || true; "$here/../../shared/bench/pg15.sh" stop "$work/pg" 5497 >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
rpid=0

load() { # port user db: about MB MiB of rows of 1,000 random letters, 500 per statement
  psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "CREATE TABLE r (id INT PRIMARY KEY, pad TEXT)" >/dev/null
  local n=$((MB * 2))
  for i in $(seq 0 $((n - 1))); do
    awk -v s="$i" 'BEGIN { srand(s + 1); printf "INSERT INTO r VALUES "
      for (k = 0; k < 500; k++) { printf "%s(%d, '\''", (k ? "," : ""), s * 500 + k
        for (j = 0; j < 1000; j++) printf "%c", 97 + int(rand() * 26); printf "'\'')" } print ";" }'
  done | psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" >/dev/null
}

# RustyDB
cat > "$work/rustydb.toml" <<TOML
listen = "127.0.0.1:5496"
data_dir = "$work/rdb"
checkpoint_timeout_s = 0
max_wal_size_mb = 0
TOML
RUST_LOG=info "$bin" --config "$work/rustydb.toml" > "$work/rdb1.log" 2>&1 & rpid=$!
until psql -X -q -h 127.0.0.1 -p 5496 -U rustydb -d rustydb -c 'select 1' >/dev/null 2>&1; do sleep 0.2; done
load 5496 rustydb rustydb
kill -9 $rpid; wait $rpid 2>/dev/null || true
RUST_LOG=info "$bin" --config "$work/rustydb.toml" > "$work/rdb2.log" 2>&1 & rpid=$!
until psql -X -q -h 127.0.0.1 -p 5496 -U rustydb -d rustydb -c 'select 1' >/dev/null 2>&1; do sleep 0.2; done
line=$(grep 'recovery replayed' "$work/rdb2.log" | sed 's/\x1b\[[0-9;]*m//g')
r_bytes=$(echo "$line" | grep -o 'wal_bytes=[0-9]*' | cut -d= -f2)
r_ms=$(echo "$line" | grep -o 'elapsed_ms=[0-9]*' | cut -d= -f2)
kill -9 $rpid

# PostgreSQL 15
"$here/../../shared/bench/pg15.sh" start "$work/pg" 5497 >/dev/null
psql -X -q -h 127.0.0.1 -p 5497 -U postgres -c "ALTER SYSTEM SET checkpoint_timeout = '1h'" \
  -c "ALTER SYSTEM SET max_wal_size = '100GB'" -c "SELECT pg_reload_conf()" -c "CHECKPOINT" >/dev/null
start_lsn=$(psql -X -At -h 127.0.0.1 -p 5497 -U postgres -c "SELECT pg_current_wal_lsn()")
load 5497 postgres postgres
end_lsn=$(psql -X -At -h 127.0.0.1 -p 5497 -U postgres -c "SELECT pg_current_wal_lsn()")
p_bytes=$(psql -X -At -h 127.0.0.1 -p 5497 -U postgres -c "SELECT pg_wal_lsn_diff('$end_lsn', '$start_lsn')::bigint")
su pgbench -s /bin/sh -c "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl -D '$work/pg' -m immediate -w stop" >/dev/null
started=$(date +%s%N)
"$here/../../shared/bench/pg15.sh" start "$work/pg" 5497 >/dev/null
p_ms=$(( ($(date +%s%N) - started) / 1000000 ))

per_gb() { awk -v ms="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? ms / 1000 * 1073741824 / b : 0)}'; }
printf '%-10s %14s %10s %10s\n' server wal_bytes replay_ms s_per_GB
printf '%-10s %14s %10s %10s\n' rustydb "$r_bytes" "$r_ms" "$(per_gb "$r_ms" "$r_bytes")"
printf '%-10s %14s %10s %10s\n' pg15 "$p_bytes" "$p_ms" "$(per_gb "$p_ms" "$p_bytes")"
echo "(PostgreSQL's figure is the whole restart: pg_ctl start until it accepts connections.)"
