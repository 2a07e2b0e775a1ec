//! The pipeline up to a resolved graph, shared by `plan` and `graph`.

use crate::cli::{CliError, Invocation};
use crate::load::{self, Sources};
use crate::model::DeclId;
use crate::plugin::{PluginSet, discover};
use crate::resolve::{self, Graph, ResolveError};

/// Loads the bundled, user and project plugins; broken ones are listed in
/// the set's `problems`.
pub async fn plugins(invocation: &Invocation) -> Result<PluginSet, CliError> {
    let runtime = invocation.plugin_runtime()?;
    let (files, problems) = discover(Some(&invocation.project.dir));
    Ok(PluginSet::load(
        &runtime,
        files,
        problems,
        &invocation.project.config.plugins.prefer,
    )
    .await)
}

/// Loads the plugins, the project and resolves it.
pub async fn resolved(invocation: &Invocation) -> Result<(Graph, Sources, PluginSet), CliError> {
    let started = std::time::Instant::now();
    let timings = std::env::var_os("CW_TIMINGS").is_some();
    let lap = |what: &str| {
        if timings {
            crate::output::note(&format!(
                "timing: {what} done at {} ms",
                started.elapsed().as_millis()
            ));
        }
    };
    let plugins = plugins(invocation).await?;
    if !plugins.problems.is_empty() {
        return Err(CliError::BrokenPlugins(plugins.problems));
    }
    lap("plugins");
    let (project, sources) = load::load(&invocation.project.dir, &plugins).await?;
    lap("load");
    let files: Vec<(DeclId, String)> = project
        .declarations
        .iter()
        .map(|d| (d.id, d.location.file.display().to_string()))
        .collect();
    let source_of = |id: &DeclId| files.get(id.0).and_then(|(_, f)| sources.get(f).cloned());
    let graph = resolve::resolve(project, &plugins, &source_of)
        .await
        .map_err(|e| match e {
            ResolveError::Invalid(problems) => CliError::Invalid(problems),
            ResolveError::Plugin(call) => CliError::Plugin(call),
            ResolveError::Internal(message) => CliError::Runtime(message),
        })?;
    lap("resolve");
    Ok((graph, sources, plugins))
}
