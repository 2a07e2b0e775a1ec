//! Pure pieces of the checks: which engine a container runs, the commands
//! run in it, and the SQL they send. No host call happens here, so the
//! tests run natively.

use clockwork_sdk::prelude::*;

/// A database engine this version recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL, checked with `psql`.
    Postgresql,
    /// Redis, checked with `redis-cli`.
    Redis,
}

impl Engine {
    /// The client run inside the container.
    pub fn client(self) -> &'static str {
        match self {
            Engine::Postgresql => "psql",
            Engine::Redis => "redis-cli",
        }
    }

    /// The port the server listens on by default.
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgresql => 5432,
            Engine::Redis => 6379,
        }
    }
}

/// The names of the variables of an inspect's `Config.Env` (`["K=V"]`).
fn env_names(inspect: &Value) -> Vec<&str> {
    inspect["Config"]["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k))
        .collect()
}

/// The value of one variable of an inspect's `Config.Env`.
pub fn env_value(inspect: &Value, name: &str) -> Option<String> {
    inspect["Config"]["Env"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name))
        .map(|(_, v)| v.to_string())
}

/// Which engine `container` runs: `engine` when the user gave it, else from
/// the image's name (`postgres`, `redis`), else from the variables it sets
/// (`POSTGRES_*`, `REDIS_*`).
pub fn recognise(
    explicit: Option<&str>,
    inspect: &Value,
    container: &str,
) -> Result<Engine, PluginError> {
    match explicit {
        Some("postgresql") => return Ok(Engine::Postgresql),
        Some("redis") => return Ok(Engine::Redis),
        Some(other) => {
            return Err(PluginError::Failed(format!(
                "engine `{other}` is not one of `postgresql`, `redis`"
            )));
        }
        None => {}
    }
    let image = inspect["Config"]["Image"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let names = env_names(inspect);
    let sets = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if image.contains("postgres") {
        return Ok(Engine::Postgresql);
    }
    if image.contains("redis") {
        return Ok(Engine::Redis);
    }
    if sets("POSTGRES_") {
        return Ok(Engine::Postgresql);
    }
    if sets("REDIS_") {
        return Ok(Engine::Redis);
    }
    if image.contains("mysql") || image.contains("mariadb") || sets("MYSQL_") || sets("MARIADB_") {
        return Err(PluginError::Failed(format!(
            "container `{container}` runs MySQL or MariaDB, which this version does not recognise: only \
             PostgreSQL (`psql`) and Redis (`redis-cli`) are"
        )));
    }
    Err(PluginError::Failed(format!(
        "cannot tell which database container `{container}` runs (image `{image}`): set `engine` to \
         `postgresql` or `redis`"
    )))
}

/// A command to run in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program and its arguments; never a password.
    pub argv: Vec<String>,
    /// Extra variables; the password travels here.
    pub env: Vec<(String, String)>,
}

/// What `DatabaseConnectionAssert` connects with, the engine's defaults
/// applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The engine.
    pub engine: Engine,
    /// The host, as seen from inside the container.
    pub host: String,
    /// The port.
    pub port: u16,
    /// PostgreSQL: the database; Redis: the logical database's number.
    pub database: Option<String>,
    /// The user, if any.
    pub username: Option<String>,
    /// The password, if any. Never shown.
    pub password: Option<String>,
}

impl Login {
    /// The login a `DatabaseConnectionAssert` config asks for. PostgreSQL's
    /// defaults are `DatabaseConnection`'s: port 5432, database, user and
    /// password `postgres`. Redis's: port 6379, the `default` user, no
    /// password, database 0.
    pub fn from_config(engine: Engine, config: &Value) -> Result<Login, PluginError> {
        let text = |key: &str| config[key].as_str().map(str::to_string);
        let port = match config.get("port").filter(|p| !p.is_null()) {
            None => engine.default_port(),
            Some(port) => port
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    PluginError::Failed(format!("port `{port}` is out of range 1-65535"))
                })?,
        };
        let host = text("host").unwrap_or_else(|| "localhost".into());
        let login = match engine {
            Engine::Postgresql => Login {
                engine,
                host,
                port,
                database: Some(text("database").unwrap_or_else(|| "postgres".into())),
                username: Some(text("username").unwrap_or_else(|| "postgres".into())),
                password: Some(text("password").unwrap_or_else(|| "postgres".into())),
            },
            Engine::Redis => {
                let database = text("database");
                if let Some(db) = &database
                    && db.parse::<u32>().is_err()
                {
                    return Err(PluginError::Failed(format!(
                        "Redis databases are numbered: `database` must be a number such as `0`, got `{db}`"
                    )));
                }
                let username = text("username");
                let password = text("password");
                if username.is_some() && password.is_none() {
                    return Err(PluginError::Failed(
                        "a Redis `username` needs its `password`".into(),
                    ));
                }
                Login {
                    engine,
                    host,
                    port,
                    database,
                    username,
                    password,
                }
            }
        };
        Ok(login)
    }

    /// `postgresql://user@host:port/db` or `redis://user@host:port/0`;
    /// never with the password.
    pub fn url(&self) -> String {
        let scheme = match self.engine {
            Engine::Postgresql => "postgresql",
            Engine::Redis => "redis",
        };
        let user = self
            .username
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let database = self
            .database
            .as_deref()
            .map(|d| format!("/{d}"))
            .unwrap_or_default();
        format!("{scheme}://{user}{host}:{}{database}", self.port)
    }

    /// The client command that logs in and runs `SELECT 1` or `PING`. The
    /// password goes in `PGPASSWORD` or `REDISCLI_AUTH`, never in `argv`.
    pub fn command(&self) -> Command {
        let mut argv: Vec<String> = Vec::new();
        let mut env = Vec::new();
        let mut arg = |a: &str| argv.push(a.to_string());
        match self.engine {
            Engine::Postgresql => {
                for a in [
                    "psql",
                    "-X",
                    "-w",
                    "-h",
                    &self.host,
                    "-p",
                    &self.port.to_string(),
                ] {
                    arg(a);
                }
                if let Some(user) = &self.username {
                    arg("-U");
                    arg(user);
                }
                if let Some(db) = &self.database {
                    arg("-d");
                    arg(db);
                }
                arg("-tAc");
                arg("select 1");
                if let Some(password) = &self.password {
                    env.push(("PGPASSWORD".to_string(), password.clone()));
                }
                env.push(("PGCONNECT_TIMEOUT".to_string(), "3".to_string()));
            }
            Engine::Redis => {
                for a in ["redis-cli", "-h", &self.host, "-p", &self.port.to_string()] {
                    arg(a);
                }
                if let Some(user) = &self.username {
                    arg("--user");
                    arg(user);
                }
                if let Some(db) = &self.database {
                    arg("-n");
                    arg(db);
                }
                arg("ping");
                if let Some(password) = &self.password {
                    env.push(("REDISCLI_AUTH".to_string(), password.clone()));
                }
            }
        }
        Command { argv, env }
    }
}

/// `psql` as `user` over the container's local socket, in `database`,
/// running each of `statements` in turn and stopping at the first error.
/// Output is tuples only, unaligned, without command tags.
pub fn local_psql(user: &str, database: &str, statements: &[&str]) -> Command {
    let mut argv: Vec<String> = [
        "psql",
        "-X",
        "-w",
        "-q",
        "-tA",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        user,
        "-d",
        database,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for statement in statements {
        argv.push("-c".to_string());
        argv.push(statement.to_string());
    }
    Command {
        argv,
        env: Vec::new(),
    }
}

/// A table name (`users` or `schema.table`) quoted as SQL identifiers:
/// `"billing"."invoices"`. Anything but letters, digits, `_` and one `.`
/// between two names is refused, so the result is safe inside SQL and
/// inside a string literal.
pub fn quote_table(name: &str) -> Result<String, String> {
    let parts: Vec<&str> = name.split('.').collect();
    let valid = parts.len() <= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !valid {
        return Err(format!(
            "table `{name}` is not a name: use letters, digits and `_`, with one `.` between schema and table, \
             e.g. `users` or `billing.invoices`"
        ));
    }
    Ok(parts
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("."))
}

/// The query printing the kind of relation `quoted` is (`r`, `v`, …), or
/// nothing when there is none.
pub fn relation_kind_sql(quoted: &str) -> String {
    format!(
        "select c.relkind from pg_catalog.pg_class c where c.oid = pg_catalog.to_regclass('{quoted}')"
    )
}

/// The query counting the rows of `quoted`.
pub fn count_sql(quoted: &str) -> String {
    format!("select count(*) from {quoted}")
}

/// What a `pg_class.relkind` is, and whether it counts as a table.
pub fn relation_kind(kind: &str) -> (&'static str, bool) {
    match kind {
        "r" => ("table", true),
        "p" => ("partitioned table", true),
        "v" => ("view", true),
        "m" => ("materialized view", true),
        "f" => ("foreign table", true),
        "i" | "I" => ("index", false),
        "S" => ("sequence", false),
        "c" => ("composite type", false),
        "t" => ("TOAST table", false),
        _ => ("relation", false),
    }
}

/// The count `psql -tA` printed, e.g. `42`.
pub fn parse_count(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())?
        .parse()
        .ok()
}

/// The first keyword of each statement of `sql`, lower-case, skipping
/// comments, string literals, quoted identifiers and dollar-quoted bodies.
pub fn first_keywords(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut at_start = true;
    let mut i = 0;
    let end_word = |word: &mut String, at_start: &mut bool, words: &mut Vec<String>| {
        if *at_start && !word.is_empty() {
            words.push(word.to_ascii_lowercase());
            *at_start = false;
        }
        word.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            end_word(&mut word, &mut at_start, &mut words);
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            end_word(&mut word, &mut at_start, &mut words);
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if c == '\'' || c == '"' {
            // E'...' strings know backslash escapes.
            let escapes = c == '\'' && i > 0 && matches!(chars[i - 1], 'e' | 'E');
            end_word(&mut word, &mut at_start, &mut words);
            at_start = false;
            i += 1;
            while i < chars.len() {
                if escapes && chars[i] == '\\' {
                    i += 2;
                } else if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if c == '$' && !word.chars().last().is_some_and(|w| w.is_alphanumeric()) {
            // $tag$ ... $tag$ (not $1, a parameter).
            let tag_end = chars[i + 1..]
                .iter()
                .position(|&t| !(t.is_alphanumeric() || t == '_'))
                .map(|p| i + 1 + p);
            if let Some(close) = tag_end.filter(|&e| chars[e] == '$')
                && !chars.get(i + 1).is_some_and(char::is_ascii_digit)
            {
                let tag: String = chars[i..=close].iter().collect();
                end_word(&mut word, &mut at_start, &mut words);
                at_start = false;
                let rest: String = chars[close + 1..].iter().collect();
                i = match rest.find(&tag) {
                    Some(p) => close + 1 + rest[..p].chars().count() + tag.chars().count(),
                    None => chars.len(),
                };
                continue;
            }
        }
        if c == ';' {
            end_word(&mut word, &mut at_start, &mut words);
            at_start = true;
            i += 1;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            if word.is_empty() && !c.is_whitespace() {
                at_start = false;
            }
            end_word(&mut word, &mut at_start, &mut words);
        }
        i += 1;
    }
    end_word(&mut word, &mut at_start, &mut words);
    words
}

/// Why `sql` cannot run inside a transaction that is rolled back, if it
/// cannot: a statement that ends or starts a transaction, or a `psql`
/// backslash command.
pub fn escapes_rollback(sql: &str) -> Option<String> {
    if sql.trim_start().starts_with('\\') {
        return Some(
            "`sql_query` is a `psql` backslash command, not SQL: give SQL statements".into(),
        );
    }
    let control = ["begin", "start", "commit", "end", "rollback", "abort"];
    first_keywords(sql)
        .into_iter()
        .find(|w| control.contains(&w.as_str()))
        .map(|w| {
            format!(
                "`sql_query` cannot hold `{}`: it runs inside a transaction that is rolled back, so that it \
                 changes nothing",
                w.to_ascii_uppercase()
            )
        })
}

/// At most `max` characters of `text` on one line, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(image: &str, env: &[&str]) -> Value {
        json!({"Config": {"Image": image, "Env": env}})
    }

    #[test]
    fn recognises_engines_by_image_then_env() {
        let engine = |i: &Value| recognise(None, i, "db");
        assert_eq!(
            engine(&inspect("postgres:16-alpine", &[])).unwrap(),
            Engine::Postgresql
        );
        assert_eq!(
            engine(&inspect("bitnami/redis:7", &[])).unwrap(),
            Engine::Redis
        );
        assert_eq!(
            engine(&inspect("registry.local/db:1", &["POSTGRES_PASSWORD=x"])).unwrap(),
            Engine::Postgresql
        );
        assert_eq!(
            engine(&inspect("cache:1", &["PATH=/bin", "REDIS_PASSWORD=x"])).unwrap(),
            Engine::Redis
        );
        assert_eq!(
            recognise(Some("redis"), &inspect("postgres:16", &[]), "db").unwrap(),
            Engine::Redis,
            "`engine` wins"
        );
    }

    #[test]
    fn refuses_mysql_and_unknown_images() {
        let err = recognise(None, &inspect("mysql:8", &[]), "db").unwrap_err();
        assert!(
            matches!(&err, PluginError::Failed(t) if t.contains("MySQL") && t.contains("`psql`")),
            "{err:?}"
        );
        let err = recognise(None, &inspect("nginx:1", &["NGINX_VERSION=1"]), "web").unwrap_err();
        assert!(
            matches!(&err, PluginError::Failed(t) if t.contains("set `engine`") && t.contains("nginx:1")),
            "{err:?}"
        );
    }

    #[test]
    fn reads_env_values() {
        let i = inspect("postgres", &["POSTGRES_USER=admin", "POSTGRES_DB=app=1"]);
        assert_eq!(env_value(&i, "POSTGRES_USER").as_deref(), Some("admin"));
        assert_eq!(env_value(&i, "POSTGRES_DB").as_deref(), Some("app=1"));
        assert_eq!(env_value(&i, "POSTGRES"), None);
    }

    #[test]
    fn postgres_login_defaults_and_command() {
        let login = Login::from_config(Engine::Postgresql, &json!({})).unwrap();
        assert_eq!(login.url(), "postgresql://postgres@localhost:5432/postgres");
        let login = Login::from_config(
            Engine::Postgresql,
            &json!({"host": "localhost", "port": 5433, "username": "admin", "database": "appdb", "password": "s3cret!"}),
        )
        .unwrap();
        assert_eq!(login.url(), "postgresql://admin@localhost:5433/appdb");
        let command = login.command();
        assert_eq!(
            command.argv,
            [
                "psql",
                "-X",
                "-w",
                "-h",
                "localhost",
                "-p",
                "5433",
                "-U",
                "admin",
                "-d",
                "appdb",
                "-tAc",
                "select 1"
            ]
        );
        assert!(
            command
                .env
                .contains(&("PGPASSWORD".into(), "s3cret!".into()))
        );
        assert!(
            !command.argv.iter().any(|a| a.contains("s3cret")),
            "the password is never in argv"
        );
        assert!(!login.url().contains("s3cret"));
    }

    #[test]
    fn redis_login_defaults_and_command() {
        let login = Login::from_config(Engine::Redis, &json!({"host": "localhost"})).unwrap();
        assert_eq!(login.url(), "redis://localhost:6379");
        assert_eq!(
            login.command(),
            Command {
                argv: vec![
                    "redis-cli".into(),
                    "-h".into(),
                    "localhost".into(),
                    "-p".into(),
                    "6379".into(),
                    "ping".into()
                ],
                env: vec![],
            }
        );
        let login = Login::from_config(
            Engine::Redis,
            &json!({"username": "app", "password": "hunter2", "database": "2"}),
        )
        .unwrap();
        assert_eq!(login.url(), "redis://app@localhost:6379/2");
        let command = login.command();
        assert_eq!(
            command.argv,
            [
                "redis-cli",
                "-h",
                "localhost",
                "-p",
                "6379",
                "--user",
                "app",
                "-n",
                "2",
                "ping"
            ]
        );
        assert_eq!(
            command.env,
            [("REDISCLI_AUTH".to_string(), "hunter2".to_string())]
        );
        assert!(!command.argv.iter().any(|a| a.contains("hunter2")));
    }

    #[test]
    fn redis_login_refuses_what_redis_cannot_do() {
        assert!(Login::from_config(Engine::Redis, &json!({"database": "appdb"})).is_err());
        assert!(Login::from_config(Engine::Redis, &json!({"username": "app"})).is_err());
        assert!(Login::from_config(Engine::Postgresql, &json!({"port": 0})).is_err());
    }

    #[test]
    fn local_psql_runs_each_statement() {
        let command = local_psql(
            "admin",
            "appdb",
            &["BEGIN READ ONLY", "select 1", "ROLLBACK"],
        );
        assert_eq!(
            command.argv,
            [
                "psql",
                "-X",
                "-w",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "admin",
                "-d",
                "appdb",
                "-c",
                "BEGIN READ ONLY",
                "-c",
                "select 1",
                "-c",
                "ROLLBACK"
            ]
        );
        assert!(command.env.is_empty());
    }

    #[test]
    fn quotes_table_names_and_refuses_the_rest() {
        assert_eq!(quote_table("users").unwrap(), "\"users\"");
        assert_eq!(
            quote_table("billing.Invoices_2").unwrap(),
            "\"billing\".\"Invoices_2\""
        );
        for bad in [
            "",
            "a.b.c",
            ".users",
            "users;drop",
            "us\"ers",
            "o'brien",
            "a b",
            "users.",
        ] {
            assert!(quote_table(bad).is_err(), "`{bad}` is refused");
        }
        assert_eq!(
            relation_kind_sql("\"users\""),
            "select c.relkind from pg_catalog.pg_class c where c.oid = pg_catalog.to_regclass('\"users\"')"
        );
        assert_eq!(count_sql("\"a\".\"b\""), "select count(*) from \"a\".\"b\"");
    }

    #[test]
    fn parses_counts() {
        assert_eq!(parse_count("42\n"), Some(42));
        assert_eq!(parse_count("\n0\n\n"), Some(0));
        assert_eq!(parse_count(""), None);
        assert_eq!(parse_count("ERROR"), None);
    }

    #[test]
    fn finds_transaction_control_only_where_it_is_a_statement() {
        assert_eq!(
            first_keywords(
                "select 1; -- commit\nCOMMIT; /* end */ insert into t values (';begin')"
            ),
            ["select", "commit", "insert"]
        );
        assert_eq!(escapes_rollback("SELECT CASE WHEN true THEN 1 END"), None);
        assert_eq!(escapes_rollback("select 'a; commit'"), None);
        assert_eq!(escapes_rollback("select E'it\\'s; commit'"), None);
        assert_eq!(escapes_rollback("select \"end\"; select $1"), None);
        assert_eq!(
            escapes_rollback("do $body$ begin perform 1; end $body$; select 1"),
            None
        );
        assert_eq!(escapes_rollback("select $$; commit$$"), None);
        assert!(
            escapes_rollback("delete from t; COMMIT")
                .unwrap()
                .contains("`COMMIT`")
        );
        assert!(escapes_rollback("  end").is_some());
        assert!(escapes_rollback("start transaction; select 1").is_some());
        assert!(
            escapes_rollback("\\! rm -rf /")
                .unwrap()
                .contains("backslash")
        );
    }

    #[test]
    fn excerpts_are_one_line_and_short() {
        assert_eq!(excerpt("a\n  b", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
