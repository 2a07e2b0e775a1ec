//! Executing planned changes: removals first (dependents before what they
//! depend on, unless the whole stack goes at once), then every resource as soon as its dependencies are up and
//! ready, independent ones in parallel (bounded). A failure stops only its
//! dependents; everything that succeeded is recorded.

mod job;
mod outcome;
mod readiness;

pub use outcome::{Options, Outcome, Progress, RemovalOrder, Report};

use job::{Job, run_job};
use readiness::{SeenReady, listen_for_deaths, verify_fresh};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::apply::schedule::{Task, schedule};
use crate::docker::ContainerEngine;
use crate::model::ResourceName;
use crate::model::time::now_ms;
use crate::plan::{ChangeKind as Change, Plan, Planner};
use crate::policy::Scope;
use crate::project::ProjectDir;
use crate::resolve::Graph;
use crate::state::State;

struct Shared {
    engine: Option<Arc<dyn ContainerEngine>>,
    files: Arc<ProjectDir>,
    state: Mutex<State>,
    options: Options,
    /// Containers this run created, replaced or started, by resource, with
    /// their restart count at that moment: more restarts later is a crash.
    fresh: Mutex<BTreeMap<ResourceName, BTreeMap<String, i64>>>,
    /// Readiness seen in this run, trusted until a container dies.
    seen: Mutex<SeenReady>,
    /// The state file's text as this run last wrote it.
    written: Mutex<Option<String>>,
}

impl Shared {
    fn baseline(&self, resource: &str, container: &str) -> Option<i64> {
        let fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        fresh.get(resource).and_then(|c| c.get(container)).copied()
    }
}

/// Executes `planned` and returns the report and the final state (saved
/// after every resource).
pub async fn execute(
    plan: Plan,
    graph: Option<&Graph>,
    plugins: &dyn Planner,
    engine: Option<Arc<dyn ContainerEngine>>,
    files: Arc<ProjectDir>,
    state: State,
    options: Options,
) -> (Report, State) {
    let shared = Arc::new(Shared {
        engine,
        files,
        state: Mutex::new(state),
        options,
        fresh: Mutex::default(),
        seen: Mutex::default(),
        written: Mutex::default(),
    });
    let _listening = listen_for_deaths(&shared);
    let mut removals = Vec::new();
    let mut deploys = Vec::new();
    for p in plan.entries {
        let Some(plugin) = plugins.settler(&p.type_name) else {
            continue;
        };
        let setup = match (p.decl, graph) {
            (Some(id), Some(graph)) => graph
                .connections
                .iter()
                .filter(|c| c.from == id)
                .flat_map(|c| {
                    let ends = Scope {
                        resource: p.name.clone(),
                        type_name: p.type_name.clone(),
                        containers: vec![p.name.clone(), graph.project.get(c.to).name.clone()],
                        grants: crate::model::Grants::none(),
                        tls_keys: Vec::new(),
                        overwrite: false,
                        expires_at: None,
                    };
                    let connection = graph.project.get(c.decl).name.clone();
                    // Checked at plan: an order exists.
                    let order = crate::plan::setup_order(&c.setup)
                        .unwrap_or_else(|_| (0..c.setup.len()).collect());
                    order
                        .into_iter()
                        .map(move |i| (connection.clone(), ends.clone(), c.setup[i].clone()))
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut scope = p.scope(graph);
        // A resource with a `max_duration` keeps the expiry it got when it
        // was created; a new one starts its clock now.
        scope.expires_at = p
            .decl
            .zip(graph)
            .and_then(|(id, g)| crate::reconcile::effective(&g.project, id).max_duration)
            .map(|d| {
                let recorded = shared
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.resources.get(&p.name).and_then(|r| r.expires_at));
                // Rounded up: a resource never expires before its time.
                recorded.unwrap_or((now_ms() + d.as_millis() as u64).div_ceil(1000))
            });
        let job = Job {
            planned: p,
            plugin,
            setup,
            scope,
        };
        if job.planned.decl.is_none() {
            removals.push(job)
        } else {
            deploys.push(job)
        }
    }
    let mut report = Report::default();
    // Removals: a resource goes after everything that depended on it.
    let names: BTreeSet<ResourceName> = removals.iter().map(|j| j.planned.name.clone()).collect();
    let mut reverse: BTreeMap<ResourceName, Vec<ResourceName>> = BTreeMap::new();
    let ordered = shared.options.removal_order == RemovalOrder::DependentsFirst;
    for j in removals.iter().filter(|_| ordered) {
        for dep in j.planned.depends_on.iter().filter(|d| names.contains(*d)) {
            reverse
                .entry(dep.clone())
                .or_default()
                .push(j.planned.name.clone());
        }
    }
    run_jobs(
        removals,
        |j| reverse.get(&j.planned.name).cloned().unwrap_or_default(),
        &shared,
        &mut report,
    )
    .await;
    run_jobs(
        deploys,
        |j| j.planned.depends_on.clone(),
        &shared,
        &mut report,
    )
    .await;
    verify_fresh(&shared, &mut report).await;
    let state = shared
        .state
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    (report, state)
}

/// Runs jobs as their prerequisites finish, at most `parallelism` at once
/// (see [`schedule`]), reporting progress and recording each outcome.
async fn run_jobs(
    jobs: Vec<Job>,
    prerequisites: impl Fn(&Job) -> Vec<ResourceName>,
    shared: &Arc<Shared>,
    report: &mut Report,
) {
    let changes: BTreeMap<ResourceName, Change> = jobs
        .iter()
        .map(|j| (j.planned.name.clone(), j.planned.change))
        .collect();
    let tasks = jobs
        .into_iter()
        .map(|job| Task {
            name: job.planned.name.clone(),
            after: prerequisites(&job),
            job,
        })
        .collect();
    let progress = shared.options.progress.clone();
    let finished = schedule(
        tasks,
        shared.options.parallelism,
        &shared.options.cancel,
        |job| {
            let shared = Arc::clone(shared);
            async move {
                let name = job.planned.name.clone();
                let change = job.planned.change;
                let started = Instant::now();
                if change != Change::None {
                    (shared.options.progress)(Progress::Started {
                        name: name.clone(),
                        change,
                    });
                }
                let outcome = run_job(job, &shared).await;
                (shared.options.progress)(Progress::Finished {
                    name,
                    change,
                    outcome: outcome.clone(),
                    elapsed: started.elapsed(),
                });
                outcome
            }
        },
        |name, job, reason| {
            progress(Progress::Finished {
                name: name.clone(),
                change: job.planned.change,
                outcome: Outcome::Skipped(reason.to_string()),
                elapsed: Duration::ZERO,
            })
        },
    )
    .await;
    for (name, outcome, elapsed) in finished {
        let change = changes.get(&name).copied().unwrap_or(Change::None);
        report.results.push((name, change, outcome, elapsed));
    }
}

#[cfg(test)]
mod tests {
    //! The executor with plain data: a planner that plans one container
    //! per resource, and an Engine that records what it is asked and fails
    //! where told.

    use std::collections::BTreeSet;

    use crate::apply::schedule::Cancel;

    use clockwork_schema::actions::{ContainerSpec, ExecSpec, NetworkSpec, VolumeSpec, WaitSpec};
    use serde_json::{Value as Json, json};

    use super::*;
    use crate::docker::{ContainerScope, EngineCall, EngineError, ExecOutput, Readiness};
    use crate::model::{DeclId, Declared};
    use crate::plan::Settle;
    use crate::plan::{Compared, PlanCall, SettleCall};
    use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::ActionResult;
    use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::{
        Change as PluginChange, ChangePlan, PlanInput,
    };
    use crate::plugin::bindings::types::Action;
    use crate::project::Identity;

    /// Plans a container per resource (`none` when `unchanged` names it)
    /// and settles to `{"settled": <container id>}`.
    struct Containers {
        unchanged: BTreeSet<String>,
    }

    struct Settler;

    impl Settle for Settler {
        fn settle<'a>(
            &'a self,
            _input: &'a PlanInput,
            _plan: &'a ChangePlan,
            results: &'a [ActionResult],
        ) -> SettleCall<'a> {
            Box::pin(async move {
                let id = results.iter().find_map(|r| {
                    serde_json::from_str::<Json>(&r.output).ok()?["id"]
                        .as_str()
                        .map(str::to_string)
                });
                Ok(Ok(json!({ "settled": id }).to_string()))
            })
        }
    }

    impl Planner for Containers {
        fn provides(&self, _type_name: &str) -> bool {
            true
        }

        fn plan(&self, _type_name: &str, input: PlanInput) -> PlanCall {
            let name = input.target.name.clone();
            let unchanged = self.unchanged.contains(&name);
            Box::pin(async move {
                let spec = json!({"name": name, "image": "busybox:latest"}).to_string();
                Ok(Ok(if unchanged {
                    ChangePlan {
                        change: PluginChange::None,
                        diff: Vec::new(),
                        actions: Vec::new(),
                        planned_state: json!({"kept": name}).to_string(),
                    }
                } else {
                    ChangePlan {
                        change: PluginChange::Create,
                        diff: Vec::new(),
                        actions: vec![Action::EnsureContainer(spec)],
                        planned_state: "null".into(),
                    }
                }))
            })
        }

        fn settler(&self, _type_name: &str) -> Option<Arc<dyn Settle>> {
            Some(Arc::new(Settler))
        }
    }

    /// Records every call; `ensure_container` fails for `failing`; hears
    /// deaths (none come) when `hears_deaths`.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        failing: BTreeSet<String>,
        hears_deaths: bool,
    }

    impl Recorder {
        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    fn done<'a, T: Send + 'a>(value: T) -> EngineCall<'a, T> {
        Box::pin(async move { Ok(value) })
    }

    impl ContainerEngine for Recorder {
        fn ensure_image<'a>(&'a self, image: &'a str) -> EngineCall<'a, Json> {
            self.record(format!("image {image}"));
            done(json!({}))
        }
        fn ensure_network<'a>(&'a self, _spec: &'a NetworkSpec) -> EngineCall<'a, Json> {
            done(json!({}))
        }
        fn ensure_volume<'a>(&'a self, _spec: &'a VolumeSpec) -> EngineCall<'a, Json> {
            done(json!({}))
        }
        fn ensure_container<'a>(
            &'a self,
            owner: &'a Scope,
            spec: &'a ContainerSpec,
            _grace: Duration,
        ) -> EngineCall<'a, Json> {
            self.record(format!("ensure {} for {}", spec.name, owner.resource));
            let failing = self.failing.contains(&spec.name);
            let name = spec.name.clone();
            Box::pin(async move {
                if failing {
                    Err(EngineError::call(
                        "start container",
                        &name,
                        "it would not start",
                    ))
                } else {
                    Ok(json!({"id": format!("id-{name}"), "restart_count": 0}))
                }
            })
        }
        fn remove_container<'a>(
            &'a self,
            resource: &'a str,
            name: &'a str,
            _grace: Duration,
        ) -> EngineCall<'a, Json> {
            self.record(format!("remove {name} of {resource}"));
            done(json!({"removed": true}))
        }
        fn remove_network<'a>(&'a self, _name: &'a str) -> EngineCall<'a, ()> {
            done(())
        }
        fn remove_volume<'a>(&'a self, _name: &'a str) -> EngineCall<'a, ()> {
            done(())
        }
        fn exec<'a>(
            &'a self,
            _spec: &'a ExecSpec,
            _scope: ContainerScope<'a>,
        ) -> EngineCall<'a, ExecOutput> {
            done(ExecOutput {
                code: 0,
                output: String::new(),
            })
        }
        fn wait<'a>(
            &'a self,
            _spec: &'a WaitSpec,
            _scope: ContainerScope<'a>,
        ) -> EngineCall<'a, Json> {
            done(json!({}))
        }
        fn containers_of<'a>(&'a self, resource: &'a str) -> EngineCall<'a, Vec<String>> {
            done(vec![resource.to_string()])
        }
        fn wait_ready<'a>(
            &'a self,
            name: &'a str,
            _healthy: bool,
            _deadline: Duration,
            _readiness: Readiness,
        ) -> EngineCall<'a, ()> {
            self.record(format!("ready {name}"));
            done(())
        }
        fn trouble<'a>(
            &'a self,
            _name: &'a str,
            _baseline: Option<i64>,
        ) -> EngineCall<'a, Option<String>> {
            done(None)
        }
        fn deaths(&self) -> Option<crate::docker::Deaths> {
            use futures::StreamExt;
            self.hears_deaths
                .then(|| futures::stream::pending::<String>().boxed())
        }
    }

    /// `names[i]` depends on `names[i - 1]`.
    fn chain(names: &[&str]) -> Graph {
        Graph {
            project: Declared::boxes(names),
            specs: BTreeMap::new(),
            depends_on: (1..names.len())
                .map(|i| (DeclId(i), vec![DeclId(i - 1)]))
                .collect(),
            layers: (0..names.len()).map(|i| vec![DeclId(i)]).collect(),
            connections: Vec::new(),
        }
    }

    fn options() -> Options {
        Options {
            parallelism: 4,
            grace: Duration::ZERO,
            ready_timeout: Duration::from_secs(1),
            progress: Arc::new(|_| {}),
            cancel: Cancel::default(),
            removal_order: RemovalOrder::DependentsFirst,
        }
    }

    async fn run(
        graph: &Graph,
        planner: &Containers,
        engine: Arc<Recorder>,
    ) -> (Report, State, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let files = Arc::new(ProjectDir::open(&root).unwrap());
        let identity = Identity::new("p", &root);
        let state = State::empty(&identity);
        let compared = Compared {
            state: &state,
            observation: None,
        };
        let plan = crate::plan::plan(graph, planner, &identity, compared)
            .await
            .unwrap();
        let (report, state) = execute(
            plan,
            Some(graph),
            planner,
            Some(engine as Arc<dyn ContainerEngine>),
            files,
            state,
            options(),
        )
        .await;
        (report, state, tmp)
    }

    fn outcome<'r>(report: &'r Report, name: &str) -> &'r Outcome {
        &report
            .results
            .iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", report.results))
            .2
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_stops_only_what_depends_on_it_and_success_is_recorded() {
        // cache depends on nothing; api on db, web on api.
        let mut both = chain(&["db", "api", "web", "cache"]);
        both.depends_on.remove(&DeclId(3));
        both.layers = vec![vec![DeclId(0), DeclId(3)], vec![DeclId(1)], vec![DeclId(2)]];
        let planner = Containers {
            unchanged: BTreeSet::new(),
        };
        let engine = Arc::new(Recorder {
            failing: BTreeSet::from(["api".to_string()]),
            ..Recorder::default()
        });
        let (report, state, tmp) = run(&both, &planner, engine.clone()).await;
        assert_eq!(outcome(&report, "db"), &Outcome::Done);
        assert_eq!(outcome(&report, "cache"), &Outcome::Done);
        assert!(
            matches!(outcome(&report, "api"), Outcome::Failed(why) if why.contains("it would not start")),
            "{:?}",
            report.results
        );
        assert!(
            matches!(outcome(&report, "web"), Outcome::Skipped(why) if why.contains("`api`")),
            "{:?}",
            report.results
        );
        assert!(report.failed());
        // web was never attempted; api waited for db to be ready first.
        let calls = engine.calls();
        assert!(!calls.iter().any(|c| c.contains("web")), "{calls:?}");
        let ready_db = calls.iter().position(|c| c == "ready db").unwrap();
        let ensure_api = calls
            .iter()
            .position(|c| c == "ensure api for api")
            .unwrap();
        assert!(ready_db < ensure_api, "{calls:?}");
        // What succeeded is recorded, with what settle made of the results,
        // on disk as in memory.
        assert_eq!(state.resources["db"].state, json!({"settled": "id-db"}));
        assert!(!state.resources.contains_key("api") && !state.resources.contains_key("web"));
        let saved: Json = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join(".clockwork/state.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            saved["resources"]["cache"]["state"],
            json!({"settled": "id-cache"})
        );
        let journal = std::fs::read_to_string(tmp.path().join(".clockwork/journal.jsonl")).unwrap();
        assert!(
            journal
                .lines()
                .any(|l| l.contains("\"resource\":\"api\"") && l.contains("\"failed\"")),
            "{journal}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dependents_trust_readiness_seen_while_deaths_are_heard() {
        // api and web both depend on db.
        let mut fan = chain(&["db", "api", "web"]);
        fan.depends_on.insert(DeclId(2), vec![DeclId(0)]);
        fan.layers = vec![vec![DeclId(0)], vec![DeclId(1), DeclId(2)]];
        let planner = Containers {
            unchanged: BTreeSet::new(),
        };
        let checks_of_db = |engine: &Recorder| {
            engine
                .calls()
                .iter()
                .filter(|c| c.as_str() == "ready db")
                .count()
        };
        let hearing = Arc::new(Recorder {
            hears_deaths: true,
            ..Recorder::default()
        });
        let (report, _, _tmp) = run(&fan, &planner, hearing.clone()).await;
        assert!(!report.failed(), "{:?}", report.results);
        assert_eq!(checks_of_db(&hearing), 1, "{:?}", hearing.calls());
        let deaf = Arc::new(Recorder::default());
        let (report, _, _tmp) = run(&fan, &planner, deaf.clone()).await;
        assert!(!report.failed(), "{:?}", report.results);
        assert_eq!(checks_of_db(&deaf), 3, "{:?}", deaf.calls());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unchanged_resource_is_recorded_as_planned_without_settle_or_engine_calls() {
        let graph = chain(&["db", "api"]);
        let planner = Containers {
            unchanged: BTreeSet::from(["db".to_string()]),
        };
        let engine = Arc::new(Recorder::default());
        let (report, state, _tmp) = run(&graph, &planner, engine.clone()).await;
        assert_eq!(outcome(&report, "db"), &Outcome::Unchanged);
        assert_eq!(outcome(&report, "api"), &Outcome::Done);
        assert_eq!(state.resources["db"].state, json!({"kept": "db"}));
        assert_eq!(state.resources["api"].depends_on, ["db"]);
        let calls = engine.calls();
        assert!(
            !calls.iter().any(|c| c.starts_with("ensure db")),
            "{calls:?}"
        );
        // An unchanged dependency is still waited for: a killed apply may
        // have left it starting.
        assert!(calls.iter().any(|c| c == "ready db"), "{calls:?}");
    }
}
