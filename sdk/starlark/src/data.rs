//! Starlark values as JSON and back. Plain data (None, bools, numbers,
//! strings, and lists, tuples and string-keyed dicts of those) converts;
//! a value that stands for something else (a declaration of the host's)
//! converts by providing a [`Reference`]; anything else is not data.

use serde_json::{Map, Number, Value as Json};
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::StarlarkFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, UnpackValue, Value, ValueLike};

/// What a value that stands for something else provides
/// (`StarlarkValue::provide`): the JSON it becomes as data.
#[derive(starlark::any::ProvidesStaticType)]
pub struct Reference(pub Json);

/// Why a Starlark value is not data.
#[derive(Debug, Clone, PartialEq)]
pub struct NotData(pub String);

impl std::fmt::Display for NotData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotData {}

/// `value` as JSON.
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

/// `json` allocated on `heap`: objects become dicts, arrays lists.
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

/// `text`, cut to 40 characters for a message.
pub fn short(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(37).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use starlark::environment::{Globals, Module};
    use starlark::eval::Evaluator;
    use starlark::syntax::{AstModule, Dialect};

    /// `code` evaluated, its value as JSON and that JSON back as Starlark
    /// (shown as Starlark shows it).
    fn round_trip(code: &str) -> (Result<Json, NotData>, Option<String>) {
        Module::with_temp_heap(|module| {
            let ast = match AstModule::parse("t.star", code.to_string(), &Dialect::Standard) {
                Ok(ast) => ast,
                Err(e) => return (Err(NotData(e.to_string())), None),
            };
            let mut eval = Evaluator::new(&module);
            let value = match eval.eval_module(ast, &Globals::standard()) {
                Ok(value) => value,
                Err(e) => return (Err(NotData(e.to_string())), None),
            };
            let json = to_json(value);
            let back = json
                .as_ref()
                .ok()
                .map(|j| from_json(j, module.heap()).to_repr());
            (json, back)
        })
    }

    fn eval_json(code: &str) -> Result<Json, NotData> {
        round_trip(code).0
    }

    #[test]
    fn data_converts_and_back() {
        let (json, back) = round_trip(r#"{"a": [1, 2.5, None, True, ("x",)], "b": {}}"#);
        assert_eq!(
            json,
            Ok(serde_json::json!({"a": [1, 2.5, null, true, ["x"]], "b": {}}))
        );
        assert_eq!(
            back.as_deref(),
            Some(r#"{"a": [1, 2.5, None, True, ["x"]], "b": {}}"#)
        );
    }

    #[test]
    fn what_is_not_data_says_what_it_is() {
        assert_eq!(
            eval_json("{1: 2}").map_err(|e| e.0),
            Err("dict keys must be strings, got int `1`".into())
        );
        let refused = eval_json("def f():\n    pass\nf").map_err(|e| e.0);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.starts_with("a function (`")
                    && e.ends_with("cannot be used as a value here")),
            "{refused:?}"
        );
    }
}
