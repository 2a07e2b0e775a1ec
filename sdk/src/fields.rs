//! Fields that many types share, with the same names and docs everywhere.

use serde_json::json;

use crate::schema::Field;

/// `name`: the declaration's name, unique in the project. Derived from the
/// Starlark variable when left out.
pub fn name() -> Field {
    Field::new(
        "name",
        "string",
        "Name of the declaration, unique in the project. When left out it is derived from the variable the declaration is bound to (`api_server` → `api-server`).",
    )
    .forces_replace()
}

/// `name` of an assertion: how reports call it.
pub fn assertion_name() -> Field {
    Field::new(
        "name",
        "string",
        "How reports call this check, unique among the project's assertions, e.g. `api-answers`. Left out: the \
         declaration it is attached to and its type (`api-server-healthcheck`), numbered from the second.",
    )
}

/// `description`: free text for humans and for AI completion.
pub fn description() -> Field {
    Field::new(
        "description",
        "string",
        "What this is for, in plain words. Shown in plans; the context AI completion uses to fill missing fields.",
    )
}

/// `assertions`: checks run by `clockwork assert`.
pub fn assertions() -> Field {
    Field::new(
        "assertions",
        "list<assertion>",
        "Checks run by `clockwork assert` against this declaration.",
    )
    .default(json!([]))
}

/// `connections`: edges to other declarations; a bare resource means a
/// `DependencyConnection`.
pub fn connections() -> Field {
    Field::new(
        "connections",
        "list<connection>",
        "Connections to other declarations. A bare resource means a `DependencyConnection` to it; the same as calling `.connect(...)`.",
    )
    .default(json!([]))
}

/// `to_resource`: a connection's target.
pub fn to_resource() -> Field {
    Field::new(
        "to_resource",
        "resource",
        "The declaration this connection goes to. Set by `.connect(...)` when the connection is passed to it; required otherwise.",
    )
}

/// `timeout_seconds`: how long the host retries an assertion.
pub fn timeout_seconds(default: u32) -> Field {
    Field::new(
        "timeout_seconds",
        "int",
        "How long `clockwork assert` keeps retrying a failing check before reporting it, in seconds.",
    )
    .default(json!(default))
}
