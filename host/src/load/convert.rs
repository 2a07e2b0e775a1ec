//! Starlark values to JSON and back, and checking a value against a
//! field's type.
//!
//! References to declarations become `{"$ref": <id>, "$kind": …, "$type": …}`
//! while checking; the collect step rewrites them to `{"$ref": "<name>"}`.

use clockwork_schema::ValueType;
use serde_json::{Map, Number, Value as Json};
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::StarlarkFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, UnpackValue, Value, ValueLike};

use crate::model::PluginKind;

/// What a value that stands for a declaration provides
/// ([`starlark::values::StarlarkValue::provide`]): the reference it becomes
/// as data.
#[derive(starlark::any::ProvidesStaticType)]
pub struct Reference(pub Json);

/// Why a Starlark value cannot be used as data.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotData(pub String);

/// Converts a Starlark value into JSON. Declarations become reference
/// objects; functions and other non-data values are refused.
pub fn to_json(value: Value) -> Result<Json, NotData> {
    if value.is_none() {
        return Ok(Json::Null);
    }
    if let Some(b) = value.unpack_bool() {
        return Ok(Json::Bool(b));
    }
    if let Some(s) = value.unpack_str() {
        return Ok(Json::String(s.to_string()));
    }
    if let Ok(Some(i)) = i64::unpack_value(value) {
        return Ok(Json::Number(i.into()));
    }
    if let Some(f) = value.downcast_ref::<StarlarkFloat>() {
        return Number::from_f64(f.0)
            .map(Json::Number)
            .ok_or_else(|| NotData(format!("{} is not a finite number", f.0)));
    }
    if let Some(list) = ListRef::from_value(value) {
        return list
            .iter()
            .map(to_json)
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array);
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return tuple
            .iter()
            .map(to_json)
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array);
    }
    if let Some(dict) = DictRef::from_value(value) {
        let mut object = Map::new();
        for (key, item) in dict.iter() {
            let Some(key) = key.unpack_str() else {
                return Err(NotData(format!(
                    "dict keys must be strings, got {} `{}`",
                    key.get_type(),
                    key
                )));
            };
            object.insert(key.to_string(), to_json(item)?);
        }
        return Ok(Json::Object(object));
    }
    if let Some(Reference(reference)) = value.request_value::<Reference>() {
        return Ok(reference);
    }
    Err(NotData(format!(
        "a {} (`{}`) cannot be used as a value here",
        value.get_type(),
        short(&value.to_repr())
    )))
}

/// Allocates a JSON value on the Starlark heap (used for defaults).
pub fn from_json<'v>(json: &Json, heap: Heap<'v>) -> Value<'v> {
    match json {
        Json::Null => heap.alloc(NoneType),
        Json::Bool(b) => heap.alloc(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => heap.alloc(i),
            (None, Some(f)) => heap.alloc(f),
            (None, None) => heap.alloc(NoneType),
        },
        Json::String(s) => heap.alloc(s.as_str()),
        Json::Array(items) => heap.alloc(AllocList(items.iter().map(|i| from_json(i, heap)))),
        Json::Object(entries) => heap.alloc(AllocDict(
            entries
                .iter()
                .map(|(k, v)| (k.as_str(), from_json(v, heap))),
        )),
    }
}

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

fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(37).collect::<String>())
    } else {
        text.to_string()
    }
}
