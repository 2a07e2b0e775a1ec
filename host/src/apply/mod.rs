//! [`Graph`] + [`State`] + the Engine's observation → changes (each
//! resource plugin's `plan`), then executing them: the host checks each
//! action against policy, journals it, runs it, waits for readiness, and
//! has the plugin `settle` the new state, which is saved at once.
//!
//! `plan` is this module without [`execute`].

mod act;
mod check;
mod run;

pub use act::{Scope, action_json};
pub use check::check_plan;
pub use run::{Options, Outcome, Progress, Report, execute};

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::docker::Observation;
use crate::model::DeclId;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::{
    Change, ChangePlan, PlanInput,
};
use crate::plugin::bindings::types::{PluginError, ResourceRef};
use crate::plugin::{CallError, PluginSet};
use crate::project::Identity;
use crate::resolve::{Graph, Provenance};
use crate::state::State;

/// One resource's planned change.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The declaration, when it is still declared (absent: being removed).
    pub decl: Option<DeclId>,
    /// Its name.
    pub name: String,
    /// Its type.
    pub type_name: String,
    /// What its plugin decided.
    pub plan: ChangePlan,
    /// What the plugin was given (passed again to `settle`).
    pub input: PlanInput,
    /// Names of the resources it depends on.
    pub depends_on: Vec<String>,
}

impl ApplyError {
    /// The refusal located at its declaration, when it has one, as `plan`
    /// and `apply` report it.
    pub fn located(
        self,
        graph: &Graph,
        sources: &crate::load::Sources,
    ) -> Result<crate::load::Located, ApplyError> {
        match self {
            ApplyError::Refused {
                decl: Some(decl),
                resource,
                type_name,
                message,
            } => {
                let d = graph.project.get(decl);
                Ok(crate::load::Located {
                    message: format!("`{resource}` ({type_name}): {message}"),
                    source: sources.get(&d.location.file.display().to_string()).cloned(),
                    location: d.location.clone(),
                    help: None,
                    called_from: Vec::new(),
                })
            }
            other => Err(other),
        }
    }
}

impl Planned {
    /// The fields whose change drives this one, as the user names them
    /// (`env_vars.MODE`), for the plan and apply output.
    pub fn changed_fields(&self) -> Vec<String> {
        self.plan
            .diff
            .iter()
            .filter(|d| d.path != "/")
            .map(|d| field_name(&d.path))
            .collect()
    }

    /// The change, as the plan shows it.
    pub fn action(&self) -> crate::plan::Action {
        use crate::plan::Action;
        match self.plan.change {
            Change::None => Action::None,
            Change::Create => Action::Create,
            Change::Update => Action::Update,
            Change::Replace => Action::Replace,
            Change::Delete => Action::Delete,
        }
    }
}

/// Why changes could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A plugin refused a declaration.
    #[error("{resource} ({type_name}): {message}")]
    Refused {
        /// The declaration, when it is still declared.
        decl: Option<DeclId>,
        /// The resource.
        resource: String,
        /// Its type.
        type_name: String,
        /// Why.
        message: String,
    },
    /// A recorded resource's type is provided by no plugin.
    #[error(
        "`{resource}` was deployed as a {type_name}, which no loaded plugin provides; restore the plugin to change or remove it"
    )]
    UnknownType {
        /// The resource.
        resource: String,
        /// Its type.
        type_name: String,
    },
    /// A plugin failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
}

/// A JSON Pointer into a config as the user writes the field:
/// `/env_vars/LOG_LEVEL` → `env_vars.LOG_LEVEL`.
pub fn field_name(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// The project description every resource plugin is given.
pub fn project_json(identity: &Identity) -> Json {
    json!({"name": identity.name, "dir": identity.dir, "network": identity.default_network()})
}

/// What the actions of `planned` may touch: its own containers, the
/// absolute bind sources the user wrote in its `volumes`, and whether the
/// user declared `overwrite=True` on it.
pub fn scope_of(planned: &Planned, graph: Option<&Graph>) -> Scope {
    let mut scope = Scope::of(&planned.name);
    let Some((id, graph)) = planned.decl.zip(graph) else {
        return scope;
    };
    if let Some(spec) = graph.specs.get(&id) {
        scope.user_paths = spec
            .fields
            .get("volumes")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter(|v| {
                spec.item_source("volumes", v).is_none()
                    && *spec.source_of("volumes") == Provenance::User
            })
            .filter_map(|v| {
                v.as_str()
                    .and_then(|s| s.split(':').next())
                    .map(str::to_string)
            })
            .filter(|s| s.starts_with('/'))
            .collect();
    }
    // Only the user's own word lets Clockwork replace a file it did not
    // write; a plugin cannot grant that to itself.
    scope.overwrite = graph.project.get(id).fields.get("overwrite") == Some(&Json::Bool(true));
    scope
}

/// How many resources `planned` deletes and creates.
pub fn deletes_and_creates(planned: &[Planned]) -> (usize, usize) {
    let deletes = planned
        .iter()
        .filter(|p| matches!(p.plan.change, Change::Delete))
        .count();
    let creates = planned
        .iter()
        .filter(|p| matches!(p.plan.change, Change::Create))
        .count();
    (deletes, creates)
}

fn refusal(decl: Option<DeclId>, name: &str, type_name: &str, error: PluginError) -> ApplyError {
    ApplyError::Refused {
        decl,
        message: error.message(),
        resource: name.to_string(),
        type_name: type_name.to_string(),
    }
}

/// One resource to hand to its plugin's `plan`.
struct Target {
    decl: Option<DeclId>,
    name: String,
    type_name: String,
    desired: Option<Json>,
    prior: Option<Json>,
    depends_on: Vec<String>,
}

/// The recorded state of `name`, if it has one worth passing on.
fn prior_of(state: &State, name: &str) -> Option<Json> {
    state
        .resources
        .get(name)
        .map(|r| r.state.clone())
        .filter(|s| !s.is_null())
}

/// Has each target's plugin plan it (all at once), keeping the order.
async fn plan_targets(
    targets: Vec<Target>,
    plugins: &PluginSet,
    project_json: &str,
    observation: Option<&Observation>,
) -> Result<Vec<Planned>, ApplyError> {
    let mut tasks = Vec::new();
    for t in targets {
        let Some(plugin) = plugins.for_type(&t.type_name).cloned() else {
            return Err(ApplyError::UnknownType {
                resource: t.name,
                type_name: t.type_name,
            });
        };
        let input = PlanInput {
            target: ResourceRef {
                type_name: t.type_name.clone(),
                name: t.name.clone(),
            },
            desired: t.desired.as_ref().map(Json::to_string),
            prior: t.prior.as_ref().map(Json::to_string),
            observed: observation
                .and_then(|o| o.for_resource(&t.name))
                .map(|o| o.to_string()),
            project: project_json.to_string(),
        };
        tasks.push(tokio::spawn(async move {
            let result = plugin.plan(&input).await;
            (t, input, result)
        }));
    }
    let mut planned = Vec::new();
    for task in tasks {
        let (t, input, result) = task.await.map_err(|e| ApplyError::Refused {
            decl: None,
            resource: "(a planning task)".into(),
            type_name: "?".into(),
            message: e.to_string(),
        })?;
        let plan = result?.map_err(|e| refusal(t.decl, &t.name, &t.type_name, e))?;
        planned.push(Planned {
            decl: t.decl,
            name: t.name,
            type_name: t.type_name,
            plan,
            input,
            depends_on: t.depends_on,
        });
    }
    Ok(planned)
}

/// Plans every declared resource (deploy order) and every recorded one no
/// longer declared (removed last).
pub async fn changes(
    graph: &Graph,
    plugins: &PluginSet,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
) -> Result<Vec<Planned>, ApplyError> {
    let mut targets = Vec::new();
    for id in graph.order() {
        let d = graph.project.get(id);
        let mut desired = graph
            .specs
            .get(&id)
            .map(|s| s.fields.clone())
            .unwrap_or_default();
        desired.insert("name".into(), Json::String(d.name.clone()));
        let depends_on = graph
            .depends_on
            .get(&id)
            .map(|ds| {
                ds.iter()
                    .map(|d| graph.project.get(*d).name.clone())
                    .collect()
            })
            .unwrap_or_default();
        targets.push(Target {
            decl: Some(id),
            name: d.name.clone(),
            type_name: d.type_name.clone(),
            desired: Some(Json::Object(desired)),
            prior: prior_of(state, &d.name),
            depends_on,
        });
    }
    for (name, recorded) in &state.resources {
        if graph.project.resource(name).is_none() {
            targets.push(Target {
                decl: None,
                name: name.clone(),
                type_name: recorded.type_name.clone(),
                desired: None,
                prior: prior_of(state, name),
                depends_on: recorded.depends_on.clone(),
            });
        }
    }
    let project_json = project_json(identity).to_string();
    plan_targets(targets, plugins, &project_json, observation).await
}

/// Plans the removal of everything recorded in `state`, and of this
/// project's labelled containers the state does not know (a lost state).
pub async fn removals(
    plugins: &PluginSet,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
) -> Result<Vec<Planned>, ApplyError> {
    let mut targets: Vec<Target> = state
        .resources
        .iter()
        .map(|(name, r)| Target {
            decl: None,
            name: name.clone(),
            type_name: r.type_name.clone(),
            desired: None,
            prior: prior_of(state, name),
            depends_on: r.depends_on.clone(),
        })
        .collect();
    if let Some(observation) = observation {
        for name in observation
            .containers
            .keys()
            .filter(|n| !state.resources.contains_key(*n))
        {
            targets.push(Target {
                decl: None,
                name: name.clone(),
                type_name: "DockerResource".into(),
                desired: None,
                prior: None,
                depends_on: Vec::new(),
            });
        }
    }
    let project_json = project_json(identity).to_string();
    plan_targets(targets, plugins, &project_json, observation).await
}

/// Counts by change, for the summary line.
pub fn summary(planned: &[Planned]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for p in planned {
        let key = match p.plan.change {
            Change::None => "unchanged",
            Change::Create => "to create",
            Change::Update => "to update",
            Change::Replace => "to replace",
            Change::Delete => "to delete",
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// Puts what the plugins decided into `plan`: each declared resource's
/// change, differing fields and actions, and a `delete` entry for every
/// recorded resource no longer declared.
pub fn compare(plan: &mut crate::plan::Plan, planned: &[Planned], with: &str) {
    use crate::plan::{ChangedField, PlanEntry};
    let describe = |p: &Planned| {
        let changed = p
            .plan
            .diff
            .iter()
            .map(|d| ChangedField {
                path: d.path.clone(),
                old: d.old.as_deref().and_then(|t| serde_json::from_str(t).ok()),
                new: d.new.as_deref().and_then(|t| serde_json::from_str(t).ok()),
                forces_replace: d.forces_replace,
            })
            .collect();
        let steps = p.plan.actions.iter().map(action_json).collect();
        (changed, steps)
    };
    let removal_layer = plan.layers + 1;
    let index: std::collections::HashMap<String, usize> = plan
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.clone(), i))
        .collect();
    for p in planned {
        let (changed, steps) = describe(p);
        let entry = index.get(&p.name).map(|i| &mut plan.resources[*i]);
        match entry {
            Some(entry) if p.decl.is_some() => {
                entry.action = p.action();
                entry.changed = changed;
                entry.steps = steps;
            }
            _ => plan.resources.push(PlanEntry {
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                action: p.action(),
                depends_on: p.depends_on.clone(),
                layer: removal_layer,
                parent: None,
                spec: Default::default(),
                declared_at: "no longer declared".into(),
                assertions: Vec::new(),
                changed,
                steps,
            }),
        }
    }
    plan.compared_with = Some(with.to_string());
}

/// Each resource's change in one line, e.g. `replace (env_vars.MODE)`.
pub fn outline(planned: &[Planned]) -> Json {
    Json::Object(
        planned
            .iter()
            .map(|p| {
                let fields = p.changed_fields();
                let text = if fields.is_empty() {
                    p.action().to_string()
                } else {
                    format!("{} ({})", p.action(), fields.join(", "))
                };
                (p.name.clone(), Json::String(text))
            })
            .collect(),
    )
}

/// How `now` differs from an earlier outline, a line per resource.
pub fn moved(earlier: &Json, now: &Json) -> Vec<String> {
    let (Some(earlier), Some(now)) = (earlier.as_object(), now.as_object()) else {
        return Vec::new();
    };
    let none = Json::String("none".into());
    let mut names: Vec<&String> = earlier.keys().chain(now.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let was = earlier.get(name).unwrap_or(&none);
            let is = now.get(name).unwrap_or(&none);
            (was != is).then(|| {
                format!(
                    "{name}: {} then, {} now",
                    was.as_str().unwrap_or("?"),
                    is.as_str().unwrap_or("?")
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_names_each_resource_whose_change_differs() {
        let earlier = json!({"db": "none", "api": "replace (image)", "gone": "delete"});
        let now = json!({"db": "create", "api": "replace (image)", "new": "create"});
        assert_eq!(
            moved(&earlier, &now),
            [
                "db: none then, create now",
                "gone: delete then, none now",
                "new: none then, create now"
            ]
        );
        assert!(moved(&now, &now).is_empty());
    }
}
