//! What a user's check function may look at: a read-only view of each
//! resource (its resolved fields with secrets masked, the secrets apart,
//! its container), added to the program of every `function` field.

use serde_json::{Map, Value as Json, json};

use crate::model::PluginKind;
use crate::resolve::Graph;
use crate::state::State;

/// The views of every resource of `graph`, by name, without secrets:
/// [`with_views`] adds those of the resources a check is about.
pub fn views(graph: &Graph, state: &State) -> Json {
    let masker = crate::output::secrets_masker();
    let mut out = Map::new();
    for d in graph.project.of_kind(PluginKind::Resource) {
        let raw = graph
            .specs
            .get(&d.id)
            .map(|s| s.fields.clone())
            .unwrap_or_else(|| d.config.clone());
        let raw = Json::Object(raw);
        let masked = masker.json(None, &raw);
        let mut secrets = Map::new();
        secrets_of(&raw, &masked, None, &mut secrets);
        let secrets = Json::Object(secrets);
        let recorded = state.resources.get(d.name.as_str());
        let container = recorded
            .and_then(|r| r.containers.first().map(|c| c.name.clone()))
            .or_else(|| {
                recorded.and_then(|r| {
                    r.state
                        .get("container")
                        .and_then(Json::as_str)
                        .map(str::to_string)
                })
            });
        out.insert(
            d.name.to_string(),
            json!({
                "name": d.name,
                "type": d.type_name,
                "kind": "resource",
                "fields": masked,
                // Taken out again below for resources a check is not about.
                "secrets": secrets,
                "container": container,
                "deployed": recorded.is_some(),
            }),
        );
    }
    Json::Object(out)
}

/// Every leaf the masker changed, by its nearest key: a check asks for
/// `resource.secret("POSTGRES_PASSWORD")`, not for a path.
fn secrets_of(raw: &Json, masked: &Json, key: Option<&str>, out: &mut Map<String, Json>) {
    match (raw, masked) {
        (Json::Object(r), Json::Object(m)) => {
            for (k, v) in r {
                if let Some(mv) = m.get(k) {
                    secrets_of(v, mv, Some(k), out);
                }
            }
        }
        (Json::Array(r), Json::Array(m)) => {
            for (v, mv) in r.iter().zip(m) {
                secrets_of(v, mv, key, out);
            }
        }
        (r, m) if r != m => {
            if let Some(key) = key {
                out.insert(key.to_string(), r.clone());
            }
        }
        _ => {}
    }
}

/// `config` with the views added to each of its programs. A view keeps its
/// secrets only when `secrets` is true (the bundled interpreter, which
/// hands one out only when the check asks for it by name) and the check is
/// about that resource: `about` (the declaration it belongs to) or one its
/// config names (`target`, `allow = [db]`). Every other view has none.
pub fn with_views(mut config: Json, views: &Json, about: Option<&str>, secrets: bool) -> Json {
    let mut named: Vec<String> = about.map(str::to_string).into_iter().collect();
    if let Some(fields) = config.as_object() {
        for value in fields.values() {
            references(value, &mut named);
        }
    }
    let mut views = views.clone();
    if let Some(views) = views.as_object_mut() {
        for (name, view) in views.iter_mut() {
            if !(secrets && named.contains(name))
                && let Some(view) = view.as_object_mut()
            {
                view.insert("secrets".into(), json!({}));
            }
        }
    }
    if let Some(fields) = config.as_object_mut() {
        for value in fields.values_mut() {
            if let Some(program) = value.as_object_mut()
                && program.contains_key("$function")
            {
                program.insert("resources".into(), views.clone());
            }
        }
    }
    config
}

/// The names of the declarations a config refers to (`{"$ref": name}`),
/// outside its programs.
fn references(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(o) if o.contains_key("$function") => {}
        Json::Object(o) => match o.get("$ref").and_then(Json::as_str) {
            Some(name) => out.push(name.to_string()),
            None => o.values().for_each(|v| references(v, out)),
        },
        Json::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Whether `config` holds a program.
pub fn has_program(config: &Json) -> bool {
    config
        .as_object()
        .is_some_and(|o| o.values().any(|v| v.get("$function").is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_the_leaves_the_masker_changed() {
        let raw = json!({"env_vars": {"POSTGRES_PASSWORD": "pw", "MODE": "x"}, "ports": ["1:1"]});
        let masked =
            json!({"env_vars": {"POSTGRES_PASSWORD": "***", "MODE": "x"}, "ports": ["1:1"]});
        let mut out = Map::new();
        secrets_of(&raw, &masked, None, &mut out);
        assert_eq!(Json::Object(out), json!({"POSTGRES_PASSWORD": "pw"}));
    }

    #[test]
    fn secrets_go_only_to_the_interpreter_and_only_of_what_the_check_is_about() {
        let views = json!({
            "web": {"secrets": {"A": "1"}},
            "db": {"secrets": {"B": "2"}},
            "other": {"secrets": {"C": "3"}},
        });
        let config = json!({"fn": {"$function": "f"}, "allow": [{"$ref": "db"}]});
        let out = with_views(config.clone(), &views, Some("web"), true);
        let resources = &out["fn"]["resources"];
        assert_eq!(resources["web"]["secrets"], json!({"A": "1"}));
        assert_eq!(resources["db"]["secrets"], json!({"B": "2"}));
        assert_eq!(resources["other"]["secrets"], json!({}));
        let third_party = with_views(config, &views, Some("web"), false);
        for name in ["web", "db", "other"] {
            assert_eq!(third_party["fn"]["resources"][name]["secrets"], json!({}));
        }
    }

    #[test]
    fn views_go_into_programs_only() {
        let config = json!({"fn": {"$function": "f"}, "description": "d"});
        let out = with_views(config, &json!({"web": {}}), None, true);
        assert_eq!(out["fn"]["resources"], json!({"web": {"secrets": {}}}));
        assert_eq!(out["description"], json!("d"));
        assert!(has_program(&out));
        assert!(!has_program(&json!({"url": "x"})));
    }
}
