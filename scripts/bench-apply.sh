#!/usr/bin/env bash
# Figures for `clockwork apply` and `destroy` against Debian's
# docker-compose on the same four-service stack (examples/connected-services
# and an equivalent compose file with health-conditioned depends_on), run
# alternately in one go. Prints each run and the medians.
#
# Compose only learns that PostgreSQL is ready from its health check, so
# its time depends on the check's interval: the file is run twice, with
# `interval: 1s` (the most favourable to compose) and `interval: 10s` (the
# PostgreSQL example in Docker's documentation). Clockwork probes with
# `pg_isready` itself, backing off from 50 to 200 ms.
#
#   scripts/bench-apply.sh [RUNS]      (default 5)
#
# Then two layered stacks of busybox containers that exit on SIGTERM
# (40 services in 10 dependency layers of 4, 100 in 10 layers of 10, each
# service depending on every one of the layer below), with the raw floor
# measured in the same run beside both tools: every container started by
# `docker run -d` at once on one network with no ordering, and every one
# stopped by one `docker stop` and removed by one `docker rm`. Skip them
# with CW_BENCH_LAYERED=0; CW_BENCH_ONLY_LAYERED=1 runs only them, and
# CW_BENCH_STACKS="10x4" picks the stacks (LAYERSxWIDTH).
#
# Both stacks publish the same host ports, so they never run at once. The
# worker service ignores SIGTERM (sh as PID 1), so taking it down costs one
# 10 s grace period in both tools.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

scripts/ensure-docker.sh
tests/images/build.sh >/dev/null
command -v docker-compose >/dev/null 2>&1 || {
  echo "bench-apply: installing Debian's docker-compose" >&2
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null
}
cargo build --release -q -p clockwork
clockwork=$(realpath "${CARGO_TARGET_DIR:-target}/release/clockwork")

work=$(mktemp -d)
cleanup() {
  cd /
  "$clockwork" -C "$work/bench-cw" destroy --yes >/dev/null 2>&1 || true
  for i in 1 10; do docker-compose -p bench-compose -f "$work/compose$i/docker-compose.yml" down -v >/dev/null 2>&1 || true; done
  for d in "$work"/layered-*; do
    [ -d "$d" ] || continue
    "$clockwork" -C "$d/cw" destroy --yes >/dev/null 2>&1 || true
    docker-compose -p bench-layered -f "$d/compose/docker-compose.yml" down >/dev/null 2>&1 || true
  done
  # shellcheck disable=SC2046
  docker rm -f $(docker ps -aq --filter name=bench-raw-) >/dev/null 2>&1 || true
  # shellcheck disable=SC2046
  docker network rm $(docker network ls -q --filter name=bench-raw-net-) >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bench-cw" "$work/compose"
cp examples/connected-services/main.star "$work/bench-cw/"
cat >"$work/compose/template.yml" <<'EOF'
services:
  postgres-db:
    image: postgres:15-alpine
    ports: ["5432:5432"]
    environment:
      POSTGRES_DB: appdb
      POSTGRES_USER: admin
      POSTGRES_PASSWORD: secret123
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "admin", "-d", "appdb"]
      interval: INTERVAL
      timeout: 3s
      retries: 30
  redis-cache:
    image: redis:7-alpine
    ports: ["6379:6379"]
    restart: unless-stopped
  api-server:
    image: nginx:alpine
    ports: ["8000:80"]
    restart: unless-stopped
    environment:
      DATABASE_URL: postgresql://admin:secret123@postgres-db:5432/appdb
    depends_on:
      postgres-db: {condition: service_healthy}
      redis-cache: {condition: service_started}
  worker-service:
    image: redis:7-alpine
    command: ["sh", "-c", "while true; do sleep 3600; done"]
    restart: unless-stopped
    depends_on:
      redis-cache: {condition: service_started}
EOF
for interval in 1 10; do
  mkdir -p "$work/compose$interval"
  sed "s/INTERVAL/${interval}s/" "$work/compose/template.yml" >"$work/compose$interval/docker-compose.yml"
done

compose1() { docker-compose -p bench-compose -f "$work/compose1/docker-compose.yml" "$@"; }
compose10() { docker-compose -p bench-compose -f "$work/compose10/docker-compose.yml" "$@"; }
# Seconds taken by a command, which must succeed.
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "bench-apply: failed: $*" >&2; "$@" >&2 || true; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

if [ "${CW_BENCH_ONLY_LAYERED:-0}" != 1 ]; then
# Warm-up: the plugin cache, the Engine's image layers, compose's imports.
"$clockwork" -C "$work/bench-cw" apply >/dev/null && "$clockwork" -C "$work/bench-cw" destroy --yes >/dev/null
compose1 up -d >/dev/null 2>&1 && compose1 down -v >/dev/null 2>&1

declare -a c1_up c10_up c_down w_up w_noop w_down
printf '%-4s %14s %15s %10s %9s %13s %11s\n' run compose-up-1s compose-up-10s cw-apply cw-noop compose-down cw-destroy
for i in $(seq 1 "$runs"); do
  c1_up+=("$(timed compose1 up -d)")
  c_down+=("$(timed compose1 down -v)")
  c10_up+=("$(timed compose10 up -d)")
  timed compose10 down -v >/dev/null
  w_up+=("$(timed "$clockwork" -C "$work/bench-cw" apply)")
  w_noop+=("$(timed "$clockwork" -C "$work/bench-cw" apply)")
  w_down+=("$(timed "$clockwork" -C "$work/bench-cw" destroy --yes)")
  printf '%-4s %14.3f %15.3f %10.3f %9.3f %13.3f %11.3f\n' "$i" \
    "${c1_up[-1]}" "${c10_up[-1]}" "${w_up[-1]}" "${w_noop[-1]}" "${c_down[-1]}" "${w_down[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mc1=$(median "${c1_up[@]}"); mc10=$(median "${c10_up[@]}"); mw_up=$(median "${w_up[@]}")
mc_down=$(median "${c_down[@]}"); mw_down=$(median "${w_down[@]}")
mw_noop=$(median "${w_noop[@]}")
echo
printf 'median  clockwork apply %.3f s\n' "$mw_up"
printf '        vs compose up -d, health interval 1s:  %.3f s  ratio %s (target <= 0.5)\n' "$mc1" "$(ratio "$mw_up" "$mc1")"
printf '        vs compose up -d, health interval 10s: %.3f s  ratio %s (target <= 0.5)\n' "$mc10" "$(ratio "$mw_up" "$mc10")"
printf 'median  clockwork no-op re-apply %.3f s (target < 0.15)\n' "$mw_noop"
printf 'median  compose down %.3f s   clockwork destroy %.3f s   ratio %s (grace period 10 s; target <= one)\n' \
  "$mc_down" "$mw_down" "$(ratio "$mw_down" "$mc_down")"
fi

[ "${CW_BENCH_LAYERED:-1}" = 0 ] && exit 0
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Seconds taken by a command, or n/a when it fails or takes longer than
# the compose limit: docker-compose 1.x resolves dense depends_on graphs
# slowly (it spent minutes of CPU on the 100-service stack here).
compose_limit=${CW_BENCH_COMPOSE_LIMIT:-60}
bounded() {
  local start end
  start=$(date +%s.%N)
  if ! timeout "$compose_limit" "$@" >/dev/null 2>&1; then
    echo n/a
    return
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# Seconds a `clockwork destroy` takes; one that leaves only a network the
# Engine still counts endpoints on (moby#42119) counts, with a note.
timed_destroy() {
  local start end out
  start=$(date +%s.%N)
  if ! out=$("$clockwork" -C "$1" destroy --yes 2>&1); then
    if ! grep -q "moby#42119" <<<"$out"; then
      echo "bench-apply: failed: clockwork destroy" >&2; echo "$out" >&2; exit 1
    fi
    echo "bench-apply: the Engine kept a network of $1 (moby#42119)" >&2
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# A layered stack, LAYERS x WIDTH, written as main.star and as a compose
# file; RUNS alternating runs of each tool and of the raw floor.
layered() {
  local layers=$1 width=$2 runs=$3 n=$(( $1 * $2 )) dir="$work/layered-$1x$2"
  mkdir -p "$dir/cw" "$dir/compose"
  python3 - "$layers" "$width" "$dir" <<'PY'
import sys
layers, width, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cmd = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
star, compose = [], ["services:"]
for l in range(layers):
    for w in range(width):
        deps = [f"s{l - 1}_{v}" for v in range(width)] if l else []
        star.append(f's{l}_{w} = DockerResource(name="lay-{l}-{w}", image="busybox:latest", '
                    f'command={cmd!r}, restart_policy="no", connections=[{", ".join(deps)}])'.replace("'", '"').replace('"exit 0"', "'exit 0'"))
        compose.append(f"  lay-{l}-{w}:\n    image: busybox:latest\n    command: {cmd!r}\n    restart: \"no\"")
        if deps:
            compose.append("    depends_on: [" + ", ".join(f"lay-{l - 1}-{v}" for v in range(width)) + "]")
open(f"{out}/cw/main.star", "w").write("\n".join(star) + "\n")
open(f"{out}/compose/docker-compose.yml", "w").write("\n".join(compose).replace("'", '"').replace('"exit 0"', "'exit 0'") + "\n")
PY
  local compose=(docker-compose -p bench-layered -f "$dir/compose/docker-compose.yml")
  local cmd="trap 'exit 0' TERM; while true; do sleep 1; done"
  raw_up() {
    docker network create "$net" >/dev/null
    local i
    for i in $(seq 1 "$n"); do
      docker run -d --name "bench-raw-$i" --network "$net" busybox:latest sh -c "$cmd" >/dev/null &
    done
    wait
    [ "$(docker ps -q --filter name=bench-raw- | wc -l)" = "$n" ]
  }
  # The same, one layer after the other: the floor for any tool that
  # starts a service only once what it depends on runs.
  raw_layered_up() {
    docker network create "$net" >/dev/null
    local l w i=0
    for l in $(seq 1 "$layers"); do
      for w in $(seq 1 "$width"); do
        i=$((i + 1))
        docker run -d --name "bench-raw-$i" --network "$net" busybox:latest sh -c "$cmd" >/dev/null &
      done
      wait
    done
    [ "$(docker ps -q --filter name=bench-raw- | wc -l)" = "$n" ]
  }
  raw_down() {
    local names
    names=$(seq -f "bench-raw-%g" 1 "$n")
    # shellcheck disable=SC2086
    docker stop $names >/dev/null && docker rm $names >/dev/null
    # After many removals at once the Engine can keep counting endpoints
    # on the network (moby#42119); it is then left, as Clockwork leaves it.
    docker network rm "$net" >/dev/null 2>&1 || echo "bench-apply: the Engine kept network $net (moby#42119)" >&2
  }
  "$clockwork" -C "$dir/cw" apply >/dev/null && "$clockwork" -C "$dir/cw" destroy --yes >/dev/null
  local -a r_up r_down o_up w_up w_down c_up c_down
  local compose_ok=1
  echo
  echo "$n services in $layers layers of $width"
  printf '%-4s %9s %12s %10s %11s %9s %10s %12s\n' run raw-up raw-layered cw-apply compose-up raw-down cw-destroy compose-down
  for i in $(seq 1 "$runs"); do
    net="bench-raw-net-$n-$i-parallel"
    r_up+=("$(timed raw_up)"); r_down+=("$(timed raw_down)")
    net="bench-raw-net-$n-$i-layered"
    o_up+=("$(timed raw_layered_up)"); timed raw_down >/dev/null
    w_up+=("$(timed "$clockwork" -C "$dir/cw" apply)")
    w_down+=("$(timed_destroy "$dir/cw")")
    if [ "$compose_ok" = 1 ]; then
      c_up+=("$(bounded "${compose[@]}" up -d)")
      if [ "${c_up[-1]}" = n/a ]; then
        compose_ok=0
        bounded "${compose[@]}" down >/dev/null
      else
        c_down+=("$(bounded "${compose[@]}" down)")
      fi
    fi
    local cu=n/a cd=n/a
    if [ "$compose_ok" = 1 ]; then cu=${c_up[-1]}; cd=${c_down[-1]}; fi
    printf '%-4s %9.3f %12.3f %10.3f %11s %9.3f %10.3f %12s\n' "$i" "${r_up[-1]}" "${o_up[-1]}" "${w_up[-1]}" \
      "$cu" "${r_down[-1]}" "${w_down[-1]}" "$cd"
  done
  if [ "$compose_ok" = 0 ]; then
    echo "  (docker-compose did not finish \`up -d\` within ${compose_limit} s and was stopped)"
  fi
  local mr_up mr_down mo_up mw_up mw_down mc_up=n/a mc_down=n/a rc_up=n/a rc_down=n/a
  mr_up=$(median "${r_up[@]}"); mr_down=$(median "${r_down[@]}"); mo_up=$(median "${o_up[@]}")
  mw_up=$(median "${w_up[@]}"); mw_down=$(median "${w_down[@]}")
  if [ "$compose_ok" = 1 ]; then
    mc_up=$(median "${c_up[@]}"); mc_down=$(median "${c_down[@]}")
    rc_up=$(ratio "$mc_up" "$mr_up"); rc_down=$(ratio "$mc_down" "$mr_down")
  fi
  printf 'median  up:   raw %.3f s   clockwork %.3f s (%sx raw, target <= 1.2)   compose %s s (%s x raw)\n' \
    "$mr_up" "$mw_up" "$(ratio "$mw_up" "$mr_up")" "$mc_up" "$rc_up"
  printf '        raw one layer at a time %.3f s: clockwork is %sx that\n' "$mo_up" "$(ratio "$mw_up" "$mo_up")"
  printf 'median  down: raw %.3f s   clockwork %.3f s (%sx raw, target <= 1.2)   compose %s s (%s x raw)\n' \
    "$mr_down" "$mw_down" "$(ratio "$mw_down" "$mr_down")" "$mc_down" "$rc_down"
}
layered_runs=$(( runs < 3 ? runs : 3 ))
for stack in ${CW_BENCH_STACKS:-10x4 10x10}; do
  layered "${stack%x*}" "${stack#*x}" "$layered_runs"
done
