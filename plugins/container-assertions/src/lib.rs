//! Container assertions: `ContainerRunningAssert`, `ContainerHealthyAssert`
//! and `LogContainsAssert`.
//!
//! All three read the project's containers through the host's read-only
//! `docker` interface (inspect and logs). This crate only describes the
//! types for now; `check` comes later.

use clockwork_sdk::prelude::*;

/// The `container-assertions` plugin.
pub struct ContainerAssertions;

impl AssertionPlugin for ContainerAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("container checks: running, healthy, log lines")
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(container_running_assert(), 5),
            AssertionType::with_timeout(container_healthy_assert(), 60),
            AssertionType::new(log_contains_assert()),
        ]
    }
}

fn container_name() -> Field {
    Field::new(
        "container_name",
        "string",
        "The container to check, by name. \
         Left out: the container of the declaration whose `assertions=[...]` holds this assertion. Only this \
         project's containers can be checked.",
    )
    .example(json!("postgres-db"))
}

fn container_running_assert() -> TypeDef {
    TypeDef::new(
        "ContainerRunningAssert",
        "Checks that a container of this project exists and is running. \
         Passes when Docker reports the container's state as running; a container that is restarting, paused, \
         exited or missing fails, and the message says which.",
    )
    .field(container_name())
}

fn container_healthy_assert() -> TypeDef {
    TypeDef::new(
        "ContainerHealthyAssert",
        "Checks that a container's healthcheck reports it healthy. \
         Passes when Docker's health status for the container is `healthy`. While it is `starting`, \
         `clockwork assert` keeps retrying until `timeout_seconds` (60 by default) have passed. A container \
         without a healthcheck fails with a message saying so: give its `DockerResource` a `healthcheck`, or use \
         `ContainerRunningAssert`.",
    )
    .field(container_name())
}

fn log_contains_assert() -> TypeDef {
    TypeDef::new(
        "LogContainsAssert",
        "Checks that a container's recent log output contains a line matching a pattern. \
         Reads the last `tail` lines of the container's combined standard output and error, and passes when \
         `pattern` matches within one of them. Useful for services that say when they are ready, e.g. PostgreSQL's \
         `database system is ready to accept connections`.",
    )
    .field(
        Field::new(
            "pattern",
            "string",
            "A regular expression searched for in each log line, e.g. `ready to accept connections` or \
             `listening on .*:8000`. \
             The syntax is Rust's `regex` crate (like Perl's, without look-around or back-references); the match \
             may be anywhere in the line, and `(?i)` at the start ignores case.",
        )
        .required()
        .example(json!("ready to accept connections"))
        .example(json!("(?i)listening on .*:8000")),
    )
    .field(container_name())
    .field(
        Field::new(
            "tail",
            "int",
            "How many of the most recent log lines to search. Larger values find older lines but read more.",
        )
        .default(json!(200))
        .example(json!(1000)),
    )
}

export_assertion_plugin!(ContainerAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::TypeSchema;

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <ContainerAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <ContainerAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "ContainerRunningAssert",
                "ContainerHealthyAssert",
                "LogContainsAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
            let name = t.def.schema().field("container_name");
            assert!(
                name.is_some_and(|f| !f.required && f.default.is_none()),
                "{}: optional `container_name`",
                t.def.name()
            );
        }
    }

    #[test]
    fn fields_match_the_contract() {
        let running = schema("ContainerRunningAssert");
        assert_eq!(
            running
                .field("timeout_seconds")
                .and_then(|f| f.default_value()),
            Some(json!(5))
        );
        let logs = schema("LogContainsAssert");
        assert!(logs.field("pattern").is_some_and(|f| f.required));
        assert_eq!(
            logs.field("tail").and_then(|f| f.default_value()),
            Some(json!(200))
        );
    }
}
