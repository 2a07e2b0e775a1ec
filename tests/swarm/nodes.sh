#!/usr/bin/env bash
# Test Docker Swarm clusters on one machine. Each node is its own dockerd
# (with its own containerd) in its own network namespace, so tests get a real
# multi-node swarm without touching the machine's Engine, its docker0 or its
# iptables. Root only.
#
#   nodes.sh up NAME WORKERS     1 manager + WORKERS (0..3) workers, all Ready
#   nodes.sh images NAME IMAGE…  copy images from the machine's Engine
#                                ($CW_SWARM_IMAGES_FROM, else $DOCKER_HOST, else
#                                /var/run/docker.sock) into every node
#   nodes.sh registry NAME       a registry at MANAGER_IP:5000 (Debian's)
#   nodes.sh status NAME         the nodes and their state
#   nodes.sh down NAME           remove everything of the cluster; idempotent
#
# NAME: [a-z][a-z0-9]{0,7}. `up` refuses a NAME that exists: `down` it first.
# stdout is one line per fact, its first word says what (read by keyword and
# ignore unknown words); messages go to stderr.
#   manager unix:///run/clockwork-swarm/NAME/manager.sock 198.18.N.2 NAME-manager
#   worker  unix:///run/clockwork-swarm/NAME/worker1.sock 198.18.N.3 NAME-worker1
#   host    198.18.N.1          the machine, as the nodes see it
#   registry 198.18.N.2:5000    from `registry`
# `status` adds STATUS AVAILABILITY to node lines (`down -`: no dockerd).
#
# Network. A bridge in the machine's namespace does not work wherever the
# Engine runs: it sets bridge-nf-call-iptables=1 and FORWARD policy DROP, so
# frames between two ports of any host bridge are dropped (measured). So the
# bridge lives in a hub namespace (cw-NAME-hub) and the machine is one of its
# ports (interface cw-NAME, address .1). The subnet is a free /24 of the
# benchmark range 198.18.0.0/15, clear of Docker's 172.17.0.0/16… bridges and
# 10.0.0.0/8 overlay pool. Nodes reach each other and the machine at .1
# (what listens on 0.0.0.0 or .1 there; not its 127.0.0.1). Nodes have NO
# default route: beyond the machine everything is dropped anyway, and with a
# route every image-digest lookup and pull waited ~20 s on a DNS timeout
# (service convergence 61 s instead of 6 s); now it fails at once. The
# machine reaches every node address (e.g. host-mode published ports).
# Hostnames are NAME-manager, NAME-workerN (own UTS namespace), so
# constraints can say node.hostname==NAME-worker1.
#
# No IPVS in this kernel: use `--endpoint-mode dnsrr` and host-mode published
# ports; VIP services and the ingress routing mesh do not work.
#
# Measured here (Debian 12, Engine 20.10.24, 2 CPUs, stand-in images of
# 1.1 GB sharing one layer):
#   up NAME 2: 1.1-2.2 s to 3 Ready nodes (up NAME 0: 1.3 s).
#   images busybox postgres: 29-34 s the first time (one save, 3 parallel
#   loads), 0.1-0.2 s when present.
#   Overlay (--attachable), postgres on the manager + busybox on worker1, both
#   dnsrr: `nc -z pg 5432` by service name succeeded 3-6 s after create.
#   Host-mode port 18080 on worker2: served to the machine at worker2's
#   address 1.3-1.5 s after create (not at the manager's address).
#   Drain a worker: its task running on the other worker after 14.5 s (10 s
#   of it the stop grace: sh as PID 1 ignores SIGTERM); 5.2 s with 1 s grace.
#   registry: 1.6 s (fetching the binary the first time). Push of busybox
#   from the manager: 31 s. Digest-pinned service on a worker: running after
#   0.5 s when the layer was there, 16 s when pulling all 271 MB.
#   down: 7.7-9.8 s (4 s is deleting the layers); again: 0.3 s. Afterwards no
#   netns, links, mounts, processes or dirs; docker0, the machine's iptables,
#   nft ruleset and net sysctls as before; SIGTERM or failure during `up`
#   removes the half-made cluster.
set -euo pipefail

RUN_BASE=/run/clockwork-swarm      # sockets, exec-roots (tmpfs)
LIB_BASE=/var/lib/clockwork-swarm  # data-roots, logs, registry storage
CACHE=/var/cache/clockwork-swarm   # docker-registry binary, kept across clusters
NODES_ALL=(manager worker1 worker2 worker3)

die() { echo "nodes.sh: $*" >&2; exit 1; }
say() { echo "nodes.sh: $*" >&2; }

# wait_for SECS WHAT CMD…: run CMD every 0.2 s until it succeeds or SECS pass.
wait_for() {
  local secs=$1 what=$2 deadline=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { say "gave up after $secs s waiting for $what"; return 1; }
    sleep 0.2
  done
}

# need CMD PACKAGE: install the Debian package when the command is missing.
need() {
  command -v "$1" >/dev/null 2>&1 && return
  say "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "$2" >/dev/null; } || die "cannot install $2"
}

cluster() { # sets the names of cluster $1
  [[ ${1:-} =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "NAME must match [a-z][a-z0-9]{0,7}, got '${1:-}'"
  name=$1 run=$RUN_BASE/$1 lib=$LIB_BASE/$1 hub=cw-$1-hub hostif=cw-$1
}
sock() { echo "unix://$run/$1.sock"; }
dk() { local n=$1; shift; env -u DOCKER_CONTEXT docker -H "$(sock "$n")" "$@"; }
nodes_up() { local n; for n in "${NODES_ALL[@]}"; do [ -e "$run/$n.ip" ] && echo "$n"; done; }
node_line() { echo "${1%%[0-9]*} $(sock "$1") $(cat "$run/$1.ip") $name-$1"; }

ip2int() { local IFS=.; set -- $1; echo $((($1 << 24) + ($2 << 16) + ($3 << 8) + $4)); }

# A /24 of 198.18.0.0/15 that overlaps no route and no address of the machine
# (which covers the other clusters: each has a connected route on cw-NAME).
pick_subnet() {
  local used=() line net len lo hi i n c
  while read -r line; do
    set -- $line; [ $# = 0 ] && continue
    [[ $1 =~ ^[a-z]+$ && ${2:-} =~ ^[0-9] ]] && shift   # local, broadcast, unreachable …
    [[ $1 =~ ^[0-9.]+(/[0-9]+)?$ ]] || continue          # default, nexthop lines
    net=${1%/*} len=32; [[ $1 == */* ]] && len=${1#*/}
    lo=$(ip2int "$net"); hi=$((lo + (1 << (32 - len)) - 1))
    used+=("$lo-$hi")
  done < <(ip -4 route show table all; ip -4 -o addr show | awk '{print $4}')
  n=$(($(cksum <<<"$name" | cut -d' ' -f1) % 512))
  for ((i = 0; i < 512; i++)); do
    c=$(ip2int "198.$((18 + (n + i) / 256 % 2)).$(((n + i) % 256)).0")
    for line in "${used[@]}"; do
      ((c + 255 < ${line%-*} || c > ${line#*-})) || continue 2
    done
    echo "$((c >> 24)).$((c >> 16 & 255)).$((c >> 8 & 255))"; return
  done
  die "no free /24 in 198.18.0.0/15"
}

# start_node NODE IP REGISTRY: containerd and dockerd in the node's netns.
# Its own containerd (not a system one at /run/containerd): then the shims and
# containers live in the node's namespace and nothing is shared with the
# machine's Engine. setsid: a signal to the caller's process group (a test
# runner's Ctrl-C) must not take the node down half-way.
start_node() {
  local n=$1 ip=$2 reg=$3 x=$run/$1 d=$lib/$1 ns=/run/netns/cw-$name-$1
  mkdir -p "$x" "$d"
  cat >"$x/containerd.toml" <<EOF
version = 2
root = "$d/containerd"
state = "$x/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$x/containerd.sock"
EOF
  # Own config file (the machine's /etc/docker/daemon.json is not read) and own
  # key: with /etc/docker/key.json every node had the machine Engine's ID.
  echo "{\"deprecated-key-path\": \"$d/key.json\"}" >"$x/daemon.json"
  setsid nsenter --net="$ns" containerd --config "$x/containerd.toml" \
    </dev/null >>"$d/containerd.log" 2>&1 &
  wait_for 30 "containerd of $n" test -S "$x/containerd.sock" || return 1
  setsid nsenter --net="$ns" unshare --uts sh -c 'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' \
    "$name-$n" dockerd --config-file "$x/daemon.json" --containerd "$x/containerd.sock" \
    --data-root "$d/docker" --exec-root "$x/docker" --pidfile "$x/dockerd.pid" -H "$(sock "$n")" \
    --insecure-registry "$reg" --shutdown-timeout 5 </dev/null >>"$d/dockerd.log" 2>&1 &
  wait_for 60 "dockerd of $n" dk "$n" info || return 1
  echo "$ip" >"$run/$n.ip"
}

up() {
  local workers=${1:-} n p pids=() net token
  [[ $workers =~ ^[0-3]$ ]] || die "WORKERS must be 0..3"
  [ -e "$run" ] || [ -e "$lib" ] || [ -e "/run/netns/$hub" ] && die "cluster $name exists (run: $0 down $name)"
  need ip iproute2; need nsenter util-linux; need unshare util-linux
  need dockerd docker.io; need containerd containerd; need iptables iptables
  trap 'up_failed' EXIT
  mkdir -p "$run" "$lib" || mkdir -p "$run" "$lib" # again if a `down` just removed $RUN_BASE
  # Pick the subnet and claim it (its route appears with cw-NAME) under a lock,
  # so two `up`s at once do not take the same one.
  exec 9<"$RUN_BASE"; flock -w 60 9 || die "$RUN_BASE is locked by another up"
  net=$(pick_subnet); echo "$net" >"$run/subnet"
  ip netns add "$hub"
  ip -n "$hub" link set dev lo up
  ip -n "$hub" link add name br0 type bridge
  ip -n "$hub" link set dev br0 up
  ip link add name "$hostif" type veth peer name uplink netns "$hub"
  ip -n "$hub" link set dev uplink master br0 up
  ip addr add "$net.1/24" dev "$hostif"
  ip link set dev "$hostif" up
  flock -u 9; exec 9<&-
  nodes=(manager); for ((p = 1; p <= workers; p++)); do nodes+=("worker$p"); done
  p=2
  for n in "${nodes[@]}"; do
    ip netns add "cw-$name-$n"
    ip -n "$hub" link add name "$n" type veth peer name eth0 netns "cw-$name-$n"
    ip -n "$hub" link set dev "$n" master br0 up
    ip -n "cw-$name-$n" link set dev lo up
    ip -n "cw-$name-$n" addr add "$net.$p/24" dev eth0
    ip -n "cw-$name-$n" link set dev eth0 up
    start_node "$n" "$net.$p" "$net.2:5000" & pids+=($!)
    p=$((p + 1))
  done
  for p in "${pids[@]}"; do wait "$p" || die "a node did not start"; done
  dk manager swarm init --advertise-addr "$net.2" >/dev/null
  token=$(dk manager swarm join-token -q worker)
  pids=()
  for n in "${nodes[@]:1}"; do dk "$n" swarm join --token "$token" "$net.2:2377" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || die "a worker did not join"; done
  wait_for 60 "${#nodes[@]} Ready nodes" ready_count "${#nodes[@]}"
  trap - EXIT
  for n in "${nodes[@]}"; do node_line "$n"; done
  echo "host $net.1"
}
ready_count() { [ "$(dk manager node ls --format '{{.Status}}' | grep -c '^Ready$')" = "$1" ]; }
up_failed() {
  local f
  for f in "$lib"/*/dockerd.log; do [ -e "$f" ] && { say "--- $f"; tail -n 15 "$f" >&2; }; done
  say "up failed; removing the half-made cluster $name"
  down || true
}

# The cluster's processes: all in its netns, their descendants (containers
# live in namespaces of their own, under the shims), and any daemon whose
# command line names the cluster's directories (if its netns is already gone).
cluster_pids() {
  local ns=() f p line rest pp cmd; declare -A parent=() mine=()
  for f in /run/netns/cw-"$name"-*; do [ -e "$f" ] && ns+=("net:[$(stat -L -c %i "$f")]"); done
  for f in /proc/[0-9]*; do
    p=${f#/proc/}; [ "$p" = $$ ] && continue
    read -r line 2>/dev/null <"$f/stat" || continue
    rest=${line##*) }; set -- $rest; [ "$1" = Z ] && continue
    parent[$p]=$2
    pp=$(readlink "$f/ns/net" 2>/dev/null) || continue
    [[ " ${ns[*]} " == *" $pp "* ]] && { mine[$p]=1; continue; }
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline") || continue
    [[ $cmd =~ ^[^\ ]*(dockerd|containerd|containerd-shim[a-z0-9-]*|docker-registry)\ .*($run|$lib)/ ]] && mine[$p]=1
  done
  local grew=1
  while ((grew)); do
    grew=0
    for p in "${!parent[@]}"; do
      [ -z "${mine[$p]:-}" ] && [ -n "${mine[${parent[$p]}]:-}" ] && { mine[$p]=1; grew=1; }
    done
  done
  echo "${!mine[@]}"
}
state() { local l; read -r l 2>/dev/null <"/proc/$1/stat" || { echo X; return; }; l=${l##*) }; echo "${l%% *}"; }
gone() { local p s; for p in "$@"; do s=$(state "$p"); [ "$s" = X ] || [ "$s" = Z ] || return 1; done; }
stop() { # stop SECS PID…: SIGTERM, then SIGKILL after SECS
  local secs=$1; shift; [ $# = 0 ] && return
  kill -TERM "$@" 2>/dev/null || true
  wait_for "$secs" "pids $*" gone "$@" 2>/dev/null && return
  kill -KILL "$@" 2>/dev/null || true
  wait_for 10 "killed pids $*" gone "$@" || say "processes still there: $*"
}

down() {
  local n pids=() p m
  # Leave the swarm, workers first (so the manager sees them go): that removes
  # the tasks' containers at once, where a dockerd shutdown would wait on them.
  for n in worker1 worker2 worker3 manager; do
    [ $n = manager ] && wait
    [ -S "$run/$n.sock" ] && { timeout 10 env -u DOCKER_CONTEXT docker -H "$(sock "$n")" \
      swarm leave --force >/dev/null 2>&1 & }
  done
  wait
  # dockerd first: it stops its containers itself (--shutdown-timeout 5).
  for n in "${NODES_ALL[@]}"; do
    p=$(cat "$run/$n/dockerd.pid" 2>/dev/null) || continue
    [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") == *dockerd*"$run/"* ]] && pids+=("$p")
  done
  stop 20 "${pids[@]}"
  # shellcheck disable=SC2046 # pids are words
  stop 5 $(cluster_pids)
  # What dockerd mounted (overlay, shm, nsfs) stays when it is killed.
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "cannot unmount $m"
  done < <(awk '{print $2}' /proc/mounts | grep -E "^($run|$lib)(/|\$)" | sort -r)
  # Empty cgroups of killed containers (cgroupfs driver) would stay behind.
  for p in "$lib"/*/docker/containers/*/; do
    [ -d "$p" ] && p=${p%/} && p=${p##*/} && rmdir /sys/fs/cgroup/*/docker/"$p" /sys/fs/cgroup/docker/"$p" 2>/dev/null || true
  done
  for n in "${NODES_ALL[@]}" hub; do
    [ -e "/run/netns/cw-$name-$n" ] && ip netns del "cw-$name-$n"
  done
  ip link show dev "$hostif" >/dev/null 2>&1 && ip link del dev "$hostif"
  if awk '{print $2}' /proc/mounts | grep -qE "^($run|$lib)(/|\$)"; then
    die "mounts left under $run or $lib; not deleting them"
  fi
  rm -rf --one-file-system "$run" "$lib"
  rmdir "$RUN_BASE" "$LIB_BASE" 2>/dev/null || true
}

status() {
  local n st
  [ -d "$run" ] || die "cluster $name is not up"
  declare -A seen=()
  while read -r n st; do seen[$n]=$st; done < <(dk manager node ls \
    --format '{{.Hostname}} {{.Status}} {{.Availability}}' 2>/dev/null || true)
  for n in $(nodes_up); do
    if dk "$n" version >/dev/null 2>&1; then st=${seen[$name-$n]:-"unknown -"}; else st="down -"; fi
    echo "$(node_line "$n") $st"
  done
  echo "host $(cat "$run/subnet").1"
}

# images: `docker save` once (only the images some node lacks, by image ID)
# into a file, then one `docker load` per node that lacks one, in parallel. A
# file, not a pipe through tee: a load that dies early would block tee.
images() {
  local src=${CW_SWARM_IMAGES_FROM:-${DOCKER_HOST:-unix:///var/run/docker.sock}} img id n p
  local want=() targets=() pids=() tar=$lib/images.$$.tar
  [ $# -gt 0 ] || die "usage: $0 images NAME IMAGE…"
  [ -d "$run" ] || die "cluster $name is not up"
  for img in "$@"; do
    id=$(env -u DOCKER_CONTEXT docker -H "$src" image inspect -f '{{.Id}}' "$img") ||
      die "image $img is not in the engine at $src"
    for n in $(nodes_up); do
      [ "$(dk "$n" image inspect -f '{{.Id}}' "$img" 2>/dev/null)" = "$id" ] && continue
      [[ " ${want[*]} " == *" $img "* ]] || want+=("$img")
      [[ " ${targets[*]} " == *" $n "* ]] || targets+=("$n")
    done
  done
  [ ${#want[@]} = 0 ] && return
  env -u DOCKER_CONTEXT docker -H "$src" save -o "$tar" "${want[@]}" || { rm -f "$tar"; die "docker save ${want[*]} failed"; }
  for n in "${targets[@]}"; do dk "$n" load -q -i "$tar" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || { rm -f "$tar"; die "docker load failed"; }; done
  rm -f "$tar"
}

# registry: Debian's docker-registry (its binary only: installing the package
# would also start a registry service on the machine's 127.0.0.1:5000), in the
# manager's netns, at MANAGER_IP:5000; every node trusts it (insecure, flag
# given at `up`).
registry() {
  local mip bin=$CACHE/docker-registry
  [ -d "$run" ] || die "cluster $name is not up"
  mip=$(cat "$run/manager.ip")
  if ! tcp_open "$mip" 5000; then
    command -v docker-registry >/dev/null && bin=$(command -v docker-registry)
    if [ ! -x "$bin" ]; then
      say "fetching Debian's docker-registry into $CACHE"
      rm -rf "$CACHE/deb" && mkdir -p "$CACHE/deb"
      (cd "$CACHE/deb" && { apt-get download -q docker-registry >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get download -q docker-registry >/dev/null; }; } &&
        dpkg-deb -x docker-registry_*.deb x && mv x/usr/bin/docker-registry "$bin") || die "cannot get docker-registry"
      rm -rf "$CACHE/deb"
    fi
    mkdir -p "$lib/registry"
    cat >"$lib/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $lib/registry}
  delete: {enabled: true}
http: {addr: "$mip:5000"}
EOF
    setsid nsenter --net="/run/netns/cw-$name-manager" "$bin" serve "$lib/registry.yml" \
      </dev/null >>"$lib/registry.log" 2>&1 &
    wait_for 20 "registry at $mip:5000" tcp_open "$mip" 5000 || die "registry did not start; see $lib/registry.log"
  fi
  echo "registry $mip:5000"
}
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

[ "$(id -u)" = 0 ] || die "must run as root (netns, mounts, dockerd)"
cmd=${1:-}; shift || true
case $cmd in
  up) cluster "${1:-}"; up "${2:-}" ;;
  down) cluster "${1:-}"; down ;;
  status) cluster "${1:-}"; status ;;
  images) cluster "${1:-}"; shift; images "$@" ;;
  registry) cluster "${1:-}"; registry ;;
  *) die "usage: $0 up NAME WORKERS | images NAME IMAGE… | registry NAME | status NAME | down NAME" ;;
esac
