//! The pipeline as a library: what every command runs before it acts, in
//! order, with no command line in sight.
//!
//! ```text
//! plugins ─▶ load ─▶ complete connections and assertions ─▶ revalidate
//!         ─▶ resolve ─▶ complete resources ─▶ revalidate ─▶ defaults ─▶ Resolved
//! ```
//!
//! Then a command plans ([`planned`]) and applies, asserts or watches. The
//! CLI builds the plugin runtime and the model client, calls this, and
//! renders; a test or an embedding program can call it the same way.

use std::collections::BTreeSet;

use crate::complete::chat::ChatClient;
use crate::complete::{CompleteError, Completer, Mode};
use crate::load::{self, LoadError, Located, Sources};
use crate::model::{DeclId, Declared, PluginKind};
use crate::plugin::{CallError, PluginProblem, PluginRuntime, PluginSet, discover};
use crate::project::Project;
use crate::resolve::{self, Graph, ResolveError};

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PipelineError {
    /// Plugin files of the project or the user could not be used.
    #[error("{} plugin file(s) could not be used:\n{}", .0.len(), .0.iter().map(|p| format!("  {} ({}): {}", p.file, p.source, p.reason)).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(help(
        "`clockwork plugins list` shows every plugin and what is wrong with the others"
    ))]
    BrokenPlugins(Vec<PluginProblem>),
    /// `clockwork.toml` names a plugin or type that is not there.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(crate::project::ProjectError),
    /// The project file has problems, each located.
    #[error("{} problem(s) in the project", .0.len())]
    Invalid(Vec<Located>),
    /// The project could not be loaded for another reason.
    #[error(transparent)]
    Load(LoadError),
    /// Completion could not fill the project's fields.
    #[error(transparent)]
    Completion(Box<CompleteError>),
    /// A plugin failed while resolving.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(CallError),
    /// Clockwork itself went wrong.
    #[error("{0}")]
    Internal(String),
    /// Planning failed for another reason than the project's problems.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Planning(Box<crate::apply::RunError>),
}

impl From<LoadError> for PipelineError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Located(problems) => PipelineError::Invalid(problems),
            other => PipelineError::Load(other),
        }
    }
}

impl From<CompleteError> for PipelineError {
    fn from(e: CompleteError) -> Self {
        PipelineError::Completion(Box::new(e))
    }
}

impl From<ResolveError> for PipelineError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Invalid(problems) => PipelineError::Invalid(problems),
            ResolveError::Plugin(call) => PipelineError::Plugin(call),
            ResolveError::Internal(message) => PipelineError::Internal(message),
        }
    }
}

impl From<crate::apply::RunError> for PipelineError {
    fn from(e: crate::apply::RunError) -> Self {
        match e {
            crate::apply::RunError::Invalid(problems) => PipelineError::Invalid(problems),
            other => PipelineError::Planning(Box::new(other)),
        }
    }
}

/// How to complete.
pub struct Options {
    /// Ask a model, replay the lock only, or change nothing.
    pub mode: Mode,
    /// The model, when one is configured and `mode` may ask it.
    pub client: Option<ChatClient>,
    /// Declarations to ask again (`clockwork complete --refresh`).
    pub refresh: Option<BTreeSet<String>>,
    /// When the command started, for `CW_TIMINGS=1`.
    pub started: std::time::Instant,
}

impl Options {
    /// `--offline`: the lock and the rules, never a model, nothing written.
    pub fn offline() -> Options {
        Options {
            mode: Mode::ReadOnly,
            client: None,
            refresh: None,
            started: std::time::Instant::now(),
        }
    }
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

/// The bundled, user and project plugins; broken ones are listed in the
/// set's `problems`. A `[plugins.prefer]` key that names no plugin and no
/// type is an error (a typo there would silently settle nothing).
pub async fn plugins(
    runtime: &PluginRuntime,
    project: &Project,
) -> Result<PluginSet, PipelineError> {
    let (files, problems) = discover(Some(&project.files));
    let prefer = &project.config.plugins.prefer;
    let plugins = PluginSet::load(runtime, files, problems, prefer).await;
    let known: BTreeSet<&str> = plugins
        .plugins
        .iter()
        .flat_map(|p| std::iter::once(p.name()).chain(p.type_names()))
        .collect();
    if let Some(key) = prefer.keys().find(|k| !known.contains(k.as_str())) {
        let near = crate::suggest::nearest(key, known.iter().copied());
        return Err(PipelineError::Config(
            crate::project::ProjectError::Config {
                path: project.dir.join(crate::project::CONFIG_FILE),
                message: format!("[plugins.prefer] `{key}` names no plugin and no type"),
                help: Some(match near {
                    Some(n) => {
                        format!("did you mean `{n}`? (`clockwork plugins list` shows every name)")
                    }
                    None => "`clockwork plugins list` shows every plugin and type name".into(),
                }),
            },
        ));
    }
    Ok(plugins)
}

/// Loads the project with `plugins`, completes and resolves it. Every
/// secret the project holds (including what connections put together,
/// such as a `DATABASE_URL` with its password) is registered for masking.
pub async fn resolved(
    project: &Project,
    plugins: PluginSet,
    options: Options,
) -> Result<Resolved, PipelineError> {
    let timings = crate::output::Timings::since(options.started);
    if !plugins.problems.is_empty() {
        return Err(PipelineError::BrokenPlugins(plugins.problems));
    }
    let (mut declared, sources) = load::load(project, &plugins).await?;
    load::LoadReport::warnings(&declared.warnings, crate::output::diagnostic);
    crate::output::register_secrets(declared.secrets.iter().cloned());
    timings.lap("load");
    let mut completer = Completer::new(
        &project.files,
        options.mode,
        options
            .client
            .map(|c| Box::new(c) as Box<dyn crate::complete::Model>),
        options.refresh,
    )?;
    let mut clock = Stopwatch::default();
    clock
        .time(complete_edges(
            &mut completer,
            &mut declared,
            &plugins,
            &sources,
        ))
        .await?;
    let mut graph = resolve_graph(declared, &plugins, &sources).await?;
    clock
        .time(complete_resources(
            &mut completer,
            &mut graph,
            &plugins,
            &sources,
        ))
        .await?;
    clock
        .time(async { completer.finish(&project.files) })
        .await?;
    timings.note(&format!(
        "completion took {} µs for {} declarations",
        clock.spent.as_micros(),
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
    timings.lap("resolve and complete");
    Ok(Resolved {
        graph,
        sources,
        plugins,
        completion: completer.report,
    })
}

/// Time spent in completion, summed over its steps.
#[derive(Default)]
struct Stopwatch {
    spent: std::time::Duration,
}

impl Stopwatch {
    async fn time<T>(&mut self, step: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let out = step.await;
        self.spent += started.elapsed();
        out
    }
}

/// Connections and assertions completed (their fields are context for the
/// resources'), then checked again by their plugins.
async fn complete_edges(
    completer: &mut Completer,
    declared: &mut Declared,
    plugins: &PluginSet,
    sources: &Sources,
) -> Result<(), PipelineError> {
    completer.connections(declared, plugins).await?;
    completer.assertions(declared, plugins).await?;
    let problems = completer
        .revalidate(
            declared,
            None,
            plugins,
            sources,
            &[PluginKind::Connection, PluginKind::Assertion],
        )
        .await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PipelineError::Invalid(explain_unfilled(
            problems,
            declared,
            &completer.report,
        )))
    }
}

/// The declarations resolved into a graph: what each connection
/// contributes, merged, and the layers.
async fn resolve_graph(
    declared: Declared,
    plugins: &PluginSet,
    sources: &Sources,
) -> Result<Graph, PipelineError> {
    let files: Vec<(DeclId, String)> = declared
        .declarations
        .iter()
        .map(|d| (d.id, d.location.file.display().to_string()))
        .collect();
    let source_of = |id: &DeclId| files.get(id.0).and_then(|(_, f)| sources.get(f).cloned());
    Ok(resolve::resolve(declared, plugins, &source_of).await?)
}

/// Resources completed, with what connections gave them, then checked
/// again by their plugins.
async fn complete_resources(
    completer: &mut Completer,
    graph: &mut Graph,
    plugins: &PluginSet,
    sources: &Sources,
) -> Result<(), PipelineError> {
    completer.resources(graph, plugins).await?;
    let problems = completer
        .revalidate(
            &mut graph.project,
            Some(&graph.specs),
            plugins,
            sources,
            &[PluginKind::Resource],
        )
        .await?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PipelineError::Invalid(explain_unfilled(
            problems,
            &graph.project,
            &completer.report,
        )))
    }
}

/// What the project shows by design, not masked as text: the
/// declarations' names and types and the images its resources run, and
/// the words inside them (the repository's last part: `postgres` of
/// `postgres:15-alpine`).
fn public_names(graph: &Graph) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut words = Vec::new();
    for d in &graph.project.declarations {
        names.push(d.name.to_string());
        names.push(d.type_name.to_string());
    }
    for spec in graph.specs.values() {
        if let Some(image) = spec.fields.get("image").and_then(serde_json::Value::as_str) {
            names.push(image.to_string());
            words.push(repository_word(image).to_string());
        }
    }
    (names, words)
}

/// The last part of an image's repository, without tag or digest.
fn repository_word(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let repository = without_digest
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(without_digest, |(repository, _)| repository);
    repository.rsplit('/').next().unwrap_or(repository)
}

/// Problems at a declaration whose fields no model could fill get the way
/// to configure one (or to write the field) as their help.
pub fn explain_unfilled(
    mut problems: Vec<Located>,
    project: &Declared,
    report: &crate::complete::Report,
) -> Vec<Located> {
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
    problems
}

/// The plan of a resolved project against `state` alone (no Engine), each
/// action checked against the policy: what `clockwork plan --offline`
/// shows.
pub async fn planned_offline(
    project: &Project,
    resolved: &Resolved,
    state: &crate::state::State,
) -> Result<crate::plan::Plan, PipelineError> {
    Ok(crate::apply::planned(
        &resolved.graph,
        &resolved.sources,
        &resolved.plugins,
        &project.identity,
        state,
        None,
        &project.files,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(line: usize, message: &str) -> Located {
        Located {
            message: message.into(),
            location: crate::model::Location {
                file: "main.star".into(),
                line,
                column: 1,
                offset: 0,
                len: 0,
            },
            help: None,
            source: None,
            called_from: Vec::new(),
        }
    }

    #[test]
    fn an_unfilled_field_gets_the_way_to_fill_it_and_other_problems_do_not() {
        let project = Declared::fixture(vec![
            crate::model::Declaration::fixture(0, PluginKind::Resource, "DockerResource", "db"),
            crate::model::Declaration::fixture(1, PluginKind::Resource, "DockerResource", "api"),
        ]);
        let mut report = crate::complete::Report::default();
        report
            .unfilled
            .insert(DeclId(1), vec!["image".into(), "command".into()]);
        let problems = explain_unfilled(
            vec![
                located(2, "`image` is required"),
                located(1, "`ports` is not a list"),
            ],
            &project,
            &report,
        );
        let help = problems[0].help.as_deref().unwrap_or("");
        assert!(
            help.contains("completion could fill `image` of `api`"),
            "{help}"
        );
        assert!(
            !help.contains("`command`"),
            "only the field complained of: {help}"
        );
        assert!(
            help.contains("or write the field in the project file"),
            "{help}"
        );
        assert_eq!(problems[1].help, None);
    }

    #[test]
    fn an_image_shows_its_repository_word() {
        assert_eq!(repository_word("postgres:15-alpine"), "postgres");
        assert_eq!(repository_word("localhost:5000/team/api@sha256:abc"), "api");
        assert_eq!(repository_word("localhost:5000/team/api"), "api");
        assert_eq!(repository_word("redis"), "redis");
    }
}
