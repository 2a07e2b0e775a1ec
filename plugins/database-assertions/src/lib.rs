//! Database assertions: `DatabaseConnectionAssert`, `TableExistsAssert`,
//! `RowCountAssert` and `QuerySuccessAssert`.
//!
//! Each runs the database's own client inside the database container,
//! through the host's `exec` interface, so nothing needs a client on this
//! machine or a published port. The engine is told from the container's
//! image name or its variables, or set with `engine`. Recognised:
//!
//! - PostgreSQL (`postgres` in the image name, or `POSTGRES_*` variables),
//!   checked with `psql`: every type.
//! - Redis (`redis` in the image name, or `REDIS_*` variables), checked with
//!   `redis-cli`: `DatabaseConnectionAssert` only.
//!
//! MySQL and MariaDB are not recognised in this version: a check of one is
//! an error saying so. Passwords reach the client through its environment
//! (`PGPASSWORD`, `REDISCLI_AUTH`), never its command line, and are never
//! shown; values of the container's variables are named, not shown.

mod checks;
pub mod commands;

use clockwork_sdk::prelude::*;

/// The `database-assertions` plugin.
pub struct DatabaseAssertions;

impl AssertionPlugin for DatabaseAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!(
            "database checks run with the database's own client inside its container: PostgreSQL (`psql`), Redis (`redis-cli`)"
        )
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::new(database_connection_assert()),
            AssertionType::new(table_exists_assert()),
            AssertionType::new(row_count_assert()),
            AssertionType::new(query_success_assert()),
        ]
    }

    /// The schema's checks, then the table name, port, bounds and SQL.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::assertion::validate_with::<Self>(type_name, config, checks::problems)
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        checks::check(input)
    }
}

/// How the three data assertions pick the database and user; appended to
/// their docs so that each says it in the same words.
const RUNS_AS: &str = "PostgreSQL only. The query runs with `psql` inside the database container this assertion is \
                       attached to, as the container's `POSTGRES_USER` (else `postgres`) over its local socket, so no \
                       password is needed.";

/// The optional `container_name` field.
fn container_name() -> Field {
    Field::new(
        "container_name",
        "string",
        "The database container, by name. \
         Left out: the container of the declaration whose `assertions=[...]` holds this assertion. Only this \
         project's containers can be checked.",
    )
    .example(json!("postgres-db"))
}

/// The optional `engine` field.
fn engine() -> Field {
    Field::new(
        "engine",
        "enum<postgresql|redis>",
        "The database the container runs: `postgresql` or `redis`. \
         Left out: recognised from the container's image name (`postgres`, `redis`) or its variables \
         (`POSTGRES_*`, `REDIS_*`). MySQL and MariaDB are not supported in this version.",
    )
    .example(json!("redis"))
}

/// The optional `database` field of the data assertions.
fn database() -> Field {
    Field::new(
        "database",
        "string",
        "The database to look in, e.g. `appdb`. Left out: the container's `POSTGRES_DB`, else `postgres`.",
    )
    .example(json!("appdb"))
}

fn table() -> Field {
    Field::new(
        "table",
        "string",
        "The table's name, e.g. `users`, or `schema.table` for a schema other than `public`, e.g. \
         `billing.invoices`. Names are matched as written, without case folding.",
    )
    .required()
    .example(json!("users"))
    .example(json!("billing.invoices"))
}

fn database_connection_assert() -> TypeDef {
    TypeDef::new(
        "DatabaseConnectionAssert",
        "Checks that a database accepts a login with the given credentials. \
         Runs the database's client inside the database container this assertion is attached to, connecting over \
         TCP to `host:port` as `username` with `password`: for PostgreSQL, `psql` runs `SELECT 1` in `database`; \
         for Redis, `redis-cli` sends `PING`. The PostgreSQL defaults match those of `DatabaseConnection`, so the \
         assertion proves that the credentials an application gets work. It passes when the query returns `1` \
         (or `PING` returns `PONG`); a refused login or a missing database fails with the database's message.",
    )
    .field(
        Field::new(
            "host",
            "string",
            "The host the client connects to, as seen from inside the database container. \
             `localhost` is the database itself, over TCP, so the password is really checked.",
        )
        .default(json!("localhost")),
    )
    .field(
        Field::new(
            "port",
            "int",
            "The port the database listens on inside the container (not the published port). \
             Left out: `5432` for PostgreSQL, `6379` for Redis.",
        )
        .example(json!(5432)),
    )
    .field(
        Field::new(
            "database",
            "string",
            "The database to connect to, e.g. `appdb`. \
             Left out: `postgres` for PostgreSQL; for Redis, a logical database's number (`-n`), left out `0`.",
        )
        .example(json!("appdb")),
    )
    .field(
        Field::new(
            "username",
            "string",
            "The user to log in as, e.g. `admin`. \
             Left out: `postgres` for PostgreSQL; Redis's `default` user.",
        )
        .example(json!("admin")),
    )
    .field(
        Field::new(
            "password",
            "string",
            "The user's password. \
             A secret: masked as `***` in every output and never sent to an AI. It reaches the client through the \
             `PGPASSWORD` or `REDISCLI_AUTH` variable of that one command, never on a command line. Left out: \
             `postgres` for PostgreSQL; no password for Redis.",
        )
        .secret(),
    )
    .field(engine())
    .field(container_name())
}

fn table_exists_assert() -> TypeDef {
    TypeDef::new(
        "TableExistsAssert",
        &format!(
            "Checks that a table exists in a PostgreSQL database. \
             Passes when `table` is a table or view in `database`, e.g. after a `DatabaseConnection` ran its schema \
             and migrations. {RUNS_AS}"
        ),
    )
    .field(table())
    .field(database())
    .field(container_name())
    .field(engine())
}

fn row_count_assert() -> TypeDef {
    TypeDef::new(
        "RowCountAssert",
        &format!(
            "Checks that a PostgreSQL table holds a number of rows within bounds. \
             Counts the rows of `table` and passes when the count is at least `min` and at most `max`; with \
             neither given, it passes when the table has at least one row. {RUNS_AS}"
        ),
    )
    .field(table())
    .field(
        Field::new("min", "int", "The fewest rows allowed, e.g. `1` for a table that must not be empty.")
            .example(json!(1)),
    )
    .field(Field::new("max", "int", "The most rows allowed, e.g. `0` for a table that must be empty.").example(json!(0)))
    .field(database())
    .field(container_name())
    .field(engine())
}

fn query_success_assert() -> TypeDef {
    TypeDef::new(
        "QuerySuccessAssert",
        &format!(
            "Checks that an SQL statement runs without error in a PostgreSQL database. \
             Passes when `psql` runs `sql_query` and exits successfully; any SQL error fails, with PostgreSQL's \
             message. The statement runs inside a read-only transaction that is rolled back, so it changes nothing: a \
             statement that writes (`INSERT`, `nextval`, `COPY … TO PROGRAM`) fails as PostgreSQL refuses it. \
             {RUNS_AS}"
        ),
    )
    .field(
        Field::new(
            "sql_query",
            "string",
            "The SQL to run, e.g. `SELECT 1 FROM users LIMIT 1`. \
             Several statements may be separated by `;`; the first error stops them. Statements that end or start \
             a transaction (`COMMIT`, `BEGIN`, …) and `psql` backslash commands are refused.",
        )
        .required()
        .example(json!("SELECT 1 FROM users LIMIT 1"))
        .example(json!("SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'")),
    )
    .field(database())
    .field(container_name())
    .field(engine())
}

export_assertion_plugin!(DatabaseAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::TypeSchema;

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <DatabaseAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <DatabaseAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "DatabaseConnectionAssert",
                "TableExistsAssert",
                "RowCountAssert",
                "QuerySuccessAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
        }
    }

    #[test]
    fn connection_assert_defaults_match_database_connection() {
        let schema = schema("DatabaseConnectionAssert");
        let default = |name: &str| schema.field(name).and_then(|f| f.default_value());
        assert_eq!(default("host"), Some(json!("localhost")));
        for engine_dependent in ["port", "database", "username", "password"] {
            assert_eq!(default(engine_dependent), None, "{engine_dependent}");
        }
        let login = commands::Login::from_config(commands::Engine::Postgresql, &json!({})).unwrap();
        assert_eq!(login.port, 5432);
        assert_eq!(login.database.as_deref(), Some("postgres"));
        assert_eq!(login.username.as_deref(), Some("postgres"));
        assert_eq!(login.password.as_deref(), Some("postgres"));
        assert!(
            schema
                .field("password")
                .is_some_and(|f| f.secret && !f.required)
        );
        for t in <DatabaseAssertions as AssertionPlugin>::types() {
            let s = t.def.schema();
            assert_eq!(
                s.field("engine").map(|f| f.value_type.as_str()),
                Some("enum<postgresql|redis>"),
                "{}",
                t.def.name()
            );
            assert!(s.field("container_name").is_some_and(|f| !f.required));
        }
    }

    #[test]
    fn data_assertions_have_their_fields() {
        assert!(
            schema("TableExistsAssert")
                .field("table")
                .is_some_and(|f| f.required)
        );
        assert!(
            schema("TableExistsAssert")
                .field("database")
                .is_some_and(|f| !f.required)
        );
        let rows = schema("RowCountAssert");
        assert!(rows.field("table").is_some_and(|f| f.required));
        for bound in ["min", "max"] {
            assert!(
                rows.field(bound)
                    .is_some_and(|f| !f.required && f.value_type == "int")
            );
        }
        assert!(
            schema("QuerySuccessAssert")
                .field("sql_query")
                .is_some_and(|f| f.required)
        );
    }
}
