#!/usr/bin/env bash
# `clockwork assert` with 20 passing checks of mixed types against a running
# stack, beside the same checks done the way people do them without a tool:
# a shell loop of curl, bash's /dev/tcp, docker inspect/logs/exec and test.
#
#   scripts/bench-assert.sh [RUNS]      (default 10)
#
# Prints the median and the fastest of RUNS for each. Needs a running Engine
# and the stand-in images (tests/images/build.sh). Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

cargo build --release -q -p clockwork
cw="$PWD/target/release/clockwork"
dir=$(mktemp -d)/cw-bench-assert
mkdir -p "$dir"
trap '"$cw" -C "$dir" destroy -y >/dev/null 2>&1 || true; rm -rf "$(dirname "$dir")"' EXIT

web_port=18390
cat >"$dir/main.star" <<EOF
cache = DockerResource(
    name = "bench-cache",
    image = "redis:7-alpine",
    assertions = [
        ContainerRunningAssert(),
        DatabaseConnectionAssert(port = 6379),
        LogContainsAssert(pattern = "Ready to accept connections"),
    ],
)
web = DockerResource(
    name = "bench-web",
    image = "nginx:alpine",
    ports = ["$web_port:80"],
    env_vars = {"API_KEY": "bench-key"},
    assertions = [
        HealthcheckAssert(url = "http://localhost:$web_port/"),
        HTTPStatusAssert(url = "http://localhost:$web_port/missing", expected_status = 404),
        ResponseTimeAssert(url = "http://localhost:$web_port/", max_ms = 500),
        PortAccessibleAssert(port = $web_port),
        ContainerRunningAssert(),
        SecretsPresentAssert(env_vars = ["API_KEY"]),
        DNSResolveAssert(hostname = "bench-cache"),
        HealthcheckAssert(url = "http://bench-web/"),
        NoOpenPortsAssert(except_ports = [80, $web_port]),
    ],
)
DockerResource(
    name = "bench-app",
    image = "busybox:latest",
    command = ["sh", "-c", "echo started; trap 'exit 0' TERM; while true; do sleep 1; done"],
    assertions = [
        ContainerRunningAssert(),
        LogContainsAssert(pattern = "started"),
        ServiceConnectivityAssert(to_service = cache, protocol = "redis", port = 6379),
        ServiceConnectivityAssert(to_service = web, protocol = "http", port = 80),
    ],
)
FileResource(
    name = "notes.md",
    content = "# Notes\nbenchmark\n",
    mode = "0644",
    assertions = [
        FileExistsAssert(path = "notes.md"),
        FileContentMatchesAssert(path = "notes.md", pattern = "bench"),
        FilePermissionsAssert(path = "notes.md", expected_perms = "0644"),
        DirectoryExistsAssert(path = "."),
    ],
)
EOF

"$cw" -C "$dir" apply -y >/dev/null
# Everything up and answering before anything is timed.
"$cw" -C "$dir" assert --retry-timeout 60s --sleep 500ms >/dev/null

count=$("$cw" -C "$dir" assert --format json | grep -c '"verdict": "pass"')
echo "checks: $count passing"

# The same checks, by hand.
shell_checks() {
  local u="http://localhost:$web_port"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$u/")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$u/missing")" = 404 ]
  [ "$(curl -s -o /dev/null -w '%{time_total}' "$u/" | awk '{print ($1 < 0.5)}')" = 1 ]
  (exec 3<>"/dev/tcp/127.0.0.1/$web_port") 2>/dev/null
  [ "$(docker inspect -f '{{.State.Running}}' bench-web)" = true ]
  [ "$(docker inspect -f '{{.State.Running}}' bench-cache)" = true ]
  [ "$(docker inspect -f '{{.State.Running}}' bench-app)" = true ]
  docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' bench-web | grep -q '^API_KEY=.'
  docker exec bench-web getent hosts bench-cache >/dev/null
  docker exec bench-web wget -q -O /dev/null http://bench-web/
  docker exec bench-web cat /proc/net/tcp >/dev/null
  docker exec bench-cache redis-cli ping | grep -q PONG
  docker logs bench-cache 2>&1 | grep -q 'Ready to accept connections'
  docker logs bench-app 2>&1 | grep -q started
  docker exec bench-app nc -z bench-cache 6379
  docker exec bench-app nc -z bench-web 80
  [ -f "$dir/notes.md" ]
  grep -q bench "$dir/notes.md"
  [ "$(stat -c %a "$dir/notes.md")" = 644 ]
  [ -d "$dir" ]
}

time_runs() {
  local label=$1
  shift
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "$label: a run failed" >&2; exit 1; }
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
    { t[NR] = $1 }
    END { printf "%-34s median %.3f s   fastest %.3f s   (%d runs)\n", label, t[int((NR + 1) / 2)], t[1], NR }'
}

time_runs "clockwork assert ($count checks)" "$cw" -C "$dir" assert
time_runs "shell loop (curl, docker, test)" shell_checks
CW_TIMINGS=1 "$cw" -C "$dir" assert 2>&1 >/dev/null | sed 's/^/  /' | grep timing || true
