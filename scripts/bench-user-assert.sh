#!/usr/bin/env bash
# What user checks (`PythonAssert`, run in the Starlark sandbox) cost in
# `clockwork assert`: each check's time inside the sandbox (the first, which
# starts the interpreter, and the later ones), and the checks phase of a
# run with 1 and with 20 user checks, so that the difference is what 19
# more checks add to a run.
#
#   scripts/bench-user-assert.sh [RUNS]      (default 10)
#
# Needs a running Engine and the stand-in images (tests/images/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

cargo build --release -q -p clockwork
cw="$PWD/target/release/clockwork"
root=$(mktemp -d)
trap 'for d in "$root"/*; do "$cw" -C "$d" destroy -y >/dev/null 2>&1 || true; done; rm -rf "$root"' EXIT

project() { # DIR COUNT
  mkdir -p "$1"
  {
    echo 'def named(r):'
    echo '    return (r.name == "bench-user-web", "named %s" % r.name)'
    echo
    echo 'DockerResource(name = "bench-user-web", image = "nginx:alpine", assertions = ['
    for i in $(seq "$2"); do
      if [ $((i % 2)) = 0 ]; then
        echo "    PythonAssert(named, description = \"u$i\"),"
      else
        echo "    PythonAssert(lambda r: [x * x for x in range(50)][-1] == 2401, description = \"u$i\"),"
      fi
    done
    echo '])'
  } >"$1/main.star"
}
project "$root/one" 1
project "$root/twenty" 20
"$cw" -C "$root/one" apply -y >/dev/null
"$cw" -C "$root/twenty" apply -y >/dev/null

# The checks phase of a run: from the Engine observed to every check done.
phase() { # DIR
  CW_TIMINGS=1 "$cw" -C "$1" assert 2>&1 >/dev/null | awk '
    /engine observed done at/ { o = $(NF-1) } /checks done at/ { c = $(NF-1) }
    END { print c - o }'
}
median() { sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }

one=(); twenty=()
for _ in $(seq "$runs"); do
  one+=("$(phase "$root/one")")
  twenty+=("$(phase "$root/twenty")")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m20=$(printf '%s\n' "${twenty[@]}" | median)

# Time inside the sandbox per check, one at a time, from the report.
"$cw" -C "$root/twenty" assert --parallelism 1 --format json | python3 -c '
import json, sys
checks = json.load(sys.stdin)["checks"]
us = [c["timings_us"].get("function", 0) for c in checks]
wall = [c["duration_ms"] for c in checks]
later = sorted(us[1:])
print("in the sandbox, first check     %7.2f ms (%.2f ms with the call)" % (us[0] / 1000, wall[0]))
print("in the sandbox, later checks    %7.2f ms median, %.2f ms slowest (%d checks)" % (later[len(later) // 2] / 1000, later[-1] / 1000, len(later)))
print("with the call, later checks     %7.2f ms median" % sorted(wall[1:])[len(wall) // 2 - 1])
'
printf 'checks phase, 1 user check      %7.2f ms median of %d runs\n' "$m1" "$runs"
printf 'checks phase, 20 user checks    %7.2f ms median of %d runs\n' "$m20" "$runs"
printf '19 more user checks add         %7.2f ms\n' "$(echo "$m20 - $m1" | bc)"
