#!/usr/bin/env bash
# Runs the fuzz targets (host/src/fuzz/) for a long time, two at once, from
# new seeds, and prints what each tried. The test suite runs each for 20 s
# from a fixed seed; this is the long run.
#
#   scripts/fuzz.sh [SECONDS] [FILTER]    (default 3600 in all; every target)
#
# SECONDS is the whole run's length: each target gets its share of two
# cores' worth of it. A failing target prints the smallest failing input
# and the CW_FUZZ_SEED that finds it again:
#
#   CW_FUZZ_SEED=<seed> cargo test -p clockwork --lib <target> -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-3600}
filter=${2:-fuzz::}

cargo test -q -p clockwork --lib --locked --no-run
targets=$(cargo test -q -p clockwork --lib --locked -- --list "$filter" 2>/dev/null \
  | sed -n 's/: test$//p')
count=$(printf '%s\n' "$targets" | grep -c . || true)
if [ "$count" -eq 0 ]; then
  echo "no fuzz target matches $filter" >&2
  exit 2
fi
each=$(( total * 2 / count ))
echo "fuzzing $count targets, ${each}s each, two at a time" >&2
CW_FUZZ_RANDOM=1 CW_FUZZ_SECONDS=$each exec cargo test -p clockwork --lib --locked "$filter" -- \
  --nocapture --test-threads 2
