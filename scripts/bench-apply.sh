#!/usr/bin/env bash
# Figures for `clockwork apply` and `destroy` against Debian's
# docker-compose on the same four-service stack (examples/connected-services
# and an equivalent compose file with health-conditioned depends_on), run
# alternately in one go. Prints each run and the medians.
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
trap 'cd /; "$clockwork" -C "$work/bench-cw" destroy >/dev/null 2>&1 || true;
      docker-compose -p bench-compose -f "$work/compose/docker-compose.yml" down -v >/dev/null 2>&1 || true;
      rm -rf "$work"' EXIT
mkdir -p "$work/bench-cw" "$work/compose"
cp examples/connected-services/main.star "$work/bench-cw/"
cat >"$work/compose/docker-compose.yml" <<'EOF'
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
      interval: 1s
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

compose() { docker-compose -p bench-compose -f "$work/compose/docker-compose.yml" "$@"; }
# Seconds taken by a command, which must succeed.
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "bench-apply: failed: $*" >&2; "$@" >&2 || true; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# Warm-up: the plugin cache, the Engine's image layers, compose's imports.
"$clockwork" -C "$work/bench-cw" apply >/dev/null && "$clockwork" -C "$work/bench-cw" destroy >/dev/null
compose up -d >/dev/null 2>&1 && compose down -v >/dev/null 2>&1

declare -a c_up c_down w_up w_noop w_down
printf '%-4s %12s %12s %12s %12s %12s\n' run compose-up cw-apply cw-noop compose-down cw-destroy
for i in $(seq 1 "$runs"); do
  c_up+=("$(timed compose up -d)")
  c_down+=("$(timed compose down -v)")
  w_up+=("$(timed "$clockwork" -C "$work/bench-cw" apply)")
  w_noop+=("$(timed "$clockwork" -C "$work/bench-cw" apply)")
  w_down+=("$(timed "$clockwork" -C "$work/bench-cw" destroy)")
  printf '%-4s %12.3f %12.3f %12.3f %12.3f %12.3f\n' "$i" \
    "${c_up[-1]}" "${w_up[-1]}" "${w_noop[-1]}" "${c_down[-1]}" "${w_down[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mc_up=$(median "${c_up[@]}"); mw_up=$(median "${w_up[@]}")
mc_down=$(median "${c_down[@]}"); mw_down=$(median "${w_down[@]}")
mw_noop=$(median "${w_noop[@]}")
echo
printf 'median  compose up -d %.3f s   clockwork apply %.3f s   ratio %.2f (target <= 0.5)\n' \
  "$mc_up" "$mw_up" "$(awk -v a="$mw_up" -v b="$mc_up" 'BEGIN { print a / b }')"
printf 'median  clockwork no-op re-apply %.3f s (target < 0.15)\n' "$mw_noop"
printf 'median  compose down %.3f s   clockwork destroy %.3f s   (grace period 10 s; target <= one)\n' \
  "$mc_down" "$mw_down"
