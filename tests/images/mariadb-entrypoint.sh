#!/bin/sh
# A stand-in for the official mariadb image's entrypoint, on Debian's
# MariaDB: honours MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD, or
# MARIADB_ALLOW_EMPTY_ROOT_PASSWORD), MARIADB_DATABASE, MARIADB_USER and
# MARIADB_PASSWORD (or their MYSQL_ names); listens on 3306.
set -eu
# VAR_FILE names a file holding VAR's value (a Docker secret), as the
# official image reads it.
for var in MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD; do
  eval "file=\${${var}_FILE:-}"
  if [ -n "$file" ]; then
    eval "${var}=\$(cat \"\$file\")"
  fi
done
root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
user=${MARIADB_USER:-${MYSQL_USER:-}}
password=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
datadir=/var/lib/mysql

# Like the official image: anything but the server runs as given.
if [ "$#" -gt 0 ] && [ "$1" != "mariadbd" ] && [ "$1" != "mysqld" ]; then
  exec "$@"
fi
[ "$#" -gt 0 ] && shift

mkdir -p "$datadir" /run/mysqld
chown -R mysql:mysql "$datadir" /run/mysqld

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$root_pw" ] && [ -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then
    echo "mariadb stand-in: MARIADB_ROOT_PASSWORD is required" >&2
    exit 1
  fi
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  socket=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" &
  pid=$!
  tries=0
  until mariadb-admin --socket="$socket" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ]; then
      echo "mariadb stand-in: the server did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
  probe_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '[mariadb-client]\nuser=healthcheck\npassword=%s\n' "$probe_pw" > "$datadir/.my-healthcheck.cnf"
  chmod 600 "$datadir/.my-healthcheck.cnf"
  # SQL string literals: backslashes and quotes doubled.
  lit() { printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g")"; }
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(lit "$root_pw");"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $(lit "$root_pw");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$database" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$database\`;"
    fi
    if [ -n "$user" ]; then
      echo "CREATE USER $(lit "$user")@'%' IDENTIFIED BY $(lit "$password");"
      if [ -n "$database" ]; then
        echo "GRANT ALL ON \`$database\`.* TO $(lit "$user")@'%';"
      fi
    fi
    # As the official image does: a user of its own for healthcheck.sh, so
    # the probe neither needs a password it is not given nor fills the log
    # with refused logins.
    echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY $(lit "$probe_pw");"
    echo "CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY $(lit "$probe_pw");"
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" -uroot
  MYSQL_PWD=$root_pw mariadb-admin --socket="$socket" -uroot shutdown
  wait "$pid" || true
fi

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 "$@"
