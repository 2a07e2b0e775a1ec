//! The pipeline up to a resolved graph, shared by `plan`, `apply` and `graph`.

use std::collections::BTreeSet;

use crate::cli::{CliError, Invocation};
use crate::load::{self, Sources};
use crate::model::DeclId;
use crate::plugin::{PluginSet, discover};
use crate::resolve::{self, Graph, ResolveError};
use crate::suggest;

/// Loads the bundled, user and project plugins; broken ones are listed in
/// the set's `problems`. A `[plugins.prefer]` key that names no plugin and
/// no type is an error (a typo there would silently settle nothing).
pub async fn plugins(invocation: &Invocation) -> Result<PluginSet, CliError> {
    let runtime = invocation.plugin_runtime()?;
    let (files, problems) = discover(Some(&invocation.project.files));
    let prefer = &invocation.project.config.plugins.prefer;
    let plugins = PluginSet::load(&runtime, files, problems, prefer).await;
    let known: BTreeSet<&str> = plugins
        .plugins
        .iter()
        .flat_map(|p| std::iter::once(p.name()).chain(p.type_names()))
        .collect();
    if let Some(key) = prefer.keys().find(|k| !known.contains(k.as_str())) {
        let near = suggest::nearest(key, known.iter().copied());
        return Err(CliError::Project(crate::project::ProjectError::Config {
            path: invocation.project.dir.join(crate::project::CONFIG_FILE),
            message: format!("[plugins.prefer] `{key}` names no plugin and no type"),
            help: Some(match near {
                Some(n) => {
                    format!("did you mean `{n}`? (`clockwork plugins list` shows every name)")
                }
                None => "`clockwork plugins list` shows every plugin and type name".into(),
            }),
        }));
    }
    Ok(plugins)
}

/// Loads the plugins, the project and resolves it. Every secret the
/// project holds (including what connections put together, such as a
/// `DATABASE_URL` with its password) is registered for masking.
pub async fn resolved(invocation: &Invocation) -> Result<(Graph, Sources, PluginSet), CliError> {
    let timings = crate::output::Timings::start();
    let lap = |what: &str| timings.lap(what);
    let plugins = plugins(invocation).await?;
    if !plugins.problems.is_empty() {
        return Err(CliError::BrokenPlugins(plugins.problems));
    }
    lap("plugins");
    let (project, sources) = load::load(&invocation.project, &plugins).await?;
    load::LoadReport::warnings(&project.warnings, crate::output::diagnostic);
    crate::output::register_secrets(project.secrets.iter().cloned());
    lap("load");
    let files: Vec<(DeclId, String)> = project
        .declarations
        .iter()
        .map(|d| (d.id, d.location.file.display().to_string()))
        .collect();
    let source_of = |id: &DeclId| files.get(id.0).and_then(|(_, f)| sources.get(f).cloned());
    let mut graph = resolve::resolve(project, &plugins, &source_of)
        .await
        .map_err(|e| match e {
            ResolveError::Invalid(problems) => CliError::Invalid(problems),
            ResolveError::Plugin(call) => CliError::Plugin(call),
            ResolveError::Internal(message) => CliError::Runtime(message),
        })?;
    crate::complete::rules(&mut graph, &plugins)
        .await
        .map_err(CliError::Plugin)?;
    crate::complete::defaults(&mut graph, &plugins);
    let mut secrets = BTreeSet::new();
    for spec in graph.specs.values() {
        crate::secret::scan(
            &serde_json::Value::Object(spec.fields.clone()),
            false,
            &mut secrets,
        );
    }
    for c in &graph.connections {
        for (key, value) in &c.outputs {
            crate::secret::scan(&serde_json::json!({ key: value }), false, &mut secrets);
        }
    }
    crate::output::register_secrets(secrets);
    lap("resolve");
    Ok((graph, sources, plugins))
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
