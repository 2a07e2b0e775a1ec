//! `clockwork apply` and `clockwork destroy`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::apply::{self, Options};
use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::docker::{Engine, Observation};
use crate::output;
use crate::project::{Identity, ProjectId};
use crate::state::{Lock, State};

/// `clockwork apply` options.
pub struct ApplyArgs {
    /// Resources worked on at once.
    pub parallelism: usize,
    /// JSON events instead of text.
    pub json: bool,
    /// Delete without asking.
    pub yes: bool,
    /// Project ids to take over.
    pub adopt: Vec<String>,
}

/// `clockwork destroy` options.
pub struct DestroyArgs {
    /// Keep volumes.
    pub keep_volumes: bool,
    /// Keep written files.
    pub keep_files: bool,
    /// JSON events instead of text.
    pub json: bool,
    /// Destroy without asking.
    pub yes: bool,
    /// Project ids to take over.
    pub adopt: Vec<String>,
}

/// The ids named with `--adopt`, checked.
fn adopt_ids(adopt: &[String]) -> Result<Vec<ProjectId>, CliError> {
    adopt
        .iter()
        .map(|text| {
            ProjectId::parse(text).ok_or_else(|| CliError::Usage {
                message: format!("`--adopt {text}`: a project id is 12 hex digits"),
                help: "the id is shown in the note about objects of another folder, and in their `dev.clockwork.project-id` label".into(),
            })
        })
        .collect()
}

/// This project's identity, with the ids it adopted before and now.
fn identity_with(base: &Identity, state: &mut State, adopt: &[ProjectId]) -> Identity {
    for id in adopt {
        if *id != base.id && !state.adopted.iter().any(|a| a == id.as_str()) {
            state.adopted.push(id.to_string());
        }
    }
    let mut identity = base.clone();
    identity.adopted = state.adopted_ids();
    identity
}

/// Asks `question` on the terminal; without one, refuses unless `--yes`.
fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(CliError::NeedsYes {
            what: question.to_string(),
        });
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Declined)
    }
}

fn note_strangers(observation: &Observation) {
    if let Some(note) = observation.strangers_note() {
        output::note(&note);
    }
}

/// `clockwork apply`.
pub async fn run_apply(invocation: &Invocation, args: ApplyArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    let adopt = adopt_ids(&args.adopt)?;
    let files = invocation.project.files.clone();
    // A project with mistakes is refused before anything is written, the
    // lock file included: resolve, then plan and check without the lock.
    let (graph, sources, plugins) = project::resolved(invocation).await?;
    let base = &invocation.project.identity;
    let mut engine = Engine::connect(base, files.clone()).await?;
    let mut state = State::load(&files, base)?;
    engine.identity = identity_with(base, &mut state, &adopt);
    let observation = engine.observe().await?;
    let plan = project::planned(
        &graph,
        &sources,
        &plugins,
        &engine.identity,
        &state,
        Some(&observation),
        &files,
    )
    .await?;
    let (deletes, creates) = plan.deletes_and_creates();
    if deletes > creates {
        output::note(&deletion_warning(
            deletes,
            creates,
            plan.declared(),
            &graph.project.file,
        ));
        confirm(
            &format!("Delete {deletes} resource{}?", plural(deletes)),
            args.yes,
        )?;
    }

    let _lock = Lock::acquire(&files)?;
    // Planned again under the lock: say if that differs from what
    // `clockwork plan` showed.
    let mut state = State::load(&files, base)?;
    engine.identity = identity_with(base, &mut state, &adopt);
    let observation = engine.observe().await?;
    note_strangers(&observation);
    let plan = project::planned(
        &graph,
        &sources,
        &plugins,
        &engine.identity,
        &state,
        Some(&observation),
        &files,
    )
    .await?;
    if let Some(earlier) = crate::state::take_last_plan(&files) {
        let moved = crate::plan::moved(&earlier, &plan.outline());
        if !moved.is_empty() {
            output::note(&format!(
                "the plan changed since `clockwork plan` ran; applying the current one:\n  {}",
                moved.join("\n  ")
            ));
        }
    }
    if !args.json {
        output::emit(&output::render_changes(&plan));
    }
    let options = Options {
        parallelism: args.parallelism,
        grace: Duration::from_secs(10),
        ready_timeout: Duration::from_secs(120),
        progress: output::progress(args.json),
    };
    let (report, _) = apply::execute(
        plan,
        Some(&graph),
        &plugins,
        Some(engine),
        files,
        state,
        options,
    )
    .await;
    if !args.json {
        output::emit(&output::render_report(
            &report,
            "Apply",
            started.elapsed().as_secs_f64(),
        ));
    }
    Ok(if report.failed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The loud line before an apply deletes more than it creates.
pub fn deletion_warning(
    deletes: usize,
    creates: usize,
    declared: usize,
    file: &std::path::Path,
) -> String {
    if declared == 0 {
        format!(
            "warning: `{}` declares no resources, so this deletes all {deletes} deployed resource{}",
            file.display(),
            plural(deletes)
        )
    } else {
        format!(
            "warning: this deletes {deletes} resource{} that `{}` no longer declares, and creates {creates}",
            plural(deletes),
            file.display()
        )
    }
}

/// `clockwork destroy`.
pub async fn run_destroy(invocation: &Invocation, args: DestroyArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    let adopt = adopt_ids(&args.adopt)?;
    let files = invocation.project.files.clone();
    let base = &invocation.project.identity;
    let plugins = project::plugins(invocation).await?;
    // The project's secrets, so that nothing printed quotes them; a broken
    // project can still be destroyed.
    let _ = project::resolved(invocation).await;
    let had_state = State::exists(&files);
    let mut engine = Engine::connect(base, files.clone()).await?;
    let mut state = if had_state {
        State::load(&files, base)?
    } else {
        State::empty(base)
    };
    engine.identity = identity_with(base, &mut state, &adopt);
    let observation = engine.observe().await?;
    let compared = crate::plan::Compared {
        state: &state,
        observation: Some(&observation),
    };
    let plan = crate::plan::removals(&plugins, &engine.identity, compared).await?;
    let removing = plan
        .entries
        .iter()
        .filter(|p| p.change != crate::plan::ChangeKind::None)
        .count();
    if removing == 0
        && observation.networks.is_empty()
        && observation.volumes.is_empty()
        && !had_state
    {
        // Nothing of this folder's: nothing is written, not even a lock.
        note_strangers(&observation);
        if !args.json {
            output::emit(&format!(
                "Nothing to destroy: nothing of this project is deployed ({:.2} s)",
                started.elapsed().as_secs_f64()
            ));
        }
        return Ok(EXIT_OK);
    }
    if removing > 0 || !observation.networks.is_empty() || !observation.volumes.is_empty() {
        confirm(
            &format!(
                "Destroy {removing} resource{} of project `{}` in {}?",
                plural(removing),
                base.name,
                base.dir.display()
            ),
            args.yes,
        )?;
    }
    let _lock = Lock::acquire(&files)?;
    let mut state = if State::exists(&files) {
        State::load(&files, base)?
    } else {
        State::empty(base)
    };
    engine.identity = identity_with(base, &mut state, &adopt);
    let observation = engine.observe().await?;
    note_strangers(&observation);
    let compared = crate::plan::Compared {
        state: &state,
        observation: Some(&observation),
    };
    let mut plan = crate::plan::removals(&plugins, &engine.identity, compared).await?;
    if args.keep_files {
        plan.keep_files();
    }
    if !args.json {
        output::emit(&output::render_changes(&plan));
    }
    let options = Options {
        parallelism: 16,
        grace: Duration::from_secs(10),
        ready_timeout: Duration::from_secs(120),
        progress: output::progress(args.json),
    };
    let (report, mut state) = apply::execute(
        plan,
        None,
        &plugins,
        Some(engine.clone()),
        files.clone(),
        state,
        options,
    )
    .await;
    // Networks and volumes are the project's, shared by its resources: they
    // go once nothing uses them.
    let mut leftovers = Vec::new();
    if !report.failed() {
        let observed = engine.observe().await?;
        for network in &observed.networks {
            if let Err(e) = engine.remove_network(network).await {
                leftovers.push(e.to_string());
            }
        }
        if !args.keep_volumes {
            for volume in &observed.volumes {
                if let Err(e) = engine.remove_volume(volume).await {
                    leftovers.push(e.to_string());
                }
            }
        }
        state.setup.clear();
        state.save(&files)?;
    }
    for l in &leftovers {
        output::note(l);
    }
    if !args.json {
        output::emit(&output::render_report(
            &report,
            "Destroy",
            started.elapsed().as_secs_f64(),
        ));
    }
    Ok(if report.failed() || !leftovers.is_empty() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
