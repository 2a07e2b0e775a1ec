#!/usr/bin/env bash
# Builds clockwork/standin-base:<hash of this file>, the Debian root every
# stand-in image shares, unless it exists. Prints the image name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hash=$(sha256sum "$here/base.sh" | cut -c1-16)
base=clockwork/standin-base:$hash
if docker image inspect "$base" >/dev/null 2>&1; then
  echo "$base"
  exit 0
fi

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v debootstrap >/dev/null 2>&1 || sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null

root=$(mktemp -d /var/tmp/clockwork-standin.XXXXXX)
log=$(mktemp /var/tmp/clockwork-standin-log.XXXXXX)
trap 'sudo_ rm -rf "$root"' EXIT
# mktemp makes the folder 0700; as the image's / it would lock out every
# user but root (postgres runs as its own user).
sudo_ chmod 0755 "$root"
fail() { echo "stand-in base: $1 failed; log in $log" >&2; tail -20 "$log" >&2; exit 1; }

# The Debian mirror this machine's apt uses (deb822 `URIs:` or a one-line
# `deb` entry), not the security archive: no mirror is named here.
mirror=$( (cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true) |
  awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /-security/) { print $i; exit } }
       /^deb / { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\// && $i !~ /-security/) { print $i; exit } }')
[ -n "$mirror" ] || { echo "stand-in base: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }

echo "stand-in base: debootstrap bookworm from $mirror (about a minute)" >&2
sudo_ debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 || fail debootstrap
# Package scripts must not start services inside the chroot.
printf '#!/bin/sh\nexit 101\n' | sudo_ tee "$root/usr/sbin/policy-rc.d" >/dev/null
sudo_ chmod +x "$root/usr/sbin/policy-rc.d"
sudo_ chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  postgresql-15 postgresql-client-15 redis-server redis-tools nginx-light prometheus busybox-static \
  mariadb-server mariadb-client \
  netcat-openbsd wget curl ca-certificates procps iproute2 >>"$log" 2>&1 || fail "apt-get install"
sudo_ chroot "$root" apt-get clean
sudo_ rm -rf "$root/var/lib/apt/lists"/* "$root/usr/sbin/policy-rc.d"
# The official images put these on PATH directly; Debian's wrappers need
# perl modules the minimal root lacks.
for tool in psql pg_isready createdb; do
  sudo_ ln -sf "/usr/lib/postgresql/15/bin/$tool" "$root/usr/local/bin/$tool"
done
sudo_ tar -C "$root" -c . | docker import - "$base" >/dev/null
rm -f "$log"
echo "$base"
