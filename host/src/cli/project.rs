//! The pipeline up to a resolved graph, shared by `plan`, `apply` and `graph`.

use std::collections::BTreeSet;

use crate::cli::{CliError, Invocation};
use crate::complete::{Completer, Mode};
use crate::load::{self, Sources};
use crate::model::DeclId;
use crate::plugin::{PluginKind, PluginSet, discover};
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

/// A project resolved and completed.
pub struct Resolved {
    /// The graph, every field filled.
    pub graph: Graph,
    /// The project's sources, for located messages.
    pub sources: Sources,
    /// The plugins.
    pub plugins: PluginSet,
    /// What completion did.
    pub completion: crate::complete::Report,
}

/// Loads the plugins, the project, completes and resolves it. Every
/// secret the project holds (including what connections put together,
/// such as a `DATABASE_URL` with its password) is registered for masking.
pub async fn resolved(invocation: &Invocation, mode: Mode) -> Result<Resolved, CliError> {
    let timings = crate::output::Timings::start();
    let lap = |what: &str| timings.lap(what);
    let plugins = plugins(invocation).await?;
    if !plugins.problems.is_empty() {
        return Err(CliError::BrokenPlugins(plugins.problems));
    }
    lap("plugins");
    let (mut project, sources) = load::load(&invocation.project, &plugins).await?;
    load::LoadReport::warnings(&project.warnings, crate::output::diagnostic);
    crate::output::register_secrets(project.secrets.iter().cloned());
    lap("load");
    let client = match mode {
        Mode::Complete => invocation.chat_client()?,
        Mode::Locked | Mode::ReadOnly => None,
    };
    let files_dir = &invocation.project.files;
    let mut completer = Completer::new(files_dir, mode, client, invocation.refresh.clone())
        .map_err(|e| CliError::Completion(Box::new(e)))?;
    let failed = |e| CliError::Completion(Box::new(e));
    let completing = std::time::Instant::now();
    completer
        .connections(&mut project, &plugins)
        .await
        .map_err(failed)?;
    completer
        .assertions(&mut project, &plugins)
        .await
        .map_err(failed)?;
    let mut completion_time = completing.elapsed();
    let problems = completer
        .revalidate(
            &mut project,
            None,
            &plugins,
            &sources,
            &[PluginKind::Connection, PluginKind::Assertion],
        )
        .await
        .map_err(failed)?;
    if !problems.is_empty() {
        return Err(explain_unfilled(
            CliError::Invalid(problems),
            &project,
            &completer.report,
        ));
    }
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
            ResolveError::Internal(message) => CliError::Internal(message),
        })?;
    let completing = std::time::Instant::now();
    completer
        .resources(&mut graph, &plugins)
        .await
        .map_err(failed)?;
    completion_time += completing.elapsed();
    let problems = completer
        .revalidate(
            &mut graph.project,
            Some(&graph.specs),
            &plugins,
            &sources,
            &[PluginKind::Resource],
        )
        .await
        .map_err(failed)?;
    if !problems.is_empty() {
        return Err(explain_unfilled(
            CliError::Invalid(problems),
            &graph.project,
            &completer.report,
        ));
    }
    let completing = std::time::Instant::now();
    completer.finish(files_dir).map_err(failed)?;
    completion_time += completing.elapsed();
    timings.note(&format!(
        "completion took {} µs for {} declarations",
        completion_time.as_micros(),
        graph.project.declarations.len()
    ));
    crate::output::detail(&format!(
        "completion: {} model requests, {} field(s) completed now, clockwork.lock {}",
        completer.report.requests,
        completer.report.new.len(),
        if completer.report.wrote_lock {
            "written"
        } else {
            "unchanged"
        }
    ));
    crate::complete::defaults(&mut graph, &plugins);
    crate::output::register_secrets(crate::complete::secrets_of(&graph));
    let (names, words) = public_names(&graph);
    crate::output::register_public(names, words);
    lap("resolve and complete");
    Ok(Resolved {
        graph,
        sources,
        plugins,
        completion: completer.report,
    })
}

/// What the project shows by design, not masked as text: the
/// declarations' names and types and the images its resources run, and
/// the words inside them (the repository's last part: `postgres` of
/// `postgres:15-alpine`).
fn public_names(graph: &crate::resolve::Graph) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut words = Vec::new();
    for d in &graph.project.declarations {
        names.push(d.name.to_string());
        names.push(d.type_name.to_string());
    }
    for spec in graph.specs.values() {
        if let Some(image) = spec.fields.get("image").and_then(serde_json::Value::as_str) {
            names.push(image.to_string());
            let without_digest = image.split('@').next().unwrap_or(image);
            let repository = without_digest
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .map_or(without_digest, |(repository, _)| repository);
            words.push(
                repository
                    .rsplit('/')
                    .next()
                    .unwrap_or(repository)
                    .to_string(),
            );
        }
    }
    (names, words)
}

/// A plan problem at a declaration whose fields no model could fill gets
/// the way to configure one (or to write the field) as its help.
pub fn explain_unfilled(
    error: CliError,
    project: &crate::model::Declared,
    report: &crate::complete::Report,
) -> CliError {
    let CliError::Invalid(mut problems) = error else {
        return error;
    };
    for (id, fields) in &report.unfilled {
        let d = project.get(*id);
        for p in problems.iter_mut().filter(|p| p.location == d.location) {
            // The fields the plugin complained about, else every one left.
            let mut named: Vec<String> = fields
                .iter()
                .map(|f| format!("`{f}`"))
                .filter(|f| p.message.contains(f.as_str()))
                .collect();
            if named.is_empty() {
                named = fields.iter().map(|f| format!("`{f}`")).collect();
            }
            let help = format!(
                "completion could fill {} of `{}` from its description, but no model is configured; {}; or write the field{} in the project file",
                named.join(", "),
                d.name,
                crate::complete::HOW_TO_CONFIGURE,
                if named.len() == 1 { "" } else { "s" }
            );
            p.help = Some(match p.help.take() {
                Some(h) => format!("{h}\n{help}"),
                None => help,
            });
        }
    }
    CliError::Invalid(problems)
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
