//! `clockwork plan` and `clockwork graph`.

use crate::apply;
use crate::cli::args::GraphFormat;
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::docker::{self, Engine};
use crate::output::{self, Masker};
use crate::plan;
use crate::state::State;

/// `clockwork plan [--json] [--show-secrets] [--offline]`.
pub async fn run_plan(
    invocation: &Invocation,
    json: bool,
    show_secrets: bool,
    offline: bool,
) -> Result<u8, CliError> {
    let (graph, _, plugins) = project::resolved(invocation).await?;
    let mut plan = plan::plan(&graph);
    if !offline {
        let name = docker::project_name(&graph.project.name);
        let dir = &invocation.project.dir;
        match Engine::connect(&name, dir.clone()).await {
            Ok(engine) => {
                let observation = engine.observe().await?;
                // Read without the lock: a plan changes nothing, and an
                // apply running meanwhile re-plans under its lock anyway.
                let state = State::load(dir, &name)?;
                let planned =
                    apply::changes(&graph, &plugins, &name, &state, Some(&observation)).await?;
                apply::compare(
                    &mut plan,
                    &planned,
                    "the Docker Engine and .clockwork/state.json",
                );
                crate::state::remember_plan(dir, &apply::outline(&planned));
            }
            Err(e) => output::note(&format!(
                "{e}; showing what a first apply would do (--offline says this without asking)"
            )),
        }
    }
    let masker = Masker::new(&graph.project.secrets, !show_secrets);
    if json {
        output::emit_json(&output::plan_json(&plan, &masker));
    } else {
        output::emit(&output::render_plan(&plan, &masker));
    }
    Ok(EXIT_OK)
}

/// `clockwork graph [--format dot|mermaid]`.
pub async fn run_graph(invocation: &Invocation, format: GraphFormat) -> Result<u8, CliError> {
    let (graph, _, _) = project::resolved(invocation).await?;
    output::emit(&match format {
        GraphFormat::Dot => output::render_dot(&graph),
        GraphFormat::Mermaid => output::render_mermaid(&graph),
    });
    Ok(EXIT_OK)
}
