//! After completion: every secret the resolved project holds, and the
//! schema's defaults where nothing else filled a field.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use crate::complete::CompletionPlugins;
use crate::resolve::Graph;

/// Every secret the resolved project holds: the declared ones and what
/// connections put together (a URL with its password).
pub fn secrets_of(graph: &Graph) -> BTreeSet<String> {
    let mut secrets: BTreeSet<String> = graph.project.secrets.iter().cloned().collect();
    for spec in graph.specs.values() {
        crate::secret::scan(&Json::Object(spec.fields.clone()), false, &mut secrets);
    }
    for c in &graph.connections {
        for (key, value) in &c.outputs {
            crate::secret::scan(&json!({ key: value }), false, &mut secrets);
        }
    }
    secrets
}

/// Fills the schema's defaults into every resource's spec where the user,
/// the connections and completion left the field out.
pub fn defaults(graph: &mut Graph, plugins: &dyn CompletionPlugins) {
    for (id, spec) in graph.specs.iter_mut() {
        if let Some(schema) = plugins.schema(&graph.project.get(*id).type_name) {
            spec.fill_defaults(schema);
        }
    }
}
