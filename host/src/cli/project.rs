//! The pipeline ([`crate::pipeline`]) as the commands call it: with this
//! invocation's plugin runtime, model and flags.

use crate::cli::{CliError, Invocation};
use crate::complete::Mode;
use crate::load::Sources;
use crate::pipeline;
pub use crate::pipeline::Resolved;
use crate::plugin::PluginSet;
use crate::resolve::Graph;

/// The bundled, user and project plugins ([`pipeline::plugins`]).
pub async fn plugins(invocation: &Invocation) -> Result<PluginSet, CliError> {
    let runtime = invocation.plugin_runtime()?;
    Ok(pipeline::plugins(&runtime, &invocation.project).await?)
}

/// The project loaded, completed and resolved ([`pipeline::resolved`]),
/// with this invocation's plugins and model.
pub async fn resolved(invocation: &Invocation, mode: Mode) -> Result<Resolved, CliError> {
    let started = std::time::Instant::now();
    let timings = crate::output::Timings::since(started);
    let plugins = plugins(invocation).await?;
    timings.lap("plugins");
    let client = match mode {
        Mode::Complete => invocation.chat_client()?,
        Mode::Locked | Mode::ReadOnly => None,
    };
    let options = pipeline::Options {
        mode,
        client,
        refresh: invocation.refresh.clone(),
        started,
    };
    Ok(pipeline::resolved(&invocation.project, plugins, options).await?)
}

/// A plan problem at a declaration whose fields no model could fill gets
/// the way to configure one (or to write the field) as its help.
pub fn explain_unfilled(
    error: CliError,
    project: &crate::model::Declared,
    report: &crate::complete::Report,
) -> CliError {
    match error {
        CliError::Invalid(problems) => {
            CliError::Invalid(pipeline::explain_unfilled(problems, project, report))
        }
        other => other,
    }
}

/// Every resource planned by its plugin against `observation`, and every
/// planned action checked as `apply` would check it.
pub async fn planned(
    graph: &Graph,
    sources: &Sources,
    plugins: &PluginSet,
    identity: &crate::project::Identity,
    state: &crate::state::State,
    observation: Option<&crate::docker::Observation>,
    files: &crate::project::ProjectDir,
) -> Result<crate::plan::Plan, CliError> {
    Ok(crate::apply::planned(graph, sources, plugins, identity, state, observation, files).await?)
}
