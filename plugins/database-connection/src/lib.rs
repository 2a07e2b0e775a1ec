//! `DatabaseConnection`: connects an application to a PostgreSQL container.
//!
//! It injects a connection string, waits for the database and runs its
//! schema and migrations inside the database container. This crate only
//! describes the type for now; `resolve` comes later.

use clockwork_sdk::prelude::*;

/// The `database-connection` plugin.
pub struct DatabaseConnection;

impl ConnectionPlugin for DatabaseConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("database connection strings, readiness waits, schemas and migrations")
    }

    fn types() -> Vec<TypeDef> {
        vec![database_connection()]
    }
}

/// The connection string used when `connection_string_template` is left out
/// and completion does not fill it.
const POSTGRES_TEMPLATE: &str = "postgresql://{user}:{password}@{host}:{port}/{database}";

fn database_connection() -> TypeDef {
    TypeDef::new(
        "DatabaseConnection",
        "Connects an application to a PostgreSQL database container: injects a connection string, waits until the \
         database accepts connections, and runs its schema and migrations. \
         The connection string is `connection_string_template` with `{user}`, `{password}`, `{host}`, `{port}` and \
         `{database}` filled in from `username`, `password`, `to_resource`'s `name`, the container side of \
         `to_resource`'s first `ports` entry (`\"5433:5432\"` → `5432`; `5432` when it has none) and \
         `database_name`. It is set as `env_var_name` (`DATABASE_URL`) in the connecting container, and the \
         password in it is masked in every output: \
         `postgresql://admin:***@postgres-db:5432/appdb`.\n\n\
         The connecting container deploys after the database. With `wait_for_ready`, it also waits until \
         `pg_isready` succeeds inside the database container (at most `timeout` seconds). Then `schema_file` and \
         each file of `migrations_dir` run with `psql` inside the database container, in that order, each once per \
         distinct content. Nothing runs on your machine, so no PostgreSQL client is needed there.\n\n\
         With only `to_resource` and a `description`, completion fills the credentials from the endpoints, e.g. \
         from the database container's `POSTGRES_USER` and `POSTGRES_DB`.",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .field(
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
    )
    .field(
        Field::new(
            "username",
            "string",
            "The database user the application connects as, e.g. `admin`. \
             It should match the database container's `POSTGRES_USER`. Left out and not completed: `postgres`.",
        )
        .default(json!("postgres"))
        .completable()
        .example(json!("admin")),
    )
    .field(
        Field::new(
            "password",
            "string",
            "The user's password. \
             A secret: masked as `***` in every output and log, and never sent to an AI. It should match the \
             database container's `POSTGRES_PASSWORD`. Left out: `postgres`.",
        )
        .default(json!("postgres"))
        .secret(),
    )
    .field(
        Field::new(
            "database_name",
            "string",
            "The database to connect to, e.g. `appdb`. \
             It should match the database container's `POSTGRES_DB`. Left out and not completed: `postgres`.",
        )
        .default(json!("postgres"))
        .completable()
        .example(json!("appdb")),
    )
    .field(
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
    )
    .field(
        Field::new(
            "wait_for_ready",
            "bool",
            "Whether to wait, before starting the connecting container, until the database accepts connections. \
             The check runs `pg_isready` inside the database container, so it works whether or not a port is \
             published.",
        )
        .default(json!(true)),
    )
    .field(
        Field::new(
            "timeout",
            "int",
            "How long to wait for the database to accept connections, in seconds. \
             Used when `wait_for_ready` is true; `apply` fails with a clear message after it.",
        )
        .default(json!(30))
        .example(json!(60)),
    )
    .field(
        Field::new(
            "schema_file",
            "string",
            "SQL file to run against the database once it is ready, relative to the project folder, e.g. \
             `schema.sql`. \
             It runs with `psql` inside the database container, stopping at the first error, and runs again only \
             when its content changes. A missing file is an error, not silently skipped.",
        )
        .example(json!("schema.sql")),
    )
    .field(
        Field::new(
            "migrations_dir",
            "string",
            "Folder of `.sql` migrations, relative to the project folder, e.g. `migrations/`. \
             Each file runs once, in file-name order (`001_users.sql` before `002_sessions.sql`), after \
             `schema_file` and after the file before it, so name them with a sortable prefix. A file runs again \
             only when its content changes.",
        )
        .example(json!("migrations/")),
    )
}

export_connection_plugin!(DatabaseConnection);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <DatabaseConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().expect("one type")
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
