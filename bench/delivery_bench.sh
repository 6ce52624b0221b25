#!/usr/bin/env bash
# Delivery benchmark: 10,000 messages from the durable outbox to Postfix's smtp-sink on loopback
# over 8 connections, printed beside `smtp-source -s 8 -d -m 10000` against the same sink in the
# same run (the protocol's practical ceiling here); then the HTTP path to a loopback mail API.
# Targets: SMTP at least 0.3x of smtp-source; HTTP at least 5,000 messages/s. Builds nothing.
# See docs/benchmarks.md, "Delivery".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/delivery_bench.sh [OPTIONS] [DELIVERY_BENCH]

Starts smtp-sink on 127.0.0.1 (a free port), times
  smtp-source -s 8 -d -m N 127.0.0.1:PORT
(the reference: N small messages over 8 reused sessions), then runs delivery_bench against the
same sink (N queued sends in a fresh SQLite store, drained by OutboxWorker over an smtp://
transport with 8 connections, require_tls off), then delivery_bench's HTTP path (its own loopback
HTTP server answering like Postmark). Prints both SMTP rates, their ratio and the HTTP rate, each
against its target. Alternates reference and followup --runs times; medians are compared.

  DELIVERY_BENCH       the built delivery_bench (default: build/bench/delivery_bench)

Options:
  --messages N         messages per side (default 10000)
  --connections C      parallel SMTP sessions / HTTP transfers on both sides (default 8)
  --runs N             runs of each side, alternating (default 1)
  --no-http            skip the HTTP path
  -h, --help           this help

Needs /usr/sbin/smtp-sink and /usr/sbin/smtp-source (Debian package postfix). Loopback only.
Exit 0 whether the targets are met or not; non-zero only when a step fails.
EOF
}

bench_name=delivery_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

messages=10000
connections=8
runs=1
http=1
positional=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --messages) need "$1" $# && messages=$2 && shift 2 ;;
    --messages=*) messages=${1#*=} && shift ;;
    --connections) need "$1" $# && connections=$2 && shift 2 ;;
    --connections=*) connections=${1#*=} && shift ;;
    --runs) need "$1" $# && runs=$2 && shift 2 ;;
    --runs=*) runs=${1#*=} && shift ;;
    --no-http) http=0 && shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") && shift ;;
  esac
done
((${#positional[@]} <= 1)) || die "too many arguments (see --help)"
if ! [[ $messages =~ ^[0-9]+$ ]] || ((messages < 1)); then die "--messages: a number >= 1"; fi
if ! [[ $connections =~ ^[0-9]+$ ]] || ((connections < 1)); then die "--connections: >= 1"; fi
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1)); then die "--runs: a number >= 1"; fi
bench=${positional[0]:-$repo_root/build/bench/delivery_bench}
[[ -x $bench && -f $bench ]] || die "no delivery_bench at $bench (build it, or pass its path)"
sink_bin=/usr/sbin/smtp-sink
source_bin=/usr/sbin/smtp-source
[[ -x $sink_bin && -x $source_bin ]] ||
  die "smtp-sink/smtp-source not found in /usr/sbin (Debian: apt-get install postfix)"

work=$(new_work_dir)
sink_pid=
cleanup() {
  if [[ -n $sink_pid ]]; then
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT

# A port nothing listens on now (smtp-sink exits if it is taken meanwhile: then another).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
at_least() { awk "BEGIN { exit !($1 >= $2) }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

# smtp-sink: discards every message; -c keeps a running count (the last "mesg=N" it printed).
start_sink() {
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    local user=()
    ((EUID == 0)) && user=(-u root)
    "$sink_bin" "${user[@]}" -c "127.0.0.1:$port" 1000 >"$work/sink.out" 2>&1 &
    sink_pid=$!
    for _ in $(seq 100); do
      if ! kill -0 "$sink_pid" 2>/dev/null; then
        sink_pid=
        break
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
      sleep 0.05
    done
    if [[ -n $sink_pid ]]; then
      kill "$sink_pid" 2>/dev/null || true
      wait "$sink_pid" 2>/dev/null || true
    fi
    sink_pid=
  done
  die "smtp-sink did not start; its output: $(cat "$work/sink.out")"
}
sink_count() { tr '\r' '\n' <"$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2; }

start_sink
load=$(cut -d' ' -f1 /proc/loadavg)
echo "delivery benchmark: $messages messages, $connections connections, smtp-sink on 127.0.0.1:$port"
echo "  load average before the first run: $load"

ref_rates=()
ref_times=()
fu_rates=()
fu_lines=()
http_rates=()
http_lines=()
figure() { sed -n 's/^figures:.*[ ]'"$1"'=\([^ ]*\).*/\1/p' "$2"; }
for ((run = 1; run <= runs; run++)); do
  # Reference: smtp-source, N messages over C sessions kept open (-d).
  before=$(sink_count)
  t0=$(now)
  "$source_bin" -s "$connections" -d -m "$messages" "127.0.0.1:$port" >"$work/source.out" 2>&1 ||
    die "smtp-source failed: $(cat "$work/source.out")"
  t1=$(now)
  sleep 0.2
  after=$(sink_count)
  ((after - ${before:-0} == messages)) ||
    die "smtp-sink counted $((after - ${before:-0})) messages from smtp-source, not $messages"
  secs=$(calc "$t1 - $t0")
  ref_times+=("$secs")
  ref_rates+=("$(calc "$messages / $secs")")

  # followup: the outbox over smtp:// to the same sink (and, the first time, the HTTP path).
  before=$(sink_count)
  args=(--smtp "smtp://127.0.0.1:$port" --messages "$messages" --connections "$connections")
  ((http)) || args+=(--no-http)
  "$bench" "${args[@]}" >"$work/bench.out" 2>&1 || die "delivery_bench failed: $(cat "$work/bench.out")"
  sleep 0.2
  after=$(sink_count)
  # The outbox drain and delivery_bench's "transport alone" pass each send N.
  ((after - before == 2 * messages)) ||
    die "smtp-sink counted $((after - before)) messages from delivery_bench, not $((2 * messages))"
  fu_rates+=("$(figure smtp_msgs_per_s "$work/bench.out")")
  fu_lines+=("$(sed -n '/SMTP (/,/one message/p' "$work/bench.out")")
  if ((http)); then
    http_rates+=("$(figure http_msgs_per_s "$work/bench.out")")
    http_lines+=("$(sed -n '/HTTP (/,/server:/p' "$work/bench.out")")
  fi
done

ref=$(median "${ref_rates[@]}")
fu=$(median "${fu_rates[@]}")
ratio=$(calc "$fu / $ref")
verdict=MISS
at_least "$ratio" 0.3 && verdict=PASS
printf '  smtp-source -s %d -d -m %d (reference):  %8.0f msgs/s   (runs: %s)\n' "$connections" \
  "$messages" "$ref" "$(printf '%.0f ' "${ref_rates[@]}")"
printf '  followup outbox -> smtp-sink:            %8.0f msgs/s   (runs: %s)\n' "$fu" \
  "$(printf '%.0f ' "${fu_rates[@]}")"
printf '  ratio followup/smtp-source: %.3f (target >= 0.3): %s\n' "$ratio" "$verdict"
echo "  last run's detail:"
printf "  %s\n" "${fu_lines[-1]//$'\n'/$'\n  '}"
if ((http)); then
  h=$(median "${http_rates[@]}")
  hv=MISS
  at_least "$h" 5000 && hv=PASS
  printf '  followup outbox -> loopback HTTP API:    %8.0f msgs/s   (target >= 5000): %s\n' "$h" "$hv"
  printf "  %s\n" "${http_lines[-1]//$'\n'/$'\n  '}"
fi
