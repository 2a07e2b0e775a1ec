//! What `DatabaseConnection` runs in a database container beyond the
//! SDK's [`clockwork_sdk::database`]: its SQL files, each once.

pub use clockwork_sdk::database::{ENGINES, Engine};

/// The script that runs one SQL file (on stdin) once per database; its
/// arguments after the script name are the file, its SHA-256, the user,
/// the database and the port. `None` for an engine without SQL.
pub fn run_once(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Postgres => Some(POSTGRES_RUN_ONCE),
        Engine::MySql => Some(MYSQL_RUN_ONCE),
        Engine::Redis => None,
    }
}

/// What both scripts do once `recorded` holds the database's record of
/// `$file`: nothing when it ran with this content, and a refusal naming
/// both checksums when it ran with another.
macro_rules! judged {
    () => {
        r#"if [ "$recorded" = "$sha" ]; then
  echo "$file ran before"
  exit 0
fi
if [ -n "$recorded" ]; then
  echo "$file was edited after it ran on database $db: it ran with sha256 $recorded, the file now has sha256 $sha. What ran is not run again: undo the edit, and put the change in a new migration" >&2
  exit 3
fi
"#
    };
}

/// Runs the SQL on stdin once per PostgreSQL database: already recorded in
/// `clockwork_migrations` with this checksum, nothing to do; with another,
/// the file was edited after it ran and is refused with both checksums;
/// otherwise it runs in one transaction with its record, so a failure
/// leaves neither. The psql variables are named so that no migration's own
/// `:name` meets them.
const POSTGRES_RUN_ONCE: &str = concat!(
    r#"set -u
file=$1 sha=$2 user=$3 db=$4
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -U "$user" -d "$db" -v cw_file="$file" -v cw_sha="$sha" "$@"; }
printf '%s\n' "SET client_min_messages = warning;" "CREATE TABLE IF NOT EXISTS clockwork_migrations (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());" | sql -f - >/dev/null || exit 1
recorded=$(printf '%s\n' "SELECT sha256 FROM clockwork_migrations WHERE name = :'cw_file';" | sql -f -) || exit 1
"#,
    judged!(),
    r#"{ cat; printf '\n;\n%s\n' "INSERT INTO clockwork_migrations (name, sha256) VALUES (:'cw_file', :'cw_sha');"; } | sql -1 -f - >/dev/null
"#
);

/// The same for MySQL and MariaDB, over TCP as the connection's user (the
/// password comes in `MYSQL_PWD`). Their DDL commits by itself, so only
/// data changes of a failing file are rolled back.
const MYSQL_RUN_ONCE: &str = concat!(
    r#"set -u
file=$1 sha=$2 user=$3 db=$4 port=$5
client=$(command -v mariadb || command -v mysql) || { echo "the database container has neither a mariadb nor a mysql client" >&2; exit 1; }
sql() { "$client" --protocol=tcp -h 127.0.0.1 -P "$port" -u "$user" -D "$db" -N -B; }
lit() { printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g")"; }
echo "CREATE TABLE IF NOT EXISTS clockwork_migrations (name VARCHAR(512) PRIMARY KEY, sha256 CHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);" | sql || exit 1
recorded=$(echo "SELECT sha256 FROM clockwork_migrations WHERE name = $(lit "$file");" | sql) || exit 1
"#,
    judged!(),
    r#"{ echo "START TRANSACTION;"; cat; printf '\n%s\n%s\n' "INSERT INTO clockwork_migrations (name, sha256) VALUES ($(lit "$file"), '$sha');" "COMMIT;"; } | sql >/dev/null
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sql_engines_run_sql_files() {
        assert!(run_once(Engine::Postgres).is_some_and(|s| s.contains("psql")));
        assert!(run_once(Engine::MySql).is_some_and(|s| s.contains("mariadb")));
        assert!(run_once(Engine::Redis).is_none());
    }
}
