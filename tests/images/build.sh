#!/usr/bin/env bash
# Builds the local stand-in images the tests and examples use, from Debian
# packages (no registry is reachable): postgres:15-alpine, mariadb:11,
# redis:7-alpine, nginx:alpine, prom/prometheus:latest, busybox:latest.
#
# They are one-line builds FROM one shared Debian root (base.sh), each
# with its own entrypoint. Every image carries a label with the hash of
# this recipe; when all carry the current hash nothing is done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
label=dev.clockwork.standin.recipe
recipe=$(cat "$here/base.sh" "$here/build.sh" "$here/postgres-entrypoint.sh" \
  "$here/mariadb-entrypoint.sh" "$here/mariadb-healthcheck.sh" | sha256sum | cut -c1-16)
tags=(postgres:15-alpine mariadb:11 redis:7-alpine nginx:alpine prom/prometheus:latest busybox:latest)

current=true
for tag in "${tags[@]}"; do
  have=$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null || true)
  [ "$have" = "$recipe" ] || current=false
done
if $current; then
  exit 0
fi

base=$("$here/base.sh")
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/postgres-entrypoint.sh" "$context/docker-entrypoint.sh"
cp "$here/mariadb-entrypoint.sh" "$context/mariadb-entrypoint.sh"
cp "$here/mariadb-healthcheck.sh" "$context/healthcheck.sh"

build() {
  local tag=$1 body=$2
  printf 'FROM %s\nLABEL %s=%s\n%s\n' "$base" "$label" "$recipe" "$body" > "$context/Dockerfile"
  echo "stand-in images: $tag" >&2
  docker build -q -t "$tag" "$context" >/dev/null 2>"$context/build.log" || { cat "$context/build.log" >&2; exit 1; }
}

build postgres:15-alpine 'COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]'
# Debian's package made a data folder; the image starts empty, as the
# official one does, so the entrypoint sets up the users it is given.
build mariadb:11 'RUN rm -rf /var/lib/mysql && mkdir /var/lib/mysql
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY healthcheck.sh /usr/local/bin/healthcheck.sh
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["mariadbd"]'
build redis:7-alpine 'EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]'
build nginx:alpine 'EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]'
build prom/prometheus:latest 'EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]'
build busybox:latest 'CMD ["sh"]'
