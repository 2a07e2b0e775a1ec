//! Bringing a project to its plan: [`run`] (apply) and [`destroy`] plan
//! under the project lock and [`execute`] the plan — the host checks each
//! action against policy, journals it, runs it, waits for readiness, and
//! has the plugin `settle` the new state, which is saved at once.
//!
//! The CLI and a reconciling loop call the same two functions; what they
//! print, and how they ask before deleting, comes in through [`Hooks`].

mod act;
mod execute;
mod hooks;
#[cfg(test)]
mod run_tests;
mod schedule;

pub use execute::{Options, Outcome, Progress, RemovalOrder, Report, execute};
pub use hooks::{Confirmation, Hooks};
pub use schedule::Cancel;

use hooks::confirmed;

use std::collections::BTreeSet;
use std::time::Duration;

use crate::docker::{Engine, EngineError, Observation};
use crate::load::{Located, Sources};
use crate::model::ResourceName;
use crate::plan::{self, Compared, Plan, PlanError};
use crate::plugin::PluginSet;
use crate::project::{Identity, Project, ProjectId};
use crate::resolve::Graph;
use crate::state::{Generation, Lock, State, StateError, adoption};

/// Why a run did not get to carry out its plan: the apply stage's one
/// error type (an action that fails is an outcome of its resource, not
/// this).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// The plan has problems, each located at its declaration (each
    /// rendered with its snippet by whoever shows them).
    #[error("{} problem(s) in the plan", .0.len())]
    #[diagnostic(code("clockwork::apply::invalid"))]
    Invalid(Vec<Located>),
    /// A plugin could not plan.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    /// The Engine failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),
    /// The state could not be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] StateError),
    /// A certificate a connection asks for could not be made.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Certificate(crate::driver::DriverError),
    /// The user said no.
    #[error("not confirmed")]
    #[diagnostic(code("clockwork::declined"))]
    Declined,
    /// A confirmation was needed and nobody could be asked.
    #[error("{question}")]
    #[diagnostic(
        code("clockwork::confirm"),
        help("run it on a terminal to be asked, or add `--yes` to go ahead")
    )]
    NeedsConfirmation {
        /// The question.
        question: String,
    },
}

/// What [`run`] and [`destroy`] work on.
pub struct Target<'a> {
    /// The project folder (files, identity).
    pub project: &'a Project,
    /// The plugins.
    pub plugins: &'a PluginSet,
    /// The Engine.
    pub engine: Engine,
    /// Ids of other folders whose objects to take over.
    pub adopt: &'a [ProjectId],
    /// How to execute.
    pub options: Options,
    /// Output and confirmations.
    pub hooks: &'a dyn Hooks,
    /// Apply only these resources (what `watch` heals); `None`: all.
    pub only: Option<&'a BTreeSet<ResourceName>>,
    /// On whose behalf it runs.
    pub caller: Caller,
}

/// On whose behalf a run acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The user, at the command line: a full apply deploys a destroyed
    /// project again.
    User,
    /// `clockwork watch`, which began in this generation of the project:
    /// refused, under the lock, once the project was destroyed since.
    Watch(Generation),
}

/// The plan without what this run leaves alone: resources outside `only`,
/// and declared resources stopped with `clockwork stop` (said in a note).
fn narrowed(
    mut plan: Plan,
    state: &State,
    only: Option<&BTreeSet<ResourceName>>,
    hooks: Option<&dyn Hooks>,
) -> Plan {
    plan.entries.retain(|e| {
        if only.is_some_and(|o| !o.contains(&e.name)) {
            return false;
        }
        let stopped = e.decl.is_some() && state.resources.get(&e.name).is_some_and(|r| r.stopped);
        if stopped && let Some(hooks) = hooks {
            hooks.note(&format!(
                "`{}` was stopped with `clockwork stop`: left as it is (`clockwork start {}` starts it again)",
                e.name, e.name
            ));
        }
        !stopped
    });
    plan
}

/// The project's identity for this run: its own id, the ids given with
/// `--adopt` now and those the user adopted before (their own record,
/// [`adoption`]) — never ids read from the state file.
fn identity_with(base: &Identity, adopt: &[ProjectId]) -> Identity {
    adoption::identity(base).adopting(adopt)
}

/// Remembers the ids given with `--adopt` (outside the project, where no
/// state file can add one), and names every object this run acts on as
/// adopted.
async fn adopting(
    engine: &Engine,
    base: &Identity,
    adopt: &[ProjectId],
    hooks: &dyn Hooks,
) -> Result<(), RunError> {
    if !adopt.is_empty() {
        let remembered = match adoption::Records::of_user() {
            Some(records) => records.remember(base, adopt).map_err(|e| e.to_string()),
            None => Err("neither XDG_STATE_HOME nor HOME names a folder".into()),
        };
        if let Err(why) = remembered {
            let ids: Vec<String> = adopt.iter().map(|id| format!("--adopt {id}")).collect();
            hooks.note(&format!(
                "the adoption is not remembered ({why}): give `{}` again to act on those objects",
                ids.join(" ")
            ));
        }
    }
    if let Some(note) = engine.adopted_note().await? {
        hooks.note(&note);
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The loud line before a plan deletes more than it creates.
pub fn deletion_warning(plan: &Plan) -> Option<String> {
    let (deletes, creates) = plan.deletes_and_creates();
    if deletes <= creates {
        return None;
    }
    Some(if plan.declared() == 0 {
        format!(
            "warning: `{}` declares no resources, so this deletes all {deletes} deployed resource{}",
            plan.file,
            plural(deletes)
        )
    } else {
        format!(
            "warning: this deletes {deletes} resource{} that `{}` no longer declares, and creates {creates}",
            plural(deletes),
            plan.file
        )
    })
}

/// Plans `graph` against the Engine and the state, and checks the plan.
pub async fn planned(
    graph: &Graph,
    sources: &Sources,
    plugins: &PluginSet,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
    files: &crate::project::ProjectDir,
) -> Result<Plan, RunError> {
    let planned =
        planned_each(graph, sources, plugins, identity, state, observation, files).await?;
    refused_within(planned, graph, None)
}

/// The plan, unless a problem refuses it: only those of the resources in
/// `only` (and of connections) do, so a narrowed run (a heal by `watch`)
/// is not held up by a resource it does not touch.
fn refused_within(
    (plan, problems): (Plan, Vec<(crate::model::DeclId, Located)>),
    graph: &Graph,
    only: Option<&BTreeSet<ResourceName>>,
) -> Result<Plan, RunError> {
    let problems: Vec<Located> = problems
        .into_iter()
        .filter(|(decl, _)| {
            let d = graph.project.get(*decl);
            d.kind != crate::model::PluginKind::Resource || only.is_none_or(|o| o.contains(&d.name))
        })
        .map(|(_, located)| located)
        .collect();
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(RunError::Invalid(problems))
    }
}

/// Plans `graph` and returns the plan with its problems, each with the
/// declaration it is about, for a caller that handles them one by one.
pub async fn planned_each(
    graph: &Graph,
    sources: &Sources,
    plugins: &PluginSet,
    identity: &Identity,
    state: &State,
    observation: Option<&Observation>,
    files: &crate::project::ProjectDir,
) -> Result<(Plan, Vec<(crate::model::DeclId, Located)>), RunError> {
    let compared = Compared { state, observation };
    let plan = plan::plan(graph, plugins, identity, compared)
        .await
        .map_err(|e| match e.located(graph, sources) {
            Ok(located) => RunError::Invalid(vec![located]),
            Err(other) => RunError::Plan(other),
        })?;
    let problems = plan::check_each(
        &plan,
        graph,
        files,
        state,
        observation,
        sources,
        identity.target,
    );
    Ok((plan, problems))
}

/// Applies `graph`: plans and checks it without the lock (a project with
/// mistakes is refused before anything is written, the lock file
/// included), asks before deleting more than it creates, then plans again
/// under the lock and executes that plan.
pub async fn run(target: Target<'_>, graph: &Graph, sources: &Sources) -> Result<Report, RunError> {
    let Target {
        project,
        plugins,
        mut engine,
        adopt,
        options,
        hooks,
        only,
        caller,
    } = target;
    let applying = Applying {
        project,
        plugins,
        graph,
        sources,
        adopt,
        hooks,
        only,
        caller,
    };
    // A question a person answers is asked before the lock, so that nobody
    // holds it while the question waits; and a project never applied is
    // looked at first too, so that a plan refused leaves no `.clockwork/`.
    // Otherwise the one look under the lock is enough.
    let look_first = hooks.waits_for_an_answer() || !crate::state::State::exists(&project.files);
    if look_first {
        applying.look_and_confirm_deletions(&mut engine).await?;
    }

    let files = &project.files;
    let base = &project.identity;
    let _lock = Lock::acquire(files)?;
    let mut state = State::load(files, base)?;
    // Right before it acts, under the lock a destroy records itself under:
    // a heal planned before a destroy never brings the project back.
    if let Caller::Watch(generation) = caller {
        state.may_heal(generation)?;
    }
    engine.identity = identity_with(base, adopt);
    let observation = engine.observe().await?;
    if let Some(note) = observation.strangers_note() {
        hooks.note(&note);
    }
    // A narrowed run of the user's (`start`, `restart`) is named by its
    // command, which acted first.
    if caller == Caller::User && only.is_none() {
        adopting(&engine, base, adopt, hooks).await?;
    }
    let plan = applying.plan(&engine, &state, &observation).await?;
    let plan = narrowed(plan, &state, only, Some(hooks));
    if !look_first {
        applying.confirm_deletions(&plan)?;
    }
    applying.say_if_moved(&plan);
    hooks.planned(&plan);
    applying.issue_certificates()?;
    // The user's apply deploys a destroyed project again.
    if caller == Caller::User && only.is_none() && state.destroyed.take().is_some() {
        state.save(files)?;
    }
    // When nothing acts, what was seen under the lock is still how things are.
    let seen = if plan.entries.iter().all(|e| e.actions.is_empty()) {
        Some(observation)
    } else {
        None
    };
    let (mut report, _) = execute(
        plan,
        Some(graph),
        plugins,
        Some(std::sync::Arc::new(engine.clone())),
        files.clone(),
        state,
        options,
    )
    .await;
    if only.is_none() && !report.failed() {
        remove_unused_networks(&engine, seen, &mut report, hooks).await;
    }
    Ok(report)
}

/// What one [`run`] works on, but the Engine (whose identity it sets) and
/// the options (which executing takes).
struct Applying<'a> {
    project: &'a Project,
    plugins: &'a PluginSet,
    graph: &'a Graph,
    sources: &'a Sources,
    adopt: &'a [ProjectId],
    hooks: &'a dyn Hooks,
    only: Option<&'a BTreeSet<ResourceName>>,
    caller: Caller,
}

impl Applying<'_> {
    /// Plans `graph` against `state` and what the Engine shows, and checks
    /// the plan (only the resources this run touches may refuse it).
    async fn plan(
        &self,
        engine: &Engine,
        state: &State,
        observation: &Observation,
    ) -> Result<Plan, RunError> {
        let planned = planned_each(
            self.graph,
            self.sources,
            self.plugins,
            &engine.identity,
            state,
            Some(observation),
            &self.project.files,
        )
        .await?;
        refused_within(planned, self.graph, self.only)
    }

    /// The look before the lock: plans and checks without it, and asks
    /// before deleting more than it creates.
    async fn look_and_confirm_deletions(&self, engine: &mut Engine) -> Result<(), RunError> {
        let base = &self.project.identity;
        let state = State::load(&self.project.files, base)?;
        if let Caller::Watch(generation) = self.caller {
            state.may_heal(generation)?;
        }
        engine.identity = identity_with(base, self.adopt);
        let observation = engine.observe().await?;
        let first = self.plan(engine, &state, &observation).await?;
        let first = narrowed(first, &state, self.only, None);
        self.confirm_deletions(&first)
    }

    /// Warns of the deletions in `plan` and goes ahead only when the hooks
    /// say yes. A narrowed run (`watch`) deletes only what it was asked to.
    fn confirm_deletions(&self, plan: &Plan) -> Result<(), RunError> {
        if self.only.is_none()
            && let Some(warning) = deletion_warning(plan)
        {
            self.hooks.note(&warning);
            let (deletes, _) = plan.deletes_and_creates();
            confirmed(
                self.hooks,
                format!("Delete {deletes} resource{}?", plural(deletes)),
            )?;
        }
        Ok(())
    }

    /// Planned again under the lock: say if that differs from what
    /// `clockwork plan` showed.
    fn say_if_moved(&self, plan: &Plan) {
        if let Some(earlier) = crate::state::take_last_plan(&self.project.files) {
            let moved = plan::moved(&earlier, &plan.outline());
            if !moved.is_empty() {
                self.hooks.note(&format!(
                    "the plan changed since `clockwork plan` ran; applying the current one:\n  {}",
                    moved.join("\n  ")
                ));
            }
        }
    }

    /// Certificates connections ask for exist before anything that mounts
    /// them is made.
    fn issue_certificates(&self) -> Result<(), RunError> {
        let files = &self.project.files;
        for request in self.graph.connections.iter().flat_map(|c| c.tls.iter()) {
            match crate::driver::issue_certificate(files, &self.project.identity.name, request) {
                Ok(true) => self.hooks.note(&format!(
                    "made a TLS certificate for `{}` ({}), signed by the project's CA in {}",
                    request.service,
                    request.hosts.join(", "),
                    crate::project::tls::TLS_DIR
                )),
                Ok(false) => {}
                Err(e) => return Err(RunError::Certificate(e)),
            }
        }
        Ok(())
    }
}

/// Removes the project's networks no container of it is on any more (a
/// connection that declared one was removed, or renamed it); the project's
/// default network stays.
async fn remove_unused_networks(
    engine: &Engine,
    seen: Option<Observation>,
    report: &mut Report,
    hooks: &dyn Hooks,
) {
    let observed = match seen {
        Some(seen) => seen,
        None => match engine.observe().await {
            Ok(observed) => observed,
            Err(_) => return,
        },
    };
    let used: BTreeSet<&String> = observed
        .containers
        .values()
        .flatten()
        .flat_map(|c| c.networks.iter())
        .collect();
    let default = engine.identity.default_network();
    for network in &observed.networks {
        if *network == default || used.contains(network) {
            continue;
        }
        match engine.remove_network(network).await {
            Ok(()) => hooks.note(&format!(
                "removed the network `{network}`: no declaration uses it any more"
            )),
            Err(e) => report.leftovers.push(e.to_string()),
        }
    }
}

/// What `destroy` keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// The project's volumes (and their data).
    pub volumes: bool,
    /// The files resources wrote.
    pub files: bool,
}

/// Destroys everything the project deployed, in reverse dependency order,
/// then its networks and volumes. In a folder that never applied and where
/// the Engine has nothing of this project, nothing is written at all.
pub async fn destroy(target: Target<'_>, keep: Keep) -> Result<Report, RunError> {
    let Target {
        project,
        plugins,
        mut engine,
        adopt,
        options,
        hooks,
        only: _,
        caller: _,
    } = target;
    let files = &project.files;
    let base = &project.identity;
    let had_state = State::exists(files);
    let state = if had_state {
        State::load(files, base)?
    } else {
        State::empty(base)
    };
    engine.identity = identity_with(base, adopt);
    let observation = engine.observe().await?;
    let compared = Compared {
        state: &state,
        observation: Some(&observation),
    };
    let first = plan::removals(plugins, &engine.identity, compared).await?;
    let removing = first
        .entries
        .iter()
        .filter(|p| p.change != plan::ChangeKind::None)
        .count();
    let shared = !observation.networks.is_empty() || !observation.volumes.is_empty();
    if removing == 0 && !shared && !had_state {
        if let Some(note) = observation.strangers_note() {
            hooks.note(&note);
        }
        return Ok(Report::default());
    }
    if removing > 0 || shared {
        confirmed(
            hooks,
            format!(
                "Destroy {removing} resource{} of project `{}` in {}?",
                plural(removing),
                base.name,
                base.dir.display()
            ),
        )?;
    }
    // A heal of `watch` holding the lock is waited for, not a reason to
    // refuse: once the destroy is recorded below, no heal acts again.
    let patience = (options.ready_timeout + options.grace).max(Duration::from_secs(60)) * 2;
    let _lock = Lock::acquire_after_watch(files, patience, &|waiting| hooks.note(waiting)).await?;
    let mut state = if State::exists(files) {
        State::load(files, base)?
    } else {
        State::empty(base)
    };
    // Recorded before anything is removed: a watch that looks from now on,
    // or a heal that gets the lock after this destroy, stops.
    state.mark_destroyed(format!("`clockwork destroy`, pid {}", std::process::id()));
    state.save(files)?;
    engine.identity = identity_with(base, adopt);
    let observation = engine.observe().await?;
    if let Some(note) = observation.strangers_note() {
        hooks.note(&note);
    }
    adopting(&engine, base, adopt, hooks).await?;
    let compared = Compared {
        state: &state,
        observation: Some(&observation),
    };
    let mut plan = plan::removals(plugins, &engine.identity, compared).await?;
    if keep.files {
        plan.keep_files(crate::driver::Drivers::bundled());
    }
    hooks.planned(&plan);
    let (mut report, mut state) = execute(
        plan,
        None,
        plugins,
        Some(std::sync::Arc::new(engine.clone())),
        files.clone(),
        state,
        options,
    )
    .await;
    // Networks and volumes are the project's, shared by its resources: they
    // go once nothing uses them.
    if !report.failed() {
        let observed = engine.observe().await?;
        for network in &observed.networks {
            if let Err(e) = engine.remove_network(network).await {
                report.leftovers.push(e.to_string());
            }
        }
        if !keep.volumes {
            for volume in &observed.volumes {
                if let Err(e) = engine.remove_volume(volume).await {
                    report.leftovers.push(e.to_string());
                }
            }
        }
        state.setup.clear();
        state.save(files)?;
        // Nothing they covered is left.
        if let Some(records) = adoption::Records::of_user() {
            records.forget(base);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &RunError) -> Option<String> {
        miette::Diagnostic::code(e).map(|c| c.to_string())
    }

    /// What a run's error says, and its code, whichever stage it came from.
    #[test]
    fn a_run_error_keeps_its_words_and_carries_a_code() {
        assert_eq!(RunError::Declined.to_string(), "not confirmed");
        assert_eq!(
            code(&RunError::Declined).as_deref(),
            Some("clockwork::declined")
        );
        let question = RunError::NeedsConfirmation {
            question: "Delete `db`?".into(),
        };
        assert_eq!(question.to_string(), "Delete `db`?");
        assert_eq!(code(&question).as_deref(), Some("clockwork::confirm"));
        let engine = RunError::from(EngineError::NotRunning { name: "web".into() });
        assert_eq!(engine.to_string(), "container `web` is not running");
        assert_eq!(
            code(&engine).as_deref(),
            Some("clockwork::engine::not_running")
        );
    }
}
