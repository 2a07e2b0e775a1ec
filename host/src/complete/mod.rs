//! [`Graph`] → specs ready to plan: every field the user left out is filled
//! here, after the connections have contributed. Deterministic rules come
//! first (each resource plugin's `complete-rules`), then — in a later
//! version — a model; defaults last, and only where nothing else filled the
//! field, so `plan` can tell every value's source.
//!
//! What the user wrote always wins: a suggestion is applied only to a
//! completable field still missing, only when its value has the field's
//! type, and is recorded as `completion (rules:<plugin>: why)`.

use serde_json::Value as Json;

use crate::model::DeclId;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::CompletionInput;
use crate::plugin::bindings::types::{PluginError, ResourceRef};
use crate::plugin::{CallError, PluginKind, PluginSet};
use crate::resolve::{Graph, Provenance};

/// Applies every resource plugin's rules to the fields its declarations
/// left out. A plugin without rules suggests nothing; one that fails is an
/// error naming it.
pub async fn rules(graph: &mut Graph, plugins: &PluginSet) -> Result<(), CallError> {
    let ids: Vec<DeclId> = graph
        .project
        .of_kind(PluginKind::Resource)
        .map(|d| d.id)
        .collect();
    for id in ids {
        let d = graph.project.get(id);
        let Some(plugin) = plugins.for_type(&d.type_name) else {
            continue;
        };
        let Some(schema) = plugins.schema(&d.type_name) else {
            continue;
        };
        let Some(spec) = graph.specs.get(&id) else {
            continue;
        };
        let missing: Vec<String> = schema
            .fields
            .iter()
            .filter(|f| f.completable && !spec.fields.contains_key(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let neighbours: Vec<Json> = graph
            .depends_on
            .get(&id)
            .into_iter()
            .flatten()
            .map(|n| {
                let n = graph.project.get(*n);
                serde_json::json!({"type-name": n.type_name, "name": n.name, "config": n.config})
            })
            .collect();
        let input = CompletionInput {
            target: ResourceRef {
                type_name: d.type_name.to_string(),
                name: d.name.to_string(),
            },
            config: Json::Object(spec.fields.clone()).to_string(),
            missing: missing.clone(),
            neighbours: Json::Array(neighbours).to_string(),
        };
        let suggestions = match plugin.complete_rules(&input).await? {
            Ok(suggestions) => suggestions,
            // Rules are optional: a plugin without them (or one that
            // cannot say) leaves the fields to the next stage.
            Err(PluginError::Failed(_)) | Err(PluginError::Transient(_)) => continue,
            Err(_) => continue,
        };
        let plugin_name = plugin.name().to_string();
        let Some(spec) = graph.specs.get_mut(&id) else {
            continue;
        };
        for s in suggestions {
            if !missing.contains(&s.field) || spec.fields.contains_key(&s.field) {
                continue;
            }
            let Ok(value) = serde_json::from_str::<Json>(&s.value) else {
                continue;
            };
            let fits = schema
                .field(&s.field)
                .and_then(|f| f.parsed_type())
                .is_some_and(|ty| ty.check(&value).is_ok());
            if !fits {
                continue;
            }
            spec.fields.insert(s.field.clone(), value);
            spec.provenance.insert(
                s.field,
                Provenance::Completion(format!("rules:{plugin_name}: {}", s.reason)),
            );
        }
    }
    Ok(())
}

/// Fills the schema's defaults into every resource's spec where the user,
/// the connections and completion left the field out.
pub fn defaults(graph: &mut Graph, plugins: &PluginSet) {
    for (id, spec) in graph.specs.iter_mut() {
        if let Some(schema) = plugins.schema(&graph.project.get(*id).type_name) {
            spec.fill_defaults(schema);
        }
    }
}
