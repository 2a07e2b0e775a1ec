#!/usr/bin/env bash
# Builds clockwork and runs it on a shipped example: plans the
# connected-services project (four services, their dependency order and
# the values their connections inject) and prints its graph. Planning needs
# no Docker Engine.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

cargo build --release -p clockwork
clockwork=${CARGO_TARGET_DIR:-target}/release/clockwork

set -x
"$clockwork" --version
"$clockwork" -C examples/connected-services plan
"$clockwork" -C examples/connected-services graph --format mermaid
"$clockwork" -C examples/connections-showcase plan --json
