//! (resolved [`Graph`], [`State`], the Engine's observation) → [`Plan`]:
//! what `apply` will do for each resource, decided by the resource's plugin
//! and checked against the host's policy.
//!
//! There is one planning path. `plan --offline` is the same call with no
//! observation (each plugin then plans a first apply), `apply` is this
//! stage followed by `apply::execute`, and `destroy` plans with no
//! declarations ([`removals`]).

mod actions;
mod check;
#[cfg(test)]
mod check_tests;
mod decide;
#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod fixture;

pub use actions::{action_json, describe};
pub use check::check_each;
#[cfg(test)]
pub(crate) use decide::{PlanCall, SettleCall};
pub use decide::{PlanError, Planner, Settle};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use crate::docker::Observation;
use crate::model::{DeclId, ResourceName, TypeName};
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::{
    Change, ChangePlan, PlanInput,
};
use crate::plugin::bindings::types::Action;
use crate::policy::Scope;
use crate::project::Identity;
use crate::resolve::{Graph, Spec};
use crate::state::State;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
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

impl From<Change> for ChangeKind {
    fn from(change: Change) -> Self {
        match change {
            Change::None => ChangeKind::None,
            Change::Create => ChangeKind::Create,
            Change::Update => ChangeKind::Update,
            Change::Replace => ChangeKind::Replace,
            Change::Delete => ChangeKind::Delete,
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Replace => "replace",
            ChangeKind::Delete => "delete",
            ChangeKind::None => "none",
        })
    }
}

/// A field that differs from the deployed object.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedField {
    /// JSON Pointer into the config, e.g. `/env_vars/LOG_LEVEL`.
    pub path: String,
    /// The deployed value.
    pub old: Option<Json>,
    /// The declared value.
    pub new: Option<Json>,
    /// Whether this change alone forces a replace.
    pub forces_replace: bool,
}

impl ChangedField {
    /// The field as the user writes it (`env_vars.MODE`).
    pub fn name(&self) -> String {
        field_name(&self.path)
    }
}

/// One resource in the plan: declared (in deploy order) or recorded and no
/// longer declared (to delete).
#[derive(Debug, Clone)]
pub struct PlanEntry {
    /// The declaration, when it is still declared.
    pub decl: Option<DeclId>,
    /// Its name.
    pub name: ResourceName,
    /// Its type.
    pub type_name: TypeName,
    /// What happens to it.
    pub change: ChangeKind,
    /// The fields that differ from what is deployed, as the plugin named them.
    pub changed: Vec<ChangedField>,
    /// What the host will do for it, in order.
    pub actions: Vec<Action>,
    /// Names of its direct dependencies, in deploy order.
    pub depends_on: Vec<ResourceName>,
    /// Its layer; layers deploy one after the other. Resources no longer
    /// declared are in the layer after the last.
    pub layer: usize,
    /// The composite holding it.
    pub parent: Option<ResourceName>,
    /// Its resolved fields and where each came from (empty when no longer
    /// declared).
    pub spec: Spec,
    /// Where it is declared.
    pub declared_at: String,
    /// Its assertions, as (name, type), including those its connections add.
    pub assertions: Vec<(ResourceName, TypeName)>,
    /// How `clockwork watch` looks after it, when it does.
    pub reconcile: Option<crate::reconcile::Settings>,
    /// When its `max_duration` runs out, if it is deployed with one
    /// (seconds since the Unix epoch).
    pub expires_at: Option<u64>,
    /// What the plugin decided, passed back to its `settle`.
    pub(crate) decided: ChangePlan,
    /// What the plugin was given.
    pub(crate) input: PlanInput,
}

impl PlanEntry {
    /// What the actions of this entry may touch: its own containers, what its
    /// declaration's own fields grant (see [`crate::model::Grants`]: only values the user
    /// wrote in its `mount` and `port` fields), and whether the user declared
    /// `overwrite=True` on it.
    pub fn scope(&self, graph: Option<&Graph>) -> Scope {
        let mut scope = Scope::of(&self.name, &self.type_name);
        let Some((id, graph)) = self.decl.zip(graph) else {
            return scope;
        };
        let declaration = graph.project.get(id);
        scope.grants = declaration.grants.clone();
        scope.tls_keys = graph
            .connections
            .iter()
            .filter(|c| c.to == id)
            .flat_map(|c| c.tls.iter().map(|r| r.service.clone()))
            .collect();
        // Only the user's own word lets Clockwork replace a file it did not
        // write; a plugin cannot grant that to itself.
        scope.overwrite = declaration.fields.get("overwrite") == Some(&Json::Bool(true));
        scope
    }

    /// The fields whose change drives this one, as the user names them
    /// (`env_vars.MODE`), for the plan and apply output.
    pub fn changed_fields(&self) -> Vec<String> {
        self.changed
            .iter()
            .filter(|c| c.path != "/")
            .map(ChangedField::name)
            .collect()
    }
}

/// A connection in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanConnection {
    /// Its name.
    pub name: ResourceName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: TypeName,
    /// The resource it goes from.
    pub from: ResourceName,
    /// The resource it goes to.
    pub to: ResourceName,
    /// Values it provides, e.g. `DATABASE_URL`.
    pub outputs: Vec<(String, String)>,
    /// Setup steps it runs after both ends are up.
    pub setup: Vec<String>,
    /// Assertions it adds (types).
    pub assertions: Vec<String>,
    /// Fields completion filled: (field, value, source).
    pub completed: Vec<(String, serde_json::Value, String)>,
}

/// A field of an assertion that completion filled (a check written from
/// words), shown for review.
#[derive(Debug, Clone, Serialize)]
pub struct CompletedAssertion {
    /// The assertion's name.
    pub name: ResourceName,
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: TypeName,
    /// The field.
    pub field: String,
    /// The value (a function: its program, with the source).
    pub value: serde_json::Value,
    /// Where it came from.
    pub source: String,
}

/// The plan of a project.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The project's name.
    pub project: String,
    /// The project file.
    pub file: String,
    /// Every resource: declared ones in deploy order, then the ones to delete.
    pub entries: Vec<PlanEntry>,
    /// Connections, in declaration order.
    pub connections: Vec<PlanConnection>,
    /// Assertion fields completion filled, in declaration order.
    pub completed_assertions: Vec<CompletedAssertion>,
    /// How many layers the declared resources form.
    pub layers: usize,
    /// What the plan was compared with (`None`: no deployment was observed,
    /// so every plugin planned a first apply), e.g. "the Docker Engine and
    /// .clockwork/state.json".
    pub compared_with: Option<String>,
}

impl Plan {
    /// How many resources it deletes and creates.
    pub fn deletes_and_creates(&self) -> (usize, usize) {
        let count = |k| self.entries.iter().filter(|e| e.change == k).count();
        (count(ChangeKind::Delete), count(ChangeKind::Create))
    }

    /// Counts by change, for summary lines.
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for e in &self.entries {
            let key = match e.change {
                ChangeKind::None => "unchanged",
                ChangeKind::Create => "to create",
                ChangeKind::Update => "to update",
                ChangeKind::Replace => "to replace",
                ChangeKind::Delete => "to delete",
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }

    /// Each resource's change in one line, e.g. `replace (env_vars.MODE)`,
    /// kept between `plan` and `apply` to say what moved in between.
    pub fn outline(&self) -> Json {
        Json::Object(
            self.entries
                .iter()
                .map(|e| {
                    let fields = e.changed_fields();
                    let text = if fields.is_empty() {
                        e.change.to_string()
                    } else {
                        format!("{} ({})", e.change, fields.join(", "))
                    };
                    (e.name.to_string(), Json::String(text))
                })
                .collect(),
        )
    }

    /// Leaves the files resources wrote where they are (`destroy
    /// --keep-files`): their removals are dropped from the plan, and the
    /// driver actions that remove files (a clone).
    pub fn keep_files(&mut self, drivers: &crate::driver::Drivers) {
        let keep = |a: &Action| {
            !matches!(a, Action::RemovePath(_))
                && !matches!(a, Action::Ext((d, op, _)) if drivers.removes_files(d, op))
        };
        for e in &mut self.entries {
            e.actions.retain(keep);
            e.decided.actions.retain(keep);
        }
    }

    /// How many declared resources there are.
    pub fn declared(&self) -> usize {
        self.entries.iter().filter(|e| e.decl.is_some()).count()
    }
}

/// A JSON Pointer into a config as the user writes the field:
/// `/env_vars/LOG_LEVEL` → `env_vars.LOG_LEVEL`.
pub fn field_name(pointer: &str) -> String {
    crate::model::FieldPath::from_pointer(pointer).dotted()
}

/// What a stage of planning compares with.
pub struct Compared<'a> {
    /// The recorded state.
    pub state: &'a State,
    /// The Engine's observation, when one answers.
    pub observation: Option<&'a Observation>,
}

/// Plans every resource of `graph` (in deploy order) and every recorded one
/// no longer declared (to delete, after the last layer).
pub async fn plan(
    graph: &Graph,
    plugins: &dyn Planner,
    identity: &Identity,
    compared: Compared<'_>,
) -> Result<Plan, PlanError> {
    let decided = decide::declared(
        graph,
        plugins,
        identity,
        compared.state,
        compared.observation,
    )
    .await?;
    Ok(assemble(
        graph,
        decided,
        compared.observation.is_some(),
        compared.state,
    ))
}

/// Plans the removal of everything the state records, and of this
/// project's containers the state does not know (a lost state).
pub async fn removals(
    plugins: &dyn Planner,
    identity: &Identity,
    compared: Compared<'_>,
) -> Result<Plan, PlanError> {
    let decided = decide::removals(plugins, identity, compared.state, compared.observation).await?;
    let entries = decided
        .into_iter()
        .map(|d| entry_without_declaration(d, 1))
        .collect();
    Ok(Plan {
        project: identity.name.clone(),
        file: String::new(),
        entries,
        connections: Vec::new(),
        completed_assertions: Vec::new(),
        layers: 0,
        compared_with: compared
            .observation
            .map(|_| "the Docker Engine and .clockwork/state.json".into()),
    })
}

fn entry_without_declaration(d: decide::Decided, layer: usize) -> PlanEntry {
    PlanEntry {
        decl: None,
        change: d.plan.change.into(),
        changed: changed_fields(&d.plan),
        actions: d.plan.actions.clone(),
        name: d.name,
        type_name: d.type_name,
        depends_on: d.depends_on,
        layer,
        parent: None,
        spec: Spec::default(),
        declared_at: "no longer declared".into(),
        assertions: Vec::new(),
        reconcile: None,
        expires_at: None,
        decided: d.plan,
        input: d.input,
    }
}

fn changed_fields(plan: &ChangePlan) -> Vec<ChangedField> {
    let all: Vec<ChangedField> = plan
        .diff
        .iter()
        .map(|d| ChangedField {
            path: d.path.clone(),
            old: d.old.as_deref().and_then(|t| serde_json::from_str(t).ok()),
            new: d.new.as_deref().and_then(|t| serde_json::from_str(t).ok()),
            forces_replace: d.forces_replace,
        })
        .collect();
    // State is recorded with secrets masked, so a plugin comparing the
    // recorded spec with the new one sees every secret-bearing value as
    // changed. Where the two look alike once masked, the change is one no
    // one can be shown; it is listed only when nothing else explains the
    // plan (a rotated password).
    let shown_alike = |c: &ChangedField| match (&c.old, &c.new) {
        (Some(old), Some(new)) => {
            crate::output::mask_json_always(old) == crate::output::mask_json_always(new)
        }
        _ => false,
    };
    if all.iter().all(shown_alike) {
        return all;
    }
    all.into_iter().filter(|c| !shown_alike(c)).collect()
}

/// The plan of `graph` from what its plugins decided.
fn assemble(
    graph: &Graph,
    decided: Vec<decide::Decided>,
    observed: bool,
    state: &crate::state::State,
) -> Plan {
    let project = &graph.project;
    let name = |id| project.get(id).name.clone();
    let layer_of: BTreeMap<DeclId, usize> = graph
        .layers
        .iter()
        .enumerate()
        .flat_map(|(i, ids)| ids.iter().map(move |id| (*id, i + 1)))
        .collect();
    // Assertions connections add, by the resource they check.
    let mut contributed: BTreeMap<DeclId, Vec<(ResourceName, TypeName)>> = BTreeMap::new();
    for c in &graph.connections {
        for (type_name, _) in &c.assertions {
            let short =
                crate::defaults::short_type_name(crate::model::PluginKind::Assertion, type_name);
            contributed.entry(c.to).or_default().push((
                format!("{}-{short}", project.get(c.decl).name).into(),
                type_name.as_str().into(),
            ));
        }
    }
    let removal_layer = graph.layers.len() + 1;
    let entries = decided
        .into_iter()
        .map(|d| {
            let Some(id) = d.decl else {
                return entry_without_declaration(d, removal_layer);
            };
            let decl = project.get(id);
            PlanEntry {
                decl: Some(id),
                change: d.plan.change.into(),
                changed: changed_fields(&d.plan),
                actions: d.plan.actions.clone(),
                name: d.name,
                type_name: d.type_name,
                depends_on: d.depends_on,
                layer: layer_of.get(&id).copied().unwrap_or(0),
                parent: decl.parent.map(name),
                spec: graph.specs.get(&id).cloned().unwrap_or_default(),
                declared_at: decl.location.to_string(),
                assertions: decl
                    .assertions
                    .iter()
                    .map(|a| {
                        (
                            project.get(*a).name.clone(),
                            project.get(*a).type_name.clone(),
                        )
                    })
                    .chain(contributed.get(&id).cloned().unwrap_or_default())
                    .collect(),
                reconcile: Some(crate::reconcile::effective(project, id)).filter(|s| s.reconcile),
                expires_at: state.resources.get(&decl.name).and_then(|r| r.expires_at),
                decided: d.plan,
                input: d.input,
            }
        })
        .collect();
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
                completed: d
                    .completed
                    .iter()
                    .map(|(field, source)| {
                        let value = d.config.get(field).cloned().unwrap_or_default();
                        (field.clone(), value, source.clone())
                    })
                    .collect(),
            }
        })
        .collect();
    let completed_assertions = project
        .of_kind(crate::model::PluginKind::Assertion)
        .flat_map(|d| {
            d.completed
                .iter()
                .map(|(field, source)| CompletedAssertion {
                    name: d.name.clone(),
                    type_name: d.type_name.clone(),
                    field: field.clone(),
                    value: d.config.get(field).cloned().unwrap_or_default(),
                    source: source.clone(),
                })
        })
        .collect();
    Plan {
        project: project.name.clone(),
        file: project.file.display().to_string(),
        entries,
        connections,
        completed_assertions,
        layers: graph.layers.len(),
        compared_with: observed.then(|| "the Docker Engine and .clockwork/state.json".into()),
    }
}

/// Why a connection's setup steps have no order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum SetupOrderError {
    /// A step's `after` names no step of the connection.
    #[error(
        "setup step `{step}` runs after `{after}`, which is not one of this connection's steps"
    )]
    #[diagnostic(code("clockwork::plan::setup_order"))]
    Unknown {
        /// The step.
        step: String,
        /// What it names.
        after: String,
    },
    /// The steps' `after` lists make a cycle (the steps, comma-separated).
    #[error("setup steps {0} wait for each other (`after` makes a cycle)")]
    #[diagnostic(code("clockwork::plan::setup_order"))]
    Cycle(String),
}

/// The order a connection's setup steps run in: each after the steps its
/// `after` names, otherwise as listed. An unknown id or a cycle is an error
/// naming it.
pub fn setup_order(
    steps: &[crate::plugin::bindings::connection::exports::clockwork::plugin::connections::SetupStep],
) -> Result<Vec<usize>, SetupOrderError> {
    let index = |id: &str| steps.iter().position(|s| s.id == id);
    for step in steps {
        if let Some(unknown) = step.after.iter().find(|a| index(a).is_none()) {
            return Err(SetupOrderError::Unknown {
                step: step.id.clone(),
                after: unknown.clone(),
            });
        }
    }
    let mut order = Vec::with_capacity(steps.len());
    let mut done = vec![false; steps.len()];
    while order.len() < steps.len() {
        let next = (0..steps.len()).find(|&i| {
            !done[i]
                && steps[i]
                    .after
                    .iter()
                    .all(|a| index(a).is_some_and(|j| done[j]))
        });
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<&str> = (0..steps.len())
                    .filter(|&i| !done[i])
                    .map(|i| steps[i].id.as_str())
                    .collect();
                return Err(SetupOrderError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(order)
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
    use serde_json::json;

    fn step(
        id: &str,
        after: &[&str],
    ) -> crate::plugin::bindings::connection::exports::clockwork::plugin::connections::SetupStep
    {
        use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
            RunWhen, SetupStep,
        };
        SetupStep {
            id: id.into(),
            when: RunWhen::EveryApply,
            after: after.iter().map(|a| a.to_string()).collect(),
            action: Action::Ext(("test".into(), id.into(), "{}".into())),
        }
    }

    /// Answers like a plugin would, from the input alone: create what is
    /// desired, with a diff naming `/env_vars/MODE`; delete what is not.
    struct Echo;

    impl Planner for Echo {
        fn provides(&self, type_name: &str) -> bool {
            type_name != "Unknown"
        }

        fn settler(&self, _type_name: &str) -> Option<std::sync::Arc<dyn Settle>> {
            None
        }

        fn plan(&self, _type_name: &str, input: PlanInput) -> PlanCall {
            use crate::plugin::bindings::types::FieldChange;
            Box::pin(async move {
                let (change, actions) = match &input.desired {
                    Some(desired) => (
                        Change::Create,
                        vec![Action::Ext((
                            "echo".into(),
                            "create".into(),
                            desired.clone(),
                        ))],
                    ),
                    None => (
                        Change::Delete,
                        vec![Action::RemoveContainer(input.target.name.clone())],
                    ),
                };
                Ok(Ok(ChangePlan {
                    change,
                    diff: vec![FieldChange {
                        path: "/env_vars/MODE".into(),
                        old: Some("\"a\"".into()),
                        new: Some("\"b\"".into()),
                        forces_replace: true,
                    }],
                    actions,
                    planned_state: "null".into(),
                }))
            })
        }
    }

    fn graph() -> Graph {
        use crate::model::Declared;
        Graph {
            project: Declared::boxes(&["db", "api"]),
            specs: BTreeMap::new(),
            depends_on: BTreeMap::from([(DeclId(1), vec![DeclId(0)])]),
            layers: vec![vec![DeclId(0)], vec![DeclId(1)]],
            connections: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn declared_resources_in_deploy_order_then_what_is_no_longer_declared() {
        let identity = Identity::new("p", std::path::Path::new("/p"));
        let mut state = State::empty(&identity);
        state.resources.insert(
            "old".into(),
            crate::state::ResourceState {
                type_name: "Box".into(),
                state: json!({"container": "old"}),
                depends_on: vec!["db".into()],
                updated_at: 0,
                containers: Vec::new(),
                unknown: Default::default(),
                stopped: false,
                expires_at: None,
            },
        );
        let compared = Compared {
            state: &state,
            observation: None,
        };
        let plan = plan(&graph(), &Echo, &identity, compared).await.unwrap();
        let rows: Vec<(ResourceName, ChangeKind, usize, Vec<ResourceName>)> = plan
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.change, e.layer, e.depends_on.clone()))
            .collect();
        assert_eq!(
            rows,
            [
                ("db".into(), ChangeKind::Create, 1, vec![]),
                ("api".into(), ChangeKind::Create, 2, vec!["db".into()]),
                ("old".into(), ChangeKind::Delete, 3, vec!["db".into()]),
            ]
        );
        assert_eq!(plan.entries[2].declared_at, "no longer declared");
        // The plugin was given the name among the desired fields.
        assert!(
            matches!(&plan.entries[1].actions[0], Action::Ext((_, _, d)) if d.contains("\"name\":\"api\""))
        );
        assert_eq!(plan.entries[0].changed_fields(), ["env_vars.MODE"]);
        assert_eq!(plan.entries[0].changed[0].new, Some(json!("b")));
        assert_eq!(plan.deletes_and_creates(), (1, 2));
        assert_eq!(plan.compared_with, None, "nothing was observed");
        assert_eq!(
            plan.outline(),
            json!({"db": "create (env_vars.MODE)", "api": "create (env_vars.MODE)", "old": "delete (env_vars.MODE)"})
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recorded_type_no_plugin_provides_is_named() {
        let identity = Identity::new("p", std::path::Path::new("/p"));
        let mut state = State::empty(&identity);
        state.resources.insert(
            "gone".into(),
            crate::state::ResourceState {
                type_name: "Unknown".into(),
                state: json!({}),
                depends_on: vec![],
                updated_at: 0,
                containers: Vec::new(),
                unknown: Default::default(),
                stopped: false,
                expires_at: None,
            },
        );
        let compared = Compared {
            state: &state,
            observation: None,
        };
        let err = removals(&Echo, &identity, compared).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "`gone` was deployed as a Unknown, which no loaded plugin provides; restore the plugin to change or remove it"
        );
    }

    #[test]
    fn setup_steps_run_after_what_they_name() {
        let steps = [
            step("migrate", &["schema"]),
            step("wait", &[]),
            step("schema", &["wait"]),
        ];
        assert_eq!(setup_order(&steps).unwrap(), [1, 2, 0]);
        let unknown = [step("a", &["nope"])];
        assert!(
            setup_order(&unknown)
                .unwrap_err()
                .to_string()
                .contains("`nope`")
        );
        let cycle = [step("a", &["b"]), step("b", &["a"])];
        assert!(
            setup_order(&cycle)
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
    }

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
