#!/usr/bin/env bash
# Makes sure zsh and fish are installed (from Debian), for the tests of
# `clockwork completions`. Quick when they are.
set -euo pipefail
missing=()
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "ensure-shells: installing ${missing[*]} from Debian" >&2
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
