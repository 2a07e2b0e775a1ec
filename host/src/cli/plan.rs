//! `clockwork plan` and `clockwork graph`.

use crate::cli::args::GraphFormat;
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::docker::Engine;
use crate::output;
use crate::state::State;

/// `clockwork plan [--json] [--show-secrets] [--offline]`.
///
/// Every resource's plugin plans it — against the Engine's observation
/// when one answers, against nothing with `--offline` — and every planned
/// action is checked as `apply` would check it, so a plan that shows no
/// problem is one `apply` can carry out.
pub async fn run_plan(
    invocation: &Invocation,
    json: bool,
    show_secrets: bool,
    offline: bool,
    locked: bool,
) -> Result<u8, CliError> {
    let timings = output::Timings::start();
    let lap = |what: &str| timings.lap(what);
    let mode = if locked {
        crate::complete::Mode::Locked
    } else {
        crate::complete::Mode::Complete
    };
    let resolved = project::resolved(invocation, mode).await?;
    let (graph, sources, plugins) = (&resolved.graph, &resolved.sources, &resolved.plugins);
    if !resolved.completion.new.is_empty() {
        output::note(&format!(
            "completion filled {} field(s) just now (marked `new`), recorded in clockwork.lock: review them before `clockwork apply`",
            resolved.completion.new.len()
        ));
    }
    lap("resolved");
    let files = &invocation.project.files;
    let identity = crate::state::adoption::identity(&invocation.project.identity);
    // Read without the lock: a plan changes nothing, and an apply running
    // meanwhile re-plans under its lock anyway.
    let state = State::load(files, &identity)?;
    let engine = if offline {
        None
    } else {
        match Engine::connect(&identity, files.clone()).await {
            Ok(engine) => Some(engine),
            Err(e) => {
                output::note(&format!(
                    "{e}; showing what a first apply would do (--offline says this without asking)"
                ));
                None
            }
        }
    };
    let observation = match &engine {
        Some(engine) => {
            if let Some(note) = engine.adopted_note().await? {
                output::note(&note);
            }
            Some(engine.observe().await?)
        }
        None => None,
    };
    let plan = project::planned(
        graph,
        sources,
        plugins,
        &identity,
        &state,
        observation.as_ref(),
        files,
    )
    .await
    .map_err(|e| project::explain_unfilled(e, &resolved.graph.project, &resolved.completion))?;
    lap("planned and checked");
    if let Some(observation) = &observation {
        crate::state::remember_plan(files, &plan.outline());
        if let Some(note) = observation.strangers_note() {
            output::note(&note);
        }
    }
    if let Some(warning) = crate::apply::deletion_warning(&plan) {
        output::note(&warning);
    }
    if show_secrets {
        output::show_secrets();
    }
    let masker = output::process_masker();
    lap("compared");
    if json {
        output::emit_json(&crate::render::plan_json(&plan, &masker));
    } else {
        output::emit(&crate::render::render_plan(&plan, &masker));
    }
    lap("printed");
    Ok(EXIT_OK)
}

/// `clockwork graph [--format dot|mermaid]`.
pub async fn run_graph(invocation: &Invocation, format: GraphFormat) -> Result<u8, CliError> {
    let project::Resolved { graph, .. } =
        project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    output::emit(&match format {
        GraphFormat::Dot => crate::render::render_dot(&graph),
        GraphFormat::Mermaid => crate::render::render_mermaid(&graph),
    });
    Ok(EXIT_OK)
}
