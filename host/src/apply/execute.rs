//! Executing planned changes: removals first (dependents before what they
//! depend on, unless the whole stack goes at once), then every resource as soon as its dependencies are up and
//! ready, independent ones in parallel (bounded). A failure stops only its
//! dependents; everything that succeeded is recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clockwork_schema::actions::ContainerSpec;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::apply::act::Actor;
use crate::apply::schedule::{Cancel, Task, schedule};
use crate::docker::{Engine, Readiness};
use crate::plan::{ChangeKind as Change, Plan, PlanEntry, describe};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    RunWhen, SetupStep,
};
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::ActionResult;
use crate::plugin::bindings::types::Action;
use crate::plugin::{LoadedPlugin, PluginSet};
use crate::policy::{Scope, scope_of};
use crate::project::ProjectDir;
use crate::resolve::Graph;
use crate::state::{ResourceState, State, journal, now_ms};

/// How one resource ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its change was made.
    Done,
    /// Nothing needed doing.
    Unchanged,
    /// It failed; the message says why.
    Failed(String),
    /// It was not attempted because a dependency failed.
    Skipped(String),
}

/// A progress event, for the output.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Work on a resource began.
    Started {
        /// The resource.
        name: String,
        /// Its change.
        change: Change,
    },
    /// Something the user should know that is not a failure (a file
    /// changed by hand and therefore kept).
    Warning {
        /// The resource.
        name: String,
        /// What happened.
        message: String,
    },
    /// A resource moved on to an action or a wait.
    Step {
        /// The resource.
        name: String,
        /// What it does now, e.g. `ensure image postgres:15-alpine`.
        step: String,
    },
    /// A resource is finished.
    Finished {
        /// The resource.
        name: String,
        /// Its change.
        change: Change,
        /// How it ended.
        outcome: Outcome,
        /// How long it took.
        elapsed: Duration,
    },
}

/// What happened to every resource.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Name → (change, outcome, time), in completion order.
    pub results: Vec<(String, Change, Outcome, Duration)>,
    /// Project networks and volumes a destroy could not remove, and why.
    pub leftovers: Vec<String>,
}

impl Report {
    /// Whether anything failed, was skipped or was left behind.
    pub fn failed(&self) -> bool {
        !self.leftovers.is_empty()
            || self
                .results
                .iter()
                .any(|(_, _, o, _)| matches!(o, Outcome::Failed(_) | Outcome::Skipped(_)))
    }
}

/// Options of an execution.
#[derive(Clone)]
pub struct Options {
    /// Resources worked on at once.
    pub parallelism: usize,
    /// Stop grace period for containers.
    pub grace: Duration,
    /// How long a container may take to become ready.
    pub ready_timeout: Duration,
    /// Where progress goes.
    pub progress: Arc<dyn Fn(Progress) + Send + Sync>,
    /// Set to stop starting new work (what runs finishes).
    pub cancel: Cancel,
    /// Whether removals wait for their dependents.
    pub removal_order: RemovalOrder,
}

/// The order resources are removed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovalOrder {
    /// A resource goes after everything that depended on it, one layer at
    /// a time: what `apply` does with resources no longer declared, while
    /// the rest of the stack keeps running.
    #[default]
    DependentsFirst,
    /// Everything at once (within the parallelism): for taking a whole
    /// stack down, where every stop costs its grace and nothing outlives
    /// the run.
    AllAtOnce,
}

/// Everything one resource's job needs, owned, so jobs can run on any thread.
struct Job {
    planned: PlanEntry,
    plugin: Arc<LoadedPlugin>,
    /// Setup steps of its connections: (connection, the scope of both
    /// ends, the step).
    setup: Vec<(String, Scope, SetupStep)>,
    scope: Scope,
}

struct Shared {
    engine: Option<Engine>,
    files: Arc<ProjectDir>,
    state: Mutex<State>,
    options: Options,
    /// Containers this run created, replaced or started, by resource, with
    /// their restart count at that moment: more restarts later is a crash.
    fresh: Mutex<BTreeMap<String, BTreeMap<String, i64>>>,
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
    plugins: &PluginSet,
    engine: Option<Engine>,
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
    });
    let mut removals = Vec::new();
    let mut deploys = Vec::new();
    for p in plan.entries {
        let Some(plugin) = plugins.for_type(&p.type_name).cloned() else {
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
                        user_paths: Vec::new(),
                        overwrite: false,
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
        let scope = scope_of(&p, graph);
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
    let names: BTreeSet<String> = removals.iter().map(|j| j.planned.name.clone()).collect();
    let mut reverse: BTreeMap<String, Vec<String>> = BTreeMap::new();
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

/// A container can be "running" for the few milliseconds before its
/// process fails. Once everything is deployed, every container this run
/// started has to still run (and not have been restarted after a crash);
/// those that do not turn their resource into a failure, with the output
/// that says why.
async fn verify_fresh(shared: &Shared, report: &mut Report) {
    let Some(engine) = shared.engine.as_ref() else {
        return;
    };
    let fresh: Vec<(String, BTreeMap<String, i64>)> = shared
        .fresh
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(r, c)| (r.clone(), c.clone()))
        .collect();
    for (resource, containers) in fresh {
        let mut trouble = None;
        for (container, baseline) in containers {
            match engine.trouble(&container, Some(baseline)).await {
                Ok(None) => {}
                Ok(Some(why)) => trouble = Some(why),
                Err(e) => trouble = Some(e.to_string()),
            }
        }
        let Some(why) = trouble else { continue };
        if let Some(entry) = report.results.iter_mut().find(|r| r.0 == resource) {
            entry.2 = Outcome::Failed(why.clone());
            (shared.options.progress)(Progress::Finished {
                name: resource.clone(),
                change: entry.1,
                outcome: Outcome::Failed(why),
                elapsed: entry.3,
            });
        }
    }
}

/// Runs jobs as their prerequisites finish, at most `parallelism` at once
/// (see [`schedule`]), reporting progress and recording each outcome.
async fn run_jobs(
    jobs: Vec<Job>,
    prerequisites: impl Fn(&Job) -> Vec<String>,
    shared: &Arc<Shared>,
    report: &mut Report,
) {
    let changes: BTreeMap<String, Change> = jobs
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
                name: name.to_string(),
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

/// The key and content hash of a setup step that runs once per content:
/// the action as the plugin wrote it and the file it feeds in, so a
/// changed schema runs again. A file that cannot be read is an error, not
/// an empty file.
fn setup_hash(
    connection: &str,
    step: &SetupStep,
    files: &ProjectDir,
) -> Result<(String, String), String> {
    let mut hasher = Sha256::new();
    hasher.update(
        crate::plan::action_json(&step.action)
            .to_string()
            .as_bytes(),
    );
    if let Action::Exec(spec) = &step.action
        && let Ok(v) = serde_json::from_str::<Json>(spec)
        && let Some(file) = v["stdin_file"].as_str()
    {
        let rel = ProjectDir::relative(file).map_err(|e| e.to_string())?;
        hasher.update(files.read(&rel).map_err(|e| e.to_string())?);
    }
    Ok((
        format!("{connection}/{}", step.id),
        hex::encode(hasher.finalize()),
    ))
}

async fn run_job(job: Job, shared: &Shared) -> Outcome {
    let actor = Actor {
        engine: shared.engine.as_ref(),
        files: &shared.files,
        state: &shared.state,
        grace: shared.options.grace,
    };
    let name = job.planned.name.clone();
    let change = job.planned.change;
    let log = |what: &str, status: &str, detail: Json| {
        journal(
            &shared.files,
            &json!({"time": now_ms(), "resource": name, "action": what, "status": status, "detail": detail}),
        );
        if status == "started" {
            (shared.options.progress)(Progress::Step {
                name: name.clone(),
                step: what.to_string(),
            });
        }
    };

    // What this depends on has to be up and ready now: also when this
    // apply left it unchanged (a container a killed apply started may still
    // be starting), and it must not have crashed since it was.
    if job.planned.decl.is_some()
        && change != Change::None
        && let Some(engine) = shared.engine.as_ref()
    {
        for dep in &job.planned.depends_on {
            let containers = match engine.containers_of(dep).await {
                Ok(c) => c,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            for c in containers {
                log(&format!("wait for {dep}"), "started", Json::Null);
                let ready = engine
                    .wait_ready(
                        &c,
                        true,
                        shared.options.ready_timeout,
                        Readiness {
                            baseline: shared.baseline(dep, &c),
                        },
                    )
                    .await;
                if let Err(e) = ready {
                    return Outcome::Skipped(format!("depends on `{dep}`: {e}"));
                }
            }
        }
    }

    // Connection setup: after the other end is up (the graph saw to it),
    // before this resource starts.
    let mut new_hashes = Vec::new();
    for (connection, scope, step) in &job.setup {
        let run = match step.when {
            RunWhen::EveryApply => change != Change::None,
            RunWhen::OnCreate => matches!(change, Change::Create | Change::Replace),
            RunWhen::OncePerContent => {
                let (key, hash) = match setup_hash(connection, step, &shared.files) {
                    Ok(keyed) => keyed,
                    Err(e) => return Outcome::Failed(format!("{connection}: {}: {e}", step.id)),
                };
                let done = shared
                    .state
                    .lock()
                    .map(|s| s.setup.get(&key) == Some(&hash))
                    .unwrap_or(false);
                if !done {
                    new_hashes.push((key, hash));
                }
                !done
            }
        };
        if !run {
            continue;
        }
        let what = format!("{connection}: {}", step.id);
        log(&what, "started", Json::Null);
        if let Err(e) = actor.act(scope, &step.action).await {
            log(&what, "failed", json!(e.to_string()));
            return Outcome::Failed(format!("{what}: {e}"));
        }
        log(&what, "done", Json::Null);
    }

    let mut results = Vec::new();
    let mut container: Option<(ContainerSpec, Option<i64>)> = None;
    for (index, action) in job.planned.actions.iter().enumerate() {
        let what = describe(action);
        log(&what, "started", Json::Null);
        match actor.act(&job.scope, action).await {
            Ok(output) => {
                log(&what, "done", output.clone());
                if let Some(kept) = output.get("kept").and_then(Json::as_str) {
                    (shared.options.progress)(Progress::Warning {
                        name: name.clone(),
                        message: kept.to_string(),
                    });
                }
                if let Action::EnsureContainer(spec) = action
                    && let Ok(spec) = serde_json::from_str::<ContainerSpec>(spec)
                {
                    let baseline = output.get("restart_count").and_then(Json::as_i64);
                    container = Some((spec, baseline));
                }
                results.push(ActionResult {
                    index: index as u32,
                    ok: true,
                    output: output.to_string(),
                });
            }
            Err(e) => {
                log(&what, "failed", json!(e.to_string()));
                // What was written before the failure is recorded: a file
                // Clockwork wrote stays known as its own.
                let saved = shared
                    .state
                    .lock()
                    .map_err(|_| "the state is poisoned".to_string())
                    .and_then(|state| state.save(&shared.files).map_err(|e| e.to_string()));
                return Outcome::Failed(match saved {
                    Ok(()) => e.to_string(),
                    Err(why) => format!("{e} (and the state could not be saved: {why})"),
                });
            }
        }
    }

    // Ready before dependents start: running, and healthy when it has a
    // health check (a container allowed to exit need not keep running).
    if let (Some((spec, baseline)), Some(engine)) = (&container, shared.engine.as_ref()) {
        if let Some(baseline) = baseline {
            shared
                .fresh
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(name.clone())
                .or_default()
                .insert(spec.name.clone(), *baseline);
        }
        if spec.must_run
            && let Err(e) = engine
                .wait_ready(
                    &spec.name,
                    spec.healthcheck.is_some(),
                    shared.options.ready_timeout,
                    Readiness {
                        baseline: *baseline,
                    },
                )
                .await
        {
            log("wait until ready", "failed", json!(e.to_string()));
            return Outcome::Failed(e.to_string());
        }
    }

    let settled = if job.planned.actions.is_empty() {
        Ok(job.planned.decided.planned_state.clone())
    } else {
        match job
            .plugin
            .settle(&job.planned.input, &job.planned.decided, &results)
            .await
        {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(e)) => Err(format!("settle: {}", e.message())),
            Err(e) => Err(e.to_string()),
        }
    };
    let new_state = match settled.and_then(|s| {
        serde_json::from_str::<Json>(&s).map_err(|e| format!("settle returned invalid JSON: {e}"))
    }) {
        Ok(state) => state,
        Err(e) => return Outcome::Failed(e),
    };
    let save = {
        let mut state = match shared.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if new_state.is_null() {
            state.resources.remove(&name);
        } else {
            let unchanged = state
                .resources
                .get(&name)
                .is_some_and(|r| r.state == new_state && r.depends_on == job.planned.depends_on);
            if !unchanged {
                state.resources.insert(
                    name.clone(),
                    ResourceState {
                        type_name: job.planned.type_name.clone(),
                        state: new_state,
                        depends_on: job.planned.depends_on.clone(),
                        updated_at: now_ms(),
                        unknown: Default::default(),
                    },
                );
            }
        }
        for (key, hash) in new_hashes {
            state.setup.insert(key, hash);
        }
        state.save(&shared.files)
    };
    if let Err(e) = save {
        return Outcome::Failed(format!("cannot record the new state: {e}"));
    }
    if change == Change::None {
        Outcome::Unchanged
    } else {
        Outcome::Done
    }
}
