#!/usr/bin/env bash
# `clockwork import` of generated Compose files of 2,000 to 32,000
# services, each with a port, two variables, a bind mount, a dependency on
# the next service and a key that is not translated (so every service has
# an item to locate in the file). Import was quadratic (issue 25: 8,000
# services took 9.9 s, 32,000 did not end in 45 s); it must grow linearly.
#
#   scripts/bench-import.sh [RUNS]      (default 3)
#
# Prints the median and the fastest of RUNS for each size, and the time
# per service. Needs no Engine. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}

cargo build --release -q -p clockwork
cw="${CARGO_TARGET_DIR:-$PWD/target}/release/clockwork"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A Compose file of $1 services, in $2.
generate() {
  awk -v n="$1" 'BEGIN {
    print "services:"
    for (i = 0; i < n; i++) {
      next_one = (i + 1) % n
      printf "  svc-%d:\n    image: busybox\n    ports: [\"127.0.0.1:%d:80\"]\n", i, 20000 + i % 40000
      printf "    environment: {LEVEL: info, PEER: svc-%d}\n", next_one
      printf "    volumes: [\"./data/%d:/data\"]\n    depends_on: [svc-%d]\n", i, next_one
      printf "    logging: {driver: json-file}\n"
    }
  }' >"$2"
}

# Median and fastest of `runs` imports, in milliseconds.
measure() {
  local services=$1 file=$2
  local times=()
  for _ in $(seq 1 "$runs"); do
    rm -f "$dir/main.star"
    local start end
    start=$(date +%s%N)
    "$cw" -C "$dir" import "$file" -o "$dir/main.star" 2>/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  local sorted median
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
  printf '%6s services  %7s bytes  median %6s ms  fastest %6s ms  %5s µs/service\n' \
    "$services" "$(wc -c <"$file")" "$median" "$(echo "$sorted" | head -1)" \
    "$((median * 1000 / services))"
}

echo "clockwork import, $runs runs each"
for services in 2000 8000 32000; do
  generate "$services" "$dir/compose-$services.yml"
  measure "$services" "$dir/compose-$services.yml"
done
