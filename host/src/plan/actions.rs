//! The action vocabulary as people read it: a short name for progress
//! and the journal, and JSON for `plan --json`.

use serde_json::{Value as Json, json};

use crate::plugin::bindings::types::Action;

/// A short name for an action, for progress and the journal.
pub fn describe(action: &Action) -> String {
    let field = |s: &str, key: &str| {
        serde_json::from_str::<Json>(s)
            .ok()
            .and_then(|v| v[key].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    match action {
        Action::EnsureImage(s) => format!("ensure image {}", field(s, "image")),
        Action::EnsureContainer(_) => "ensure container".into(),
        Action::RemoveContainer(n) => format!("remove container {n}"),
        Action::EnsureNetwork(s) => format!("ensure network {}", field(s, "name")),
        Action::RemoveNetwork(n) => format!("remove network {n}"),
        Action::EnsureVolume(s) => format!("ensure volume {}", field(s, "name")),
        Action::RemoveVolume(n) => format!("remove volume {n}"),
        Action::WriteFile(s) => format!("write {}", field(s, "path")),
        Action::RemovePath(p) => format!("remove {p}"),
        Action::Exec(_) => "exec".into(),
        Action::Wait(_) => "wait".into(),
        Action::Ext((driver, op, _)) => format!("{driver} {op}"),
    }
}

/// An action as JSON: `{"action": "ensure-container", ...its payload}`,
/// for `plan --json` and the journal.
pub fn action_json(action: &Action) -> Json {
    let payload = |kind: &str, text: &str| {
        let mut v = json!({"action": kind});
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(fields)) => v
                .as_object_mut()
                .into_iter()
                .for_each(|o| o.extend(fields.clone())),
            Ok(other) => v["payload"] = other,
            Err(_) => v["payload"] = Json::String(text.to_string()),
        }
        v
    };
    match action {
        Action::EnsureImage(s) => payload("ensure-image", s),
        Action::EnsureContainer(s) => payload("ensure-container", s),
        Action::RemoveContainer(n) => json!({"action": "remove-container", "name": n}),
        Action::EnsureNetwork(s) => payload("ensure-network", s),
        Action::RemoveNetwork(n) => json!({"action": "remove-network", "name": n}),
        Action::EnsureVolume(s) => payload("ensure-volume", s),
        Action::RemoveVolume(n) => json!({"action": "remove-volume", "name": n}),
        Action::WriteFile(s) => payload("write-file", s),
        Action::RemovePath(p) => json!({"action": "remove-path", "path": p}),
        Action::Exec(s) => payload("exec", s),
        Action::Wait(s) => payload("wait", s),
        Action::Ext((driver, op, s)) => {
            let mut v = payload("ext", s);
            v["driver"] = Json::String(driver.clone());
            v["op"] = Json::String(op.clone());
            v
        }
    }
}
