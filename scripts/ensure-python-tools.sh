#!/usr/bin/env bash
# Installs the pinned componentize-py (for the Python plugin example and
# its test) unless that version is already on PATH.
set -euo pipefail
want=0.25.1
have=$(componentize-py --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "componentize-py==$want" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "componentize-py==$want"
fi
componentize-py --version >/dev/null
