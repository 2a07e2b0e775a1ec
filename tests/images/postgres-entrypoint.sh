#!/bin/sh
# A stand-in for the official postgres image's entrypoint, on Debian's
# PostgreSQL 15: honours POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB
# (or their _FILE forms),
# password authentication (scram-sha-256) for network clients.
set -eu
# VAR_FILE names a file holding VAR's value (a Docker secret), as the
# official image reads it.
file_env() {
  eval "file=\${${1}_FILE:-}"
  if [ -n "$file" ]; then
    eval "${1}=\$(cat \"\$file\")"
    export "${1?}"
  fi
}
for var in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB; do file_env "$var"; done
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
BIN=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# Like the official image: anything but the server runs as given.
if [ "$#" -gt 0 ] && [ "$1" != "postgres" ]; then
  exec "$@"
fi
[ "$#" -gt 0 ] && shift

mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres stand-in: POSTGRES_PASSWORD is required" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  as_postgres "$BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | as_postgres "$BIN/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
