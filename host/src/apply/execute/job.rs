//! One resource's job: wait for what it depends on, run its connections'
//! setup steps, act, wait until it is ready, settle and record it.

use std::sync::Arc;

use clockwork_schema::actions::ContainerSpec;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::apply::act::Actor;
use crate::docker::Readiness;
use crate::model::ResourceName;
use crate::model::time::now_ms;
use crate::plan::{ChangeKind as Change, PlanEntry, Settle, describe};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    RunWhen, SetupStep,
};
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::ActionResult;
use crate::plugin::bindings::types::Action;
use crate::policy::Scope;
use crate::project::{PathError, ProjectDir};
use crate::state::{EnsuredContainer, ResourceState, journal};

use super::{Outcome, Progress, Shared};

/// Everything one resource's job needs, owned, so jobs can run on any thread.
pub(super) struct Job {
    pub(super) planned: PlanEntry,
    pub(super) plugin: Arc<dyn Settle>,
    /// Setup steps of its connections: (connection, the scope of both
    /// ends, the step).
    pub(super) setup: Vec<(ResourceName, Scope, SetupStep)>,
    pub(super) scope: Scope,
}

/// Runs one job to its outcome.
pub(super) async fn run_job(job: Job, shared: &Shared) -> Outcome {
    // The folder's own id marks what the git driver clones as this
    // project's: never the state's, which a hand-edited file could set to
    // the mark of a folder it ships.
    let project_id = crate::project::ProjectId::of_folder(shared.files.root()).to_string();
    let running = Running {
        actor: Actor {
            engine: shared.engine.as_deref(),
            files: &shared.files,
            state: &shared.state,
            grace: shared.options.grace,
            project_id,
            drivers: crate::driver::Drivers::bundled(),
        },
        name: job.planned.name.clone(),
        change: job.planned.change,
        job: &job,
        shared,
    };
    running.run().await.unwrap_or_else(|stopped| stopped)
}

/// A job as it runs. Each step returns `Err` with the outcome that ends
/// the job early.
struct Running<'a> {
    job: &'a Job,
    shared: &'a Shared,
    actor: Actor<'a>,
    name: ResourceName,
    change: Change,
}

/// What the job's actions did.
#[derive(Default)]
struct Acted {
    /// Each action's result, for `settle`.
    results: Vec<ActionResult>,
    /// The container it ensured last, with its restart count then.
    container: Option<(ContainerSpec, Option<i64>)>,
    /// What `assert --implied` needs of each container it ensured.
    ensured: Vec<EnsuredContainer>,
}

impl Running<'_> {
    async fn run(&self) -> Result<Outcome, Outcome> {
        self.wait_for_dependencies().await?;
        let new_hashes = self.set_up_connections().await?;
        let acted = self.act().await?;
        self.wait_until_ready(acted.container.as_ref()).await?;
        let new_state = self.settle(&acted.results).await?;
        self.record(new_state, acted.ensured, new_hashes)?;
        Ok(if self.change == Change::None {
            Outcome::Unchanged
        } else {
            Outcome::Done
        })
    }

    /// Journals a step; a step that starts is shown as progress too.
    fn log(&self, what: &str, status: &str, detail: Json) {
        let name = &self.name;
        journal(
            &self.shared.files,
            &json!({"time": now_ms(), "resource": name, "action": what, "status": status, "detail": detail}),
        );
        if status == "started" {
            (self.shared.options.progress)(Progress::Step {
                name: name.clone(),
                step: what.to_string(),
            });
        }
    }

    /// What this depends on has to be up and ready now: also when this
    /// apply left it unchanged (a container a killed apply started may still
    /// be starting), and it must not have crashed since it was.
    async fn wait_for_dependencies(&self) -> Result<(), Outcome> {
        let shared = self.shared;
        let Some(engine) = shared.engine.as_ref() else {
            return Ok(());
        };
        if self.job.planned.decl.is_none() || self.change == Change::None {
            return Ok(());
        }
        for dep in &self.job.planned.depends_on {
            if shared.still_ready(dep) {
                continue;
            }
            let mark = shared.mark();
            let containers = match engine.containers_of(dep).await {
                Ok(c) => c,
                Err(e) => return Err(Outcome::Failed(e.to_string())),
            };
            for c in &containers {
                self.log(&format!("wait for {dep}"), "started", Json::Null);
                let ready = engine
                    .wait_ready(
                        c,
                        true,
                        shared.options.ready_timeout,
                        Readiness {
                            baseline: shared.baseline(dep, c),
                        },
                    )
                    .await;
                if let Err(e) = ready {
                    return Err(Outcome::Skipped(format!("depends on `{dep}`: {e}")));
                }
            }
            shared.seen_ready(dep, containers, mark);
        }
        Ok(())
    }

    /// Connection setup: after the other end is up (the graph saw to it),
    /// before this resource starts. Returns the hashes of the steps that
    /// run once per content and ran now, to record with the resource.
    async fn set_up_connections(&self) -> Result<Vec<(String, String)>, Outcome> {
        let shared = self.shared;
        let change = self.change;
        let mut new_hashes = Vec::new();
        for (connection, scope, step) in &self.job.setup {
            let mut keyed = None;
            let run = match step.when {
                RunWhen::EveryApply => change != Change::None,
                RunWhen::OnCreate => matches!(change, Change::Create | Change::Replace),
                RunWhen::OncePerContent => {
                    let (key, hash) = match setup_hash(connection, step, &shared.files) {
                        Ok(keyed) => keyed,
                        Err(e) => {
                            return Err(Outcome::Failed(format!("{connection}: {}: {e}", step.id)));
                        }
                    };
                    let done = shared
                        .state
                        .lock()
                        .map(|s| s.setup.get(&key) == Some(&hash))
                        .unwrap_or(false);
                    if !done {
                        keyed = Some((key, hash));
                    }
                    !done
                }
            };
            if !run {
                continue;
            }
            let what = format!("{connection}: {}", step.id);
            self.log(&what, "started", Json::Null);
            if let Err(e) = self.actor.act(scope, &step.action).await {
                self.log(&what, "failed", json!(e.to_string()));
                // The steps that ran before it stay recorded as run.
                if !new_hashes.is_empty() {
                    let mut state = match shared.state.lock() {
                        Ok(s) => s,
                        Err(p) => p.into_inner(),
                    };
                    state.setup.extend(new_hashes);
                    let _ = state.save(&shared.files);
                }
                return Err(Outcome::Failed(format!("{what}: {e}")));
            }
            new_hashes.extend(keyed);
            self.log(&what, "done", Json::Null);
        }
        Ok(new_hashes)
    }

    /// Runs the resource's own actions, in order.
    async fn act(&self) -> Result<Acted, Outcome> {
        let shared = self.shared;
        let mut acted = Acted::default();
        let actions = &self.job.planned.actions;
        for (index, action) in actions.iter().enumerate() {
            let what = describe(action);
            if self.actor.replaced_in_place(actions, index) {
                self.log(&what, "left to the update in place", Json::Null);
                continue;
            }
            self.log(&what, "started", Json::Null);
            match self.actor.act(&self.job.scope, action).await {
                Ok(output) => {
                    self.log(&what, "done", output.clone());
                    if let Some(kept) = output.get("kept").and_then(Json::as_str) {
                        (shared.options.progress)(Progress::Warning {
                            name: self.name.clone(),
                            message: kept.to_string(),
                        });
                    }
                    if let Action::EnsureContainer(spec) = action
                        && let Ok(spec) = serde_json::from_str::<ContainerSpec>(spec)
                    {
                        let baseline = output.get("restart_count").and_then(Json::as_i64);
                        let mut made = ensured_of(&spec, baseline);
                        made.tunables = output
                            .get("tunables")
                            .and_then(|t| serde_json::from_value(t.clone()).ok())
                            .unwrap_or_default();
                        acted.ensured.push(made);
                        acted.container = Some((spec, baseline));
                    }
                    acted.results.push(ActionResult {
                        index: index as u32,
                        ok: true,
                        output: output.to_string(),
                    });
                }
                Err(e) => {
                    self.log(&what, "failed", json!(e.to_string()));
                    // What was written before the failure is recorded: a file
                    // Clockwork wrote stays known as its own.
                    let saved = shared
                        .state
                        .lock()
                        .map_err(|_| "the state is poisoned".to_string())
                        .and_then(|state| state.save(&shared.files).map_err(|e| e.to_string()));
                    return Err(Outcome::Failed(match saved {
                        Ok(()) => e.to_string(),
                        Err(why) => format!("{e} (and the state could not be saved: {why})"),
                    }));
                }
            }
        }
        Ok(acted)
    }

    /// Ready before dependents start: running, and healthy when it has a
    /// health check (a container allowed to exit need not keep running).
    async fn wait_until_ready(
        &self,
        container: Option<&(ContainerSpec, Option<i64>)>,
    ) -> Result<(), Outcome> {
        let shared = self.shared;
        let name = &self.name;
        let (Some((spec, baseline)), Some(engine)) = (container, shared.engine.as_ref()) else {
            return Ok(());
        };
        if let Some(baseline) = baseline {
            shared
                .fresh
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(name.clone())
                .or_default()
                .insert(spec.name.clone(), *baseline);
        }
        if spec.must_run {
            let mark = shared.mark();
            if let Err(e) = engine
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
                self.log("wait until ready", "failed", json!(e.to_string()));
                return Err(Outcome::Failed(e.to_string()));
            }
            // Its dependents need not look again at what was just seen,
            // when this is all it runs.
            if shared.listening()
                && let Ok(all) = engine.containers_of(name).await
                && all == [spec.name.clone()]
            {
                shared.seen_ready(name, all, mark);
            }
        }
        Ok(())
    }

    /// The resource's new state, as its plugin settles it (as planned
    /// when there was nothing to do); `Null` when it is gone.
    async fn settle(&self, results: &[ActionResult]) -> Result<Json, Outcome> {
        let planned = &self.job.planned;
        let settled = if planned.actions.is_empty() {
            Ok(planned.decided.planned_state.clone())
        } else {
            match self
                .job
                .plugin
                .settle(&planned.input, &planned.decided, results)
                .await
            {
                Ok(Ok(state)) => Ok(state),
                Ok(Err(e)) => Err(format!("settle: {}", e.message())),
                Err(e) => Err(e.to_string()),
            }
        };
        settled
            .and_then(|s| {
                serde_json::from_str::<Json>(&s)
                    .map_err(|e| format!("settle returned invalid JSON: {e}"))
            })
            .map_err(Outcome::Failed)
    }

    /// Records the resource's new state, and the setup steps that ran.
    fn record(
        &self,
        new_state: Json,
        ensured: Vec<EnsuredContainer>,
        new_hashes: Vec<(String, String)>,
    ) -> Result<(), Outcome> {
        let shared = self.shared;
        let name = &self.name;
        let planned = &self.job.planned;
        let save = {
            let mut state = match shared.state.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            if new_state.is_null() {
                state.resources.remove(name);
            } else {
                let previous = state.resources.get(name);
                // A resource left as it was keeps the containers it had.
                let ensures = planned
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::EnsureContainer(_)));
                let containers = if ensures {
                    ensured
                } else {
                    previous.map(|r| r.containers.clone()).unwrap_or_default()
                };
                let unchanged = previous.is_some_and(|r| {
                    r.state == new_state
                        && r.depends_on == planned.depends_on
                        && r.containers == containers
                        && r.expires_at == self.job.scope.expires_at
                });
                // Applied again by the user: no longer expired.
                state.expired.remove(name);
                if !unchanged {
                    state.resources.insert(
                        name.clone(),
                        ResourceState {
                            type_name: planned.type_name.clone(),
                            state: new_state,
                            depends_on: planned.depends_on.clone(),
                            updated_at: now_ms(),
                            containers,
                            unknown: Default::default(),
                            stopped: false,
                            expires_at: self.job.scope.expires_at,
                        },
                    );
                }
            }
            for (key, hash) in new_hashes {
                state.setup.insert(key, hash);
            }
            // A resource applied again as it was changes nothing on disk:
            // a no-op apply writes the state file once, not once a resource.
            let mut written = shared.written.lock().unwrap_or_else(|p| p.into_inner());
            state.save_unless_written(&shared.files, &mut written)
        };
        save.map_err(|e| Outcome::Failed(format!("cannot record the new state: {e}")))
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
) -> Result<(String, String), PathError> {
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
        let rel = ProjectDir::relative(file)?;
        // Read as the step will feed it: never a secret of the project.
        hasher.update(files.read_shielded(
            &rel,
            crate::project::Shield::Secrets,
            crate::project::MAX_READ_BYTES,
        )?);
    }
    Ok((
        format!("{connection}/{}", step.id),
        hex::encode(hasher.finalize()),
    ))
}

/// What `assert --implied` needs to know of a container the host ensured.
fn ensured_of(spec: &ContainerSpec, restart_count: Option<i64>) -> EnsuredContainer {
    EnsuredContainer {
        name: spec.name.clone(),
        must_run: spec.must_run,
        healthcheck: spec.healthcheck.is_some(),
        ports: spec
            .ports
            .iter()
            .filter_map(|p| clockwork_schema::parse_port(p).ok())
            .filter(|p| p.protocol == clockwork_schema::Protocol::Tcp)
            // A port bound to one outside address is not reachable on
            // loopback, where the implied check looks.
            .filter(|p| {
                p.host_ip
                    .is_none_or(|ip| ip.is_loopback() || ip.is_unspecified())
            })
            .map(|p| (p.host_port, p.container_port))
            .collect(),
        restart_count: restart_count.unwrap_or(0),
        tunables: Default::default(),
    }
}
