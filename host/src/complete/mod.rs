//! [`Graph`] → specs ready to plan: every field the user left out is filled
//! here, after the connections have contributed. Deterministic rules and a
//! model come first (the completion work); defaults last, and only where
//! nothing else filled the field, so `plan` can tell every value's source.

use crate::plugin::PluginSet;
use crate::resolve::Graph;

/// Fills the schema's defaults into every resource's spec where the user,
/// the connections and completion left the field out.
pub fn defaults(graph: &mut Graph, plugins: &PluginSet) {
    for (id, spec) in graph.specs.iter_mut() {
        if let Some(schema) = plugins.schema(&graph.project.get(*id).type_name) {
            spec.fill_defaults(schema);
        }
    }
}
