//! JSON to Starlark values and back: the host's own conversion
//! (`clockwork_starlark::data`), so a value means the same in a check as in
//! `main.star`.

use clockwork_sdk::serde_json::Value as Json;
use starlark::values::{Heap, Value};

/// Allocates `json` on `heap`: objects become dicts, arrays lists.
pub fn to_starlark<'v>(json: &Json, heap: Heap<'v>) -> Value<'v> {
    clockwork_starlark::data::from_json(json, heap)
}

/// `value` as JSON, when it is plain data (None, bools, numbers, strings,
/// and lists, tuples and string-keyed dicts of those).
pub fn from_starlark(value: Value) -> Result<Json, String> {
    clockwork_starlark::data::to_json(value).map_err(|e| e.0)
}
