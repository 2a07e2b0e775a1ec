//! Environment assertions: `SecretsPresentAssert`.
//!
//! It reads a container's configured environment (`Config.Env` of the
//! host's read-only `docker.inspect-container`) and never reports a value:
//! messages and details name the variables that are missing or empty, and
//! nothing else.

use clockwork_sdk::host::docker;
use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

/// The `environment-assertions` plugin.
pub struct EnvironmentAssertions;

impl AssertionPlugin for EnvironmentAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("container environment checks: required variables are set")
    }

    fn types() -> Vec<AssertionType> {
        vec![AssertionType::with_timeout(secrets_present_assert(), 5).not_retryable()]
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config = config_of(&input)?;
        let wanted = wanted_names(&config)?;
        let name = target_container(&input, &config).ok_or_else(|| {
            PluginError::Failed(
                "no container to check: attach the assertion to a container's declaration".into(),
            )
        })?;
        let inspect = match docker::inspect_container(&name) {
            Ok(Some(text)) => Some(serde_json::from_str::<Value>(&text).map_err(|e| {
                PluginError::Failed(format!("the host's inspect of `{name}` is not JSON: {e}"))
            })?),
            Ok(None) | Err(HostError::NotFound(_)) => None,
            Err(HostError::Denied(text)) => return Err(PluginError::Denied(text)),
            Err(HostError::TimedOut(text)) => {
                return Err(PluginError::Transient(format!(
                    "docker did not answer in time: {text}"
                )));
            }
            Err(
                HostError::InvalidArgument(text)
                | HostError::TooLarge(text)
                | HostError::Failed(text),
            ) => return Err(PluginError::Failed(text)),
        };
        Ok(judge(&name, &wanted, inspect.as_ref()))
    }
}

/// The names in `env_vars`.
fn wanted_names(config: &Value) -> Result<Vec<&str>, PluginError> {
    let refused = || PluginError::Failed("`env_vars` must be a list of strings".into());
    config
        .get("env_vars")
        .and_then(Value::as_array)
        .ok_or_else(refused)?
        .iter()
        .map(|v| v.as_str().ok_or_else(refused))
        .collect()
}

/// Whether each of `wanted` is set in `env` (Docker's `["K=V", ...]`):
/// returns the names that are missing and those that are empty. A bare
/// `K` without `=` counts as empty. Values are looked at, never returned.
fn sort_names<'a>(wanted: &[&'a str], env: &[Value]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut missing = Vec::new();
    let mut empty = Vec::new();
    for &name in wanted {
        let value =
            env.iter()
                .filter_map(Value::as_str)
                .find_map(|entry| match entry.split_once('=') {
                    Some((key, value)) if key == name => Some(value),
                    None if entry == name => Some(""),
                    _ => None,
                });
        match value {
            None => missing.push(name),
            Some("") => empty.push(name),
            Some(_) => {}
        }
    }
    (missing, empty)
}

fn ticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The outcome for container `name`'s inspect JSON (`None`: no container).
fn judge(name: &str, wanted: &[&str], inspect: Option<&Value>) -> Outcome {
    let expected = if wanted.is_empty() {
        "no variables to check".to_string()
    } else {
        format!("{} set and non-empty", ticked(wanted))
    };
    let Some(inspect) = inspect else {
        return Outcome::fail(
            format!("there is no container `{name}`"),
            format!("a container `{name}` with {expected}"),
            format!("no container named `{name}`"),
        );
    };
    let env = inspect["Config"]["Env"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (missing, empty) = sort_names(wanted, env);
    let details =
        json!({ "container": name, "checked": wanted, "missing": missing, "empty": empty });
    if missing.is_empty() && empty.is_empty() {
        return Outcome::pass(format!(
            "container `{name}` has all {} variables set: {}",
            wanted.len(),
            ticked(wanted)
        ))
        .with_details(details);
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", ticked(&missing)));
    }
    if !empty.is_empty() {
        parts.push(format!("empty {}", ticked(&empty)));
    }
    let actual = parts.join("; ");
    Outcome::fail(format!("container `{name}`: {actual}"), expected, actual).with_details(details)
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

    fn inspect() -> Value {
        json!({ "Config": { "Env": [
            "DATABASE_URL=postgresql://app:hunter2@db:5432/app",
            "API_KEY=",
            "DEBUG",
            "PATH=/usr/bin",
        ] } })
    }

    #[test]
    fn all_set_passes() {
        let outcome = judge("api", &["DATABASE_URL", "PATH"], Some(&inspect()));
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "container `api` has all 2 variables set: `DATABASE_URL`, `PATH`"
        );
        assert!(!outcome.details.contains("hunter2"));
    }

    #[test]
    fn missing_and_empty_names_fail_without_values() {
        let outcome = judge(
            "api",
            &["DATABASE_URL", "API_KEY", "DEBUG", "SECRET_KEY"],
            Some(&inspect()),
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("`DATABASE_URL`, `API_KEY`, `DEBUG`, `SECRET_KEY` set and non-empty")
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some("missing `SECRET_KEY`; empty `API_KEY`, `DEBUG`")
        );
        assert_eq!(
            outcome.message,
            "container `api`: missing `SECRET_KEY`; empty `API_KEY`, `DEBUG`"
        );
        let everything = format!(
            "{} {:?} {:?} {}",
            outcome.message, outcome.expected, outcome.actual, outcome.details
        );
        assert!(!everything.contains("hunter2") && !everything.contains("postgresql"));
        let details: Value = serde_json::from_str(&outcome.details).unwrap();
        assert_eq!(details["missing"], json!(["SECRET_KEY"]));
    }

    #[test]
    fn names_are_case_sensitive_and_prefixes_do_not_count() {
        let outcome = judge("api", &["database_url", "DATABASE"], Some(&inspect()));
        assert_eq!(
            outcome.actual.as_deref(),
            Some("missing `database_url`, `DATABASE`")
        );
    }

    #[test]
    fn a_missing_container_fails() {
        let outcome = judge("api", &["API_KEY"], None);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(outcome.actual.as_deref(), Some("no container named `api`"));
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a container `api` with `API_KEY` set and non-empty")
        );
    }

    #[test]
    fn env_vars_must_be_strings() {
        assert!(wanted_names(&json!({"env_vars": ["A", "B"]})).is_ok_and(|n| n == ["A", "B"]));
        assert!(wanted_names(&json!({"env_vars": ["A", 1]})).is_err());
        assert!(wanted_names(&json!({})).is_err());
    }
}
