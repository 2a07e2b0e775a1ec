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

project() { # DIR COUNT (each its own container: container names are global)
  mkdir -p "$1"
  local name="bench-user-web-$2"
  {
    echo 'def named(r):'
    echo "    return (r.name == \"$name\", \"named %s\" % r.name)"
    echo
    echo "DockerResource(name = \"$name\", image = \"nginx:alpine\", assertions = ["
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

# Phases of a run, in ms: reading the project (the plugins validate each
# check, which starts the interpreter once) and the checks.
phase() { # DIR load|checks
  CW_TIMINGS=1 "$cw" -C "$1" assert 2>&1 >/dev/null | awk -v want="$2" '
    /plugins done at/ { p = $(NF-1) } /load done at/ { l = $(NF-1) }
    /engine observed done at/ { o = $(NF-1) } /checks done at/ { c = $(NF-1) }
    END { print (want == "load" ? l - p : c - o) }'
}
median() { sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }

one=(); twenty=(); load1=(); load20=()
for _ in $(seq "$runs"); do
  one+=("$(phase "$root/one" checks)")
  twenty+=("$(phase "$root/twenty" checks)")
  load1+=("$(phase "$root/one" load)")
  load20+=("$(phase "$root/twenty" load)")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m20=$(printf '%s\n' "${twenty[@]}" | median)
l1=$(printf '%s\n' "${load1[@]}" | median)
l20=$(printf '%s\n' "${load20[@]}" | median)

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
printf 'reading the project, 1 check     %7.2f ms median of %d runs (starts the interpreter)\n' "$l1" "$runs"
printf 'reading the project, 20 checks   %7.2f ms median\n' "$l20"
printf 'checks phase, 1 user check      %7.2f ms median of %d runs\n' "$m1" "$runs"
printf 'checks phase, 20 user checks    %7.2f ms median of %d runs\n' "$m20" "$runs"
printf '19 more user checks add         %7.2f ms\n' "$(echo "$m20 - $m1" | bc)"
