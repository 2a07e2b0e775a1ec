//! JSON to Starlark values and back.

use clockwork_sdk::serde_json::{Map, Number, Value as Json};
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::StarlarkFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, UnpackValue, Value, ValueLike};

/// Allocates `json` on `heap`: objects become dicts, arrays lists.
pub fn to_starlark<'v>(json: &Json, heap: Heap<'v>) -> Value<'v> {
    match json {
        Json::Null => heap.alloc(NoneType),
        Json::Bool(b) => heap.alloc(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => heap.alloc(i),
            (None, Some(f)) => heap.alloc(f),
            (None, None) => heap.alloc(NoneType),
        },
        Json::String(s) => heap.alloc(s.as_str()),
        Json::Array(items) => heap.alloc(AllocList(items.iter().map(|i| to_starlark(i, heap)))),
        Json::Object(entries) => heap.alloc(AllocDict(
            entries
                .iter()
                .map(|(k, v)| (k.as_str(), to_starlark(v, heap))),
        )),
    }
}

/// `value` as JSON, when it is plain data (None, bools, numbers, strings,
/// and lists, tuples and string-keyed dicts of those).
pub fn from_starlark(value: Value) -> Result<Json, String> {
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
            .ok_or_else(|| format!("{} is not a finite number", f.0));
    }
    if let Some(list) = ListRef::from_value(value) {
        return list
            .iter()
            .map(from_starlark)
            .collect::<Result<_, _>>()
            .map(Json::Array);
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return tuple
            .iter()
            .map(from_starlark)
            .collect::<Result<_, _>>()
            .map(Json::Array);
    }
    if let Some(dict) = DictRef::from_value(value) {
        let mut object = Map::new();
        for (key, item) in dict.iter() {
            let key = key
                .unpack_str()
                .map(str::to_string)
                .ok_or_else(|| format!("dict keys must be strings, got {}", key.get_type()))?;
            object.insert(key, from_starlark(item)?);
        }
        return Ok(Json::Object(object));
    }
    Err(format!("a {} is not data", value.get_type()))
}
