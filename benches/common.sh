# common.sh -- sourced by the bench scripts that compare two endpoints: the kv/ins tables and a
# pgbench runner. Expects $work (a temporary directory holding the scripts) and $DURATION.

setup() { # port user db: kv (10,000 rows, primary key) and an empty ins
  psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "DROP TABLE IF EXISTS kv" -c "DROP TABLE IF EXISTS ins" \
       -c "CREATE TABLE kv (id INT PRIMARY KEY, v TEXT)" -c "CREATE TABLE ins (v INT, s TEXT)" >/dev/null 2>&1
  for start in $(seq 1 500 10000); do
    values=$(seq "$start" $((start + 499)) | awk '{printf "%s(%d, '\''value %d'\'')", (NR>1?",":""), $1, $1}')
    psql -X -q -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "INSERT INTO kv VALUES $values" >/dev/null
  done
}

tps() { # port user db script clients: pgbench -M simple on $work/script.sql for $DURATION seconds
  pgbench -n -M simple -h 127.0.0.1 -p "$1" -U "$2" -f "$work/$4.sql" -c "$5" -j "$([ "$5" -gt 1 ] && echo 2 || echo 1)" \
          -T "$DURATION" "$3" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b>0 ? a/b : 0)}'; }
