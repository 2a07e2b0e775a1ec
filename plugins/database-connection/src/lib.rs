//! `DatabaseConnection`: connects an application to a database container
//! (PostgreSQL, MySQL/MariaDB or Redis).
//!
//! It injects a connection string, waits for the database and runs its
//! schema and migrations inside the database container, each once per
//! database, recorded in a table of the database itself.

mod engine;
mod setup;

use clockwork_sdk::connection::{CompletionInput, Suggestion};
use clockwork_sdk::database::Login;
use clockwork_sdk::prelude::*;
use clockwork_sdk::{clockwork_schema, error_at, invalid};
use engine::{ENGINES, Engine};

/// The `database-connection` plugin.
pub struct DatabaseConnection;

impl ConnectionPlugin for DatabaseConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("database connection strings, readiness waits, schemas and migrations")
    }

    fn types() -> Vec<TypeDef> {
        vec![database_connection()]
    }

    /// The schema's checks, then the timeout, the variable's name and the
    /// SQL paths, so that `clockwork plan` reports them at the declaration.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::connection::validate_with::<Self>(type_name, config, check)
    }

    /// `username` and `database_name` from the database container's
    /// `POSTGRES_USER` and `POSTGRES_DB`, so a connection given only
    /// `to_resource` logs in as the container was set up.
    fn complete_rules(input: CompletionInput) -> Result<Vec<Suggestion>, PluginError> {
        let to: Value =
            clockwork_sdk::serde_json::from_str(&input.to_resource.config).map_err(|e| {
                PluginError::Failed(format!("the host sent a config that is not JSON: {e}"))
            })?;
        let target = &input.to_resource.target.name;
        let config: Value =
            clockwork_sdk::serde_json::from_str(&input.config).unwrap_or_else(|_| json!({}));
        // Which database it is, `resolve` says when it cannot tell.
        let Ok(engine) = Engine::of(&config, target, &to) else {
            return Ok(Vec::new());
        };
        let missing = |field: &str| input.missing.iter().any(|m| m == field);
        let variable_of = |names: &[&'static str]| {
            names.iter().find_map(|v| {
                to["env_vars"][*v]
                    .as_str()
                    .filter(|value| !value.is_empty())
                    .map(|value| (*v, value.to_string()))
            })
        };
        let mut out = Vec::new();
        let mut suggest = |field: &str, value: Value, reason: String| {
            out.push(Suggestion {
                field: field.into(),
                value: value.to_string(),
                reason,
            });
        };
        if missing("username") {
            match variable_of(engine.user_variables()) {
                Some((variable, user)) => suggest(
                    "username",
                    json!(user),
                    format!("`{variable}` of `{target}`"),
                ),
                None if engine != Engine::Postgres => suggest(
                    "username",
                    json!(engine.default_user()),
                    format!("{}'s own user", engine.shown()),
                ),
                None => {}
            }
        }
        if missing("database_name")
            && let Some((variable, database)) = variable_of(engine.database_variables())
        {
            suggest(
                "database_name",
                json!(database),
                format!("`{variable}` of `{target}`"),
            );
        }
        if missing("connection_string_template") {
            let user = config["username"]
                .as_str()
                .map(str::to_string)
                .or_else(|| variable_of(engine.user_variables()).map(|(_, u)| u))
                .unwrap_or_else(|| engine.default_user().to_string());
            let has_password = config.get("password").is_some()
                || variable_of(engine.password_variables(&user)).is_some();
            suggest(
                "connection_string_template",
                json!(engine.template(has_password)),
                format!("`{target}` runs {}", engine.shown()),
            );
        }
        Ok(out)
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        resolve_database(&input)
    }
}

/// What the schema's types cannot say. Messages never quote the password
/// or the connection string, which holds it.
fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(timeout) = config.get("timeout").filter(|t| !t.is_null())
        && timeout.as_u64().is_none_or(|t| t == 0)
    {
        problems.push(error_at(
            Some("/timeout"),
            format!("`timeout` must be at least 1 second, got {timeout}"),
        ));
    }
    if let Some(name) = config["env_var_name"].as_str()
        && !clockwork_schema::valid_env_name(name)
    {
        problems.push(error_at(
            Some("/env_var_name"),
            format!(
                "`{name}` is not a valid environment variable name: use letters, digits and `_`, not starting with a digit, e.g. `DATABASE_URL`"
            ),
        ));
    }
    if let Some(engine) = config["engine"].as_str()
        && Engine::named(engine).is_none()
    {
        problems.push(error_at(
            Some("/engine"),
            format!(
                "`{engine}` is not an engine this connection knows: use one of {}",
                ENGINES.join(", ")
            ),
        ));
    }
    for (field, example) in [
        ("schema_file", "schema.sql"),
        ("migrations_dir", "migrations/"),
    ] {
        if let Some(path) = config[field].as_str()
            && let Err(message) = clockwork_schema::check_project_path(field, path, example)
        {
            problems.push(error_at(Some(&format!("/{field}")), message));
        }
    }
    problems
}

/// The connection string used when `connection_string_template` is left out
/// and completion does not fill it.
const POSTGRES_TEMPLATE: &str = "postgresql://{user}:{password}@{host}:{port}/{database}";

fn database_connection() -> TypeDef {
    TypeDef::new(
        "DatabaseConnection",
        "Connects an application to a database container — PostgreSQL, MySQL, MariaDB or Redis (`engine`, told from \
         the container when left out): injects a connection string, waits until the database accepts connections, \
         and runs its schema and migrations. \
         The connection string is `connection_string_template` with `{user}`, `{password}`, `{host}`, `{port}` and \
         `{database}` filled in from `username`, `password`, `to_resource`'s `name`, the container side of \
         `to_resource`'s first `ports` entry (`\"5433:5432\"` → `5432`; the engine's own port when it has none) \
         and `database_name`. It is set as `env_var_name` (`DATABASE_URL`) in the connecting container, and the \
         password in it is masked in every output: \
         `postgresql://admin:***@postgres-db:5432/appdb`, `mysql://app:***@mariadb:3306/shop`, \
         `redis://cache:6379/0`.\n\n\
         The connecting container deploys after the database. With `wait_for_ready`, it also waits, at most \
         `timeout` seconds, until the engine's probe succeeds inside the database container (`pg_isready`, \
         `mariadb-admin ping`/`mysqladmin ping`, a Redis `PING`); when the time is up, the error names the \
         database and what the probe last said. Then `schema_file` and each file of `migrations_dir` run inside \
         the database container (`psql`, or `mariadb`/`mysql` as the connection's user), in that order, each once \
         per database: the table `clockwork_migrations` in the database records each file with its SHA-256, so a \
         lost `.clockwork/` folder or a second project on the same database runs nothing twice. Each file runs in \
         a transaction of its own with its record: a failing one stops the apply with the database's message, \
         the ones before it stay recorded (MySQL and MariaDB commit DDL statements by themselves, so only a \
         failing file's data changes are undone there). A file edited after it ran is refused with both \
         checksums; put the change in a new migration. Nothing runs on your machine, so no database client is \
         needed there.\n\n\
         Left out, `username`, `database_name` and `password` come from the database container's variables \
         (`POSTGRES_USER`, `POSTGRES_DB`, `POSTGRES_PASSWORD`; `MARIADB_USER`/`MYSQL_USER`, …; `root` and the \
         root password when it names no user).",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .fields(connection_string())
    .fields(readiness_and_schema())
}

/// What the connection string is built from and the variable it is set as.
fn connection_string() -> Vec<Field> {
    vec![
        Field::new(
            "engine",
            "string",
            "The database `to_resource` runs: `postgresql`, `mysql`, `mariadb` or `redis`. \
             Left out, it is told from the container's image (`postgres:…`, `mariadb:…`, `mysql:…`, `redis:…`), its \
             variables (`POSTGRES_*`, `MARIADB_*`, `MYSQL_*`, `REDIS_*`) or its name; set it for an image of your \
             own. It decides the readiness probe, the client for SQL files and the defaults of the other fields.",
        )
        .example(json!("mariadb")),
        Field::new(
            "connection_string_template",
            "string",
            "Template of the connection string, with the placeholders `{user}`, `{password}`, `{host}`, `{port}` \
             and `{database}`. \
             Values are URL-escaped when inserted, so a password containing `@` or `/` stays valid. Any other \
             placeholder is an error. Left out: the PostgreSQL URL shown in the example, unless completion picks \
             another form.",
        )
        .default(json!(POSTGRES_TEMPLATE))
        .completable()
        .example(json!(POSTGRES_TEMPLATE))
        .example(json!("postgres://{user}:{password}@{host}:{port}/{database}?sslmode=disable")),
        Field::new(
            "username",
            "string",
            "The database user the application connects as, e.g. `admin`. \
             Left out: the database container's `POSTGRES_USER`, `MARIADB_USER` or `MYSQL_USER`; else `postgres` (`root` \
             for MySQL and MariaDB).",
        )
        .default(json!("postgres"))
        .completable()
        .example(json!("admin")),
        Field::new(
            "password",
            "string",
            "The user's password. \
             A secret: masked as `***` in every output and log, and never sent to an AI. Left out: the \
             database container's `POSTGRES_PASSWORD`, else `postgres`.",
        )
        .secret(),
        Field::new(
            "database_name",
            "string",
            "The database to connect to, e.g. `appdb`. \
             Left out: the database container's `POSTGRES_DB`, `MARIADB_DATABASE` or `MYSQL_DATABASE`; else `postgres`.",
        )
        .default(json!("postgres"))
        .completable()
        .example(json!("appdb")),
        Field::new(
            "env_var_name",
            "string",
            "Name of the environment variable that receives the connection string in the connecting container. \
             Use different names to connect one application to several databases. A variable of the same name \
             that you set in the container's `env_vars` wins.",
        )
        .default(json!("DATABASE_URL"))
        .completable()
        .example(json!("ANALYTICS_DATABASE_URL")),
    ]
}

/// Waiting for the database, and the SQL files run in it.
fn readiness_and_schema() -> Vec<Field> {
    vec![
        Field::new(
            "wait_for_ready",
            "bool",
            "Whether to wait, before starting the connecting container, until the database accepts connections. \
             The engine's probe runs inside the database container, so it works whether or not a port is \
             published.",
        )
        .default(json!(true)),
        Field::new(
            "timeout",
            "int",
            "How long to wait for the database to accept connections, in seconds. \
             Used when `wait_for_ready` is true; `apply` fails with a clear message after it.",
        )
        .default(json!(30))
        .example(json!(60)),
        Field::new(
            "schema_file",
            "string",
            "SQL file to run against the database once it is ready, relative to the project folder, e.g. \
             `schema.sql`. \
             It runs once per database with `psql` inside the database container, in one transaction, stopping at \
             the first error. Edited after it ran, it is refused, as a migration is. A missing file is an error, \
             not silently skipped.",
        )
        .example(json!("schema.sql")),
        Field::new(
            "migrations_dir",
            "string",
            "Folder of `.sql` migrations, relative to the project folder, e.g. `migrations/`. \
             Each file runs once, in file-name order (`001_users.sql` before `002_sessions.sql`), after \
             `schema_file` and after the file before it, so name them with a sortable prefix. A file that ran is \
             never run again, and editing it is refused: add a new one. Since each runs in a transaction, a \
             statement that cannot (`CREATE INDEX CONCURRENTLY`) does not belong in one.",
        )
        .example(json!("migrations/")),
    ]
}

export_connection_plugin!(DatabaseConnection);

/// What the connection contributes: the connection string in the
/// connecting container, the order, and the setup steps (readiness wait,
/// schema, migrations), which run inside the database container.
fn resolve_database(input: &ResolveInput) -> Result<Contribution, PluginError> {
    let config = input.config_json()?;
    // Completion may have filled `env_var_name` since `validate`.
    let problems = check(&config);
    if !problems.is_empty() {
        return Err(PluginError::InvalidConfig(problems));
    }
    let to = input.to_resource.config_json()?;
    let host = input.to_resource.target.name.clone();
    let db = login_of(&config, &host, &to)?;
    // The schema's default template is PostgreSQL's; another engine's
    // completion rule replaces it, and so does this when rules did not run.
    let text = |key: &str, default: &str| config[key].as_str().unwrap_or(default).to_string();
    let template = Some(text("connection_string_template", POSTGRES_TEMPLATE))
        .filter(|t| db.engine == Engine::Postgres || t != POSTGRES_TEMPLATE);
    let url = db
        .url(template.as_deref())
        .map_err(|problem| invalid(Some("/connection_string_template"), problem))?;
    let variable = text("env_var_name", "DATABASE_URL");
    let mut contribution = Contribution::ordering_only();
    contribution
        .from_patch
        .env
        .push((variable.clone(), url.clone()));
    contribution.outputs.push((variable, url));
    contribution.setup = setup::steps(&config, &db)?;
    Ok(contribution)
}

/// The login of a connection to container `host` (whose config is `to`):
/// what `config` names, else how the container was set up.
fn login_of(config: &Value, host: &str, to: &Value) -> Result<Login, PluginError> {
    // The engine matters for the readiness probe and the SQL files; a
    // connection that needs neither only injects its string.
    // A target without an image (yet) is taken for PostgreSQL, as it
    // always was: a resource that runs no container is refused by the host
    // for that, in plainer words.
    let needs_engine = (config["wait_for_ready"].as_bool().unwrap_or(true)
        || config.get("schema_file").is_some_and(|v| !v.is_null())
        || config.get("migrations_dir").is_some_and(|v| !v.is_null()))
        && to["image"].is_string();
    let engine = match Engine::of(config, host, to) {
        Ok(engine) => engine,
        Err(_) if !needs_engine => Engine::Postgres,
        Err(message) => return Err(invalid(Some("/engine"), message)),
    };
    Ok(Login::of(engine, host, config, to))
}

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <DatabaseConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().expect("one type")
    }

    /// The pointer and message of each problem `validate` finds.
    fn problems(config: Value) -> Vec<(String, String)> {
        match <DatabaseConnection as ConnectionPlugin>::validate(
            "DatabaseConnection",
            &config.to_string(),
        ) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|d| (d.path.unwrap_or_default(), d.summary))
                .collect(),
        }
    }

    #[test]
    fn sql_paths_stay_in_the_project_folder() {
        let found = problems(json!({
            "schema_file": "../../etc/schema.sql",
            "migrations_dir": "~/migrations",
        }));
        assert_eq!(
            found,
            [
                (
                    "/schema_file".to_string(),
                    "`../../etc/schema.sql` leaves the project folder; `schema_file` is relative to it".to_string()
                ),
                (
                    "/migrations_dir".to_string(),
                    "`~/migrations` starts with `~`, which is not expanded: `migrations_dir` is relative to the project folder, e.g. `migrations/`".to_string()
                ),
            ]
        );
        assert_eq!(
            problems(json!({"schema_file": "/srv/schema.sql"}))[0].1,
            "`/srv/schema.sql` is absolute: `schema_file` is relative to the project folder, e.g. `schema.sql`"
        );
        assert_eq!(
            problems(json!({"schema_file": "./schema.sql", "migrations_dir": "db/../migrations/"})),
            []
        );
    }

    #[test]
    fn the_timeout_and_the_variable_name_are_checked_without_the_password() {
        let found = problems(json!({
            "timeout": -5,
            "env_var_name": "DATABASE-URL",
            "password": "hunter2",
        }));
        assert_eq!(
            found,
            [
                (
                    "/timeout".to_string(),
                    "`timeout` must be at least 1 second, got -5".to_string()
                ),
                (
                    "/env_var_name".to_string(),
                    "`DATABASE-URL` is not a valid environment variable name: use letters, digits and `_`, not starting with a digit, e.g. `DATABASE_URL`".to_string()
                ),
            ]
        );
        assert!(found.iter().all(|(_, m)| !m.contains("hunter2")));
        assert_eq!(problems(json!({"timeout": 0}))[0].0, "/timeout");
        assert_eq!(problems(json!({})), [], "the defaults are fine");
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "DatabaseConnection");
        assert_eq!(def.schema().problems(), vec![]);
        let to = def
            .schema()
            .field("to_resource")
            .and_then(|f| f.parsed_type());
        assert_eq!(to, Some(ValueType::Resource(Vec::new())));
    }

    #[test]
    fn keeps_the_original_fields_and_defaults() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        for name in [
            "to_resource",
            "description",
            "connection_string_template",
            "schema_file",
            "migrations_dir",
        ] {
            field(name);
        }
        assert_eq!(
            field("env_var_name").default_value(),
            Some(json!("DATABASE_URL"))
        );
        assert_eq!(field("wait_for_ready").default_value(), Some(json!(true)));
        assert_eq!(field("timeout").default_value(), Some(json!(30)));
        assert_eq!(field("username").default_value(), Some(json!("postgres")));
        assert_eq!(
            field("database_name").default_value(),
            Some(json!("postgres"))
        );
        assert!(field("password").secret);
        assert!(
            !field("password").completable,
            "a secret is never sent to an AI"
        );
    }
}
