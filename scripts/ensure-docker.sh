#!/usr/bin/env bash
# Makes sure a Docker Engine answers: installs Debian's docker.io when the
# engine is missing and starts dockerd when nothing listens. Quick when the
# engine already runs. Honours DOCKER_HOST (then it only waits for it).
set -euo pipefail

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer" >&2
  exit 1
fi

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io from Debian" >&2
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    docker.io iptables ca-certificates >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd" >&2
  sudo_ mkdir -p /var/log/clockwork
  # Its own session: a signal to the caller's process group must not reach it.
  sudo_ setsid sh -c 'nohup dockerd >>/var/log/clockwork/dockerd.log 2>&1 &' </dev/null
fi

for _ in $(seq 1 120); do
  if engine_answers; then
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: the engine did not answer within 60 s; see /var/log/clockwork/dockerd.log" >&2
exit 1
