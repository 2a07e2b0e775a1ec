//! Asking each resource's plugin what to do: its desired config (absent
//! when it is to go), its recorded state and the Engine's observation in,
//! its change and actions out. Calls run on every core; results keep order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::docker::Observation;
use crate::load::{Located, Sources};
use crate::model::{DeclId, ResourceName, TypeName};
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::{
    ActionResult, ChangePlan, PlanInput,
};
use crate::plugin::bindings::types::{PluginError, ResourceRef};
use crate::plugin::{CallError, LoadedPlugin, PluginSet};
use crate::project::Identity;
use crate::resolve::Graph;
use crate::state::State;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// A plugin refused a declaration.
    #[error("{resource} ({type_name}): {message}")]
    #[diagnostic(code("clockwork::plan::refused"))]
    Refused {
        /// The declaration, when it is still declared.
        decl: Option<DeclId>,
        /// The resource.
        resource: ResourceName,
        /// Its type.
        type_name: TypeName,
        /// Why.
        message: String,
    },
    /// A recorded resource's type is provided by no plugin.
    #[error(
        "`{resource}` was deployed as a {type_name}, which no loaded plugin provides; restore the plugin to change or remove it"
    )]
    #[diagnostic(code("clockwork::plan::unknown_type"))]
    UnknownType {
        /// The resource.
        resource: ResourceName,
        /// Its type.
        type_name: TypeName,
    },
    /// A plugin failed (trapped, timed out).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(#[from] CallError),
    /// A failure of Clockwork itself.
    #[error("internal error: {0} (this is a bug in clockwork)")]
    #[diagnostic(code("clockwork::internal"))]
    Internal(String),
}

impl PlanError {
    /// The refusal located at its declaration, when it has one.
    pub fn located(self, graph: &Graph, sources: &Sources) -> Result<Located, PlanError> {
        match self {
            PlanError::Refused {
                decl: Some(decl),
                resource,
                type_name,
                message,
            } => {
                let d = graph.project.get(decl);
                Ok(Located {
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

/// The project description every resource plugin is given.
pub fn project_json(identity: &Identity) -> Json {
    json!({"name": identity.name, "dir": identity.dir, "network": identity.default_network()})
}

/// [`project_json`] with the networks and volumes `graph`'s connections
/// declared, by name: a resource plugin makes them with these options.
pub fn project_json_of(identity: &Identity, graph: &Graph) -> Json {
    let mut project = project_json(identity);
    project["networks"] = json!(graph.networks());
    project["volumes"] = json!(graph.volumes());
    project
}

/// A plugin's answer to `plan`, on its way.
pub type PlanCall =
    Pin<Box<dyn Future<Output = Result<Result<ChangePlan, PluginError>, CallError>> + Send>>;

/// A plugin's answer to `settle`, on its way.
pub type SettleCall<'a> =
    Pin<Box<dyn Future<Output = Result<Result<String, PluginError>, CallError>> + Send + 'a>>;

/// What planning and executing need of the plugins: to ask the plugin of
/// a type for its plan, and for the state once its actions ran.
/// [`PluginSet`] is the real one; a stage test gives plain answers.
pub trait Planner: Send + Sync {
    /// Whether some plugin provides `type_name`.
    fn provides(&self, type_name: &str) -> bool;

    /// The plan of `type_name`'s plugin for `input`.
    fn plan(&self, type_name: &str, input: PlanInput) -> PlanCall;

    /// Who settles `type_name`'s plans, when a plugin provides it.
    fn settler(&self, type_name: &str) -> Option<Arc<dyn Settle>>;
}

/// Turns the results of a plan's actions into the state to record.
pub trait Settle: Send + Sync {
    /// The new state, as JSON text (`null` forgets the declaration).
    fn settle<'a>(
        &'a self,
        input: &'a PlanInput,
        plan: &'a ChangePlan,
        results: &'a [ActionResult],
    ) -> SettleCall<'a>;
}

impl Settle for LoadedPlugin {
    fn settle<'a>(
        &'a self,
        input: &'a PlanInput,
        plan: &'a ChangePlan,
        results: &'a [ActionResult],
    ) -> SettleCall<'a> {
        Box::pin(LoadedPlugin::settle(self, input, plan, results))
    }
}

impl Planner for PluginSet {
    fn provides(&self, type_name: &str) -> bool {
        self.for_type(type_name).is_some()
    }

    fn plan(&self, type_name: &str, input: PlanInput) -> PlanCall {
        let plugin = self.for_type(type_name).cloned();
        let type_name = type_name.to_string();
        Box::pin(async move {
            match plugin {
                Some(plugin) => plugin.plan(&input).await,
                None => Ok(Err(PluginError::Failed(format!(
                    "no loaded plugin provides `{type_name}`"
                )))),
            }
        })
    }

    fn settler(&self, type_name: &str) -> Option<Arc<dyn Settle>> {
        self.for_type(type_name)
            .cloned()
            .map(|p| p as Arc<dyn Settle>)
    }
}

/// One resource's decision.
pub(super) struct Decided {
    pub decl: Option<DeclId>,
    pub name: ResourceName,
    pub type_name: TypeName,
    pub depends_on: Vec<ResourceName>,
    pub plan: ChangePlan,
    pub input: PlanInput,
}

/// One resource to hand to its plugin's `plan`.
struct Target {
    decl: Option<DeclId>,
    name: ResourceName,
    type_name: TypeName,
    desired: Option<Json>,
    prior: Option<Json>,
    depends_on: Vec<ResourceName>,
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
async fn decide(
    targets: Vec<Target>,
    plugins: &dyn Planner,
    project: Json,
    observation: Option<&Observation>,
) -> Result<Vec<Decided>, PlanError> {
    let project = project.to_string();
    let mut calls = Vec::new();
    for t in targets {
        if !plugins.provides(&t.type_name) {
            return Err(PlanError::UnknownType {
                resource: t.name,
                type_name: t.type_name,
            });
        };
        let input = PlanInput {
            target: ResourceRef {
                type_name: t.type_name.to_string(),
                name: t.name.to_string(),
            },
            desired: t.desired.as_ref().map(Json::to_string),
            prior: t.prior.as_ref().map(Json::to_string),
            observed: observation
                .and_then(|o| o.for_resource(&t.name))
                .map(|o| o.to_string()),
            project: project.clone(),
        };
        let call = plugins.plan(&t.type_name, input.clone());
        calls.push(async move {
            let result = call.await;
            (t, input, result)
        });
    }
    let answers = crate::plugin::in_order(calls)
        .await
        .map_err(|e| PlanError::Internal(format!("a planning task failed: {e}")))?;
    let mut decided = Vec::new();
    for (t, input, result) in answers {
        let plan = result?.map_err(|e: PluginError| PlanError::Refused {
            decl: t.decl,
            message: e.message(),
            resource: t.name.clone(),
            type_name: t.type_name.clone(),
        })?;
        decided.push(Decided {
            decl: t.decl,
            name: t.name,
            type_name: t.type_name,
            depends_on: t.depends_on,
            plan,
            input,
        });
    }
    Ok(decided)
}

/// Every declared resource (deploy order), then every recorded one no
/// longer declared.
pub(super) async fn declared(
    graph: &Graph,
    plugins: &dyn Planner,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
) -> Result<Vec<Decided>, PlanError> {
    let mut targets = Vec::new();
    for id in graph.order() {
        let d = graph.project.get(id);
        let mut desired = graph
            .specs
            .get(&id)
            .map(|s| s.fields.clone())
            .unwrap_or_default();
        desired.insert("name".into(), Json::String(d.name.to_string()));
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
    // What the graph does not deploy goes: a resource no longer declared,
    // or one taken out of the graph (`watch` at its expiry).
    let deployed: std::collections::BTreeSet<&ResourceName> = graph
        .order()
        .map(|id| &graph.project.get(id).name)
        .collect();
    for (name, recorded) in &state.resources {
        if !deployed.contains(name) {
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
    // What was changed outside Clockwork is seen against what the state
    // recorded when the host made each container.
    let compared = observation.map(|o| o.against(state));
    let project = project_json_of(identity, graph);
    decide(targets, plugins, project, compared.as_ref()).await
}

/// Everything recorded in `state`, and this project's containers the state
/// does not know (a lost state), each with no desired config.
pub(super) async fn removals(
    plugins: &dyn Planner,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
) -> Result<Vec<Decided>, PlanError> {
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
        for (name, containers) in observation
            .containers
            .iter()
            .filter(|(n, _)| !state.resources.contains_key(n.as_str()))
        {
            // The type is on the container's label: the plugin that made it
            // removes it.
            let Some(type_name) = containers.iter().find_map(|c| c.type_name.clone()) else {
                continue;
            };
            targets.push(Target {
                decl: None,
                name: name.as_str().into(),
                type_name: type_name.into(),
                desired: None,
                prior: None,
                depends_on: Vec::new(),
            });
        }
    }
    decide(targets, plugins, project_json(identity), observation).await
}
