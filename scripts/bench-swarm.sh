#!/usr/bin/env bash
# A 40-service stack to a swarm: `clockwork apply --target swarm` beside
# `docker stack deploy` plus waiting until every service runs its task
# (stack deploy returns once the services exist; nothing waits for them).
# Both deploy the same 40 busybox services in 10 dependency layers of 4,
# each depending on every service of the layer below (`depends_on`, which
# stack deploy ignores, and Clockwork honours: its figure includes waiting
# for each layer before the next). The swarm is one of tests/swarm/nodes.sh
# — its own dockerds in their own network namespaces, never this machine's
# Engine — with WORKERS workers (default 0). Prints each run and medians.
#
#   scripts/bench-swarm.sh [RUNS] [WORKERS]      (default 3, 0)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
workers=${2:-0}
swarm=cwbench

scripts/ensure-docker.sh >/dev/null
tests/images/build.sh >/dev/null
cargo build --release -q -p clockwork
clockwork=$(realpath "${CARGO_TARGET_DIR:-target}/release/clockwork")

work=$(mktemp -d)
cleanup() {
  tests/swarm/nodes.sh down "$swarm" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
tests/swarm/nodes.sh down "$swarm" >/dev/null 2>&1 || true
manager=$(tests/swarm/nodes.sh up "$swarm" "$workers" | awk '$1 == "manager" {print $2}')
tests/swarm/nodes.sh images "$swarm" busybox:latest >/dev/null
export DOCKER_HOST=$manager

layers=10 width=4
mkdir -p "$work/cw" "$work/stack"
idle='["sh", "-c", "trap '"'"'exit 0'"'"' TERM; while true; do sleep 1; done"]'
{
  for l in $(seq 1 "$layers"); do
    for w in $(seq 1 "$width"); do
      deps=""
      if [ "$l" -gt 1 ]; then
        deps=$(seq 1 "$width" | sed "s/^/s$((l - 1))_/" | paste -sd, -)
      fi
      echo "s${l}_$w = DockerResource(name = \"bs-$l-$w\", image = \"busybox:latest\", command = $idle, connections = [$deps])"
    done
  done
} >"$work/cw/main.star"
{
  echo 'version: "3.8"'
  echo 'services:'
  for l in $(seq 1 "$layers"); do
    for w in $(seq 1 "$width"); do
      echo "  bs-$l-$w:"
      echo "    image: busybox:latest"
      echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1; done\"]"
      echo "    deploy: {endpoint_mode: dnsrr}"
      if [ "$l" -gt 1 ]; then
        echo "    depends_on: [$(seq 1 "$width" | sed "s/^/bs-$((l - 1))-/" | paste -sd, -)]"
      fi
    done
  done
} >"$work/stack/docker-stack.yml"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Until every service of the stack has its one task running (bounded).
converged() {
  local deadline=$((SECONDS + 300))
  until [ "$(docker service ls --filter label=com.docker.stack.namespace=bst --format '{{.Replicas}}' | grep -c '^1/1')" -eq $((layers * width)) ]; do
    [ $SECONDS -lt $deadline ] || { echo "stack did not converge in 300 s" >&2; return 1; }
    sleep 0.2
  done
}
# Until the stack's network is gone (stack rm finishes asynchronously).
removed() {
  local deadline=$((SECONDS + 120))
  while docker network ls --format '{{.Name}}' | grep -q '^bst_'; do
    [ $SECONDS -lt $deadline ] || { echo "stack not removed in 120 s" >&2; return 1; }
    sleep 0.2
  done
}

cw_times=() stack_times=()
for run in $(seq 1 "$runs"); do
  t0=$(now)
  "$clockwork" -C "$work/cw" --target swarm apply --yes >/dev/null
  t1=$(now)
  "$clockwork" -C "$work/cw" --target swarm destroy --yes >/dev/null
  cw=$(echo "$t1 - $t0" | bc)

  t0=$(now)
  docker stack deploy -c "$work/stack/docker-stack.yml" bst >/dev/null 2>&1
  converged
  t1=$(now)
  docker stack rm bst >/dev/null
  removed
  st=$(echo "$t1 - $t0" | bc)
  printf 'run %d: clockwork apply %.2f s (in dependency order, each layer ready first); docker stack deploy + convergence %.2f s (no order)\n' "$run" "$cw" "$st"
  cw_times+=("$cw") stack_times+=("$st")
done
printf 'median over %d runs, %d services on %d node(s): clockwork apply %.2f s, docker stack deploy + convergence %.2f s\n' \
  "$runs" $((layers * width)) $((workers + 1)) \
  "$(printf '%s\n' "${cw_times[@]}" | median)" "$(printf '%s\n' "${stack_times[@]}" | median)"
