#!/usr/bin/env bash
# Installs the pinned componentize-py (for the Python plugin example and
# its test) unless that version is already installed. Prints the folder
# holding the `componentize-py` command, for the caller's PATH.
set -euo pipefail
want=0.25.1
scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
have=$(PATH="$scripts:$PATH" componentize-py --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "componentize-py==$want" >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "componentize-py==$want" >&2
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash >&2 || true; fi
fi
PATH="$scripts:$PATH" componentize-py --version >/dev/null
echo "$scripts"
