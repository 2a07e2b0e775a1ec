#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine or an existing one.
#
# Installs what the tests need when it is missing (the wasm32-wasip2 Rust
# target, componentize-py, Debian's docker.io, a running dockerd, a small
# language model behind llama.cpp's server, the local stand-in images),
# then checks formatting and runs every test. Each step is quick when its
# work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "toolchain"
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

step "python tools"
PATH="$(scripts/ensure-python-tools.sh):$PATH"
export PATH

step "docker engine"
scripts/ensure-docker.sh

step "language model (llama.cpp server and SmolLM2-135M, for the completion tests)"
scripts/ensure-model.sh >/dev/null

step "docker-compose (for the round trips of clockwork import)"
scripts/ensure-compose.sh

step "shells (for the completion scripts' tests)"
scripts/ensure-shells.sh

step "stand-in images"
tests/images/build.sh

step "formatting"
cargo fmt --all -- --check

step "tests"
cargo test --workspace --locked "$@"
