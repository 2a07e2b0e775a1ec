#!/bin/sh
# A stand-in for the official mariadb image's healthcheck.sh: healthy once
# the server answers on its TCP port (the options the official script takes,
# such as --connect and --innodb_initialized, ask for no more than that here).
exec mariadb-admin --defaults-extra-file=/var/lib/mysql/.my-healthcheck.cnf \
  --protocol=tcp -h 127.0.0.1 -P 3306 ping --silent >/dev/null 2>&1
