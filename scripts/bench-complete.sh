#!/usr/bin/env bash
# What completion costs:
#  - a lock hit: the completion stage of `clockwork plan` on 40 described
#    declarations whose completion clockwork.lock already holds, against
#    the same stage computing it (rules only, no lock), per declaration;
#  - a real model: SmolLM2-135M behind llama.cpp's server on this machine
#    (scripts/ensure-model.sh), each declaration's request, and the probe.
#
#   scripts/bench-complete.sh [RUNS]      (default 10)
#
# Needs no Docker Engine (plans run with --offline).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

cargo build --release -q -p clockwork
cw="$PWD/target/release/clockwork"
root=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$root"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
stage_us() { # DIR: the completion stage of one plan, in µs
  CW_TIMINGS=1 "$cw" -C "$1" plan --offline 2>&1 >/dev/null |
    sed -n 's/.*completion took \([0-9]*\) µs.*/\1/p'
}

mkdir -p "$root/rules"
for i in $(seq 40); do
  echo "DockerResource(name = \"db-$i\", description = \"PostgreSQL database $i\")"
done >"$root/rules/main.star"
"$cw" -C "$root/rules" plan --offline >/dev/null 2>&1 # writes the lock
hit=$(for _ in $(seq "$runs"); do stage_us "$root/rules"; done | median)
miss=$(for _ in $(seq "$runs"); do rm -f "$root/rules/clockwork.lock"; stage_us "$root/rules"; done | median)
echo "lock hit:   completion stage $hit µs for 40 declarations ($(echo "$hit / 40" | bc -l | xargs printf '%.0f') µs each), median of $runs"
echo "lock miss:  completion stage $miss µs for 40 declarations (rules run, lock written), median of $runs"

read -r server model < <(scripts/ensure-model.sh | paste -sd' ')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" -m "$model" --host 127.0.0.1 --port "$port" -t 2 -c 4096 -np 1 --alias smollm2-135m >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
mkdir -p "$root/model"
{
  echo 'FileResource(name = "README.md", directory = "docs", mode = "0644", description = "a short README for a local development stack")'
  echo 'FileResource(name = "motd.txt", directory = "docs", mode = "0644", description = "a one-line welcome message")'
  echo 'FileResource(name = "CONTRIBUTING.md", directory = "docs", mode = "0644", description = "how to contribute, in three sentences")'
} >"$root/model/main.star"
export CW_BASE_URL="http://127.0.0.1:$port/v1" CW_MODEL=smollm2-135m CW_MODEL_MAX_TOKENS=512
for run in $(seq 3); do
  rm -f "$root/model/clockwork.lock"
  "$cw" -v -C "$root/model" complete 2>&1 >/dev/null | grep -E "answered for|structured output" || true
done | tee "$root/model.log" >/dev/null
probe=$(sed -n 's/.*structured output is enforced (\([0-9]*\) ms).*/\1/p' "$root/model.log" | median)
per=$(sed -n 's/.*answered for .* in \([0-9]*\) ms.*/\1/p' "$root/model.log" | median)
echo "real model: $per ms per declaration (median of $(grep -c 'answered for' "$root/model.log") requests), probe $probe ms, on $(nproc) cores"
