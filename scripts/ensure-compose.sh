#!/usr/bin/env bash
# Makes sure `docker-compose` (v1, Debian's package) is installed, for the
# round-trip tests of `clockwork import` (tests/e2e/import.rs), which bring
# each Compose fixture up with Compose itself. Quick when it is there.
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
  exit 0
fi
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "ensure-compose: installing docker-compose from Debian" >&2
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null
docker-compose version >/dev/null
