//! Completing resources, after `resolve`: in deploy order, so that each
//! sees what its dependencies were completed with, and what connections
//! contributed is context.

use serde_json::{Map, Value as Json, json};

use crate::complete::prompt::{Context, Placeholders};
use crate::complete::target::{Makers, PassCells, Target, described, missing_fields};
use crate::complete::trust::Declared as DeclaredByProject;
use crate::complete::{CompleteError, Completer, CompletionPlugins, RulesFor, secrets_of};
use crate::model::DeclId;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::CompletionInput;
use crate::plugin::bindings::types::ResourceRef;
use crate::resolve::Graph;

impl Completer {
    /// Completes every resource's missing completable fields, layer by
    /// layer in deploy order, after connections contributed. Within a
    /// layer (resources that do not depend on each other) the model is
    /// asked about several at once.
    pub async fn resources(
        &mut self,
        graph: &mut Graph,
        plugins: &dyn CompletionPlugins,
    ) -> Result<(), CompleteError> {
        let cells = PassCells::default();
        let layers = graph.layers.clone();
        for layer in layers {
            let g: &Graph = graph;
            let mut prepared = Vec::new();
            for id in layer {
                let Some((target, input)) = target_of(g, id, plugins, &cells) else {
                    continue;
                };
                let p = self
                    .prepare(target, Some(RulesFor::Resource(input)))
                    .await?;
                prepared.push((id, p));
            }
            for (id, fields) in self.ask_and_record(prepared).await? {
                if let Some(spec) = graph.specs.get_mut(&id) {
                    for (field, value, source) in fields {
                        spec.complete(&field, value, &source);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Resource `id` as completion sees it, with its rules' input; `None` when
/// nothing of it is left to complete.
fn target_of<'g>(
    g: &'g Graph,
    id: DeclId,
    plugins: &'g dyn CompletionPlugins,
    cells: &'g PassCells,
) -> Option<(Target<'g>, CompletionInput)> {
    let d = g.project.get(id);
    let (schema, spec) = (plugins.schema(&d.type_name)?, g.specs.get(&id)?);
    // A field only connections put entries in is still the user's to
    // leave out: completion may add to it.
    let missing = missing_fields(schema, |f| d.config.contains_key(f));
    if missing.is_empty() {
        return None;
    }
    let input = CompletionInput {
        target: ResourceRef {
            type_name: d.type_name.to_string(),
            name: d.name.to_string(),
        },
        config: Json::Object(spec.fields.clone()).to_string(),
        missing: missing.clone(),
        neighbours: neighbours(g, id).to_string(),
    };
    let makers = Makers {
        placeholders: Box::new(move || resolved_placeholders(g)),
        declared: Box::new(move || DeclaredByProject::of(&g.project, plugins, Some(g))),
        context: Box::new(move |placeholders| context(g, id, &spec.fields, placeholders)),
    };
    let target = Target::new(
        d,
        schema,
        plugins,
        spec.fields.clone(),
        missing,
        cells,
        makers,
    );
    Some((target, input))
}

/// Placeholders for every secret of the resolved project, labelled by the
/// resources' specs (what connections put together included).
fn resolved_placeholders(graph: &Graph) -> Placeholders {
    let places: Vec<(String, Json)> = graph
        .project
        .declarations
        .iter()
        .map(|d| {
            let fields = graph.specs.get(&d.id).map_or(&d.config, |s| &s.fields);
            (d.name.to_string(), Json::Object(fields.clone()))
        })
        .collect();
    Placeholders::new(secrets_of(graph), &places)
}

/// A resource and what it connects to (its composite apart), as the model
/// would see them.
fn context(
    graph: &Graph,
    id: DeclId,
    fields: &Map<String, Json>,
    placeholders: &Placeholders,
) -> Context {
    let d = graph.project.get(id);
    let related: Vec<(String, Json)> = graph
        .depends_on
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|n| Some(**n) != d.parent)
        .map(|n| {
            let fields = graph
                .specs
                .get(n)
                .map(|s| s.fields.clone())
                .unwrap_or_default();
            (
                "connected to".to_string(),
                described(graph.project.get(*n), &fields, placeholders),
            )
        })
        .collect();
    let part_of = d.parent.map(|p| {
        described(
            graph.project.get(p),
            &graph.project.get(p).config,
            placeholders,
        )
    });
    Context {
        declaration: described(d, fields, placeholders),
        related,
        part_of,
    }
}

/// What a resource depends on, as its rules see it. `plain` marks what
/// it reaches by a plain connection (`connections = [db]`,
/// `a.connect(db)`), which leaves what it needs of the target to the
/// rules; an explicit connection says itself what it provides.
fn neighbours(graph: &Graph, id: DeclId) -> Json {
    let plainly: Vec<DeclId> = graph
        .project
        .get(id)
        .connections
        .iter()
        .map(|c| graph.project.get(*c))
        .filter(|c| c.implicit)
        .filter_map(|c| c.to)
        .collect();
    let neighbours: Vec<Json> = graph
        .depends_on
        .get(&id)
        .into_iter()
        .flatten()
        .map(|n| {
            let plain = plainly.contains(n);
            let n = graph.project.get(*n);
            json!({"type-name": n.type_name, "name": n.name, "config": n.config, "plain": plain})
        })
        .collect();
    Json::Array(neighbours)
}
