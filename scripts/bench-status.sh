#!/usr/bin/env bash
# `clockwork status` over a 40-service stack (30 idle containers, 10 nginx
# with a published port each, so the HTTP probe of published ports is in the
# figure), beside `docker ps` listing the same containers: the floor that
# one Engine listing sets.
#
#   scripts/bench-status.sh [RUNS]      (default 20)
#
# Prints the median and the fastest of RUNS for each, and one CW_TIMINGS
# breakdown. Needs a running Engine and the stand-in images
# (tests/images/build.sh). Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

cargo build --release -q -p clockwork
cw="$PWD/target/release/clockwork"
dir=$(mktemp -d)/cw-bench-status
mkdir -p "$dir"
trap '"$cw" -C "$dir" destroy -y >/dev/null 2>&1 || true; rm -rf "$(dirname "$dir")"' EXIT

{
  for i in $(seq 1 30); do
    printf 'DockerResource(name = "bst-idle-%s", image = "busybox:latest", command = ["sh", "-c", "trap %s TERM; while true; do sleep 1; done"])\n' "$i" "'exit 0'"
  done
  for i in $(seq 1 10); do
    printf 'DockerResource(name = "bst-web-%s", image = "nginx:alpine", ports = ["%s:80"])\n' "$i" $((18400 + i))
  done
} >"$dir/main.star"
"$cw" -C "$dir" apply -y >/dev/null

# Median and fastest of `runs` runs of a command, in milliseconds.
measure() {
  local label=$1; shift
  local times=()
  for _ in $(seq 1 "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  local sorted
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  printf '%-46s median %4s ms   fastest %4s ms\n' "$label" \
    "$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")" "$(echo "$sorted" | head -1)"
}

echo "40 services, $runs runs each"
measure "clockwork status" "$cw" -C "$dir" status
measure "clockwork status --json" "$cw" -C "$dir" status --json
measure "docker ps (the same containers)" docker ps -a --filter label=dev.clockwork.project
echo
echo "one clockwork status, stage by stage (CW_TIMINGS=1):"
CW_TIMINGS=1 "$cw" -C "$dir" status 2>&1 >/dev/null | sed 's/^/  /'
