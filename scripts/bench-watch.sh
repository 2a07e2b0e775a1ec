#!/usr/bin/env bash
# What `clockwork watch` costs and how fast it heals: the CPU an idle watch
# over 20 reconciled resources uses (from /proc, over a window), and the
# time from a `docker kill` to the heal in the watch log, beside Docker's
# own restart policy (`--restart always`) for the same container.
#
#   scripts/bench-watch.sh [WINDOW_SECONDS] [KILLS]      (default 30, 5)
#
# Needs a running Engine and the stand-in images (tests/images/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-30}
kills=${2:-5}

cargo build --release -q -p clockwork
cw="$PWD/target/release/clockwork"
root=$(mktemp -d)
dir="$root/bench-watch"
mkdir -p "$dir"
watch_pid=""
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  "$cw" -C "$dir" destroy -y >/dev/null 2>&1 || true
  docker rm -f bench-watch-docker >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

cmd='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while true; do sleep 1; done"]'
for i in $(seq 20); do
  echo "DockerResource(name = \"bench-watch-$i\", image = \"busybox:latest\", command = $cmd, reconcile = True)"
done >"$dir/main.star"
"$cw" -C "$dir" apply -y >/dev/null
"$cw" -C "$dir" watch >/dev/null 2>&1 &
watch_pid=$!
until grep -q '"watching' "$dir/.clockwork/watch.log" 2>/dev/null; do sleep 0.1; done

ticks() { awk '{print $14 + $15}' "/proc/$watch_pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$window"
t1=$(ticks)
echo "idle watch over 20 resources: $(echo "($t1 - $t0) * 100 / $hz / $window" | bc -l | xargs printf '%.2f') % of a core over ${window} s"

now_ms() { date +%s%3N; }
heals=()
for k in $(seq "$kills"); do
  before=$(grep -c '"kind":"heal"' "$dir/.clockwork/watch.log" || true)
  start=$(now_ms)
  docker kill bench-watch-1 >/dev/null
  until [ "$(grep -c '"kind":"heal"' "$dir/.clockwork/watch.log" || true)" -gt "$before" ]; do sleep 0.01; done
  heals+=($(( $(now_ms) - start )))
  # The backoff: the next kill after it has passed.
  sleep 12
done
echo "docker kill → healed by watch: ${heals[*]} ms (the first at once, later ones after the 10 s backoff)"

docker run -d --name bench-watch-docker --restart always busybox:latest sh -c "trap 'exit 0' TERM; while true; do sleep 1; done" >/dev/null
start=$(now_ms)
docker kill bench-watch-docker >/dev/null
restarted=""
for _ in $(seq 1000); do # at most ~10 s
  if [ "$(docker inspect -f '{{.State.Running}}' bench-watch-docker)" = true ]; then restarted=$(( $(now_ms) - start )); break; fi
  sleep 0.01
done
if [ -n "$restarted" ]; then
  echo "docker kill → restarted by Docker's restart policy (always): $restarted ms"
else
  echo "docker kill → not restarted by Docker's restart policy (always) within 10 s"
fi
