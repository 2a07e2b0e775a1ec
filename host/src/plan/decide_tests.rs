//! The deciding half of the plan stage with plain answers: a [`Planner`]
//! whose plans each test writes and which keeps what it was asked, a
//! graph from the fixture builder, a state written by hand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::decide::project_json;
use super::*;
use crate::docker::observe::ObservedContainer;
use crate::model::{Declaration, Declared, PluginKind};
use crate::plugin::bindings::types::{FieldChange, PluginError};
use crate::plugin::{CallError, CallFailure};
use crate::resolve::ResolvedConnection;
use crate::state::ResourceState;

type Reply = Result<Result<ChangePlan, PluginError>, CallError>;

/// A planner answering each resource (by name) with what `answer` says,
/// after `delay` when one is set; it records every input it was given and
/// the order in which its answers were ready.
struct Fixed {
    answer: Box<dyn Fn(&PlanInput) -> Reply + Send + Sync>,
    delay: BTreeMap<&'static str, u64>,
    asked: Arc<Mutex<Vec<PlanInput>>>,
    ended: Arc<Mutex<Vec<String>>>,
}

impl Fixed {
    fn answering(answer: impl Fn(&PlanInput) -> Reply + Send + Sync + 'static) -> Fixed {
        Fixed {
            answer: Box::new(answer),
            delay: BTreeMap::new(),
            asked: Arc::default(),
            ended: Arc::default(),
        }
    }

    /// Every resource: `change`, with no actions and no diff.
    fn all(change: Change) -> Fixed {
        Fixed::answering(move |_| Ok(Ok(change_plan(change, Vec::new()))))
    }

    fn asked(&self, name: &str) -> PlanInput {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.target.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("`{name}` was not planned"))
    }
}

impl Planner for Fixed {
    fn provides(&self, type_name: &str) -> bool {
        type_name == "Box"
    }

    fn plan(&self, _type_name: &str, input: PlanInput) -> PlanCall {
        self.asked.lock().unwrap().push(input.clone());
        let reply = (self.answer)(&input);
        let delay = self
            .delay
            .get(input.target.name.as_str())
            .copied()
            .unwrap_or(0);
        let ended = Arc::clone(&self.ended);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            ended.lock().unwrap().push(input.target.name.clone());
            reply
        })
    }

    fn settler(&self, _type_name: &str) -> Option<Arc<dyn Settle>> {
        None
    }
}

fn change_plan(change: Change, diff: Vec<FieldChange>) -> ChangePlan {
    ChangePlan {
        change,
        diff,
        actions: Vec::new(),
        planned_state: "null".into(),
    }
}

fn diff(path: &str, old: Json, new: Json) -> FieldChange {
    FieldChange {
        path: path.into(),
        old: Some(old.to_string()),
        new: Some(new.to_string()),
        forces_replace: false,
    }
}

fn identity() -> Identity {
    Identity::new("p", std::path::Path::new("/p"))
}

/// `db` (line 1) and `api` (line 2, on `db`), each a layer; `db` has the
/// spec `{"image": "postgres"}`.
fn graph() -> Graph {
    let project = Declared::boxes(&["db", "api"]);
    let mut db = Spec::from_declaration(project.get(DeclId(0)));
    db.fields.insert("image".into(), json!("postgres"));
    Graph {
        specs: BTreeMap::from([
            (DeclId(0), db),
            (DeclId(1), Spec::from_declaration(project.get(DeclId(1)))),
        ]),
        project,
        depends_on: BTreeMap::from([(DeclId(1), vec![DeclId(0)])]),
        layers: vec![vec![DeclId(0)], vec![DeclId(1)]],
        connections: Vec::new(),
    }
}

fn recorded(type_name: &str, state: Json) -> ResourceState {
    ResourceState {
        type_name: type_name.into(),
        state,
        depends_on: Vec::new(),
        updated_at: 0,
        containers: Vec::new(),
        unknown: Default::default(),
        stopped: false,
        expires_at: None,
    }
}

fn container(name: &str, type_name: Option<&str>) -> ObservedContainer {
    ObservedContainer {
        type_name: type_name.map(str::to_string),
        ..ObservedContainer::fixture(name)
    }
}

async fn planned(graph: &Graph, planner: &Fixed, state: &State) -> Result<Plan, PlanError> {
    let compared = Compared {
        state,
        observation: None,
    };
    plan(graph, planner, &identity(), compared).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_given_its_spec_with_the_name_the_recorded_state_and_the_project() {
    let identity = identity();
    let mut state = State::empty(&identity);
    state
        .resources
        .insert("db".into(), recorded("Box", json!({"container": "db"})));
    let planner = Fixed::all(Change::None);
    planned(&graph(), &planner, &state).await.expect("plans");

    let db = planner.asked("db");
    assert_eq!(db.target.type_name, "Box");
    let desired: Json = serde_json::from_str(db.desired.as_deref().expect("desired")).unwrap();
    assert_eq!(desired, json!({"image": "postgres", "name": "db"}));
    let prior: Json = serde_json::from_str(db.prior.as_deref().expect("prior")).unwrap();
    assert_eq!(prior, json!({"container": "db"}));
    assert_eq!(db.observed, None, "nothing was observed");
    let project: Json = serde_json::from_str(&db.project).unwrap();
    assert_eq!(project["name"], "p");
    assert_eq!(project["network"], json!(identity.default_network()));

    assert_eq!(planner.asked("api").prior, None, "never deployed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_state_of_null_is_not_passed_on_as_a_prior_state() {
    let mut state = State::empty(&identity());
    state
        .resources
        .insert("db".into(), recorded("Box", Json::Null));
    let planner = Fixed::all(Change::None);
    planned(&graph(), &planner, &state).await.expect("plans");
    assert_eq!(planner.asked("db").prior, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_keeps_deploy_order_when_a_later_answer_is_ready_first() {
    let mut planner = Fixed::all(Change::Create);
    planner.delay.insert("db", 80);
    let plan = planned(&graph(), &planner, &State::empty(&identity()))
        .await
        .expect("plans");
    assert_eq!(*planner.ended.lock().unwrap(), ["api", "db"], "api first");
    let names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["db", "api"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_located_at_the_declaration_it_is_about() {
    let planner = Fixed::answering(|input| {
        Ok(if input.target.name == "api" {
            Err(PluginError::Failed("no image to run".into()))
        } else {
            Ok(change_plan(Change::Create, Vec::new()))
        })
    });
    let graph = graph();
    let err = planned(&graph, &planner, &State::empty(&identity()))
        .await
        .unwrap_err();
    let PlanError::Refused { decl, .. } = &err else {
        panic!("a refusal, not {err:?}");
    };
    assert_eq!(*decl, Some(DeclId(1)));
    let text = Arc::new("db = Box()\napi = Box()\n".to_string());
    let sources = crate::load::Sources::from([("main.star".to_string(), Arc::clone(&text))]);
    let located = err.located(&graph, &sources).expect("located");
    assert_eq!(located.message, "`api` (Box): no image to run");
    assert_eq!(located.location.line, 2);
    assert_eq!(located.source, Some(text), "with the text for a snippet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_about_a_resource_no_longer_declared_cannot_be_located() {
    let planner = Fixed::answering(|input| {
        Ok(match &input.desired {
            Some(_) => Ok(change_plan(Change::None, Vec::new())),
            None => Err(PluginError::Denied("keeps its data".into())),
        })
    });
    let mut state = State::empty(&identity());
    state
        .resources
        .insert("old".into(), recorded("Box", json!({})));
    let graph = graph();
    let err = planned(&graph, &planner, &state).await.unwrap_err();
    assert!(
        matches!(&err, PlanError::Refused { decl: None, resource, .. } if resource.as_str() == "old"),
        "{err:?}"
    );
    let err = err
        .located(&graph, &crate::load::Sources::new())
        .unwrap_err();
    assert!(err.to_string().starts_with("old (Box): "), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_fails_to_answer_is_a_plugin_failure_not_a_refusal() {
    let planner = Fixed::answering(|input| {
        Err(CallError {
            plugin: "box".into(),
            call: "plan",
            target: Some(input.target.name.clone()),
            failure: CallFailure::StackOverflow,
        })
    });
    let err = planned(&graph(), &planner, &State::empty(&identity()))
        .await
        .unwrap_err();
    assert!(matches!(err, PlanError::Plugin(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin `box` overflowed its stack in `plan` for `db`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_type_no_plugin_provides_stops_planning_before_any_plugin_call_runs() {
    let mut project = Declared::boxes(&["db"]);
    project
        .declarations
        .push(Declaration::fixture(1, PluginKind::Resource, "Gone", "x"));
    let graph = Graph {
        project,
        specs: BTreeMap::new(),
        depends_on: BTreeMap::new(),
        layers: vec![vec![DeclId(0), DeclId(1)]],
        connections: Vec::new(),
    };
    let planner = Fixed::all(Change::Create);
    let err = planned(&graph, &planner, &State::empty(&identity()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PlanError::UnknownType { resource, .. } if resource.as_str() == "x"),
        "{err:?}"
    );
    assert!(planner.ended.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_take_every_recorded_resource_and_labelled_containers_the_state_lost() {
    let identity = identity();
    let mut state = State::empty(&identity);
    let mut db = recorded("Box", json!({"container": "db"}));
    db.depends_on = vec!["net".into()];
    state.resources.insert("db".into(), db);
    let mut observation = Observation::default();
    observation
        .containers
        .insert("stray".into(), vec![container("stray", Some("Box"))]);
    // No type label: no plugin can be said to have made it.
    observation
        .containers
        .insert("unlabelled".into(), vec![container("unlabelled", None)]);
    let planner = Fixed::all(Change::Delete);
    let compared = Compared {
        state: &state,
        observation: Some(&observation),
    };
    let plan = removals(&planner, &identity, compared)
        .await
        .expect("plans");
    let rows: Vec<(&str, ChangeKind, usize, Vec<ResourceName>)> = plan
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.change, e.layer, e.depends_on.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("db", ChangeKind::Delete, 1, vec!["net".into()]),
            ("stray", ChangeKind::Delete, 1, vec![]),
        ]
    );
    let stray = planner.asked("stray");
    assert_eq!((stray.desired, stray.prior), (None, None));
    let observed: Json =
        serde_json::from_str(stray.observed.as_deref().expect("observed")).unwrap();
    assert_eq!(observed["containers"][0]["name"], "stray");
    assert_eq!(
        plan.compared_with.as_deref(),
        Some("the Docker Engine and .clockwork/state.json")
    );
    assert_eq!(plan.declared(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_a_secret_alone_is_shown_but_hidden_behind_a_visible_one() {
    let password = |p: &str| json!(format!("postgresql://app:{p}@db:5432/app"));
    let only_secret = Fixed::answering(move |_| {
        Ok(Ok(change_plan(
            Change::Update,
            vec![diff("/env/URL", password("one"), password("two"))],
        )))
    });
    let plan = planned(&graph(), &only_secret, &State::empty(&identity()))
        .await
        .expect("plans");
    assert_eq!(plan.entries[0].changed_fields(), ["env.URL"], "a rotation");

    let both = Fixed::answering(move |_| {
        Ok(Ok(change_plan(
            Change::Replace,
            vec![
                diff("/env/URL", password("one"), password("two")),
                diff("/image", json!("postgres:15"), json!("postgres:16")),
            ],
        )))
    });
    let plan = planned(&graph(), &both, &State::empty(&identity()))
        .await
        .expect("plans");
    assert_eq!(plan.entries[0].changed_fields(), ["image"]);
    assert_eq!(plan.outline()["db"], "replace (image)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_counts_each_change_and_the_whole_diff_is_not_a_field() {
    let planner = Fixed::answering(|input| {
        Ok(Ok(if input.target.name == "db" {
            change_plan(Change::None, Vec::new())
        } else {
            change_plan(Change::Create, vec![diff("/", Json::Null, json!({}))])
        }))
    });
    let plan = planned(&graph(), &planner, &State::empty(&identity()))
        .await
        .expect("plans");
    assert_eq!(
        plan.summary(),
        BTreeMap::from([("to create", 1), ("unchanged", 1)])
    );
    assert!(plan.entries[1].changed_fields().is_empty());
    assert_eq!(plan.outline(), json!({"db": "none", "api": "create"}));
}

#[test]
fn the_project_a_plugin_is_given_names_the_networks_and_volumes_connections_declare() {
    use clockwork_schema::actions::{NetworkSpec, VolumeSpec};
    let mut graph = graph();
    let network: NetworkSpec =
        serde_json::from_value(json!({"name": "backend", "internal": true})).unwrap();
    let volume: VolumeSpec = serde_json::from_value(json!({"name": "data"})).unwrap();
    graph.connections.push(ResolvedConnection {
        decl: DeclId(1),
        from: DeclId(1),
        to: DeclId(0),
        outputs: Vec::new(),
        setup: Vec::new(),
        assertions: Vec::new(),
        networks: vec![network],
        volumes: vec![volume],
        tls: Vec::new(),
    });
    let project = super::decide::project_json_of(&identity(), &graph);
    assert_eq!(project["name"], "p");
    assert_eq!(project["networks"]["backend"]["internal"], true);
    assert_eq!(project["volumes"]["data"]["name"], "data");
    assert_eq!(
        project_json(&identity()).get("networks"),
        None,
        "only with a graph"
    );
}
