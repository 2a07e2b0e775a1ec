//! The database a connection goes to — PostgreSQL, MySQL/MariaDB or Redis —
//! and what each needs: its credentials from the container's variables, its
//! port, its readiness probe and its client for SQL files.

use clockwork_sdk::prelude::*;

/// The engines a `DatabaseConnection` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL (`psql`, `pg_isready`).
    Postgres,
    /// MySQL or MariaDB (`mariadb`/`mysql`, `mariadb-admin`/`mysqladmin`).
    MySql,
    /// Redis (`redis-cli`); no schema or migrations.
    Redis,
}

/// The values `engine` takes.
pub const ENGINES: &[&str] = &["postgresql", "mysql", "mariadb", "redis"];

impl Engine {
    /// The engine `engine` names, if it names one.
    pub fn named(engine: &str) -> Option<Engine> {
        match engine.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::MySql),
            "redis" => Some(Engine::Redis),
            _ => None,
        }
    }

    /// The engine the connection's `engine` names, or else the one the
    /// target's image, variables, name or description show.
    pub fn of(config: &Value, target: &str, to: &Value) -> Result<Engine, String> {
        if let Some(named) = config["engine"].as_str() {
            return Engine::named(named).ok_or_else(|| {
                format!(
                    "`{named}` is not an engine this connection knows: use one of {}",
                    ENGINES.join(", ")
                )
            });
        }
        let variables: Vec<&str> = to["env_vars"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let sets = |prefix: &str| variables.iter().any(|v| v.starts_with(prefix));
        let image = to["image"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let words = format!(
            "{} {}",
            target.to_ascii_lowercase(),
            to["description"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
        );
        let shows = |needles: &[&str]| needles.iter().any(|n| image.contains(n));
        let says = |needles: &[&str]| needles.iter().any(|n| words.contains(n));
        let by_image = if shows(&["postgres", "postgis", "timescale"]) {
            Some(Engine::Postgres)
        } else if shows(&["mariadb", "mysql", "percona"]) {
            Some(Engine::MySql)
        } else if shows(&["redis", "valkey", "keydb"]) {
            Some(Engine::Redis)
        } else {
            None
        };
        by_image
            .or_else(|| sets("POSTGRES_").then_some(Engine::Postgres))
            .or_else(|| (sets("MARIADB_") || sets("MYSQL_")).then_some(Engine::MySql))
            .or_else(|| sets("REDIS_").then_some(Engine::Redis))
            .or_else(|| says(&["postgres"]).then_some(Engine::Postgres))
            .or_else(|| says(&["mariadb", "mysql"]).then_some(Engine::MySql))
            .or_else(|| says(&["redis"]).then_some(Engine::Redis))
            .ok_or_else(|| {
                let seen = if image.is_empty() {
                    "it has no image yet".to_string()
                } else {
                    format!("its image is `{image}`")
                };
                format!(
                    "cannot tell which database `{target}` runs ({seen}): set `engine` to one of {}, so the connection knows how to wait for it and run SQL in it",
                    ENGINES.join(", ")
                )
            })
    }

    /// The port the database listens on inside its container by default.
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::MySql => 3306,
            Engine::Redis => 6379,
        }
    }

    /// The connection string's template when the user wrote none.
    pub fn template(self, with_password: bool) -> &'static str {
        match self {
            Engine::Postgres => "postgresql://{user}:{password}@{host}:{port}/{database}",
            Engine::MySql => "mysql://{user}:{password}@{host}:{port}/{database}",
            Engine::Redis if with_password => "redis://:{password}@{host}:{port}/0",
            Engine::Redis => "redis://{host}:{port}/0",
        }
    }

    /// The target container's variables that name the user and the
    /// database, first found wins.
    pub fn user_variables(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["POSTGRES_USER"],
            Engine::MySql => &["MARIADB_USER", "MYSQL_USER"],
            Engine::Redis => &[],
        }
    }

    /// The variables that name the database.
    pub fn database_variables(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["POSTGRES_DB"],
            Engine::MySql => &["MARIADB_DATABASE", "MYSQL_DATABASE"],
            Engine::Redis => &[],
        }
    }

    /// The variables that hold `user`'s password in the target container.
    pub fn password_variables(self, user: &str) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["POSTGRES_PASSWORD"],
            Engine::MySql if user == "root" => &["MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"],
            Engine::MySql => &["MARIADB_PASSWORD", "MYSQL_PASSWORD"],
            Engine::Redis => &["REDIS_PASSWORD"],
        }
    }

    /// The user when neither the connection nor the container names one.
    pub fn default_user(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::MySql => "root",
            Engine::Redis => "default",
        }
    }

    /// The readiness probe, run inside the database container: a command
    /// that succeeds once the server accepts connections on `port`.
    pub fn ready_probe(self, port: u16, user: &str, database: &str) -> Vec<String> {
        let argv: Vec<&str> = match self {
            Engine::Postgres => {
                return [
                    "pg_isready",
                    "-h",
                    "localhost",
                    "-p",
                    &port.to_string(),
                    "-U",
                    user,
                    "-d",
                    database,
                ]
                .map(String::from)
                .to_vec();
            }
            // `ping` answers once the server listens, whatever the
            // credentials; MariaDB 11 images have only the `mariadb-` names.
            Engine::MySql => vec![
                "sh",
                "-c",
                "if command -v mariadb-admin >/dev/null 2>&1; then exec mariadb-admin --protocol=tcp -h 127.0.0.1 -P \"$1\" ping --silent; fi; exec mysqladmin --protocol=tcp -h 127.0.0.1 -P \"$1\" ping --silent",
                "database-ready",
            ],
            Engine::Redis => vec![
                "sh",
                "-c",
                "answer=$(redis-cli -p \"$1\" ping 2>&1); [ \"$answer\" = PONG ] || { echo \"$answer\"; exit 1; }",
                "database-ready",
            ],
        };
        let mut argv: Vec<String> = argv.into_iter().map(String::from).collect();
        argv.push(port.to_string());
        argv
    }

    /// The script that runs one SQL file (on stdin) once per database; its
    /// arguments after the script name are the file, its SHA-256, the user,
    /// the database and the port. `None` for an engine without SQL.
    pub fn run_once(self) -> Option<&'static str> {
        match self {
            Engine::Postgres => Some(POSTGRES_RUN_ONCE),
            Engine::MySql => Some(MYSQL_RUN_ONCE),
            Engine::Redis => None,
        }
    }

    /// What the engine is called in messages.
    pub fn shown(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::MySql => "MySQL/MariaDB",
            Engine::Redis => "Redis",
        }
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
    fn the_engine_comes_from_the_field_the_image_the_variables_or_the_words() {
        let of = |config: Value, target: &str, to: Value| Engine::of(&config, target, &to);
        assert_eq!(
            of(json!({}), "db", json!({"image": "postgres:15-alpine"})),
            Ok(Engine::Postgres)
        );
        assert_eq!(
            of(json!({}), "db", json!({"image": "mariadb:11"})),
            Ok(Engine::MySql)
        );
        assert_eq!(
            of(json!({}), "db", json!({"image": "mysql:8"})),
            Ok(Engine::MySql)
        );
        assert_eq!(
            of(json!({}), "cache", json!({"image": "redis:7-alpine"})),
            Ok(Engine::Redis)
        );
        assert_eq!(
            of(
                json!({}),
                "db",
                json!({"image": "corp/db:1", "env_vars": {"MARIADB_ROOT_PASSWORD": "x"}})
            ),
            Ok(Engine::MySql)
        );
        assert_eq!(
            of(json!({}), "postgres-db", json!({})),
            Ok(Engine::Postgres)
        );
        assert_eq!(
            of(
                json!({"engine": "redis"}),
                "db",
                json!({"image": "postgres:15"})
            ),
            Ok(Engine::Redis),
            "what the user wrote wins"
        );
        let unknown = of(json!({}), "store", json!({"image": "corp/store:2"})).unwrap_err();
        assert!(
            unknown.contains("`corp/store:2`") && unknown.contains("set `engine`"),
            "{unknown}"
        );
        let wrong = of(json!({"engine": "oracle"}), "db", json!({})).unwrap_err();
        assert!(
            wrong.contains("postgresql, mysql, mariadb, redis"),
            "{wrong}"
        );
    }

    #[test]
    fn each_engine_has_its_port_template_and_probe() {
        assert_eq!(Engine::MySql.default_port(), 3306);
        assert_eq!(Engine::Redis.template(false), "redis://{host}:{port}/0");
        assert_eq!(
            Engine::MySql.password_variables("root")[0],
            "MARIADB_ROOT_PASSWORD"
        );
        assert_eq!(
            Engine::MySql.password_variables("app")[0],
            "MARIADB_PASSWORD"
        );
        assert_eq!(
            Engine::Postgres.ready_probe(5432, "app", "shop")[0],
            "pg_isready"
        );
        assert_eq!(
            Engine::MySql
                .ready_probe(3306, "app", "shop")
                .last()
                .map(String::as_str),
            Some("3306")
        );
        assert!(Engine::Redis.run_once().is_none());
    }
}
