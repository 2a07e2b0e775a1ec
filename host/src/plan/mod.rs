//! [`Graph`] → [`Plan`]: what `apply` will do for each resource, in deploy
//! order. [`plan`] alone says `create` for everything (what a first apply
//! does, and all `plan` can say without an Engine); [`Plan::compare`]
//! replaces that with what each resource plugin decided against the
//! recorded state and the Engine's observation.

use serde::Serialize;

use crate::resolve::{Graph, Spec};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It is changed in place.
    Update,
    /// It is deleted and created again.
    Replace,
    /// It is removed.
    Delete,
    /// Nothing to do.
    None,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::None => "none",
        })
    }
}

/// One resource in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// What happens to it.
    pub action: Action,
    /// Names of its direct dependencies, in deploy order.
    pub depends_on: Vec<String>,
    /// Its layer; layers deploy one after the other, a layer's resources in parallel.
    pub layer: usize,
    /// The composite holding it.
    pub parent: Option<String>,
    /// Its resolved fields and where each came from.
    #[serde(skip)]
    pub spec: Spec,
    /// Where it is declared.
    pub declared_at: String,
    /// Its assertions, as (name, type), including those its connections add.
    pub assertions: Vec<(String, String)>,
    /// The fields that differ from what is deployed (empty before comparing).
    pub changed: Vec<ChangedField>,
    /// What the host will do for it, in order (empty before comparing).
    pub steps: Vec<serde_json::Value>,
}

/// A field that differs from the deployed object.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedField {
    /// JSON Pointer into the config, e.g. `/env_vars/LOG_LEVEL`.
    pub path: String,
    /// The deployed value.
    pub old: Option<serde_json::Value>,
    /// The declared value.
    pub new: Option<serde_json::Value>,
    /// Whether this change alone forces a replace.
    pub forces_replace: bool,
}

/// A connection in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanConnection {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The resource it goes from.
    pub from: String,
    /// The resource it goes to.
    pub to: String,
    /// Values it provides, e.g. `DATABASE_URL`.
    pub outputs: Vec<(String, String)>,
    /// Setup steps it runs after both ends are up.
    pub setup: Vec<String>,
    /// Assertions it adds (types).
    pub assertions: Vec<String>,
}

/// The plan of a project.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The project's name.
    pub project: String,
    /// The project file.
    pub file: String,
    /// Resources in deploy order.
    pub resources: Vec<PlanEntry>,
    /// Connections, in declaration order.
    pub connections: Vec<PlanConnection>,
    /// How many layers.
    pub layers: usize,
    /// What the plan was compared with (`None`: nothing, every resource
    /// shows `create`), e.g. "the Docker Engine and .clockwork/state.json".
    pub compared_with: Option<String>,
}

/// Plans every resource of `graph`.
pub fn plan(graph: &Graph) -> Plan {
    let project = &graph.project;
    let name = |id| project.get(id).name.clone();
    // Assertions connections add, by the resource they check.
    let mut contributed: std::collections::HashMap<crate::model::DeclId, Vec<(String, String)>> =
        Default::default();
    for c in &graph.connections {
        for (type_name, _) in &c.assertions {
            let short = crate::load::kebab(type_name)
                .trim_end_matches("-assert")
                .to_string();
            contributed.entry(c.to).or_default().push((
                format!("{}-{short}", project.get(c.decl).name),
                type_name.clone(),
            ));
        }
    }
    let mut resources = Vec::new();
    for (layer, ids) in graph.layers.iter().enumerate() {
        for id in ids {
            let d = project.get(*id);
            resources.push(PlanEntry {
                name: d.name.clone(),
                type_name: d.type_name.clone(),
                action: Action::Create,
                depends_on: graph
                    .depends_on
                    .get(id)
                    .map(|deps| deps.iter().map(|d| name(*d)).collect())
                    .unwrap_or_default(),
                layer: layer + 1,
                parent: d.parent.map(name),
                spec: graph.specs.get(id).cloned().unwrap_or_default(),
                declared_at: d.location.to_string(),
                assertions: d
                    .assertions
                    .iter()
                    .map(|a| {
                        (
                            project.get(*a).name.clone(),
                            project.get(*a).type_name.clone(),
                        )
                    })
                    .chain(contributed.get(id).cloned().unwrap_or_default())
                    .collect(),
                changed: Vec::new(),
                steps: Vec::new(),
            });
        }
    }
    let connections = graph
        .connections
        .iter()
        .map(|c| {
            let d = project.get(c.decl);
            PlanConnection {
                name: d.name.clone(),
                type_name: d.type_name.clone(),
                from: name(c.from),
                to: name(c.to),
                outputs: c.outputs.clone(),
                setup: c.setup.iter().map(|s| s.id.clone()).collect(),
                assertions: c.assertions.iter().map(|(t, _)| t.clone()).collect(),
            }
        })
        .collect();
    Plan {
        project: project.name.clone(),
        file: project.file.display().to_string(),
        resources,
        connections,
        layers: graph.layers.len(),
        compared_with: None,
    }
}
