//! `clockwork apply` and `clockwork destroy`.

use std::time::{Duration, Instant};

use crate::apply::{self, Options};
use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::docker::{self, Engine};
use crate::output;
use crate::state::{Lock, State};

/// `clockwork apply`.
pub async fn run_apply(
    invocation: &Invocation,
    parallelism: usize,
    json: bool,
) -> Result<u8, CliError> {
    let started = Instant::now();
    let dir = invocation.project.dir.clone();
    // A project with mistakes is refused before anything is written, the
    // lock file included.
    let (graph, _, plugins) = project::resolved(invocation).await?;
    let _lock = Lock::acquire(&dir)?;
    let name = docker::project_name(&graph.project.name);
    let engine = Engine::connect(&name, dir.clone()).await?;
    let observation = engine.observe().await?;
    let state = State::load(&dir, &name)?;
    let planned = apply::changes(&graph, &plugins, &name, &state, Some(&observation)).await?;
    // Planned again here, under the lock: say if that differs from what
    // `clockwork plan` showed.
    if let Some(earlier) = crate::state::take_last_plan(&dir) {
        let moved = apply::moved(&earlier, &apply::outline(&planned));
        if !moved.is_empty() {
            output::note(&format!(
                "the plan changed since `clockwork plan` ran; applying the current one:\n  {}",
                moved.join("\n  ")
            ));
        }
    }
    if !json {
        output::emit(&output::render_changes(&planned));
    }
    let options = Options {
        parallelism,
        grace: Duration::from_secs(10),
        ready_timeout: Duration::from_secs(120),
        progress: output::progress(json),
    };
    let (report, _) = apply::execute(
        planned,
        Some(&graph),
        &plugins,
        Some(engine),
        dir,
        state,
        options,
    )
    .await;
    if !json {
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

/// `clockwork destroy`.
pub async fn run_destroy(
    invocation: &Invocation,
    keep_volumes: bool,
    keep_files: bool,
    json: bool,
) -> Result<u8, CliError> {
    let started = Instant::now();
    let dir = invocation.project.dir.clone();
    let _lock = Lock::acquire(&dir)?;
    let plugins = project::plugins(invocation).await?;
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = docker::project_name(&folder);
    let engine = Engine::connect(&name, dir.clone()).await?;
    let observation = engine.observe().await?;
    let state = State::load(&dir, &name)?;
    let mut planned = apply::removals(&plugins, &name, &dir, &state, Some(&observation)).await?;
    if keep_files {
        for p in &mut planned {
            p.plan
                .actions
                .retain(|a| !matches!(a, crate::plugin::bindings::types::Action::RemovePath(_)));
        }
    }
    if !json {
        output::emit(&output::render_changes(&planned));
    }
    let options = Options {
        parallelism: 16,
        grace: Duration::from_secs(10),
        ready_timeout: Duration::from_secs(120),
        progress: output::progress(json),
    };
    let (report, mut state) = apply::execute(
        planned,
        None,
        &plugins,
        Some(engine.clone()),
        dir.clone(),
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
        if !keep_volumes {
            for volume in &observed.volumes {
                if let Err(e) = engine.remove_volume(volume).await {
                    leftovers.push(e.to_string());
                }
            }
        }
        state.setup.clear();
        state.save(&dir)?;
    }
    for l in &leftovers {
        output::note(l);
    }
    if !json {
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
