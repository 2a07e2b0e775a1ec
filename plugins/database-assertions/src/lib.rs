//! PostgreSQL assertions: `DatabaseConnectionAssert`, `TableExistsAssert`,
//! `RowCountAssert` and `QuerySuccessAssert`.
//!
//! Each runs `psql` inside the database container it is attached to, through
//! the host's `exec` interface, so nothing needs a PostgreSQL client on this
//! machine or a published port. This crate only describes the types for now;
//! `check` comes later.

use clockwork_sdk::prelude::*;

/// The `database-assertions` plugin.
pub struct DatabaseAssertions;

impl AssertionPlugin for DatabaseAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("PostgreSQL checks run with `psql` inside the database container")
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::new(database_connection_assert()),
            AssertionType::new(table_exists_assert()),
            AssertionType::new(row_count_assert()),
            AssertionType::new(query_success_assert()),
        ]
    }
}

/// How the three data assertions pick the database and user; appended to
/// their docs so that each says it in the same words.
const RUNS_AS: &str = "The query runs with `psql` inside the database container this assertion is attached to, as \
                       the container's `POSTGRES_USER` (else `postgres`) over its local socket, so no password is \
                       needed.";

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
        "Checks that a PostgreSQL database accepts a login with the given credentials. \
         Runs `psql` inside the database container this assertion is attached to, connecting over TCP to \
         `host:port` as `username` with `password`, and runs `SELECT 1` in `database`. The defaults match those of \
         `DatabaseConnection`, so the assertion proves that the credentials an application gets work. It passes \
         when the query succeeds; a refused login or a missing database fails with PostgreSQL's message.",
    )
    .field(
        Field::new(
            "host",
            "string",
            "The host `psql` connects to, as seen from inside the database container. \
             `localhost` is the database itself.",
        )
        .default(json!("localhost")),
    )
    .field(
        Field::new(
            "port",
            "int",
            "The port PostgreSQL listens on inside the container, normally `5432` (not the published port).",
        )
        .default(json!(5432)),
    )
    .field(
        Field::new("database", "string", "The database to connect to, e.g. `appdb`.")
            .default(json!("postgres"))
            .example(json!("appdb")),
    )
    .field(
        Field::new("username", "string", "The user to log in as, e.g. `admin`.")
            .default(json!("postgres"))
            .example(json!("admin")),
    )
    .field(
        Field::new(
            "password",
            "string",
            "The user's password. \
             A secret: masked as `***` in every output and never sent to an AI. It reaches `psql` through the \
             `PGPASSWORD` variable of that one command, never on a command line.",
        )
        .default(json!("postgres"))
        .secret(),
    )
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
}

fn query_success_assert() -> TypeDef {
    TypeDef::new(
        "QuerySuccessAssert",
        &format!(
            "Checks that an SQL statement runs without error in a PostgreSQL database. \
             Passes when `psql` runs `sql_query` and exits successfully; any SQL error fails, with PostgreSQL's \
             message. The statement runs inside a transaction that is rolled back, so it changes nothing. \
             {RUNS_AS}"
        ),
    )
    .field(
        Field::new(
            "sql_query",
            "string",
            "The SQL to run, e.g. `SELECT 1 FROM users LIMIT 1`. \
             Several statements may be separated by `;`; the first error stops them.",
        )
        .required()
        .example(json!("SELECT 1 FROM users LIMIT 1"))
        .example(json!("SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'")),
    )
    .field(database())
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
        assert_eq!(default("port"), Some(json!(5432)));
        assert_eq!(default("database"), Some(json!("postgres")));
        assert_eq!(default("username"), Some(json!("postgres")));
        assert!(
            schema
                .field("password")
                .is_some_and(|f| f.secret && !f.required)
        );
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
