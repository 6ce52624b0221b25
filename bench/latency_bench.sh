#!/usr/bin/env bash
# Latency benchmark: from another process's commit of a purchase to followupd's decision in the
# outbox, with `followupd run` watching the store (default poll interval). Target: p99 under
# 100 ms at idle and under a load of 1,000 transactions a second. Builds nothing.
# See docs/benchmarks.md, "Latency".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/latency_bench.sh [OPTIONS] [FOLLOWUPD [LATENCY_BENCH]]

In a temporary folder: a config (service.poll_interval_ms left at its default, no HTTP listener,
quiet_hours "", max_contacts 0, mail to a maildir there), one rule (`event: purchase`, no audience
filter, a small template), a store with --customers demo customers and their history
(`followupd demo-data --seed 7`, imported). Starts `followupd run` on it, then runs latency_bench,
which commits purchases to the store on its own SQLite connection (as another program would) and
watches the outbox for each one's decision: at idle (--idle transactions, random gaps averaging
50 ms) and under load (--rate a second for --seconds). Prints p50/p90/p99/max against the target,
then stops the daemon (SIGTERM) and checks that it exited cleanly.

  FOLLOWUPD            the built followupd (default: build/daemon/cli/followupd under the repo root)
  LATENCY_BENCH        the built latency_bench (default: build/bench/latency_bench)

Options:
  --customers N        demo customers in the store (default 3000)
  --idle N             transactions at idle (default 200)
  --rate R             transactions a second under load (default 1000)
  --seconds S          length of the load phase (default 10)
  --poll-interval-ms M set service.poll_interval_ms (default: not set, the daemon's default)
  --transport URL      delivery.transport instead of the maildir (e.g. smtp://127.0.0.1:PORT of a
                       running smtp-sink; require_tls is turned off): to see the decision path
                       without the maildir's fsyncs
  --keep               keep the work folder (config, store, daemon log, maildir) and print where
  -h, --help           this help

Exit 0 whether the target is met or not; non-zero only when a step fails (the daemon does not
start or dies, the bench cannot use the store).
EOF
}

bench_name=latency_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

customers=3000
idle=200
rate=1000
seconds=10
poll=
transport=maildir://mail
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
    --idle) need "$1" $# && idle=$2 && shift 2 ;;
    --idle=*) idle=${1#*=} && shift ;;
    --rate) need "$1" $# && rate=$2 && shift 2 ;;
    --rate=*) rate=${1#*=} && shift ;;
    --seconds) need "$1" $# && seconds=$2 && shift 2 ;;
    --seconds=*) seconds=${1#*=} && shift ;;
    --poll-interval-ms) need "$1" $# && poll=$2 && shift 2 ;;
    --poll-interval-ms=*) poll=${1#*=} && shift ;;
    --transport) need "$1" $# && transport=$2 && shift 2 ;;
    --transport=*) transport=${1#*=} && shift ;;
    --keep) keep=1 && shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") && shift ;;
  esac
done
((${#positional[@]} <= 2)) || die "too many arguments (see --help)"
if ! [[ $customers =~ ^[0-9]+$ ]] || ((customers < 10)); then die "--customers: a number >= 10"; fi
[[ $idle =~ ^[0-9]+$ ]] || die "--idle: a number"
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--rate: a number"
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--seconds: a number"
[[ -z $poll || $poll =~ ^[0-9]+$ ]] || die "--poll-interval-ms: a number"

absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
followupd=${positional[0]:-$repo_root/build/daemon/cli/followupd}
bench=${positional[1]:-$repo_root/build/bench/latency_bench}
[[ -x $followupd && -f $followupd ]] || die "no followupd at $followupd (build it, or pass its path)"
[[ -x $bench && -f $bench ]] || die "no latency_bench at $bench (build it, or pass its path)"
followupd=$(absolute "$followupd")
bench=$(absolute "$bench")

work=$(new_work_dir)
daemon_pid=
# Stops the daemon: SIGTERM, then up to 120 s for the round in flight to finish and a clean exit,
# then SIGKILL. Sets daemon_status (its exit status, or "killed").
stop_daemon() {
  daemon_status=
  [[ -n $daemon_pid ]] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null || true
  for _ in $(seq 1200); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    daemon_status=killed
  fi
  local rc=0
  wait "$daemon_pid" 2>/dev/null || rc=$?
  [[ -n $daemon_status ]] || daemon_status=$rc
  daemon_pid=
}
cleanup() {
  stop_daemon
  if ((keep)); then
    say "kept $work"
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT

cd "$work"
mkdir -p rules templates/thanks log
{
  echo "store: sqlite:store.db"
  echo "rules_dir: rules"
  echo "templates_dir: templates"
  echo "business:"
  echo "  name: Bench Shop"
  echo "  timezone: UTC"
  echo "  currency: EUR"
  echo "contact_policy:"
  echo "  max_contacts: 0"
  echo '  quiet_hours: ""'
  echo "delivery:"
  echo "  transport: $transport"
  echo "  require_tls: false"
  echo "  unsubscribe_key_file: unsubscribe.key"
  echo "service:"
  echo '  listen: ""'
  [[ -z $poll ]] || echo "  poll_interval_ms: $poll"
} >bench.yaml
cat >rules/thanks.yaml <<'EOF'
# Every purchase: a thank-you, at once.
name: purchase-thanks
description: Thank every customer for every purchase.
trigger:
  event: purchase
action:
  send: thanks
  to: customer
EOF
echo 'Thank you, {{customer.first_name}}' >templates/thanks/subject.mustache
cat >templates/thanks/text.mustache <<'EOF'
Hello {{customer.first_name}},

thank you for your order at {{business.name}}.

--
Unsubscribe with one click: {{unsubscribe_url}}
EOF
fu() { "$followupd" --config bench.yaml "$@"; }
fail_with_log() {
  echo "latency_bench: $1; its output:" >&2
  sed 's/^/  /' "log/$2" >&2 || true
  exit 1
}

fu demo-data --out data --customers "$customers" --seed 7 >log/demo-data 2>&1 ||
  fail_with_log "followupd demo-data failed" demo-data
fu import customers data/customers.csv >log/import 2>&1 ||
  fail_with_log "followupd import customers failed" import
fu import transactions data/transactions.csv >>log/import 2>&1 ||
  fail_with_log "followupd import transactions failed" import
rm -rf data
fu check >log/check 2>&1 || fail_with_log "followupd check failed" check

"$followupd" --config bench.yaml run >log/daemon 2>&1 &
daemon_pid=$!
# latency_bench's warm-up waits for the daemon's first decision (up to 2 minutes).
sleep 0.5
kill -0 "$daemon_pid" 2>/dev/null || fail_with_log "followupd run exited at start" daemon

load=$(cut -d' ' -f1-3 /proc/loadavg)
"$bench" store.db --idle "$idle" --rate "$rate" --seconds "$seconds" >log/bench 2>&1 || {
  kill -0 "$daemon_pid" 2>/dev/null || fail_with_log "followupd run died" daemon
  fail_with_log "latency_bench failed" bench
}
kill -0 "$daemon_pid" 2>/dev/null || fail_with_log "followupd run died during the benchmark" daemon
stop_daemon
[[ $daemon_status == 0 ]] || fail_with_log "followupd run did not stop cleanly ($daemon_status)" daemon

interval=${poll:-"50 (the default)"}
echo "latency benchmark: followupd run (poll_interval_ms $interval, mail to $transport)," \
  "$customers customers, $(nproc) cores, load average before: $load"
grep -v '^figures:' log/bench | sed -n '2,$p'
sent=$(grep -o 'outbox: sent [0-9]*' log/daemon | awk '{ n += $3 } END { print n + 0 }')
errors=$(grep -c -E '^[0-9T:.-]+ (error|warn)' log/daemon || true)
echo "  daemon: sent $sent messages, $errors errors/warnings in its log, stopped cleanly"
grep '^figures:' log/bench
