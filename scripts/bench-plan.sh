#!/usr/bin/env bash
# `clockwork plan --offline` from the command line on the large generated
# project (scripts/bench-project.py: 5,000 resources, 10,000 connections):
# plugins, evaluation, completion, resolve, plan and the rendered table,
# as a user runs it. Target (issue 26): at most 1.0 s.
#
#   scripts/bench-plan.sh [RUNS] [RESOURCES]    (default 10, 5000)
#
# Prints each run, the median and the fastest, and one CW_TIMINGS
# breakdown. Needs no Docker Engine. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
resources=${2:-5000}

cargo build --release -q -p clockwork
cw="${CARGO_TARGET_DIR:-$PWD/target}/release/clockwork"
dir=$(mktemp -d)/cw-bench-plan
trap 'rm -rf "$(dirname "$dir")"' EXIT
python3 scripts/bench-project.py "$dir" "$resources"

# The first run compiles the bundled plugins into the cache and writes
# clockwork.lock; every later run is what a user waits for.
"$cw" -C "$dir" plan --offline >/dev/null

times=()
for _ in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  "$cw" -C "$dir" plan --offline >/dev/null
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  times+=("$ms")
  echo "plan --offline, $resources resources: $ms ms"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
fastest=$(printf '%s\n' "$sorted" | head -1)
echo "median $median ms, fastest $fastest ms over $runs runs (target: 1000 ms)"
echo "one run, stage by stage (CW_TIMINGS=1):"
CW_TIMINGS=1 "$cw" -C "$dir" plan --offline 2>&1 >/dev/null | sed 's/^/  /'
