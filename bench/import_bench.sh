#!/usr/bin/env bash
# Import benchmark: `followupd import transactions` of ~1,000,000 rows into a fresh SQLite store,
# beside sqlite3's own `.import` of the same CSV into a table of the same columns, measured in the
# same run. Target: followupd within 2x of sqlite3. See docs/benchmarks.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/import_bench.sh [OPTIONS] [FOLLOWUPD [WORKDIR]]

Times `followupd import transactions FILE` into a fresh SQLite store and, in the same run,
sqlite3's own `.import` of the same CSV into a table of the same 8 columns (both in WAL mode with
synchronous=NORMAL, like followupd's store). Each side runs several times, each into a fresh
database file; the medians are compared. Target: followupd/sqlite3 <= 2.0.

  FOLLOWUPD            the built binary (default: build/daemon/cli/followupd under the repo root)
  WORKDIR              where the data and databases go (default: a new temporary folder,
                       removed at exit)

Options:
  --transactions N     about how many transaction rows to generate (default 1000000); the
                       generator makes ~6 a customer, the report uses the file's exact count
  --runs N             timed runs of each side (default 3)
  --keep               keep the work folder (and print where it is)
  -h, --help           this help

The data comes from `followupd demo-data --seed 7`; customers are imported first, not timed.
Peak RSS is reported when /usr/bin/time (GNU time) is installed.
Exit 0 whether the target is met or not; non-zero only when a step fails.
EOF
}

bench_name=import_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

transactions=1000000
runs=3
keep=0
positional=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --transactions) need "$1" $# && transactions=$2 && shift 2 ;;
    --transactions=*) transactions=${1#*=} && shift ;;
    --runs) need "$1" $# && runs=$2 && shift 2 ;;
    --runs=*) runs=${1#*=} && shift ;;
    --keep) keep=1 && shift ;;
    --)
      shift
      positional+=("$@")
      break
      ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
((${#positional[@]} <= 2)) || die "too many arguments (see --help)"
if ! [[ $transactions =~ ^[0-9]+$ ]] || ((transactions < 6)); then
  die "--transactions: a number >= 6"
fi
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1)); then die "--runs: a number >= 1"; fi

followupd=${positional[0]:-$repo_root/build/daemon/cli/followupd}
[[ -x $followupd && -f $followupd ]] || die "no followupd at $followupd (build it, or pass its path)"
followupd=$(cd "$(dirname "$followupd")" && pwd)/$(basename "$followupd")
command -v sqlite3 >/dev/null || die "sqlite3 not found (Debian: apt-get install sqlite3)"

if ((${#positional[@]} >= 2)); then
  work=${positional[1]}
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  created_work=0
else
  work=$(new_work_dir)
  created_work=1
fi
cleanup() {
  if ((keep)); then
    say "kept $work"
  elif ((created_work)); then
    rm -rf -- "$work"
  else
    # A folder given by the caller: remove only what this script made in it.
    local f
    for f in f.db ref.db; do rm -f -- "$work/$f" "$work/$f-wal" "$work/$f-shm" "$work/$f-journal"; done
    rm -f -- "$work"/data/{customers,transactions}.csv{,.tmp} "$work"/log/{demo-data,customers} \
      "$work"/log/{followupd,sqlite3}{,.time}
    rmdir -- "$work/data" "$work/log" 2>/dev/null || true
  fi
}
trap cleanup EXIT

gnu_time=$(find_gnu_time)

# Everything runs inside the work folder with relative names: no config file from the caller's
# folder is picked up, and no path needs quoting inside sqlite3's dot-commands.
cd "$work"
mkdir -p log
data=data

# Runs "$@" with stdout and stderr to log/NAME; sets $secs (wall), and with GNU time $cpu (user +
# system seconds) and $rss_kb (peak RSS), else those two to "".
timed() {
  local name=$1 start end
  shift
  start=$(date +%s.%N)
  if [[ -n $gnu_time ]]; then
    "$gnu_time" -f '%M %U %S' -o "log/$name.time" "$@" >"log/$name" 2>&1 || return 1
  else
    "$@" >"log/$name" 2>&1 || return 1
  fi
  end=$(date +%s.%N)
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
  cpu='' rss_kb=''
  if [[ -n $gnu_time ]]; then
    read -r rss_kb cpu < <(tail -n 1 "log/$name.time" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
  fi
  return 0
}
fail_with_log() {
  echo "import_bench: $1; its output:" >&2
  sed 's/^/  /' "log/$2" >&2 || true
  exit 1
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
remove_db() { rm -f -- "$1" "$1-wal" "$1-shm" "$1-journal"; }

customers=$(((transactions + 5) / 6))
say "generating ~$transactions transactions ($customers customers, seed 7) in $work/$data..."
"$followupd" demo-data --out "$data" --customers "$customers" --seed 7 >log/demo-data 2>&1 ||
  fail_with_log "followupd demo-data failed" demo-data
rows=$(sed -n 's/^demo-data: wrote [0-9]* customers and \([0-9]*\) transactions.*/\1/p' log/demo-data)
[[ -n $rows ]] || fail_with_log "cannot read the row count from demo-data's output" demo-data

load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
f_secs=() f_cpu=() f_rss=() s_secs=() s_cpu=() s_rss=()
for ((run = 1; run <= runs; run++)); do
  # followupd: a fresh store, customers imported (not timed), then the timed transaction import.
  remove_db f.db
  say "run $run/$runs: importing customers (not timed)..."
  "$followupd" --store sqlite:f.db import customers "$data/customers.csv" >log/customers 2>&1 ||
    fail_with_log "followupd import customers failed" customers
  say "run $run/$runs: followupd import transactions..."
  timed followupd "$followupd" --store sqlite:f.db import transactions "$data/transactions.csv" ||
    fail_with_log "followupd import transactions failed" followupd
  got=$(sqlite3 f.db 'SELECT count(*) FROM transactions;')
  [[ $got == "$rows" ]] || die "followupd stored $got transactions, the file has $rows"
  f_secs+=("$secs")
  f_cpu+=("$cpu")
  f_rss+=("$rss_kb")
  say "  ${secs}s"

  # The reference: the same CSV into a table of the same columns, same journal mode.
  remove_db ref.db
  sqlite3 -bail ref.db >/dev/null <<'SQL' || die "sqlite3: cannot create the reference table"
PRAGMA journal_mode=WAL;
CREATE TABLE t(id TEXT, customer_id TEXT, occurred_at TEXT, kind TEXT, amount TEXT, cost TEXT,
               currency TEXT, offer_code TEXT);
SQL
  say "run $run/$runs: sqlite3 .import..."
  timed sqlite3 sqlite3 -bail -cmd 'PRAGMA synchronous=NORMAL;' -cmd '.mode csv' ref.db \
    ".import --skip 1 $data/transactions.csv t" ||
    fail_with_log "sqlite3 .import failed" sqlite3
  got=$(sqlite3 ref.db 'SELECT count(*) FROM t;')
  [[ $got == "$rows" ]] || die "sqlite3 .import stored $got rows, the file has $rows"
  [[ $(sqlite3 ref.db 'PRAGMA journal_mode;') == wal ]] || die "reference database is not in WAL mode"
  s_secs+=("$secs")
  s_cpu+=("$cpu")
  s_rss+=("$rss_kb")
  say "  ${secs}s"
done

f_med=$(median "${f_secs[@]}")
s_med=$(median "${s_secs[@]}")
read -r f_rate s_rate ratio verdict < <(awk -v r="$rows" -v f="$f_med" -v s="$s_med" 'BEGIN {
  ratio = (s > 0) ? sprintf("%.2f", f / s) + 0 : 0
  printf "%.0f %.0f %.2f %s\n", (f > 0 ? r / f : 0), (s > 0 ? r / s : 0), ratio,
         (s > 0 && ratio <= 2.0) ? "PASS" : "MISS"
}')

f_extra='' s_extra='' cpu_ratio=''
if [[ -n $gnu_time ]]; then
  cpu_ratio=$(awk -v f="$(median "${f_cpu[@]}")" -v s="$(median "${s_cpu[@]}")" \
    'BEGIN { if (s > 0) printf "; CPU time ratio %.2f", f / s }')
  f_extra=$(printf ', CPU %.2f s, peak RSS %.0f MiB' "$(median "${f_cpu[@]}")" \
    "$(awk -v k="$(median "${f_rss[@]}")" 'BEGIN { print k / 1024 }')")
  s_extra=$(printf ', CPU %.2f s, peak RSS %.0f MiB' "$(median "${s_cpu[@]}")" \
    "$(awk -v k="$(median "${s_rss[@]}")" 'BEGIN { print k / 1024 }')")
fi

echo "import benchmark: $rows transaction rows ($(du -h "$data/transactions.csv" | cut -f1) CSV)," \
  "median of $runs runs each, fresh database each run"
echo "both sides: SQLite $(sqlite3 --version | cut -d' ' -f1), journal_mode=WAL, synchronous=NORMAL"
printf '  followupd import transactions: %8.3f s  %10s rows/s%s   (runs: %s)\n' \
  "$f_med" "$f_rate" "$f_extra" "${f_secs[*]}"
printf '  sqlite3 .import (reference):   %8.3f s  %10s rows/s%s   (runs: %s)\n' \
  "$s_med" "$s_rate" "$s_extra" "${s_secs[*]}"
echo "  ratio followupd/sqlite3 (wall): $ratio (target <= 2.0): $verdict$cpu_ratio"
if [[ -r /proc/loadavg ]]; then
  echo "  load average before the first run: $load_before (other work on the machine skews wall times)"
fi
