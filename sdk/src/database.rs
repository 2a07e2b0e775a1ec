//! The databases a connection knows — PostgreSQL, MySQL/MariaDB and Redis:
//! which one a container runs, how a client logs in to it (its credentials
//! from the container's own variables), its connection string and its
//! readiness probe. `DatabaseConnection` builds on it, and so does the
//! `DockerResource` rule that gives a plain connection its `DATABASE_URL`:
//! both build one string.

use serde_json::Value;

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

    /// What the engine is called in messages.
    pub fn shown(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::MySql => "MySQL/MariaDB",
            Engine::Redis => "Redis",
        }
    }
}

/// How a client logs in to a database container: what a connection names,
/// else what the container was set up with, else the engine's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The database it runs.
    pub engine: Engine,
    /// The database container's name.
    pub host: String,
    /// The user.
    pub user: String,
    /// The user's password (empty: none).
    pub password: String,
    /// The database.
    pub database: String,
    /// The container-side port.
    pub port: u16,
}

impl Login {
    /// The login to container `host`, whose config is `to`. `config` may
    /// name `username`, `password` and `database_name` (a
    /// `DatabaseConnection`'s fields); left out, each is the container's own
    /// variable (`POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_DB`, …),
    /// else the engine's default.
    pub fn of(engine: Engine, host: &str, config: &Value, to: &Value) -> Login {
        let variable = |names: &[&str]| {
            names.iter().find_map(|v| {
                to["env_vars"][*v]
                    .as_str()
                    .filter(|value| !value.is_empty())
                    .map(str::to_string)
            })
        };
        let user = config["username"]
            .as_str()
            .map(str::to_string)
            .or_else(|| variable(engine.user_variables()))
            .unwrap_or_else(|| engine.default_user().to_string());
        let password = config["password"]
            .as_str()
            .map(str::to_string)
            .or_else(|| variable(engine.password_variables(&user)))
            .unwrap_or_else(|| {
                if engine == Engine::Postgres {
                    "postgres".to_string()
                } else {
                    String::new()
                }
            });
        let database = config["database_name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| variable(engine.database_variables()))
            .unwrap_or_else(|| "postgres".to_string());
        let port =
            clockwork_schema::first_container_port(&to["ports"]).unwrap_or(engine.default_port());
        Login {
            engine,
            host: host.to_string(),
            user,
            password,
            database,
            port,
        }
    }

    /// The connection string: `template` filled, or the engine's own form.
    pub fn url(&self, template: Option<&str>) -> Result<String, String> {
        let template = template.unwrap_or_else(|| self.engine.template(!self.password.is_empty()));
        fill_template(template, self)
    }
}

/// Fills `{user}`, `{password}`, `{host}`, `{port}` and `{database}` with
/// `login`, URL-escaping the credentials and the database name.
pub fn fill_template(template: &str, login: &Login) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err("unclosed `{` in the connection string template".into());
        };
        let key = &rest[start + 1..start + end];
        let value = match key {
            "user" => url_escape(&login.user),
            "password" => url_escape(&login.password),
            "host" => login.host.clone(),
            "port" => login.port.to_string(),
            "database" => url_escape(&login.database),
            other => {
                return Err(format!(
                    "unknown placeholder `{{{other}}}`; use {{user}}, {{password}}, {{host}}, {{port}} or {{database}}"
                ));
            }
        };
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Percent-encodes everything but unreserved URL characters (RFC 3986).
pub fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    }

    #[test]
    fn a_login_is_what_the_connection_names_else_the_containers_variables() {
        let to = json!({
            "image": "postgres:15-alpine",
            "ports": ["5432:5432"],
            "env_vars": {"POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "p@ss/word", "POSTGRES_DB": "appdb"}
        });
        let login = Login::of(Engine::Postgres, "postgres-db", &json!({}), &to);
        assert_eq!(
            login.url(None).unwrap(),
            "postgresql://admin:p%40ss%2Fword@postgres-db:5432/appdb"
        );
        let named = Login::of(
            Engine::Postgres,
            "postgres-db",
            &json!({"username": "reader", "database_name": "reports"}),
            &to,
        );
        assert_eq!(
            (named.user.as_str(), named.database.as_str()),
            ("reader", "reports")
        );
        let bare = Login::of(
            Engine::Postgres,
            "db",
            &json!({}),
            &json!({"image": "postgres:16"}),
        );
        assert_eq!(
            bare.url(None).unwrap(),
            "postgresql://postgres:postgres@db:5432/postgres"
        );
        let maria = Login::of(
            Engine::MySql,
            "shop-db",
            &json!({}),
            &json!({"env_vars": {"MARIADB_ROOT_PASSWORD": "r"}, "ports": ["3307:3306"]}),
        );
        assert_eq!(
            maria.url(None).unwrap(),
            "mysql://root:r@shop-db:3306/postgres"
        );
    }

    #[test]
    fn a_template_with_an_unknown_or_open_placeholder_is_refused() {
        let login = Login::of(Engine::Redis, "cache", &json!({}), &json!({}));
        assert_eq!(login.url(None).unwrap(), "redis://cache:6379/0");
        assert!(
            login
                .url(Some("redis://{host}:{prt}"))
                .unwrap_err()
                .contains("`{prt}`")
        );
        assert!(
            login
                .url(Some("redis://{host"))
                .unwrap_err()
                .contains("unclosed")
        );
    }
}
