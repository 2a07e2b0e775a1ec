//! `clockwork plan` and `clockwork graph`.

use crate::cli::args::GraphFormat;
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::output::{self, Masker};
use crate::plan;

/// `clockwork plan [--json] [--show-secrets]`.
pub async fn run_plan(
    invocation: &Invocation,
    json: bool,
    show_secrets: bool,
) -> Result<u8, CliError> {
    let (graph, _, _) = project::resolved(invocation).await?;
    let plan = plan::plan(&graph);
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
