//! Environment assertions: `SecretsPresentAssert`.
//!
//! It reads a container's configured environment through the host's
//! read-only `docker` interface (inspect) and never reports a value. This
//! crate only describes the type for now; `check` comes later.

use clockwork_sdk::prelude::*;

/// The `environment-assertions` plugin.
pub struct EnvironmentAssertions;

impl AssertionPlugin for EnvironmentAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("container environment checks: required variables are set")
    }

    fn types() -> Vec<AssertionType> {
        vec![AssertionType::with_timeout(secrets_present_assert(), 5).not_retryable()]
    }
}

fn secrets_present_assert() -> TypeDef {
    TypeDef::new(
        "SecretsPresentAssert",
        "Checks that environment variables a container needs are set and not empty. \
         Reads the environment the container of the declaration holding this assertion was created with \
         (`env_vars` plus what connections added, such as `DATABASE_URL`), and passes when every name in \
         `env_vars` is present with a non-empty value. Only names are reported, never values. A container's \
         environment is fixed when it is created, so a failure is reported at once.",
    )
    .field(
        Field::new(
            "env_vars",
            "list<string>",
            "Names of the variables that must be set and non-empty, e.g. `[\"DATABASE_URL\", \"API_KEY\"]`. \
             Names are case-sensitive.",
        )
        .required()
        .example(json!(["DATABASE_URL", "API_KEY"])),
    )
}

export_assertion_plugin!(EnvironmentAssertions);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_no_problems() {
        let types = <EnvironmentAssertions as AssertionPlugin>::types();
        assert_eq!(types.len(), 1);
        let def = &types[0].def;
        assert_eq!(def.name(), "SecretsPresentAssert");
        assert_eq!(def.schema().problems(), vec![]);
        for name in ["description", "timeout_seconds"] {
            assert!(def.schema().field(name).is_some(), "missing `{name}`");
        }
    }

    #[test]
    fn env_vars_is_a_required_list_of_names() {
        let types = <EnvironmentAssertions as AssertionPlugin>::types();
        let field = types[0].def.schema().field("env_vars").cloned();
        assert!(field.is_some_and(|f| f.required && f.value_type == "list<string>"));
    }
}
