#!/usr/bin/env bash
# Builds clockwork and runs its main job on a shipped example: deploys the
# connected-services project (PostgreSQL, Redis, an API that gets
# DATABASE_URL from its connection, a worker) on a local Docker Engine,
# shows that a second apply changes nothing, then takes it down. Starts
# dockerd and builds the local stand-in images when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
scripts/ensure-docker.sh
tests/images/build.sh

cargo build --release -p clockwork
clockwork=$(realpath "${CARGO_TARGET_DIR:-target}/release/clockwork")

# A copy, so the example folder stays clean.
project=$(mktemp -d)/connected-services
mkdir -p "$project"
cp examples/connected-services/main.star "$project/"
trap '"$clockwork" -C "$project" destroy --yes >/dev/null 2>&1 || true; rm -rf "$(dirname "$project")"' EXIT

set -x
"$clockwork" --version
"$clockwork" -C "$project" plan
"$clockwork" -C "$project" apply
docker ps --filter label=dev.clockwork.project=connected-services --format '{{.Names}}\t{{.Status}}\t{{.Ports}}'
docker exec api-server printenv DATABASE_URL
docker exec worker-service redis-cli -h redis-cache ping
"$clockwork" -C "$project" apply
"$clockwork" -C "$project" graph --format mermaid
"$clockwork" -C "$project" destroy --yes
