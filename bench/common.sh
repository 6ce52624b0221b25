# What the bench scripts share. Each sets bench_name and then sources this file:
#   bench_name=import_bench
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck shell=bash

die() {
  echo "$bench_name: $*" >&2
  exit 1
}
say() { echo "$*" >&2; }

# For an option that takes a value: `--name) need "$1" $# && name=$2 && shift 2 ;;`.
need() { (($2 >= 2)) || die "$1 needs a value (see --help)"; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A fresh work folder under $TMPDIR, named after the benchmark.
new_work_dir() { mktemp -d "${TMPDIR:-/tmp}/$bench_name.XXXXXX"; }

# GNU time, for peak RSS: its path when installed (Debian package `time`), else "".
find_gnu_time() {
  if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
    echo /usr/bin/time
  fi
}

# A config for benchmarks on demo data: business time zone UTC, money in EUR, worth in weeks.
write_bench_config() {
  cat >"$1" <<'EOF'
business:
  timezone: UTC
  currency: EUR
worth:
  time_unit: weeks
EOF
}
