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
trap 'cd /; "$clockwork" -C "$work/bench-cw" destroy --yes >/dev/null 2>&1 || true;
      for i in 1 10; do docker-compose -p bench-compose -f "$work/compose$i/docker-compose.yml" down -v >/dev/null 2>&1 || true; done;
      rm -rf "$work"' EXIT
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
