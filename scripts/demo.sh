#!/usr/bin/env bash
# Builds clockwork and runs it on a shipped example: a project with a
# plugin of its own (written in Python), listed and inspected next to the
# bundled ones.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
PATH="$(scripts/ensure-python-tools.sh):$PATH"
export PATH

cargo build --release -p clockwork
clockwork=target/release/clockwork
if [ -n "${CARGO_TARGET_DIR:-}" ]; then clockwork=$CARGO_TARGET_DIR/release/clockwork; fi

project=examples/custom-plugins
componentize-py -d wit -w assertion componentize app -p sdk/python/example -o "$project/plugins/body-contains.wasm" >/dev/null

set -x
"$clockwork" --version
"$clockwork" -C "$project" plugins list
"$clockwork" -C "$project" plugins inspect HttpBodyContainsAssert
"$clockwork" -C "$project" plugins inspect DockerResource
