//! The default `validate`: fill defaults, check required fields. Plugins
//! that check more call [`with_defaults`] first.
//!
//! The host has already type-checked every field the user wrote against the
//! schema, so this only adds what the schema implies.

use clockwork_schema::TypeSchema;
use serde_json::{Map, Value};

use crate::{Diagnostic, error_at};

/// [`with_defaults`], then `check` on the result: the usual `validate` of a
/// plugin that checks more than the schema says. Every problem `check`
/// finds is reported.
pub fn with_checks(
    schema: Option<&TypeSchema>,
    type_name: &str,
    config: &str,
    check: impl FnOnce(&Value) -> Vec<Diagnostic>,
) -> Result<String, Vec<Diagnostic>> {
    let normalised = with_defaults(schema, type_name, config)?;
    let value: Value =
        serde_json::from_str(&normalised).map_err(|e| vec![error_at(None, e.to_string())])?;
    let problems = check(&value);
    if problems.is_empty() {
        Ok(normalised)
    } else {
        Err(problems)
    }
}

/// Parses `config` as a JSON object and applies `schema`'s defaults; reports
/// missing required fields and unknown types.
pub fn with_defaults(
    schema: Option<&TypeSchema>,
    type_name: &str,
    config: &str,
) -> Result<String, Vec<Diagnostic>> {
    let Some(schema) = schema else {
        return Err(vec![error_at(
            None,
            format!("this plugin has no type `{type_name}`"),
        )]);
    };
    let mut object: Map<String, Value> = match serde_json::from_str(config) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return Err(vec![error_at(
                None,
                format!("config must be a JSON object, got {other}"),
            )]);
        }
        Err(e) => {
            return Err(vec![error_at(
                None,
                format!("config is not valid JSON: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    for field in &schema.fields {
        if object.contains_key(&field.name) {
            continue;
        }
        if field.required {
            problems.push(error_at(
                None,
                format!("missing required field `{}`", field.name),
            ));
        } else if let Some(default) = field.default_value() {
            object.insert(field.name.clone(), default);
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(object).to_string())
    } else {
        Err(problems)
    }
}
