#!/usr/bin/env bash
# Worth benchmark: customer facts for 1,000,000 customers / ~20,000,000 transactions beside the time
# sqlite3 takes for a plain per-customer GROUP BY over the same store, measured in the same run;
# peak memory; model fits (1M customers and CDNOW); incremental updates. Builds nothing.
# Targets: facts within 1.5x of the GROUP BY, peak memory < 300 MB, fits < 2 s (1M) and < 10 ms
# (CDNOW), one update < 1 ms. See docs/benchmarks.md, "Customer worth".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/worth_bench.sh [OPTIONS] [FOLLOWUPD [WORTH_BENCH]]

Generates a store with `followupd demo-data` + `import` (or reuses the one in --dir), then in one
run: times sqlite3's
  SELECT customer_id, count(*), sum(amount), min(occurred_at), max(occurred_at)
  FROM transactions GROUP BY customer_id
(output to /dev/null, median of --runs), runs worth_bench on the same store (CustomerBase::Load,
the fits, ApplyModel, Refit, incremental updates, peak RSS), and fits the CDNOW sample
(tests/data/cdnow) in a small store of its own. Prints every figure against its target.

  FOLLOWUPD            the built followupd (default: build/daemon/cli/followupd under the repo root)
  WORTH_BENCH          the built worth_bench (default: build/bench/worth_bench)

Options:
  --customers N        customers to generate (default 1000000)
  --transactions-per-customer K
                       transaction rows per customer on average (default 20: ~20M rows)
  --dir DIR            work folder; a store generated there before with the same --customers and
                       --transactions-per-customer is reused (generating and importing 20M rows
                       takes minutes). The store stays for the next run; the CSVs do not.
                       Default: a new temporary folder, removed at exit
  --keep               keep everything in the work folder (and print where it is)
  --runs N             timed runs of the GROUP BY (default 3; the median is compared)
  --updates N          incremental updates worth_bench times (default 1000)
  --at DATE            end of the observation window (default 2026-07-01: after the demo data's
                       last day, 2026-06-30)
  -h, --help           this help

The data comes from `followupd demo-data --seed 7`. Business time zone UTC, currency EUR, time
unit weeks (a config file written into the work folder says so; no other config is read).
Exit 0 whether the targets are met or not; non-zero only when a step fails.
EOF
}

bench_name=worth_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

customers=1000000
per_customer=20
runs=3
updates=1000
at=2026-07-01
dir=
keep=0
positional=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --customers) need "$1" $# && customers=$2 && shift 2 ;;
    --customers=*) customers=${1#*=} && shift ;;
    --transactions-per-customer) need "$1" $# && per_customer=$2 && shift 2 ;;
    --transactions-per-customer=*) per_customer=${1#*=} && shift ;;
    --dir) need "$1" $# && dir=$2 && shift 2 ;;
    --dir=*) dir=${1#*=} && shift ;;
    --runs) need "$1" $# && runs=$2 && shift 2 ;;
    --runs=*) runs=${1#*=} && shift ;;
    --updates) need "$1" $# && updates=$2 && shift 2 ;;
    --updates=*) updates=${1#*=} && shift ;;
    --at) need "$1" $# && at=$2 && shift 2 ;;
    --at=*) at=${1#*=} && shift ;;
    --keep) keep=1 && shift ;;
    --)
      shift
      positional+=("$@")
      break
      ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") && shift ;;
  esac
done
((${#positional[@]} <= 2)) || die "too many arguments (see --help)"
if ! [[ $customers =~ ^[0-9]+$ ]] || ((customers < 1)); then die "--customers: a number >= 1"; fi
[[ $per_customer =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--transactions-per-customer: a number"
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1)); then die "--runs: a number >= 1"; fi
[[ $updates =~ ^[0-9]+$ ]] || die "--updates: a number >= 0"

absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
followupd=${positional[0]:-$repo_root/build/daemon/cli/followupd}
worth_bench=${positional[1]:-$repo_root/build/bench/worth_bench}
[[ -x $followupd && -f $followupd ]] || die "no followupd at $followupd (build it, or pass its path)"
[[ -x $worth_bench && -f $worth_bench ]] ||
  die "no worth_bench at $worth_bench (build it, or pass its path)"
followupd=$(absolute "$followupd")
worth_bench=$(absolute "$worth_bench")
command -v sqlite3 >/dev/null || die "sqlite3 not found (Debian: apt-get install sqlite3)"
cdnow_dir=$repo_root/tests/data/cdnow
[[ -f $cdnow_dir/cdnow_sample_transactions.csv ]] || die "no CDNOW sample in $cdnow_dir"

if [[ -n $dir ]]; then
  mkdir -p "$dir"
  work=$(cd "$dir" && pwd)
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
    # The store stays for the next run; the rest goes.
    rm -rf -- "$work/data" "$work/log" "$work/cdnow.db" "$work/cdnow.db-wal" "$work/cdnow.db-shm"
  fi
}
trap cleanup EXIT

gnu_time=$(find_gnu_time)

# Everything runs inside the work folder with relative names, under a config of its own.
cd "$work"
mkdir -p log
write_bench_config bench.yaml
fu() { "$followupd" --config bench.yaml "$@"; }
fail_with_log() {
  echo "worth_bench: $1; its output:" >&2
  sed 's/^/  /' "log/$2" >&2 || true
  exit 1
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
remove_db() { rm -f -- "$1" "$1-wal" "$1-shm" "$1-journal"; }

# The store: reused when a previous run made it with the same parameters (store.ok says which).
want="customers=$customers transactions-per-customer=$per_customer seed=7"
if [[ -f store.db && -f store.ok && $(head -n 1 store.ok) == "$want" ]]; then
  say "reusing the store in $work ($want)"
else
  remove_db store.db
  rm -f store.ok
  say "generating $customers customers, ~$per_customer transactions each (seed 7)..."
  fu demo-data --out data --customers "$customers" --seed 7 \
    --transactions-per-customer "$per_customer" >log/demo-data 2>&1 ||
    fail_with_log "followupd demo-data failed" demo-data
  say "importing customers..."
  fu --store sqlite:store.db import customers data/customers.csv >log/import-customers 2>&1 ||
    fail_with_log "followupd import customers failed" import-customers
  say "importing transactions (minutes for 20M rows)..."
  start=$(date +%s)
  fu --store sqlite:store.db import transactions data/transactions.csv \
    >log/import-transactions 2>&1 ||
    fail_with_log "followupd import transactions failed" import-transactions
  say "  $(($(date +%s) - start)) s"
  rm -rf data
  echo "$want" >store.ok
fi
read -r n_customers n_rows < <(sqlite3 store.db \
  'SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM transactions);' | tr '|' ' ')

# The reference: a plain per-customer GROUP BY over the same table, output thrown away.
query='SELECT customer_id, count(*), sum(amount), min(occurred_at), max(occurred_at)
       FROM transactions GROUP BY customer_id'
g_secs=() g_rss=()
for ((run = 1; run <= runs; run++)); do
  say "sqlite3 GROUP BY, run $run/$runs..."
  start=$(date +%s.%N)
  if [[ -n $gnu_time ]]; then
    "$gnu_time" -f %M -o log/groupby.rss sqlite3 store.db "$query" >/dev/null 2>log/groupby ||
      fail_with_log "sqlite3 GROUP BY failed" groupby
    g_rss+=("$(tail -n 1 log/groupby.rss)")
  else
    sqlite3 store.db "$query" >/dev/null 2>log/groupby || fail_with_log "sqlite3 GROUP BY failed" groupby
  fi
  end=$(date +%s.%N)
  g_secs+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
  say "  ${g_secs[-1]} s"
done
g_med=$(median "${g_secs[@]}")

say "worth_bench on the same store (--at $at, --updates $updates)..."
"$worth_bench" store.db --at "$at" --updates "$updates" >log/worth_bench 2>&1 ||
  fail_with_log "worth_bench failed" worth_bench

say "CDNOW sample: importing and fitting..."
remove_db cdnow.db
fu --store sqlite:cdnow.db import customers "$cdnow_dir/cdnow_sample_customers.csv" \
  >log/cdnow-import 2>&1 || fail_with_log "importing the CDNOW customers failed" cdnow-import
fu --store sqlite:cdnow.db import transactions "$cdnow_dir/cdnow_sample_transactions.csv" \
  >>log/cdnow-import 2>&1 || fail_with_log "importing the CDNOW transactions failed" cdnow-import
"$worth_bench" cdnow.db --at 1997-09-30 --updates "$updates" >log/cdnow 2>&1 ||
  fail_with_log "worth_bench on CDNOW failed" cdnow

# worth_bench's last line: "figures: key=value ...".
figure() { # LOG KEY
  sed -n 's/^figures: //p' "log/$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
load_s=$(figure worth_bench load_s)
scan_s=$(figure worth_bench scan_s)
peak_mb=$(figure worth_bench peak_load_mb)
fit_s=$(figure worth_bench fit_s)
bgnbd_s=$(figure worth_bench bgnbd_s)
gg_s=$(figure worth_bench gamma_gamma_s)
apply_s=$(figure worth_bench apply_s)
upd_med=$(figure worth_bench update_median_us)
upd_p99=$(figure worth_bench update_p99_us)
fitted=$(($(figure worth_bench bgnbd) + $(figure worth_bench gamma_gamma)))
cdnow_fit_s=$(figure cdnow fit_s)
cdnow_fitted=$(($(figure cdnow bgnbd) + $(figure cdnow gamma_gamma)))
[[ -n $load_s && -n $cdnow_fit_s ]] || die "cannot read worth_bench's figures (see log/ with --keep)"

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "PASS" : "MISS" }'; }
ratio=$(awk -v a="$load_s" -v b="$g_med" 'BEGIN { printf "%.2f", a / b }')
scan_ratio=$(awk -v a="$scan_s" -v b="$g_med" 'BEGIN { printf "%.2f", a / b }')
sqlite_rss=
if [[ -n $gnu_time ]]; then
  sqlite_rss=$(awk -v k="$(median "${g_rss[@]}")" 'BEGIN { printf ", peak RSS %.0f MB", k * 1024 / 1e6 }')
fi

line() { # LABEL FORMAT ARGS...: one aligned line of the report
  local label=$1 format=$2
  shift 2
  # shellcheck disable=SC2059 # the format is ours
  printf "  %-52s $format\n" "$label" "$@"
}
ms() { awk -v s="$1" 'BEGIN { printf "%.3f", s * 1000 }'; }
not_fitted() { (($1 == 2)) || echo " (a model did not fit: see worth_bench's report)"; }

echo "worth benchmark: $n_customers customers, $n_rows transactions (store $(du -h store.db | cut -f1))," \
  "at $at"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); SQLite $(sqlite3 --version | cut -d' ' -f1)"
line "sqlite3 GROUP BY (count, sum, min, max a customer):" "%8.3f s   median of %s (runs: %s)%s" \
  "$g_med" "$runs" "${g_secs[*]}" "$sqlite_rss"
line "facts, CustomerBase::Load:" "%8.3f s   ratio %s (target <= 1.5): %s" \
  "$load_s" "$ratio" "$(verdict "$ratio" 1.5)"
line "  of which read + summarize:" "%8.3f s   ratio %s" "$scan_s" "$scan_ratio"
line "  of which referrals + fit + apply (Refit):" "%8.3f s   (ApplyModel pass alone %.3f s)" \
  "$(awk -v a="$load_s" -v b="$scan_s" 'BEGIN { print a - b }')" "$apply_s"
line "peak memory (RSS) during Load:" "%8.1f MB  (target < 300 MB): %s" \
  "$peak_mb" "$(verdict "$peak_mb" 300)"
line "fit, $n_customers customers (BuildPopulation):" "%8.3f ms  (target < 2 s): %s%s" \
  "$(ms "$fit_s")" "$(verdict "$fit_s" 2)" "$(not_fitted "$fitted")"
line "  FitBgNbd + FitGammaGamma alone:" "%8.3f ms  (%s + %s ms)" \
  "$(awk -v a="$bgnbd_s" -v b="$gg_s" 'BEGIN { print (a + b) * 1000 }')" "$(ms "$bgnbd_s")" "$(ms "$gg_s")"
line "fit, CDNOW sample (BuildPopulation):" "%8.3f ms  (target < 10 ms): %s%s" \
  "$(ms "$cdnow_fit_s")" "$(verdict "$cdnow_fit_s" 0.010)" "$(not_fitted "$cdnow_fitted")"
if ((updates > 0)); then
  line "one incremental update, median of $updates:" "%8.1f us  (target < 1000 us): %s; p99 %s us" \
    "$upd_med" "$(verdict "$upd_med" 1000)" "$upd_p99"
fi
echo "worth_bench's own report:"
sed 's/^/  | /' log/worth_bench
