//! `clockwork watch`: the loop, and reading the project again when its
//! files change (as Tilt does): the new plan is shown, and applied only
//! with `--apply-changes`; until then the watch keeps what was applied.
//!
//! A watch does not start on a destroyed project (it would have nothing
//! to keep but what the user removed), and ends when the project is
//! destroyed while it runs: `clockwork apply` deploys it again, then the
//! user starts the watch again.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::apply::{Options, RemovalOrder};
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::plan::ChangeKind;
use crate::watch::report::{Alerts, Kind, Reporter};
use crate::watch::{Ended, Memory, WatchError, WatchHooks, Watcher};

/// When each file the project is read from last changed.
fn stamps(
    files: &crate::project::ProjectDir,
    sources: &crate::load::Sources,
) -> Vec<(String, Option<SystemTime>)> {
    let mut out: Vec<(String, Option<SystemTime>)> = sources
        .keys()
        .map(|f| {
            (
                f.clone(),
                files
                    .metadata(Path::new(f))
                    .ok()
                    .and_then(|m| m.modified().ok().map(|t| t.into_std())),
            )
        })
        .collect();
    out.sort();
    out
}

/// `clockwork watch [--json] [--apply-changes]`: runs until Ctrl-C.
pub async fn run_watch(
    invocation: &Invocation,
    json: bool,
    apply_changes: bool,
) -> Result<u8, CliError> {
    let mut current = project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let folder = &invocation.project;
    let files = &folder.files;
    let state = crate::state::State::load(files, &folder.identity)?;
    state.may_heal(state.generation)?;
    let generation = state.generation;
    let webhook = std::env::var("CW_ALERT_WEBHOOK")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| folder.config.alerts.webhook.clone());
    let limits = folder.config.limits.containers();
    let options = move || Options {
        parallelism: 8,
        grace: limits.stop_grace,
        ready_timeout: limits.ready,
        // Each heal is one line of the watch log, not a progress display.
        progress: Arc::new(|_| {}),
        cancel: crate::apply::Cancel::default(),
        removal_order: RemovalOrder::DependentsFirst,
    };
    let reporter = Arc::new(Reporter::new(files.clone(), json));
    let alerts = Alerts::new(webhook);
    let mut memory = Memory::default();
    loop {
        let seen = stamps(files, &current.sources);
        let changed = || stamps(files, &current.sources) != seen;
        let watcher = Watcher {
            project: folder,
            plugins: &current.plugins,
            graph: &current.graph,
            sources: &current.sources,
            reporter: reporter.clone(),
            alerts: alerts.clone(),
            policy: folder.config.watch.policy(),
            options: &options,
            generation,
        };
        let ended = crate::watch::watch(watcher, &mut memory, &changed)
            .await
            .map_err(watch_error)?;
        if matches!(ended, Ended::Stopped | Ended::Destroyed) {
            return Ok(EXIT_OK);
        }
        let file = current.graph.project.file.display().to_string();
        let reread = match project::resolved(invocation, crate::complete::Mode::ReadOnly).await {
            Ok(r) => r,
            Err(e) => {
                reporter.event(
                    None,
                    Kind::Watch,
                    &format!("`{file}` changed and has problems: {}", problems_of(&e)),
                    "keeping what was applied; fix it and save again",
                );
                // The next loop takes the files' times afresh, so the same
                // broken content is not reported twice.
                continue;
            }
        };
        if apply_changes {
            let changes = Changes {
                folder,
                reporter: &reporter,
                options: &options,
                generation,
                file: &file,
            };
            if !changes.apply(&reread).await? {
                return Ok(EXIT_OK);
            }
            current = reread;
        } else {
            let summary = planned_summary(invocation, &reread).await;
            reporter.event(
                None,
                Kind::Watch,
                &format!("`{file}` changed: {summary}"),
                "not applied: run `clockwork apply` (or watch with --apply-changes); still keeping what was applied",
            );
            // Keep healing toward what was applied, but notice the next save.
            current.sources = reread.sources;
        }
    }
}

/// Why the watch could not go on, as the command line says it.
fn watch_error(e: WatchError) -> CliError {
    match e {
        WatchError::NothingToWatch => CliError::Usage {
            help: miette::Diagnostic::help(&e)
                .map(|help| help.to_string())
                .unwrap_or_default(),
            message: e.to_string(),
        },
        WatchError::Engine(e) => e.into(),
        WatchError::State(e) => CliError::State(e),
        WatchError::Signal(e) => CliError::Signal(e.to_string()),
    }
}

/// What is wrong with a project read again, in one line.
fn problems_of(e: &CliError) -> String {
    match e {
        CliError::Invalid(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Applying a changed project (`--apply-changes`).
struct Changes<'a> {
    folder: &'a crate::project::Project,
    reporter: &'a Arc<Reporter>,
    options: &'a dyn Fn() -> Options,
    generation: crate::state::Generation,
    /// The project's file, for the log.
    file: &'a str,
}

impl Changes<'_> {
    /// Applies `reread` through `apply`'s path, and says how it went;
    /// `false` when the watch ends (the project was destroyed).
    async fn apply(&self, reread: &project::Resolved) -> Result<bool, CliError> {
        let (folder, reporter, file) = (self.folder, self.reporter, self.file);
        let hooks = WatchHooks {
            reporter: reporter.clone(),
        };
        let identity = crate::state::adoption::identity(&folder.identity);
        let engine = crate::docker::Engine::connect(&identity, folder.files.clone()).await?;
        let report = crate::apply::run(
            crate::apply::Target {
                project: folder,
                plugins: &reread.plugins,
                engine,
                adopt: &[],
                options: (self.options)(),
                hooks: &hooks,
                only: None,
                caller: crate::apply::Caller::Watch(self.generation),
            },
            &reread.graph,
            &reread.sources,
        )
        .await;
        match report {
            Ok(r) if !r.failed() => reporter.event(
                None,
                Kind::Heal,
                &format!("`{file}` changed"),
                "applied the changes",
            ),
            Ok(r) => reporter.event(
                None,
                Kind::Failure,
                &format!("`{file}` changed"),
                &format!("applying it failed: {}", r.failures().join("; ")),
            ),
            Err(crate::apply::RunError::State(
                destroyed @ crate::state::StateError::Destroyed { .. },
            )) => {
                reporter.event(
                    None,
                    Kind::Watch,
                    &format!("`{file}` changed, but {destroyed}"),
                    "not applied, and stopped watching: a destroyed project is never deployed again but by `clockwork apply`",
                );
                return Ok(false);
            }
            Err(e) => reporter.event(
                None,
                Kind::Failure,
                &format!("`{file}` changed"),
                &format!("applying it failed: {}", CliError::from(e)),
            ),
        }
        Ok(true)
    }
}

/// "1 to create, 2 to update" for the re-read project against what runs.
async fn planned_summary(invocation: &Invocation, reread: &project::Resolved) -> String {
    let files = &invocation.project.files;
    let identity = crate::state::adoption::identity(&invocation.project.identity);
    let Ok(state) = crate::state::State::load(files, &identity) else {
        return "its plan could not be made (the state cannot be read)".into();
    };
    let observation = match crate::docker::Engine::connect(&identity, files.clone()).await {
        Ok(engine) => engine.observe().await.ok(),
        Err(_) => None,
    };
    match project::planned(
        &reread.graph,
        &reread.sources,
        &reread.plugins,
        &identity,
        &state,
        observation.as_ref(),
        files,
    )
    .await
    {
        Ok(plan) => {
            let changed: Vec<String> = plan
                .entries
                .iter()
                .filter(|e| e.change != ChangeKind::None)
                .map(|e| format!("{} {}", e.change, e.name))
                .collect();
            if changed.is_empty() {
                "nothing to change".into()
            } else {
                changed.join(", ")
            }
        }
        Err(e) => format!("its plan has problems: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_watch_is_a_usage_error_that_says_what_to_add() {
        match watch_error(WatchError::NothingToWatch) {
            CliError::Usage { message, help } => {
                assert!(message.contains("nothing to watch"), "{message}");
                assert!(help.contains("`reconcile = True`"), "{help}");
            }
            other => panic!("not a usage error: {other}"),
        }
        assert!(matches!(
            watch_error(WatchError::Signal(std::io::Error::other("no"))),
            CliError::Signal(_)
        ));
    }
}
