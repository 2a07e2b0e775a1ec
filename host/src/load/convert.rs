//! Starlark values to JSON and back, and checking a value against a
//! field's type.
//!
//! References to declarations become `{"$ref": <id>, "$kind": …, "$type": …}`
//! while checking; the collect step rewrites them to `{"$ref": "<name>"}`.

use clockwork_schema::ValueType;
use serde_json::Value as Json;
use starlark::values::Value;

use crate::model::PluginKind;

pub use clockwork_starlark::data::{Reference, from_json, to_json};

/// Checks `value` against a field's type; the error says what was expected
/// and what was found, with the position inside the value when nested. The
/// value itself is left out of the message when the field is `secret` or
/// the position is under a secret-looking name (`env_vars["DB_PASSWORD"]`).
pub fn check(field: &str, ty: &ValueType, value: Value, secret: bool) -> Result<Json, String> {
    let json = to_json(value).map_err(|e| format!("field `{field}`: {e}"))?;
    if let Err(mismatch) = ty.check(&json) {
        let hidden = secret
            || crate::secret::is_secret_name(field)
            || crate::model::FieldPath::from_pointer(&mismatch.path)
                .segments()
                .iter()
                .any(|s| crate::secret::is_secret_name(s));
        let got = if hidden {
            // "an integer (123)" → "an integer"
            mismatch
                .got
                .split(" (")
                .next()
                .unwrap_or(&mismatch.got)
                .to_string()
        } else {
            // What is shown of the value has what sits under a secret-looking
            // key inside it masked (`{"DB_PASSWORD": "***"}`): the project's
            // secrets are not known yet while it is evaluated.
            let masked = crate::output::file_masker().json(None, &json);
            masked
                .pointer(&mismatch.path)
                .map(clockwork_schema::describe_value)
                .unwrap_or_else(|| mismatch.got.clone())
        };
        return Err(if mismatch.path.is_empty() {
            format!("field `{field}` expects {}, got {got}", ty.describe())
        } else {
            format!(
                "field `{field}{}` expects {}, got {got}",
                crate::model::FieldPath::from_pointer(&mismatch.path).as_index(),
                mismatch.expected,
            )
        });
    }
    check_references(field, ty, &json, "")?;
    // Plugins receive one form of each value (a mount written as a string
    // arrives as an object).
    Ok(ty.normalize(&json))
}

/// Checks that references point at the right kind (and type) of declaration.
fn check_references(field: &str, ty: &ValueType, json: &Json, path: &str) -> Result<(), String> {
    match (ty, json) {
        (ValueType::List(inner), Json::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_references(field, inner, item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (ValueType::Map(inner), Json::Object(entries)) => {
            for (key, item) in entries {
                check_references(field, inner, item, &format!("{path}[\"{key}\"]"))?;
            }
            Ok(())
        }
        (
            ValueType::Resource(_) | ValueType::Connection | ValueType::Assertion,
            Json::Object(o),
        ) => {
            let kind = o.get("$kind").and_then(Json::as_str).unwrap_or("");
            let type_name = o.get("$type").and_then(Json::as_str).unwrap_or("");
            let ok = match ty {
                ValueType::Resource(types) => {
                    kind == "resource" && (types.is_empty() || types.iter().any(|t| t == type_name))
                }
                ValueType::Connection => kind == "connection" || kind == "resource",
                _ => kind == "assertion",
            };
            if ok {
                Ok(())
            } else {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" at `{path}`")
                };
                Err(format!(
                    "field `{field}` expects {}, got a {type_name}{at}",
                    ty.describe()
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The reference object for a declaration while checking.
pub fn reference(id: u32, kind: PluginKind, type_name: &str) -> Json {
    serde_json::json!({"$ref": id, "$kind": kind.to_string(), "$type": type_name})
}
