#!/usr/bin/env bash
# Sequence benchmark: the decide pass over 1,000,000 customers with 100,000 sequence places in
# flight against the same pass without sequences, and the memory a place in flight takes. Builds
# nothing. Targets: within 1.5x, under 100 bytes a place. See docs/benchmarks.md, "Sequences".
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bench/sequence_bench.sh [OPTIONS] [SEQUENCE_BENCH]

Runs sequence_bench from the repository root on the shipped rules and templates: synthetic facts
for --customers customers (bench/synthetic_shop.h), then app::EvaluatePass, best of 3,
  - without sequences: each shipped sequence as a one-email rule (its first step), nobody in flight;
  - with sequences: the shipped rules, --in-flight places waiting for their second step (a seventh
    of them due), read into the snapshot as the daemon reads them.
Prints both times and their ratio (target <= 1.5), and the heap growth per place in flight
(target < 100 bytes), with the machine and its load.

  SEQUENCE_BENCH       the built sequence_bench (default: build/bench/sequence_bench)

Options:
  --customers N        customers (default 1000000)
  --in-flight N        places in flight (default 100000)
  -h, --help           this help
Exit 0 whether the targets are met or not; non-zero only when a step fails.
USAGE
}

bench_name=sequence_bench
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

customers=1000000
in_flight=100000
positional=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --customers) need "$1" $# && customers=$2 && shift 2 ;;
    --customers=*) customers=${1#*=} && shift ;;
    --in-flight) need "$1" $# && in_flight=$2 && shift 2 ;;
    --in-flight=*) in_flight=${1#*=} && shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") && shift ;;
  esac
done
((${#positional[@]} <= 1)) || die "too many arguments (see --help)"
if ! [[ $customers =~ ^[0-9]+$ ]] || ((customers < 1)); then die "--customers: a number >= 1"; fi
if ! [[ $in_flight =~ ^[0-9]+$ ]] || ((in_flight < 1)); then die "--in-flight: a number >= 1"; fi
binary=${positional[0]:-$repo_root/build/bench/sequence_bench}
[[ -x $binary && -f $binary ]] || die "no sequence_bench at $binary (build it, or pass its path)"
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

cd "$repo_root"
echo "sequence benchmark: $customers customers, $in_flight places in flight"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
"$binary" --customers "$customers" --in-flight "$in_flight" --rules rules --templates templates
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
