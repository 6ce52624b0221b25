#!/usr/bin/env bash
# PostgreSQL store benchmark, on a server of its own started in a temporary folder:
#   import  `followupd import transactions` (binary COPY) beside psql's `\copy` of the same CSV into
#           a table of the same columns; target within 2x.
#   facts   worth_bench's CustomerBase::Load (every fact of every customer) beside PostgreSQL's own
#           `GROUP BY customer_id` over the same table; target within 1.5x.
# Both sides of each comparison run in the same run, on the same server. See docs/benchmarks.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/postgres_bench.sh [OPTIONS] [BUILD_DIR]

  BUILD_DIR            where followupd and worth_bench are built (default: build under the repo)

Options:
  --transactions N     about how many transaction rows (default 1000000; ~6 a customer)
  --runs N             timed runs of each side (default 3; medians are compared)
  --at DATE            end of the facts' observation window (default 2026-07-01)
  --keep               keep the work folder (and print where it is)
  -h, --help           this help

Needs the PostgreSQL server binaries (Debian: postgresql-15); as root the server runs as the
`postgres` user. Exit 0 whether the targets are met or not; non-zero only when a step fails.
EOF
}

bench_name=postgres_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

transactions=1000000 runs=3 at=2026-07-01 keep=0 build=
while (($#)); do
  case "$1" in
    -h | --help) usage && exit 0 ;;
    --transactions) need "$1" $# && transactions=$2 && shift 2 ;;
    --runs) need "$1" $# && runs=$2 && shift 2 ;;
    --at) need "$1" $# && at=$2 && shift 2 ;;
    --keep) keep=1 && shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $build ]] || die "too many arguments (see --help)"; build=$1 && shift ;;
  esac
done
[[ $transactions =~ ^[0-9]+$ ]] && ((transactions >= 6)) || die "--transactions: a number >= 6"
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1)) || die "--runs: a number >= 1"
build=$(cd "${build:-$repo_root/build}" && pwd)
followupd=$build/daemon/cli/followupd worth_bench=$build/bench/worth_bench
[[ -x $followupd ]] || die "no followupd at $followupd (build it, or pass the build folder)"
[[ -x $worth_bench ]] || die "no worth_bench at $worth_bench (build it, or pass the build folder)"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL server binaries (Debian: postgresql-15)"

work=$(new_work_dir)
as_server() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_server "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  if ((keep)); then say "kept $work"; else rm -rf -- "$work"; fi
}
trap cleanup EXIT
cd "$work"
mkdir -p log
((EUID != 0)) || chown postgres: "$work"
say "starting PostgreSQL in $work/pg..."
as_server "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 --locale=C >log/initdb 2>&1 ||
  die "initdb failed: $(tail -n 3 log/initdb)"
cat >>"$work/pg/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = 256MB
max_wal_size = 4GB
EOF
as_server "$pg_bin/pg_ctl" -D "$work/pg" -w -l "$work/pg/server.log" start >/dev/null ||
  die "the server did not start"
url() { echo "host=$work user=postgres dbname=$1"; }
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(url "$1")" -c "$2"; }

write_bench_config bench.yaml
customers=$(((transactions + 5) / 6))
say "generating ~$transactions transactions ($customers customers, seed 7)..."
"$followupd" demo-data --out data --customers "$customers" --seed 7 >log/demo-data 2>&1 ||
  die "followupd demo-data failed"
rows=$(sed -n 's/^demo-data: wrote [0-9]* customers and \([0-9]*\) transactions.*/\1/p' log/demo-data)

# Runs "$@" with its output to log/NAME; sets $secs (wall seconds).
timed() {
  local name=$1 start
  shift
  start=$(date +%s.%N)
  "$@" >"log/$name" 2>&1 || die "$name failed: $(tail -n 3 "log/$name")"
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { r = a / b; printf "%.2f (target <= %s): %s", r, t, (r <= t) ? "PASS" : "MISS" }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
f_secs=() c_secs=()
for ((run = 1; run <= runs; run++)); do
  sql postgres "DROP DATABASE IF EXISTS f" && sql postgres "CREATE DATABASE f"
  say "run $run/$runs: followupd import customers (not timed), then transactions..."
  "$followupd" --config bench.yaml --store "$(url f)" import customers data/customers.csv \
    >log/customers 2>&1 || die "followupd import customers failed: $(tail -n 3 log/customers)"
  timed import "$followupd" --config bench.yaml --store "$(url f)" import transactions \
    data/transactions.csv
  [[ $(sql f "SELECT count(*) FROM transactions") == "$rows" ]] || die "followupd did not store $rows rows"
  f_secs+=("$secs") && say "  ${secs}s"

  sql postgres "DROP DATABASE IF EXISTS ref" && sql postgres "CREATE DATABASE ref"
  sql ref "CREATE TABLE t(id text, customer_id text, occurred_at text, kind text, amount text,
                          cost text, currency text, offer_code text)"
  say "run $run/$runs: psql \\copy..."
  timed copy psql -X -q -v ON_ERROR_STOP=1 -d "$(url ref)" \
    -c "\\copy t FROM 'data/transactions.csv' WITH (FORMAT csv, HEADER)"
  [[ $(sql ref "SELECT count(*) FROM t") == "$rows" ]] || die "psql \\copy did not store $rows rows"
  c_secs+=("$secs") && say "  ${secs}s"
done
sql f "VACUUM ANALYZE"

query="SELECT customer_id, count(*), sum(amount), min(occurred_at), max(occurred_at)
       FROM transactions GROUP BY customer_id"
g_secs=() l_secs=()
for ((run = 1; run <= runs; run++)); do
  say "run $run/$runs: PostgreSQL GROUP BY customer_id, then the facts (worth_bench --load-only)..."
  timed groupby psql -X -q -A -t -d "$(url f)" -o /dev/null -c "$query"
  g_secs+=("$secs")
  "$worth_bench" "$(url f)" --at "$at" --load-only >log/worth 2>&1 || die "worth_bench failed"
  l_secs+=("$(sed -n 's/^load (CustomerBase.*): \([0-9.]*\) s,.*/\1/p' log/worth)")
  say "  ${g_secs[-1]}s / ${l_secs[-1]}s"
done

f_med=$(median "${f_secs[@]}") c_med=$(median "${c_secs[@]}")
g_med=$(median "${g_secs[@]}") l_med=$(median "${l_secs[@]}")
echo "PostgreSQL store benchmark: $rows transactions, $customers customers; median of $runs runs"
echo "machine: $(nproc) cores, load average before $load_before; $(psql --version)"
printf '  followupd import transactions (COPY): %8.3f s   (runs: %s)\n' "$f_med" "${f_secs[*]}"
printf '  psql \\copy into 8 text columns:       %8.3f s   (runs: %s)\n' "$c_med" "${c_secs[*]}"
echo "  import ratio: $(ratio "$f_med" "$c_med" 2.0)"
printf '  facts, CustomerBase::Load:             %8.3f s   (runs: %s)\n' "$l_med" "${l_secs[*]}"
printf '  PostgreSQL GROUP BY customer_id:       %8.3f s   (runs: %s)\n' "$g_med" "${g_secs[*]}"
echo "  facts ratio: $(ratio "$l_med" "$g_med" 1.5)"
